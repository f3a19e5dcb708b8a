package testio

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRepeat(t *testing.T) {
	for _, tt := range []struct {
		line string
		n    int64
		want string
	}{
		{"ab\n", 7, "ab\nab\na"},
		{"ab\n", 0, ""},
		{"x", 3, "xxx"},
	} {
		b, err := io.ReadAll(Repeat(tt.line, tt.n))
		if err != nil || string(b) != tt.want {
			t.Errorf("Repeat(%q, %d) = %q, %v; want %q", tt.line, tt.n, b, err, tt.want)
		}
	}
	if err := iotest.TestReader(Repeat("0123456789\n", 1000), []byte(strings.Repeat("0123456789\n", 91)[:1000])); err != nil {
		t.Error(err)
	}
}
