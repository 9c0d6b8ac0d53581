package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
)

func newSend(g *globals) *cobra.Command {
	var req dispatch.Request
	var kind string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "send --to PHONE --body TEXT",
		Short: "Queue one SMS from the command line (a running serve sends it)",
		Long: `Stores one SMS as queued in the database; a running "recado serve" on the same
database sends it. With --wait, this command sends it itself and waits until the
message reaches a final state (delivered, failed, …) or the time runs out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			a, err := app.New(ctx, app.Config{DataDir: g.dataDir, DatabaseURL: g.databaseURL, SecretKey: g.secretKey,
				Logger: log, Out: g.stderr, Version: version})
			if err != nil {
				return err
			}
			defer a.Close()
			req.Kind = sms.MessageKind(kind)
			ms, err := a.Dispatch.Submit(ctx, []dispatch.Request{req})
			if err != nil {
				return describe(err)
			}
			m := ms[0]
			fmt.Fprintf(g.stdout, "message %d queued to %s via %s (%d segment(s), %s, reference %s)\n",
				m.ID, m.Phone, m.Provider, m.Segments, m.Encoding, m.Reference)
			if wait <= 0 {
				return nil
			}
			if err := a.Dispatch.Start(ctx); err != nil {
				return err
			}
			defer a.Dispatch.Stop(context.Background())
			deadline := time.After(wait)
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-deadline:
					return fmt.Errorf("message %d is still %s after %s", m.ID, m.State, wait)
				case <-tick.C:
				}
				if m, err = a.DB.GetMessage(ctx, m.ID); err != nil {
					return err
				}
				if m.State.Final() {
					fmt.Fprintf(g.stdout, "message %d %s", m.ID, m.State)
					if m.ErrorText != "" {
						fmt.Fprintf(g.stdout, ": %s", m.ErrorText)
					}
					fmt.Fprintln(g.stdout)
					return nil
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.To, "to", "", "phone number (Brazilian when it has no country code)")
	f.StringVar(&req.Body, "body", "", "the text")
	f.StringVar(&req.Provider, "provider", "", "provider name (the default provider when empty)")
	f.StringVar(&kind, "kind", "marketing", "marketing or transactional")
	f.StringVar(&req.Reference, "reference", "", "your unique reference (generated when empty)")
	f.DurationVar(&wait, "wait", 0, "send it from this process and wait up to this long for a final state")
	return cmd
}

// describe spells out the bad fields of an invalid request.
func describe(err error) error {
	e, ok := err.(*sms.Error)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return fmt.Errorf("%s", msg)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}
