package kolmeya

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/recado-sms/recado/internal/sms"
)

// MaxBlacklistPhones is how many phones one blacklist request takes; the
// client cuts longer lists into requests of this size.
const MaxBlacklistPhones = 1000

// BlacklistEntry is a phone to block or unblock. With Document (a CPF) the
// block applies to that person only.
type BlacklistEntry struct {
	Phone    string // any form: E.164, digits with 55, or national digits
	Document string
}

type blacklistPhone struct {
	Phone    json.Number `json:"phone"`
	Document string      `json:"document,omitempty"`
}

// BlacklistStore adds phones to the account's blacklist, in requests of at
// most 1000 phones. There is no endpoint listing the blacklist: Recado's own
// list is the truth. On an error, the chunks before the failing one are
// stored; repeating the call is harmless.
func (c *Client) BlacklistStore(ctx context.Context, entries []BlacklistEntry) error {
	return wrap("blacklist store", c.blacklist(ctx, pathBlacklistStore, entries))
}

// BlacklistDestroy removes phones from the account's blacklist, in requests
// of at most 1000 phones.
func (c *Client) BlacklistDestroy(ctx context.Context, entries []BlacklistEntry) error {
	return wrap("blacklist destroy", c.blacklist(ctx, pathBlacklistDestroy, entries))
}

func (c *Client) blacklist(ctx context.Context, path string, entries []BlacklistEntry) error {
	phones := make([]blacklistPhone, len(entries))
	for i, e := range entries {
		d := NationalDigits(e.Phone)
		if len(d) != 10 && len(d) != 11 {
			return sms.Errorf(sms.KindInvalid, "phone %q is not a Brazilian number", e.Phone)
		}
		phones[i] = blacklistPhone{Phone: json.Number("55" + d), Document: e.Document}
	}
	for start := 0; start < len(phones); start += MaxBlacklistPhones {
		chunk := phones[start:min(start+MaxBlacklistPhones, len(phones))]
		body := map[string][]blacklistPhone{"phones": chunk}
		if err := c.call(ctx, path, body, nil, idempotent); err != nil {
			return fmt.Errorf("phones %d to %d: %w", start+1, start+len(chunk), err)
		}
	}
	return nil
}

// JobPause pauses a job still being sent. A finished job gives an error of
// Code CodeValidation ("Job já finalizado").
func (c *Client) JobPause(ctx context.Context, jobID string) error {
	return wrap("job pause", c.job(ctx, pathJobPause, jobID))
}

// JobPlay resumes a paused job.
func (c *Client) JobPlay(ctx context.Context, jobID string) error {
	return wrap("job play", c.job(ctx, pathJobPlay, jobID))
}

func (c *Client) job(ctx context.Context, path, jobID string) error {
	if jobID == "" {
		return sms.Errorf(sms.KindInvalid, "empty job id")
	}
	return c.call(ctx, fmt.Sprintf(path, url.PathEscape(jobID)), nil, nil, idempotent)
}
