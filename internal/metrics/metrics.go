// Package metrics holds Recado's Prometheus collectors on a registry of its
// own (never the global one), so that tests and several servers in one
// process do not collide.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the collectors the rest of Recado updates. A nil *Metrics is
// valid and records nothing, for tests that do not care.
type Metrics struct {
	Registry *prometheus.Registry

	sends           *prometheus.CounterVec   // provider, outcome
	providerLatency *prometheus.HistogramVec // provider, operation
	statuses        *prometheus.CounterVec   // provider, source, result
	http            *prometheus.CounterVec   // route, status
	httpLatency     *prometheus.HistogramVec // route
	background      *prometheus.CounterVec   // provider, job, result (background.go)
}

// Gauges are read at scrape time from the database.
type Gauges interface {
	MessagesByState(ctx context.Context) (map[string]float64, error)
	QueueDepth(ctx context.Context) (float64, error)
}

// New registers Recado's collectors, the Go runtime's, and the gauges read
// from g at each scrape.
func New(g Gauges, log *slog.Logger) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recado_provider_sends_total",
		Help: "Messages handed to providers, by provider and outcome (sent, rejected, failed, error).",
	}, []string{"provider", "outcome"})
	m.providerLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "recado_provider_request_seconds",
		Help:    "Latency of calls to providers, by provider and operation.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	}, []string{"provider", "operation"})
	m.statuses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recado_status_updates_total",
		Help: "Status reports received, by provider, source (webhook, poll) and result (applied, stale, unknown).",
	}, []string{"provider", "source", "result"})
	m.http = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recado_http_requests_total",
		Help: "HTTP requests, by route pattern and status code.",
	}, []string{"route", "status"})
	m.httpLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "recado_http_request_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"route"})
	m.background = newBackgroundCounter()
	m.Registry.MustRegister(m.sends, m.providerLatency, m.statuses, m.http, m.httpLatency, m.background,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if g != nil {
		m.Registry.MustRegister(&dbCollector{g: g, log: log})
	}
	return m
}

// Sent counts n messages with an outcome at a provider.
func (m *Metrics) Sent(provider, outcome string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.sends.WithLabelValues(provider, outcome).Add(float64(n))
}

// ProviderCall observes the latency of one call to a provider.
func (m *Metrics) ProviderCall(provider, op string, d time.Duration) {
	if m == nil {
		return
	}
	m.providerLatency.WithLabelValues(provider, op).Observe(d.Seconds())
}

// Statuses counts n status reports with a result.
func (m *Metrics) Statuses(provider, source, result string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.statuses.WithLabelValues(provider, source, result).Add(float64(n))
}

// HTTP observes one HTTP request.
func (m *Metrics) HTTP(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.http.WithLabelValues(route, statusText(status)).Inc()
	m.httpLatency.WithLabelValues(route).Observe(d.Seconds())
}

func statusText(s int) string {
	const digits = "0123456789"
	if s < 100 || s > 999 {
		return "other"
	}
	return string([]byte{digits[s/100], digits[s/10%10], digits[s%10]})
}

type dbCollector struct {
	g   Gauges
	log *slog.Logger
}

var (
	messagesDesc = prometheus.NewDesc("recado_messages", "Messages by state.", []string{"state"}, nil)
	queueDesc    = prometheus.NewDesc("recado_queue_depth", "Jobs waiting in the queue (available, scheduled or retrying).", nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- messagesDesc
	ch <- queueDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if by, err := c.g.MessagesByState(ctx); err != nil {
		c.log.Warn("metrics: count messages", "err", err)
	} else {
		for state, n := range by {
			ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.GaugeValue, n, state)
		}
	}
	if n, err := c.g.QueueDepth(ctx); err != nil {
		c.log.Warn("metrics: queue depth", "err", err)
	} else {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, n)
	}
}
