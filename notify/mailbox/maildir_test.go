package mailbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSeenName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// a Postfix virtual(8) name
		{"1733342950.V801I3a1M975110.mx.nic.lab", "1733342950.V801I3a1M975110.mx.nic.lab:2,S"},
		{"1733.M1P2.host:2,", "1733.M1P2.host:2,S"},
		{"1733.M1P2.host:2,FR", "1733.M1P2.host:2,FRS"},
		{"1733.M1P2.host:2,T", "1733.M1P2.host:2,ST"},
		{"1733.M1P2.host:2,RS", "1733.M1P2.host:2,RS"},
		// another convention's info is kept
		{"1733.M1P2.host!2,F", "1733.M1P2.host!2,F:2,S"},
	} {
		if got := SeenName(tt.in); got != tt.want {
			t.Errorf("SeenName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// newMaildir makes a Maildir with the files of new/ given.
func newMaildir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, "new", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// New lists regular files not starting with "." in name order; Open reads
// one; Seen moves it to cur/, also when another reader did already.
func TestMaildir(t *testing.T) {
	dir := newMaildir(t, map[string]string{"2.b": "second", "1.a": "first", ".hidden": "x"})
	if err := os.Mkdir(filepath.Join(dir, "new", "3.dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	md, err := OpenMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := md.New()
	if err != nil || !slices.Equal(names, []string{"1.a", "2.b"}) {
		t.Fatalf("New = %q, %v", names, err)
	}
	f, err := md.Open("1.a")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := f.Read(b); err != nil || string(b) != "first" {
		t.Errorf("Open read %q, %v", b, err)
	}
	f.Close()
	if err := md.Seen("1.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", "1.a:2,S")); err != nil {
		t.Errorf("not in cur/: %v", err)
	}
	if err := md.Seen("1.a"); err != nil {
		t.Errorf("Seen of a message moved already: %v", err)
	}
	if err := md.Seen("9.z"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Seen of no message: %v", err)
	}
	if names, _ := md.New(); !slices.Equal(names, []string{"2.b"}) {
		t.Errorf("New after Seen = %q", names)
	}
}

func TestOpenMaildirNot(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenMaildir(dir); err == nil || !strings.Contains(err.Error(), "new") {
		t.Errorf("OpenMaildir of an empty directory: %v", err)
	}
	os.Mkdir(filepath.Join(dir, "new"), 0o755)
	os.WriteFile(filepath.Join(dir, "cur"), nil, 0o644)
	if _, err := OpenMaildir(dir); err == nil || !strings.Contains(err.Error(), "cur is not a directory") {
		t.Errorf("OpenMaildir with a file cur: %v", err)
	}
}
