package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/store"
)

func (g *globals) accounts(cmd *cobra.Command) (*store.DB, *accounts.Service, error) {
	db, err := g.openStore(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	return db, accounts.New(db, rand.Reader, auth.DefaultParams()), nil
}

func newUser(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users: create, list, set-password, deactivate"}

	var name, role, password string
	create := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create a user (role user or manager); prints a generated password unless --password is given",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, acc, err := g.accounts(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			pw, generated := password, false
			if pw == "-" {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read the password from standard input: %w", err)
				}
				pw = strings.TrimRight(line, "\r\n")
			}
			if pw == "" {
				pw, generated = auth.GeneratePassword(rand.Reader), true
			}
			u, err := acc.CreateUser(cmd.Context(), args[0], name, auth.Role(role), pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created %s %q (id %d)\n", u.Role, u.Username, u.ID)
			if generated {
				fmt.Fprintf(g.stdout, "password: %s  (shown this once)\n", pw)
			}
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "full name")
	create.Flags().StringVar(&role, "role", "user", "user (SMS User) or manager (SMS Manager)")
	create.Flags().StringVar(&password, "password", "", "the password; \"-\" reads it from standard input; empty generates one")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			us, err := db.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSERNAME\tNAME\tROLE\tACTIVE")
			for _, u := range us {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%v\n", u.ID, u.Username, u.Name, u.Role, u.Active)
			}
			return w.Flush()
		},
	}

	var newPassword string
	setPassword := &cobra.Command{
		Use:   "set-password USERNAME",
		Short: "Set a user's password; prints a generated one unless --password is given",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, acc, err := g.accounts(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.UserByUsername(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			pw, generated := newPassword, false
			if pw == "" {
				pw, generated = auth.GeneratePassword(rand.Reader), true
			}
			if _, err := acc.UpdateUser(cmd.Context(), u.ID, accounts.UserPatch{Password: &pw}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "password of %q changed\n", u.Username)
			if generated {
				fmt.Fprintf(g.stdout, "password: %s  (shown this once)\n", pw)
			}
			return nil
		},
	}
	setPassword.Flags().StringVar(&newPassword, "password", "", "the new password; empty generates one")

	var activate bool
	deactivate := &cobra.Command{
		Use:   "deactivate USERNAME",
		Short: "Deactivate a user (its tokens stop working); --undo activates it again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, acc, err := g.accounts(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.UserByUsername(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			active := activate
			if _, err := acc.UpdateUser(cmd.Context(), u.ID, accounts.UserPatch{Active: &active}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%q is now %s\n", u.Username, map[bool]string{true: "active", false: "deactivated"}[active])
			return nil
		},
	}
	deactivate.Flags().BoolVar(&activate, "undo", false, "activate the user again")

	cmd.AddCommand(create, list, setPassword, deactivate)
	return cmd
}

func newToken(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens: create, list, revoke"}
	var user, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Make an API token for a user; it is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, acc, err := g.accounts(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.UserByUsername(cmd.Context(), user)
			if err != nil {
				return err
			}
			plain, t, err := acc.CreateToken(cmd.Context(), u.ID, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "token %d %q for %s (shown this once):\n", t.ID, t.Name, u.Username)
			fmt.Fprintln(g.stdout, plain)
			return nil
		},
	}
	create.Flags().StringVar(&user, "user", "admin", "the user the token acts as")
	create.Flags().StringVar(&name, "name", "cli", "a name to recognise the token by")

	var listUser string
	list := &cobra.Command{
		Use:   "list",
		Short: "List API tokens (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			var uid int64
			if listUser != "" {
				u, err := db.UserByUsername(cmd.Context(), listUser)
				if err != nil {
					return err
				}
				uid = u.ID
			}
			ts, err := db.ListTokens(cmd.Context(), uid)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSER\tNAME\tPREFIX\tCREATED\tLAST USED\tREVOKED")
			for _, t := range ts {
				fmt.Fprintf(w, "%d\t%d\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.UserID, t.Name, t.Prefix,
					t.CreatedAt.Format("2006-01-02 15:04"), fmtTime(t.LastUsedAt), fmtTime(t.RevokedAt))
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&listUser, "user", "", "only this user's tokens")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("token id %q is not a number", args[0])
			}
			db, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeToken(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "token %d revoked\n", id)
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
