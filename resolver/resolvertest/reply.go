package resolvertest

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Reply is a canned reply whose records are written as zone-file text, one
// record a line. As a dns.Handler it answers every query with itself, the
// way a broken server answers whatever it is asked.
type Reply struct {
	Rcode             int
	AA, RA, TC        bool
	Answer, Ns, Extra string
}

var _ dns.Handler = Reply{}

// Msg returns r as the reply to req: req's ID and question, and an OPT
// record when req had one, unless the rcode is FORMERR (RFC 6891 §7: a
// server that does not understand EDNS answers without it). A record that
// does not parse panics: replies are written by tests.
func (r Reply) Msg(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, r.Rcode)
	m.Authoritative, m.RecursionAvailable, m.Truncated = r.AA, r.RA, r.TC
	m.Answer, m.Ns, m.Extra = MustRRs(r.Answer), MustRRs(r.Ns), MustRRs(r.Extra)
	if opt := req.IsEdns0(); opt != nil && r.Rcode != dns.RcodeFormatError {
		m.SetEdns0(opt.UDPSize(), false)
	}
	return m
}

// ServeDNS answers req with r.
func (r Reply) ServeDNS(w dns.ResponseWriter, req *dns.Msg) { w.WriteMsg(r.Msg(req)) }

// MustRRs parses zone-file text, one record a line (blank lines and
// comment lines are skipped), and panics on a record that does not parse.
func MustRRs(text string) []dns.RR {
	rrs, err := parseRRs(text)
	if err != nil {
		panic(err)
	}
	return rrs
}

// parseRRs parses zone-file text, one record a line.
func parseRRs(text string) ([]dns.RR, error) {
	var out []dns.RR
	for line := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			return nil, fmt.Errorf("resolvertest: record %q: %w", line, err)
		}
		if rr != nil { // a comment line
			out = append(out, rr)
		}
	}
	return out, nil
}
