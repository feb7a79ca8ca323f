package runnerapi

import (
	"context"
	"fmt"
	"sync"

	"github.com/batonci/baton/internal/ci"
)

// scopedVariables are the CI/CD variables proj's pipelines may get.
func (s *Server) scopedVariables(ctx context.Context, proj *ci.Project) (ci.ScopedVariables, error) {
	if s.Variables == nil {
		return ci.ScopedVariables{}, nil
	}
	sv, err := s.Variables.ForProject(ctx, proj)
	if err != nil {
		return sv, fmt.Errorf("reading CI/CD variables of project %d: %w", proj.ID, err)
	}
	return sv, nil
}

// traceMasks remembers, per job, the values its log must not show: the
// masked variables the job was given. A bounded cache: a job whose entry
// is missing (another replica gave it out, a restart) has them read again.
type traceMasks struct {
	mu   sync.Mutex
	jobs map[int64][]string
}

// maxRememberedMasks bounds traceMasks; past it, the cache starts over.
const maxRememberedMasks = 10000

func maskedValues(vs []ci.Variable) []string {
	var out []string
	for _, v := range vs {
		if v.Masked && len(v.Value) >= ci.MaskedValueMinLength {
			out = append(out, v.Value)
		}
	}
	return out
}

// rememberMask records the masked values of the variables job was given.
func (s *Server) rememberMask(jobID int64, given []ci.Variable) {
	s.masks.put(jobID, maskedValues(given))
}

// put keeps a job's values, starting over when the cache is full.
func (m *traceMasks) put(jobID int64, values []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobs == nil || len(m.jobs) >= maxRememberedMasks {
		m.jobs = map[int64][]string{}
	}
	m.jobs[jobID] = values
}

// forgetMask drops a finished job's entry.
func (s *Server) forgetMask(jobID int64) {
	s.masks.mu.Lock()
	delete(s.masks.jobs, jobID)
	s.masks.mu.Unlock()
}

// traceMask is what the server hides in job j's log, whatever the runner
// already hid: its masked CI/CD variables and its own job token.
func (s *Server) traceMask(ctx context.Context, j *ci.Job, token string) (*ci.TraceMask, error) {
	s.masks.mu.Lock()
	values, ok := s.masks.jobs[j.ID]
	s.masks.mu.Unlock()
	if !ok {
		var err error
		if values, err = s.readMask(ctx, j); err != nil {
			return nil, err
		}
		s.masks.put(j.ID, values)
	}
	return ci.NewTraceMask(append([]string{token}, values...)), nil
}

// readMask reads the masked values of the CI/CD variables job j gets.
func (s *Server) readMask(ctx context.Context, j *ci.Job) ([]string, error) {
	if s.Variables == nil {
		return nil, nil
	}
	proj, err := s.Store.ProjectByID(ctx, j.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("loading project %d: %w", j.ProjectID, err)
	}
	pl, err := s.Store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return nil, fmt.Errorf("loading pipeline %d: %w", j.PipelineID, err)
	}
	sv, err := s.scopedVariables(ctx, proj)
	if err != nil {
		return nil, err
	}
	instance, groups, own := sv.ForJob(pl.Protected, j.Spec.Environment)
	return maskedValues(ci.JobVariables(ci.VariableLayers{Instance: instance, Groups: groups, Project: own, Pipeline: pl.Variables})), nil
}
