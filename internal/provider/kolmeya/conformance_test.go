package kolmeya

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/provider/providertest"
	"github.com/recado-sms/recado/internal/sms"
)

// TestConformance runs the provider conformance suite against the adapter
// talking to a fake Kolmeya over loopback.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{New: func(t *testing.T) (provider.Provider, providertest.Steer) {
		srv := kolmeyatest.NewServer(kolmeyatest.Options{Token: testToken, RateLimit: -1})
		t.Cleanup(srv.Close)
		reg := provider.NewRegistry(provider.Deps{})
		reg.Register(Type())
		p, err := reg.Build(provider.Config{Name: "kolmeya-ct", Type: TypeName,
			Settings: []byte(`{"token":"` + testToken + `","base_url":"` + srv.URL() + `","timeout":"300ms"}`)})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		st := &steer{srv: srv}
		return &steered{Provider: p.(*Provider), steer: st}, st
	}})
}

// steer drives the fake for the suite.
type steer struct {
	srv *kolmeyatest.Server

	mu       sync.Mutex
	hangSoon bool
}

func (s *steer) AcceptedCount(ref string) int { return s.srv.Accepted(ref) }

func (s *steer) FailNextTemporary() {
	s.srv.UpdateFaults(func(f *kolmeyatest.Faults) { f.FailNext = 1 })
}

func (s *steer) FailNextRateLimit(d time.Duration) {
	s.srv.UpdateFaults(func(f *kolmeyatest.Faults) { f.RateLimitNext, f.RetryAfter = 1, d })
}

// AcceptThenTimeout is applied by steered.Send, which knows how many
// requests the batch takes: the fake must accept all of them and leave the
// last unanswered, since the adapter stops at the first failure.
func (s *steer) AcceptThenTimeout() {
	s.mu.Lock()
	s.hangSoon = true
	s.mu.Unlock()
}

func (s *steer) RejectPhone(e164 string) { s.srv.AddBlacklist(e164) }

// steered is the adapter with the steer's hook before each Send.
type steered struct {
	*Provider
	steer *steer
}

func (p *steered) Send(ctx context.Context, b provider.Batch) ([]provider.Result, error) {
	p.steer.mu.Lock()
	hang := p.steer.hangSoon
	p.steer.hangSoon = false
	p.steer.mu.Unlock()
	if hang {
		requests, marketing := 0, false
		for _, m := range b.Messages {
			if m.Kind == sms.Transactional {
				requests++
			} else {
				marketing = true
			}
		}
		if marketing {
			requests++
		}
		p.steer.srv.UpdateFaults(func(f *kolmeyatest.Faults) { f.HangAfterAccept = requests })
	}
	return p.Provider.Send(ctx, b)
}
