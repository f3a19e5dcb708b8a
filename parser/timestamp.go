package parser

import "time"

// Timestamps are parsed by hand: the hot path must not allocate or use
// time.Parse. Times without a zone are read in Options.Location; the result
// is always in UTC.

// monthOf returns 1..12 for an English three-letter month abbreviation
// (C locale, as BIND's strftime and syslog write them), 0 otherwise.
func monthOf(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	switch string(b[:3]) {
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

// digits parses b[i:i+n] as a decimal number.
func digits(b []byte, i, n int) (int, bool) {
	if i < 0 || i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// clock parses "HH:MM:SS" at b[i:] and an optional ".frac" (or ",frac");
// it returns the index after it.
func clock(b []byte, i int) (h, mi, s, ns, end int, ok bool) {
	var ok1, ok2, ok3 bool
	h, ok1 = digits(b, i, 2)
	mi, ok2 = digits(b, i+3, 2)
	s, ok3 = digits(b, i+6, 2)
	if !ok1 || !ok2 || !ok3 || b[i+2] != ':' || b[i+5] != ':' || h > 23 || mi > 59 || s > 60 {
		return 0, 0, 0, 0, 0, false
	}
	end = i + 8
	if end < len(b) && (b[end] == '.' || b[end] == ',') {
		j := end + 1
		scale := 100000000
		for j < len(b) && isDigit(b[j]) {
			if scale > 0 {
				ns += int(b[j]-'0') * scale
				scale /= 10
			}
			j++
		}
		if j == end+1 {
			return 0, 0, 0, 0, 0, false
		}
		end = j
	}
	return h, mi, s, ns, end, true
}

// spaceAfter reports whether b[i] ends a token (a space or the end of b),
// and returns the index of the next token.
func spaceAfter(b []byte, i int) (int, bool) {
	if i == len(b) {
		return i, true
	}
	if i < len(b) && b[i] == ' ' {
		return i + 1, true
	}
	return 0, false
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// validDate rejects dates time.Date would silently normalise.
func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	if d <= 28 {
		return true
	}
	switch m {
	case 2:
		leap := y%4 == 0 && (y%100 != 0 || y%400 == 0)
		return d == 29 && leap
	case 4, 6, 9, 11:
		return d <= 30
	}
	return true
}

// utcTime builds a time from fields given at a fixed UTC offset (seconds
// east of UTC).
func utcTime(y, mo, d, h, mi, s, ns, off int) time.Time {
	sec := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s-off)
	return time.Unix(sec, int64(ns)).UTC()
}

// localTime builds a time from fields read in p.loc. The start of the
// minute is cached: zone transitions fall on whole minutes, so the cache is
// exact.
func (p *Parser) localTime(y, mo, d, h, mi, s, ns int) time.Time {
	if p.loc == time.UTC {
		return utcTime(y, mo, d, h, mi, s, ns, 0)
	}
	key := (((int64(y)*13+int64(mo))*32+int64(d))*24+int64(h))*60 + int64(mi)
	if !p.tcOK || key != p.tcKey {
		p.tcKey, p.tcOK = key, true
		p.tcBase = time.Date(y, time.Month(mo), d, h, mi, 0, 0, p.loc).Unix()
	}
	return time.Unix(p.tcBase+int64(s), int64(ns)).UTC()
}

// bindTime parses BIND's print-time "22-Nov-2026 02:01:50.284 " (local
// time) at the start of b and returns the index after the separating
// space.
func (p *Parser) bindTime(b []byte) (time.Time, int, bool) {
	if len(b) < 20 || b[2] != '-' || b[6] != '-' || b[11] != ' ' {
		return time.Time{}, 0, false
	}
	d, ok1 := digits(b, 0, 2)
	mo := monthOf(b[3:6])
	y, ok2 := digits(b, 7, 4)
	if !ok1 || !ok2 || !validDate(y, mo, d) {
		return time.Time{}, 0, false
	}
	h, mi, s, ns, end, ok := clock(b, 12)
	if !ok {
		return time.Time{}, 0, false
	}
	next, ok := spaceAfter(b, end)
	if !ok {
		return time.Time{}, 0, false
	}
	return p.localTime(y, mo, d, h, mi, s, ns), next, true
}

// isoTime parses an ISO 8601 / RFC 3339 time at the start of b:
// "2026-11-22T02:01:50[.frac][Z|+hh:mm|+hhmm|+hh]" followed by a space or
// the end of b. Without a zone it is local (BIND print-time iso8601).
func (p *Parser) isoTime(b []byte) (time.Time, int, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') {
		return time.Time{}, 0, false
	}
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || !validDate(y, mo, d) {
		return time.Time{}, 0, false
	}
	h, mi, s, ns, i, ok := clock(b, 11)
	if !ok {
		return time.Time{}, 0, false
	}
	if i < len(b) {
		switch c := b[i]; c {
		case 'Z', 'z':
			next, ok := spaceAfter(b, i+1)
			if !ok {
				return time.Time{}, 0, false
			}
			return utcTime(y, mo, d, h, mi, s, ns, 0), next, true
		case '+', '-':
			oh, ok := digits(b, i+1, 2)
			if !ok || oh > 23 {
				return time.Time{}, 0, false
			}
			j, om := i+3, 0
			if j < len(b) && b[j] == ':' {
				j++
			}
			if j < len(b) && isDigit(b[j]) {
				if om, ok = digits(b, j, 2); !ok || om > 59 {
					return time.Time{}, 0, false
				}
				j += 2
			}
			next, ok := spaceAfter(b, j)
			if !ok {
				return time.Time{}, 0, false
			}
			off := oh*3600 + om*60
			if c == '-' {
				off = -off
			}
			return utcTime(y, mo, d, h, mi, s, ns, off), next, true
		}
	}
	next, ok := spaceAfter(b, i)
	if !ok {
		return time.Time{}, 0, false
	}
	return p.localTime(y, mo, d, h, mi, s, ns), next, true
}

// bsdTime parses an RFC 3164 / journalctl short time "Nov 22 02:01:50"
// (day space-padded or not, optional ".frac" for short-precise), local
// time, the year inferred from the reference: the reference's year, or
// the year before if the month is later than the reference's month.
func (p *Parser) bsdTime(b []byte) (time.Time, int, bool) {
	if len(b) < 15 || b[3] != ' ' {
		return time.Time{}, 0, false
	}
	mo := monthOf(b)
	if mo == 0 {
		return time.Time{}, 0, false
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	d := 0
	switch {
	case i+1 < len(b) && isDigit(b[i]) && isDigit(b[i+1]):
		d = int(b[i]-'0')*10 + int(b[i+1]-'0')
		i += 2
	case isDigit(b[i]):
		d = int(b[i] - '0')
		i++
	default:
		return time.Time{}, 0, false
	}
	if i+9 > len(b) || b[i] != ' ' {
		return time.Time{}, 0, false
	}
	h, mi, s, ns, end, ok := clock(b, i+1)
	if !ok {
		return time.Time{}, 0, false
	}
	next, ok := spaceAfter(b, end)
	if !ok {
		return time.Time{}, 0, false
	}
	y := p.refYear
	if mo > p.refMonth {
		y--
	}
	if !validDate(y, mo, d) {
		return time.Time{}, 0, false
	}
	return p.localTime(y, mo, d, h, mi, s, ns), next, true
}

// epochTime parses Unbound's "[1795312911] " (optionally with a fraction)
// at the start of b.
func epochTime(b []byte) (time.Time, int, bool) {
	if len(b) < 3 || b[0] != '[' {
		return time.Time{}, 0, false
	}
	i, sec := 1, int64(0)
	for i < len(b) && isDigit(b[i]) && i < 19 {
		sec = sec*10 + int64(b[i]-'0')
		i++
	}
	if i == 1 {
		return time.Time{}, 0, false
	}
	ns := 0
	if i < len(b) && b[i] == '.' {
		j, scale := i+1, 100000000
		for j < len(b) && isDigit(b[j]) {
			ns += int(b[j]-'0') * scale
			scale /= 10
			j++
		}
		i = j
	}
	if i+1 >= len(b) || b[i] != ']' || b[i+1] != ' ' {
		return time.Time{}, 0, false
	}
	return time.Unix(sec, int64(ns)).UTC(), i + 2, true
}
