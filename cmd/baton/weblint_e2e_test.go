package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLintPageBody: the CI lint form takes a configuration as large as its
// route allows (1 MiB, as the API's POST ci/lint), not only the 64 KiB of
// the other forms, and a larger one is 413.
func TestLintPageBody(t *testing.T) {
	in := startBaton(t, engines()[0])
	in.project("lint", map[string]string{".gitlab-ci.yml": "build:\n  script: [make]\n"})
	b := newBrowser(t, in.url)
	b.signIn(in.token)
	const L = "/root/lint/-/ci/lint"
	big := "build:\n  script: [make]\n# " + strings.Repeat("x", 200<<10) + "\n"
	st, body, _ := b.post(L, url.Values{"_csrf": {b.csrf(L)}, "content": {big}})
	if st != http.StatusOK || !strings.Contains(body, "Syntax is correct.") {
		t.Errorf("POST %s with a 200 KiB configuration: %d, want 200 and a valid result", L, st)
	}
	huge := "build:\n  script: [make]\n# " + strings.Repeat("x", 1<<20) + "\n"
	if st, _, _ := b.post(L, url.Values{"_csrf": {b.csrf(L)}, "content": {huge}}); st != http.StatusRequestEntityTooLarge {
		t.Errorf("POST %s with a 1 MiB configuration: %d, want 413", L, st)
	}
}
