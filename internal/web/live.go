package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// liveFor is the longest a live stream stays open; the browser then
// reconnects (EventSource does so by itself), which also picks up a new
// session state.
const liveFor = 10 * time.Minute

// stream serves server-sent events for htmx's SSE extension: every
// LiveInterval it asks fingerprint whether anything changed, and when it
// did sends draw's HTML as an "update" event. It ends when draw says the
// thing is done (its last update no longer asks for a stream), the client
// leaves, or liveFor passes. Asking the database, rather than listening
// for in-process changes, works the same with one instance or several.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, fingerprint func() (string, error), draw func() (string, bool, error)) error {
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary answers; a stream lives
	// longer.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
		return err
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	ctx := r.Context()
	tick := time.NewTicker(s.cfg.LiveInterval)
	defer tick.Stop()
	deadline := time.NewTimer(liveFor)
	defer deadline.Stop()
	last, err := fingerprint()
	if err != nil {
		return nil
	}
	quiet := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
		fp, err := fingerprint()
		if err != nil {
			s.Logger.Warn("web: live update", "path", r.URL.Path, "err", err)
			return nil
		}
		if fp == last {
			// A comment now and then keeps proxies from closing an idle
			// stream.
			if quiet++; quiet*int(s.cfg.LiveInterval) >= int(15*time.Second) {
				quiet = 0
				fmt.Fprint(w, ": keep-alive\n\n")
				if rc.Flush() != nil {
					return nil
				}
			}
			continue
		}
		last, quiet = fp, 0
		html, done, err := draw()
		if err != nil {
			s.Logger.Warn("web: live update", "path", r.URL.Path, "err", err)
			return nil
		}
		fmt.Fprint(w, "event: update\n")
		for line := range strings.SplitSeq(html, "\n") {
			fmt.Fprintf(w, "data: %s\n", line)
		}
		fmt.Fprint(w, "\n")
		if rc.Flush() != nil || done {
			return nil
		}
	}
}
