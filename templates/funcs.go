package templates

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Width is the column at which wrap breaks the lines of the plain-text
// part (RFC 3676 §4.2 recommends at most 78; 72 leaves room for quoting).
const Width = 72

// subjectNameMax is how many characters of a DNS name the Subject shows;
// a longer name is cut with "...". Presentation names reach about a
// thousand characters (255 octets, \DDD each), more than a header line
// may hold without folding, and a name has no space to fold at.
const subjectNameMax = 64

// funcs are the functions both kinds of template may call.
func (s *Set) funcs() map[string]any {
	return map[string]any{
		"explain":     s.Explain,
		"wrap":        wrap,
		"date":        date,
		"join":        strings.Join,
		"plural":      plural,
		"subjectName": subjectName,
		"num":         num,
		"day":         day,
		"list":        list,
	}
}

// wrap reflows text to Width columns, each line indented by indent
// spaces. Runs of white space become one space; a blank line separates
// paragraphs and is kept. A word longer than a line stays whole.
func wrap(indent int, text string) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for i, para := range paragraphs(text) {
		if i > 0 {
			b.WriteString("\n\n")
		}
		col := 0
		for _, w := range strings.Fields(para) {
			switch {
			case col == 0:
				b.WriteString(pad)
				col = indent
			case col+1+len(w) > Width:
				b.WriteString("\n")
				b.WriteString(pad)
				col = indent
			default:
				b.WriteByte(' ')
				col++
			}
			b.WriteString(w)
			col += len(w)
		}
	}
	return b.String()
}

// paragraphs splits text at blank lines, dropping empty paragraphs.
func paragraphs(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

// date writes t in UTC to the minute: "2026-11-02 14:05 UTC".
func date(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// list returns its arguments as a list: how a template passes several
// values to a define.
func list(v ...any) []any { return v }

// day writes t's UTC date: "2026-11-02".
func day(t time.Time) string {
	return t.UTC().Format(time.DateOnly)
}

// num writes the integer n with a comma between groups of three digits:
// "1,234,567".
func num(n any) (string, error) {
	v, err := integer("num", n)
	if err != nil {
		return "", err
	}
	s := strconv.FormatInt(v, 10)
	sign := ""
	if v < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String(), nil
}

// integer is n, any of the integer types the templates' data has.
func integer(fn string, n any) (int64, error) {
	switch x := n.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint16:
		return int64(x), nil
	}
	return 0, fmt.Errorf("%s: %T is not an integer", fn, n)
}

// plural returns one when n is 1 and many otherwise; n is any integer.
func plural(n any, one, many string) (string, error) {
	v, err := integer("plural", n)
	if err != nil {
		return "", err
	}
	if v == 1 {
		return one, nil
	}
	return many, nil
}

// subjectName is a DNS name in presentation form as the Subject shows it:
// cut to subjectNameMax characters (never inside an escape), and with "=?"
// written "\061?" (the same name: \061 is '=') so that no mail reader
// takes part of it for an RFC 2047 encoded word.
func subjectName(name string) string {
	if len(name) > subjectNameMax {
		limit, cut := subjectNameMax-len("..."), 0
		for i := 0; i < len(name); {
			n := 1
			if name[i] == '\\' {
				n = 2
				if i+1 < len(name) && name[i+1] >= '0' && name[i+1] <= '9' {
					n = 4
				}
			}
			if i+n > limit {
				break
			}
			i += n
			cut = i
		}
		name = name[:cut] + "..."
	}
	return strings.ReplaceAll(name, "=?", `\061?`)
}
