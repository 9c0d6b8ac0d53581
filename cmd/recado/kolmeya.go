package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// kolmeyaCmd holds what every `recado kolmeya` subcommand shares.
type kolmeyaCmd struct {
	g        *globals
	provider string
	json     bool
}

func newKolmeya(g *globals) *cobra.Command {
	k := &kolmeyaCmd{g: g}
	cmd := &cobra.Command{
		Use:   "kolmeya",
		Short: "Ask a Kolmeya provider's account directly: balance, catalogue, statuses, replies, reports, blacklist",
		Long: `Calls Kolmeya's API with the settings (token, base URL) of a Kolmeya provider configured
in Recado, read from the database as "recado serve" reads them. Nothing is changed in
Recado, except that "blacklist sync" queues a push of Recado's blacklist; "blacklist add"
and "blacklist remove" change Kolmeya's blacklist only.

Tables are for people; --json prints the answers as JSON for scripts.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&k.provider, "provider", "kolmeya", "the name of the Kolmeya provider in Recado")
	pf.BoolVar(&k.json, "json", false, "print JSON instead of a table")
	cmd.AddCommand(k.balance(), k.segments(), k.apis(), k.layouts(), k.status(), k.replies(), k.report(), k.blacklist())
	return cmd
}

// with opens Recado, finds the provider and calls fn with its client.
func (k *kolmeyaCmd) with(cmd *cobra.Command, fn func(ctx context.Context, c *kolmeya.Client) error) error {
	return k.withApp(cmd, func(ctx context.Context, a *app.App) error {
		p, rec, err := a.Providers.Lookup(ctx, k.provider)
		if err != nil {
			return err
		}
		kp, ok := p.(*kolmeya.Provider)
		if !ok {
			return fmt.Errorf("provider %q is of type %s, not kolmeya (choose one with --provider)", k.provider, rec.Type)
		}
		return fn(ctx, kp.Client())
	})
}

// withApp opens Recado as "recado serve" does, without serving, and calls
// fn with it.
func (k *kolmeyaCmd) withApp(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	log, err := k.g.logger()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	a, err := app.New(ctx, app.Config{DataDir: k.g.dataDir, DatabaseURL: k.g.databaseURL, SecretKey: k.g.secretKey,
		Logger: log, Out: k.g.stderr, Version: version})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(ctx, a)
}

// print writes v as JSON with --json, else the table.
func (k *kolmeyaCmd) print(v any, table func(w io.Writer)) error {
	if k.json {
		enc := json.NewEncoder(k.g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(k.g.stdout, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

func (k *kolmeyaCmd) balance() *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Print the account's balance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				m, err := c.Balance(ctx)
				if err != nil {
					return err
				}
				v := map[string]string{"provider": k.provider, "balance": m.String(), "brl": m.BRL()}
				return k.print(v, func(w io.Writer) { fmt.Fprintf(w, "%s\t%s\n", k.provider, m.BRL()) })
			})
		},
	}
}

func (k *kolmeyaCmd) segments() *cobra.Command {
	return &cobra.Command{
		Use:   "segments",
		Short: "List the account's cost centres (the segment_id setting)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				list, err := c.Segments(ctx)
				if err != nil {
					return err
				}
				return k.print(list, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME")
					for _, s := range list {
						fmt.Fprintf(w, "%d\t%s\n", s.ID, s.Name)
					}
				})
			})
		},
	}
}

func (k *kolmeyaCmd) apis() *cobra.Command {
	return &cobra.Command{
		Use:   "apis",
		Short: "List the account's sending routes (the sms_api_id setting)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				list, err := c.APIs(ctx)
				if err != nil {
					return err
				}
				return k.print(list, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME")
					for _, a := range list {
						fmt.Fprintf(w, "%d\t%s\n", a.ID, a.Name)
					}
				})
			})
		},
	}
}

func (k *kolmeyaCmd) layouts() *cobra.Command {
	return &cobra.Command{
		Use:   "layouts",
		Short: "List the account's file-import layouts (used by Kolmeya's web panel, not by Recado)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				list, err := c.Layouts(ctx)
				if err != nil {
					return err
				}
				return k.print(list, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME\tCOLUMNS")
					for _, l := range list {
						items := append([]kolmeya.LayoutItem(nil), l.Items...)
						sort.Slice(items, func(i, j int) bool { return items[i].Position < items[j].Position })
						cols := make([]string, len(items))
						for i, it := range items {
							cols[i] = fmt.Sprintf("%d %s (%s)", it.Position, it.Name, it.Type)
						}
						fmt.Fprintf(w, "%d\t%s\t%s\n", l.ID, l.Name, strings.Join(cols, ", "))
					}
				})
			})
		},
	}
}

func (k *kolmeyaCmd) status() *cobra.Command {
	return &cobra.Command{
		Use:   "status REQUEST_ID_OR_REFERENCE",
		Short: "Show a send request and its messages, by Kolmeya's request id or the reference Recado sent",
		Long: `Asks Kolmeya for a send request by its id (the provider_job_id of Recado's messages)
and, when Kolmeya knows no such id, by the top-level reference Recado sent with it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				st, err := c.StatusByRequestID(ctx, args[0])
				if unknownToKolmeya(err) {
					st, err = c.StatusByReference(ctx, args[0])
				}
				if unknownToKolmeya(err) {
					return fmt.Errorf("no request with id or reference %q on Kolmeya", args[0])
				}
				if err != nil {
					return err
				}
				return k.print(st, func(w io.Writer) {
					fmt.Fprintf(w, "request %s\treference %s\tstatus %s (%d)\n\n", st.ID, orDash(string(st.Reference)), st.Status, st.StatusCode)
					fmt.Fprintln(w, "MESSAGE ID\tREFERENCE\tPHONE\tCODE\tKOLMEYA STATUS\tRECADO STATE")
					for _, m := range st.Messages {
						state, ok := kolmeya.StateForCode(int(m.StatusCode))
						if !ok {
							state = "?"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, orDash(string(m.Reference)), orDash(string(m.Phone)),
							m.StatusCode, m.Status, state)
					}
				})
			})
		},
	}
}

