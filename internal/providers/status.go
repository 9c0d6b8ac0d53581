package providers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// SettingLowBalance is the setting, common to every type of provider, that
// holds the balance below which the provider counts as low (an amount in
// BRL such as "100.00"): the metric recado_provider_balance_low turns 1 and a
// warning is logged. Recado handles it itself; the type never sees it.
const SettingLowBalance = "low_balance_threshold"

// commonSettings are the keys Recado handles for every type; they are kept
// with the settings but taken out before the type's own settings are read.
var commonSettings = []string{SettingLowBalance}

// typeSettings returns settings without the common keys.
func typeSettings(settings map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(settings))
	for k, v := range settings {
		out[k] = v
	}
	for _, k := range commonSettings {
		delete(out, k)
	}
	return out
}

// checkCommonSettings validates the common keys of settings.
func checkCommonSettings(settings map[string]json.RawMessage) error {
	if raw, ok := settings[SettingLowBalance]; ok {
		if _, err := parseAmount(raw); err != nil {
			return sms.Invalid("invalid "+SettingLowBalance, sms.FieldError{Field: "settings." + SettingLowBalance,
				Message: "an amount in BRL of 0 or more, such as \"100.00\"", Value: string(raw)})
		}
	}
	return nil
}

// parseAmount reads an amount given as a JSON string ("100.00") or number.
func parseAmount(raw json.RawMessage) (sms.Money, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, err
		}
		s = n.String()
	}
	m, err := sms.ParseMoney(s)
	if err == nil && m < 0 {
		err = sms.Errorf(sms.KindInvalid, "negative amount")
	}
	return m, err
}

// LowBalanceThreshold returns the low-balance threshold set on a provider's
// record, and false when none is set.
func LowBalanceThreshold(rec store.ProviderRecord) (sms.Money, bool) {
	var settings map[string]json.RawMessage
	if json.Unmarshal([]byte(rec.Settings), &settings) != nil {
		return 0, false
	}
	raw, ok := settings[SettingLowBalance]
	if !ok {
		return 0, false
	}
	m, err := parseAmount(raw)
	return m, err == nil
}

// BalanceLow reports whether a provider's last known balance is below its
// threshold.
func BalanceLow(rec store.ProviderRecord) bool {
	t, ok := LowBalanceThreshold(rec)
	return ok && rec.Balance != nil && *rec.Balance < t
}

// RateLimitView is a provider's request budget as this instance last saw it
// in the provider's answers.
type RateLimitView struct {
	Limit        int        `json:"limit" doc:"Requests the provider allows per window"`
	Remaining    int        `json:"remaining" doc:"Requests left in the current window"`
	ResetAt      time.Time  `json:"reset_at" doc:"When the current window is expected to end"`
	BlockedUntil *time.Time `json:"blocked_until,omitempty" doc:"Set while the provider asked to wait (HTTP 429)"`
}

// SyncView is what Recado's background jobs last did with a provider.
type SyncView struct {
	RepliesPolledAt *time.Time         `json:"replies_polled_at,omitempty" doc:"Replies received up to this time are in"`
	RepliesError    string             `json:"replies_error,omitempty" doc:"Why the last reply poll failed"`
	BalanceError    string             `json:"balance_error,omitempty" doc:"Why the last balance check failed"`
	BalanceErrorAt  *time.Time         `json:"balance_error_at,omitempty"`
	Blacklist       *BlacklistSyncView `json:"blacklist,omitempty" doc:"For providers that keep a blacklist of their own"`
}

// BlacklistSyncView says how far a provider's blacklist is in step with
// Recado's.
type BlacklistSyncView struct {
	SyncedAt *time.Time `json:"synced_at,omitempty" doc:"The last time every change was pushed"`
	Pending  int64      `json:"pending" doc:"Changes not pushed yet (numbers on the list, before the first push of the whole list)"`
	Error    string     `json:"error,omitempty" doc:"Why the last push failed"`
	ErrorAt  *time.Time `json:"error_at,omitempty"`
}

// decorated returns the view of rec with what decorate adds.
func (s *Service) decorated(ctx context.Context, rec store.ProviderRecord) (View, error) {
	v, err := s.view(rec)
	if err != nil {
		return v, err
	}
	st, err := s.db.ProviderSyncState(ctx, rec.Name)
	if err != nil {
		return v, err
	}
	s.decorate(&v, rec, st)
	return v, nil
}

// decorate adds to v what is not in the record: the balance threshold, the
// rate-limit budget of the live provider, and the state of the background
// jobs. It is best effort: what cannot be known is left out.
func (s *Service) decorate(v *View, rec store.ProviderRecord, st store.ProviderSync) {
	if t, ok := LowBalanceThreshold(rec); ok {
		ts := t.String()
		v.LowBalanceThreshold = &ts
		v.BalanceLow = BalanceLow(rec)
	}
	p, err := s.live(rec)
	if err != nil {
		return
	}
	if rl, ok := p.(provider.RateLimiter); ok {
		if r, known := rl.RateLimit(); known {
			v.RateLimit = &RateLimitView{Limit: r.Limit, Remaining: r.Remaining, ResetAt: r.ResetAt.UTC()}
			if !r.BlockedUntil.IsZero() {
				b := r.BlockedUntil.UTC()
				v.RateLimit.BlockedUntil = &b
			}
		}
	}
	sync := &SyncView{RepliesPolledAt: st.RepliesPolledAt, RepliesError: st.RepliesError,
		BalanceError: st.BalanceError, BalanceErrorAt: st.BalanceErrorAt}
	if _, ok := p.(provider.BlacklistSyncer); ok {
		sync.Blacklist = &BlacklistSyncView{SyncedAt: st.BlacklistSyncedAt, Pending: st.BlacklistPending,
			Error: st.BlacklistError, ErrorAt: st.BlacklistErrorAt}
	}
	v.Sync = sync
}
