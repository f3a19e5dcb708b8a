package notify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/store"
)

// envChild names the database of the child process of
// TestKilledBetweenPendingAndMark: with it set the test binary is that
// child.
const envChild = "LAMERS_NOTIFY_TEST_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(envChild); path != "" {
		os.Exit(childSend(path))
	}
	os.Exit(m.Run())
}

// childSend is the child: a sending run whose transport says which
// message it is handing over and then hangs until it is killed.
func childSend(path string) int {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	tn := fakeNotifier(db)
	hang := make(chan struct{})
	tn.transport.result = func(l *Letter) Delivery {
		fmt.Printf("handing over %s to %s\n", l.Token, l.To)
		<-hang // the parent kills the process here
		return Delivery{Result: ResultSent}
	}
	if _, err := tn.Run(ctx, Options{Send: true}); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return 3 // not killed: the parent fails
}

// A run killed between recording a message pending and marking it: the
// next run finds it pending, makes it unknown and does not send it again;
// the rest goes out.
func TestKilledBetweenPendingAndMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lamers.db")
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	seed(t, db, spec{zone: "a.example.", server: "192.0.2.1", confirmed: 2 * day}, spec{zone: "b.example.", server: "192.0.2.1"})

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envChild+"="+path)
	var stderr strings.Builder
	child.Stderr = &stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("child: %v; stderr %s", err, stderr.String())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = child.Wait()
	ws, ok := child.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v (%v), stderr %s; want killed by SIGKILL", child.ProcessState, err, stderr.String())
	}
	var token, to string
	if _, err := fmt.Sscanf(line, "handing over %s to %s\n", &token, &to); err != nil || to != "hostmaster@a.example" {
		t.Fatalf("child said %q (%v)", line, err)
	}
	if got := outbox(t, db); len(got) != 1 || !strings.HasPrefix(got[0], "hostmaster@a.example pending") {
		t.Fatalf("outbox after the kill: %v, want the message pending", got)
	}

	// The next run, once the dead run's lease has expired.
	tn := fakeNotifier(db)
	tn.Rand = rand.NewChaCha8([32]byte{'n', 'e', 'x', 't'}) // not the child's tokens
	tn.Clock = func() time.Time { return t0.Add(10 * time.Minute) }
	rep := tn.run(t, Options{Send: true})
	if rep.Recovered != 1 || !cmp.Equal(tn.transport.recipients(), []string{"hostmaster@b.example"}) {
		t.Errorf("recovered %d, handed over to %v; want 1 and only b's hostmaster", rep.Recovered, tn.transport.recipients())
	}
	es, err := db.Outbox(ctx, store.OutboxFilter{Token: token})
	if err != nil || len(es) != 1 || es[0].State != store.OutboxUnknown {
		t.Errorf("the killed run's message: %+v, %v; want unknown", es, err)
	}
	// Only a person sends it again.
	tn.transport.sent = nil
	tn.Clock = func() time.Time { return t0.Add(20 * time.Minute) }
	tn.run(t, Options{Send: true})
	if len(tn.transport.sent) != 0 {
		t.Errorf("a later run handed over %v", tn.transport.recipients())
	}
	tn.run(t, Options{Send: true, RetryUnknown: true})
	if len(tn.transport.sent) != 1 || tn.transport.sent[0].Token != token {
		t.Errorf("--retry-unknown handed over %+v, want token %s", tn.transport.sent, token)
	}
}

// One sending run at a time: a second waits for the lease briefly and
// otherwise names its holder; a dry run needs no lease; an expired lease
// is taken over.
func TestLeaseContention(t *testing.T) {
	ctx := context.Background()
	a := newTestNotifier(t, nil)
	seed(t, a.db, spec{zone: "a.example.", server: "192.0.2.1"})
	b := fakeNotifier(a.db)
	b.PID, b.Host = a.PID+1, "resolver2"

	proceed, done := inFlight(ctx, a)
	_, err := b.Run(ctx, Options{Send: true})
	var held *store.LeaseHeldError
	if !errors.Is(err, store.ErrLeaseHeld) || !errors.As(err, &held) || held.Holder.PID != a.PID {
		t.Errorf("second run: %v, want the lease held by %d", err, a.PID)
	}
	if err == nil || !strings.Contains(err.Error(), "another notify run is under way") {
		t.Errorf("second run's error %q does not say why", err)
	}
	if rep, err := b.Run(ctx, Options{}); err != nil || len(rep.Messages) != 0 {
		t.Errorf("dry run meanwhile: %v, %v; want no messages (the one in flight counts)", summary(rep), err)
	}
	// Waiting: the second run finds the lease held, lets the first one
	// finish, and gets the lease once it is released.
	b.Config.LeaseWait = time.Minute
	spy := &leaseSpy{Store: b.Store, onHeld: func() { close(proceed) }}
	b.Store = spy
	if _, err := b.Run(ctx, Options{Send: true}); err != nil {
		t.Errorf("waiting second run: %v", err)
	}
	if spy.held == 0 {
		t.Error("the waiting run never found the lease held")
	}
	b.Store = spy.Store
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(b.transport.sent) != 0 || len(a.transport.sent) != 1 {
		t.Errorf("handed over: a %d, b %d; want 1, 0", len(a.transport.sent), len(b.transport.sent))
	}
	// A lease whose holder died lapses at its expiry.
	if _, err := a.db.AcquireLease(ctx, leaseName, 999999, "gone", t0, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	b.Config.LeaseWait = 0
	if _, err := b.Run(ctx, Options{Send: true}); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("before expiry: %v, want ErrLeaseHeld", err)
	}
	b.Clock = func() time.Time { return t0.Add(5 * time.Minute) }
	if _, err := b.Run(ctx, Options{Send: true}); err != nil {
		t.Errorf("after expiry: %v", err)
	}
}

