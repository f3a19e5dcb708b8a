// Package templates holds the templates of the mail lamers sends and their
// loader. The templates are embedded in the binary; a file of the same name
// in the operator's templates directory (notify.templates_dir) replaces the
// embedded one. Every template is parsed, and the HTML ones escaped, when a
// Set is loaded, so a broken template stops the command before anything is
// sent (docs/notify.md §4). What only shows when a template runs with
// data (a field that does not exist) is found by notify.CheckTemplates,
// which renders a sample message at start.
//
// A Set is made of main templates and one shared file:
//
//   - notify.txt.tmpl (text/template): the plain-text part of a notification;
//   - notify.html.tmpl (html/template): its HTML part;
//   - reasons.tmpl: the explanation in plain words of every verdict reason
//     (docs/verification.md §3), one {{define "reason_NAME"}} per reason and
//     {{define "reason_rcode"}} for the rcodes without a reason of their own
//     (rcode_notauth, rcode_12, …). It is parsed into every main template,
//     text and HTML alike, so both parts of a message explain a reason with
//     the same words; html/template escapes them in the HTML part.
//
// Each main template calls {{template "reason" .}} with a finding as dot;
// the "reason" template is built at load time from the reason_NAME defines
// and calls the one named by the finding's Reason field (the generic
// reason_rcode for a Reason "rcode_…" without a define of its own).
//
// The HTML part must read well in a mail client that loads nothing: styles
// are inline, there are no images, scripts or style sheets, and the only
// links are mailto: links. DNS data is never marked as safe HTML.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
)

//go:embed *.tmpl
var embedded embed.FS

// The names of the template files.
const (
	NotifyText = "notify.txt.tmpl"
	NotifyHTML = "notify.html.tmpl"
	Reasons    = "reasons.tmpl"
)

// reasonPrefix starts the name of every explanation define; rcodeReason is
// the generic explanation of an rcode without a reason of its own, and
// dispatch the template that picks the explanation of a finding's Reason.
const (
	reasonPrefix = "reason_"
	rcodeReason  = reasonPrefix + "rcode"
	rcodePrefix  = "rcode_"
	dispatch     = "reason"
)

// kind is how a template file is parsed.
type kind uint8

const (
	kindText   kind = iota + 1 // a main template, text/template
	kindHTML                   // a main template, html/template
	kindShared                 // parsed into every main template
)

// fileKind returns the kind of a template file, 0 for a name that is not
// one of a Set's files.
func fileKind(name string) kind {
	switch name {
	case NotifyText:
		return kindText
	case NotifyHTML:
		return kindHTML
	case Reasons:
		return kindShared
	}
	return 0
}

// fileNames lists the files of a Set in the order they are parsed.
func fileNames() []string { return []string{Reasons, NotifyText, NotifyHTML} }

// Set is a loaded, parsed set of templates. It is safe for concurrent use.
type Set struct {
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
	reasons []string // the reasons explained, sorted, "rcode" not included
}

// source is one template file as read: its text and where it came from,
// for error messages.
type source struct {
	text   string
	origin string // a path, or "embedded NAME"
}

// Load reads the templates: the embedded ones, each replaced by the file of
// the same name in dir when dir is not "" and holds one. A file in dir that
// is not a template of the set is an error naming it, and so is a
// reasons.tmpl that leaves out a reason the embedded one explains. Every
// error names the file, and a parse error its line.
func Load(dir string) (*Set, error) {
	srcs := make(map[string]source)
	for _, name := range fileNames() {
		b, err := embedded.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("templates: read embedded %s: %w", name, err)
		}
		srcs[name] = source{text: string(b), origin: "embedded " + name}
	}
	embeddedReasons, err := reasonNames(srcs[Reasons])
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if err := readDir(dir, srcs); err != nil {
			return nil, err
		}
	}
	reasons, err := reasonNames(srcs[Reasons])
	if err != nil {
		return nil, err
	}
	for _, r := range embeddedReasons {
		if _, found := slices.BinarySearch(reasons, r); !found {
			return nil, fmt.Errorf("templates: %s: no {{define %q}}: every reason needs an explanation", srcs[Reasons].origin, reasonPrefix+r)
		}
	}
	s := &Set{
		text:    make(map[string]*texttemplate.Template),
		html:    make(map[string]*htmltemplate.Template),
		reasons: slices.DeleteFunc(reasons, func(r string) bool { return r == "rcode" }),
	}
	dispatcher := dispatchText(s.reasons)
	for _, name := range fileNames() {
		switch fileKind(name) {
		case kindText:
			t, err := parseText(name, srcs[name], srcs[Reasons], dispatcher)
			if err != nil {
				return nil, err
			}
			s.text[name] = t
		case kindHTML:
			t, err := parseHTML(name, srcs[name], srcs[Reasons], dispatcher)
			if err != nil {
				return nil, err
			}
			s.html[name] = t
		}
	}
	return s, nil
}

