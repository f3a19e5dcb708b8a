package templates_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/templates"
)

// resolverReasons returns the values of package resolver's exported
// constants named Reason…, read from its source so that a reason added
// there is seen here without a change to this test.
func resolverReasons(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "resolver", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !id.IsExported() || !strings.HasPrefix(id.Name, "Reason") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", fset.Position(id.Pos()), id.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					reasons = append(reasons, v)
				}
			}
		}
	}
	// The parse found the constants (a few of them, as a check).
	for _, r := range []string{resolver.ReasonRefused, resolver.ReasonUnresponsive, resolver.ReasonAuthoritative} {
		if !slices.Contains(reasons, r) {
			t.Fatalf("reason %q not found among resolver's constants %v", r, reasons)
		}
	}
	return reasons
}

// mailed reports whether findings with this reason can be mailed: those
// whose status is lame (a hard reason) or unresponsive (silence).
func mailed(reason string) bool {
	return resolver.VerdictOf(reason) == resolver.VerdictLame ||
		reason == resolver.ReasonUnresponsive || reason == resolver.ReasonNoDNSService
}

func load(t *testing.T, dir string) *templates.Set {
	t.Helper()
	set, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func finding(reason string) notify.FindingData {
	return notify.FindingData{
		Zone: "example.com.", Server: "192.0.2.1", Port: 53, NSNames: []string{"ns1.example.net."},
		Status: notify.StatusLame, Reason: reason, Rcode: strings.ToUpper(strings.TrimPrefix(reason, "rcode_")),
	}
}

// Every reason a mailed finding can have is explained, in both parts, in
// words of its own; and every explanation is of a reason resolver has.
func TestEveryReasonExplained(t *testing.T) {
	set := load(t, "")
	reasons := resolverReasons(t)
	var want []string
	for _, r := range reasons {
		if mailed(r) {
			want = append(want, r)
		}
	}
	// Rcodes without a reason of their own (docs/verification.md §3).
	want = append(want, "rcode_notauth", "rcode_yxdomain", "rcode_12")
	seen := map[string]string{}
	for _, r := range want {
		if !set.Explains(r) {
			t.Errorf("no explanation for reason %q", r)
			continue
		}
		for _, part := range []string{templates.NotifyText, templates.NotifyHTML} {
			var b bytes.Buffer
			if err := set.ExecuteReason(&b, part, finding(r)); err != nil {
				t.Errorf("%s, reason %s: %v", part, r, err)
				continue
			}
			text := strings.Join(strings.Fields(b.String()), " ")
			if len(strings.Fields(text)) < 20 {
				t.Errorf("%s, reason %s: explanation too short: %q", part, r, text)
			}
			if !strings.Contains(text, "NS records") && r != resolver.ReasonNSNameNXDomain || !strings.Contains(text, "parent") {
				t.Errorf("%s, reason %s: does not say to fix the NS records at the parent: %q", part, r, text)
			}
			if strings.HasPrefix(r, "rcode_") && !strings.Contains(text, finding(r).Rcode) {
				t.Errorf("%s, reason %s: does not name the rcode: %q", part, r, text)
			}
			if part == templates.NotifyText && !strings.HasPrefix(r, "rcode_") {
				if other, dup := seen[text]; dup {
					t.Errorf("reasons %s and %s have the same explanation", other, r)
				}
				seen[text] = r
			}
		}
	}
	for _, r := range set.Reasons() {
		if !slices.Contains(reasons, r) {
			t.Errorf("reasons.tmpl explains %q, which is not a reason of package resolver", r)
		}
	}
	for _, r := range []string{"authoritative", "vantage_error", "rcode_", "rcode_NOTAUTH", "no_such_reason"} {
		if set.Explains(r) {
			t.Errorf("Explains(%q) = true", r)
		}
	}
	var b bytes.Buffer
	if err := set.ExecuteReason(&b, templates.NotifyText, finding("no_such_reason")); err == nil || !strings.Contains(err.Error(), `no explanation for reason "no_such_reason"`) {
		t.Errorf("an unexplained reason renders: %q, %v", b.String(), err)
	}
}

// writeFiles writes name → content into a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func embedded(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A file of the same name in the directory replaces the embedded one; the
// others stay.
func TestLoadOverride(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		templates.NotifyText: `Dear {{.To}}: {{range .Findings}}{{.Zone}} {{template "reason" .}}{{end}}`,
		templates.Reasons: strings.Replace(embedded(t, templates.Reasons),
			`{{define "reason_refused" -}}`, `{{define "reason_refused" -}}Our own words. `, 1) +
			`{{define "reason_rcode_notauth"}}NOTAUTH in our own words.{{end}}`,
	})
	set := load(t, dir)
	data := struct {
		To       string
		Findings []notify.FindingData
	}{"hostmaster@example.com", []notify.FindingData{finding("refused"), finding("rcode_notauth")}}
	var b bytes.Buffer
	if err := set.Execute(&b, templates.NotifyText, data); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{"Dear hostmaster@example.com: example.com. Our own words. The server refused", "example.com. NOTAUTH in our own words."} {
		if !strings.Contains(got, want) {
			t.Errorf("overridden text part lacks %q:\n%s", want, got)
		}
	}
	b.Reset()
	if err := set.ExecuteReason(&b, templates.NotifyHTML, finding("refused")); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.Join(strings.Fields(b.String()), " "), "Our own words. The server refused") {
		t.Errorf("the HTML part does not use the overridden reasons: %q", b.String())
	}
	if !slices.Contains(set.Reasons(), "rcode_notauth") {
		t.Errorf("Reasons() = %v, lacks the added rcode_notauth", set.Reasons())
	}
}

