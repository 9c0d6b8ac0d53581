package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/app"
)

func newServe(g *globals) *cobra.Command {
	var cfg app.Config
	var timezone, proxies string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run Recado: the web UI, the HTTP API and the send queue",
		Long: `Runs the web UI (/, in Portuguese or English), the REST API (/api/v1, documented at
/api/docs), health checks (/healthz, /readyz), Prometheus metrics (/metrics) and the
workers that send queued messages and run the background jobs.

On a new database it creates the manager "admin" and prints its password and an API
token once (or takes them from RECADO_ADMIN_PASSWORD and RECADO_BOOTSTRAP_TOKEN), and
configures the mock provider so that everything works with no provider account.

SIGINT or SIGTERM stops it gracefully: it stops taking work, finishes what is in
flight, and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg.DataDir, cfg.DatabaseURL, cfg.SecretKey = g.dataDir, g.databaseURL, g.secretKey
			cfg.AdminPassword = g.getenv("RECADO_ADMIN_PASSWORD")
			cfg.BootstrapToken = g.getenv("RECADO_BOOTSTRAP_TOKEN")
			cfg.Version, cfg.Logger, cfg.Out = version, log, g.stdout
			loc, err := time.LoadLocation(timezone)
			if err != nil {
				return fmt.Errorf("--timezone %q: %w", timezone, err)
			}
			cfg.Location = loc
			if cfg.TrustedProxies, err = parseProxies(proxies); err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", envOr(g.getenv, "RECADO_ADDR", "127.0.0.1:8080"), "address to listen on (RECADO_ADDR)")
	f.StringVar(&cfg.PublicURL, "public-url", g.getenv("RECADO_PUBLIC_URL"), "Recado's public base URL, used in the webhook URLs given to providers (RECADO_PUBLIC_URL)")
	f.DurationVar(&cfg.Dispatch.SendTimeout, "send-timeout", envDuration(g.getenv, "RECADO_SEND_TIMEOUT", 2*time.Minute), "how long one send attempt to a provider may take; a batch whose worker died is sent again after about this long (RECADO_SEND_TIMEOUT)")
	f.StringVar(&proxies, "trusted-proxies", g.getenv("RECADO_TRUSTED_PROXIES"), "reverse proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For gives the client's address, for sign-in throttling (RECADO_TRUSTED_PROXIES)")
	f.StringVar(&timezone, "timezone", envOr(g.getenv, "RECADO_TIMEZONE", "America/Sao_Paulo"), "time zone the web UI shows dates in (RECADO_TIMEZONE)")
	f.IntVar(&cfg.Dispatch.Workers, "workers", envInt(g.getenv, "RECADO_WORKERS", 4), "batches sent at once (RECADO_WORKERS)")
	return cmd
}

// parseProxies reads comma-separated addresses and CIDR prefixes.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR prefix", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
