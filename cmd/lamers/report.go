package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
CONTACT column shows "needs human" for those. "overflow": true marks the
finding that takes a server's zone-less evidence past 256 groups (its query
names are unrelated). The database is opened read-only and never created.`,
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
	write, ok := findingWriterFor(c.format)
	if !ok {
		return usagef("report: --format: %q is not one of table, json, csv", c.format)
	}
	db, err := a.openStoreReadOnly(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	return write(ctx, a.stdout, pipelined{db}, f)
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

// findingSource is what report reads findings from (a *store.DB): one at a
// time, in the report order, the callback's error stopping the scan.
type findingSource interface {
	ScanFindings(ctx context.Context, f store.Filter, fn func(*store.Finding) error) error
}

var _ findingSource = (*store.DB)(nil)

// findingWriter is one output format of report: it streams the findings
// of src that f selects to w.
type findingWriter func(ctx context.Context, w io.Writer, src findingSource, f store.Filter) error

// findingWriterFor returns the writer of an output format of report.
func findingWriterFor(format string) (findingWriter, bool) {
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
	// Overflow marks the finding of a server's zone-less evidence past
	// store.MaxZonelessPerServer groups: unrelated query names, QName one
	// of them. Only present when true.
	Overflow bool `json:"overflow,omitempty"`
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
		Overflow:    f.Zone == "" && f.Bucket == store.OverflowBucket,
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

// writeJSON writes one JSON array, an element at a time, as
// json.Encoder with SetIndent("", "  ") would write the whole array.
func writeJSON(ctx context.Context, w io.Writer, src findingSource, f store.Filter) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	sep := "[\n  "
	var b []byte
	err := src.ScanFindings(ctx, f, func(fd *store.Finding) error {
		j := toJSON(fd)
		b = j.appendJSON(append(b[:0], sep...))
		sep = ",\n  "
		_, err := bw.Write(b) // bw's error, once set, stays: a closed pipe stops the scan
		return err
	})
	if err != nil {
		return err
	}
	if sep == "[\n  " {
		bw.WriteString("[]\n")
	} else {
		bw.WriteString("\n]\n")
	}
	return bw.Flush()
}

// writeCSV writes a header and one record per finding.
func writeCSV(ctx context.Context, w io.Writer, src findingSource, f store.Filter) error {
	cw := csv.NewWriter(w) // buffered
	header := []string{"zone", "qname", "server", "port", "server_names", "sources", "observed", "count", "first_seen", "last_seen",
		"status", "reason", "rounds", "last_probed", "contact", "contact_source", "last_notified", "needs_human", "overflow"}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	err := src.ScanFindings(ctx, f, func(fd *store.Finding) error {
		j := toJSON(fd)
		rec = append(rec[:0], j.Zone, j.QName, j.Server, strconv.Itoa(int(j.Port)),
			strings.Join(j.ServerNames, " "), strings.Join(j.Sources, " "), strings.Join(j.Observed, " "),
			strconv.FormatInt(j.Count, 10), j.FirstSeen, j.LastSeen, j.Status, j.Reason, strconv.Itoa(j.Rounds),
			deref(j.LastProbed), j.Contact, j.ContactSource, deref(j.LastNotified), strconv.FormatBool(j.NeedsHuman), strconv.FormatBool(j.Overflow))
		for k := range rec {
			rec[k] = csvSafe(rec[k])
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
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

// tableHeader is the table's first row.
var tableHeader = [...]string{"ZONE", "SERVER", "NS", "STATUS", "REASON", "ROUNDS", "COUNT", "OBSERVED", "LAST SEEN", "CONTACT"}

// tableRow is one row of the table.
type tableRow [len(tableHeader)]string

// tableCells fills r with the cells of fd, escaped for a terminal.
func tableCells(fd *store.Finding, r *tableRow) {
	zone := fd.Zone
	switch {
	case fd.Zone == "" && fd.Bucket == store.OverflowBucket:
		// many unrelated query names: the sample is one of them
		zone = "? (overflow: " + fd.QName + ", …)"
	case fd.Zone == "":
		zone = "? (" + fd.QName + ")" // not attributed yet: the logged query name
	}
	server := fd.Server.String()
	if fd.Port != 53 {
		server = fmt.Sprintf("%s#%d", server, fd.Port)
	}
	*r = tableRow{escapeTerminal(zone), escapeTerminal(server), escapeTerminal(dash(strings.Join(fd.ServerNames, ","))),
		fd.Status.String(), escapeTerminal(dash(fd.Reason)), strconv.Itoa(fd.Rounds), strconv.FormatInt(fd.Count, 10),
		escapeTerminal(strings.Join(fd.Observed, ",")), fd.LastSeen.UTC().Format("2006-01-02 15:04"), contactCell(fd)}
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

// tablePadding separates the table's columns.
const tablePadding = 2

// writeTable writes the findings as a table whose columns are as wide as
// their widest cell, as text/tabwriter would align them, in two passes
// over the findings: the first measures the cells, the second writes them.
// A cell that grew in between (a concurrent scan) keeps the padding.
func writeTable(ctx context.Context, w io.Writer, src findingSource, f store.Filter) error {
	var widths [len(tableHeader)]int
	for i, h := range tableHeader {
		widths[i] = utf8.RuneCountInString(h)
	}
	var r tableRow
	rows := 0
	err := src.ScanFindings(ctx, f, func(fd *store.Finding) error {
		tableCells(fd, &r)
		for i, c := range r[:len(r)-1] {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
		rows++
		return nil
	})
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if rows == 0 {
		bw.WriteString("no findings\n")
		return bw.Flush()
	}
	// writeRow returns bw's error, which stays once set: a closed pipe
	// stops the scan.
	writeRow := func(r *tableRow) error {
		for i, c := range r[:len(r)-1] {
			bw.WriteString(c)
			bw.WriteString(strings.Repeat(" ", max(widths[i]-utf8.RuneCountInString(c), 0)+tablePadding))
		}
		bw.WriteString(r[len(r)-1])
		return bw.WriteByte('\n')
	}
	head := tableRow(tableHeader)
	writeRow(&head)
	err = src.ScanFindings(ctx, f, func(fd *store.Finding) error {
		tableCells(fd, &r)
		return writeRow(&r)
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// pipelined is a findingSource that hands src's findings to the writer on
// another goroutine, a batch at a time: SQLite steps through the rows
// (half of a report's time, in cgo) while the findings before are
// formatted, on two cores nearly halving the time of a large report.
// Memory stays bounded: at most pipeBatches batches of pipeBatch findings
// wait.
type pipelined struct{ src findingSource }

const (
	pipeBatch   = 256
	pipeBatches = 2
)

var _ findingSource = pipelined{}

func (p pipelined) ScanFindings(ctx context.Context, f store.Filter, fn func(*store.Finding) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []store.Finding, pipeBatches)
	free := make(chan []store.Finding, pipeBatches+2)
	done := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			for i := range b {
				if err == nil {
					err = fn(&b[i])
				}
			}
			if err != nil {
				cancel() // stop reading: the rest is void
			}
			free <- b[:0]
		}
		done <- err
	}()
	batch := make([]store.Finding, 0, pipeBatch)
	send := func() bool {
		select {
		case batches <- batch:
		case <-ctx.Done():
			return false
		}
		select {
		case batch = <-free:
		default:
			batch = make([]store.Finding, 0, pipeBatch)
		}
		return true
	}
	err := p.src.ScanFindings(ctx, f, func(fd *store.Finding) error {
		batch = append(batch, *fd)
		if len(batch) == pipeBatch && !send() {
			return context.Cause(ctx)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		send()
	}
	close(batches)
	if werr := <-done; werr != nil {
		return werr // the writer's error explains a read stopped by it
	}
	return err
}