// A broken template fails the load, with an error naming the file (and
// the line of a parse error).
func TestLoadErrors(t *testing.T) {
	reasons := embedded(t, templates.Reasons)
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error; "DIR" is the directory
	}{
		{"unknown file", map[string]string{"notify.text.tmpl": "x"},
			[]string{"DIR/notify.text.tmpl", "not a template lamers knows"}},
		{"unclosed action", map[string]string{templates.NotifyText: "Hello,\n\n{{.To}\n"},
			[]string{"DIR/notify.txt.tmpl", "notify.txt.tmpl:3:"}},
		{"unknown function", map[string]string{templates.NotifyHTML: "<p>\n{{shout .To}}</p>\n"},
			[]string{"DIR/notify.html.tmpl", "notify.html.tmpl:2:", `function "shout" not defined`}},
		{"undefined template", map[string]string{templates.NotifyText: "{{template \"footer\" .}}\n"},
			[]string{"DIR/notify.txt.tmpl", "notify.txt.tmpl:1:", `no template "footer"`}},
		{"escaping", map[string]string{templates.NotifyHTML: "<p>ok</p>\n<a href=\"mailto:{{.Unsubscribe}}>stop</a>\n"},
			[]string{"DIR/notify.html.tmpl", "notify.html.tmpl"}},
		{"undefined template in the HTML part", map[string]string{templates.NotifyHTML: "<p>\n{{template \"footer\" .}}</p>\n"},
			[]string{"DIR/notify.html.tmpl", "footer"}},
		{"undefined template in reasons", map[string]string{templates.Reasons: reasons + "{{define \"reason_rcode_notimp\"}}\n\n{{template \"more\"}}{{end}}"},
			[]string{"DIR/reasons.tmpl", "reasons.tmpl:", `no template "more"`}},
		{"reasons parse error", map[string]string{templates.Reasons: reasons + "\n{{define \"x\"}}{{if}}{{end}}\n"},
			[]string{"DIR/reasons.tmpl", "reasons.tmpl:"}},
		{"reason left out", map[string]string{templates.Reasons: strings.Replace(reasons, `"reason_servfail"`, `"servfail"`, 1)},
			[]string{"DIR/reasons.tmpl", `no {{define "reason_servfail"}}`}},
		{"generic rcode left out", map[string]string{templates.Reasons: strings.Replace(reasons, `"reason_rcode"`, `"rcode"`, 1)},
			[]string{"DIR/reasons.tmpl", `"reason_rcode"`}},
		{"empty explanation", map[string]string{templates.Reasons: reasons + `{{define "reason_rcode_notimp"}} {{end}}`},
			[]string{"DIR/reasons.tmpl", `{{define "reason_rcode_notimp"}} is empty`}},
		{"bad reason name", map[string]string{templates.Reasons: reasons + `{{define "reason_Refused"}}x{{end}}`},
			[]string{"DIR/reasons.tmpl", `"reason_Refused"`}},
		{"empty main template", map[string]string{templates.NotifyText: "{{/* nothing */}}"},
			[]string{"DIR/notify.txt.tmpl", "empty template"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := templates.Load(dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadDirectory(t *testing.T) {
	if _, err := templates.Load(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("a missing directory: %v", err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, templates.Reasons), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := templates.Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, templates.Reasons)+": not a regular file") {
		t.Errorf("a directory in place of a template: %v", err)
	}
	// An empty directory changes nothing.
	a, b := load(t, t.TempDir()), load(t, "")
	if !slices.Equal(a.Reasons(), b.Reasons()) {
		t.Errorf("an empty directory changes the reasons: %v, %v", a.Reasons(), b.Reasons())
	}
}

func TestExecuteUnknownTemplate(t *testing.T) {
	set := load(t, "")
	if err := set.Execute(&bytes.Buffer{}, templates.Reasons, nil); err == nil {
		t.Error("executing the shared reasons file succeeded")
	}
	if err := set.Execute(&bytes.Buffer{}, "digest.txt.tmpl", nil); err == nil {
		t.Error("executing an unknown template succeeded")
	}
}

// The template functions, through a template that uses them.
func TestFuncs(t *testing.T) {
	dir := writeFiles(t, map[string]string{templates.NotifyText: `{{date .T}}|{{day .T}}|{{plural .One "x" "xs"}}|{{plural .Two "x" "xs"}}|{{join .S "+"}}`})
	set := load(t, dir)
	data := struct {
		T   time.Time
		One int
		Two int64
		S   []string
	}{time.Date(2026, 7, 9, 23, 30, 0, 0, time.FixedZone("X", -2*3600)), 1, 2, []string{"a", "b"}}
	var b bytes.Buffer
	if err := set.Execute(&b, templates.NotifyText, data); err != nil {
		t.Fatal(err)
	}
	if want := "2026-07-10 01:30 UTC|2026-07-10|x|xs|a+b"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
