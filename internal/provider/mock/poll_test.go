package mock_test

import (
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/sms"
)

// TestPollJob: a job's messages are "sent" until their report is due, then
// in their fate, whether or not the sink took the report: polling recovers
// what a lost report would have said.
func TestPollJob(t *testing.T) {
	s := mock.DefaultSettings()
	s.DeliveryDelay = time.Hour
	s.Outcomes = mock.Outcomes{Delivered: 1, Failed: 1, Rejected: 1}
	snk := &sink{failFirst: -1} // refuses every report
	p := newMock(t, s, snk)
	b := batch("poll", 12)
	res := send(t, p, b)
	job := res[0].ProviderJobID
	accepted := 0
	for _, r := range res {
		if r.State == sms.StateSent {
			accepted++
		}
	}
	ups, err := p.PollJob(t.Context(), job)
	if err != nil || len(ups) != accepted || accepted == 0 {
		t.Fatalf("poll before the reports: %d updates, %v; want %d", len(ups), err, accepted)
	}
	for _, u := range ups {
		if u.State != sms.StateSent || u.ProviderMessageID == "" {
			t.Errorf("before the report: %+v", u)
		}
	}
	p.Flush()
	ups, _ = p.PollJob(t.Context(), job)
	final := map[sms.State]int{}
	for _, u := range ups {
		final[u.State]++
		if u.State == sms.StateFailed && u.ErrorCode == "" {
			t.Errorf("a failure without its code: %+v", u)
		}
	}
	if final[sms.StateDelivered]+final[sms.StateFailed] != accepted || final[sms.StateSent] != 0 {
		t.Fatalf("after the reports (refused by the sink): %v", final)
	}
	if ups, err := p.PollJob(t.Context(), "no-such-job"); err != nil || len(ups) != 0 {
		t.Fatalf("unknown job: %v, %v", ups, err)
	}
}
