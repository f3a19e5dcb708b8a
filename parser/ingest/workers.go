package ingest

import (
	"sync"
	"sync/atomic"

	"github.com/lamers-dev/lamers/parser"
)

// workers parse a scan's chunks on several goroutines, each with its own
// Parser and aggregate. Chunks that may touch the parser's multi-line state
// (Unbound's groups) all go to worker 0, in order; the others go to
// whichever worker is free. Observations are numbered by their line's
// position in the content, so the merged aggregate is the same as one
// worker's would be.
type workers struct {
	ws       []*worker
	stateCh  chan *chunk // worker 0 only: chunks in content order
	anyCh    chan *chunk
	inFlight sync.WaitGroup // chunks handed out and not yet parsed
	exited   sync.WaitGroup
	free     chan<- *chunk
}

// worker is one parse goroutine's state; the coordinator reads it only
// between batches, when no chunk is in flight.
type worker struct {
	p   *parser.Parser
	agg *aggregate
	st  Stats
	// firstBad is the seq of st.FirstUnrecognised.
	firstBad int64
	obs      []parser.Observation
	rows     atomic.Int64 // agg.len() after the last chunk
	name     string
}

func newWorkers(n int, opts parser.Options, name string, free chan<- *chunk) *workers {
	w := &workers{
		stateCh: make(chan *chunk, 1),
		anyCh:   make(chan *chunk, n),
		free:    free,
	}
	for i := range n {
		wk := &worker{p: parser.New(opts), agg: newAggregate(), obs: make([]parser.Observation, 0, 8), name: name}
		w.ws = append(w.ws, wk)
		w.exited.Add(1)
		go w.run(wk, i == 0)
	}
	return w
}

func (w *workers) run(wk *worker, stateful bool) {
	defer w.exited.Done()
	state := w.stateCh
	if !stateful {
		state = nil // a nil channel is never ready
	}
	for {
		var ch *chunk
		var ok bool
		select {
		case ch, ok = <-state:
		case ch, ok = <-w.anyCh:
		}
		if !ok {
			// One of the two is closed: close closes both, so finish the
			// other one's chunks (worker 0 may hold stateful ones).
			if state != nil {
				for ch := range state {
					w.done(wk, ch)
				}
			}
			for ch := range w.anyCh {
				w.done(wk, ch)
			}
			return
		}
		w.done(wk, ch)
	}
}

// done parses ch, then recycles it.
func (w *workers) done(wk *worker, ch *chunk) {
	wk.parse(ch)
	wk.rows.Store(int64(wk.agg.len()))
	select {
	case w.free <- ch:
	default:
	}
	w.inFlight.Done()
}

// stateful is the worker that holds the multi-line state.
func (w *workers) stateful() *worker { return w.ws[0] }

// parse hands ch to a worker.
func (w *workers) parse(ch *chunk) {
	if len(ch.ends) == 0 {
		select {
		case w.free <- ch:
		default:
		}
		return
	}
	w.inFlight.Add(1)
	if ch.stateful {
		w.stateCh <- ch
	} else {
		w.anyCh <- ch
	}
}

// wait returns once every chunk handed out is parsed.
func (w *workers) wait() { w.inFlight.Wait() }

// rows is the count rows of the largest worker aggregate of the batch
// being built: BatchKeys bounds each worker's part (most keys are in
// every part, so the merged batch is not much larger).
func (w *workers) rows() int {
	n := int64(0)
	for _, wk := range w.ws {
		n = max(n, wk.rows.Load())
	}
	return int(n)
}

// collect waits for the chunks in flight and returns the batch's aggregate
// (worker 0's, with the others merged in) and line statistics. After the
// last batch (final) the workers let go of their aggregates, so that the
// memory is free while the batch is committed.
func (w *workers) collect(final bool) (*aggregate, Stats) {
	w.wait()
	agg := w.ws[0].agg
	var st Stats
	bad := int64(-1)
	for i, wk := range w.ws {
		if i > 0 {
			agg.merge(wk.agg)
		}
		if final {
			wk.agg = nil
		}
		st.Recognised += wk.st.Recognised
		st.Unrecognised += wk.st.Unrecognised
		if wk.st.FirstUnrecognised != "" && (bad < 0 || wk.firstBad < bad) {
			bad = wk.firstBad
			st.FirstUnrecognised, st.FirstUnrecognisedFile = wk.st.FirstUnrecognised, wk.st.FirstUnrecognisedFile
		}
	}
	return agg, st
}

// reset empties every worker's aggregate and statistics for the next
// batch. Worker 0's aggregate, which collect returned, is the batch's now:
// worker 0 starts a new one.
func (w *workers) reset() {
	for i, wk := range w.ws {
		if i == 0 {
			wk.agg = newAggregate()
		} else {
			wk.agg.reset()
		}
		wk.st = Stats{}
		wk.rows.Store(0)
	}
}

// close stops the workers once the chunks handed out are parsed.
func (w *workers) close() {
	close(w.stateCh)
	close(w.anyCh)
	w.exited.Wait()
}

// seqShift leaves room for the observations of one line in their seq.
const seqShift = 4

// parse parses a chunk's candidate lines into the worker's aggregate.
func (wk *worker) parse(ch *chunk) {
	start := 0
	for i, end := range ch.ends {
		line := ch.buf[start:end]
		start = end
		seq := (ch.first + int64(ch.idx[i])) << seqShift
		var res parser.Result
		wk.obs, res = wk.p.Parse(line, wk.obs[:0])
		switch res {
		case parser.Recognised:
			wk.st.Recognised++
		case parser.Unrecognised:
			wk.st.Unrecognised++
			if wk.st.FirstUnrecognised == "" || seq < wk.firstBad {
				wk.st.FirstUnrecognised, wk.st.FirstUnrecognisedFile = string(line), wk.name
				wk.firstBad = seq
			}
		}
		for j := range wk.obs {
			wk.agg.add(&wk.obs[j], seq+int64(min(j, 1<<seqShift-1)))
		}
	}
}
