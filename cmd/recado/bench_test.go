package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchCommand runs `recado bench` small and reads its table and JSON.
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Recado and runs load")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--scenario", "webhooks,send", "-n", "300", "--json", out},
		func(string) string { return "" }, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"reports/s", "messages/s", "load average", "exactly once"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("no %q in the output:\n%s", want, stdout.String())
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Command string
		Machine struct{ CPUs int }
		Results []struct {
			Scenario string
			N        int
		}
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Machine.CPUs == 0 || len(rep.Results) != 2 || rep.Results[0].Scenario != "webhooks" || rep.Results[1].N != 300 ||
		!strings.Contains(rep.Command, "--scenario=webhooks,send") {
		t.Fatalf("report: %s", raw)
	}
	if code := run(context.Background(), []string{"bench", "--scenario", "nope"}, func(string) string { return "" }, &stdout, &stderr); code == 0 {
		t.Fatal("an unknown scenario ran")
	}
}