// unknownToKolmeya reports whether err is Kolmeya saying it knows no such
// request (404, or 422 as it may answer).
func unknownToKolmeya(err error) bool {
	var se *sms.Error
	return errors.As(err, &se) && se.Kind == sms.KindProviderPermanent &&
		(se.Code == kolmeya.CodeNotFound || se.Code == kolmeya.CodeValidation)
}

func (k *kolmeyaCmd) replies() *cobra.Command {
	var hours int
	cmd := &cobra.Command{
		Use:   "replies",
		Short: "List the replies Kolmeya holds (it keeps them 7 days); Recado does not store them yet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hours < 1 || hours > kolmeya.MaxReplyPeriodHours {
				return fmt.Errorf("--hours must be 1 to %d, not %d", kolmeya.MaxReplyPeriodHours, hours)
			}
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				list, err := c.Replies(ctx, hours)
				if err != nil {
					return err
				}
				return k.print(list, func(w io.Writer) {
					fmt.Fprintln(w, "RECEIVED\tPHONE\tREFERENCE\tREPLY")
					for _, r := range list {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", kolmeyaTime(r.ReceivedAt), r.Message.Phone,
							orDash(string(r.Message.Reference)), oneLine(string(r.Text), 60))
					}
					fmt.Fprintf(w, "\n%d repl%s in the last %d hours\n", len(list), plural(len(list), "y", "ies"), hours)
				})
			})
		},
	}
	cmd.Flags().IntVar(&hours, "hours", 24, "how many hours back, at most 168")
	return cmd
}

func (k *kolmeyaCmd) report() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "report --from DATE --to DATE",
		Short: "List the messages sent in a period, with their status, from Kolmeya's reports",
		Long: `Lists every message Kolmeya sent for the account from --from to --to, given as
YYYY-MM-DD or "YYYY-MM-DD HH:MM" in São Paulo time; a --to without a time means the
end of that day. Periods longer than Kolmeya's 7 days are asked in pieces.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start, err := parseReportDate(from, false)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			end, err := parseReportDate(to, true)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if end.Before(start) {
				return fmt.Errorf("--to is before --from")
			}
			return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
				rows, err := c.ReportStatuses(ctx, start, end)
				if err != nil && !errors.Is(err, kolmeya.ErrReportTruncated) {
					return err
				}
				counts := map[string]int{}
				for _, r := range rows {
					counts[string(r.Status)]++
				}
				perr := k.print(rows, func(w io.Writer) {
					fmt.Fprintln(w, "SENT AT\tPHONE\tSTATUS\tJOB\tBATCH\tCOST CENTRE\tMESSAGE")
					for _, r := range rows {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", kolmeyaTime(r.SentAt), r.Phone, r.Status,
							r.Job, orDash(string(r.Batch)), r.CostCenter, oneLine(string(r.Message), 40))
					}
					statuses := make([]string, 0, len(counts))
					for s := range counts {
						statuses = append(statuses, s)
					}
					sort.Strings(statuses)
					parts := make([]string, len(statuses))
					for i, s := range statuses {
						parts[i] = fmt.Sprintf("%s %d", s, counts[s])
					}
					fmt.Fprintf(w, "\n%d message%s", len(rows), plural(len(rows), "", "s"))
					if len(parts) > 0 {
						fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
					}
					fmt.Fprintln(w)
				})
				return errors.Join(perr, err)
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start: YYYY-MM-DD or \"YYYY-MM-DD HH:MM\", São Paulo time (required)")
	cmd.Flags().StringVar(&to, "to", "", "end, inclusive: YYYY-MM-DD (the whole day) or \"YYYY-MM-DD HH:MM\" (required)")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// parseReportDate reads a report bound in São Paulo time; a date alone is
// its first minute, or its last when end is set.
func parseReportDate(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, kolmeya.SaoPaulo()); err == nil {
			return t, nil
		}
	}
	t, err := time.ParseInLocation("2006-01-02", s, kolmeya.SaoPaulo())
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or \"YYYY-MM-DD HH:MM\"", s)
	}
	if end {
		t = t.AddDate(0, 0, 1).Add(-time.Minute)
	}
	return t, nil
}

func (k *kolmeyaCmd) blacklist() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blacklist",
		Short: "Recado's blacklist and Kolmeya's: list, sync, or change Kolmeya's directly",
		Long: `Recado's blacklist is the truth: every change made to it (POST and DELETE
