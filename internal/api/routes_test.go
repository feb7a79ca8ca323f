package api

import (
	"net/http"
	"testing"
)

// TestRegister checks that the route patterns do not conflict: ServeMux
// panics at registration on ambiguous patterns.
func TestRegister(t *testing.T) {
	mux := http.NewServeMux()
	(&Server{}).Register(mux)
	cases := []struct{ method, path, pattern string }{
		{"GET", "/api/v4/projects/1/jobs/7/artifacts", "GET /api/v4/projects/{id}/jobs/{job_id}/{rest...}"},
		{"GET", "/api/v4/projects/1/jobs/7/trace", "GET /api/v4/projects/{id}/jobs/{job_id}/trace"},
		{"GET", "/api/v4/projects/g%2Fapp/jobs/artifacts/feature%2Fx/raw/a/b.txt", "GET /api/v4/projects/{id}/jobs/{job_id}/{rest...}"},
		{"GET", "/api/v4/projects/1/pipelines/latest", "GET /api/v4/projects/{id}/pipelines/latest"},
		{"HEAD", "/api/v4/projects/1/pipelines/5/artifacts", "GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts"},
		{"GET", "/api/v4/projects/1/repository/commits/abcdef1/artifacts/raw/dir/f.txt", "GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/raw/{path...}"},
		{"GET", "/api/v4/projects/g%2Fapp/repository/files/dir%2Fa.txt/raw", "GET /api/v4/projects/{id}/repository/files/{file_path}/raw"},
		{"HEAD", "/api/v4/projects/1/repository/files/dir%2Fa.txt", "GET /api/v4/projects/{id}/repository/files/{file_path}"},
		{"GET", "/api/v4/projects/1/repository/branches/feature%2Fx", "GET /api/v4/projects/{id}/repository/branches/{branch}"},
		{"GET", "/api/v4/projects/1/repository/commits/abcdef1/statuses", "GET /api/v4/projects/{id}/repository/commits/{sha}/statuses"},
		{"GET", "/api/v4/projects/1/members/all", "GET /api/v4/projects/{id}/members/all"},
		{"GET", "/api/v4/nothing", "/api/v4/"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(c.method, c.path, nil)
		if _, got := mux.Handler(r); got != c.pattern {
			t.Errorf("%s %s routed to %q, want %q", c.method, c.path, got, c.pattern)
		}
	}
}
