// Package artifacttoken mints and checks artifact tokens: read-only,
// artifact-only tokens a running job hands to the world outside it (a host
// that deploys later, a release tool, a reviewer's link). A token reads the
// artifacts of named jobs of its minting job's pipeline until it expires,
// is revoked or is used up, optionally only from some networks; every use
// is counted in the database (so a use limit holds across replicas) and
// recorded in a bounded list. A signed download link (?sig=) is the same
// token in a URL.
//
// This package decides whether a token is valid; internal/policy decides
// what a valid token may read.
package artifacttoken

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// Prefix starts every artifact token.
const Prefix = "glatk-"

// SigParam is the query parameter of a signed download link.
const SigParam = "sig"

// Defaults of Limits.
const (
	DefaultMaxTTL         = 24 * time.Hour
	DefaultPerPipeline    = 100
	DefaultPerProject     = 1000
	DefaultUsesLog        = 1000
	MaxNames              = 50        // job or artifact names one token names
	MaxAllowedIPs         = 32        // CIDRs one token names
	MaxUses               = 1_000_000 // the largest max_uses
	maxNameLen            = 255
	errUnauthorizedString = "401 Unauthorized"
)

// Limits bound what a token may ask for and how many there are.
type Limits struct {
	MaxTTL      time.Duration // longest expires_in (and the default)
	PerPipeline int           // tokens one pipeline may mint, revoked and expired ones included; ≤ 0: no limit
	PerProject  int           // live tokens of one project; ≤ 0: no limit
	UsesLog     int           // recorded uses kept per token; ≤ 0: all
}

// Service mints and checks artifact tokens.
type Service struct {
	Store  ci.ArtifactTokenStore
	Limits Limits
	Now    func() time.Time // nil: time.Now
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) maxTTL() time.Duration {
	if s.Limits.MaxTTL > 0 {
		return s.Limits.MaxTTL
	}
	return DefaultMaxTTL
}

// MintRequest is what a job asks a token for.
type MintRequest struct {
	Jobs       []string      // names of jobs of the pipeline; at least one
	Artifacts  []string      // published artifact names; empty: every artifact of the jobs
	ExpiresIn  time.Duration // 0: the longest allowed
	AllowedIPs []string      // CIDRs or addresses; empty: anywhere
	MaxUses    int64         // 0: unlimited
}

var errUnauthorized = ci.Errorf(ci.KindUnauthorized, errUnauthorizedString)

func invalid(format string, args ...any) error {
	return ci.Errorf(ci.KindInvalid, "400 Bad request - "+format, args...)
}

// Mint creates a token for minter's pipeline, whose jobs are named
// pipelineJobs, and returns it with its secret (shown once). The caller
// has authorized minter (policy.MintArtifactToken).
func (s *Service) Mint(ctx context.Context, minter *ci.Job, req MintRequest, pipelineJobs []string) (*ci.ArtifactToken, string, error) {
	jobs, err := names("jobs", req.Jobs)
	if err != nil {
		return nil, "", err
	}
	if len(jobs) == 0 {
		return nil, "", invalid("jobs is missing: name at least one job of the pipeline")
	}
	for _, j := range jobs {
		if !slices.Contains(pipelineJobs, j) {
			return nil, "", invalid("jobs: pipeline %d has no job %q", minter.PipelineID, j)
		}
	}
	arts, err := names("artifacts", req.Artifacts)
	if err != nil {
		return nil, "", err
	}
	for _, a := range arts {
		if err := ci.CheckArtifactName(a); err != nil {
			return nil, "", invalid("artifacts: %q is not an artifact name", a)
		}
	}
	ttl := req.ExpiresIn
	switch {
	case ttl == 0:
		ttl = s.maxTTL()
	case ttl < 0:
		return nil, "", invalid("expires_in must be a positive number of seconds")
	case ttl > s.maxTTL():
		return nil, "", invalid("expires_in must be at most %d seconds (--max-artifact-token-ttl)", int64(s.maxTTL()/time.Second))
	}
	ips, err := ParseAllowedIPs(req.AllowedIPs)
	if err != nil {
		return nil, "", err
	}
	if req.MaxUses < 0 || req.MaxUses > MaxUses {
		return nil, "", invalid("max_uses must be between 0 (unlimited) and %d", MaxUses)
	}
	secret, hash := auth.NewToken(Prefix)
	tok := &ci.ArtifactToken{ProjectID: minter.ProjectID, PipelineID: minter.PipelineID, JobID: minter.ID,
		TokenHash: hash, TokenTail: secret[len(secret)-4:], Jobs: jobs, Artifacts: arts, AllowedIPs: ips,
		MaxUses: req.MaxUses, ExpiresAt: s.now().Add(ttl)}
	if err := s.Store.CreateArtifactToken(ctx, tok, s.Limits.PerPipeline, s.Limits.PerProject); err != nil {
		return nil, "", err
	}
	return tok, secret, nil
}

