package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Machine describes where the figures were measured.
type Machine struct {
	OS       string  `json:"os"`
	Arch     string  `json:"arch"`
	CPUs     int     `json:"cpus"`
	CPU      string  `json:"cpu,omitempty"`
	MemoryGB float64 `json:"memory_gb,omitempty"`
	Go       string  `json:"go"`
	// LoadAverage is the 1-minute load average when the run began: others'
	// work on a shared machine weighs on the figures.
	LoadAverage float64 `json:"load_average,omitempty"`
}

// ThisMachine describes the machine the bench runs on.
func ThisMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(b), "%f", &m.LoadAverage)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.MemoryGB = kb / (1 << 20)
		}
	}
	return m
}

// Report is what --json writes.
type Report struct {
	At      time.Time `json:"at"`
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	Results []Result  `json:"results"`
}

// WriteJSON writes r, indented.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the results as an aligned table, then the checks of
// each scenario.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tdatabase\tn\tload\tseconds\tthroughput\tp50\tp99\tmax\tCPU s\tpeak heap MB\tpeak RSS MB\t")
	for _, r := range results {
		load := fmt.Sprintf("%d clients", r.Concurrency)
		if r.Rate > 0 {
			load = fmt.Sprintf("%d/s", r.Rate)
		}
		if r.Load != "" {
			load = r.Load
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f\t%s %s/s\t%s\t%s\t%s\t%.1f\t%.0f\t%.0f\t\n", r.Scenario, r.Database, r.N, load,
			r.Seconds, thousands(r.Throughput), r.Unit, fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.Max), r.CPUSeconds, r.PeakHeapMB, r.PeakRSSMB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		for name, v := range r.Extra {
			fmt.Fprintf(w, "%s: %s %s\n", r.Scenario, thousands(v), name)
		}
		for _, c := range r.Checks {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, c)
		}
	}
	return nil
}

// thousands renders v rounded, with commas between thousands.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtDur renders a latency to three significant figures or so.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
