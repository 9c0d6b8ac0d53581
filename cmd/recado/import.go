package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/store"
)

func newImport(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import data from files",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newImportContacts(g))
	return cmd
}

func newImportContacts(g *globals) *cobra.Command {
	var opts imports.Options
	var maps []string
	var rejected string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "contacts FILE",
		Short: "Import contacts from a CSV file, with a progress bar",
		Long: `Imports contacts from a CSV file (comma, semicolon or tab separated; UTF-8 or
Windows-1252) straight into the database, a chunk of rows per transaction.

Columns are mapped with --map column=target (target: name, phone, owner, tags,
external_id, ignore or field:<key>); unmapped columns are guessed from their header
(nome, telefone, celular, tags…) or kept as custom fields. A contact with the row's
external id, or else its phone, is updated; rows repeated in the file are merged.
Rejected rows are counted by reason; --rejected FILE writes them with the reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Map = map[string]string{}
			for _, m := range maps {
				col, target, ok := strings.Cut(m, "=")
				if !ok {
					return fmt.Errorf("--map %q: want column=target", m)
				}
				opts.Map[strings.TrimSpace(col)] = strings.TrimSpace(target)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
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

			var read atomic.Int64
			counted := &countReader{r: f, n: &read}
			var rows atomic.Int64
			var progress imports.Progress
			finish := func() {}
			if !quiet {
				start := time.Now()
				p := mpb.NewWithContext(ctx, mpb.WithOutput(g.stderr), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
				bar := p.New(st.Size(), mpb.BarStyle(),
					mpb.PrependDecorators(decor.Name(filepath.Base(args[0])+" "), decor.Percentage(decor.WCSyncSpace)),
					mpb.AppendDecorators(
						decor.Any(func(decor.Statistics) string {
							n := rows.Load()
							rate := float64(n) / max(time.Since(start).Seconds(), 0.001)
							return fmt.Sprintf("%d rows  %.0f rows/s", n, rate)
						}, decor.WCSyncSpace),
						decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_GO),
					))
				stop := make(chan struct{})
				go func() {
					t := time.NewTicker(100 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							bar.SetCurrent(st.Size())
							return
						case <-t.C:
							bar.SetCurrent(read.Load())
						}
					}
				}()
				finish = func() { close(stop); p.Wait() }
			}
			progress = func(c store.ImportCounts) { rows.Store(c.Rows) }
			im, err := a.Imports.RunFile(ctx, filepath.Base(args[0]), counted, st.Size(), opts, progress)
			finish() // the bar ends before the summary is printed
			if err != nil {
				return describe(err)
			}
			summary(g.stdout, im)
			if rejected != "" && im.Rejected > 0 {
				out, err := os.Create(rejected)
				if err != nil {
					return err
				}
				defer out.Close()
				if err := a.Imports.Rejected(ctx, im.ID, out); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "rejected rows written to %s\n", rejected)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.List, "list", "", "name of the list the contacts join (created when missing)")
	f.StringArrayVar(&maps, "map", nil, "column=target, repeatable (target: name, phone, owner, tags, external_id, ignore, field:<key>)")
	f.StringSliceVar(&opts.Tags, "tags", nil, "tags every imported contact gets (comma-separated)")
	f.StringVar(&opts.Delimiter, "delimiter", "", `",", ";" or "tab" (guessed from the header when empty)`)
	f.StringVar(&rejected, "rejected", "", "write the rejected rows, with the reason, to this CSV file")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

// summary prints what an import did.
func summary(w io.Writer, im store.Import) {
	fmt.Fprintf(w, "import %d: %d rows read, %d contacts new, %d updated, %d merged, %d rejected\n",
		im.ID, im.RowsDone, im.Inserted, im.Updated, im.Merged, im.Rejected)
	reasons := make([]string, 0, len(im.RejectedBy))
	for r := range im.RejectedBy {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-22s %d\n", r, im.RejectedBy[r])
	}
}

// countReader counts the bytes read through it, for the progress bar.
type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
