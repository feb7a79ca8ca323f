package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/downstream"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/junit"
	"github.com/batonci/baton/internal/planner"
	"github.com/batonci/baton/internal/sweeper"
	"github.com/batonci/baton/internal/web"
)

// Config is everything `baton server` and `baton up` can be told. Each field
// has a flag and a BATON_* environment variable; flags win.
type Config struct {
	Listen      string // host:port to listen on
	ExternalURL string // how runners and users reach Baton; derived from Listen when empty
	DataDir     string // repositories, local artifacts, the default SQLite database
	ReposDir    string // git repositories; default DATA_DIR/repos, shared by every replica
	DatabaseURL string // sqlite:PATH or postgres://...
	LogFormat   string // text or json
	LogLevel    string // debug, info, warn, error

	ArtifactStore    string // fs or s3
	S3Endpoint       string
	S3Bucket         string
	S3Region         string
	S3AccessKey      string
	S3SecretKey      string
	S3UseSSL         bool
	S3PathStyle      bool
	S3CreateBucket   bool   // create the bucket at start when it is missing
	ArtifactDownload string // proxy or redirect (S3 only)
	MaxArtifactMiB   int64
	MaxPublished     int64 // named artifacts one job attempt may publish
	MaxJUnitMiB      int64 // uncompressed XML of one junit report
	MaxJUnitCases    int64 // test cases of one junit report
	MaxPushMiB       int64 // largest git push pack; -1: no limit
	// Limits of an uploaded zip's index: central directory records, and
	// the sum of the sizes its entries declare (MiB).
	MaxArtifactEntries         int64
	MaxArtifactUncompressedMiB int64
	DefaultExpireIn            string // GitLab duration, or "never"
	KeepLatest                 bool   // keep artifacts of the latest successful pipeline per ref
	// OrphanAfter is the age past which unfinished uploads and artifact
	// bytes no row references are removed; 0 turns the sweep off.
	OrphanAfter time.Duration

	StuckAfter   time.Duration // an active job silent this long fails (runner_system_failure)
	LongPoll     time.Duration // how long jobs/request may hold
	TraceLimitMB int64
	// ReadCacheEntries bounds each memo of the store's hot reads (SQLite
	// only, see store.DB.RememberReads); 0 turns them off.
	ReadCacheEntries int64

	MaxPlanBytes     int64          // stored spec bytes of one planned pipeline
	MaxVariableBytes int64          // one YAML or request variable value
	MaxVariables     int64          // variables of one scope (global, a job, a request)
	MaxChangedPaths  int64          // changed paths of one push read for rules:changes
	Bounds                          // README "Security": held waits, connections, timeouts
	Includes         IncludeConfig  // include:remote and include:template
	Secrets                         // CI/CD variables: the encryption key, their number
	RepoReads                       // repository read API bounds (reads.go)
	MetricsToken     string         // if set, GET /metrics needs Authorization: Bearer <token>
	TrustedProxies   string         // CIDRs whose X-Forwarded-For/-Proto are honoured; "" none
	trustedProxies   []netip.Prefix // TrustedProxies, parsed by finish
	SessionIdle      time.Duration  // web sessions unused this long end
	SessionMaxAge    time.Duration  // web sessions end this long after sign-in
	Automation                      // pipeline schedules and webhooks (automation.go)

	ArtifactTokenConfig // artifact tokens jobs mint (artifacttokens.go)
	BranchDefaults      // default branch protection (defaultbranch.go)
	// MaxChildConfigBytes bounds a child pipeline configuration a job
	// generated (trigger:include:artifact).
	MaxChildConfigBytes int64
	Deploys             // environments, deployments (deploys.go)
}

