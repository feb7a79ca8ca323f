package runnerapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// SettingRegistrationToken is the settings key of the instance's runner
// registration token. The token is kept in plain text, as GitLab keeps it:
// it is an enrollment secret shown to administrators, not a credential
// for anything but creating runners. It is compared in constant time.
const SettingRegistrationToken = "runner_registration_token"

// RegistrationToken returns the instance's runner registration token
// (for `gitlab-runner register -r TOKEN`), creating it on first use.
func (s *Server) RegistrationToken(ctx context.Context) (string, error) {
	tok, err := s.Store.Setting(ctx, SettingRegistrationToken)
	if err == nil && tok != "" {
		return tok, nil
	}
	if err != nil && !ci.IsNotFound(err) {
		return "", fmt.Errorf("reading registration token: %w", err)
	}
	tok, _ = auth.NewToken(auth.PrefixRegistration)
	if err := s.Store.SetSetting(ctx, SettingRegistrationToken, tok); err != nil {
		return "", fmt.Errorf("storing registration token: %w", err)
	}
	// Another replica may have created one at the same time: the stored one wins.
	return s.Store.Setting(ctx, SettingRegistrationToken)
}

// tokenResponse is GitLab's answer to register, verify and token resets.
// token_expires_at is always null: Baton's runner tokens do not expire.
type tokenResponse struct {
	ID             int64   `json:"id,omitempty"`
	Token          string  `json:"token"`
	TokenExpiresAt *string `json:"token_expires_at"`
}

// registerRunner is POST /api/v4/runners, the legacy registration-token flow.
func (s *Server) registerRunner(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	want, err := s.RegistrationToken(r.Context())
	if err != nil {
		return err
	}
	if got := p.Get("token"); got == "" || !auth.Equal(got, want) {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden")
	}
	rn := &ci.Runner{RunnerType: ci.RunnerInstance, AccessLevel: "not_protected"}
	if err := applyRunnerParams(rn, p, true); err != nil {
		return err
	}
	in := info(p)
	rn.Version, rn.Platform, rn.Architecture, rn.Executor = in.Version, in.Platform, in.Architecture, in.Executor
	secret, hash := auth.NewToken(auth.PrefixRunner)
	rn.TokenHash = hash
	if err := s.Store.CreateRunner(r.Context(), rn); err != nil {
		return fmt.Errorf("creating runner: %w", err)
	}
	httpx.WriteJSON(w, http.StatusCreated, tokenResponse{ID: rn.ID, Token: secret})
	return nil
}

// applyRunnerParams sets the runner's settable fields from p; creating
// applies GitLab's defaults to absent ones.
func applyRunnerParams(rn *ci.Runner, p *httpx.Params, creating bool) error {
	var err error
	if p.Given("description") {
		rn.Description = p.Get("description")
	}
	if p.Given("tag_list") {
		if rn.Tags, err = tags(p, "tag_list"); err != nil {
			return err
		}
	}
	def := rn.RunUntagged
	if creating {
		def = true
	}
	if rn.RunUntagged, err = p.Bool("run_untagged", def); err != nil {
		return err
	}
	if rn.Locked, err = p.Bool("locked", rn.Locked); err != nil {
		return err
	}
	if p.Given("active") {
		active, err := p.Bool("active", !rn.Paused)
		if err != nil {
			return err
		}
		rn.Paused = !active
	}
	if rn.Paused, err = p.Bool("paused", rn.Paused); err != nil {
		return err
	}
	if v := p.Get("access_level"); v != "" {
		if v != "not_protected" && v != "ref_protected" {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - access_level does not have a valid value")
		}
		rn.AccessLevel = v
	}
	if p.Given("maximum_timeout") {
		n, err := p.Int("maximum_timeout", 0)
		if err != nil {
			return err
		}
		if n != 0 && n < 600 {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - maximum_timeout needs to be at least 10 minutes")
		}
		rn.MaximumTimeout = int(n)
	}
	if len(rn.Tags) == 0 && !rn.RunUntagged {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - tag_list can not be empty when runner is not allowed to pick untagged jobs")
	}
	return nil
}

