package notify

import (
	"net/netip"
	"strconv"
	"strings"
)

// DigCommand returns the command that shows what a server answers for a
// zone: dig +norec @ADDR ZONE SOA, with -p PORT after the address when the
// port is not 53 (docs/notify.md §4). ADDR is written without brackets or
// an IPv6 zone index. zone is in presentation form; it is written so that
// a POSIX shell (XCU §2.2) passes it to dig unchanged: in single quotes when
// it holds a character the shell would interpret, and with its first
// character escaped (`\-`, `\+`, `\@`) when dig would take it for an
// option or a server, which dig's name parser reads back as the character.
func DigCommand(addr netip.Addr, port int, zone string) string {
	var b strings.Builder
	b.WriteString("dig +norec @")
	b.WriteString(addr.WithZone("").String())
	if port != 53 {
		b.WriteString(" -p ")
		b.WriteString(strconv.Itoa(port))
	}
	b.WriteByte(' ')
	b.WriteString(shellQuote(digName(zone)))
	b.WriteString(" SOA")
	return b.String()
}

// digName escapes the first character of a name that dig would read as an
// option ("-x", "+tcp") or as a server ("@192.0.2.1"). RFC 1035 §5.1: a
// backslash before a character that is not a digit stands for that
// character.
func digName(zone string) string {
	if zone != "" && strings.IndexByte("-+@", zone[0]) >= 0 {
		return `\` + zone
	}
	return zone
}

// shellQuote returns s as one word of a POSIX shell command: as it is when
// it holds only characters no shell treats specially, otherwise in single
// quotes, where a single quote ends the quoting, is written escaped and
// starts it again (XCU §2.2.2: nothing inside single quotes is special,
// and a single quote cannot occur in them).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, shellSafe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellSafe are the characters no POSIX shell interprets anywhere in a
// word: letters, digits and "-._+,/:@%=". ("=" makes an assignment only
// before the command name; "~" and "#" are special at a word's start, and
// are quoted.)
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._+,/:@%="
