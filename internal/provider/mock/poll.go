package mock

import (
	"context"

	"github.com/recado-sms/recado/internal/provider"
)

var _ provider.StatusPoller = (*Provider)(nil)

// PollJob returns what the mock knows of the messages of job jobID (the
// batch reference a Send answered with as ProviderJobID): each accepted
// message in its latest state, sent until its report is due, then
// delivered, failed or expired, as Lookup answers. It is how a report the
// sink never took is recovered. An unknown job gives nothing.
func (p *Provider) PollJob(ctx context.Context, jobID string) ([]provider.StatusUpdate, error) {
	if err := ctx.Err(); err != nil {
		return nil, provider.Temporary(p.name, "poll canceled", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []provider.StatusUpdate
	for _, ref := range p.requests[jobID] {
		rec, ok := p.messages[ref]
		if !ok || rec.accepted == 0 {
			continue
		}
		r := rec.result
		out = append(out, provider.StatusUpdate{Reference: r.Reference, ProviderMessageID: r.ProviderMessageID,
			State: r.State, ErrorCode: r.ErrorCode, ErrorText: r.ErrorText, Detail: string(r.State)})
	}
	return out, nil
}
