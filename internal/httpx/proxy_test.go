package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrustProxies(t *testing.T) {
	trusted, err := ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer, xff, xfp string
		trusted              bool // use the trusted list (else none)
		wantAddr             string
		wantHTTPS            bool
	}{
		{"no proxies trusted: headers ignored", "10.1.2.3:555", "203.0.113.9", "https", false, "10.1.2.3:555", false},
		{"untrusted peer: headers ignored", "198.51.100.4:555", "203.0.113.9", "https", true, "198.51.100.4:555", false},
		{"trusted peer: its client", "10.1.2.3:555", "203.0.113.9", "https", true, "203.0.113.9:0", true},
		{"single trusted address", "192.168.1.7:80", "203.0.113.9", "", true, "203.0.113.9:0", false},
		{"a client's forged hop stays left of the proxy's", "10.1.2.3:555", "1.2.3.4, 203.0.113.9", "", true, "203.0.113.9:0", false},
		{"trusted hops are skipped", "10.1.2.3:555", "203.0.113.9, 10.9.9.9", "http", true, "203.0.113.9:0", false},
		{"every hop trusted: the left-most", "10.1.2.3:555", "10.5.5.5, 10.9.9.9", "", true, "10.5.5.5:0", false},
		{"IPv6 peer and client", "[fd00::1]:555", "2001:db8::7", "HTTPS", true, "[2001:db8::7]:0", true},
		{"garbage: the peer stays", "10.1.2.3:555", "unknown", "", true, "10.1.2.3:555", false},
		{"no header: the peer stays", "10.1.2.3:555", "", "", true, "10.1.2.3:555", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			list := trusted
			if !c.trusted {
				list = nil
			}
			var gotAddr, gotXFF string
			var gotHTTPS bool
			h := TrustProxies(list, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAddr, gotHTTPS, gotXFF = r.RemoteAddr, IsHTTPS(r), r.Header.Get("X-Forwarded-For")
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.peer
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			if c.xfp != "" {
				req.Header.Set("X-Forwarded-Proto", c.xfp)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if gotAddr != c.wantAddr || gotHTTPS != c.wantHTTPS {
				t.Errorf("RemoteAddr %q, https %v; want %q, %v", gotAddr, gotHTTPS, c.wantAddr, c.wantHTTPS)
			}
			if !trustedPeer(list, c.peer) && gotXFF != "" {
				t.Errorf("an untrusted peer's X-Forwarded-For reached the handler: %q", gotXFF)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted it", bad)
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("ParseTrustedProxies(\"\") = %v, %v; want none", p, err)
	}
}
