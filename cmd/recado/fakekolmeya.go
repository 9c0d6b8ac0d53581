package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

func newFakeKolmeya(g *globals) *cobra.Command {
	var (
		o              kolmeyatest.Options
		f              kolmeyatest.Faults
		addr, outcomes string
		balance, price string
		tick           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "fake-kolmeya --addr ADDR --token TOKEN",
		Short: "Run a fake Kolmeya API, for demos and for trying Recado without an account",
		Long: `Serves a fake of Kolmeya's API (the one Recado's tests use) on the real clock: it takes
sends, moves each message from "trying" to "sent" to a final status, posts the status,
reply and rejection webhooks to the webhook_url of each request, keeps a balance, and
answers the catalogue, reply, report and blacklist endpoints. A message's fate is
chosen by hashing its reference, weighed by --outcomes.

Point a Kolmeya provider at the printed base_url with the same token. SIGINT or
SIGTERM stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			if o.Outcomes, err = parseOutcomes(outcomes); err != nil {
				return fmt.Errorf("--outcomes: %w", err)
			}
			if o.StartBalance, err = sms.ParseMoney(balance); err != nil {
				return fmt.Errorf("--balance: %w", err)
			}
			if o.PricePerSegment, err = sms.ParseMoney(price); err != nil || o.PricePerSegment < 0 {
				return fmt.Errorf("--price: want an amount such as 0.07, not %q", price)
			}
			if tick <= 0 {
				return fmt.Errorf("--tick must be positive")
			}
			o.Logger = log
			h := kolmeyatest.NewHandler(o)
			defer h.Close()
			h.SetFaults(f)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			ctx := cmd.Context()
			serveErr := make(chan error, 1)
			go func() { serveErr <- srv.Serve(ln) }()
			ticking := make(chan struct{})
			go func() {
				defer close(ticking)
				h.Run(ctx, tick)
			}()
			base := "http://" + ln.Addr().String() + kolmeyatest.BasePath
			fmt.Fprintf(g.stdout, `fake Kolmeya listening on http://%s
  base_url: %s
  token:    %s
Create a provider with these settings in Recado, for example:
  {"name":"kolmeya","type":"kolmeya","settings":{"base_url":%q,"token":%q,
   "segment_id":109,"webhook_secret":"<at least 16 random characters>","cost_per_segment":"0.07"}}
Messages are sent after %s and reach their final status %s later; webhooks go out every %s.
`, ln.Addr(), base, o.Token, base, o.Token, o.SentAfter, o.FinalAfter, tick)
			select {
			case <-ctx.Done():
			case err = <-serveErr:
			}
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			h.Close() // release requests left hanging by the fault knobs
			if serr := srv.Shutdown(stopCtx); serr != nil {
				log.Warn("fake kolmeya: shutdown", "err", serr)
			}
			<-ticking
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", envOr(g.getenv, "RECADO_FAKE_KOLMEYA_ADDR", "127.0.0.1:9090"), "address to listen on; port 0 picks one (RECADO_FAKE_KOLMEYA_ADDR)")
	fl.StringVar(&o.Token, "token", envOr(g.getenv, "RECADO_FAKE_KOLMEYA_TOKEN", "fake-token"), "the only API token accepted (RECADO_FAKE_KOLMEYA_TOKEN)")
	fl.DurationVar(&tick, "tick", time.Second, "how often status changes are applied and webhooks posted")
	fl.DurationVar(&o.SentAfter, "sent-after", 2*time.Second, "how long a message stays \"trying\" before \"sent\"")
	fl.DurationVar(&o.FinalAfter, "final-after", 10*time.Second, "how long a message stays \"sent\" before its final status")
	fl.StringVar(&outcomes, "outcomes", "delivered=1", "weights of the final statuses: delivered=90,failed=5,rejected=3,expired=2")
	fl.IntVar(&o.RateLimit, "rate-limit", 500, "requests per --rate-window; negative for no limit")
	fl.DurationVar(&o.RateWindow, "rate-window", time.Minute, "the rate limit's window")
	fl.StringVar(&balance, "balance", "10000.00", "the account's starting balance, in reais (0 means 10000.00)")
	fl.StringVar(&price, "price", "0.07", "what each segment sent takes off the balance, in reais")
	fl.DurationVar(&f.Latency, "latency", 0, "delay every answer by this long")
	fl.IntVar(&f.FailEvery, "fail-every", 0, "answer every n-th request with a 500, doing nothing")
	fl.IntVar(&f.DropWebhookEvery, "drop-webhook-every", 0, "never post every n-th webhook")
	fl.IntVar(&f.RepeatWebhookEvery, "repeat-webhook-every", 0, "post every n-th webhook twice")
	fl.BoolVar(&f.ReorderWebhooks, "reorder-webhooks", false, "post each tick's webhooks last first")
	return cmd
}

// parseOutcomes reads "delivered=90,failed=5,rejected=3,expired=2"; a status
// left out weighs 0.
func parseOutcomes(s string) (kolmeyatest.Outcomes, error) {
	var o kolmeyatest.Outcomes
	weights := map[string]*int{"delivered": &o.Delivered, "failed": &o.Failed, "rejected": &o.Rejected, "expired": &o.Expired}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		w, known := weights[strings.ToLower(strings.TrimSpace(name))]
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if !ok || !known || err != nil || n < 0 {
			return o, fmt.Errorf("%q: want status=weight, the statuses being delivered, failed, rejected and expired", part)
		}
		*w = n
		total += n
	}
	if total == 0 {
		return o, errors.New("the weights add up to 0")
	}
	return o, nil
}
