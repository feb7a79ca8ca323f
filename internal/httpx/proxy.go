package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads --trusted-proxies: comma-separated CIDRs or
// single addresses ("10.0.0.0/8, 192.168.1.7, fd00::/8"); "" trusts none.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR (10.0.0.0/8) or an address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

type httpsKey struct{}

// IsHTTPS reports whether the client reached Baton over TLS: its own
// listener's, or a trusted proxy's that said so in X-Forwarded-Proto.
func IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	https, _ := r.Context().Value(httpsKey{}).(bool)
	return https
}

// TrustProxies honours X-Forwarded-For and X-Forwarded-Proto only from
// peers inside trusted (a load balancer or reverse proxy in front of
// Baton). From such a peer, the client is the right-most X-Forwarded-For
// address that is not itself a trusted proxy (what a proxy appends cannot
// be forged by the client; what the client sent stands to its left); it
// becomes r.RemoteAddr for everything after (per-client waiter limits,
// request logs, git's REMOTE_ADDR), and X-Forwarded-Proto: https makes
// IsHTTPS true. From any other peer both headers are removed, so that
// nothing after can mistake a client's claim for a fact.
func TrustProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trustedPeer(trusted, r.RemoteAddr) {
			if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Forwarded-Proto") != "" {
				r = r.Clone(r.Context())
				r.Header.Del("X-Forwarded-For")
				r.Header.Del("X-Forwarded-Proto")
			}
			next.ServeHTTP(w, r)
			return
		}
		client, ok := forwardedClient(trusted, r.Header.Values("X-Forwarded-For"))
		https := strings.EqualFold(strings.TrimSpace(lastValue(r.Header.Values("X-Forwarded-Proto"))), "https")
		if !ok && !https {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if https {
			ctx = context.WithValue(ctx, httpsKey{}, true)
		}
		r = r.WithContext(ctx)
		if ok {
			r.RemoteAddr = net.JoinHostPort(client.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}

func trustedPeer(trusted []netip.Prefix, remoteAddr string) bool {
	if len(trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	return inAny(trusted, ap.Addr())
}

func inAny(trusted []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedClient walks X-Forwarded-For (all its header lines, in order)
// from the right past trusted proxies; false if it names no address or
// one that does not parse.
func forwardedClient(trusted []netip.Prefix, values []string) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}, false
		}
		a = a.Unmap()
		last = a
		if !inAny(trusted, a) {
			return a, true
		}
	}
	// Every hop is a trusted proxy: the left-most is as close to the
	// client as anyone vouches for.
	return last, last.IsValid()
}

func lastValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	parts := strings.Split(vs[len(vs)-1], ",")
	return parts[len(parts)-1]
}
