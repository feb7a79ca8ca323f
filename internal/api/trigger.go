package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

type triggerEntity struct {
	ID          int64       `json:"id"`
	Description string      `json:"description"`
	CreatedAt   *time.Time  `json:"created_at"`
	LastUsed    *time.Time  `json:"last_used"`
	Token       string      `json:"token"`
	UpdatedAt   *time.Time  `json:"updated_at"`
	Owner       *userEntity `json:"owner"`
}

func (s *Server) trigger(c *call, t *ci.Trigger, secret string) triggerEntity {
	e := triggerEntity{ID: t.ID, Description: t.Description, CreatedAt: utc(&t.CreatedAt), UpdatedAt: utc(&t.CreatedAt),
		LastUsed: utc(t.LastUsedAt), Token: secret}
	if secret == "" {
		// Only the creator sees the whole secret, once; lists show its tail.
		e.Token = auth.PrefixTrigger + "…" + t.TokenTail
	}
	e.Owner = s.userFor(c, t.OwnerID)
	return e
}

func (s *Server) createTrigger(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	desc, err := q.Required("description")
	if err != nil {
		return answer{}, err
	}
	secret, hash := auth.NewToken(auth.PrefixTrigger)
	t := &ci.Trigger{ProjectID: c.proj.ID, OwnerID: c.p.UserID(), Description: desc, TokenHash: hash, TokenTail: secret[len(secret)-4:]}
	if err := s.Store.CreateTrigger(c.ctx(), t); err != nil {
		return answer{}, err
	}
	return created(s.trigger(c, t, secret)), nil
}

func (s *Server) listTriggers(c *call) (answer, error) {
	ts, err := s.Store.ListTriggers(c.ctx(), c.proj.ID)
	if err != nil {
		return answer{}, err
	}
	out := make([]triggerEntity, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.trigger(c, t, ""))
	}
	return ok(out), nil
}

// triggerMissing is the answer to trigger id absent from the project.
func triggerMissing(id int64) error {
	return ci.Errorf(ci.KindNotFound, "404 Trigger %d Not Found", id)
}

// triggerOf resolves :trigger_id within the call's project.
func (s *Server) triggerOf(c *call) (*ci.Trigger, error) {
	id, err := pathID(c.r, "trigger_id")
	if err != nil {
		return nil, err
	}
	t, err := s.Store.TriggerByID(c.ctx(), c.proj.ID, id)
	if ci.IsNotFound(err) {
		return nil, triggerMissing(id)
	}
	return t, err
}

func (s *Server) getTrigger(c *call, t *ci.Trigger) (answer, error) {
	return ok(s.trigger(c, t, "")), nil
}

// updateTrigger is PUT /projects/:id/triggers/:trigger_id (description).
func (s *Server) updateTrigger(c *call, t *ci.Trigger) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if q.Given("description") {
		t.Description = q.Get("description")
		if err := s.Store.UpdateTrigger(c.ctx(), t); err != nil {
			return answer{}, err
		}
	}
	return ok(s.trigger(c, t, "")), nil
}

func (s *Server) deleteTrigger(c *call) (answer, error) {
	id, err := pathID(c.r, "trigger_id")
	if err != nil {
		return answer{}, err
	}
	if err := s.Store.DeleteTrigger(c.ctx(), c.proj.ID, id); err != nil {
		if ci.IsNotFound(err) {
			return answer{}, triggerMissing(id)
		}
		return answer{}, err
	}
	return noContent, nil
}

// triggerPipeline is POST /projects/:id/trigger/pipeline and
// /projects/:id/ref/:ref/trigger/pipeline: token (a trigger token or a job
// token), ref, variables[KEY]=value, inputs (as POST /pipeline takes them).
func (s *Server) triggerPipeline(w http.ResponseWriter, r *http.Request) error {
	if strings.EqualFold(r.Header.Get("X-Gitlab-Event"), "Pipeline Hook") {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: pipeline hooks cannot trigger pipelines")
	}
	proj, err := s.lookupProject(r)
	if err != nil {
		return err
	}
	q, user, source, err := s.triggerCaller(r, proj)
	if err != nil {
		// Until the token is proven to be one of this project's, a private
		// project answers exactly as a missing one.
		var owner ownerLost
		if proj.Visibility == ci.VisibilityPrivate && !errors.As(err, &owner) && ci.KindOf(err) != ci.KindInternal {
			return errProjectNotFound
		}
		return err
	}
	ref := r.PathValue("ref")
	if ref == "" {
		if ref, err = q.Required("ref"); err != nil {
			return err
		}
	}
	vars, err := triggerVariables(q)
	if err != nil {
		return err
	}
	inputs, err := pipelineInputs(q)
	if err != nil {
		return err
	}
	// As GitLab, the trigger's owner (or the job's user) must hold the
	// project's minimum role to give variables: the planner asks the policy.
	pl, err := s.Planner.Create(r.Context(), ci.PipelineRequest{Project: proj, Ref: ref, Source: source, UserID: user.ID, Variables: vars, Inputs: inputs})
	if err != nil {
		if writePlanError(w, err) {
			return nil
		}
		return err
	}
	return s.writePipeline(w, r, http.StatusCreated, pl, proj)
}

