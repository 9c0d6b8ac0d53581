package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// openApp builds the app on the configured database for a command that
// works on it directly.
func (g *globals) openApp(ctx context.Context) (*app.App, error) {
	log, err := g.logger()
	if err != nil {
		return nil, err
	}
	return app.New(ctx, app.Config{DataDir: g.dataDir, DatabaseURL: g.databaseURL, SecretKey: g.secretKey,
		Logger: log, Out: g.stderr, Version: version})
}

func newCampaign(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "Create, start, pause, resume and cancel campaigns, and follow them",
		Long: `Works on the database directly; a running "recado serve" on the same database
sends what a started campaign feeds.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCampaignCreate(g), newCampaignStatus(g), newCampaignDryRun(g))
	for _, a := range []struct {
		name, short string
		fn          func(*campaign.Service) func(context.Context, int64) (store.Campaign, error)
	}{
		{"start", "Start a draft now, or at its schedule", func(s *campaign.Service) func(context.Context, int64) (store.Campaign, error) { return s.Start }},
		{"pause", "Pause a running or scheduled campaign", func(s *campaign.Service) func(context.Context, int64) (store.Campaign, error) { return s.Pause }},
		{"resume", "Resume a paused campaign where it stopped", func(s *campaign.Service) func(context.Context, int64) (store.Campaign, error) { return s.Resume }},
		{"cancel", "Cancel a campaign: unsent recipients dropped, queued messages canceled", func(s *campaign.Service) func(context.Context, int64) (store.Campaign, error) { return s.Cancel }},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   a.name + " ID",
			Short: a.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					return fmt.Errorf("campaign id %q: %w", args[0], err)
				}
				ap, err := g.openApp(cmd.Context())
				if err != nil {
					return err
				}
				defer ap.Close()
				c, err := a.fn(ap.Campaigns)(cmd.Context(), id)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(g.stdout, "campaign %d %q is %s\n", c.ID, c.Name, c.State)
				return nil
			},
		})
	}
	return cmd
}

func newCampaignCreate(g *globals) *cobra.Command {
	var name, body, provider, kind, schedule, capSpec, onMissing string
	var template int64
	var lists, tags []string
	var segments, importIDs []int64
	var rate int
	var vars []string
	cmd := &cobra.Command{
		Use:   "create --name NAME (--body TEXT | --template ID) --list NAME...",
		Short: "Create a campaign as a draft",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ap, err := g.openApp(ctx)
			if err != nil {
				return err
			}
			defer ap.Close()
			in := campaign.Input{Name: &name, Audience: &store.Audience{Tags: tags, Segments: segments, Imports: importIDs},
				RatePerMinute: &rate, OnMissing: &onMissing}
			for _, l := range lists {
				lst, err := ap.DB.ListByName(ctx, l)
				if err != nil {
					return err
				}
				in.Audience.Lists = append(in.Audience.Lists, lst.ID)
			}
			if body != "" {
				in.Body = &body
			}
			if template != 0 {
				in.TemplateID = &template
			}
			if provider != "" {
				in.Provider = &provider
			}
			if kind != "" {
				k := sms.MessageKind(kind)
				in.Kind = &k
			}
			if schedule != "" {
				t, err := time.Parse(time.RFC3339, schedule)
				if err != nil {
					return fmt.Errorf("--schedule: an RFC 3339 time such as 2026-12-01T09:00:00-03:00")
				}
				in.ScheduleAt = &t
			}
			if capSpec != "" {
				n, d, ok := strings.Cut(capSpec, "/")
				cn, err1 := strconv.Atoi(n)
				cd, err2 := strconv.Atoi(d)
				if !ok || err1 != nil || err2 != nil {
					return fmt.Errorf("--cap: N/D, at most N marketing messages per contact in D days")
				}
				in.CapMessages, in.CapDays = &cn, &cd
			}
			if len(vars) > 0 {
				in.Vars = map[string]string{}
				for _, v := range vars {
					k, x, _ := strings.Cut(v, "=")
					in.Vars[k] = x
				}
			}
			c, err := ap.Campaigns.Create(ctx, in, nil)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(g.stdout, "campaign %d %q created as a draft; see it with \"recado campaign dry-run %d\", start it with \"recado campaign start %d\"\n",
				c.ID, c.Name, c.ID, c.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the campaign's name")
	f.StringVar(&body, "body", "", "the text, with placeholders such as {{primeiro_nome}}")
	f.Int64Var(&template, "template", 0, "copy the body of this template")
	f.StringArrayVar(&lists, "list", nil, "a list of the audience, by name (repeatable)")
	f.StringArrayVar(&tags, "tag", nil, "a tag of the audience (repeatable)")
	f.Int64SliceVar(&segments, "segment", nil, "a segment (saved filter) of the audience, by id")
	f.Int64SliceVar(&importIDs, "import", nil, "an import of the audience, by id")
	f.StringVar(&provider, "provider", "", "provider name (the default provider when empty)")
	f.StringVar(&kind, "kind", "", "marketing (default) or transactional")
	f.StringVar(&schedule, "schedule", "", "start at this time (RFC 3339)")
	f.IntVar(&rate, "rate", 0, "most messages per minute (0: no limit)")
	f.StringVar(&capSpec, "cap", "", "frequency cap N/D: at most N marketing messages per contact in D days")
	f.StringVar(&onMissing, "on-missing", "skip", "a contact without a value for a placeholder: skip, or blank")
	f.StringArrayVar(&vars, "var", nil, "a campaign variable name=value (repeatable)")
	return cmd
}

func campaignID(args []string) (int64, error) {
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("campaign id %q: %w", args[0], err)
	}
	return id, nil
}

func newCampaignDryRun(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "dry-run ID",
		Short: "What the campaign would do now: recipients, skipped by reason, segments, cost, samples",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := campaignID(args)
			if err != nil {
				return err
			}
			ap, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer ap.Close()
			d, err := ap.Campaigns.DryRun(cmd.Context(), id)
			if err != nil {
				return describe(err)
			}
			w := g.stdout
			fmt.Fprintf(w, "audience %d: %d would get it, %d skipped\n", d.Audience, d.Recipients, d.Skipped)
			printCounts(w, d.SkippedBy)
			fmt.Fprintf(w, "segments %d, cost R$ %s at %s (R$ %s a segment); folding accents: %d segments, saves R$ %s\n",
				d.Segments, d.CostText, d.Provider, d.PerSegmentPrice, d.FoldedSegments, d.Saving)
			if !d.WindowOpen && d.NextWindow != nil {
				fmt.Fprintf(w, "the sending window is closed; it opens %s\n", d.NextWindow.In(sms.SaoPaulo).Format("2006-01-02 15:04"))
			}
			for _, s := range d.Samples {
				fmt.Fprintf(w, "  %s: %s\n", s.Phone, s.Text)
			}
			return nil
		},
	}
}

func newCampaignStatus(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status [ID]",
		Short: "A campaign's state and live figures, or the list of campaigns",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ap, err := g.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer ap.Close()
			w := g.stdout
			if len(args) == 0 {
				cs, err := ap.DB.ListCampaigns(cmd.Context(), nil, 50)
				if err != nil {
					return err
				}
				for _, c := range cs {
					fmt.Fprintf(w, "%6d  %-10s %-30s recipients %d, fed %d, skipped %d\n", c.ID, c.State, c.Name, c.Recipients, c.Fed, c.Skipped)
				}
				return nil
			}
			id, err := campaignID(args)
			if err != nil {
				return err
			}
			st, err := ap.Campaigns.Stats(cmd.Context(), id)
			if err != nil {
				return describe(err)
			}
			c := st.Campaign
			fmt.Fprintf(w, "campaign %d %q: %s\n", c.ID, c.Name, c.State)
			fmt.Fprintf(w, "recipients %d: %d fed, %d pending, %d skipped\n", c.Recipients, c.Fed, st.Pending, c.Skipped)
			printCounts(w, c.SkippedBy)
			fmt.Fprintln(w, "messages:")
			printCounts(w, st.Messages.ByState)
			if len(st.Messages.Failures) > 0 {
				fmt.Fprintln(w, "failures:")
				printCounts(w, st.Messages.Failures)
			}
			fmt.Fprintf(w, "replies %d, opt-outs %d, segments %d, cost R$ %s, delivery rate %.1f%%\n",
				st.Messages.Replies, st.Messages.OptOuts, st.Messages.Segments, st.Messages.CostText, 100*st.Rate)
			return nil
		},
	}
}

func printCounts(w interface{ Write([]byte) (int, error) }, m map[string]int64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-20s %d\n", k, m[k])
	}
}