/api/v1/blacklist, opt-out replies, numbers Kolmeya refuses as blacklisted) is pushed to
Kolmeya by "recado serve" in the background. "list" shows Recado's list (Kolmeya has no
endpoint that lists its own); "sync" asks "recado serve" to push the whole list again, as
after changing a provider's token to another account.

"add" and "remove" change Kolmeya's blacklist only, directly, and not Recado's: the next
whole-list sync puts back any number Recado holds.`,
	}
	var document string
	change := func(use, short, done string, call func(*kolmeya.Client, context.Context, []kolmeya.BlacklistEntry) error) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " PHONE...",
			Short: short,
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				entries := make([]kolmeya.BlacklistEntry, len(args))
				for i, p := range args {
					entries[i] = kolmeya.BlacklistEntry{Phone: p, Document: document}
				}
				return k.with(cmd, func(ctx context.Context, c *kolmeya.Client) error {
					if err := call(c, ctx, entries); err != nil {
						return err
					}
					v := map[string]any{"provider": k.provider, "action": use, "phones": len(entries)}
					return k.print(v, func(w io.Writer) {
						fmt.Fprintf(w, "%d phone%s %s Kolmeya's blacklist (provider %q)\n", len(entries), plural(len(entries), "", "s"), done, k.provider)
					})
				})
			},
		}
		c.Flags().StringVar(&document, "document", "", "a CPF: the change applies to that person's messages only")
		return c
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Show Recado's blacklist (Kolmeya's own cannot be listed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.withApp(cmd, func(ctx context.Context, a *app.App) error {
				var all []store.BlacklistEntry
				for after := ""; ; {
					page, err := a.DB.ListBlacklist(ctx, store.BlacklistFilter{After: after, Limit: 1000})
					if err != nil {
						return err
					}
					all = append(all, page...)
					if len(page) < 1000 {
						break
					}
					after = page[len(page)-1].Phone
				}
				return k.print(all, func(w io.Writer) {
					fmt.Fprintf(w, "Recado's blacklist, %d number%s (the truth, pushed to Kolmeya; Kolmeya's own cannot be listed)\n",
						len(all), plural(len(all), "", "s"))
					fmt.Fprintln(w, "PHONE\tSOURCE\tADDED\tREASON")
					for _, e := range all {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Phone, e.Source,
							e.CreatedAt.In(kolmeya.SaoPaulo()).Format("2006-01-02 15:04"), orDash(oneLine(e.Reason, 60)))
					}
				})
			})
		},
	}
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Queue a push of Recado's whole blacklist to the provider (done by recado serve)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.withApp(cmd, func(ctx context.Context, a *app.App) error {
				if err := a.Dispatch.RequestBlacklistSync(ctx, k.provider, true); err != nil {
					return err
				}
				v := map[string]any{"provider": k.provider, "action": "sync", "queued": true}
				return k.print(v, func(w io.Writer) {
					fmt.Fprintf(w, "queued: recado serve pushes Recado's whole blacklist to provider %q\n", k.provider)
				})
			})
		},
	}
	cmd.AddCommand(
		change("add", "Add phones to Kolmeya's blacklist only (not Recado's)", "added to", (*kolmeya.Client).BlacklistStore),
		change("remove", "Remove phones from Kolmeya's blacklist only (not Recado's)", "removed from", (*kolmeya.Client).BlacklistDestroy),
		list, sync)
	return cmd
}

// kolmeyaTime writes a Kolmeya timestamp in São Paulo time, or what Kolmeya
// sent when it could not be read.
func kolmeyaTime(t kolmeya.Time) string {
	if t.IsZero() {
		return orDash(t.Raw)
	}
	return t.In(kolmeya.SaoPaulo()).Format("2006-01-02 15:04")
}

// oneLine fits a text on one table line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
