package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/store"
)

func newMigrateDB(g *globals) *cobra.Command {
	var from, to string
	var batch int
	var quiet bool
	cmd := &cobra.Command{
		Use:   "migrate-db --from sqlite:PATH --to postgres://…",
		Short: "Move Recado from SQLite to PostgreSQL, every table and the jobs still to run",
		Long: `Copies a SQLite database (stop Recado on it first) into an empty PostgreSQL database:
both are brought to this recado's schema, then every table is copied, parents before
the tables that refer to them, in batches through PostgreSQL's COPY, in one
transaction (if anything fails the destination stays empty). Each id sequence is moved
past the largest id copied. The queue's jobs still to run (sends waiting, scheduled or
retrying, blacklist syncs) are carried over with their schedule; finished jobs and the
periodic polls (enqueued anew) are not. At the end the rows of each table are counted
on both sides.

Provider secrets stay sealed with the same key: start Recado on PostgreSQL with the same
RECADO_SECRET_KEY, or the same data folder (its secret.key). See docs/OPERATIONS.md.`,
		Example: `  recado migrate-db --from sqlite:/var/lib/recado/recado.db --to postgres://recado:…@db.internal/recado`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			path, ok := strings.CutPrefix(from, "sqlite:")
			if !ok || path == "" {
				return errors.New("--from must be sqlite:PATH, the SQLite database file")
			}
			if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
				return errors.New("--to must be a postgres:// URL of an empty database")
			}
			src, err := store.Open(ctx, path, store.Options{})
			if err != nil {
				return fmt.Errorf("the SQLite database: %w", err)
			}
			defer src.Close()
			dst, err := store.Open(ctx, to, store.Options{})
			if err != nil {
				return fmt.Errorf("the PostgreSQL database: %w", err)
			}
			defer dst.Close()
			log := slog.New(slog.DiscardHandler)
			for _, db := range []*store.DB{src, dst} {
				if err := dispatch.MigrateQueue(ctx, db, log); err != nil {
					return err
				}
			}
			var progress store.CopyProgress
			var p *mpb.Progress
			if !quiet {
				p = mpb.NewWithContext(ctx, mpb.WithOutput(g.stderr), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
				progress = tableBars(p)
			}
			start := time.Now()
			rep, err := src.CopyTo(ctx, dst, batch, progress)
			if p != nil {
				p.Wait()
			}
			if err != nil {
				return err
			}
			return reportCopy(ctx, g.stdout, rep, dst, time.Since(start))
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the SQLite database: sqlite:PATH")
	f.StringVar(&to, "to", "", "the empty PostgreSQL database: postgres://user:pass@host/db")
	f.IntVar(&batch, "batch", 5000, "rows per COPY batch")
	f.BoolVar(&quiet, "quiet", false, "no progress bars")
	return cmd
}

// tableBars shows a progress bar per table as its copy begins.
func tableBars(p *mpb.Progress) store.CopyProgress {
	var mu sync.Mutex
	bars := map[string]*mpb.Bar{}
	return func(table string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		b, ok := bars[table]
		if !ok {
			b = p.AddBar(max(total, 1), mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-20s", table)), decor.CountersNoUnit("%d / %d", decor.WCSyncSpace)),
				mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace)))
			bars[table] = b
		}
		if total == 0 {
			b.SetTotal(1, true)
			return
		}
		b.SetCurrent(done)
		if done >= total {
			b.SetTotal(total, true)
		}
	}
}

// reportCopy prints what was copied and checks the destination's counts.
func reportCopy(ctx context.Context, w io.Writer, rep store.CopyReport, dst *store.DB, took time.Duration) error {
	var rows int64
	var wrong []string
	fmt.Fprintf(w, "%-22s %12s\n", "TABLE", "ROWS")
	for _, t := range rep.Tables {
		var n int64
		if err := dst.Reader().QueryRowContext(ctx, `SELECT count(*) FROM "`+t.Name+`"`).Scan(&n); err != nil {
			return err
		}
		if n != t.Rows {
			wrong = append(wrong, fmt.Sprintf("%s: %d copied, %d there", t.Name, t.Rows, n))
		}
		rows += t.Rows
		fmt.Fprintf(w, "%-22s %12d\n", t.Name, t.Rows)
	}
	fmt.Fprintf(w, "%d rows in %d tables in %s; %d queue jobs carried over, %d finished or periodic left behind\n",
		rows, len(rep.Tables), took.Round(time.Millisecond), rep.Jobs, rep.JobsLeft)
	if len(wrong) > 0 {
		return fmt.Errorf("the destination's counts differ: %s", strings.Join(wrong, "; "))
	}
	fmt.Fprintln(w, "counts checked on PostgreSQL. Start Recado with --database-url pointing at it, and the same secret key.")
	return nil
}
