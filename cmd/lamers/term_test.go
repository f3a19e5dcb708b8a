package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestEscapeTerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"www.upref.lab.", "www.upref.lab."},
		{`we\.ird.lab.`, `we\.ird.lab.`},
		{"bell\a", `bell\x07`},
		{"\x1b[2Jclear", `\x1b[2Jclear`},
		{"nul\x00", `nul\x00`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"c1\u009bcsi", `c1\xc2\x9bcsi`},
		{"bidi\u202eoverride", `bidi\xe2\x80\xaeoverride`},
		{"café", "café"},
		{"new\nline", `new\x0aline`},
	}
	for _, tt := range tests {
		if got := escapeTerminal(tt.in); got != tt.want {
			t.Errorf("escapeTerminal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// writeTerminalJSON escapes what could rearrange a terminal as \u, which a
// JSON reader reads back as the same text.
func TestTerminalJSON(t *testing.T) {
	in := map[string]string{"s": "bidi\u202eoverride \u2066iso\u2069 c1\u009b del\x7f bell\a café"}
	var buf bytes.Buffer
	if err := writeTerminalJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	want := `{
  "s": "bidi\u202eoverride \u2066iso\u2069 c1\u009b del\u007f bell\u0007 café"
}
`
	if buf.String() != want {
		t.Errorf("writeTerminalJSON = %s, want %s", buf.String(), want)
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["s"] != in["s"] {
		t.Errorf("read back %q, %v; want %q", back["s"], err, in["s"])
	}
}
