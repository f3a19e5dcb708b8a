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
	now := lk.n.Clock()
	if now.Sub(lk.renewed) < lk.n.Config.LeaseTTL/4 {
		return nil
	}
	l, err := lk.n.Store.RenewLease(ctx, lk.lease, now, lk.n.Config.LeaseTTL)
	if err != nil {
		return errorf("%w", err)
	}
	lk.lease, lk.renewed = l, now
	return nil
}

// release gives the lease up.
func (lk *leaseKeeper) release(ctx context.Context) {
	if err := lk.n.Store.ReleaseLease(ctx, lk.lease); err != nil {
		lk.n.Log.Warn("releasing the notify lease", logKeyErr, err)
	}
}
