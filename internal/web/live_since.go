package web

import "net/http"

// liveSince makes a live stream's fingerprint start from the one the page
// was drawn with (the "since" parameter of its stream's URL), not from the
// moment the stream connects: whatever changed in between is drawn at the
// first look, and a page drawn just before the thing finished does not wait
// for ever.
func liveSince(r *http.Request, fingerprint func() (string, error)) func() (string, error) {
	since, first := r.URL.Query().Get("since"), true
	return func() (string, error) {
		if first && since != "" {
			first = false
			return since, nil
		}
		first = false
		return fingerprint()
	}
}
