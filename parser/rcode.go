package parser

import "strconv"

// Response codes are a closed vocabulary: the IANA DNS RCODE registry
// (RFC 6895 §2.3; RFC 8490 for DSOTYPENI) as BIND and Unbound print it, and
// numbers. A forged log can therefore name at most maxRcode+1 distinct
// rcode evidence kinds, never one per line.
//
//	BIND 9 lib/dns/rcode.c    mnemonics, RESERVED11 … RESERVED15, other
//	                          values in decimal (dns_mnemonic_totext)
//	Unbound sldns/wire2str.c  mnemonics (NOTIMPL for NOTIMP), RCODE<n> for
//	                          the others (sldns_wire2str_rcode_print)

// maxRcode is the largest response code: 12 bits, 4 in the header and 8 in
// the EDNS OPT record (RFC 6891 §6.1.3).
const maxRcode = 4095

// rcodeValue returns the value of an rcode as BIND or Unbound print it: a
// registry mnemonic, RESERVED<n> or RCODE<n>, or a decimal number without
// leading zeros, all at most maxRcode.
func rcodeValue(b []byte) (uint16, bool) {
	switch string(b) {
	case "NOERROR":
		return 0, true
	case "FORMERR":
		return 1, true
	case "SERVFAIL":
		return 2, true
	case "NXDOMAIN":
		return 3, true
	case "NOTIMP", "NOTIMPL":
		return 4, true
	case "REFUSED":
		return 5, true
	case "YXDOMAIN":
		return 6, true
	case "YXRRSET":
		return 7, true
	case "NXRRSET":
		return 8, true
	case "NOTAUTH":
		return 9, true
	case "NOTZONE":
		return 10, true
	case "DSOTYPENI":
		return 11, true
	case "BADVERS", "BADSIG":
		return 16, true
	case "BADKEY":
		return 17, true
	case "BADTIME":
		return 18, true
	case "BADMODE":
		return 19, true
	case "BADNAME":
		return 20, true
	case "BADALG":
		return 21, true
	case "BADTRUNC":
		return 22, true
	case "BADCOOKIE":
		return 23, true
	}
	n := b
	if len(n) > 8 && string(n[:8]) == "RESERVED" {
		n = n[8:]
	} else if len(n) > 5 && string(n[:5]) == "RCODE" {
		n = n[5:]
	}
	if len(n) == 0 || len(n) > 4 || n[0] == '0' && len(n) > 1 {
		return 0, false
	}
	v := 0
	for _, c := range n {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > maxRcode {
		return 0, false
	}
	return uint16(v), true
}

// rcodeKind returns the evidence kind of an unexpected rcode value:
// REFUSED → refused, SERVFAIL → servfail, FORMERR → formerr, NOERROR →
// formerr (BIND logs "NOERROR unexpected RCODE" for a reply it could not
// parse), "rcode_" and the lower-case mnemonic for the other registered
// values, "rcode_<n>" for the unassigned ones. The strings of the last are
// built once per Parser (at most maxRcode+1 of them).
func (p *Parser) rcodeKind(v uint16) Evidence {
	switch v {
	case 0, 1:
		return FormErr
	case 2:
		return ServFail
	case 3:
		return "rcode_nxdomain"
	case 4:
		return "rcode_notimp"
	case 5:
		return Refused
	case 6:
		return "rcode_yxdomain"
	case 7:
		return "rcode_yxrrset"
	case 8:
		return "rcode_nxrrset"
	case 9:
		return "rcode_notauth"
	case 10:
		return "rcode_notzone"
	case 11:
		return "rcode_dsotypeni"
	case 16:
		return "rcode_badvers"
	case 17:
		return "rcode_badkey"
	case 18:
		return "rcode_badtime"
	case 19:
		return "rcode_badmode"
	case 20:
		return "rcode_badname"
	case 21:
		return "rcode_badalg"
	case 22:
		return "rcode_badtrunc"
	case 23:
		return "rcode_badcookie"
	}
	if ev, ok := p.rcodes[v]; ok {
		return ev
	}
	ev := Evidence("rcode_" + strconv.Itoa(int(v)))
	p.rcodes[v] = ev
	return ev
}

// rcodeEvidence maps an rcode as printed to its evidence kind; a word that
// is not an rcode (rcodeValue) is not evidence.
func (p *Parser) rcodeEvidence(b []byte) (Evidence, bool) {
	v, ok := rcodeValue(b)
	if !ok {
		return "", false
	}
	return p.rcodeKind(v), true
}
