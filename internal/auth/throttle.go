package auth

import "time"

// Throttle limits password guessing: after MaxFailures failed sign-ins
// within Window, the key (an account, or an address) is locked for Lockout.
// It is pure arithmetic on a Failures record; the caller stores the record.
type Throttle struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// AccountThrottle is the default for one account: 5 failures in 15 minutes
// lock it for 15 minutes, whatever address they came from.
func AccountThrottle() Throttle {
	return Throttle{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// AddressThrottle is the default for one client address: 20 failures in 15
// minutes, on any accounts, lock the address for 15 minutes.
func AddressThrottle() Throttle {
	return Throttle{MaxFailures: 20, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

// Failures is the count of failed sign-ins for one key in its window.
type Failures struct {
	Count       int
	WindowStart time.Time
	LockedUntil *time.Time
}

// Locked reports whether f's key is locked at now, and for how much longer.
func (t Throttle) Locked(f Failures, now time.Time) (time.Duration, bool) {
	if f.LockedUntil != nil && now.Before(*f.LockedUntil) {
		return f.LockedUntil.Sub(now), true
	}
	return 0, false
}

// Fail records one failed sign-in at now: a window that has ended starts
// again, and the failure that reaches MaxFailures locks the key.
func (t Throttle) Fail(f *Failures, now time.Time) {
	if f.WindowStart.IsZero() || now.Sub(f.WindowStart) >= t.Window || (f.LockedUntil != nil && !now.Before(*f.LockedUntil)) {
		f.Count, f.WindowStart, f.LockedUntil = 0, now, nil
	}
	f.Count++
	if f.Count >= t.MaxFailures {
		until := now.Add(t.Lockout)
		f.LockedUntil = &until
	}
}
