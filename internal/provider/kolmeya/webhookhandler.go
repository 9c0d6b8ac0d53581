package kolmeya

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// DefaultWebhookMaxBody is the largest webhook body read: a status webhook
// for a request of 1000 messages is about 100 KB.
const DefaultWebhookMaxBody = 1 << 20

// jwtLeeway is the clock skew allowed between a gateway and Recado when
// checking a JWT's exp and iat.
const jwtLeeway = 30 * time.Second

// WebhookOptions configure the handler of Kolmeya's webhooks. Lookup and
// Sink are required.
type WebhookOptions struct {
	// Lookup returns the Kolmeya provider configured under name. When there
	// is none (no such provider, or one of another type) it returns an error
	// of kind sms.KindNotFound, or a nil provider; any other error is taken
	// for a failure of ours, and the webhook is answered 503 to be retried.
	Lookup func(ctx context.Context, name string) (*Provider, error)
	// Sink applies the status reports; it returns once they are stored.
	Sink provider.StatusSink
	// Replies stores the replies; it returns once they are stored. nil
	// answers replies 202 without keeping them (polling brings them in).
	Replies provider.ReplySink
	// Logger receives a line per refused or failed webhook, with the
	// provider's name only: never the URL, whose path holds the secret.
	// nil discards.
	Logger *slog.Logger
	// Now is the clock for the reports' time and the JWTs' expiry; nil means
	// time.Now.
	Now func() time.Time
	// MaxBody is the largest body read; larger ones are answered 413.
	// 0 means DefaultWebhookMaxBody.
	MaxBody int64
}

// NewWebhookHandler returns the handler of POST
// /webhooks/kolmeya/{provider}/{secret}: the URL each send request gives
// Kolmeya for its events. It reads {provider} and {secret} with
// r.PathValue, so it must be registered with a pattern naming both.
//
// A webhook is taken when the provider exists and is a Kolmeya one, and
// either the URL's secret is the provider's webhook_secret or the request
// carries "Authorization: Bearer <JWT>" signed with HS256 by the provider's
// webhook_jwt_secret, with exp in the future and iat not. Anything else is
// answered 401 with the same body whatever the reason, and changes nothing.
//
// Then a body over the size limit is answered 413, a body of no known shape
// 400. A status webhook (nested or flat) is applied through the Sink and
// answered 200 once stored. A rejection at review asks Kolmeya for the
// request's messages and reports each rejected (or with the final status
// Kolmeya gives it, when that is another); if Kolmeya cannot be asked, or
// storing fails, the answer is 503 so that Kolmeya tries again. Repeats and
// late reports are harmless: the Sink never moves a message backwards.
//
// A reply is stored through Replies (an inbound message linked to its
// contact and to the message it answers; an opt-out word opts the contact
// out) and answered 200 once stored, 503 when storing fails.
func NewWebhookHandler(o WebhookOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultWebhookMaxBody
	}
	return &webhookHandler{o: o}
}

type webhookHandler struct{ o WebhookOptions }

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("provider")
	log := h.o.Logger.With("provider", name)
	p, err := h.o.Lookup(ctx, name)
	switch {
	case err != nil && sms.KindOf(err) != sms.KindNotFound:
		log.ErrorContext(ctx, "kolmeya webhook: cannot look up the provider", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "try again later")
		return
	case err != nil || p == nil || !h.authorized(p, r):
		log.WarnContext(ctx, "kolmeya webhook refused: unknown provider or bad credentials")
		writeProblem(w, http.StatusUnauthorized, "unknown provider or bad credentials")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			log.WarnContext(ctx, "kolmeya webhook refused: body too large", "limit", h.o.MaxBody)
			writeProblem(w, http.StatusRequestEntityTooLarge, "body larger than "+strconv.FormatInt(h.o.MaxBody, 10)+" bytes")
			return
		}
		writeProblem(w, http.StatusBadRequest, "unreadable body")
		return
	}
	ev, err := ParseWebhook(body)
	if err != nil {
		log.WarnContext(ctx, "kolmeya webhook refused: unknown body", "err", err)
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	switch ev.Kind {
	case WebhookReply:
		if h.o.Replies == nil {
			log.InfoContext(ctx, "kolmeya webhook: a reply came in and is not stored here; polling brings it in",
				"reply", string(ev.Reply.ID))
			writeOK(w, http.StatusAccepted)
			return
		}
		if err := h.o.Replies.ApplyReplies(ctx, name, sms.SourceWebhook, []provider.Reply{ev.Reply.ForRecado()}); err != nil {
			log.ErrorContext(ctx, "kolmeya webhook: storing a reply failed", "err", err)
			writeProblem(w, http.StatusServiceUnavailable, "could not store the reply; try again")
			return
		}
		writeOK(w, http.StatusOK)
		return
	case WebhookRejected:
		if ev.RequestID == "" && ev.RequestReference == "" {
			log.WarnContext(ctx, "kolmeya webhook refused: a rejection naming no request")
			writeProblem(w, http.StatusBadRequest, "a rejection must name its request by id or reference")
			return
		}
		updates, err := h.rejected(ctx, p, ev)
		if err != nil {
			log.WarnContext(ctx, "kolmeya webhook: cannot list the rejected request's messages",
				"request", ev.RequestID, "err", err)
			writeProblem(w, http.StatusServiceUnavailable, "cannot ask Kolmeya for the request; try again later")
			return
		}
		h.apply(w, r, log, name, updates)
	default:
		h.apply(w, r, log, name, h.statuses(log, ev.Statuses))
	}
}

