package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/recado-sms/recado/internal/bench"
)

func newBench(g *globals) *cobra.Command {
	var (
		cfg       bench.Config
		scenarios string
		jsonFile  string
		profile   string
	)
	all := bench.Builtin()
	var names, docs []string
	for _, s := range all {
		names = append(names, s.Name)
		docs = append(docs, fmt.Sprintf("  %-9s %s (default -n %d)", s.Name, s.Doc, s.DefaultN))
	}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Recado: start a fake Kolmeya and Recado on loopback and run load scenarios",
		Long: `Starts a fake Kolmeya and a whole Recado in this process, on loopback, on SQLite in a
temporary folder (or, with --database-url, on an empty PostgreSQL database), and runs
the named scenarios one after the other:

` + strings.Join(docs, "\n") + `

For each it prints the throughput, the p50/p99/max latency of its requests, the CPU
seconds of the whole process (Recado, the fake and the load generator; not
PostgreSQL's) and its peak Go heap and resident set. The campaign scenario's fake Kolmeya
keeps only a count per recipient, so that the memory is Recado's. --json writes the same
with the machine's description. See docs/BENCHMARKS.md for figures and how they were made.`,
		Example: `  recado bench
  recado bench --scenario webhooks -n 100000
  recado bench --scenario send:20000,webhooks:100000,api:5000
  recado bench --scenario api --rate 1000 -n 20000 --json api.json
  recado bench --scenario campaign:200000
  recado bench --database-url postgres://postgres@127.0.0.1/recado_bench`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			chosen, err := bench.Select(all, scenarios)
			if err != nil {
				return err
			}
			log, err := g.benchLogger()
			if err != nil {
				return err
			}
			cfg.DatabaseURL, cfg.Logger, cfg.Progress = g.databaseURL, log, g.stderr
			if cfg.SendShare == 0 {
				cfg.SendShare = -1 // reads only (0 means the default in bench.Config)
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			at, machine := time.Now(), bench.ThisMachine()
			fmt.Fprintf(g.stdout, "%d × %s, %s, %s/%s, load average %.2f at the start\n",
				machine.CPUs, machine.CPU, machine.Go, machine.OS, machine.Arch, machine.LoadAverage)
			results, runErr := bench.Run(cmd.Context(), cfg, chosen)
			if len(results) > 0 {
				if err := bench.WriteTable(g.stdout, results); err != nil {
					return err
				}
			}
			if jsonFile != "" && len(results) > 0 {
				f, err := os.Create(jsonFile)
				if err != nil {
					return err
				}
				rep := bench.Report{At: at, Command: commandLine(cmd, g), Machine: machine, Results: results}
				if err := bench.WriteJSON(f, rep); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			return runErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenarios, "scenario", strings.Join(names, ","), "scenarios to run, comma-separated, each with its own size if you like (webhooks:100000): "+strings.Join(names, ", "))
	f.IntVarP(&cfg.N, "count", "n", 0, "size of each scenario (messages, webhooks, requests or campaign recipients); 0 for each one's default")
	f.IntVar(&cfg.Concurrency, "concurrency", 0, "clients at once for send and webhooks; 0 for each one's default (2 and 64)")
	f.IntVar(&cfg.Rate, "rate", 1000, "requests per second of the open-loop api scenario")
	f.Float64Var(&cfg.SendShare, "sends", 0.5, "share of the api scenario's requests that are single sends (the rest are reads); 0 for reads only")
	f.IntVar(&cfg.Workers, "workers", 4, "batches Recado sends at once (the campaign scenario's load)")
	f.IntVar(&cfg.PerWebhook, "per-webhook", 1, "status reports per webhook in the webhooks scenario: 1 posts Kolmeya's flat shape, more its documented shape with a messages array")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	f.StringVar(&jsonFile, "json", "", "also write the results, with the machine's description, to this JSON file")
	return cmd
}

// benchLogger is the global logger, quieter by default: the bench's own
// output is its table, and Recado's info lines would drown it.
func (g *globals) benchLogger() (*slog.Logger, error) {
	if g.logLevel == "info" {
		saved := g.logLevel
		g.logLevel = "warn"
		defer func() { g.logLevel = saved }()
	}
	return g.logger()
}

// commandLine renders the bench's command line for the report, without the
// database URL's credentials.
func commandLine(cmd *cobra.Command, g *globals) string {
	parts := []string{"recado", "bench"}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "database-url" {
			parts = append(parts, "--"+f.Name+"="+f.Value.String())
		}
	})
	if g.databaseURL != "" {
		parts = append(parts, "--database-url=postgres://…")
	}
	return strings.Join(parts, " ")
}
