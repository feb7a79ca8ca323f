package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// stored is the login kept in CONFIG_DIR/baton/config.json.
type stored struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	User  string `json:"user,omitempty"`
}

// configPath is CONFIG_DIR/baton/config.json.
func configPath(env Env) (string, error) {
	dir := env.ConfigDir
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", exitf(ExitUsage, "finding your config directory: %v", err)
		}
	}
	return filepath.Join(dir, "baton", "config.json"), nil
}

// readStored reads the stored login; nil without error when there is none.
// A file others may read or write is refused: it holds a token.
func readStored(env Env) (*stored, string, error) {
	p, err := configPath(env)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, p, nil
	}
	if err != nil {
		return nil, p, exitf(ExitUsage, "reading the stored login: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, p, exitf(ExitUsage, "reading the stored login: %v", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, p, exitf(ExitAuth, "%s is readable or writable by others (mode %04o): it holds a token; run chmod 600 %s, or baton login again",
			p, st.Mode().Perm(), p)
	}
	var s stored
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		return nil, p, exitf(ExitUsage, "%s: %v", p, err)
	}
	return &s, p, nil
}

// writeStored writes the login with mode 0600 in a 0700 directory,
// atomically.
func writeStored(env Env, s stored) (string, error) {
	p, err := configPath(env)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".config-*.json")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return p, os.Rename(tmp.Name(), p)
}

// creds are the server and token a command uses, and where they came from.
type creds struct {
	base   string // server URL without /api/v4
	token  string
	job    bool   // token is the job's CI_JOB_TOKEN
	source string // "flags", "environment", "job", "login"
}

// resolve picks the server and token: --url/--token, then BATON_URL and
// BATON_TOKEN, then a job's CI_API_V4_URL and CI_JOB_TOKEN, then the
// stored login. Each of URL and token is taken from the first place
// that has it.
func resolve(c common, env Env) (*creds, error) {
	var cr creds
	pick := func(u, t, src string, job bool) {
		if cr.base == "" && u != "" {
			cr.base = u
		}
		if cr.token == "" && t != "" {
			cr.token, cr.job, cr.source = t, job, src
		}
	}
	pick(c.url, c.token, "flags", false)
	pick(env.Getenv("BATON_URL"), env.Getenv("BATON_TOKEN"), "environment", false)
	if env.Getenv("CI_JOB_TOKEN") != "" && env.Getenv("CI_API_V4_URL") != "" {
		pick(strings.TrimSuffix(strings.TrimSuffix(env.Getenv("CI_API_V4_URL"), "/"), "/api/v4"), env.Getenv("CI_JOB_TOKEN"), "job", true)
	}
	if cr.base == "" || cr.token == "" {
		s, _, err := readStored(env)
		if err != nil {
			return nil, err
		}
		if s != nil {
			pick(s.URL, s.Token, "login", false)
		}
	}
	if cr.base == "" {
		return nil, exitf(ExitAuth, "no server: run baton login, or give --url or BATON_URL")
	}
	base, err := normalizeURL(cr.base)
	if err != nil {
		return nil, err
	}
	cr.base = base
	return &cr, nil
}

// normalizeURL checks an http(s) URL and strips a trailing / and /api/v4.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", exitf(ExitUsage, "server URL %q is not an http(s) URL", raw)
	}
	s := strings.TrimSuffix(u.String(), "/")
	return strings.TrimSuffix(s, "/api/v4"), nil
}

// login is `baton login`: check the URL and token against the server and
// store them.
func login(ctx context.Context, args []string, env Env) error {
	fl := flag.NewFlagSet("login", flag.ContinueOnError)
	var c common
	c.bind(fl)
	fl.Usage = func() {
		fmt.Fprintln(env.Stderr, "Usage: baton login --url URL [--token TOKEN | --token - (read from stdin)]")
		fl.PrintDefaults()
	}
	if _, err := parseArgs(fl, args, env, 0, 0); err != nil {
		return err
	}
	if c.url == "" {
		c.url = env.Getenv("BATON_URL")
	}
	if c.token == "" {
		c.token = env.Getenv("BATON_TOKEN")
	}
	if c.token == "-" || (c.token == "" && c.url != "") {
		if c.token == "" {
			fmt.Fprint(env.Stderr, "Token: ")
		}
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return exitf(ExitUsage, "login: reading the token from standard input: %v", err)
		}
		c.token = strings.TrimSpace(line)
	}
	if c.url == "" || c.token == "" {
		fl.Usage()
		return exitf(ExitUsage, "login: give --url and --token")
	}
	base, err := normalizeURL(c.url)
	if err != nil {
		return err
	}
	cl := newClient(&creds{base: base, token: c.token, source: "flags"}, env)
	var user struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	if err := cl.getJSON(ctx, "/api/v4/user", &user); err != nil {
		return fmt.Errorf("login: %s did not accept the token: %w", base, err)
	}
	p, err := writeStored(env, stored{URL: base, Token: c.token, User: user.Username})
	if err != nil {
		return exitf(ExitUsage, "login: storing it: %v", err)
	}
	if c.json {
		return writeJSON(env.Stdout, map[string]any{"url": base, "user": user.Username, "config": p})
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s (stored in %s)\n", base, user.Username, p)
	return nil
}

// logout is `baton logout`: remove the stored login.
func logout(_ context.Context, args []string, env Env) error {
	fl := flag.NewFlagSet("logout", flag.ContinueOnError)
	var c common
	c.bind(fl)
	if _, err := parseArgs(fl, args, env, 0, 0); err != nil {
		return err
	}
	p, err := configPath(env)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return exitf(ExitUsage, "logout: %v", err)
	}
	if c.json {
		return writeJSON(env.Stdout, map[string]string{"removed": p})
	}
	fmt.Fprintf(env.Stdout, "Removed %s\n", p)
	return nil
}
