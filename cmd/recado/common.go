package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/recado-sms/recado/internal/store"
)

func (g *globals) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)
}

func (g *globals) dsn() string {
	if g.databaseURL != "" {
		return g.databaseURL
	}
	return filepath.Join(g.dataDir, "recado.db")
}

// openStore opens and migrates the database for commands that work on it
// directly.
func (g *globals) openStore(ctx context.Context) (*store.DB, error) {
	return store.Open(ctx, g.dsn(), store.Options{})
}
