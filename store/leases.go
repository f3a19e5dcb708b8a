package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrLeaseHeld is matched (errors.Is) by the error of AcquireLease when
// another holder has the lease; the error is a *LeaseHeldError.
var ErrLeaseHeld = errors.New("store: lease held")

// ErrLeaseLost is matched by the error of RenewLease and ReleaseLease when
// the lease is no longer the caller's: it expired and another process took
// it over.
var ErrLeaseLost = errors.New("store: lease lost")

// Lease is the right to run one kind of run ("notify") alone on a
// database. Its holder is a process: PID on Host, since AcquiredAt; it
// lapses at ExpiresAt unless renewed.
type Lease struct {
	Name       string
	PID        int
	Host       string
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// LeaseHeldError is the error of AcquireLease while another process holds
// the lease.
type LeaseHeldError struct{ Holder Lease }

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("store: lease %s held by process %d on %s since %s, until %s", e.Holder.Name, e.Holder.PID,
		e.Holder.Host, e.Holder.AcquiredAt.Format(time.RFC3339), e.Holder.ExpiresAt.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLeaseHeld) true.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }

// AcquireLease takes the lease name for pid on host from now until now+ttl,
// in one transaction. A lease that another holder has and that has not
// expired gives a *LeaseHeldError; an expired one (its holder died, or
// stopped renewing it) is taken over.
func (db *DB) AcquireLease(ctx context.Context, name string, pid int, host string, now time.Time, ttl time.Duration) (Lease, error) {
	if name == "" || ttl <= 0 || now.IsZero() {
		return Lease{}, fmt.Errorf("store: acquire lease %q: no name, time or duration", name)
	}
	l := Lease{Name: name, PID: pid, Host: host, AcquiredAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC()}
	var heldErr *LeaseHeldError
	err := db.write(ctx, "acquire lease "+name, func(tx *sql.Tx) error {
		held, err := leaseByName(ctx, tx, name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case now.Before(held.ExpiresAt):
			heldErr = &LeaseHeldError{Holder: held}
			return heldErr
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, pid, host, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET pid = excluded.pid, host = excluded.host,
				acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
			name, pid, host, l.AcquiredAt.UnixNano(), l.ExpiresAt.UnixNano())
		return err
	})
	if heldErr != nil {
		return Lease{}, heldErr // one line that names the holder
	}
	if err != nil {
		return Lease{}, err
	}
	return l, nil
}

// RenewLease moves the expiry of the caller's lease l to now+ttl and
// returns it renewed. A lease that another process took over gives
// ErrLeaseLost.
func (db *DB) RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, error) {
	l.ExpiresAt = now.Add(ttl).UTC()
	err := db.write(ctx, "renew lease "+l.Name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE leases SET expires_at = ? WHERE name = ? AND pid = ? AND host = ? AND acquired_at = ?",
			l.ExpiresAt.UnixNano(), l.Name, l.PID, l.Host, l.AcquiredAt.UnixNano())
		return oneRow(res, err, ErrLeaseLost)
	})
	return l, err
}

// ReleaseLease gives the caller's lease l up. A lease that another process
// took over gives ErrLeaseLost and stays that process's.
func (db *DB) ReleaseLease(ctx context.Context, l Lease) error {
	return db.write(ctx, "release lease "+l.Name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM leases WHERE name = ? AND pid = ? AND host = ? AND acquired_at = ?",
			l.Name, l.PID, l.Host, l.AcquiredAt.UnixNano())
		return oneRow(res, err, ErrLeaseLost)
	})
}

// Lease returns the lease name as it is stored, or ErrNotFound when
// nobody holds it.
func (db *DB) Lease(ctx context.Context, name string) (Lease, error) {
	l, err := leaseByName(ctx, db.db, name)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("store: lease %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("store: lease %s %s: %w", name, db.path, err)
	}
	return l, nil
}

func leaseByName(ctx context.Context, q queryRower, name string) (Lease, error) {
	var (
		l            Lease
		acq, expires int64
	)
	err := q.QueryRowContext(ctx, "SELECT name, pid, host, acquired_at, expires_at FROM leases WHERE name = ?", name).
		Scan(&l.Name, &l.PID, &l.Host, &acq, &expires)
	l.AcquiredAt, l.ExpiresAt = fromUnixNano(acq), fromUnixNano(expires)
	return l, err
}

// oneRow turns an UPDATE or DELETE that changed no row into none.
func oneRow(res sql.Result, err, none error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return none
	}
	return nil
}
