package httpx

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLogKeepsSecretsOut: the request log line names the path, never
// the query, where signed artifact links carry their token (sig=) and
// GitLab clients may put private_token= or job_token=.
func TestRequestLogKeepsSecretsOut(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var log *slog.Logger
		if format == "json" {
			log = slog.New(slog.NewJSONHandler(&buf, nil))
		} else {
			log = slog.New(slog.NewTextHandler(&buf, nil))
		}
		h := WithRequestLog(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
		}))
		secrets := []string{"glatk-SIGSECRET1234", "glpat-PRIVSECRET", "glcbt-JOBSECRET"}
		req := httptest.NewRequest("GET", "/api/v4/projects/1/pipelines/2/artifacts?job=build&sig="+secrets[0]+
			"&private_token="+secrets[1]+"&job_token="+secrets[2], nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
		line := buf.String()
		if !strings.Contains(line, "/api/v4/projects/1/pipelines/2/artifacts") {
			t.Fatalf("%s: the log line lacks the path: %s", format, line)
		}
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("%s: the request log holds %s: %s", format, s, line)
			}
		}
	}
}
