package templates

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// finding has the fields and methods the reason defines use (the notify
// package's FindingData has them too).
type finding struct {
	Zone, Server, Status, Reason string
	Port                         uint16
}

func (f finding) Rcode() string {
	if r, ok := strings.CutPrefix(f.Reason, "rcode_"); ok {
		return strings.ToUpper(r)
	}
	return ""
}

// mailedReasons are the reasons a lame or unresponsive finding carries
// (docs/verification.md, section 3: the hard reasons, the rcode reasons
// and the two soft ones), written out here rather than taken from the
// package so that a reason dropped from both would still fail the test.
var mailedReasons = []string{
	"not_authoritative", "recursive_not_authoritative", "upward_referral", "self_referral",
	"referral_other_zone", "wrong_soa_owner", "no_soa", "cname_at_apex", "empty_non_authoritative",
	"nxdomain", "refused", "servfail", "broken_server", "ns_name_nxdomain", "no_dns_service",
	"unresponsive",
}

func mustLoad(t *testing.T, dir string) *Set {
	t.Helper()
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEveryReasonExplained: each reason has its own explanation, which
// names the zone, says what to do in both places, and is not the
// fallback; rcode reasons name the rcode.
func TestEveryReasonExplained(t *testing.T) {
	s := mustLoad(t, "")
	f := finding{Zone: "zone.example.", Server: "192.0.2.7", Status: "lame", Port: 53, Reason: "intermittent_servfail"}
	other, err := s.Explain("intermittent_servfail", f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, r := range append(mailedReasons, "rcode_notauth", "rcode_12") {
		f.Reason = r
		got, err := s.Explain(r, f)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		switch {
		case got == other:
			t.Errorf("%s: explained by the fallback", r)
		case !strings.Contains(got, "zone.example.") && r != "no_dns_service":
			t.Errorf("%s: does not name the zone:\n%s", r, got)
		case !strings.Contains(strings.Join(strings.Fields(got), " "), "both at the parent and in the zone itself"):
			t.Errorf("%s: does not say to remove the server at the parent and in the zone:\n%s", r, got)
		}
		if prev, dup := seen[got]; dup && !strings.HasPrefix(r, "rcode_") {
			t.Errorf("%s: same text as %s", r, prev)
		}
		seen[got] = r
	}
	for r, want := range map[string]string{"rcode_notauth": "NOTAUTH", "rcode_12": "12"} {
		f.Reason = r
		if got, _ := s.Explain(r, f); !strings.Contains(got, "error code "+want) {
			t.Errorf("%s: does not name the rcode %s:\n%s", r, want, got)
		}
	}
	if !strings.Contains(other, `"intermittent_servfail"`) || !strings.Contains(other, "lame") {
		t.Errorf("the fallback does not name the reason and the status:\n%s", other)
	}
}

// TestExplainRefusesOddReasons: a reason is a name, never text to show.
func TestExplainRefusesOddReasons(t *testing.T) {
	s := mustLoad(t, "")
	for _, r := range []string{"", "Refused", "refused\nX", "rcode_<b>", "../x"} {
		if _, err := s.Explain(r, finding{}); err == nil {
			t.Errorf("Explain(%q): no error", r)
		}
	}
}

// writeDir writes files into a new templates directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestOverride: a file of the same name replaces the embedded one, the
// others stay embedded.
func TestOverride(t *testing.T) {
	embedded := mustLoad(t, "")
	dir := writeDir(t, map[string]string{
		NotifyText: `{{define "notify subject"}}Delegation: {{.Zone}}{{end}}Hallo {{.Zone}}`,
	})
	s := mustLoad(t, dir)
	data := finding{Zone: "zone.example.", Reason: "refused"}
	for _, c := range []struct {
		name, want string
	}{{NotifyText, "Hallo zone.example."}, {NotifySubject, "Delegation: zone.example."}} {
		var b bytes.Buffer
		if err := s.Text(&b, c.name, data); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s = %q, want %q", c.name, b.String(), c.want)
		}
	}
	a, _ := embedded.Explain("refused", data)
	b, _ := s.Explain("refused", data)
	if a != b || a == "" {
		t.Errorf("reasons.tmpl is not the embedded one: %q", b)
	}
}

// TestLoadErrors: every broken directory is refused at Load, and the
// error names the file (and the line, for syntax errors).
func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string
	}{{
		// A typo in a file name would silently keep the embedded template.
		name:  "unknown file",
		files: map[string]string{"notify.text.tmpl": "x"},
		want:  []string{"notify.text.tmpl", "not a template lamers uses", NotifyText},
	}, {
		name:  "text syntax",
		files: map[string]string{NotifyText: "{{define \"notify subject\"}}x{{end}}\nline 2\n{{.Zone"},
		want:  []string{NotifyText, ":3:"},
	}, {
		name:  "html syntax",
		files: map[string]string{NotifyHTML: "<p>\n{{if .Zone}}</p>"},
		want:  []string{NotifyHTML, ":2:"},
	}, {
		name:  "unknown function",
		files: map[string]string{Reasons: "{{define \"reason refused\"}}{{shout .Zone}}{{end}}"},
		want:  []string{Reasons, ":1:", `"shout" not defined`},
	}, {
		// A replaced reasons.tmpl must still explain every reason.
		name:  "missing reason",
		files: map[string]string{Reasons: `{{define "reason refused"}}Refused.{{end}}`},
		want:  []string{Reasons, `"reason not_authoritative"`, `"reason (other)"`},
	}, {
		name:  "missing subject",
		files: map[string]string{NotifyText: "Hello"},
		want:  []string{NotifyText, `"notify subject"`},
	}, {
		name:  "missing digest subject",
		files: map[string]string{DigestText: "Totals: {{.Totals.Lame}}"},
		want:  []string{DigestText, `"digest subject"`},
	}, {
		name:  "digest html syntax",
		files: map[string]string{DigestHTML: "<table>\n{{range .Worst.Servers}}<tr>"},
		want:  []string{DigestHTML, ":2:"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeDir(t, c.files)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if c.name == "unknown file" && !errors.Is(err, errUnknownFile) {
				t.Errorf("error %v is not errUnknownFile", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory: no error")
	}
}

// TestExecuteErrorNamesFile: an error on data names the file it came
// from, the override's path included, and the line.
func TestExecuteErrorNamesFile(t *testing.T) {
	dir := writeDir(t, map[string]string{NotifyText: "{{define \"notify subject\"}}x{{end}}\n{{.Zonee}}"})
	s := mustLoad(t, dir)
	err := s.Text(&bytes.Buffer{}, NotifyText, finding{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, NotifyText)) || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("error %v does not name %s line 2", err, filepath.Join(dir, NotifyText))
	}
	if err := s.HTML(&bytes.Buffer{}, "nothing", nil); err == nil {
		t.Error("an unknown template: no error")
	}
}

// TestWrap: paragraphs reflowed to Width with the indent; long words
// whole.
func TestWrap(t *testing.T) {
	for _, c := range []struct {
		indent int
		in     string
		want   string
	}{
		{0, "a  b\nc", "a b c"},
		{3, "one\n\n\ntwo", "   one\n\n   two"},
		{0, strings.Repeat("word ", 20), strings.TrimSpace(strings.Repeat("word ", 14)) + "\n" + strings.TrimSpace(strings.Repeat("word ", 6))},
		{2, strings.Repeat("x", 80) + " y", "  " + strings.Repeat("x", 80) + "\n  y"},
		{0, "", ""},
	} {
		if got := wrap(c.indent, c.in); got != c.want {
			t.Errorf("wrap(%d, %q) =\n%q\nwant\n%q", c.indent, c.in, got, c.want)
		}
		for _, line := range strings.Split(wrap(c.indent, c.in), "\n") {
			if len(line) > Width && !strings.Contains(line, strings.Repeat("x", 80)) {
				t.Errorf("line longer than %d: %q", Width, line)
			}
		}
	}
}

// TestSubjectName: long names are cut outside escapes; "=?" cannot start
// an encoded word.
func TestSubjectName(t *testing.T) {
	long := strings.Repeat("a", 59) + `\123` + "bbbb.example."
	for _, c := range []struct{ in, want string }{
		{"example.com.", "example.com."},
		{`=?utf-8?q?x?=.example.`, `\061?utf-8?q?x?=.example.`},
		{long, strings.Repeat("a", 59) + "..."},
		{strings.Repeat("a", 58) + `\.` + strings.Repeat("b", 10), strings.Repeat("a", 58) + `\.` + "b..."},
		{strings.Repeat("a", 60) + `\\` + strings.Repeat("b", 10), strings.Repeat("a", 60) + "..."},
	} {
		if got := subjectName(c.in); got != c.want {
			t.Errorf("subjectName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFuncs: date in UTC to the minute; plural on the integer types the
// data has.
func TestFuncs(t *testing.T) {
	if got := date(time.Date(2026, 11, 2, 15, 5, 59, 0, time.FixedZone("CET", 3600))); got != "2026-11-02 14:05 UTC" {
		t.Errorf("date = %q", got)
	}
	for _, n := range []any{1, int64(1), uint16(1)} {
		if got, err := plural(n, "day", "days"); got != "day" || err != nil {
			t.Errorf("plural(%T 1) = %q, %v", n, got, err)
		}
	}
	if got, _ := plural(int64(2), "day", "days"); got != "days" {
		t.Errorf("plural(2) = %q", got)
	}
	if _, err := plural("1", "day", "days"); err == nil {
		t.Error("plural of a string: no error")
	}
	if got := day(time.Date(2026, 11, 2, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))); got != "2026-11-03" {
		t.Errorf("day = %q, want the UTC date", got)
	}
	for n, want := range map[any]string{0: "0", 7: "7", int64(999): "999", 1000: "1,000", int64(1234567): "1,234,567",
		-1234: "-1,234", uint16(65535): "65,535", int64(-999999): "-999,999"} {
		if got, err := num(n); got != want || err != nil {
			t.Errorf("num(%T %v) = %q, %v; want %q", n, n, got, err, want)
		}
	}
	if _, err := num(1.5); err == nil {
		t.Error("num of a float: no error")
	}
}
