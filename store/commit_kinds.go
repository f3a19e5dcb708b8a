package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
)

// MaxObservedKinds bounds the evidence kinds (Finding.Observed) stored for
// one finding. A real finding has a few; a forged log can name a new rcode
// number on every line, and ingest passes up to 16 kinds of a finding per
// batch, so without a bound the set of one finding would grow, batch after
// batch, to every kind there is. Once a finding holds MaxObservedKinds
// kinds, Commit adds no new one: the events of the kinds left out are
// counted in the finding's Count and in CommitResult.CappedEvents, and make
// no daily rows. Each finding costs at most one more small read per batch
// for this, and only when its set may overflow.
const MaxObservedKinds = 32

// observedSQL reads the evidence set of one finding.
const observedSQL = `SELECT observed FROM findings WHERE id = ?`

// capKinds settles a's evidence set when it may pass MaxObservedKinds: it
// sets a.kept to the set to store when that lacks some of a's kinds. An
// existing finding keeps the kinds it has and takes new ones in sorted
// order while there is room; a new one keeps the first MaxObservedKinds in
// sorted order.
func (f *findingTx) capKinds(a *agg) error {
	items := a.observed.items
	if a.kinds+int64(len(items)) <= MaxObservedKinds {
		return nil
	}
	if a.id == 0 {
		a.kept = items[:MaxObservedKinds]
		return nil
	}
	var have []string
	err := queryRaw(f.conn, observedSQL, func(row []driver.Value) error {
		s, err := asString(row[0])
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(s), &have)
	}, a.id)
	if err != nil {
		return fmt.Errorf("read evidence kinds of finding %d: %w", a.id, err)
	}
	kept := slices.Clone(have)
	left := false
	for _, k := range items {
		if slices.Contains(have, k) {
			continue
		}
		if len(kept) >= MaxObservedKinds {
			left = true
			break
		}
		kept = append(kept, k)
	}
	if left {
		slices.Sort(kept)
		a.kept = kept
	}
	return nil
}

// observedJSON is the evidence set to store for a (see capKinds).
func (a *agg) observedJSON() driver.Value {
	if a.kept != nil {
		return jsonSet(a.kept)
	}
	return a.observed.json
}

// dropCapped removes the daily rows of the kinds capKinds left out and
// returns the others and the events the removed ones counted.
func dropCapped(daily []dailyRow) ([]dailyRow, int64) {
	var capped int64
	out := slices.DeleteFunc(daily, func(r dailyRow) bool {
		if r.agg.kept == nil {
			return false
		}
		if _, ok := slices.BinarySearch(r.agg.kept, r.kind.evidence); ok {
			return false
		}
		capped += r.n
		return true
	})
	return out, capped
}
