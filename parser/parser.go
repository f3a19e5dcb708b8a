package parser

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"time"
)

// Options configure a Parser.
type Options struct {
	// Format forces one input format; Auto (the zero value) detects it per
	// line.
	Format Format
	// Location is the zone of timestamps that carry none (BIND print-time
	// and iso8601, RFC 3164, journalctl short, Unbound log-time-ascii);
	// nil means time.Local.
	Location *time.Location
	// Reference is the "now" of the input (a file's modification time, or
	// time.Now for live input). RFC 3164 and journalctl short times take its
	// year, or the year before when their month is later than its month;
	// lines without a timestamp, lines whose time lies outside the window
	// around it (see SetReference) and dump_infra entries take Reference
	// itself. The zero value means time.Now() at New.
	Reference time.Time
	// TransientQName lets an observation's QName share memory with the
	// Parser: it is then valid only until the next call to Parse, and a
	// caller that keeps it copies it (strings.Clone). Query names are not
	// cached either way when it is set. It is for callers that keep few of
	// the query names they see, like ingest (one sample per finding): a
	// day of lame lines holds hundreds of thousands of distinct query
	// names, which would each be allocated and would push the zones out of
	// the name cache.
	TransientQName bool
	// IgnoreServers drops the evidence against servers in these networks
	// (the resolver's own forwarders: lines about a forwarder that do not
	// say so) and counts it (Counts.IgnoredServer). An address with an
	// IPv6 zone is matched without it.
	IgnoreServers []netip.Prefix
}

// Bounds of the per-Parser state and caches.
const (
	// maxPending bounds the Unbound groups waiting for their last line; at
	// the bound the least recently touched group is dropped.
	maxPending   = 4096
	smallCache   = 512
	maxCachedKey = 300 // longer names are not cached
)

// Parser turns log lines into observations. It keeps the state of Unbound's
// multi-line groups and bounded caches of canonical names and addresses, so
// it is not safe for concurrent use: use one Parser per input stream.
type Parser struct {
	format   Format
	loc      *time.Location
	ref      time.Time
	refYear  int
	refMonth int

	// lo and hi bound the times lines may carry (see SetReference).
	lo, hi time.Time
	counts Counts

	// minute cache of localTime
	tcOK   bool
	tcKey  int64
	tcBase int64

	names  nameCache // see cache.go
	addrs  addrCache
	types  map[string]string
	rcodes map[uint16]Evidence // see rcodeKind

	pending map[string]*pending
	seq     uint64

	// line is the number of the line being parsed (SetLine); pairs
	// remembers the first lines of events logged in two (pair.go).
	line  int64
	pairs pairs

	scratch []byte
	key     []byte

	ignore []netip.Prefix // Options.IgnoreServers, masked

	// transient: Options.TransientQName; qbuf holds the canonical query
	// names of the current Parse call.
	transient bool
	qbuf      []byte
}

// New returns a Parser for opts. Its caches start small and grow with the
// distinct names and addresses it reads, up to about 4.5 MiB of slots plus
// the strings they hold (see cache.go).
func New(opts Options) *Parser {
	seed := maphash.MakeSeed()
	p := &Parser{
		format:  opts.Format,
		loc:     opts.Location,
		names:   newNameCache(seed),
		addrs:   newAddrCache(seed),
		types:   make(map[string]string),
		rcodes:  make(map[uint16]Evidence),
		pending: make(map[string]*pending),

		transient: opts.TransientQName,
	}
	if p.loc == nil {
		p.loc = time.Local
	}
	for _, pf := range opts.IgnoreServers {
		p.ignore = append(p.ignore, pf.Masked())
	}
	ref := opts.Reference
	if ref.IsZero() {
		ref = time.Now()
	}
	p.SetReference(ref)
	return p
}

// The window of times a line may carry: from 2000-01-01 or maxAge before
// the reference, whichever is later, to maxAhead after it. A time outside
// it (a forged or broken timestamp: year 9999, Unbound's "[0]") is
// replaced by the reference, as if the line carried none, and counted
// (Counts.TimeReplaced): it would otherwise overflow the store's
// nanoseconds or move a finding's first or last sighting by decades.
const (
	minTimeUnix = 946684800 // 2000-01-01T00:00:00Z
	maxAgeYears = 10
	maxAhead    = 24 * time.Hour
)

// SetReference changes the "now" of the input (see Options.Reference); a
// tailer calls it as time passes. A reference before 2000 (a file whose
// modification time was never set) is replaced by the current time.
func (p *Parser) SetReference(t time.Time) {
	if t.Unix() < minTimeUnix {
		t = time.Now()
	}
	p.ref = t.UTC()
	lt := t.In(p.loc)
	p.refYear, p.refMonth = lt.Year(), int(lt.Month())
	p.lo = p.ref.AddDate(-maxAgeYears, 0, 0)
	if p.lo.Unix() < minTimeUnix {
		p.lo = time.Unix(minTimeUnix, 0).UTC()
	}
	p.hi = p.ref.Add(maxAhead)
}