// names deduplicates a list of names and bounds it.
func names(what string, in []string) ([]string, error) {
	var out []string
	for _, n := range in {
		if n == "" || len(n) > maxNameLen || strings.ContainsAny(n, "\n\r\x00") {
			return nil, invalid("%s: %q is not a name", what, n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxNames {
		return nil, invalid("%s: at most %d names", what, MaxNames)
	}
	return out, nil
}

// ParseAllowedIPs checks CIDRs (a bare address is its own /32 or /128) and
// returns them in canonical form.
func ParseAllowedIPs(in []string) ([]string, error) {
	if len(in) > MaxAllowedIPs {
		return nil, invalid("allowed_ips: at most %d networks", MaxAllowedIPs)
	}
	var out []string
	for _, c := range in {
		c = strings.TrimSpace(c)
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, invalid("allowed_ips: %q is not a CIDR network or an address", c)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx.Masked().String())
	}
	return out, nil
}

// allowed reports whether addr is in one of the token's networks.
func allowed(tok *ci.ArtifactToken, addr netip.Addr) bool {
	if len(tok.AllowedIPs) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, c := range tok.AllowedIPs {
		if pfx, err := netip.ParsePrefix(c); err == nil && pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// IsToken reports whether secret has the form of an artifact token.
func IsToken(secret string) bool { return strings.HasPrefix(secret, Prefix) }

// Secret finds an artifact token in a request to an artifact route: the
// sig parameter of a signed link, or where a personal token goes
// (PRIVATE-TOKEN, Authorization: Bearer, private_token) when it has the
// artifact token's prefix; never JOB-TOKEN or job_token, which are a
// job's. "" means the request carries none, and other credentials, if
// any, apply.
func Secret(r *http.Request) string {
	q := r.URL.Query()
	if q.Has(SigParam) {
		return q.Get(SigParam)
	}
	for _, v := range []string{r.Header.Get("Private-Token"), bearer(r), q.Get("private_token")} {
		if IsToken(v) {
			return v
		}
	}
	return ""
}

// bearer is the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// RemoteAddr is the address a request came from: the connection's peer,
// or the client behind a --trusted-proxies peer (httpx.TrustProxies put it
// in r.RemoteAddr); a client's own X-Forwarded-For never counts.
func RemoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// Check resolves secret, used from addr: a token that is not revoked,
// expired, used up, or restricted to other networks. Every refusal is the
// same 401, so that a holder learns nothing about why. It does not count a
// use (Claim does).
func (s *Service) Check(ctx context.Context, secret string, addr netip.Addr) (*ci.ArtifactToken, error) {
	if !IsToken(secret) {
		return nil, errUnauthorized
	}
	hash := auth.Hash(secret)
	tok, err := s.Store.ArtifactTokenByHash(ctx, hash)
	if ci.IsNotFound(err) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !auth.Equal(tok.TokenHash, hash) || !tok.Usable(s.now()) || !allowed(tok, addr) {
		return nil, errUnauthorized
	}
	return tok, nil
}

// Claim counts one use of tok, refusing (401) when it was revoked, expired
// or used up meanwhile, on any replica.
func (s *Service) Claim(ctx context.Context, tok *ci.ArtifactToken) error {
	return s.Store.ClaimArtifactTokenUse(ctx, tok.ID, s.now())
}

// Record appends a use to tok's bounded use list.
func (s *Service) Record(ctx context.Context, tok *ci.ArtifactToken, addr netip.Addr, route string, status int, bytes int64) error {
	u := &ci.ArtifactTokenUse{TokenID: tok.ID, UsedAt: s.now(), RemoteAddr: addr.String(), Route: route, Status: status, Bytes: bytes}
	if err := s.Store.RecordArtifactTokenUse(ctx, u, s.Limits.UsesLog); err != nil {
		return fmt.Errorf("recording a use of artifact token %d: %w", tok.ID, err)
	}
	return nil
}

// List, Get, Revoke and Uses are the maintainers' view; the caller has
// authorized them (policy.ReadArtifactTokens, policy.AdminArtifactTokens).

// List lists a project's tokens, newest first.
func (s *Service) List(ctx context.Context, projectID int64, p ci.Page) ([]*ci.ArtifactToken, int, error) {
	return s.Store.ListArtifactTokens(ctx, projectID, p)
}

// Get is one of a project's tokens.
func (s *Service) Get(ctx context.Context, projectID, id int64) (*ci.ArtifactToken, error) {
	return s.Store.ArtifactTokenByID(ctx, projectID, id)
}

// Revoke ends a project's token now.
func (s *Service) Revoke(ctx context.Context, projectID, id int64) error {
	return s.Store.RevokeArtifactToken(ctx, projectID, id, s.now())
}

// Uses lists a token's recorded uses, newest first.
func (s *Service) Uses(ctx context.Context, tokenID int64, p ci.Page) ([]*ci.ArtifactTokenUse, int, error) {
	return s.Store.ArtifactTokenUses(ctx, tokenID, p)
}

// State names a token's state at now: active, revoked, expired or used_up.
func State(tok *ci.ArtifactToken, now time.Time) string {
	switch {
	case tok.RevokedAt != nil:
		return "revoked"
	case !now.Before(tok.ExpiresAt):
		return "expired"
	case tok.MaxUses > 0 && tok.Uses >= tok.MaxUses:
		return "used_up"
	}
	return "active"
}

// StateNow is State at the service's clock.
func (s *Service) StateNow(tok *ci.ArtifactToken) string { return State(tok, s.now()) }
