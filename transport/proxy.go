package transport

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/internal/socket"
)

// Proxies and TLS in front of the server (PROTOCOL.md section 8.9).
//
// The listener Serve accepts on is wrapped, innermost first: the per-IP connection cap
// (limits.go), the PROXY protocol reader, TLS. The cap is innermost because it runs in the
// accept loop, where the PROXY header must not be read (one slow peer would stall every
// accept): it counts the socket's peer, and a trusted proxy's connections are not counted
// (they carry many clients). The client address of the other per-IP limits (upgrades,
// request rates, long-polls) is clientIP: the PROXY header's source, then X-Forwarded-For
// from a trusted peer.

// proxyHeaderTimeout bounds the wait for a PROXY header; the connection is closed without it.
const proxyHeaderTimeout = 5 * time.Second

// trustedNets are the proxies whose word on the client's address is taken.
type trustedNets []netip.Prefix

// parseTrusted reads CIDRs or single addresses ("10.0.0.0/8", "192.0.2.1", "::1").
func parseTrusted(list []string) (trustedNets, error) {
	var out trustedNets
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not a CIDR or an address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (t trustedNets) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address the per-IP limits count for a request: the connection's peer (the
// PROXY header's source with ProxyProtocol), or, when that peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not trusted (every header line read, the last
// one right-most). Addresses left of it were written by the client and are not believed. A
// list of trusted addresses only gives its left-most; an entry that is not an address where
// the client's should be leaves the request counted against its proxy.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) string {
	peer := ctx.RemoteIP()
	if len(s.trusted) == 0 {
		return peer.String()
	}
	pa, ok := netip.AddrFromSlice(peer)
	if !ok || !s.trusted.contains(pa) {
		return peer.String()
	}
	lines := ctx.Request.Header.PeekAll("X-Forwarded-For")
	var leftmost netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		rest := string(lines[i])
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			a, ok := parseForwarded(entry)
			if !ok {
				return peer.String()
			}
			if !s.trusted.contains(a) {
				return a.String()
			}
			leftmost = a
		}
	}
	if leftmost.IsValid() {
		return leftmost.String()
	}
	return peer.String()
}

// parseForwarded reads one X-Forwarded-For entry: an address, or one with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711") as some balancers write it.
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// exemptConn reports whether a connection from peer is left out of the per-IP connection
// cap: a trusted proxy's, or any with ProxyProtocol and no trusted list (every peer is then a
// proxy).
func (s *Server) exemptConn(peer net.Addr) bool {
	if s.cfg.ProxyProtocol && len(s.trusted) == 0 {
		return true
	}
	if len(s.trusted) == 0 {
		return false
	}
	ta, ok := peer.(*net.TCPAddr)
	if !ok {
		return false
	}
	a, ok := netip.AddrFromSlice(ta.IP)
	return ok && s.trusted.contains(a)
}

// proxyPolicy requires the PROXY header from the trusted proxies (from every peer when none
// are listed) and closes connections from anyone else at accept: a header is never guessed,
// and a client cannot name its own address.
func (s *Server) proxyPolicy(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
	if len(s.trusted) == 0 {
		return proxyproto.REQUIRE, nil
	}
	ta, ok := o.Upstream.(*net.TCPAddr)
	if ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok && s.trusted.contains(a) {
			return proxyproto.REQUIRE, nil
		}
	}
	return proxyproto.REJECT, fmt.Errorf("%w: %v is not a trusted proxy", proxyproto.ErrInvalidUpstream, o.Upstream)
}

// wrapListener is ln with the connection cap, the PROXY protocol and TLS the config asks for.
func (s *Server) wrapListener(ln net.Listener) net.Listener {
	var l net.Listener = &limitListener{Listener: ln, conns: s.connsIP, exempt: s.exemptConn}
	if s.cfg.ProxyProtocol {
		l = &proxyproto.Listener{Listener: l, ConnPolicy: s.proxyPolicy, ReadHeaderTimeout: proxyHeaderTimeout}
	}
	if s.cfg.TLS != nil {
		l = tls.NewListener(l, s.cfg.TLS)
	}
	return l
}

// limitedOf finds the counted connection under c's wrappers (TLS, PROXY protocol).
func limitedOf(c net.Conn) *limitedConn {
	for c != nil {
		switch x := c.(type) {
		case *limitedConn:
			return x
		case *tls.Conn:
			c = x.NetConn()
		case *proxyproto.Conn:
			c = x.Raw()
		default:
			return nil
		}
	}
	return nil
}

// sessionSocket is the socket a session may read frames from itself, or nil: never under TLS
// (the bytes on the socket are records, not frames; such sessions read through
// websocket.Conn). Under the PROXY protocol it is the socket below the header reader: that
// reader's buffer (256 bytes) is emptied by fasthttp's first read of the request (its buffer
// is 8 KB), and a client sends no frame before the handshake's answer (RFC 6455 section 4.1),
// so nothing is left above the socket once the upgrade is done.
func sessionSocket(c net.Conn) syscall.RawConn {
	switch x := c.(type) {
	case *tls.Conn:
		return nil
	case *proxyproto.Conn:
		return socket.RawConnOf(x.Raw())
	}
	return socket.RawConnOf(c)
}