// triggerVariables reads variables[KEY]=value (form or query) or a JSON
// object {"variables": {"KEY": "value"}}.
func triggerVariables(q *httpx.Params) ([]ci.Variable, error) {
	var vars []ci.Variable
	if raw, ok := q.JSON["variables"]; ok {
		m := map[string]any{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variables needs to be a map of key-valued strings")
		}
		for k, v := range m {
			str, ok := v.(string)
			if !ok {
				return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variables needs to be a map of key-valued strings")
			}
			vars = append(vars, ci.Variable{Key: k, Value: str})
		}
	}
	for k, vs := range q.Values {
		if !strings.HasPrefix(k, "variables[") || !strings.HasSuffix(k, "]") {
			continue
		}
		key := k[len("variables[") : len(k)-1]
		if key == "" || strings.ContainsAny(key, "[]") {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variables needs to be a map of key-valued strings")
		}
		vars = append(vars, ci.Variable{Key: key, Value: vs[len(vs)-1]})
	}
	for _, v := range vars {
		if !validVariableKey(v.Key) {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variable key %q can contain only letters, digits and '_'", v.Key)
		}
	}
	return vars, nil
}

var errProjectNotFound = ci.Errorf(ci.KindNotFound, "404 Project Not Found")

// triggerCaller reads the trigger request's parameters and checks its token:
// a trigger token of proj whose owner may still create pipelines there (as
// GitLab checks at every use), or a running job's token whose project may
// read proj and whose user may create pipelines in it. It returns the user
// the pipeline runs for and its source. Errors before the token is proven
// to belong to proj are for the caller to hide on private projects; a
// proven token whose owner lost access is KindForbidden.
func (s *Server) triggerCaller(r *http.Request, proj *ci.Project) (*httpx.Params, *ci.User, string, error) {
	q, err := httpx.ReadParams(r)
	if err != nil {
		return nil, nil, "", err
	}
	token, err := q.Required("token")
	if err != nil {
		return nil, nil, "", err
	}
	ctx := r.Context()
	if strings.HasPrefix(token, auth.PrefixJob) {
		p, err := s.Auth.JobPrincipal(ctx, token)
		if err != nil {
			return nil, nil, "", err
		}
		// The job's own token never writes (an allow-list grants reads);
		// the user who runs the job must be allowed to create pipelines in
		// the target project, as in GitLab.
		if err := s.Policy.Project(ctx, p, policy.ReadPipeline, proj); err != nil {
			return nil, nil, "", err
		}
		if p.User == nil {
			return nil, nil, "", ownerLost{ci.Errorf(ci.KindForbidden, "403 Forbidden: this job runs for no user and cannot trigger pipelines")}
		}
		if err := s.Policy.Project(ctx, &auth.Principal{User: p.User}, policy.CreatePipeline, proj); err != nil {
			return nil, nil, "", ownerLost{ci.Errorf(ci.KindForbidden, "403 Forbidden: %s may not create pipelines in %s", p.User.Username, proj.FullPath)}
		}
		return q, p.User, "pipeline", nil
	}
	t, err := s.Store.TriggerByHash(ctx, auth.Hash(token))
	if ci.IsNotFound(err) || (err == nil && t.ProjectID != proj.ID) {
		return nil, nil, "", ci.Errorf(ci.KindForbidden, "403 Forbidden: invalid trigger token")
	}
	if err != nil {
		return nil, nil, "", err
	}
	owner, err := s.Store.UserByID(ctx, t.OwnerID)
	if err == nil {
		err = s.Policy.Project(ctx, &auth.Principal{User: owner}, policy.CreatePipeline, proj)
	}
	if err != nil {
		if ci.KindOf(err) == ci.KindInternal {
			return nil, nil, "", err
		}
		return nil, nil, "", ownerLost{ci.Errorf(ci.KindForbidden, "403 Forbidden: the owner of trigger %d may no longer create pipelines in this project", t.ID)}
	}
	_ = s.Store.TouchTrigger(ctx, t.ID, time.Now())
	return q, owner, ci.SourceTrigger, nil
}

// ownerLost marks a refusal after the token was proven to be the project's:
// the caller may learn that the project exists.
type ownerLost struct{ error }

func (o ownerLost) Unwrap() error { return o.error }
