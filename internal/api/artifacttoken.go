package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// artifactTokenEntity is an artifact token as the API shows it; the
// secret only once, when minted.
type artifactTokenEntity struct {
	ID         int64      `json:"id"`
	ProjectID  int64      `json:"project_id"`
	PipelineID int64      `json:"pipeline_id"`
	JobID      int64      `json:"job_id"` // the job that minted it
	Jobs       []string   `json:"jobs"`
	Artifacts  []string   `json:"artifacts"`
	AllowedIPs []string   `json:"allowed_ips"`
	MaxUses    *int64     `json:"max_uses"` // null: unlimited
	Uses       int64      `json:"uses"`
	State      string     `json:"state"` // active, revoked, expired or used_up
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Token      string     `json:"token,omitempty"` // on mint only
	URL        string     `json:"url,omitempty"`   // on mint only: a signed download link
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (s *Server) artifactToken(t *ci.ArtifactToken) artifactTokenEntity {
	e := artifactTokenEntity{ID: t.ID, ProjectID: t.ProjectID, PipelineID: t.PipelineID, JobID: t.JobID,
		Jobs: orEmpty(t.Jobs), Artifacts: orEmpty(t.Artifacts), AllowedIPs: orEmpty(t.AllowedIPs), Uses: t.Uses,
		State: s.ArtifactTokens.StateNow(t), ExpiresAt: t.ExpiresAt.UTC(), RevokedAt: t.RevokedAt, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: t.LastUsedAt}
	if t.MaxUses > 0 {
		e.MaxUses = &t.MaxUses
	}
	return e
}

// SignedURL is the signed download link of a token: the pipeline route of
// its first job (and first artifact), with the token as ?sig=.
func SignedURL(externalURL string, t *ci.ArtifactToken, secret string) string {
	q := url.Values{"job": {t.Jobs[0]}, artifacttoken.SigParam: {secret}}
	if len(t.Artifacts) > 0 {
		q.Set("artifact", t.Artifacts[0])
	}
	return externalURL + "/api/v4/projects/" + itoa(t.ProjectID) + "/pipelines/" + itoa(t.PipelineID) + "/artifacts?" + q.Encode()
}

// mintArtifactToken is POST /projects/:id/pipelines/:pipeline_id/artifact_tokens:
// a running job, with its own job token, mints a read-only token for
// artifacts of named jobs of its own pipeline.
func (s *Server) mintArtifactToken(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	proj, err := s.lookupProject(r)
	if err != nil {
		return err
	}
	pipelineID, err := pathID(r, "pipeline_id")
	if err != nil {
		return err
	}
	if err := s.Policy.MintArtifactToken(r.Context(), p, proj, pipelineID); err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	req := artifacttoken.MintRequest{Jobs: q.List("jobs"), Artifacts: q.List("artifacts"), AllowedIPs: q.List("allowed_ips")}
	secs, err := q.Int("expires_in", 0)
	if err != nil {
		return err
	}
	if secs < 0 || secs > int64(100*365*24*time.Hour/time.Second) {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - expires_in must be a positive number of seconds")
	}
	req.ExpiresIn = time.Duration(secs) * time.Second
	if req.MaxUses, err = q.Int("max_uses", 0); err != nil {
		return err
	}
	var names []string
	if len(req.Jobs) > 0 && len(req.Jobs) <= artifacttoken.MaxNames {
		jobs, _, err := s.Store.ListJobs(r.Context(), ci.JobFilter{ProjectID: proj.ID, PipelineID: pipelineID, Names: req.Jobs,
			ScheduleOnly: true, IncludeRetried: true})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			names = append(names, j.Name)
		}
	}
	tok, secret, err := s.ArtifactTokens.Mint(r.Context(), p.Job, req, names)
	if err != nil {
		return err
	}
	e := s.artifactToken(tok)
	e.Token, e.URL = secret, SignedURL(s.ExternalURL, tok, secret)
	httpx.WriteJSON(w, http.StatusCreated, e)
	return nil
}

// listArtifactTokens is GET /projects/:id/artifact_tokens (Maintainers).
func (s *Server) listArtifactTokens(c *call) (answer, error) {
	return listed(c, func(pg ci.Page) ([]*ci.ArtifactToken, int, error) {
		return s.ArtifactTokens.List(c.ctx(), c.proj.ID, pg)
	}, s.artifactToken)
}

// artifactTokenOf finds :token_id in the call's project.
func (s *Server) artifactTokenOf(c *call) (*ci.ArtifactToken, error) {
	return byPathID("token_id", "404 Artifact token Not Found", func(c *call, id int64) (*ci.ArtifactToken, error) {
		return s.ArtifactTokens.Get(c.ctx(), c.proj.ID, id)
	})(c)
}

// getArtifactToken is GET /projects/:id/artifact_tokens/:token_id.
func (s *Server) getArtifactToken(c *call, tok *ci.ArtifactToken) (answer, error) {
	return ok(s.artifactToken(tok)), nil
}

