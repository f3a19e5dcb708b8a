// Package templates holds the message templates of `lamers notify` and
// `lamers digest`, and their loader (docs/notify.md, section 4;
// docs/digest.md).
//
// The templates are embedded in the binary. A directory given to Load
// (notify.templates_dir) may hold files of the same names; each one
// replaces the embedded file of its name, the others stay embedded. Every
// template is parsed by Load, so a broken template stops the command
// before anything is sent; execution errors on real data are caught by
// the notify package, which renders a sample message at start.
//
// The files:
//
//   - notify.txt.tmpl (text/template): the plain-text part of a message,
//     and the define "notify subject", the Subject line.
//   - notify.html.tmpl (html/template): the HTML part. It must read well in
//     a mail client that loads nothing: inline styles, no images, no
//     scripts, no links but mailto.
//   - reasons.tmpl (text/template): one define "reason NAME" per verdict
//     reason (docs/verification.md, section 3) saying in plain words what
//     the server answered, why that makes the delegation lame and what to
//     do; "reason rcode_<name>" for the rcodes without a reason of their
//     own, "reason (other)" for any other reason. Both parts show them
//     through the function explain; the HTML part escapes the text.
//   - digest.txt.tmpl (text/template): the digest (package notify/digest)
//     as plain text, what `lamers digest` prints and the plain part of the
//     mail; and the define "digest subject".
//   - digest.html.tmpl (html/template): the digest's HTML part, under the
//     rules of notify.html.tmpl.
//
// DNS data is attacker-influenced. The HTML part is an html/template, so
// every value is escaped for its context; nothing here marks DNS text as
// safe HTML. The text part is plain text and never reaches a header; the
// Subject is checked by the notify package before it becomes one.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	texttemplate "text/template"
)

// The template files, and the names of the templates callers execute.
const (
	NotifyText    = "notify.txt.tmpl"
	NotifyHTML    = "notify.html.tmpl"
	Reasons       = "reasons.tmpl"
	NotifySubject = "notify subject"
	DigestText    = "digest.txt.tmpl"
	DigestHTML    = "digest.html.tmpl"
	DigestSubject = "digest subject"
)

// The defines of reasons.tmpl that are not one reason each.
const (
	reasonPrefix = "reason "
	// reasonRcode explains "rcode_<name>" reasons; its data's Rcode method
	// or field gives the rcode.
	reasonRcode = reasonPrefix + "rcode_<name>"
	// reasonOther explains any reason without a define of its own.
	reasonOther = reasonPrefix + "(other)"
)

// kind says which template package parses a file.
type kind int

const (
	kindText kind = iota
	kindHTML
)

// files are the template files Load knows, in the order they are parsed.
var files = []struct {
	name string
	kind kind
}{
	{Reasons, kindText},
	{NotifyText, kindText},
	{NotifyHTML, kindHTML},
	{DigestText, kindText},
	{DigestHTML, kindHTML},
}

// explained are the reasons a mailed (lame or unresponsive) finding
// carries (docs/verification.md, section 3); Load insists on a define for
// each, so that a replaced reasons.tmpl cannot drop one unnoticed.
var explained = []string{
	"not_authoritative", "recursive_not_authoritative", "upward_referral", "self_referral",
	"referral_other_zone", "wrong_soa_owner", "no_soa", "cname_at_apex", "empty_non_authoritative",
	"nxdomain", "refused", "servfail", "broken_server", "ns_name_nxdomain", "no_dns_service",
	"unresponsive",
}

// ExplainedReasons lists the reasons reasons.tmpl must explain, each with
// a define of its own.
func ExplainedReasons() []string { return slices.Clone(explained) }

//go:embed notify.txt.tmpl notify.html.tmpl reasons.tmpl digest.txt.tmpl digest.html.tmpl
var embedded embed.FS

// Set is a parsed set of templates. It is safe for concurrent use.
type Set struct {
	text *texttemplate.Template
	html *htmltemplate.Template
	// origin maps a file name to where it was read: "embedded" or a path.
	origin map[string]string
}

