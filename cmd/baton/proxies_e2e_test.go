package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTrustedProxies: behind a --trusted-proxies peer, X-Forwarded-For's
// client is the address --max-waiters-per-client counts and
// X-Forwarded-Proto: https makes the session cookie Secure; from a peer
// not trusted (the default: none) both headers mean nothing.
func TestTrustedProxies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, trusted := range []bool{true, false} {
			t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
				in := startBaton(t, e, func(c *Config) {
					c.MaxWaitersPerClient = 1
					if trusted {
						c.TrustedProxies = "127.0.0.0/8, ::1"
					}
				})
				h := in.holdJobs("a", "b", "c", "d")
				base := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=d&wait=300", h.project, h.pipeline)
				as := func(job, client string) map[string]string {
					return map[string]string{"JOB-TOKEN": h.tokens[job], "X-Forwarded-For": client}
				}
				first := in.getAsync(base, as("a", "203.0.113.1"))
				in.waiting(1)
				// Another job token from another forwarded client: held only
				// when the forwarded address is believed.
				second := in.getAsync(base, as("b", "203.0.113.2"))
				if trusted {
					in.waiting(2)
				} else if got := <-second; got.status != http.StatusTooManyRequests {
					t.Fatalf("untrusted peer: a second wait from 127.0.0.1 answered %d %s, want 429", got.status, got.body)
				}
				// Another job token from the first client: over its limit.
				status, body, _ := in.do("GET", base, as("c", "203.0.113.1"), nil)
				if status != http.StatusTooManyRequests {
					t.Fatalf("a second wait of client 203.0.113.1: %d %s, want 429", status, body)
				}
				h.finish("d") // no archive will come: the held waits answer 404
				held := []<-chan answer{first}
				if trusted {
					held = append(held, second)
				}
				for _, c := range held {
					if got := <-c; got.status != http.StatusNotFound {
						t.Fatalf("held wait: %d %s, want 404", got.status, got.body)
					}
				}

				// Sign-in behind a proxy that terminated TLS.
				b := newBrowser(t, in.url)
				nonce := b.csrf("/-/sign_in")
				req, _ := http.NewRequest("POST", in.url+"/-/sign_in", strings.NewReader(url.Values{"_csrf": {nonce}, "token": {in.token}, "next": {"/"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-Proto", "https")
				resp, err := b.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				ck := resp.Header.Get("Set-Cookie")
				if resp.StatusCode != http.StatusSeeOther || !strings.Contains(ck, "baton_session=") {
					t.Fatalf("sign in: %d, Set-Cookie %q", resp.StatusCode, ck)
				}
				if secure := strings.Contains(ck, "; Secure"); secure != trusted {
					t.Errorf("session cookie Secure = %v with X-Forwarded-Proto: https, want %v: %q", secure, trusted, ck)
				}
			})
		}
	})
}
