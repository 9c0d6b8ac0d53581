package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/store"
)

func newBackup(g *globals) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Copy the SQLite database, consistently, while Recado runs",
		Long: `Writes a consistent copy of the SQLite database to FILE while Recado goes on running
(VACUUM INTO: one read transaction, writers are not stopped), checks it, and copies
the secret key that seals provider secrets to FILE.key (mode 0600) — unless the key
comes from RECADO_SECRET_KEY, which you keep yourself. Keep both: without the key,
provider tokens must be entered again.

To restore: stop Recado, put FILE in a data folder as recado.db (with no recado.db-wal
or recado.db-shm beside it) and FILE.key as secret.key (chmod 600), and start Recado
on that folder. See docs/OPERATIONS.md.

For PostgreSQL it refuses and says how to use pg_dump instead.`,
		Example: `  recado backup --data /var/lib/recado --to /backups/recado-$(date +%F).db`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to FILE is required")
			}
			if strings.HasPrefix(g.databaseURL, "postgres") {
				io.WriteString(g.stdout, pgDumpAdvice)
				return errors.New("recado backup copies SQLite; back PostgreSQL up with pg_dump (see above)")
			}
			ctx := cmd.Context()
			db, err := store.Connect(ctx, g.dsn(), store.Options{})
			if err != nil {
				return err
			}
			defer db.Close()
			keyPath := to + ".key"
			if _, err := os.Stat(keyPath); err == nil {
				return fmt.Errorf("%s already exists; choose a new file", keyPath)
			}
			st, err := db.Backup(ctx, to)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s: %d bytes, %d messages, %d users; integrity checked\n", to, st.Bytes, st.Messages, st.Users)
			if g.secretKey != "" {
				fmt.Fprintf(g.stdout, "the secret key comes from %s: keep it with the backup yourself\n", secrets.EnvKey)
				return nil
			}
			key, err := os.ReadFile(filepath.Join(g.dataDir, secrets.KeyFile))
			if err != nil {
				return fmt.Errorf("copy the secret key: %w (the database copy is written; keep the key with it)", err)
			}
			if err := os.WriteFile(keyPath, key, 0o600); err != nil {
				return fmt.Errorf("copy the secret key: %w (the database copy is written; keep the key with it)", err)
			}
			fmt.Fprintf(g.stdout, "wrote %s: the secret key that seals provider secrets (keep it with the copy, and private)\n", keyPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the file to write the copy to (must not exist)")
	return cmd
}

const pgDumpAdvice = `Recado is on PostgreSQL. Back it up with PostgreSQL's own tools, while Recado runs:

  pg_dump --format=custom --file recado-$(date +%F).dump "$RECADO_DATABASE_URL"

and restore into an empty database with:

  pg_restore --no-owner --dbname "postgres://…/recado_restored" recado-$(date +%F).dump

(or use the server's continuous archiving: base backups and WAL). Keep the secret key
(RECADO_SECRET_KEY, or secret.key in the data folder) with every backup: without it,
provider tokens must be entered again. See docs/OPERATIONS.md.
`
