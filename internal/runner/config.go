package runner

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config configures a [Runner]. Only URL and Token are required.
type Config struct {
	URL          string        // coordinator base URL, e.g. http://127.0.0.1:8080; a trailing / and /ci are stripped and /api/v4/ appended
	Token        string        // runner authentication token (glrt-… or any token the coordinator accepts)
	BuildsDir    string        // where projects are checked out; default ./builds, made absolute
	Concurrency  int           // jobs run at once; default 1
	Name         string        // reported as info.name; default "baton-runner"
	PollInterval time.Duration // wait after a 204; default 3s
	Shell        string        // only "bash" is supported; default "bash"
	Logger       *slog.Logger  // default: discards
	HTTPClient   *http.Client  // optional; redirects are handled by the runner itself
	// MaxExtractSize bounds the bytes one dependency's artifacts archive may
	// extract to; 0 means DefaultMaxExtractSize, negative no limit.
	MaxExtractSize int64
	// Baton is the executable jobs find on their PATH as `baton` (a
	// symlink in a per-job bin directory put first on PATH), so that
	// scripts can run `baton artifacts ...`. "" means the running
	// executable; "-" puts nothing on PATH.
	Baton string
	// CacheDir holds the local cache (cache: in jobs) when CacheS3 is nil;
	// default ./cache, made absolute.
	CacheDir string
	// CacheS3, when set, keeps caches in an S3-compatible bucket shared by
	// runners instead of CacheDir.
	CacheS3 *CacheS3
	// MaxCacheArchiveSize bounds one cache archive the runner stores; 0
	// means DefaultMaxCacheArchiveSize, negative no limit.
	MaxCacheArchiveSize int64
}

// DefaultMaxExtractSize is Config.MaxExtractSize's default: as much as
// Baton's default --max-artifact-uncompressed lets an upload declare.
const DefaultMaxExtractSize = 16 << 30

// DefaultMaxPollBackoff caps the wait between job requests after failures
// (coordinator unreachable, 5xx, 403): short, so that a runner is back
// within seconds of an outage or a coordinator replica's restart.
const DefaultMaxPollBackoff = 5 * time.Second

// Runner polls a coordinator for jobs and runs them with bash. Create it with [New].
type Runner struct {
	cfg      Config
	cache    cacheStore
	client   *client
	log      *slog.Logger
	systemID string

	// Tunables with production defaults; tests in this package shorten them.
	traceInterval   time.Duration // default patch interval before the server says otherwise
	keepalive       time.Duration // PUT state=running after this long without a successful patch
	killGrace       time.Duration // SIGTERM → SIGKILL
	finalRetries    int           // final update attempts
	finalBackoff    time.Duration // first wait between final update attempts
	maxPollBackoff  time.Duration // cap of the back-off after failing polls
	afterScriptTime time.Duration // after_script timeout unless RUNNER_AFTER_SCRIPT_TIMEOUT says otherwise
	traceLimit      int           // bytes of trace kept; output beyond is dropped with a notice
}

// New validates cfg, fills in defaults and returns a Runner. It returns an
// error if the URL is not http(s), the token is empty or the shell is not bash.
func New(cfg Config) (*Runner, error) {
	base, err := apiBase(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("runner token is empty")
	}
	if cfg.Shell == "" {
		cfg.Shell = "bash"
	}
	if cfg.Shell != "bash" {
		return nil, fmt.Errorf("shell %q is not supported (only bash)", cfg.Shell)
	}
	if cfg.BuildsDir == "" {
		cfg.BuildsDir = "builds"
	}
	if cfg.BuildsDir, err = filepath.Abs(cfg.BuildsDir); err != nil {
		return nil, fmt.Errorf("resolving builds dir: %w", err)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.MaxExtractSize == 0 {
		cfg.MaxExtractSize = DefaultMaxExtractSize
	}
	if cfg.MaxCacheArchiveSize == 0 {
		cfg.MaxCacheArchiveSize = DefaultMaxCacheArchiveSize
	}
	var cache cacheStore
	if cfg.CacheS3 != nil {
		if cache, err = newS3Cache(cfg.CacheS3); err != nil {
			return nil, err
		}
	} else {
		if cfg.CacheDir == "" {
			cfg.CacheDir = "cache"
		}
		if cfg.CacheDir, err = filepath.Abs(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("resolving cache dir: %w", err)
		}
		cache = localCache{dir: cfg.CacheDir}
	}
	if cfg.Name == "" {
		cfg.Name = "baton-runner"
	}
	if cfg.Baton == "" {
		if exe, err := os.Executable(); err == nil {
			cfg.Baton = exe
		} else {
			cfg.Baton = "-"
		}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Runner{
		cfg:             cfg,
		cache:           cache,
		client:          newClient(base, cfg.HTTPClient, cfg.Logger),
		log:             cfg.Logger,
		systemID:        systemID(),
		traceInterval:   3 * time.Second,
		keepalive:       10 * time.Second, // bounds how late a silent job hears of a cancel
		killGrace:       10 * time.Second,
		finalRetries:    10,
		finalBackoff:    time.Second,
		maxPollBackoff:  DefaultMaxPollBackoff,
		afterScriptTime: 5 * time.Minute,
		traceLimit:      4 << 20,
	}, nil
}

// apiBase turns the configured coordinator URL into the API base ending in /api/v4/.
func apiBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing coordinator url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("coordinator url %q: only http and https are supported", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("coordinator url %q has no host", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/ci")
	u.Path = strings.TrimRight(p, "/") + "/api/v4/"
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// systemID identifies this machine to the coordinator like gitlab-runner does:
// "s_" and 12 hex digits derived from the machine id, or "r_" and 12 random characters.
func systemID() string {
	if b, err := os.ReadFile("/etc/machine-id"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		sum := sha256.Sum256([]byte("baton-runner:" + strings.TrimSpace(string(b))))
		return "s_" + hex.EncodeToString(sum[:])[:12]
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "r_" + string(b)
}

// shortToken is the part of a token used in build directory names, as gitlab-runner does.
func shortToken(tok string) string {
	tok = strings.TrimPrefix(tok, "glrt-")
	if len(tok) > 8 {
		tok = tok[:8]
	}
	var b strings.Builder
	for _, c := range tok {
		if c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "runner"
	}
	return b.String()
}
