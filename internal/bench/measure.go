package bench

import (
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one row of the report: a scenario, or one kind of request of
// it ("api:send").
type Result struct {
	Scenario    string             `json:"scenario"`
	Database    string             `json:"database"`
	N           int                `json:"n"`           // the scenario's size, in Unit
	Unit        string             `json:"unit"`        // what N and Throughput count
	Concurrency int                `json:"concurrency"` // clients at once (0: open loop)
	Rate        int                `json:"rate,omitempty"`
	Load        string             `json:"load,omitempty"` // what drove it, when neither clients nor a rate ("4 workers")
	Seconds     float64            `json:"seconds"`        // the measured part, wall clock
	Throughput  float64            `json:"throughput"`     // N per second of the measured part
	Requests    int                `json:"requests"`       // latencies recorded
	P50         time.Duration      `json:"p50_ns"`
	P99         time.Duration      `json:"p99_ns"`
	Max         time.Duration      `json:"max_ns"`
	CPUSeconds  float64            `json:"cpu_seconds"`     // user + system, the whole process
	PeakHeapMB  float64            `json:"peak_heap_mb"`    // Go heap in use
	PeakRSSMB   float64            `json:"peak_rss_mb"`     // resident set, 0 where unknown
	Extra       map[string]float64 `json:"extra,omitempty"` // the scenario's own figures
	Checks      []string           `json:"checks,omitempty"`
}

// Meter measures one scenario: wall time and CPU between Start and Stop,
// peak memory sampled meanwhile, and each request's latency.
type Meter struct {
	scenario, unit, database string
	n, concurrency, rate     int
	load                     string

	mu      sync.Mutex
	lat     map[string][]time.Duration // by kind; "" is the scenario's own
	extra   map[string]float64
	started time.Time
	elapsed time.Duration
	cpu0    time.Duration
	cpu     time.Duration
	stop    chan struct{}
	sampled chan struct{}
	heap    atomic.Uint64
	rss     atomic.Uint64
	running bool
}

func newMeter(scenario, unit string, n, concurrency int, database string) *Meter {
	return &Meter{scenario: scenario, unit: unit, n: n, concurrency: concurrency, database: database,
		lat: map[string][]time.Duration{}, extra: map[string]float64{}}
}

// Start begins the measured part.
func (m *Meter) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return
	}
	m.running = true
	m.stop, m.sampled = make(chan struct{}), make(chan struct{})
	m.heap.Store(0)
	m.rss.Store(0)
	go m.sample()
	m.cpu0 = cpuTime()
	m.started = time.Now()
}

// Stop ends the measured part; calling it again does nothing.
func (m *Meter) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running {
		return
	}
	m.elapsed = time.Since(m.started)
	m.cpu = cpuTime() - m.cpu0
	close(m.stop)
	<-m.sampled
	m.running = false
}

// Elapsed is the measured time so far, or in all once stopped.
func (m *Meter) Elapsed() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return time.Since(m.started)
	}
	return m.elapsed
}

// CPU is the process's CPU time over the measured part so far, or in all
// once stopped.
func (m *Meter) CPU() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return cpuTime() - m.cpu0
	}
	return m.cpu
}

// Record adds the latency of one request.
func (m *Meter) Record(d time.Duration) { m.RecordAs("", d) }

// RecordAs adds the latency of one request of a kind; each kind gets a row
// of its own ("<scenario>:<kind>") besides the scenario's.
func (m *Meter) RecordAs(kind string, d time.Duration) {
	m.mu.Lock()
	m.lat[kind] = append(m.lat[kind], d)
	m.mu.Unlock()
}

// SetRate says the scenario ran open loop at rate requests per second.
func (m *Meter) SetRate(rate int) {
	m.mu.Lock()
	m.rate, m.concurrency = rate, 0
	m.mu.Unlock()
}

// SetLoad says what drove the scenario when it was neither clients nor a
// rate ("4 workers"); the row shows it as its load.
func (m *Meter) SetLoad(load string) {
	m.mu.Lock()
	m.load, m.concurrency = load, 0
	m.mu.Unlock()
}

// startedAt is when the measured part began.
func (m *Meter) startedAt() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.started
}

// Extra adds a figure of the scenario's own to its row ("accepted/s").
func (m *Meter) Extra(name string, v float64) {
	m.mu.Lock()
	m.extra[name] = v
	m.mu.Unlock()
}

// sample keeps the peak Go heap and resident set, every 10 ms.
func (m *Meter) sample() {
	defer close(m.sampled)
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(samples)
		var heap uint64
		for _, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				heap += s.Value.Uint64()
			}
		}
		if heap > m.heap.Load() {
			m.heap.Store(heap)
		}
		if rss := residentSet(); rss > m.rss.Load() {
			m.rss.Store(rss)
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// results turns what was measured into rows: the scenario's, then one per
// kind of request.
func (m *Meter) results(checks []string) []Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	base := Result{Scenario: m.scenario, Database: m.database, N: m.n, Unit: m.unit, Concurrency: m.concurrency,
		Rate: m.rate, Load: m.load, Seconds: m.elapsed.Seconds(), CPUSeconds: m.cpu.Seconds(),
		PeakHeapMB: float64(m.heap.Load()) / (1 << 20), PeakRSSMB: float64(m.rss.Load()) / (1 << 20)}
	if m.elapsed > 0 {
		base.Throughput = float64(m.n) / m.elapsed.Seconds()
	}
	if len(m.extra) > 0 {
		base.Extra = m.extra
	}
	var all []time.Duration
	kinds := make([]string, 0, len(m.lat))
	for k, l := range m.lat {
		all = append(all, l...)
		if k != "" {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	row := base
	row.Checks = checks
	row.Requests, row.P50, row.P99, row.Max = percentiles(all)
	out := []Result{row}
	for _, k := range kinds {
		r := base
		r.Scenario = m.scenario + ":" + k
		r.Unit = "requests"
		r.Extra = nil
		r.Requests, r.P50, r.P99, r.Max = percentiles(m.lat[k])
		r.N = r.Requests
		if m.elapsed > 0 {
			r.Throughput = float64(r.Requests) / m.elapsed.Seconds()
		}
		out = append(out, r)
	}
	return out
}

// percentiles returns the count, p50, p99 and maximum of ds (sorting it).
func percentiles(ds []time.Duration) (n int, p50, p99, most time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return len(ds), at(0.50), at(0.99), ds[len(ds)-1]
}

// residentSet reads this process's resident set from /proc (Linux); 0
// elsewhere.
func residentSet() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
