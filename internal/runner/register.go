package runner

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// RegisterOptions are the runner settings sent with a legacy registration.
// The glrt- flow ignores them: such runners are configured on the server.
type RegisterOptions struct {
	Description    string
	Tags           []string
	RunUntagged    bool
	Locked         bool
	Paused         bool
	MaximumTimeout int // seconds; 0 = none
}

type registerRequest struct {
	Info           info   `json:"info"`
	Token          string `json:"token"`
	Description    string `json:"description,omitempty"`
	TagList        string `json:"tag_list,omitempty"`
	RunUntagged    bool   `json:"run_untagged"`
	Locked         bool   `json:"locked"`
	Paused         bool   `json:"paused"`
	MaximumTimeout int    `json:"maximum_timeout,omitempty"`
}

type verifyRequest struct {
	Info     info   `json:"info"`
	Token    string `json:"token"`
	SystemID string `json:"system_id"`
}

type tokenResponse struct {
	ID    int64  `json:"id"`
	Token string `json:"token"`
}

// Register returns the runner authentication token to put in Config.Token.
// A glrt- token is verified with POST /api/v4/runners/verify (200 with a
// non-zero id) and returned as is; any other token is a registration token
// exchanged with POST /api/v4/runners (201). It fails on any other status,
// e.g. 403 for an unknown token.
func Register(ctx context.Context, coordinatorURL, token string, opts RegisterOptions) (string, error) {
	r, err := New(Config{URL: coordinatorURL, Token: token})
	if err != nil {
		return "", err
	}
	inf := info{Name: r.cfg.Name, Version: ProtocolVersion, Revision: "baton", Features: features()}
	if strings.HasPrefix(token, "glrt-") {
		var out tokenResponse
		if err := r.postToken(ctx, "runners/verify", verifyRequest{Info: inf, Token: token, SystemID: r.systemID}, http.StatusOK, &out); err != nil {
			return "", fmt.Errorf("verifying runner: %w", err)
		}
		if out.ID == 0 {
			return "", fmt.Errorf("verifying runner: coordinator returned no runner id")
		}
		return token, nil
	}
	req := registerRequest{Info: inf, Token: token, Description: opts.Description,
		TagList: strings.Join(opts.Tags, ","), RunUntagged: opts.RunUntagged, Locked: opts.Locked,
		Paused: opts.Paused, MaximumTimeout: opts.MaximumTimeout}
	var out tokenResponse
	if err := r.postToken(ctx, "runners", req, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("registering runner: %w", err)
	}
	if out.Token == "" {
		return "", fmt.Errorf("registering runner: coordinator returned no token")
	}
	return out.Token, nil
}

func (r *Runner) postToken(ctx context.Context, path string, in any, want int, out *tokenResponse) error {
	body, err := jsonBody(in)
	if err != nil {
		return err
	}
	resp, err := r.client.do(ctx, apiRequest{method: http.MethodPost, path: path, body: body,
		header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("status %d: %s", resp.StatusCode, errorMessage(resp))
	}
	return decodeJSON(resp, out)
}
