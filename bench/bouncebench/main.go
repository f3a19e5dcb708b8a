// Command bouncebench measures `lamers bounce` as a whole process: a
// Maildir of generated delivery reports (Postfix's form, as the e2e
// suite's Postfix writes them: hard, soft and delayed, most answering a
// message of the outbox, some not) taken in by `lamers bounce --maildir`
// into a database holding those messages; then the same with one 50 MB
// report among them, and that report alone on standard input (the pipe).
// It prints messages per second and the peak RSS of each run (the
// kernel's ru_maxrss of the child) and MET/MISSED for the targets of
// bench/README.md, section bounce. It checks that every message was
// stored once and moved to cur/, and exits 1 when one was not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lamers-dev/lamers/internal/testio"
	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/store"
)

// Targets (the bounce issue).
const (
	minRate     = 500      // messages per second through --maildir
	maxRSSBytes = 60 << 20 // peak RSS of any run, the 50 MB message included
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bouncebench:", err)
		os.Exit(1)
	}
}

type options struct {
	lamers   string // the binary
	n        int    // reports in the Maildir
	bigMB    int    // size of the big report's returned message; 0: none
	unmatch  float64
	findings int
	keep     bool
	seed     uint64
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bouncebench", flag.ContinueOnError)
	fs.StringVar(&o.lamers, "lamers", "", "the lamers binary (required)")
	fs.IntVar(&o.n, "n", 10000, "delivery reports in the Maildir")
	fs.IntVar(&o.bigMB, "big", 50, "MB of the big report's returned message (0: no big run)")
	fs.Float64Var(&o.unmatch, "unmatched", 0.2, "share of reports whose token is of no message")
	fs.IntVar(&o.findings, "findings", 100, "findings the messages are about")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.lamers == "" {
		return errors.New("-lamers is required (bench/bounce.sh builds it)")
	}
	work, err := os.MkdirTemp("", "bouncebench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stdout, "work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	db := filepath.Join(work, "lamers.db")
	start := time.Now()
	tokens, err := seed(ctx, db, o)
	if err != nil {
		return err
	}
	md := filepath.Join(work, "Maildir")
	src := rand.NewChaCha8([32]byte{byte(o.seed), 2})
	gen := generator{src: src, rng: rand.New(src), tokens: tokens, unmatch: o.unmatch}
	if err := gen.maildir(md, o.n, 0); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "setup: %d findings, %d messages in the outbox, %d reports (%.1f MB) in %s, %.1fs\n",
		o.findings, len(tokens), o.n, float64(gen.bytes)/1e6, md, time.Since(start).Seconds())

	var failed []string
	res, err := measure(ctx, o.lamers, db, nil, "bounce", "--maildir", md)
	if err != nil {
		return err
	}
	rate := float64(o.n) / res.wall.Seconds()
	fmt.Fprintf(stdout, "bounce --maildir, %d reports: %.2fs, %.0f messages/s, peak RSS %.1f MB\n",
		o.n, res.wall.Seconds(), rate, mb(res.rss))
	failed = append(failed, check(md, o.n, res)...)
	fmt.Fprintf(stdout, "  %s %.0f messages/s (target ≥ %d)\n", verdict(rate >= minRate), rate, minRate)
	fmt.Fprintf(stdout, "  %s peak RSS %.1f MB (target ≤ %d MB)\n", verdict(res.rss <= maxRSSBytes), mb(res.rss), maxRSSBytes>>20)

	if o.bigMB > 0 {
		big := filepath.Join(work, "Maildir-big")
		gen.bytes = 0
		if err := gen.maildir(big, 100, o.bigMB); err != nil {
			return err
		}
		res, err := measure(ctx, o.lamers, db, nil, "bounce", "--maildir", big)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "bounce --maildir, 100 reports, one with a %d MB message: %.2fs, peak RSS %.1f MB\n",
			o.bigMB, res.wall.Seconds(), mb(res.rss))
		failed = append(failed, check(big, 100, res)...)
		fmt.Fprintf(stdout, "  %s peak RSS %.1f MB (target ≤ %d MB)\n", verdict(res.rss <= maxRSSBytes), mb(res.rss), maxRSSBytes>>20)

		// The same big report, with another token, on standard input.
		text := gen.report(gen.tokens[0], "hard", o.bigMB)
		env := []string{"ORIGINAL_RECIPIENT=lamers-bounces+" + gen.tokens[1] + "@resolver.example.net"}
		res, err = measureStdin(ctx, o.lamers, db, env, text, "bounce")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "bounce < a %d MB report (the pipe): %.2fs, peak RSS %.1f MB\n", o.bigMB, res.wall.Seconds(), mb(res.rss))
		if !strings.Contains(res.stdout, "hard 5.1.1") {
			failed = append(failed, "the big report on standard input: "+res.stdout)
		}
		fmt.Fprintf(stdout, "  %s peak RSS %.1f MB (target ≤ %d MB)\n", verdict(res.rss <= maxRSSBytes), mb(res.rss), maxRSSBytes>>20)
	}
	if len(failed) > 0 {
		return fmt.Errorf("wrong results:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "MET   "
	}
	return "MISSED"
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// result is one run of lamers.
type result struct {
	wall   time.Duration
	rss    int64 // bytes
	stdout string
}

// measure runs lamers --db db args… with env added and returns its wall
// time, peak RSS and output; a non-zero exit is an error.
func measure(ctx context.Context, bin, db string, env []string, args ...string) (result, error) {
	return measureStdin(ctx, bin, db, env, nil, args...)
}

func measureStdin(ctx context.Context, bin, db string, env []string, stdin io.Reader, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := result{wall: wall, stdout: out.String()}
	if ru != nil {
		r.rss = ru.Maxrss << 10 // kilobytes on Linux
	}
	return r, nil
}

// check says what is wrong with a --maildir run over n reports: all must
// be in cur/ and the summary must count n.
func check(md string, n int, res result) []string {
	var bad []string
	left, _ := os.ReadDir(filepath.Join(md, "new"))
	cur, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(left) != 0 || len(cur) != n {
		bad = append(bad, fmt.Sprintf("%s: %d left in new/, %d in cur/, want 0 and %d", md, len(left), len(cur), n))
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	var stored, unmatched, before int
	if _, err := fmt.Sscanf(lines[len(lines)-1], "stored: %d (unmatched: %d), stored before: %d", &stored, &unmatched, &before); err != nil ||
		stored != n {
		bad = append(bad, fmt.Sprintf("%s: summary %q, want %d stored", md, lines[len(lines)-1], n))
	}
	return bad
}

// seed stores o.findings lame findings and one sent message per token
// that reports are to answer, and returns those tokens.
func seed(ctx context.Context, path string, o options) ([]string, error) {
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close(ctx)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var counts []store.Count
	for i := range o.findings {
		zone := fmt.Sprintf("z%d.example.", i)
		// lame-servers: info: lame server resolving 'www.zN.example' (in 'zN.example'?): 192.0.2.N#53
		counts = append(counts, store.Count{Zone: zone, QName: "www." + zone, Server: netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 250)}),
			Port: 53, Source: "bind", Evidence: "lame_referral", Day: store.DayOf(day), N: 1, First: day, Last: day})
	}
	if _, err := db.Commit(ctx, store.Batch{Base: store.Checkpoint{Fingerprint: []byte("bouncebench")},
		Next: store.Checkpoint{Offset: 1, Lines: int64(o.findings), Path: "named.log"}, Counts: counts}); err != nil {
		return nil, err
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	rng := rand.NewChaCha8([32]byte{byte(o.seed)})
	matched := int(float64(o.n) * (1 - o.unmatch))
	tokens := make([]string, 0, matched+2)
	for i := range matched + 2 {
		token, err := bounce.NewToken(rng)
		if err != nil {
			return nil, err
		}
		e := store.OutboxEntry{Token: token, Recipient: fmt.Sprintf("hostmaster@z%d.example", i%len(fs)), Source: store.SourceHostmaster,
			Subject: "Lame delegation", MessageID: "<lamers." + token + "@resolver.example.net>", State: store.OutboxPending,
			Transport: "smtp", CreatedAt: day.Add(time.Duration(i) * time.Second), FindingIDs: []int64{fs[i%len(fs)].ID}}
		if _, err := db.AddOutbox(ctx, e); err != nil {
			return nil, err
		}
		if err := db.FinishOutbox(ctx, token, store.OutboxOutcome{State: store.OutboxSent, Code: 250}, e.CreatedAt); err != nil {
			return nil, err
		}
		tokens = append(tokens, token)
	}
	return tokens, nil
}

