package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store/storeopen"
)

// runAdmin is `baton admin token create`: it opens the same data directory or
// database as the server and prints a new personal access token on stdout.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "token" || args[1] != "create" {
		return fmt.Errorf("usage: baton admin token create [--user root] [--name NAME] [--scopes api,...] [--expires-at YYYY-MM-DD]")
	}
	fs := flag.NewFlagSet("baton admin token create", flag.ContinueOnError)
	var c Config
	c.bind(fs)
	user := fs.String("user", "root", "administrator to create the token for")
	name := fs.String("name", "admin token", "token name")
	scopes := fs.String("scopes", "api,write_repository,create_runner", "comma-separated scopes")
	expires := fs.String("expires-at", "", "expiry date YYYY-MM-DD (default: none)")
	if err := parse(fs, args[2:], stderr); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	db, err := openStore(ctx, c.DatabaseURL, storeopen.Open)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := bootstrap(ctx, db); err != nil {
		return err
	}
	u, err := db.UserByUsername(ctx, *user)
	if err != nil {
		return fmt.Errorf("finding user %q: %w", *user, err)
	}
	if !u.Admin {
		return fmt.Errorf("user %q is not an administrator", *user)
	}
	var exp *time.Time
	if *expires != "" {
		t, err := time.Parse("2006-01-02", *expires)
		if err != nil {
			return fmt.Errorf("--expires-at %q: want YYYY-MM-DD", *expires)
		}
		exp = &t
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("--scopes is empty")
	}
	for _, s := range list {
		switch s {
		case ci.ScopeAPI, ci.ScopeReadAPI, ci.ScopeCreateRunner, ci.ScopeReadRepo, ci.ScopeWriteRepo:
		default:
			return fmt.Errorf("--scopes: unknown scope %q", s)
		}
	}
	token, err := createToken(ctx, db, u, *name, list, exp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
