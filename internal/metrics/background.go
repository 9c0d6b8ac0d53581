package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics of the background jobs: runs of the status and reply polls,
// blacklist syncs and balance checks by outcome, and providers' balances.

func newBackgroundCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recado_provider_background_total",
		Help: "Background calls to providers, by provider, job (status_poll, reply_poll, blacklist_sync, balance) and result (ok, error).",
	}, []string{"provider", "job", "result"})
}

// Background counts one background call to a provider with its result.
func (m *Metrics) Background(provider, job, result string) {
	if m == nil {
		return
	}
	m.background.WithLabelValues(provider, job, result).Inc()
}

// Balance is a provider's last known balance.
type Balance struct {
	Provider  string
	BRL       float64   // in reais
	Threshold *float64  // the low-balance threshold in reais, when set
	Low       bool      // below the threshold
	CheckedAt time.Time // when it was read from the provider
}

// BalanceSource gives the providers' balances at scrape time.
type BalanceSource interface {
	ProviderBalances(ctx context.Context) ([]Balance, error)
}

var (
	balanceDesc = prometheus.NewDesc("recado_provider_balance_brl",
		"A provider's last known balance, in BRL.", []string{"provider"}, nil)
	balanceLowDesc = prometheus.NewDesc("recado_provider_balance_low",
		"1 when a provider's last known balance is below its low_balance_threshold, else 0.", []string{"provider"}, nil)
	balanceThresholdDesc = prometheus.NewDesc("recado_provider_balance_threshold_brl",
		"A provider's low_balance_threshold, in BRL, when set.", []string{"provider"}, nil)
	balanceCheckedDesc = prometheus.NewDesc("recado_provider_balance_checked_timestamp_seconds",
		"When a provider's balance was last read from it, in Unix seconds.", []string{"provider"}, nil)
)

// WatchBalances registers gauges of the providers' balances, read from src
// at each scrape, so that every instance shows the same figures whichever
// checked them. A nil *Metrics ignores it.
func (m *Metrics) WatchBalances(src BalanceSource, log *slog.Logger) {
	if m == nil || src == nil {
		return
	}
	m.Registry.MustRegister(&balanceCollector{src: src, log: log})
}

type balanceCollector struct {
	src BalanceSource
	log *slog.Logger
}

func (c *balanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- balanceDesc
	ch <- balanceLowDesc
	ch <- balanceThresholdDesc
	ch <- balanceCheckedDesc
}

func (c *balanceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bs, err := c.src.ProviderBalances(ctx)
	if err != nil {
		if c.log != nil {
			c.log.Warn("metrics: provider balances", "err", err)
		}
		return
	}
	for _, b := range bs {
		ch <- prometheus.MustNewConstMetric(balanceDesc, prometheus.GaugeValue, b.BRL, b.Provider)
		low := 0.0
		if b.Low {
			low = 1
		}
		ch <- prometheus.MustNewConstMetric(balanceLowDesc, prometheus.GaugeValue, low, b.Provider)
		if b.Threshold != nil {
			ch <- prometheus.MustNewConstMetric(balanceThresholdDesc, prometheus.GaugeValue, *b.Threshold, b.Provider)
		}
		if !b.CheckedAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(balanceCheckedDesc, prometheus.GaugeValue, float64(b.CheckedAt.UnixNano())/1e9, b.Provider)
		}
	}
}
