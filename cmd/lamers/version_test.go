package main

import (
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	a := newTestApp(t, "")
	if err := a.runCmd(&versionCommand{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.out.String(), "lamers ") || !strings.Contains(a.out.String(), "\nsqlite 3.") {
		t.Errorf("stdout:\n%s", a.out)
	}
}
