package storetest

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// ioctl requests and flag of ioctl_iflags(2).
const (
	fsIocGetFlags   = 0x80086601
	fsIocSetFlags   = 0x40086602
	fsImmutableFlag = 0x00000010
)

// Immutable makes the file at path immutable (chattr +i, ioctl_iflags(2))
// until the test ends: not even root may write it, so a test run as root
// can check what a user without write permission sees. It needs root (the
// CAP_LINUX_IMMUTABLE capability) and a file system with the flag (ext4,
// xfs, btrfs); without them the test is skipped, and under CI=true it
// fails instead.
func Immutable(tb testing.TB, path string) {
	tb.Helper()
	skip := func(why string) {
		tb.Helper()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("storetest: %s", why)
		}
		tb.Skipf("storetest: %s (run the test as root on ext4: sudo -E go test)", why)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var flags int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocGetFlags, uintptr(unsafe.Pointer(&flags))); errno != 0 {
		skip("read the flags of " + path + ": " + errno.Error())
	}
	set := flags | fsImmutableFlag
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocSetFlags, uintptr(unsafe.Pointer(&set))); errno != 0 {
		skip("make " + path + " immutable: " + errno.Error())
	}
	tb.Cleanup(func() {
		f, err := os.Open(path)
		if err != nil {
			tb.Error(err)
			return
		}
		defer f.Close()
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocSetFlags, uintptr(unsafe.Pointer(&flags))); errno != 0 {
			tb.Errorf("storetest: make %s mutable again: %v", path, errno)
		}
	})
}
