// Command recado is the Recado SMS platform: one binary that serves the API
// and runs the send queue (serve), and manages the database, users and
// tokens from the command line.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// env reads an environment variable; tests pass their own.
type env func(string) string

// run is the whole program: tests call it with their own arguments,
// environment and outputs, so they run exactly what the binary runs.
func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) int {
	root := newRoot(getenv, stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "recado:", err)
		return 1
	}
	return 0
}

// globals are the flags every subcommand shares.
type globals struct {
	getenv      env
	stdout      io.Writer
	stderr      io.Writer
	dataDir     string
	databaseURL string
	secretKey   string
	logLevel    string
	logFormat   string
}

func newRoot(getenv env, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{getenv: getenv, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "recado",
		Short: "Recado: a self-hosted SMS platform",
		Long: `Recado sends SMS to contacts one by one and in campaigns, tracks every message from
queued to delivered with its full history, and speaks to providers (Kolmeya, a mock)
through plug-ins. Start it with "recado serve" and open its web UI; other systems use
its REST API (documented at /api/docs) and its signed webhooks.

Every flag can also be set in the environment: --data is RECADO_DATA, and so on.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data", envOr(getenv, "RECADO_DATA", "./data"), "data folder: the SQLite database and the secret key file (RECADO_DATA)")
	pf.StringVar(&g.databaseURL, "database-url", getenv("RECADO_DATABASE_URL"), "database: empty for SQLite in the data folder, or postgres://… (RECADO_DATABASE_URL)")
	pf.StringVar(&g.logLevel, "log-level", envOr(getenv, "RECADO_LOG_LEVEL", "info"), "debug, info, warn or error (RECADO_LOG_LEVEL)")
	pf.StringVar(&g.logFormat, "log-format", envOr(getenv, "RECADO_LOG_FORMAT", "text"), "text or json (RECADO_LOG_FORMAT)")
	g.secretKey = getenv("RECADO_SECRET_KEY")
	root.AddCommand(newServe(g), newMigrate(g), newUser(g), newToken(g), newSend(g), newKolmeya(g), newFakeKolmeya(g), newBench(g),
		newBackup(g), newMigrateDB(g), newVersion(g), newImport(g), newCampaign(g))
	return root
}

func envDuration(getenv env, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

func envInt(getenv env, name string, def int) int {
	if n, err := strconv.Atoi(getenv(name)); err == nil {
		return n
	}
	return def
}

func envOr(getenv env, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