// bind registers the config's flags on fs, with defaults taken from the
// environment (BATON_LISTEN, ...) or the built-in defaults.
func (c *Config) bind(fs *flag.FlagSet) {
	b := flagBinder{fs}
	b.str(&c.Listen, "listen", "BATON_LISTEN", "127.0.0.1:8080", "address to listen on")
	b.str(&c.ExternalURL, "external-url", "BATON_EXTERNAL_URL", "", "URL users and runners reach Baton at (default: from --listen)")
	b.str(&c.DataDir, "data-dir", "BATON_DATA_DIR", ".baton", "directory for repositories, local artifacts and the SQLite database")
	b.str(&c.ReposDir, "repos-dir", "BATON_REPOS_DIR", "", "directory of the git repositories, shared by every replica (e.g. NFS); default DATA_DIR/repos")
	b.str(&c.DatabaseURL, "database-url", "BATON_DATABASE_URL", "", "sqlite:PATH or postgres://... (default: sqlite:DATA_DIR/baton.db)")
	b.str(&c.LogFormat, "log-format", "BATON_LOG_FORMAT", "text", "log format: text or json")
	b.str(&c.LogLevel, "log-level", "BATON_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	b.str(&c.ArtifactStore, "artifact-store", "BATON_ARTIFACT_STORE", "fs", "where artifact bytes live: fs (DATA_DIR/artifacts) or s3")
	b.str(&c.S3Endpoint, "s3-endpoint", "BATON_S3_ENDPOINT", "", "S3 endpoint host:port")
	b.str(&c.S3Bucket, "s3-bucket", "BATON_S3_BUCKET", "", "S3 bucket")
	b.str(&c.S3Region, "s3-region", "BATON_S3_REGION", "us-east-1", "S3 region")
	b.str(&c.S3AccessKey, "s3-access-key", "BATON_S3_ACCESS_KEY", "", "S3 access key")
	b.str(&c.S3SecretKey, "s3-secret-key", "BATON_S3_SECRET_KEY", "", "S3 secret key")
	b.boolean(&c.S3UseSSL, "s3-ssl", "BATON_S3_SSL", false, "use https for S3")
	b.boolean(&c.S3PathStyle, "s3-path-style", "BATON_S3_PATH_STYLE", true, "path-style S3 URLs")
	b.boolean(&c.S3CreateBucket, "s3-create-bucket", "BATON_S3_CREATE_BUCKET", true, "create the S3 bucket at start if it is missing")
	b.str(&c.ArtifactDownload, "artifact-download", "BATON_ARTIFACT_DOWNLOAD", "proxy", "S3 downloads: proxy through Baton or redirect to signed URLs")
	b.integer(&c.MaxArtifactMiB, "max-artifact-size", "BATON_MAX_ARTIFACT_SIZE", 1024, "maximum artifact upload in MiB")
	b.integer(&c.MaxPublished, "max-published-artifacts", "BATON_MAX_PUBLISHED_ARTIFACTS", 100, "most named artifacts one job attempt may publish mid-job (-1: no limit)")
	b.integer(&c.MaxJUnitMiB, "max-junit-size", "BATON_MAX_JUNIT_SIZE", junit.DefaultMaxBytes>>20, "most MiB of XML one junit report may hold uncompressed; a larger report gets a suite error")
	b.integer(&c.MaxJUnitCases, "max-junit-test-cases", "BATON_MAX_JUNIT_TEST_CASES", junit.DefaultMaxCases, "most test cases one junit report may hold; a report with more gets a suite error")
	b.integer(&c.MaxPushMiB, "max-push-size", "BATON_MAX_PUSH_SIZE", 1024, "largest pack one git push may send, in MiB (git's receive.maxInputSize; -1: no limit)")
	b.integer(&c.MaxArtifactEntries, "max-artifact-entries", "BATON_MAX_ARTIFACT_ENTRIES", 200_000, "most entries an uploaded zip may have (-1: no limit)")
	b.integer(&c.MaxArtifactUncompressedMiB, "max-artifact-uncompressed", "BATON_MAX_ARTIFACT_UNCOMPRESSED", 16<<10, "most MiB the entries of an uploaded zip may declare uncompressed (-1: no limit)")
	b.str(&c.DefaultExpireIn, "default-expire-in", "BATON_DEFAULT_EXPIRE_IN", "30 days", "artifact expiry when a job sets none (GitLab syntax, or never)")
	b.boolean(&c.KeepLatest, "keep-latest-artifacts", "BATON_KEEP_LATEST_ARTIFACTS", true, "keep artifacts of the latest successful pipeline per ref regardless of expiry")
	b.duration(&c.OrphanAfter, "orphan-after", "BATON_ORPHAN_AFTER", sweeper.DefaultOlderThan, "remove unfinished uploads and unreferenced artifact bytes older than this (0: never)")
	b.duration(&c.StuckAfter, "stuck-after", "BATON_STUCK_AFTER", 10*time.Minute, "fail active jobs whose runner has been silent this long")
	b.duration(&c.LongPoll, "long-poll", "BATON_LONG_POLL", 50*time.Second, "how long a runner's job request may wait for a job (0: answer at once)")
	b.integer(&c.TraceLimitMB, "trace-limit", "BATON_TRACE_LIMIT", 16, "maximum job log size in MiB")
	b.integer(&c.ReadCacheEntries, "read-cache-entries", "BATON_READ_CACHE_ENTRIES", 10000, "SQLite: tokens, projects and jobs the server remembers between writes for authenticated reads (0: off)")
	b.integer(&c.MaxPlanBytes, "max-plan-bytes", "BATON_MAX_PLAN_BYTES", planner.DefaultMaxPlanBytes, "maximum stored spec bytes of one pipeline (all jobs)")
	b.integer(&c.MaxVariableBytes, "max-variable-bytes", "BATON_MAX_VARIABLE_BYTES", planner.DefaultMaxVariableBytes, "maximum bytes of one CI variable value")
	b.integer(&c.MaxChangedPaths, "max-rules-changed-paths", "BATON_MAX_RULES_CHANGED_PATHS", planner.DefaultMaxChangedPaths, "maximum changed paths of one push read for rules:changes (more: every changes matches)")
	b.integer(&c.MaxVariables, "max-variables", "BATON_MAX_VARIABLES", planner.DefaultMaxVariables, "maximum variables of one scope (global, one job, one API request)")
	b.str(&c.TrustedProxies, "trusted-proxies", "BATON_TRUSTED_PROXIES", "", "comma-separated CIDRs of load balancers whose X-Forwarded-For and X-Forwarded-Proto are honoured (default: none)")
	b.integer(&c.MaxChildConfigBytes, "max-child-config-bytes", "BATON_MAX_CHILD_CONFIG_BYTES", downstream.DefaultMaxConfigBytes, "maximum bytes of a child pipeline configuration read from a job's artifacts")
	c.bindBounds(b)
	c.bindIncludes(b)
	c.bindSecrets(b)
	c.bindRepoReads(b)
	c.bindAutomation(b)
	c.bindArtifactTokens(b)
	c.bindDeploys(b)
	c.bindBranchDefaults(b)
	b.str(&c.MetricsToken, "metrics-token", "BATON_METRICS_TOKEN", "", "require this bearer token for GET /metrics (default: open)")
	b.duration(&c.SessionIdle, "session-idle-timeout", "BATON_SESSION_IDLE_TIMEOUT", web.DefaultSessionIdle, "end web UI sessions unused this long")
	b.duration(&c.SessionMaxAge, "session-max-age", "BATON_SESSION_MAX_AGE", web.DefaultSessionMaxAge, "end web UI sessions this long after sign-in")
}

// flagBinder registers flags whose defaults an environment variable
// overrides; their usage ends with "($ENV)".
type flagBinder struct{ fs *flag.FlagSet }

func (b flagBinder) str(p *string, name, env, def, usage string) {
	b.fs.StringVar(p, name, envOr(env, def), usage+" ($"+env+")")
}

func (b flagBinder) boolean(p *bool, name, env string, def bool, usage string) {
	v := def
	if s := os.Getenv(env); s != "" {
		v, _ = strconv.ParseBool(s)
	}
	b.fs.BoolVar(p, name, v, usage+" ($"+env+")")
}

func (b flagBinder) integer(p *int64, name, env string, def int64, usage string) {
	v := def
	if s := os.Getenv(env); s != "" {
		v, _ = strconv.ParseInt(s, 10, 64)
	}
	b.fs.Int64Var(p, name, v, usage+" ($"+env+")")
}

func (b flagBinder) duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	v := def
	if s := os.Getenv(env); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			v = d
		}
	}
	b.fs.DurationVar(p, name, v, usage+" ($"+env+")")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// finish fills derived defaults and checks the values.