// Counts are what a Parser counted since New besides its results.
type Counts struct {
	// TimeReplaced is the number of lines with observations whose time lay
	// outside the window (see SetReference) and was replaced by the
	// reference.
	TimeReplaced int64
	// IgnoredServer is the number of observations dropped because their
	// server is in Options.IgnoreServers.
	IgnoredServer int64
}

// Counts returns what p counted so far.
func (p *Parser) Counts() Counts { return p.counts }

// Parse reads one line (without its '\n'; a trailing '\r' and leading NUL
// bytes are ignored), appends the observations it carries to out (0..n of
// them) and says what it made of the line. It never panics, whatever the
// bytes.
//
// Lines that cannot be evidence are rejected by a cheap scan before any
// prefix is parsed (see candidate).
func (p *Parser) Parse(line []byte, out []Observation) ([]Observation, Result) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	p.line++
	if len(line) > 0 && line[0] == 0 {
		// A crash leaves NUL padding at a file's end, and the next line
		// written is glued to it.
		line = bytes.TrimLeft(line, "\x00")
	}
	p.qbuf = p.qbuf[:0] // the previous call's query names are spent
	n := len(out)
	var res Result
	replaced := false
	switch {
	case p.format == UnboundInfra:
		if !hasLame(line) {
			return out, Ignored
		}
		out, res = p.parseInfra(line, out)
	case !candidate(line):
		return out, Ignored
	default:
		var e envelope
		p.envelope(line, &e)
		if e.t.Before(p.lo) || e.t.After(p.hi) {
			e.t, replaced = p.ref, true
		}
		out, res = p.parseMessage(line, &e, out)
	}
	if len(p.ignore) > 0 {
		out = p.dropIgnored(out, n)
	}
	if replaced && len(out) > n {
		p.counts.TimeReplaced++
	}
	return out, res
}

// dropIgnored removes the observations out[n:] against an ignored server.
func (p *Parser) dropIgnored(out []Observation, n int) []Observation {
	kept := out[:n]
	for _, o := range out[n:] {
		if p.ignored(o.Server) {
			p.counts.IgnoredServer++
			continue
		}
		kept = append(kept, o)
	}
	return kept
}

// ignored reports whether a is in Options.IgnoreServers.
func (p *Parser) ignored(a netip.Addr) bool {
	a = a.WithZone("")
	for _, pf := range p.ignore {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// parseMessage parses the message of line, whose envelope is e.
func (p *Parser) parseMessage(line []byte, e *envelope, out []Observation) ([]Observation, Result) {
	switch {
	case e.unbound:
		if p.format == BIND {
			return out, heuristic(line)
		}
		return p.parseUnbound(e.msg, e.t, p.key, out)
	case p.format == Unbound:
		return out, heuristic(line)
	case e.bare && looksInfra(line):
		return p.parseInfra(line, out)
	}
	return p.parseBIND(e.msg, e.t, out)
}

// Candidate reports whether Parse, for a Parser of format f, could do
// anything with line: false means Parse would return Ignored without
// looking further or touching its state. It is safe to call from any
// goroutine, so a reader can drop unrelated lines before they reach the
// parser.
func (f Format) Candidate(line []byte) bool {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if f == UnboundInfra {
		return hasLame(line)
	}
	return candidate(line)
}

// candidate is the prefilter: false means the line cannot be evidence. It
// calls bytes.IndexByte (SIMD) on a few bytes and looks at the end of the
// line:
//
//   - `'`: every BIND 9, BIND 8 and BIND 4.9 message with names;
//   - '<' after the first byte: Unbound's "reply from <" and "SERVFAIL <";
//   - 'm' or 'M': "lame" in any letter case (Unbound's LAME verdicts, BIND's
//     "could not mark server as lame", the Unrecognised heuristic) and B4's
//     "DNS format error";
//   - the end of Unbound's "response for Q T IN" and of its verdicts
//     (THROWAWAY, ANSWER, REFERRAL, CNAME), and of a dump_infra line
//     ("… other N").
//
// Only class IN "response for" lines are seen; a lame reply to a query of
// another class gives an observation without qname.
func candidate(line []byte) bool {
	if bytes.IndexByte(line, '\'') >= 0 {
		return true
	}
	if len(line) > 1 && bytes.IndexByte(line[1:], '<') >= 0 {
		return true
	}
	if unboundTail(line) {
		return true
	}
	return hasMWord(line)
}

// SWAR constants: a byte repeated in every lane of a uint64.
const (
	lanes01 = 0x0101010101010101
	lanes20 = 0x2020202020202020
	lanes80 = 0x8080808080808080
)

// hasMWord reports whether line contains "lame" in any letter case or
// "format err". It visits 8 bytes at a time and looks closer only at words
// holding an 'm' or 'M' (folded with 0x20, a zero-byte test finds them).
func hasMWord(line []byte) bool {
	i := 0
	for ; i+8 <= len(line); i += 8 {
		x := (binary.LittleEndian.Uint64(line[i:]) | lanes20) ^ (lanes01 * 'm')
		if (x-lanes01)&^x&lanes80 == 0 {
			continue
		}
		for k := i; k < i+8; k++ {
			if line[k]|0x20 == 'm' && mWordAt(line, k) {
				return true
			}
		}
	}
	for k := i; k < len(line); k++ {
		if line[k]|0x20 == 'm' && mWordAt(line, k) {
			return true
		}
	}
	return false
}

// mWordAt reports whether the 'm' or 'M' at line[k] is that of "lame" (any
// case) or of "format err".
func mWordAt(line []byte, k int) bool {
	if k < 2 || k+1 >= len(line) {
		return false
	}
	if line[k-1]|0x20 == 'a' && line[k-2]|0x20 == 'l' && line[k+1]|0x20 == 'e' {
		return true
	}
	return k >= 3 && k+6 < len(line) && string(line[k-3:k+7]) == "format err"
}

// unboundTail reports whether line ends like an Unbound "response for"
// line, a verdict line without "LAME", or a dump_infra line.
func unboundTail(line []byte) bool {
	n := len(line)
	if n < 4 {
		return false
	}
	switch line[n-1] {
	case 'N':
		return line[n-2] == 'I' && line[n-3] == ' ' || bytes.HasSuffix(line, []byte("CNAME"))
	case 'Y':
		return bytes.HasSuffix(line, []byte("THROWAWAY"))
	case 'R':
		return bytes.HasSuffix(line, []byte("ANSWER"))
	case 'L':
		return bytes.HasSuffix(line, []byte("REFERRAL"))
	}
	i := n
	for i > 0 && isDigit(line[i-1]) {
		i--
	}
	return i < n && bytes.HasSuffix(line[:i], []byte(" other "))
}

// hasLame reports whether b contains "lame" in any letter case.
func hasLame(b []byte) bool {
	return hasLameAt(b, 'm') || hasLameAt(b, 'M')
}

func hasLameAt(b []byte, m byte) bool {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], m)
		if j < 0 {
			return false
		}
		j += i
		if j >= 2 && j+1 < len(b) && b[j-1]|0x20 == 'a' && b[j-2]|0x20 == 'l' && b[j+1]|0x20 == 'e' {
			return true
		}
		i = j + 1
	}
	return false
}

// hasLameWord reports whether b contains "lame" (in any case, its 'm'
// written as m) neither preceded by a letter or digit nor followed by a
// letter: "lame server", "REC_LAME", "lame-servers" but not "halflame".
func hasLameWord(b []byte, m byte) bool {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], m)
		if j < 0 {
			return false
		}
		j += i
		if j >= 2 && j+1 < len(b) && b[j-1]|0x20 == 'a' && b[j-2]|0x20 == 'l' && b[j+1]|0x20 == 'e' &&
			(j < 3 || !isAlnum(b[j-3])) && (j+2 >= len(b) || !isLetter(b[j+2])) {
			return true
		}
		i = j + 1
	}
	return false
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isLetter(c) || isDigit(c) }

// heuristic classifies a line no parser understood: Unrecognised if it
// looks lame-related (the word "lame" in any letter case, not inside a
// longer word such as the zone name "halflame.lab", or BIND's
// "resolving '…': " shape), Ignored otherwise.
func heuristic(line []byte) Result {
	if hasLameWord(line, 'm') || hasLameWord(line, 'M') {
		return Unrecognised
	}
	if i := bytes.Index(line, []byte("resolving '")); i >= 0 && bytes.Index(line[i:], []byte("': ")) >= 0 {
		return Unrecognised
	}
	return Ignored
}

// cut splits b around the first c.
func cut(b []byte, c byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, c); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// qtype interns a type mnemonic ("A", "AAAA", "TYPE65534").
func (p *Parser) qtype(b []byte) (string, bool) {
	if len(b) == 0 || len(b) > 16 {
		return "", false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '-') {
			return "", false
		}
	}
	if s, ok := p.types[string(b)]; ok {
		return s, true
	}
	s := string(bytes.ToUpper(b))
	if len(p.types) >= smallCache {
		clear(p.types)
	}
	p.types[string(b)] = s
	return s, true
}

// isClass reports whether b is a class mnemonic as BIND prints it.
func isClass(b []byte) bool {
	switch string(b) {
	case "IN", "CH", "HS", "CHAOS", "HESIOD", "ANY", "NONE":
		return true
	}
	if len(b) > 5 && string(b[:5]) == "CLASS" {
		for _, c := range b[5:] {
			if !isDigit(c) {
				return false
			}
		}
		return true
	}
	return false
}
