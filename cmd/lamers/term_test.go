package main

import "testing"

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
