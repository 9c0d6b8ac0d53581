package app_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/store"
)

// cpuMeter measures the CPU time a benchmark spends: this process's (Recado,
// and the fake provider when it runs in-process) and, on PostgreSQL, the
// server's backends serving the benchmark's database. On a shared machine
// CPU per message is steadier than messages per second.
type cpuMeter struct {
	a       *app.App
	process time.Duration
	server  map[int]time.Duration
}

func startCPU(a *app.App) *cpuMeter {
	m := &cpuMeter{a: a, process: processCPU()}
	m.server = serverCPU(a)
	return m
}

// report adds the CPU per message of n messages as metrics.
func (m *cpuMeter) report(b *testing.B, n int) {
	b.Helper()
	proc := processCPU() - m.process
	b.ReportMetric(float64(proc.Microseconds())/float64(n), "cpu-µs/msg")
	if m.a.DB.Dialect() != store.Postgres {
		return
	}
	var srv time.Duration
	for pid, t := range serverCPU(m.a) {
		srv += t - m.server[pid] // a backend born meanwhile started at zero
	}
	b.ReportMetric(float64(srv.Microseconds())/float64(n), "pg-cpu-µs/msg")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU reads, from /proc, the CPU time of each PostgreSQL backend
// connected to the app's database.
func serverCPU(a *app.App) map[int]time.Duration {
	out := map[int]time.Duration{}
	if a.DB.Dialect() != store.Postgres {
		return out
	}
	rows, err := a.DB.Reader().QueryContext(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis; utime and stime
		// are the 14th and 15th of the whole line, in ticks of 10 ms.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	return out
}
