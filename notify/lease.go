package notify

import (
	"context"
	"errors"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// leasePoll is how often a run waiting for another run's lease asks again.
const leasePoll = 250 * time.Millisecond

// leaseKeeper holds a sending run's lease: notify runs one at a time per
// database (docs/notify.md, section 5).
type leaseKeeper struct {
	n       *Notifier
	lease   store.Lease
	renewed time.Time
}

// acquire takes the lease, waiting up to Config.LeaseWait for a run that
// holds it; the error then names the holder.
func (n *Notifier) acquire(ctx context.Context) (*leaseKeeper, error) {
	start := time.Now()
	for {
		now := n.Clock()
		l, err := n.Store.AcquireLease(ctx, leaseName, n.PID, n.Host, now, n.Config.LeaseTTL)
		if err == nil {
			return &leaseKeeper{n: n, lease: l, renewed: now}, nil
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			return nil, errorf("%w", err)
		}
		if time.Since(start) >= n.Config.LeaseWait {
			return nil, errorf("another notify run is under way: %w", err)
		}
		t := time.NewTimer(leasePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errorf("waiting for the lease: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// renew extends the lease when a quarter of its time has passed since it
// was last extended. A lease lost to another run ends this one.
func (lk *leaseKeeper) renew(ctx context.Context) error {
	if lk.n.Clock().Sub(lk.renewed) < lk.n.Config.LeaseTTL/4 {
		return nil
	}
	return lk.extend(ctx)
}

// extend extends the lease by LeaseTTL from now.
func (lk *leaseKeeper) extend(ctx context.Context) error {
	now := lk.n.Clock()
	l, err := lk.n.Store.RenewLease(ctx, lk.lease, now, lk.n.Config.LeaseTTL)
	if err != nil {
		return errorf("%w", err)
	}
	lk.lease, lk.renewed = l, now
	return nil
}

// keep extends the lease every quarter of LeaseTTL until the returned stop
// is called: one handover may outlast the lease (SMTP gives each command
// its CommandTimeout), and another run must not take the lease over and
// make the message in flight unknown. Renewals go on when ctx is
// cancelled, as the message in flight does. stop waits for the renewals to
// end and returns the error of one that failed (the lease was lost); the
// caller must not touch lk in between.
func (lk *leaseKeeper) keep(ctx context.Context) (stop func() error) {
	every := lk.n.Config.LeaseTTL / 4
	if every <= 0 {
		return func() error { return nil }
	}
	ctx = context.WithoutCancel(ctx)
	done, errc := make(chan struct{}), make(chan error, 1)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				errc <- nil
				return
			case <-t.C:
				if err := lk.extend(ctx); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	return func() error {
		close(done)
		return <-errc
	}
}

// release gives the lease up.
func (lk *leaseKeeper) release(ctx context.Context) {
	if err := lk.n.Store.ReleaseLease(ctx, lk.lease); err != nil {
		lk.n.Log.Warn("releasing the notify lease", logKeyErr, err)
	}
}
