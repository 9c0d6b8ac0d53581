package provider

import (
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Temporary returns an error saying the call may succeed later.
func Temporary(provider, msg string, cause error) error {
	return &sms.Error{Kind: sms.KindProviderTemporary, Message: provider + ": " + msg, Err: cause}
}

// Permanent returns an error saying the call will not succeed if repeated.
func Permanent(provider, msg string, cause error) error {
	return &sms.Error{Kind: sms.KindProviderPermanent, Message: provider + ": " + msg, Err: cause}
}

// RateLimited returns an error saying to wait d before calling again.
func RateLimited(provider string, d time.Duration) error {
	return &sms.Error{Kind: sms.KindRateLimited, Message: provider + ": rate limited", RetryAfter: d}
}
