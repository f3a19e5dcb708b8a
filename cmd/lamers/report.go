package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// reportCommand is `lamers report`.
type reportCommand struct {
	format, zone, since, status string
}

func (c *reportCommand) doc() commandDoc {
	return commandDoc{
		name:     "report",
		synopsis: "list findings as a table, JSON or CSV",
		help: `--since takes a date (2006-01-02), an RFC 3339 time or a duration back
from now (36h, 14d). The JSON fields are stable: zone, qname, server, port,
server_names, sources, observed, count, first_seen, last_seen, status,
reason, rounds, last_probed, contact (the address notify mails the finding
to, "" if none), contact_source (rname, hostmaster, postmaster, override or
""), last_notified, needs_human (every contact was passed over). The table's
CONTACT column shows "needs human" for those.`,
	}
}

func (c *reportCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "format", "table", "output `format`: table, json, csv")
	fs.StringVar(&c.zone, "zone", "", "only findings for this `zone`")
	fs.StringVar(&c.since, "since", "", "only findings seen since `when` (date, RFC 3339 time or duration like 14d)")
	fs.StringVar(&c.status, "status", "", "only findings with this `status`")
}

func (c *reportCommand) run(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("report: unexpected argument %q", args[0])
	}
	f, err := c.filter(time.Now())
	if err != nil {
		return err
	}
	write, ok := findingWriter(c.format)
	if !ok {
		return usagef("report: --format: %q is not one of table, json, csv", c.format)
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	fs, err := db.Findings(ctx, f)
	if err != nil {
		return err
	}
	return write(a.stdout, fs)
}

// filter is the store filter the flags ask for.
func (c *reportCommand) filter(now time.Time) (store.Filter, error) {
	var f store.Filter
	if c.zone != "" {
		z, err := canonicalZone(c.zone)
		if err != nil {
			return f, usagef("report: --zone: %v", err)
		}
		f.Zone = z
	}
	if c.since != "" {
		t, err := parseSince(c.since, now)
		if err != nil {
			return f, usagef("report: --since: %v", err)
		}
		f.Since = t
	}
	if c.status != "" {
		s, err := store.ParseStatus(c.status)
		if err != nil {
			return f, usagef("report: --status: %q is not one of %s", c.status, statusNames())
		}
		f.Statuses = []store.Status{s}
	}
	return f, nil
}

// findingWriter returns the writer of an output format of report.
func findingWriter(format string) (func(io.Writer, []store.Finding) error, bool) {
	switch format {
	case "table":
		return writeTable, true
	case "json":
		return writeJSON, true
	case "csv":
		return writeCSV, true
	}
	return nil, false
}

// statusNames lists the finding statuses for a usage message.
func statusNames() string {
	var names []string
	for _, s := range store.Statuses() {
		names = append(names, s.String())
	}
	return strings.Join(names, ", ")
}

// jsonFinding is the stable JSON shape of a finding (README.md, "Commands").
type jsonFinding struct {
	Zone        string   `json:"zone"`
	QName       string   `json:"qname"`
	Server      string   `json:"server"`
	Port        uint16   `json:"port"`
	ServerNames []string `json:"server_names"`
	Sources     []string `json:"sources"`
	Observed    []string `json:"observed"`
	Count       int64    `json:"count"`
	FirstSeen   string   `json:"first_seen"`
	LastSeen    string   `json:"last_seen"`
	Status      string   `json:"status"`
	Reason      string   `json:"reason"`
	Rounds      int      `json:"rounds"`
	LastProbed  *string  `json:"last_probed"`
	// Notification (docs/notify.md).
	Contact       string  `json:"contact"`
	ContactSource string  `json:"contact_source"`
	LastNotified  *string `json:"last_notified"`
	NeedsHuman    bool    `json:"needs_human"`
}

func toJSON(f *store.Finding) jsonFinding {
	j := jsonFinding{
		Zone:        f.Zone,
		QName:       f.QName,
		Server:      f.Server.String(),
		Port:        f.Port,
		ServerNames: nonNil(f.ServerNames),
		Sources:     nonNil(f.Sources),
		Observed:    nonNil(f.Observed),
		Count:       f.Count,
		FirstSeen:   rfc3339(f.FirstSeen),
		LastSeen:    rfc3339(f.LastSeen),
		Status:      f.Status.String(),
		Reason:      f.Reason,
		Rounds:      f.Rounds,
		Contact:     f.Contact,
		NeedsHuman:  f.NeedsHuman,
	}
	if f.ContactSource != 0 {
		j.ContactSource = f.ContactSource.String()
	}
	j.LastProbed, j.LastNotified = optionalTime(f.LastProbed), optionalTime(f.LastNotified)
	return j
}

// optionalTime is t in RFC 3339, or nil (JSON null) for the zero time.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeJSON(w io.Writer, fs []store.Finding) error {
	out := make([]jsonFinding, len(fs))
	for i := range fs {
		out[i] = toJSON(&fs[i])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeCSV(w io.Writer, fs []store.Finding) error {
	cw := csv.NewWriter(w)
	header := []string{"zone", "qname", "server", "port", "server_names", "sources", "observed", "count", "first_seen", "last_seen",
		"status", "reason", "rounds", "last_probed", "contact", "contact_source", "last_notified", "needs_human"}
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := range fs {
		j := toJSON(&fs[i])
		rec := []string{j.Zone, j.QName, j.Server, strconv.Itoa(int(j.Port)),
			strings.Join(j.ServerNames, " "), strings.Join(j.Sources, " "), strings.Join(j.Observed, " "),
			strconv.FormatInt(j.Count, 10), j.FirstSeen, j.LastSeen, j.Status, j.Reason, strconv.Itoa(j.Rounds),
			deref(j.LastProbed), j.Contact, j.ContactSource, deref(j.LastNotified), strconv.FormatBool(j.NeedsHuman)}
		for k := range rec {
			rec[k] = csvSafe(rec[k])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses cells that a spreadsheet would run as a formula: log
// data is attacker-influenced.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeTable(w io.Writer, fs []store.Finding) error {
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ZONE\tSERVER\tNS\tSTATUS\tREASON\tROUNDS\tCOUNT\tOBSERVED\tLAST SEEN\tCONTACT")
	for i := range fs {
		f := &fs[i]
		zone := f.Zone
		if zone == "" {
			zone = "? (" + f.QName + ")" // not attributed yet: the logged query name
		}
		server := f.Server.String()
		if f.Port != 53 {
			server = fmt.Sprintf("%s#%d", server, f.Port)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n",
			escapeTerminal(zone), escapeTerminal(server), escapeTerminal(dash(strings.Join(f.ServerNames, ","))),
			f.Status, dash(f.Reason), f.Rounds, f.Count,
			escapeTerminal(strings.Join(f.Observed, ",")), f.LastSeen.UTC().Format("2006-01-02 15:04"), contactCell(f))
	}
	return tw.Flush()
}

// contactCell is the CONTACT column: the address and its source, "needs
// human", or "-".
func contactCell(f *store.Finding) string {
	switch {
	case f.NeedsHuman:
		return "needs human"
	case f.Contact != "":
		return escapeTerminal(f.Contact) + " (" + f.ContactSource.String() + ")"
	}
	return "-"
}