// generator writes delivery reports.
type generator struct {
	src     *rand.ChaCha8 // for tokens
	rng     *rand.Rand    // the same, for numbers
	tokens  []string
	unmatch float64
	bytes   int64
	serial  int
}

// maildir makes a Maildir of n reports; with bigMB > 0 the one in the
// middle returns a message of that many MB.
func (g *generator) maildir(dir string, n, bigMB int) error {
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for i := range n {
		token := g.tokens[g.rng.IntN(len(g.tokens))]
		if g.rng.Float64() < g.unmatch {
			t, err := bounce.NewToken(g.src)
			if err != nil {
				return err
			}
			token = t
		}
		kind := []string{"hard", "hard", "hard", "hard", "hard", "hard", "hard", "soft", "soft", "delay"}[g.rng.IntN(10)]
		size := 0
		if bigMB > 0 && i == n/2 {
			size = bigMB
		}
		name := filepath.Join(dir, "new", fmt.Sprintf("1764878950.V801I%xM%d.mx.example.net", i, g.serial))
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		w, err := io.Copy(f, g.report(token, kind, size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		g.bytes += w
	}
	return nil
}

// report is a Postfix delivery report answering the message of token:
// kind hard (550 5.1.1), soft (failed with 4.4.1 after the queue lifetime)
// or delay (delayed, 4.4.1); with bigMB > 0 the whole returned message,
// bigMB MB of body, follows its header.
func (g *generator) report(token, kind string, bigMB int) io.Reader {
	g.serial++
	rcpt := fmt.Sprintf("dns%d@z%d.example", g.serial, g.serial%997)
	qid := fmt.Sprintf("%010X", g.serial)
	action, status, diag := "failed", "5.1.1", "smtp; 550 5.1.1 <"+rcpt+">: Recipient address rejected: User unknown in virtual mailbox table"
	text := "<" + rcpt + ">: host mx.example.org[192.0.2.25] said: 550 5.1.1 <" + rcpt +
		">: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"
	subject := "Undelivered Mail Returned to Sender"
	switch kind {
	case "soft":
		status, diag = "4.4.1", "X-Postfix; connect to mx.example.org[192.0.2.25]:25: Connection timed out"
		text = "<" + rcpt + ">: connect to mx.example.org[192.0.2.25]:25: Connection timed out"
	case "delay":
		action, status, subject = "delayed", "4.4.1", "Delayed Mail (still being retried)"
		diag = "X-Postfix; connect to mx.example.org[192.0.2.25]:25: Connection timed out"
		text = "<" + rcpt + ">: connect to mx.example.org[192.0.2.25]:25: Connection timed out"
	}
	verp := "lamers-bounces+" + token + "@resolver.example.net"
	date := time.Date(2026, 12, 4, 20, 9, 10, 0, time.UTC).Add(time.Duration(g.serial) * time.Second).Format(time.RFC1123Z)
	boundary := qid + ".1796414950/mx.example.net"
	head := fmt.Sprintf(`Return-Path: <>
X-Original-To: %[1]s
Delivered-To: %[1]s
Received: by mx.example.net (Postfix)
	id %[2]s; %[3]s
Date: %[3]s
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
Subject: %[4]s
To: %[1]s
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="%[5]s"
Content-Transfer-Encoding: 8bit
Message-Id: <20261204200910.%[2]s@mx.example.net>

This is a MIME-encapsulated message.

--%[5]s
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

%[6]s

--%[5]s
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: %[2]s
X-Postfix-Sender: rfc822; %[1]s
Arrival-Date: %[3]s

Final-Recipient: rfc822; %[7]s
Original-Recipient: rfc822;%[7]s
Action: %[8]s
Status: %[9]s
Remote-MTA: dns; mx.example.org
Diagnostic-Code: %[10]s

--%[5]s
`, verp, qid, date, subject, boundary, text, rcpt, action, status, diag)
	returned := fmt.Sprintf(`Return-Path: <%[1]s>
Received: from resolver.example.net (resolver.example.net [192.0.2.10])
	by mx.example.net (Postfix) with ESMTP id %[2]s
	for <%[3]s>; %[4]s
From: DNS health <dns-health@resolver.example.net>
To: <%[3]s>
Subject: Lame delegation of z%[5]d.example.
Date: %[4]s
Message-ID: <lamers.%[6]s@resolver.example.net>
Auto-Submitted: auto-generated
Precedence: bulk
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
`, verp, qid, rcpt, date, g.serial%997, token)
	if bigMB == 0 {
		return strings.NewReader(head + "Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n" +
			returned + "\n--" + boundary + "--\n")
	}
	body := testio.Repeat("The server 192.0.2.53 answers for z1.example. without authority: dig +norec @192.0.2.53 z1.example. SOA\n",
		int64(bigMB)<<20)
	return io.MultiReader(strings.NewReader(head+"Content-Description: Undelivered Message\nContent-Type: message/rfc822\n\n"+returned+"\n"),
		body, strings.NewReader("\n--"+boundary+"--\n"))
}