// Load parses the embedded templates, each replaced by the file of the
// same name in dir when there is one ("" reads none). A file in dir that
// is not a template Load knows is an error, and so is any template that
// does not parse; errors name the file and, for syntax errors, the line.
func Load(dir string) (*Set, error) {
	s := &Set{origin: map[string]string{}}
	src := map[string][]byte{}
	for _, f := range files {
		b, err := embedded.ReadFile(f.name)
		if err != nil {
			return nil, fmt.Errorf("templates: embedded %s: %w", f.name, err)
		}
		src[f.name], s.origin[f.name] = b, "embedded "+f.name
	}
	if dir != "" {
		if err := s.readDir(dir, src); err != nil {
			return nil, err
		}
	}
	funcs := s.funcs()
	s.text = texttemplate.New("").Funcs(funcs)
	s.html = htmltemplate.New("").Funcs(funcs)
	for _, f := range files {
		var err error
		if f.kind == kindText {
			_, err = s.text.New(f.name).Parse(string(src[f.name]))
		} else {
			_, err = s.html.New(f.name).Parse(string(src[f.name]))
		}
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", s.origin[f.name], err)
		}
	}
	if err := s.complete(); err != nil {
		return nil, err
	}
	return s, nil
}

// readDir reads the files of dir over the embedded ones in src.
func (s *Set) readDir(dir string, src map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("templates: read %s: %w", dir, err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if _, known := src[e.Name()]; !known {
			return fmt.Errorf("templates: %s: %w (known: %s)", path, errUnknownFile, strings.Join(fileNames(), ", "))
		}
		if e.IsDir() {
			return fmt.Errorf("templates: %s: is a directory", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		src[e.Name()], s.origin[e.Name()] = b, path
	}
	return nil
}

// errUnknownFile is the cause of a file in the templates directory that
// replaces nothing: a typo in its name would otherwise go unnoticed.
var errUnknownFile = errors.New("not a template lamers uses")

// fileNames lists the names of the template files.
func fileNames() []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.name
	}
	return out
}

// complete checks that the defines callers and the explain function need
// exist.
func (s *Set) complete() error {
	need := map[string][]string{Reasons: {reasonRcode, reasonOther}, NotifyText: {NotifySubject}, DigestText: {DigestSubject}}
	for _, r := range explained {
		need[Reasons] = append(need[Reasons], reasonPrefix+r)
	}
	names := make([]string, 0, len(need))
	for file := range need {
		names = append(names, file)
	}
	sort.Strings(names)
	for _, file := range names {
		var missing []string
		for _, name := range need[file] {
			if s.text.Lookup(name) == nil {
				missing = append(missing, fmt.Sprintf("%q", name))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("templates: %s: no define %s", s.origin[file], strings.Join(missing, ", "))
		}
	}
	return nil
}

// Text executes the text template (a file name or a define) name on data.
func (s *Set) Text(w io.Writer, name string, data any) error {
	return s.execute(s.text, s.text.Lookup(name) != nil, "text", w, name, data)
}

// HTML executes the HTML template (a file name or a define) name on data.
func (s *Set) HTML(w io.Writer, name string, data any) error {
	return s.execute(s.html, s.html.Lookup(name) != nil, "HTML", w, name, data)
}

// execute runs the template name of t, which exists or not, naming the
// file in its error.
func (s *Set) execute(t interface {
	ExecuteTemplate(io.Writer, string, any) error
}, exists bool, kind string, w io.Writer, name string, data any) error {
	if !exists {
		return fmt.Errorf("templates: no %s template %q", kind, name)
	}
	if err := t.ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("templates: %s: %w", s.originOf(name), err)
	}
	return nil
}

// Explain returns the plain-words explanation of reason: the define
// "reason REASON" executed on data (a finding: the defines use its Zone,
// Server, Port, Rcode and Reason), "reason rcode_<name>" for an rcode
// reason without a define of its own, "reason (other)" otherwise.
func (s *Set) Explain(reason string, data any) (string, error) {
	if !validReason(reason) {
		return "", fmt.Errorf("templates: explain %q: not a reason name", reason)
	}
	name := reasonPrefix + reason
	switch {
	case s.text.Lookup(name) != nil && name != reasonRcode && name != reasonOther:
	case strings.HasPrefix(reason, "rcode_") && len(reason) > len("rcode_"):
		name = reasonRcode
	default:
		name = reasonOther
	}
	var b bytes.Buffer
	if err := s.text.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("templates: %s: %w", s.origin[Reasons], err)
	}
	return b.String(), nil
}

// validReason reports whether r has the shape of a reason name: lowercase
// letters, digits and underscores.
func validReason(r string) bool {
	if r == "" {
		return false
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// originOf names the file that holds the template name (a file or a
// define: parse trees record the file they were parsed from).
func (s *Set) originOf(name string) string {
	parsedFrom := ""
	if t := s.text.Lookup(name); t != nil && t.Tree != nil {
		parsedFrom = t.Tree.ParseName
	} else if h := s.html.Lookup(name); h != nil && h.Tree != nil {
		parsedFrom = h.Tree.ParseName
	}
	if o, ok := s.origin[parsedFrom]; ok {
		return o
	}
	return name
}
