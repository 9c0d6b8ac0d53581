package webhooks

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: a header Verify accepts carries the time it claims, within
// the tolerance of now, and the signature Sign makes for that time.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"d1","type":"message.delivered"}`)
	good := Sign("endpoint-secret-0123456789", now, body)
	for _, h := range []string{good, good + ",v1=00", "v1=00," + good, "t=1,v1=zz", "t=" + strconv.FormatInt(now.Unix()-3600, 10) + ",v1=00", "", ",,=,", "t=,v1="} {
		f.Add("endpoint-secret-0123456789", h, body)
	}
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		if Verify(secret, header, body, now, 0) != nil {
			return
		}
		var ts string
		var sigs []string
		for part := range strings.SplitSeq(header, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "t":
				ts = v
			case "v1":
				sigs = append(sigs, "t="+ts+",v1="+strings.ToLower(v))
			}
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			t.Fatalf("accepted %q without a readable time", header)
		}
		at := time.Unix(secs, 0)
		if d := now.Sub(at); d > DefaultTolerance || d < -DefaultTolerance {
			t.Fatalf("accepted %q signed %v from now", header, d)
		}
		want := Sign(secret, at, body)
		for _, s := range sigs {
			if strings.HasSuffix(s, want[strings.Index(want, ",v1="):]) {
				return
			}
		}
		t.Fatalf("accepted %q; the signature for its time is %q", header, want)
	})
}
