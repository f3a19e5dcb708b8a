package ingest

import (
	"fmt"
	"time"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

// progress starts a progress display for c when one was asked for and the
// input is large; the returned function stops it and clears the line.
func (s *Scanner) progress(c *content) (stop func()) {
	w := s.opts.Progress
	if w == nil || c.size < s.opts.ProgressMin {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				done := c.read.Load()
				rate := float64(done) / time.Since(start).Seconds() / (1 << 20)
				fmt.Fprintf(w, "\r\033[K%s: %3.0f%%  %d/%d MB  %.0f MB/s",
					escapeName(c.name), 100*float64(done)/float64(c.size), done>>20, c.size>>20, rate)
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// escapeName makes a file name safe for a terminal line.
func escapeName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch == 0x7f {
			b = fmt.Appendf(b, "\\x%02x", ch)
			continue
		}
		b = append(b, ch)
	}
	return string(b)
}
