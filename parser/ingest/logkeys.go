package ingest

// Keys of the tailer's log attributes: snake_case names, the same as
// cmd/lamers and package resolver use for the same things.
const (
	logKeyPath      = "path"      // the followed or rotated file
	logKeyErr       = "err"       // the error
	logKeyInode     = "inode"     // the inode of a rotated file
	logKeyLines     = "lines"     // lines read
	logKeyOffset    = "offset"    // a byte offset in the content
	logKeyComponent = "component" // the library that logged (nxadm/tail)
)
