package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/store"
)

func newMigrate(g *globals) *cobra.Command {
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (serve applies them too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := store.Connect(ctx, g.dsn(), store.Options{})
			if err != nil {
				return err
			}
			defer db.Close()
			if !status {
				if err := db.Migrate(ctx); err != nil {
					return err
				}
			}
			list, err := db.MigrationStatus(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tMIGRATION\tSTATE")
			for _, m := range list {
				fmt.Fprintf(w, "%d\t%s\t%s\n", m.Source.Version, m.Source.Path, m.State)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&status, "status", false, "only show which migrations are applied")
	return cmd
}
