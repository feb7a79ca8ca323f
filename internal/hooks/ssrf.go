package hooks

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// ErrLocalAddress is why a connection to a local, private, link-local,
// multicast or unspecified address was refused.
var ErrLocalAddress = errors.New("requests to the local network are not allowed")

// blocked are ranges no hook may reach besides what netip classifies:
// "this network", carrier-grade NAT, IETF protocol assignments,
// benchmarking, reserved, broadcast, NAT64 (which may map to any IPv4
// address) and the documentation ranges.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), // 6to4 embeds any IPv4 address
}

// Local reports whether a hook must not reach addr.
func Local(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Dialer returns a dialer that refuses local addresses unless allowLocal.
// The check runs in Control, on the address the connection is about to
// use, after DNS resolution: a name that resolves (or re-resolves, DNS
// rebinding) to a local address is refused as a literal one is.
func Dialer(allowLocal bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if allowLocal {
		return d
	}
	d.Control = func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || Local(ip) {
			return ErrLocalAddress
		}
		return nil
	}
	return d
}

// maxURL bounds a hook's URL.
const maxURL = 2048

// CheckURL validates a hook URL when it is saved: http or https, a host,
// at most 2048 bytes, no credentials, and (unless allowLocal) not a
// literal local address or localhost. The dialer checks again at every
// delivery, after DNS. KindInvalid with GitLab's messages.
func CheckURL(raw string, allowLocal bool) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxURL || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - url is blocked: Only allowed schemes are http, https")
	}
	if u.User != nil {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - url is blocked: credentials in the URL are not allowed")
	}
	if allowLocal {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - url is blocked: Requests to localhost are not allowed")
	}
	if ip, err := netip.ParseAddr(host); err == nil && Local(ip) {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - url is blocked: Requests to the local network are not allowed")
	}
	return nil
}
