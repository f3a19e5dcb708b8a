package ingest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// The test binary doubles as the subprocesses some tests need: a scan to
// kill with SIGKILL (TestScanSIGKILL) and a tailer running as another user
// (TestTailPermissionDenied). A test re-executes the binary with envChild
// naming the body to run and the body's inputs in further variables, and
// TestMain runs that body instead of the tests. (A body written as a Test
// function would pass, having done nothing, in every ordinary run.)
const envChild = "LAMERS_INGEST_CHILD"

// Names of the subprocess bodies.
const (
	childScan = "scan" // scanChild, in scan_test.go
	childTail = "tail" // tailChild, in tail_permission_test.go
)

func TestMain(m *testing.M) {
	name := os.Getenv(envChild)
	if name == "" {
		os.Exit(m.Run())
	}
	var err error
	switch name {
	case childScan:
		err = scanChild()
	case childTail:
		err = tailChild()
	default:
		err = fmt.Errorf("%s=%q names no subprocess body", envChild, name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest test child %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childCmd returns a command that runs the body name of the test binary
// bin (os.Args[0], or a copy of it) with the variables env added.
func childCmd(bin, name string, env ...string) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), envChild+"="+name), env...)
	return cmd
}
