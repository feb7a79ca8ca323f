package runnerapi

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store/storetest"
)

// A job of a project the caller's job token may not read answers the
// runner's artifact download exactly as a job that does not exist.
func TestDownloadOfUnreadableProjectIsAbsent(t *testing.T) {
	e := newEnv(t)
	e.pipeline([]string{"test"}, ci.JobSpec{Name: "a", Stage: "test", Script: []string{"true"}})
	caller := e.takeJob(e.runner)
	other := storetest.MustProject(t, e.db, e.project.NamespaceID, ci.VisibilityPrivate)
	_, jobs := storetest.MustPipeline(t, e.db, other.ID, "main", map[string][]string{"build": nil})

	get := func(id int64) (int, []byte) {
		t.Helper()
		resp := e.do("GET", "/api/v4/jobs/"+itoa(id)+"/artifacts", nil, "Job-Token", caller.Token)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	absentStatus, absent := get(jobs[0].ID + 1000)
	status, body := get(jobs[0].ID)
	if absentStatus != http.StatusNotFound || status != absentStatus || !bytes.Equal(body, absent) {
		t.Errorf("another project's job: %d %s; a missing job: %d %s; want both the same 404", status, body, absentStatus, absent)
	}
}