// inFlight starts a sending run of tn whose first message stays in flight
// until proceed is closed, and returns once it is; done gives Run's error.
func inFlight(ctx context.Context, tn *testNotifier) (proceed chan struct{}, done chan error) {
	handing := make(chan struct{})
	proceed, done = make(chan struct{}), make(chan error)
	tn.transport.result = func(l *Letter) Delivery {
		close(handing)
		<-proceed
		return Delivery{Result: ResultSent, Code: 250}
	}
	go func() {
		_, err := tn.Run(ctx, Options{Send: true})
		done <- err
	}()
	<-handing
	return proceed, done
}

// leaseSpy calls onHeld the first time AcquireLease finds the lease held.
type leaseSpy struct {
	Store
	onHeld func()
	held   int
}

func (s *leaseSpy) AcquireLease(ctx context.Context, name string, pid int, host string, now time.Time, ttl time.Duration) (store.Lease, error) {
	l, err := s.Store.AcquireLease(ctx, name, pid, host, now, ttl)
	if errors.Is(err, store.ErrLeaseHeld) {
		if s.held++; s.held == 1 {
			s.onHeld()
		}
	}
	return l, err
}

// A message retried with --retry-unknown counts for the limits from the
// time it was handed over again, not from its first attempt: unknown at
// t0 about a, retried and sent at t0+8d, another finding (b) for the same
// recipient rests at t0+9d although the first attempt is older than
// recipient_interval; at t0+37d b goes out and a still rests under
// finding_interval, also when the first attempt is older than the
// history the limits read.
func TestRetriedMessageCountsFromRetry(t *testing.T) {
	for _, first := range []time.Duration{0, 40 * day} {
		t.Run(fmt.Sprint("unknown since t0-", first), func(t *testing.T) {
			tn := newTestNotifier(t, nil)
			// a and b name dns@ops.example as their RNAME.
			ids := seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1", confirmed: 50 * day},
				spec{zone: "b.example.", server: "192.0.2.2", confirmed: 49 * day})
			tn.lookup.rnames = map[string]string{"a.example.": "dns.ops.example.", "b.example.": "dns.ops.example."}
			sentBefore(t, tn.db, "dns@ops.example", ids[:1], store.OutboxUnknown, first)

			steps := []struct {
				at      time.Duration
				want    []string
				resting int
			}{
				{8 * day, []string{"dns@ops.example (rname) [a.example.] sent"}, 2}, // a, b: the recipient has had its message
				{9 * day, nil, 2},
				{37 * day, []string{"dns@ops.example (rname) [b.example.] sent"}, 1},
			}
			for _, s := range steps {
				tn.Clock = func() time.Time { return t0.Add(s.at) }
				rep := tn.run(t, Options{Send: true, RetryUnknown: true})
				if got := summary(rep); !cmp.Equal(got, s.want) || rep.Resting != s.resting {
					t.Errorf("at t0+%v: %v, resting %d; want %v, %d", s.at, got, rep.Resting, s.want, s.resting)
				}
			}
		})
	}
}

// renewSpy reports the time of every lease renewal on renewed.
type renewSpy struct {
	Store
	renewed chan time.Time
}

func (s *renewSpy) RenewLease(ctx context.Context, l store.Lease, now time.Time, ttl time.Duration) (store.Lease, error) {
	l, err := s.Store.RenewLease(ctx, l, now, ttl)
	if err == nil {
		select {
		case s.renewed <- now:
		default:
		}
	}
	return l, err
}

// A handover that outlasts the lease (SMTP allows CommandTimeout, 5
// minutes, for each command): the lease is renewed while the message is in
// flight, so that a cron run started meanwhile finds it held instead of
// taking it over and making the message in flight unknown.
func TestLeaseRenewedDuringHandover(t *testing.T) {
	ctx := context.Background()
	a := newTestNotifier(t, nil)
	seed(t, a.db, spec{zone: "a.example.", server: "192.0.2.1"})
	var now atomic.Int64
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	a.Clock, a.Config.LeaseTTL = clock, 200*time.Millisecond // renewed every 50 ms of real time
	spy := &renewSpy{Store: a.Store, renewed: make(chan time.Time, 1)}
	a.Store = spy
	b := fakeNotifier(a.db)
	b.PID, b.Host, b.Clock = a.PID+1, "cron", clock

	proceed, done := inFlight(ctx, a)
	// Ten minutes pass on the clock: the lease taken before the handover
	// has long expired unless it was renewed since.
	later := t0.Add(10 * time.Minute)
	now.Store(later.UnixNano())
	deadline := time.After(10 * time.Second) // bounds a failure only
	for renewed := false; !renewed; {
		select {
		case at := <-spy.renewed:
			renewed = !at.Before(later)
		case <-deadline:
			t.Fatal("the lease was not renewed while the message was in flight")
		}
	}
	if _, err := b.Run(ctx, Options{Send: true}); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("the cron run during the handover: %v, want ErrLeaseHeld", err)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, a.db); len(got) != 1 || !strings.HasPrefix(got[0], "hostmaster@a.example sent") {
		t.Errorf("outbox %v, want the message sent", got)
	}
}
