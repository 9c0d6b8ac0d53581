package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// WriteProblem writes err as an RFC 9457 problem document, for handlers
// outside huma (middleware, webhooks).
func WriteProblem(w http.ResponseWriter, err error, log *slog.Logger) {
	se := toStatusError(err, log)
	body := map[string]any{"title": http.StatusText(se.GetStatus()), "status": se.GetStatus(), "detail": se.Error()}
	if d := detailsOf(se); len(d) > 0 {
		body["errors"] = d
	}
	if ra := sms.RetryAfter(err); ra > 0 {
		w.Header().Set("Retry-After", itoa(int(ra.Seconds()+0.999)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(se.GetStatus())
	json.NewEncoder(w).Encode(body)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Authenticate resolves the request's API token into a principal on its
// context. A request without credentials goes on anonymous (operations that
// need a permission refuse it); one with bad credentials is refused here.
// Other ways to sign in (the UI's session) add their principal before this
// runs; a principal already present is kept.
func Authenticate(acc *accounts.Service, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="recado"`)
			WriteProblem(w, sms.Errorf(sms.KindUnauthorized, "Authorization must be \"Bearer <token>\""), log)
			return
		}
		p, err := acc.PrincipalForToken(r.Context(), strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="recado", error="invalid_token"`)
			WriteProblem(w, err, log)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// maxIdempotentBody bounds the request bodies the idempotency layer reads;
// it matches the largest operation body (a batch of 1000 messages).
const maxIdempotentBody = 8 << 20

// Idempotency makes a POST with an Idempotency-Key header safe to repeat:
// the first answer is stored, and the same key with the same body gets it
// again (with Idempotent-Replayed: true) without running anything; the same
// key with another body is refused with 422. Keys are per user and kept with
// their answers; a request that failed with a 5xx frees its key.
func Idempotency(db *store.DB, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		p, authed := PrincipalFrom(r.Context())
		if r.Method != http.MethodPost || key == "" || !authed {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 200 {
			WriteProblem(w, sms.Invalid("Idempotency-Key too long", sms.FieldError{Field: "Idempotency-Key", Message: "at most 200 characters"}), log)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxIdempotentBody+1))
		if err != nil {
			WriteProblem(w, sms.Errorf(sms.KindInvalid, "cannot read the request body: %v", err), log)
			return
		}
		if len(body) > maxIdempotentBody {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			json.NewEncoder(w).Encode(map[string]any{"title": "Request Entity Too Large", "status": 413, "detail": "request body too large"})
			return
		}
		sum := sha256.New()
		io.WriteString(sum, r.Method+" "+r.URL.Path+"\n")
		sum.Write(body)
		hash := hex.EncodeToString(sum.Sum(nil))
		prev, err := db.BeginIdempotent(r.Context(), p.ID, key, hash, time.Minute)
		if err != nil {
			WriteProblem(w, err, log)
			return
		}
		if prev != nil {
			if prev.ContentType != "" {
				w.Header().Set("Content-Type", prev.ContentType)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.Status)
			w.Write(prev.Body)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			ctx := r.Context()
			if rec.status >= 500 {
				if err := db.AbortIdempotent(ctx, p.ID, key); err != nil {
					log.Error("idempotency: free key", "err", err)
				}
				return
			}
			err := db.FinishIdempotent(ctx, p.ID, key, store.IdempotentResponse{
				Status: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: rec.buf.Bytes()})
			if err != nil {
				log.Error("idempotency: store answer", "err", err)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
	wrote  bool
}

func (r *recorder) WriteHeader(s int) {
	if !r.wrote {
		r.status, r.wrote = s, true
	}
	r.ResponseWriter.WriteHeader(s)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
