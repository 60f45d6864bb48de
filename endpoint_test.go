package sockscope_test

import (
	"net/netip"
	"testing"

	"github.com/sockscope/sockscope"
)

// ssEndpointCases are what `ss -tuanH` (iproute2 6.1) printed for sockets
// built in a private namespace (see TestEndpointsMatchSS, which checks them
// against ss on live sockets): the local and remote strings of each kind.
var ssEndpointCases = []struct {
	what          string
	fam           sockscope.Family
	v6only        sockscope.Tristate
	local, remote string // as netip parses them
	wantL, wantR  string // as ss prints them
}{
	{"IPv4 wildcard listener", sockscope.FamilyInet, sockscope.Unknown, "0.0.0.0:80", "0.0.0.0:0", "0.0.0.0:80", "0.0.0.0:*"},
	{"IPv4 loopback listener", sockscope.FamilyInet, sockscope.Unknown, "127.0.0.2:80", "0.0.0.0:0", "127.0.0.2:80", "0.0.0.0:*"},
	{"IPv4 connection", sockscope.FamilyInet, sockscope.Unknown, "127.0.0.1:40000", "127.0.0.1:80", "127.0.0.1:40000", "127.0.0.1:80"},
	{"IPv6-only wildcard listener", sockscope.FamilyInet6, sockscope.Yes, "[::]:80", "[::]:0", "[::]:80", "[::]:*"},
	{"dual-stack wildcard listener", sockscope.FamilyInet6, sockscope.No, "[::]:80", "[::]:0", "*:80", "*:*"},
	{"[::] with V6ONLY unknown (/proc), as ss falls back", sockscope.FamilyInet6, sockscope.Unknown, "[::]:80", "[::]:0", "*:80", "*:*"},
	{"::1 listener (the kernel forces V6ONLY)", sockscope.FamilyInet6, sockscope.Yes, "[::1]:80", "[::]:0", "[::1]:80", "[::]:*"},
	{"v4-mapped listener, dual-stack", sockscope.FamilyInet6, sockscope.No, "[::ffff:127.0.0.1]:80", "[::]:0", "[::ffff:127.0.0.1]:80", "*:*"},
	{"v4-mapped connection", sockscope.FamilyInet6, sockscope.Unknown, "[::ffff:127.0.0.1]:40000", "[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:40000", "[::ffff:127.0.0.1]:80"},
	{"v4-mapped unspecified is not [::]", sockscope.FamilyInet6, sockscope.No, "[::ffff:0.0.0.0]:80", "[::]:0", "[::ffff:0.0.0.0]:80", "*:*"},
	{"IPv4-compatible address as inet_ntop writes it", sockscope.FamilyInet6, sockscope.Unknown, "[::7f00:1]:80", "[::1]:9", "[::127.0.0.1]:80", "[::1]:9"},
	{"RFC 5952 compression", sockscope.FamilyInet6, sockscope.Unknown, "[2001:db8:0:0:1:0:0:1]:80", "[fe80::1:0:0:0]:1", "[2001:db8::1:0:0:1]:80", "[fe80::1:0:0:0]:1"},
}

// TestSocketEndpointStrings: each address kind prints as ss prints it,
// through every API that formats a socket's endpoints.
func TestSocketEndpointStrings(t *testing.T) {
	for _, c := range ssEndpointCases {
		s := &sockscope.Socket{Proto: sockscope.TCP, Family: c.fam, V6Only: c.v6only,
			Local: netip.MustParseAddrPort(c.local), Remote: netip.MustParseAddrPort(c.remote)}
		if got := s.LocalString(); got != c.wantL {
			t.Errorf("%s: LocalString() = %q, want %q", c.what, got, c.wantL)
		}
		if got := s.RemoteString(); got != c.wantR {
			t.Errorf("%s: RemoteString() = %q, want %q", c.what, got, c.wantR)
		}
		if got := s.LocalEndpoint().String(); got != c.wantL {
			t.Errorf("%s: LocalEndpoint().String() = %q, want %q", c.what, got, c.wantL)
		}
		if got := s.RemoteEndpoint().String(); got != c.wantR {
			t.Errorf("%s: RemoteEndpoint().String() = %q, want %q", c.what, got, c.wantR)
		}
		if got := string(sockscope.AppendAddrPort([]byte("x"), s.Local, s.V6Only)); got != "x"+c.wantL {
			t.Errorf("%s: AppendAddrPort = %q, want %q", c.what, got, "x"+c.wantL)
		}
	}
}

// TestFormatAddrPort: an address on its own (no socket, so no dual-stack
// case) prints literally.
func TestFormatAddrPort(t *testing.T) {
	for _, c := range []struct {
		ap   netip.AddrPort
		want string
	}{
		{netip.MustParseAddrPort("0.0.0.0:80"), "0.0.0.0:80"},
		{netip.MustParseAddrPort("[::]:80"), "[::]:80"},
		{netip.MustParseAddrPort("0.0.0.0:0"), "0.0.0.0:*"},
		{netip.MustParseAddrPort("[::]:0"), "[::]:*"},
		{netip.MustParseAddrPort("[::1]:8080"), "[::1]:8080"},
		{netip.MustParseAddrPort("[::ffff:127.0.0.1]:1"), "[::ffff:127.0.0.1]:1"},
		{netip.MustParseAddrPort("[fe80::1%eth0]:1"), "[fe80::1%eth0]:1"},
		{netip.AddrPort{}, "*:*"},
	} {
		if got := sockscope.FormatAddrPort(c.ap); got != c.want {
			t.Errorf("FormatAddrPort(%v) = %q, want %q", c.ap, got, c.want)
		}
	}
	s := &sockscope.Socket{Proto: sockscope.Unix, Path: "/run/x"}
	if s.LocalString() != "" || s.RemoteString() != "" {
		t.Errorf("a Unix socket has no inet endpoint strings: %q %q", s.LocalString(), s.RemoteString())
	}
}

// TestDeviceBoundEndpoint: ss prints a device-bound socket's local address
// as "ADDR%NAME:PORT", and "if<N>" for a device it cannot name; the peer
// never shows a device.
func TestDeviceBoundEndpoint(t *testing.T) {
	ns := &sockscope.NetNS{Interfaces: map[uint32]string{2: "eth0"}}
	for _, c := range []struct {
		s             *sockscope.Socket
		local, remote string
	}{
		{&sockscope.Socket{Proto: sockscope.UDP, Family: sockscope.FamilyInet, Local: netip.MustParseAddrPort("0.0.0.0:68"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Interface: 2, NetNS: ns},
			"0.0.0.0%eth0:68", "0.0.0.0:*"},
		{&sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, Local: netip.MustParseAddrPort("[::]:80"), Remote: netip.MustParseAddrPort("[::]:0"), V6Only: sockscope.No, Interface: 2, NetNS: ns},
			"*%eth0:80", "*:*"},
		{&sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, Local: netip.MustParseAddrPort("[::1]:80"), Remote: netip.MustParseAddrPort("[::]:0"), V6Only: sockscope.Yes, Interface: 9, NetNS: ns},
			"[::1]%if9:80", "[::]:*"},
		{&sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Local: netip.MustParseAddrPort("127.0.0.1:80"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Interface: 4},
			"127.0.0.1%if4:80", "0.0.0.0:*"},
	} {
		if got := c.s.LocalString(); got != c.local {
			t.Errorf("LocalString() = %q, want %q", got, c.local)
		}
		if got := c.s.RemoteString(); got != c.remote {
			t.Errorf("RemoteString() = %q, want %q", got, c.remote)
		}
	}
}
