package digest

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/templates"
)

// Span is the length of the period in words: "14 days", "36 hours",
// "20 minutes", "45 seconds" (rounded down to the unit).
func (r *Report) Span() string {
	d := r.Until.Sub(r.Since)
	for _, u := range []struct {
		d          time.Duration
		one, many  string
		atLeastTwo bool
	}{
		{24 * time.Hour, "day", "days", true}, {time.Hour, "hour", "hours", true},
		{time.Minute, "minute", "minutes", true}, {time.Second, "second", "seconds", false},
	} {
		if n := int64(d / u.d); n >= 2 || !u.atLeastTwo {
			if n == 1 {
				return "1 " + u.one
			}
			return fmt.Sprintf("%d %s", n, u.many)
		}
	}
	return ""
}

// Address is the server's address, with "#PORT" when the port is not 53
// (BIND's way of writing it).
func (f Finding) Address() string {
	if f.Port == 53 {
		return f.Server
	}
	return fmt.Sprintf("%s#%d", f.Server, f.Port)
}

// Subject renders the Subject line: the define "digest subject", its
// white space collapsed.
func (r *Report) Subject(set *templates.Set) (string, error) {
	var b bytes.Buffer
	if err := set.Text(&b, templates.DigestSubject, r); err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// Text renders the plain-text digest.
func (r *Report) Text(set *templates.Set) (string, error) {
	var b bytes.Buffer
	if err := set.Text(&b, templates.DigestText, r); err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	return b.String(), nil
}

// HTML renders the HTML digest.
func (r *Report) HTML(set *templates.Set) (string, error) {
	var b bytes.Buffer
	if err := set.HTML(&b, templates.DigestHTML, r); err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	return b.String(), nil
}

// CheckTemplates renders a sample digest — every list and count filled,
// a port other than 53, a finding without a zone — through set's subject,
// text and HTML templates, so that a template that fails on data fails
// when a command starts, not when the digest is due.
func CheckTemplates(set *templates.Set) error {
	r := sample()
	if _, err := r.Subject(set); err != nil {
		return fmt.Errorf("digest: the templates fail on a sample digest: %w", err)
	}
	if _, err := r.Text(set); err != nil {
		return fmt.Errorf("digest: the templates fail on a sample digest: %w", err)
	}
	if _, err := r.HTML(set); err != nil {
		return fmt.Errorf("digest: the templates fail on a sample digest: %w", err)
	}
	return nil
}

// sample is the digest CheckTemplates renders.
func sample() *Report {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := Finding{Zone: "example.com.", Server: netip.MustParseAddr("192.0.2.1").String(), Port: 53,
		ServerNames: []string{"ns1.example.net."}, Status: "lame", Reason: "refused", ConfirmedAt: t, StatusAt: t, Events: 1}
	other := f
	other.Zone, other.Port, other.ServerNames, other.ConfirmedAt = "", 5353, nil, time.Time{}
	l := List{Findings: []Finding{f, other}, More: 1}
	return &Report{Since: t, Until: t.Add(14 * 24 * time.Hour),
		Totals: Totals{Findings: 1, New: 1, Lame: 1, Unresponsive: 1, Inconclusive: 1, Confirmed: 1, StillLame: 1,
			Fixed: 1, Stale: 1, Notified: 1, Bounced: 1, NeedsHuman: 1, Events: 1},
		Messages: Messages{Sent: 1, Deferred: 1, Rejected: 1, Unknown: 1, Pending: 1, Recipients: 1, Findings: 1},
		Bounces:  []ClassCount{{Class: "hard", N: 1}}, Returned: []ClassCount{{Class: "delay", N: 1}},
		Worst: Servers{Servers: []Server{{Server: f.Server, Zones: 1, Findings: 2, Events: 1, Since: t,
			Names: f.ServerNames, MoreNames: 1}}, More: 1},
		NewLame: l, StillLame: l, Fixed: l, Stale: l, NeedsHuman: l}
}
