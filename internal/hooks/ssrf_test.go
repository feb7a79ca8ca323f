package hooks

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLocal(t *testing.T) {
	for _, c := range []struct {
		addr  string
		local bool
	}{
		{"127.0.0.1", true}, {"127.9.9.9", true}, {"::1", true}, {"10.0.0.1", true}, {"172.16.5.4", true},
		{"192.168.1.1", true}, {"169.254.169.254", true}, {"fe80::1", true}, {"fc00::1", true}, {"224.0.0.1", true},
		{"ff02::1", true}, {"0.0.0.0", true}, {"::", true}, {"::ffff:127.0.0.1", true}, {"100.64.0.1", true},
		{"64:ff9b::a00:1", true}, {"255.255.255.255", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"2606:4700:4700::1111", false}, {"172.32.0.1", false},
	} {
		if got := Local(netip.MustParseAddr(c.addr)); got != c.local {
			t.Errorf("Local(%s) = %v, want %v", c.addr, got, c.local)
		}
	}
}

// TestDialerRefusesLocalAfterResolution: the check runs on the address
// being dialed, so a literal loopback address and a name that resolves to
// one (localhost, through the system resolver) are refused alike, and
// nothing reaches the server; allowed, both connect.
func TestDialerRefusesLocalAfterResolution(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, u := range []string{"http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/"} {
		refusing := NewClient(Dialer(false, 2*time.Second), 2*time.Second, false)
		resp, err := refusing.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s without allowLocal: %s, want refused", u, resp.Status)
		} else if !errors.Is(err, ErrLocalAddress) {
			t.Errorf("GET %s without allowLocal: %v, want %v", u, err, ErrLocalAddress)
		}
		allowing := NewClient(Dialer(true, 2*time.Second), 2*time.Second, false)
		resp, err = allowing.Get(u)
		if err != nil {
			t.Fatalf("GET %s with allowLocal: %v", u, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the server got %d requests, want the 2 allowed ones", n)
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url   string
		ok    bool
		local bool // ok with allowLocal
	}{
		{"https://hooks.example.com/x?y=1", true, true},
		{"http://127.0.0.1:8080/", false, true},
		{"http://localhost/", false, true},
		{"http://[::1]/", false, true},
		{"http://user:pw@example.com/", false, false},
		{"file:///etc/passwd", false, false},
		{"http:///nohost", false, false},
		{"https://example.com/" + strings.Repeat("a", 3000), false, false},
	} {
		if err := CheckURL(c.url, false); (err == nil) != c.ok {
			t.Errorf("CheckURL(%.60s, false) = %v, want ok %v", c.url, err, c.ok)
		}
		if err := CheckURL(c.url, true); (err == nil) != c.local {
			t.Errorf("CheckURL(%.60s, true) = %v, want ok %v", c.url, err, c.local)
		}
	}
}

func TestBranchMatches(t *testing.T) {
	for _, c := range []struct {
		filter, branch string
		want           bool
	}{
		{"", "anything", true}, {"main", "main", true}, {"main", "main2", false}, {"ma*", "main", true},
		{"feature/*", "feature/a/b", true}, {"feature/*", "features/a", false}, {"a.b", "axb", false},
	} {
		if got := BranchMatches(c.filter, c.branch); got != c.want {
			t.Errorf("BranchMatches(%q, %q) = %v, want %v", c.filter, c.branch, got, c.want)
		}
	}
}
