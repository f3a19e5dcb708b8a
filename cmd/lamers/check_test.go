package main

import (
	"path/filepath"
	"testing"
)

// check's own errors, before any packet is sent.
func TestCheckCommand(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "named.root")
	tests := []struct {
		cmd     checkCommand
		args    []string
		wantErr string
	}{
		{checkCommand{format: "text"}, nil, "check: want exactly one ZONE, got 0 arguments"},
		{checkCommand{format: "yaml"}, []string{"example.com"}, `check: --format: "yaml" is not one of text, json`},
		{checkCommand{format: "text", rf: resolverFlags{rootHints: missing}}, []string{"example.com"}, "root hints: open " + missing + ": no such file or directory"},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		if got := errString(a.runCmd(&tt.cmd, tt.args...)); got != tt.wantErr {
			t.Errorf("check %q: error %q, want %q", tt.args, got, tt.wantErr)
		}
	}
}