// readDir replaces the sources of srcs by the files of dir.
func readDir(dir string, srcs map[string]source) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("templates: read directory: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if fileKind(e.Name()) == 0 {
			return fmt.Errorf("templates: %s: not a template lamers knows (%s)", path, strings.Join(fileNames(), ", "))
		}
		if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
			return fmt.Errorf("templates: %s: not a regular file", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		srcs[e.Name()] = source{text: string(b), origin: path}
	}
	return nil
}

// reasonNames parses the reasons file alone and returns the reasons it
// explains, sorted ("rcode" for the generic rcode explanation). A define
// named reason_… must have a name of lowercase letters, digits and
// underscores, and must not be empty.
func reasonNames(src source) ([]string, error) {
	t, err := texttemplate.New(Reasons).Funcs(texttemplate.FuncMap(funcs())).Parse(src.text)
	if err != nil {
		return nil, fmt.Errorf("templates: %s: %w", src.origin, err)
	}
	var names []string
	for _, d := range t.Templates() {
		r, ok := strings.CutPrefix(d.Name(), reasonPrefix)
		if !ok {
			continue
		}
		if r == "" || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return nil, fmt.Errorf("templates: %s: {{define %q}}: a reason name has only a-z, 0-9 and _", src.origin, d.Name())
		}
		if empty(d.Tree) {
			return nil, fmt.Errorf("templates: %s: {{define %q}} is empty", src.origin, d.Name())
		}
		names = append(names, r)
	}
	if !slices.Contains(names, "rcode") {
		return nil, fmt.Errorf("templates: %s: no {{define %q}} for the rcodes without a reason of their own", src.origin, rcodeReason)
	}
	slices.Sort(names)
	return names, nil
}

// empty reports whether a template tree produces nothing but white space.
func empty(t *parse.Tree) bool {
	if t == nil || t.Root == nil {
		return true
	}
	for _, n := range t.Root.Nodes {
		if tn, ok := n.(*parse.TextNode); !ok || len(bytes.TrimSpace(tn.Text)) > 0 {
			return false
		}
	}
	return true
}

// dispatchText is the source of the "reason" template: it calls the
// explanation of the dot's Reason. The names come from the reasons file's
// defines, checked by reasonNames, never from data.
func dispatchText(reasons []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{{define %q}}", dispatch)
	for i, r := range reasons {
		if i > 0 {
			b.WriteString("{{else ")
		} else {
			b.WriteString("{{")
		}
		fmt.Fprintf(&b, "if eq .Reason %q}}{{template %q .}}", r, reasonPrefix+r)
	}
	if len(reasons) > 0 {
		b.WriteString("{{else ")
	} else {
		b.WriteString("{{")
	}
	fmt.Fprintf(&b, "if isRcode .Reason}}{{template %q .}}{{else}}{{unexplained .Reason}}{{end}}{{end}}", rcodeReason)
	return b.String()
}

// parseable is what text/template and html/template have in common for
// parseInto.
type parseable[T any] interface {
	New(name string) T
	Parse(text string) (T, error)
	Templates() []T
	Name() string
}

// parseInto parses the main template, the reasons file and the dispatcher
// into t, whose name is the main template's, and checks the trees (tree
// returns a template's).
func parseInto[T parseable[T]](t T, tree func(T) *parse.Tree, main, reasons source, dispatcher string) error {
	if _, err := t.Parse(main.text); err != nil {
		return fmt.Errorf("templates: %s: %w", main.origin, err)
	}
	if _, err := t.New(Reasons).Parse(reasons.text); err != nil {
		return fmt.Errorf("templates: %s: %w", reasons.origin, err)
	}
	if _, err := t.New(dispatch).Parse(dispatcher); err != nil {
		return fmt.Errorf("templates: %s: the reason dispatcher: %w", reasons.origin, err)
	}
	trees := make(map[string]*parse.Tree)
	for _, d := range t.Templates() {
		trees[d.Name()] = tree(d)
	}
	return checkTrees(t.Name(), trees, main, reasons)
}

func parseText(name string, main, reasons source, dispatcher string) (*texttemplate.Template, error) {
	t := texttemplate.New(name).Funcs(texttemplate.FuncMap(funcs())).Option("missingkey=error")
	if err := parseInto(t, func(d *texttemplate.Template) *parse.Tree { return d.Tree }, main, reasons, dispatcher); err != nil {
		return nil, err
	}
	return t, nil
}

