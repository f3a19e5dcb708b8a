package ingest

// Keys of the attributes a Tailer logs (log/slog): snake_case, and the
// same key for the same thing in every message.
const (
	logKeyPath      = "path"      // the followed or rotated file
	logKeyErr       = "err"       // the error, when there is one
	logKeyLines     = "lines"     // lines read or committed
	logKeyInode     = "inode"     // inode of a rotated file
	logKeyOffset    = "offset"    // byte offset in the file
	logKeyComponent = "component" // the library that wrote a message (nxadm/tail)
	logKeyBackoff   = "backoff"   // the wait before the next commit while the store fails
)
