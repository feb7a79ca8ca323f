package ci

import (
	"strings"
	"testing"
)

// TestEnvironmentSlug is GitLab's own table (spec/lib/gitlab/slug/
// environment_spec.rb), whose digest is stubbed to 64 a's.
func TestEnvironmentSlug(t *testing.T) {
	for name, want := range map[string]string{
		"staging-12345678901234567": "staging-123456789-q517sa",
		"9-staging-123456789012345": "env-9-staging-123-q517sa",
		"staging-1234567890123456":  "staging-1234567890123456",
		"staging-1234567890123456-": "staging-123456789-q517sa",
		"production":                "production",
		"PRODUCTION":                "production-q517sa",
		"review/1-foo":              "review-1-foo-q517sa",
		"1-foo":                     "env-1-foo-q517sa",
		"1/foo":                     "env-1-foo-q517sa",
		"foo-":                      "foo",
		"foo--bar":                  "foo-bar-q517sa",
		"foo**bar":                  "foo-bar-q517sa",
		"*-foo":                     "env-foo-q517sa",
		"staging-12345678-":         "staging-12345678",
		"staging-12345678-01234567": "staging-12345678-q517sa",
		"":                          "env-q517sa",
	} {
		if got := environmentSlug(name, strings.Repeat("a", 64)); got != want {
			t.Errorf("environmentSlug(%q) = %q, want %q", name, got, want)
		}
	}
	// The real digest: a changed name gets a 6-character suffix that
	// differs between names.
	a, b := EnvironmentSlug("review/a"), EnvironmentSlug("review/b")
	if !strings.HasPrefix(a, "review-a-") || len(a) != len("review-a-")+6 || a[9:] == b[9:] {
		t.Errorf("EnvironmentSlug(review/a) = %q, (review/b) = %q", a, b)
	}
}

func TestGuessTier(t *testing.T) {
	for name, want := range map[string]string{
		"production": "production", "live": "production", "review/feature": "development", "dev": "development",
		"staging": "staging", "pre-prod": "staging", "qa": "testing", "test": "testing", "canary": "other",
	} {
		if got := GuessTier(name); got != want {
			t.Errorf("GuessTier(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPredefinedEnvironmentVariables(t *testing.T) {
	in := Predefined{ServerURL: "http://baton.test", Project: &Project{ID: 1, FullPath: "g/p"},
		Pipeline: &Pipeline{ID: 7, Ref: "main", SHA: "0123456789abcdef"},
		Job: &JobRun{Job: &Job{ID: 9, Name: "deploy", Spec: JobSpec{Environment: "review/main",
			Deploy: &EnvironmentSpec{Name: "review/main", URL: "https://main.example.com"}}}, Runner: &Runner{}}}
	got := map[string]string{}
	for _, v := range PredefinedVariables(in) {
		got[v.Key] = v.Value
	}
	want := map[string]string{"CI_ENVIRONMENT_NAME": "review/main", "CI_ENVIRONMENT_SLUG": EnvironmentSlug("review/main"),
		"CI_ENVIRONMENT_URL": "https://main.example.com", "CI_ENVIRONMENT_ACTION": "start", "CI_ENVIRONMENT_TIER": "development"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	in.Job.Job.Spec.Deploy = nil
	for _, v := range PredefinedVariables(in) {
		if strings.HasPrefix(v.Key, "CI_ENVIRONMENT_") {
			t.Errorf("job without environment got %s", v.Key)
		}
	}
}
