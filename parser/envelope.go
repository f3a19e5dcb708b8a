package parser

import (
	"bytes"
	"time"
)

// envelope is what surrounds a resolver's message: the time and, for
// Unbound, the identity of the writing thread.
type envelope struct {
	t   time.Time
	msg []byte
	// unbound: the message came from an Unbound "ident[pid:tid] level: "
	// (or syslog "[pid:tid] level: ") frame; p.key holds the group key.
	unbound bool
	// bare: no prefix at all (a dump_infra candidate).
	bare bool
}

// envelope strips the prefix of line into e. Recognised, in this order:
//
//	<PRI>1 TS HOST APP PROCID MSGID SD  msg          RFC 5424
//	[epoch] ident[pid:tid] level: msg                Unbound logfile
//	22-Nov-2026 02:01:50.284 msg                     BIND print-time
//	2026-11-22T02:01:50.284[Z|±hh:mm|±hhmm] ...      BIND iso8601(-utc), RFC 3339, short-iso, Unbound log-time-iso
//	Nov 22 02:01:50[.uuuuuu] ...                     RFC 3164, journalctl short(-precise), Unbound log-time-ascii
//
// where "..." after a time is "host tag[pid]: msg" (syslog), "ident[pid:tid]
// level: msg" (Unbound) or a BIND message. Whatever is left is a bare
// message.
func (p *Parser) envelope(line []byte, e *envelope) {
	e.t = p.ref
	if len(line) == 0 {
		e.msg, e.bare = line, true
		return
	}
	switch c := line[0]; {
	case c == '<':
		if p.rfc5424(line, e) {
			return
		}
	case c == '[':
		if t, n, ok := epochTime(line); ok {
			e.t = t
			p.afterTime(line[n:], e, false)
			return
		}
	case isDigit(c):
		if t, n, ok := p.bindTime(line); ok {
			e.t, e.msg = t, line[n:]
			return
		}
		if t, n, ok := p.isoTime(line); ok {
			e.t = t
			p.afterTime(line[n:], e, true)
			return
		}
	case c >= 'A' && c <= 'Z':
		if t, n, ok := p.bsdTime(line); ok {
			e.t = t
			p.afterTime(line[n:], e, true)
			return
		}
	}
	p.afterTime(line, e, false)
	if !e.unbound && len(e.msg) == len(line) {
		e.bare = true
	}
}

// afterTime splits what follows a time (or the whole line): an Unbound
// "ident[pid:tid] level: " frame, a syslog "host tag: " header (only when
// syslog is true) or a BIND message.
func (p *Parser) afterTime(s []byte, e *envelope, syslog bool) {
	tok1, rest, _ := cut(s, ' ')
	if unboundTag(tok1) {
		p.key = append(p.key[:0], tok1...)
		p.unboundMsg(rest, e)
		return
	}
	if syslog && len(tok1) > 0 && tok1[len(tok1)-1] != ':' {
		tok2, msg, _ := cut(rest, ' ')
		if len(tok2) > 1 && tok2[len(tok2)-1] == ':' && syslogTag(tok2[:len(tok2)-1]) {
			p.syslogMsg(tok1, tok2[:len(tok2)-1], msg, e)
			return
		}
	}
	e.msg = s
}

// syslogMsg handles the message of a syslog record from host with tag: an
// Unbound "[pid:tid] level: msg" (its syslog frame), an Unbound logfile
// frame "[epoch] ident[pid:tid] level: msg" (its stderr, with logfile "",
// captured by journald or a syslog daemon; also with log-time-ascii or
// log-time-iso instead of the epoch, whose time is then used), or a BIND
// message.
func (p *Parser) syslogMsg(host, tag, msg []byte, e *envelope) {
	tok, rest, _ := cut(msg, ' ')
	if len(tok) > 0 && tok[0] == '[' && unboundTag(tok) {
		p.syslogKey(host, tag, tok)
		p.unboundMsg(rest, e)
		return
	}
	if len(msg) > 0 {
		var t time.Time
		n, ok := 0, false
		switch c := msg[0]; {
		case c == '[':
			t, n, ok = epochTime(msg)
		case isDigit(c):
			t, n, ok = p.isoTime(msg)
		case c >= 'A' && c <= 'Z':
			t, n, ok = p.bsdTime(msg)
		}
		if ok {
			if tok, rest, _ := cut(msg[n:], ' '); unboundTag(tok) {
				e.t = t
				p.syslogKey(host, tag, tok)
				p.unboundMsg(rest, e)
				return
			}
		}
	}
	e.msg = msg
}

