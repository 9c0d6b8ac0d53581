package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/store"
)

// campaignScenario is issue 6's campaign: n contacts are imported first,
// untimed, through POST /api/v1/imports into a list of their own (the
// import's rate is reported beside the row); a campaign to that list is
// created over the API, its window open at every hour of every day,
// holidays included, so that it never waits; then the clock runs from
// POST /api/v1/campaigns/{id}/start (recipients written, fed in chunks,
// sent in batches by the workers through the Kolmeya adapter) until the
// campaign is completed and Kolmeya has accepted every recipient's message,
// each exactly once.
//
// Its Kolmeya keeps only a count per recipient (countingKolmeya), so that
// the peak memory is Recado's (with the bench's own few megabytes), not the
// fake's record of a million messages. Its p50/p99/max are the time from
// the start until half, 99 % and all of the messages were accepted (one
// figure per send request of up to 1000 messages).
func campaignScenario() Scenario {
	return Scenario{
		Name:     "campaign",
		Doc:      "a campaign to N imported contacts, start to completed with all accepted; p50/p99: time to half/99 % accepted",
		DefaultN: 1_000_000,
		Unit:     "messages",
		Run:      runCampaign,
	}
}

// campaignPhones is where the campaign's contacts' phones start among the
// bench's fake numbers, clear of the other scenarios' messages and contacts.
const campaignPhones = 20_000_000

func runCampaign(ctx context.Context, env *Env, m *Meter, n, _ int) ([]string, error) {
	m.SetLoad(fmt.Sprintf("%d workers", env.Config.Workers))
	kolmeyaToken := "bench-kolmeya-token"
	fake := newCountingKolmeya(env.Fake.Handler, kolmeyaToken, func(int) { m.Record(m.Elapsed()) })
	defer fake.Close()
	provider := "campaign-" + randomHex(3)
	settings := map[string]any{"base_url": fake.URL(), "token": kolmeyaToken, "segment_id": 109,
		"webhook_secret": "bench-hook-" + randomHex(16), "cost_per_segment": "0.07"}
	if _, err := env.postJSON(ctx, "/api/v1/providers", http.StatusCreated,
		map[string]any{"name": provider, "type": "kolmeya", "settings": settings}); err != nil {
		return nil, err
	}

	im, err := importContacts(ctx, env, "bench-campaign-"+env.RunID+"-"+provider, n)
	if err != nil {
		return nil, fmt.Errorf("import %d contacts: %w", n, err)
	}

	out, err := env.postJSON(ctx, "/api/v1/campaigns", http.StatusCreated, map[string]any{
		"name":     "bench " + provider,
		"body":     "Olá {{primeiro_nome}}, sua fatura vence em {{vencimento}}.",
		"provider": provider,
		"audience": store.Audience{Lists: []int64{im.listID}},
		"window":   campaign.AlwaysOpen(),
	})
	if err != nil {
		return nil, err
	}
	var c store.Campaign
	if err := json.Unmarshal(out, &c); err != nil {
		return nil, fmt.Errorf("POST /campaigns: %w", err)
	}
	path := "/api/v1/campaigns/" + strconv.FormatInt(c.ID, 10)

	// The import's garbage and the memory it took from the system are not
	// the campaign's.
	debug.FreeOSMemory()
	m.Start()
	if _, err := env.postJSON(ctx, path+"/start", http.StatusOK, nil); err != nil {
		return nil, err
	}
	c, err = waitCompleted(ctx, env, fake, path)
	if err != nil {
		return nil, err
	}
	m.Stop()
	start := m.startedAt()

	if c.Recipients != int64(n) || c.Skipped != 0 || c.Fed != int64(n) {
		return nil, fmt.Errorf("the campaign completed with %d recipients, %d skipped (%v), %d fed, for %d contacts",
			c.Recipients, c.Skipped, c.SkippedBy, c.Fed, n)
	}
	var listErr error
	check, err := fake.CheckCampaign(c.ID, func(yield func(int64) bool) {
		listErr = listMembers(ctx, env, im.listID, yield)
	})
	if err = errors.Join(listErr, err); err != nil {
		return nil, err
	}
	_, requests, first, last := fake.Total()
	toLast := last.Sub(start)
	m.Extra("msgs/s to the last accepted", float64(n)/toLast.Seconds())
	m.Extra("import rows/s", float64(n)/im.took.Seconds())
	m.Extra("CPU µs per message", float64(m.CPU().Microseconds())/float64(n))
	return []string{
		fmt.Sprintf("import (untimed): %d rows through POST /api/v1/imports in %.1f s, %s rows/s (the upload staged in %.2f s); %.1f CPU s",
			n, im.took.Seconds(), thousands(float64(n)/im.took.Seconds()), im.staged.Seconds(), im.cpu.Seconds()),
		fmt.Sprintf("Kolmeya accepted the first message %s after the start (recipients written), the last after %s, in %d requests; completed after %s",
			fmtDur(first.Sub(start)), fmtDur(toLast), requests, fmtDur(m.Elapsed())),
		check,
		"the fake Kolmeya runs in this process: for this scenario it keeps a count per recipient (about a byte each), not the messages, so the peak memory is Recado's; its CPU (decoding the sends) is counted",
	}, nil
}

