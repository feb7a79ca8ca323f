package runnerapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/variables"
)

// The server masks a job's masked CI/CD variables and its token in the
// log it stores, whether the replica that gets the trace handed out the
// job (its values remembered) or not (another replica, a restart: they
// are read again), and a finished job's values are forgotten.
func TestTraceMaskedOnEveryReplica(t *testing.T) {
	sealer, err := variables.NewSealer(bytes.Repeat([]byte{7}, variables.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	var svc *variables.Service
	e := newEnv(t, func(s *Server) {
		svc = variables.New(s.Store.(variables.Store), sealer, variables.Limits{})
		s.Variables = svc
	})
	const secret = "s3cr3t-value-0123456789"
	if err := svc.Create(context.Background(), &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: e.project.ID, Key: "SECRET",
		Value: secret, Masked: true, Environment: ci.AllEnvironments}); err != nil {
		t.Fatal(err)
	}
	e.pipeline([]string{"test"}, ci.JobSpec{Name: "a", Stage: "test", Script: []string{"true"}})
	j := e.takeJob(e.runner)

	line := func(what string) string { return what + " " + secret + " " + j.Token + "\n" }
	first, second := line("handed out here:"), line("another replica:")
	expect(t, patch(e, j, 0, first), http.StatusAccepted)
	e.srv.forgetMask(j.ID) // as on a replica that did not hand the job out
	expect(t, patch(e, j, len(first), second), http.StatusAccepted)

	log, err := e.db.ReadTrace(context.Background(), j.ID, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// A masked value keeps its length: [MASKED] padded with '*'.
	masked := func(v string) string { return "[MASKED]" + strings.Repeat("*", len(v)-len("[MASKED]")) }
	want := "handed out here: " + masked(secret) + " " + masked(j.Token) + "\n" +
		"another replica: " + masked(secret) + " " + masked(j.Token) + "\n"
	if got := string(log); got != want {
		t.Errorf("stored log %q, want %q", got, want)
	}

	finish(t, e, j, "success")
	e.srv.masks.mu.Lock()
	_, kept := e.srv.masks.jobs[j.ID]
	e.srv.masks.mu.Unlock()
	if kept {
		t.Errorf("a finished job's masked values are still remembered")
	}
}
