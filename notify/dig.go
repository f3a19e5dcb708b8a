package notify

import (
	"fmt"
	"strings"
)

// digCommand is the command a message shows for a finding:
// "dig +norec @ADDR ZONE SOA", with "-p PORT" when the port is not 53 —
// the question lamers asked, as a resolver asks it. ADDR is the address
// without brackets. The arguments are written so that a POSIX shell
// (sh, bash, zsh; also fish) hands dig exactly the name: see digName and
// shellWord.
func digCommand(server string, port uint16, zone string) string {
	var b strings.Builder
	b.WriteString("dig +norec ")
	b.WriteString(shellWord("@" + server))
	if port != 53 {
		fmt.Fprintf(&b, " -p %d", port)
	}
	b.WriteByte(' ')
	b.WriteString(shellWord(digName(zone)))
	b.WriteString(" SOA")
	return b.String()
}

// digName rewrites the presentation-form name zone into the same name as
// dig's argument parser reads it safely. dig reads names with escapes
// (BIND's dns_name_fromtext), so an equivalent spelling is used where the
// plain one would mislead:
//
//   - a leading '-', '+' or '@' would make dig take the name for an
//     option, a query option or a server: it is written \045, \043, \064;
//   - a backslash or an apostrophe in the name (\\, \', or ') is written
//     \092 or \039, so that the single-quoted word holds no apostrophe and
//     no "\\", the two escapes fish honours inside single quotes.
func digName(zone string) string {
	var b strings.Builder
	for i := 0; i < len(zone); i++ {
		c := zone[i]
		switch {
		case c == '\\' && i+1 < len(zone):
			i++
			switch d := zone[i]; d {
			case '\\':
				b.WriteString(`\092`)
			case '\'':
				b.WriteString(`\039`)
			default:
				b.WriteByte('\\')
				b.WriteByte(d) // \X, or the first digit of \DDD
			}
		case c == '\'':
			b.WriteString(`\039`)
		case i == 0 && (c == '-' || c == '+' || c == '@'):
			fmt.Fprintf(&b, `\%03d`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// shellWord quotes s as one word for a POSIX shell: as it is when it holds
// only characters no shell interprets (letters, digits and ._-+/:@%,) and
// does not start with '-', else in single quotes, where every character is
// literal (an apostrophe is written '\”).
func shellWord(s string) string {
	plain := s != "" && s[0] != '-'
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("._-+/:@%,", c) >= 0
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