// runnerByToken finds the runner of a runner token: the body's token, or
// the Runner-Token header. Unknown tokens are KindForbidden, as in GitLab.
func (s *Server) runnerByToken(ctx context.Context, token string) (*ci.Runner, error) {
	if token == "" {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden")
	}
	rn, err := s.Store.RunnerByTokenHash(ctx, auth.Hash(token))
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden")
	}
	if err != nil {
		return nil, fmt.Errorf("finding runner: %w", err)
	}
	if rn.TokenExpiresAt != nil && !s.now().Before(*rn.TokenExpiresAt) {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden - runner token expired")
	}
	return rn, nil
}

func runnerToken(r *http.Request, p *httpx.Params) string {
	if t := p.Get("token"); t != "" {
		return t
	}
	return r.Header.Get("Runner-Token")
}

// verifyRunner is POST /api/v4/runners/verify.
func (s *Server) verifyRunner(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	tok := runnerToken(r, p)
	rn, err := s.runnerByToken(r.Context(), tok)
	if err != nil {
		return err
	}
	s.touchRunner(r, rn, info(p))
	httpx.WriteJSON(w, http.StatusOK, tokenResponse{ID: rn.ID, Token: tok})
	return nil
}

// unregisterRunner is DELETE /api/v4/runners: the runner deletes itself.
func (s *Server) unregisterRunner(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	rn, err := s.runnerByToken(r.Context(), runnerToken(r, p))
	if err != nil {
		return err
	}
	if err := s.Store.DeleteRunner(r.Context(), rn.ID); err != nil {
		return fmt.Errorf("deleting runner %d: %w", rn.ID, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unregisterManager is DELETE /api/v4/runners/managers, which glrt- runners
// call on unregister. Baton keeps no runner managers (one row per runner),
// so the runner itself stays, as in GitLab; an admin deletes it.
func (s *Server) unregisterManager(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if _, err := s.runnerByToken(r.Context(), runnerToken(r, p)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetOwnToken is POST /api/v4/runners/reset_authentication_token.
func (s *Server) resetOwnToken(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	rn, err := s.runnerByToken(r.Context(), runnerToken(r, p))
	if err != nil {
		return err
	}
	return s.resetToken(w, r, rn)
}

func (s *Server) resetToken(w http.ResponseWriter, r *http.Request, rn *ci.Runner) error {
	secret, hash := auth.NewToken(auth.PrefixRunner)
	rn.TokenHash = hash
	rn.TokenExpiresAt = nil
	if err := s.Store.UpdateRunner(r.Context(), rn); err != nil {
		return fmt.Errorf("resetting token of runner %d: %w", rn.ID, err)
	}
	httpx.WriteJSON(w, http.StatusCreated, tokenResponse{Token: secret})
	return nil
}

// contactInterval is how often a polling runner's contact is written;
// polls in between change nothing but a timestamp and are not recorded.
const contactInterval = time.Minute

// touchRunner records a contact with what the runner said about itself.
// A failure is logged, not returned: contact times are advisory.
func (s *Server) touchRunner(r *http.Request, rn *ci.Runner, in runnerInfo) {
	now := s.now()
	ip := clientIP(r)
	changed := rn.IPAddress != ip || in.Version != "" && (in.Version != rn.Version || in.Platform != rn.Platform ||
		in.Architecture != rn.Architecture || in.Executor != rn.Executor)
	if !changed && rn.ContactedAt != nil && now.Sub(*rn.ContactedAt) < contactInterval {
		return
	}
	rn.ContactedAt = &now
	if in.Version != "" {
		rn.Version, rn.Platform, rn.Architecture, rn.Executor = in.Version, in.Platform, in.Architecture, in.Executor
	}
	rn.IPAddress = ip
	if err := s.Store.TouchRunner(r.Context(), rn); err != nil {
		s.logger().WarnContext(r.Context(), "recording runner contact", "runner_id", rn.ID, "err", err)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return strings.TrimSpace(r.RemoteAddr)
	}
	return host
}

// resetRegistrationToken is POST /api/v4/runners/reset_registration_token
// (administrators): a new instance registration token; the old one stops
// registering runners at once. Runners already registered keep working.
func (s *Server) resetRegistrationToken(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.principal(r)
	if err != nil {
		return err
	}
	if err := s.Policy.Instance(pr, routeAbility(r)); err != nil {
		return err
	}
	tok, _ := auth.NewToken(auth.PrefixRegistration)
	if err := s.Store.SetSetting(r.Context(), SettingRegistrationToken, tok); err != nil {
		return fmt.Errorf("storing registration token: %w", err)
	}
	httpx.WriteJSON(w, http.StatusCreated, tokenResponse{Token: tok})
	return nil
}