// revokeArtifactToken is DELETE /projects/:id/artifact_tokens/:token_id.
func (s *Server) revokeArtifactToken(c *call, tok *ci.ArtifactToken) (answer, error) {
	if err := s.ArtifactTokens.Revoke(c.ctx(), c.proj.ID, tok.ID); err != nil {
		return answer{}, err
	}
	return noContent, nil
}

type artifactTokenUseEntity struct {
	ID         int64     `json:"id"`
	UsedAt     time.Time `json:"used_at"`
	RemoteAddr string    `json:"remote_addr"`
	Route      string    `json:"route"`
	Status     int       `json:"status"`
	Bytes      int64     `json:"bytes"`
}

// listArtifactTokenUses is GET /projects/:id/artifact_tokens/:token_id/uses:
// the token's recorded uses, newest first.
func (s *Server) listArtifactTokenUses(c *call, tok *ci.ArtifactToken) (answer, error) {
	return listed(c, func(pg ci.Page) ([]*ci.ArtifactTokenUse, int, error) {
		return s.ArtifactTokens.Uses(c.ctx(), tok.ID, pg)
	}, func(u *ci.ArtifactTokenUse) artifactTokenUseEntity {
		return artifactTokenUseEntity{ID: u.ID, UsedAt: u.UsedAt.UTC(), RemoteAddr: u.RemoteAddr, Route: u.Route, Status: u.Status, Bytes: u.Bytes}
	})
}

// absent turns what a token cannot find into what it may not read: one
// answer for both.
func absent(err error) error {
	if ci.IsNotFound(err) {
		return policy.TokenAbsent()
	}
	return err
}

// artifactName is the name a token grants an archive by: a published
// artifact's name, "" for a job's archive.
func artifactName(a *ci.Artifact) string {
	if a != nil && a.FileType == ci.FileTypePublished {
		return a.Name
	}
	return ""
}

// serveWithToken is serveChosen for a caller holding an artifact token
// (header or ?sig=): the token must be valid from the caller's address,
// and everything it may not read, in its project or another, answers as
// absent. Each use that reaches the bytes is counted (refused once used
// up, on any replica) and recorded with the bytes sent.
func (s *Server) serveWithToken(w http.ResponseWriter, r *http.Request, secret string, choose artifactHandler, needJob bool, serve serveFunc) error {
	if s.ArtifactTokens == nil {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	ctx := r.Context()
	addr := artifacttoken.RemoteAddr(r)
	tok, err := s.ArtifactTokens.Check(ctx, secret, addr)
	if err != nil {
		return err
	}
	proj, err := s.lookupProject(r)
	if err != nil {
		return absent(err)
	}
	if err := policy.ArtifactTokenProject(tok, proj); err != nil {
		return err
	}
	aq, err := artifacts.ReadQuery(r, needJob)
	if err != nil {
		return err
	}
	if err := policy.ArtifactTokenJobName(tok, aq.Job); err != nil {
		return err
	}
	if v := r.PathValue("pipeline_id"); v != "" && v != itoa(tok.PipelineID) {
		return policy.TokenAbsent()
	}
	// A token reads its own pipeline's jobs only: child= leads to no job it
	// may read, and resolving it could answer what the token may not learn
	// (a 409 names the child pipelines that have the job).
	if aq.Child != "" {
		return policy.TokenAbsent()
	}
	spec := artifacts.WaitSpec{For: aq.Wait, ProjectID: proj.ID,
		Clients: []string{"ip:" + addr.String(), "artifact_token:" + itoa(tok.ID)},
		Recheck: func(ctx context.Context) error {
			_, err := s.ArtifactTokens.Check(ctx, secret, addr)
			return err
		}}
	pick, err := choose(ctx, r, proj, aq, &spec)
	if err != nil {
		return absent(err)
	}
	if aq.Wait > 0 {
		httpx.Hold(w, aq.Wait)
	}
	c, err := s.Artifacts.Wait(ctx, spec, pick)
	if err != nil {
		return absent(err)
	}
	for _, ch := range append([]*artifacts.Choice{c}, c.Shards...) {
		if err := policy.ArtifactTokenReads(tok, ch.Job, artifactName(ch.Archive)); err != nil {
			return err
		}
	}
	if err := s.ArtifactTokens.Claim(ctx, tok); err != nil {
		return err
	}
	cw := &httpx.Recorder{ResponseWriter: w}
	w.Header().Set("X-Baton-Job-Id", itoa(c.Job.ID))
	err = serve(cw, r, c)
	status := cw.Status
	if err != nil && status == 0 {
		status, _ = httpx.ErrorStatus(err)
	}
	if rerr := s.ArtifactTokens.Record(context.WithoutCancel(ctx), tok, addr, r.Pattern, status, cw.Bytes); rerr != nil {
		s.Logger.Error("recording artifact token use", "err", rerr)
	}
	return err
}
