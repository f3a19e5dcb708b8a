package digest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// The JSON of `lamers digest --format json` (docs/digest.md): one object.
// since, until, totals (findings, new, lame, unresponsive, fixed, stale,
// inconclusive, notified, bounced, needs_human) and worst_servers
// ({server, zones, count}, most zones first) are a contract; the other
// fields may grow.

type jsonReport struct {
	Since        time.Time        `json:"since"`
	Until        time.Time        `json:"until"`
	Totals       jsonTotals       `json:"totals"`
	WorstServers []jsonServer     `json:"worst_servers"`
	MoreServers  int64            `json:"worst_servers_more"`
	Messages     jsonMessages     `json:"messages"`
	Bounces      map[string]int64 `json:"bounces"`
	NewLame      jsonList         `json:"new_lame"`
	StillLame    jsonList         `json:"still_lame"`
	Fixed        jsonList         `json:"fixed"`
	Stale        jsonList         `json:"stale"`
	NeedsHuman   jsonList         `json:"needs_human"`
}

type jsonTotals struct {
	Findings     int64 `json:"findings"`
	New          int64 `json:"new"`
	Lame         int64 `json:"lame"`
	Unresponsive int64 `json:"unresponsive"`
	Fixed        int64 `json:"fixed"`
	Stale        int64 `json:"stale"`
	Inconclusive int64 `json:"inconclusive"`
	Notified     int64 `json:"notified"`
	Bounced      int64 `json:"bounced"`
	NeedsHuman   int64 `json:"needs_human"`
	Confirmed    int64 `json:"confirmed"`
	StillLame    int64 `json:"still_lame"`
	Events       int64 `json:"events"`
}

type jsonServer struct {
	Server    string    `json:"server"`
	Zones     int64     `json:"zones"`
	Count     int64     `json:"count"`
	Findings  int64     `json:"findings"`
	Since     time.Time `json:"since"`
	Names     []string  `json:"server_names"`
	MoreNames int       `json:"server_names_more"`
}

type jsonMessages struct {
	Sent       int64 `json:"sent"`
	Deferred   int64 `json:"deferred"`
	Rejected   int64 `json:"rejected"`
	Unknown    int64 `json:"unknown"`
	Pending    int64 `json:"pending"`
	Recipients int64 `json:"recipients"`
	Findings   int64 `json:"findings"`
}

type jsonList struct {
	Findings []jsonFinding `json:"findings"`
	More     int64         `json:"more"`
}

type jsonFinding struct {
	Zone        string     `json:"zone"`
	Server      string     `json:"server"`
	Port        uint16     `json:"port"`
	ServerNames []string   `json:"server_names"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	Count       int64      `json:"count"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	StatusAt    *time.Time `json:"status_at"`
}

// WriteJSON writes r as one indented JSON object and a line break.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{Since: r.Since, Until: r.Until, MoreServers: r.Worst.More, Bounces: map[string]int64{},
		WorstServers: []jsonServer{},
		Totals: jsonTotals{Findings: r.Totals.Findings, New: r.Totals.New, Lame: r.Totals.Lame,
			Unresponsive: r.Totals.Unresponsive, Fixed: r.Totals.Fixed, Stale: r.Totals.Stale,
			Inconclusive: r.Totals.Inconclusive, Notified: r.Totals.Notified, Bounced: r.Totals.Bounced,
			NeedsHuman: r.Totals.NeedsHuman, Confirmed: r.Totals.Confirmed, StillLame: r.Totals.StillLame,
			Events: r.Totals.Events},
		Messages: jsonMessages(r.Messages),
		NewLame:  list(r.NewLame), StillLame: list(r.StillLame), Fixed: list(r.Fixed), Stale: list(r.Stale),
		NeedsHuman: list(r.NeedsHuman)}
	for _, s := range r.Worst.Servers {
		out.WorstServers = append(out.WorstServers, jsonServer{Server: s.Server, Zones: s.Zones, Count: s.Events,
			Findings: s.Findings, Since: s.Since, Names: nonNil(s.Names), MoreNames: s.MoreNames})
	}
	for _, b := range append(slices.Clone(r.Bounces), r.Returned...) {
		out.Bounces[b.Class] = b.N
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("digest: write JSON: %w", err)
	}
	return nil
}

// list is l as JSON.
func list(l List) jsonList {
	out := jsonList{Findings: make([]jsonFinding, len(l.Findings)), More: l.More}
	for i, f := range l.Findings {
		out.Findings[i] = jsonFinding{Zone: f.Zone, Server: f.Server, Port: f.Port, ServerNames: nonNil(f.ServerNames),
			Status: f.Status, Reason: f.Reason, Count: f.Events, ConfirmedAt: timeOrNull(f.ConfirmedAt),
			StatusAt: timeOrNull(f.StatusAt)}
	}
	return out
}

// nonNil is s, or an empty list for nil: JSON arrays are never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// timeOrNull is &t, or nil (null) for the zero time.
func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