func parseHTML(name string, main, reasons source, dispatcher string) (*htmltemplate.Template, error) {
	t := htmltemplate.New(name).Funcs(htmltemplate.FuncMap(funcs())).Option("missingkey=error")
	if err := parseInto(t, func(d *htmltemplate.Template) *parse.Tree { return d.Tree }, main, reasons, dispatcher); err != nil {
		return nil, err
	}
	// html/template escapes a template the first time it runs: run it once
	// on no data so that an escaping error (an unclosed attribute, a
	// {{.}} in a <script>) stops the load. The run itself fails at the
	// first field of the nil dot; only the escaper's errors count.
	var escErr *htmltemplate.Error
	if err := t.Execute(io.Discard, nil); errors.As(err, &escErr) {
		origin := main.origin
		if escErr.Name == Reasons || strings.HasPrefix(escErr.Name, reasonPrefix) {
			origin = reasons.origin
		}
		return nil, fmt.Errorf("templates: %s: %w", origin, err)
	}
	return t, nil
}

// checkTrees checks what text/template leaves to execution time: that
// the main template produces something, and that every {{template}}
// action names a template of the set. trees maps the set's template names
// to their trees.
func checkTrees(name string, trees map[string]*parse.Tree, main, reasons source) error {
	if empty(trees[name]) {
		return fmt.Errorf("templates: %s: empty template", main.origin)
	}
	for _, t := range trees {
		if t == nil {
			continue
		}
		origin := main.origin
		if t.ParseName == Reasons {
			origin = reasons.origin
		}
		var err error
		walk(t.Root, func(tn *parse.TemplateNode) {
			if err == nil && trees[tn.Name] == nil {
				loc, _ := t.ErrorContext(tn)
				err = fmt.Errorf("templates: %s: %s: no template %q", origin, loc, tn.Name)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// walk calls f for every {{template}} action under n.
func walk(n parse.Node, f func(*parse.TemplateNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, f)
		}
	case *parse.IfNode:
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.RangeNode:
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.WithNode:
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.TemplateNode:
		f(n)
	}
}

// Reasons returns the reasons the set explains by name, sorted; every
// reason "rcode_…" is explained too.
func (s *Set) Reasons() []string { return slices.Clone(s.reasons) }

// Explains reports whether the set has an explanation for reason: one of
// its own, or the generic one of the rcodes.
func (s *Set) Explains(reason string) bool {
	if _, found := slices.BinarySearch(s.reasons, reason); found {
		return true
	}
	return isRcode(reason)
}

// Execute renders the main template name (NotifyText, NotifyHTML) with
// data.
func (s *Set) Execute(w io.Writer, name string, data any) error {
	return s.execute(w, name, name, data)
}

// ExecuteReason renders the explanation of finding's Reason as the main
// template name would write it: plain text for a text template, HTML for
// an HTML one.
func (s *Set) ExecuteReason(w io.Writer, name string, finding any) error {
	return s.execute(w, name, dispatch, finding)
}

func (s *Set) execute(w io.Writer, name, tmpl string, data any) error {
	var err error
	switch fileKind(name) {
	case kindText:
		err = s.text[name].ExecuteTemplate(w, tmpl, data)
	case kindHTML:
		err = s.html[name].ExecuteTemplate(w, tmpl, data)
	default:
		return fmt.Errorf("templates: execute %s: not a main template", name)
	}
	if err != nil {
		return fmt.Errorf("templates: execute %s: %w", name, err)
	}
	return nil
}

// funcs are the functions every template may call.
func funcs() map[string]any {
	return map[string]any{
		// date writes a time in UTC to the minute: "2026-07-09 14:03 UTC".
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		// day writes the UTC day of a time: "2026-07-09".
		"day": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		// plural picks the singular or plural word for n.
		"plural": func(n any, one, many string) (string, error) {
			switch v := n.(type) {
			case int:
				return pick(int64(v), one, many), nil
			case int64:
				return pick(v, one, many), nil
			}
			return "", fmt.Errorf("plural: %T is not an int", n)
		},
		"join":    strings.Join,
		"isRcode": isRcode,
		"unexplained": func(reason string) (string, error) {
			return "", fmt.Errorf("no explanation for reason %q", reason)
		},
	}
}

func pick(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// isRcode reports whether reason names an rcode without a reason of its
// own: "rcode_" and a lowercase mnemonic or a number.
func isRcode(reason string) bool {
	rest, ok := strings.CutPrefix(reason, rcodePrefix)
	return ok && rest != "" && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}