// syslogKey sets p.key to the group key of Unbound's thread tok ("[pid:tid]"
// or "ident[pid:tid]") logging through syslog as host and tag.
func (p *Parser) syslogKey(host, tag, tok []byte) {
	k := append(p.key[:0], host...)
	k = append(k, 0)
	k = append(k, tag...)
	k = append(k, 0)
	p.key = append(k, tok...)
}

// unboundMsg strips Unbound's "level: " from s.
func (p *Parser) unboundMsg(s []byte, e *envelope) {
	e.unbound = true
	for i := 0; i+1 < len(s) && i < 24; i++ {
		c := s[i]
		if c == ':' && s[i+1] == ' ' {
			e.msg = s[i+2:]
			return
		}
		if !(c >= 'a' && c <= 'z' || c == ' ') {
			break
		}
	}
	e.msg = s
}

// unboundTag reports whether tok is Unbound's "ident[pid:tid]" (ident may
// be empty; tid is hex up to 1.22, decimal later).
func unboundTag(tok []byte) bool {
	n := len(tok)
	if n < 5 || tok[n-1] != ']' {
		return false
	}
	open := bytes.LastIndexByte(tok, '[')
	if open < 0 {
		return false
	}
	in := tok[open+1 : n-1]
	pid, tid, ok := cut(in, ':')
	if !ok || len(pid) == 0 || len(tid) == 0 {
		return false
	}
	for _, c := range pid {
		if !isDigit(c) {
			return false
		}
	}
	for _, c := range tid {
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	for _, c := range tok[:open] {
		if c == '[' || c == ']' || c == ':' {
			return false
		}
	}
	return true
}

// syslogTag reports whether tag looks like a syslog tag: "prog" or
// "prog[pid]".
func syslogTag(tag []byte) bool {
	if len(tag) == 0 || len(tag) > 64 {
		return false
	}
	if tag[len(tag)-1] == ']' {
		open := bytes.IndexByte(tag, '[')
		if open <= 0 {
			return false
		}
		for _, c := range tag[open+1 : len(tag)-1] {
			if !isDigit(c) {
				return false
			}
		}
		tag = tag[:open]
	}
	for _, c := range tag {
		if c == '[' || c == ']' || c == ':' || c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// rfc5424 parses "<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
// STRUCTURED-DATA [MSG]" (RFC 5424 §6); rsyslog puts an extra space before
// MSG. A NILVALUE timestamp gives the reference time.
func (p *Parser) rfc5424(line []byte, e *envelope) bool {
	i := 1
	for i < len(line) && i < 5 && isDigit(line[i]) {
		i++
	}
	if i == 1 || i >= len(line) || line[i] != '>' {
		return false
	}
	i++
	j := i
	for j < len(line) && j < i+2 && isDigit(line[j]) {
		j++
	}
	if j == i || j >= len(line) || line[j] != ' ' {
		return false
	}
	s := line[j+1:]
	ts, s, _ := cut(s, ' ')
	host, s, _ := cut(s, ' ')
	app, s, _ := cut(s, ' ')
	procid, s, _ := cut(s, ' ')
	_, s, ok := cut(s, ' ') // MSGID
	if !ok || len(host) == 0 || len(app) == 0 || len(procid) == 0 {
		return false
	}
	if !(len(ts) == 1 && ts[0] == '-') {
		t, n, ok := p.isoTime(ts)
		if !ok || n != len(ts) {
			return false
		}
		e.t = t
	}
	// STRUCTURED-DATA: "-" or one or more [id param="value"...] elements.
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	} else {
		for len(s) > 0 && s[0] == '[' {
			k, inQuote := 1, false
			for ; k < len(s); k++ {
				c := s[k]
				if c == '\\' && inQuote {
					k++
					continue
				}
				if c == '"' {
					inQuote = !inQuote
				} else if c == ']' && !inQuote {
					break
				}
			}
			if k >= len(s) {
				return false
			}
			s = s[k+1:]
		}
	}
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	s = bytes.TrimPrefix(s, []byte("\xef\xbb\xbf"))
	tag := app
	if !(len(procid) == 1 && procid[0] == '-') {
		p.scratch = append(append(append(append(p.scratch[:0], app...), '['), procid...), ']')
		tag = p.scratch
	}
	p.syslogMsg(host, tag, s, e)
	return true
}
