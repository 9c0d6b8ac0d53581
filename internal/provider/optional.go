package provider

import (
	"context"
	"time"
)

// The interfaces below are optional: a provider implements those its API
// allows, and Recado's background jobs (package dispatch) use them when it
// does. A provider that implements none of them still works: it reports
// statuses only through its StatusSink.

// StatusPoller is implemented by providers that can be asked what became of
// the messages of one of their jobs: the safety net for status reports that
// never arrived. A job is what Result.ProviderJobID named (Kolmeya's request
// id, the mock's batch reference).
type StatusPoller interface {
	// PollJob returns the current status of the messages of job jobID that
	// the provider knows, each naming its message by the provider's id, by
	// Recado's reference, or both; At is when the provider last saw it change,
	// or zero for "now". A job the provider does not know gives no updates
	// and no error. Errors are *sms.Error of the kinds Send uses: temporary
	// and rate-limited ones say "ask again later".
	PollJob(ctx context.Context, jobID string) ([]StatusUpdate, error)
}

// ReplyPoller is implemented by providers that keep the replies they
// received and can list them: the safety net for reply webhooks that never
// arrived.
type ReplyPoller interface {
	// PollReplies returns the replies received since since, or as far back as
	// the provider keeps them when since is older than that (see
	// ReplyRetention). Replies from just before since may come too: Recado
	// de-duplicates them by ProviderReplyID.
	PollReplies(ctx context.Context, since time.Time) ([]Reply, error)
	// ReplyRetention is how long the provider keeps replies (Kolmeya: 168
	// hours); polls must come well within it.
	ReplyRetention() time.Duration
}

// BlacklistSyncer is implemented by providers that keep a blacklist of their
// own, refusing to send to the numbers on it. Recado's blacklist is the
// truth: every change to it is pushed to each such provider.
type BlacklistSyncer interface {
	// BlacklistAdd puts numbers (E.164) on the provider's blacklist, and
	// BlacklistRemove takes them off. Both are idempotent: a number already
	// there, or not there, is no error. A number the provider cannot hold
	// (not of its country) is skipped. They split long lists into the
	// provider's request size themselves.
	BlacklistAdd(ctx context.Context, phones []string) error
	BlacklistRemove(ctx context.Context, phones []string) error
}

// RateLimiter is implemented by providers that learn their request budget
// from the answers they get (Kolmeya's X-RateLimit-* headers).
type RateLimiter interface {
	// RateLimit returns the budget as this process last saw it, and false
	// while nothing is known yet.
	RateLimit() (RateLimit, bool)
}

// RateLimit is a provider's request budget as last seen.
type RateLimit struct {
	Limit     int       // requests a window allows
	Remaining int       // requests left in the current window
	ResetAt   time.Time // when the current window is expected to end
	// BlockedUntil is set while the provider asked us to wait (an HTTP 429).
	BlockedUntil time.Time
}