func (c *Config) finish() error {
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "baton.db")
	}
	if c.ReposDir == "" {
		c.ReposDir = filepath.Join(c.DataDir, "repos")
	}
	if c.ExternalURL == "" {
		host, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return fmt.Errorf("--listen %q is not host:port: %w", c.Listen, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.ExternalURL = "http://" + net.JoinHostPort(host, port)
	}
	c.ExternalURL = strings.TrimRight(c.ExternalURL, "/")
	switch c.ArtifactStore {
	case "fs":
	case "s3":
		if c.S3Endpoint == "" || c.S3Bucket == "" {
			return fmt.Errorf("--artifact-store s3 needs --s3-endpoint and --s3-bucket")
		}
	default:
		return fmt.Errorf("--artifact-store %q: want fs or s3", c.ArtifactStore)
	}
	if c.ArtifactDownload != "proxy" && c.ArtifactDownload != "redirect" {
		return fmt.Errorf("--artifact-download %q: want proxy or redirect", c.ArtifactDownload)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if _, err := c.level(); err != nil {
		return err
	}
	var err error
	if c.trustedProxies, err = httpx.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.OrphanAfter < 0 {
		return fmt.Errorf("--orphan-after must not be negative")
	}
	if err := c.ArtifactTokenConfig.check(); err != nil {
		return err
	}
	if err := c.BranchDefaults.check(); err != nil {
		return err
	}
	if c.SessionIdle <= 0 || c.SessionMaxAge <= 0 {
		return fmt.Errorf("--session-idle-timeout and --session-max-age must be positive")
	}
	return nil
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// logger builds the process logger.
func (c *Config) logger(w *os.File) *slog.Logger {
	l, _ := c.level()
	opts := &slog.HandlerOptions{Level: l}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// flagSetForTest is a throwaway flag set for filling a Config with its defaults.
func flagSetForTest() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }
