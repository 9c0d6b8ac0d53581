package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of every delivery.
const (
	HeaderSignature = "Recado-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256>
	HeaderEvent     = "Recado-Event"     // the event type
	HeaderDelivery  = "Recado-Delivery"  // the delivery id, as in the body
)

// DefaultTolerance is how far a signature's time may be from the receiver's
// clock before Verify refuses it as a replay.
const DefaultTolerance = 5 * time.Minute

// ErrSignature is wrapped by every error of Verify.
var ErrSignature = errors.New("webhooks: bad signature")

// Sign returns the Recado-Signature header for body sent at t: the time in
// Unix seconds and the hex HMAC-SHA256, keyed by the endpoint's secret, of
// "<seconds>.<body>". Signing the time lets a receiver refuse an old
// delivery replayed by someone who captured it.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a Recado-Signature header against the body received and the
// endpoint's secret: one of its v1 signatures must match, and its time must
// be within tolerance of now (DefaultTolerance when tolerance is zero or
// less). Every refusal wraps ErrSignature.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: header %s has no t= or no v1=", ErrSignature, HeaderSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t=%q is not a Unix time", ErrSignature, ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, outside %s of now", ErrSignature, time.Unix(secs, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no signature matches", ErrSignature)
}