// imported is what importContacts measured.
type imported struct {
	listID int64
	took   time.Duration // from the upload's first byte to the import done
	staged time.Duration // the upload alone, until POST /imports answered
	cpu    time.Duration
}

// importContacts posts a CSV of n contacts (name, phone, a custom field
// "vencimento") to POST /api/v1/imports, streamed as it is generated, into
// the list named list, and waits until the import is done.
func importContacts(ctx context.Context, env *Env, list string, n int) (imported, error) {
	pr, pw := io.Pipe()
	defer pr.Close() // ends the writer if the request stops reading
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		fmt.Fprintln(w, "nome,telefone,vencimento")
		for i := range n {
			fmt.Fprintf(w, "Fulana Teste %d,%s,%02d/12\n", i, phone(campaignPhones+i), i%28+1)
		}
		pw.CloseWithError(w.Flush())
	}()
	cpu0, start := cpuTime(), time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		env.URL+"/api/v1/imports?filename=bench-campaign.csv&list="+url.QueryEscape(list), pr)
	if err != nil {
		return imported{}, err
	}
	req.Header.Set("Authorization", "Bearer "+env.Token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := env.Client.Do(req)
	if err != nil {
		return imported{}, fmt.Errorf("POST /imports: %w", err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusAccepted {
		err = fmt.Errorf("POST /imports answered %d: %.300s", resp.StatusCode, out)
	}
	if err != nil {
		return imported{}, err
	}
	staged := time.Since(start)
	var im store.Import
	for {
		if err := json.Unmarshal(out, &im); err != nil {
			return imported{}, fmt.Errorf("import: %w", err)
		}
		if im.Status == store.ImportDone || im.Status == store.ImportFailed {
			break
		}
		select {
		case <-ctx.Done():
			return imported{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if out, err = env.getJSON(ctx, "/api/v1/imports/"+strconv.FormatInt(im.ID, 10)); err != nil {
			return imported{}, err
		}
	}
	res := imported{took: time.Since(start), staged: staged, cpu: cpuTime() - cpu0}
	if im.Status != store.ImportDone || im.ListID == nil || im.RowsDone != int64(n) || im.Inserted+im.Updated != int64(n) {
		return res, fmt.Errorf("import %d ended %s (%s) with %d rows read, %d inserted, %d updated, %d merged, %d rejected %v",
			im.ID, im.Status, im.Error, im.RowsDone, im.Inserted, im.Updated, im.Merged, im.Rejected, im.RejectedBy)
	}
	res.listID = *im.ListID
	return res, nil
}

// waitCompleted polls the campaign at path until it is completed and fake
// has accepted as many messages as it has recipients. It fails if the
// campaign stops otherwise, or if nothing is accepted for five minutes.
func waitCompleted(ctx context.Context, env *Env, fake *countingKolmeya, path string) (store.Campaign, error) {
	var c store.Campaign
	seen, progressed := -1, time.Now()
	for {
		out, err := env.getJSON(ctx, path)
		if err != nil {
			return c, err
		}
		if err := json.Unmarshal(out, &c); err != nil {
			return c, fmt.Errorf("GET %s: %w", path, err)
		}
		accepted, _, _, _ := fake.Total()
		switch c.State {
		case store.CampaignCompleted:
			if int64(accepted) >= c.Recipients-c.Skipped {
				return c, nil
			}
		case store.CampaignRunning:
		default:
			return c, fmt.Errorf("the campaign is %s, with %d of %d recipients fed and %d messages accepted", c.State, c.Fed, c.Recipients, accepted)
		}
		if accepted != seen {
			seen, progressed = accepted, time.Now()
		} else if time.Since(progressed) > 5*time.Minute {
			return c, fmt.Errorf("no message accepted for 5 minutes: the campaign is %s with %d of %d recipients fed, %d messages accepted",
				c.State, c.Fed, c.Recipients, accepted)
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// listMembers yields the contact ids of a list, read straight from the
// database (the API pages them by the hundred).
func listMembers(ctx context.Context, env *Env, list int64, yield func(int64) bool) error {
	rows, err := env.App.DB.Reader().QueryContext(ctx,
		`SELECT contact_id FROM list_members WHERE list_id = `+strconv.FormatInt(list, 10)+` ORDER BY contact_id`)
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		if !yield(id) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	return nil
}

// postJSON posts body (nil for none) as JSON and returns the answer,
// failing unless its status is want.
func (e *Env) postJSON(ctx context.Context, path string, want int, body any) ([]byte, error) {
	raw := []byte("{}")
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("POST %s: %w", path, err)
		}
	}
	status, out, err := e.Post(ctx, path, raw)
	if err == nil && status != want {
		err = fmt.Errorf("answered %d: %.300s", status, out)
	}
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return out, nil
}

// getJSON reads path, failing unless it answers 200.
func (e *Env) getJSON(ctx context.Context, path string) ([]byte, error) {
	status, out, err := e.Get(ctx, path)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("answered %d: %.300s", status, out)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return out, nil
}
