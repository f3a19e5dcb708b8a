package main

import (
	"testing"
)

// On an empty database verify sends nothing and prints its summary.
func TestVerifyCommand(t *testing.T) {
	a := newTestApp(t, "")
	if err := a.runCmd(&verifyCommand{}); err != nil {
		t.Fatal(err)
	}
	if want := "zone-less findings attributed: 0\nprobe rounds: 0\n"; a.out.String() != want {
		t.Errorf("stdout %q, want %q", a.out, want)
	}
	a = newTestApp(t, "")
	if got, want := errString(a.runCmd(&verifyCommand{maxRounds: -1})), "verify: --max-rounds: -1 is negative"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
