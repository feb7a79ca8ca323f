package web

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// wildcard is a {name} or {name...} of a route pattern.
var wildcard = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// TestFormsNeedCSRF: every POST route of the route tables but sign-in
// (which checks its own nonce) refuses a signed-in administrator's form
// without the session's CSRF token before doing anything else (each
// handler checks it first: the route's authorization, asked before it,
// decides what an anonymous caller or a stranger learns), and nothing
// changes.
func TestFormsNeedCSRF(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	if err := f.db.CreateGroup(ctx, &ci.Namespace{Name: "grp", Path: "grp", FullPath: "grp", Kind: ci.NamespaceGroup, Visibility: ci.VisibilityPrivate}); err != nil {
		t.Fatal(err)
	}
	before, _, err := f.db.ListPipelines(ctx, ci.PipelineFilter{ProjectID: f.project.ID})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(f.pipeline.ID, 10)
	n := 0
	for _, rt := range Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method != http.MethodPost || path == "/-/sign_in" {
			continue
		}
		path = strings.ReplaceAll(path, "{project}", f.project.FullPath)
		path = strings.ReplaceAll(path, "{group...}", "grp")
		path = wildcard.ReplaceAllString(path, id)
		w := f.post(path, f.cookie, nil)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CSRF token") {
			t.Errorf("POST %s without a CSRF token: %d %.200s", path, w.Code, w.Body.String())
		}
		n++
	}
	if n < 30 {
		t.Errorf("only %d POST routes asked", n)
	}
	after, _, err := f.db.ListPipelines(ctx, ci.PipelineFilter{ProjectID: f.project.ID})
	if err != nil || len(after) != len(before) || after[0].Status != before[0].Status {
		t.Errorf("pipelines changed: %d → %d (%v)", len(before), len(after), err)
	}
}