// apply stores updates and answers.
func (h *webhookHandler) apply(w http.ResponseWriter, r *http.Request, log *slog.Logger, name string, updates []provider.StatusUpdate) {
	if err := h.o.Sink.ApplyStatuses(r.Context(), name, sms.SourceWebhook, updates); err != nil {
		log.ErrorContext(r.Context(), "kolmeya webhook: cannot store the statuses", "count", len(updates), "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "cannot store the statuses; try again later")
		return
	}
	log.DebugContext(r.Context(), "kolmeya webhook applied", "count", len(updates))
	writeOK(w, http.StatusOK)
}

// authorized reports whether r carries p's URL secret or a JWT signed with
// p's JWT secret.
func (h *webhookHandler) authorized(p *Provider, r *http.Request) bool {
	if p.VerifyWebhookSecret(r.PathValue("secret")) {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && p.VerifyWebhookJWT(strings.TrimSpace(token), h.o.Now())
}

// VerifyWebhookJWT reports whether token is a JWT signed with HS256 by the
// provider's webhook_jwt_secret, whose exp is after now and whose iat, if
// any, is not after now, both with a leeway of 30 seconds. Any other
// algorithm ("none" included) is refused. Without a configured JWT secret it
// is always false.
func (p *Provider) VerifyWebhookJWT(token string, now time.Time) bool {
	key := p.settings.WebhookJWTSecret
	if key == "" || token == "" {
		return false
	}
	_, err := jwt.ParseWithClaims(token, &jwt.RegisteredClaims{},
		func(*jwt.Token) (any, error) { return []byte(key), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	return err == nil
}

// statuses turns a status webhook's messages into reports. A message with
// an unknown code, or naming no message, is left out.
func (h *webhookHandler) statuses(log *slog.Logger, msgs []MessageStatus) []provider.StatusUpdate {
	now := h.o.Now()
	out := make([]provider.StatusUpdate, 0, len(msgs))
	for _, m := range msgs {
		u, ok := toStatusUpdate(m, now)
		switch {
		case ok:
		case m.ID == "" && m.Reference == "":
			log.Warn("kolmeya webhook: a status naming no message ignored", "code", int64(m.StatusCode))
			continue
		default:
			log.Warn("kolmeya webhook: unknown status code ignored", "code", int64(m.StatusCode), "id", string(m.ID))
			continue
		}
		out = append(out, u)
	}
	return out
}

// rejected lists the messages of a request rejected at review, by asking
// Kolmeya for the request (by id, else by reference), and reports each
// rejected for the review's reason. A message Kolmeya already gives another
// final status keeps it.
func (h *webhookHandler) rejected(ctx context.Context, p *Provider, ev WebhookEvent) ([]provider.StatusUpdate, error) {
	var st *RequestStatus
	var err error
	if ev.RequestID != "" {
		st, err = p.Client().StatusByRequestID(ctx, ev.RequestID)
	}
	if ev.RequestReference != "" && (ev.RequestID == "" || codeOf(err) == CodeNotFound || codeOf(err) == CodeValidation) {
		st, err = p.Client().StatusByReference(ctx, ev.RequestReference)
	}
	if err != nil {
		return nil, err
	}
	reason := ev.Reason
	if reason == "" {
		reason = "rejected at Kolmeya's review"
	}
	now := h.o.Now()
	out := make([]provider.StatusUpdate, 0, len(st.Messages))
	for _, m := range st.Messages {
		if m.ID == "" && m.Reference == "" {
			continue
		}
		u := provider.StatusUpdate{Reference: string(m.Reference), ProviderMessageID: string(m.ID), At: now,
			State: sms.StateRejected, ErrorCode: "review", ErrorText: reason, Detail: "rejected"}
		if state, known := StateForCode(int(m.StatusCode)); known && state.Final() && state != sms.StateRejected {
			u.State, u.ErrorCode, u.ErrorText, u.Detail = state, "", "", string(m.Status)
			if state.Failure() {
				u.ErrorCode, u.ErrorText = "status_"+strconv.FormatInt(int64(m.StatusCode), 10), string(m.Status)
			}
		}
		out = append(out, u)
	}
	return out, nil
}

func writeOK(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"ok":true}`+"\n")
}

// writeProblem answers an RFC 9457 problem; detail must hold nothing secret.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
	w.Write(append(b, '\n'))
}
