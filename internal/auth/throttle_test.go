package auth

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := Throttle{MaxFailures: 3, Window: 10 * time.Minute, Lockout: 5 * time.Minute}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		failsAt    []time.Duration // offsets from t0 of each failure
		checkAt    time.Duration
		wantLocked bool
		wantCount  int
	}{
		{"no failures", nil, 0, false, 0},
		{"below the limit", []time.Duration{0, time.Minute}, 2 * time.Minute, false, 2},
		{"limit reached locks", []time.Duration{0, time.Minute, 2 * time.Minute}, 3 * time.Minute, true, 3},
		{"lock lasts its time", []time.Duration{0, time.Minute, 2 * time.Minute}, 6*time.Minute + 59*time.Second, true, 3},
		{"lock ends", []time.Duration{0, time.Minute, 2 * time.Minute}, 7 * time.Minute, false, 3},
		{"window ends before the limit", []time.Duration{0, time.Minute, 11 * time.Minute}, 12 * time.Minute, false, 1},
		{"failure after the lock starts over", []time.Duration{0, time.Minute, 2 * time.Minute, 8 * time.Minute}, 9 * time.Minute, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Failures
			for _, d := range tt.failsAt {
				th.Fail(&f, t0.Add(d))
			}
			_, locked := th.Locked(f, t0.Add(tt.checkAt))
			if locked != tt.wantLocked || f.Count != tt.wantCount {
				t.Errorf("locked=%v count=%d, want locked=%v count=%d", locked, f.Count, tt.wantLocked, tt.wantCount)
			}
		})
	}
}
