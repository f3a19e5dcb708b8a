package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Suppression is an address, a domain or a zone lamers never mails again
// (docs/notify.md, section 2). Value is normalised by the caller (package
// notify parses what a person types): an address "local@domain", a domain
// "@domain", a zone "zone." (absolute), domains lowercase.
type Suppression struct {
	Value     string
	Kind      SuppressionKind
	Reason    string
	Source    SuppressionSource
	CreatedAt time.Time
}

func (s *Suppression) validate() error {
	at := strings.LastIndexByte(s.Value, '@')
	switch {
	case !valid(suppressionKindNames[:], s.Kind):
		return fmt.Errorf("unknown suppression kind %v", s.Kind)
	case !valid(suppressionSourceNames[:], s.Source):
		return fmt.Errorf("unknown suppression source %v", s.Source)
	case s.CreatedAt.IsZero():
		return errors.New("no time")
	case s.Kind == SuppressAddress && (at <= 0 || at == len(s.Value)-1):
		return fmt.Errorf("%q is not an address", s.Value)
	case s.Kind == SuppressDomain && (at != 0 || len(s.Value) < 2):
		return fmt.Errorf("%q is not @domain", s.Value)
	case s.Kind == SuppressZone && (at >= 0 || !strings.HasSuffix(s.Value, ".")):
		return fmt.Errorf("%q is not an absolute zone name", s.Value)
	}
	s.CreatedAt = s.CreatedAt.UTC()
	return nil
}

// AddSuppression stores s and reports whether it is new; a value suppressed
// already keeps its first reason, source and time. Bounce handling adds
// the complaints and unsubscriptions through it.
func (db *DB) AddSuppression(ctx context.Context, s Suppression) (bool, error) {
	if err := s.validate(); err != nil {
		return false, fmt.Errorf("store: suppress %q: %w", s.Value, err)
	}
	added := false
	err := db.write(ctx, "suppress "+s.Value, func(tx *sql.Tx) (err error) {
		added, err = insertSuppression(ctx, tx, s)
		return err
	})
	return added, err
}

// insertSuppression adds the validated s unless its value is suppressed
// already, and reports whether it did.
func insertSuppression(ctx context.Context, tx *sql.Tx, s Suppression) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO suppressions (value, kind, reason, source, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (value) DO NOTHING`,
		s.Value, s.Kind.String(), s.Reason, s.Source.String(), s.CreatedAt.UnixNano())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RemoveSuppression deletes the suppression of value and reports whether
// there was one.
func (db *DB) RemoveSuppression(ctx context.Context, value string) (bool, error) {
	var n int64
	err := db.write(ctx, "unsuppress "+value, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM suppressions WHERE value = ?", value)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// Suppressions returns every suppression, by value.
func (db *DB) Suppressions(ctx context.Context) ([]Suppression, error) {
	return queryAll(ctx, db, "suppressions", func(r rowScanner) (Suppression, error) {
		var (
			s            Suppression
			kind, source string
			at           int64
		)
		if err := r.Scan(&s.Value, &kind, &s.Reason, &source, &at); err != nil {
			return Suppression{}, err
		}
		var err error
		if s.Kind, err = ParseSuppressionKind(kind); err != nil {
			return Suppression{}, fmt.Errorf("suppression %q: %w", s.Value, err)
		}
		if s.Source, err = ParseSuppressionSource(source); err != nil {
			return Suppression{}, fmt.Errorf("suppression %q: %w", s.Value, err)
		}
		s.CreatedAt = fromUnixNano(at)
		return s, nil
	}, "SELECT value, kind, reason, source, created_at FROM suppressions ORDER BY value")
}
