package query

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
)

// The fixture sockets: a small machine, built by hand.
var (
	hostNS = &sockscope.NetNS{Inode: 4026531840, Name: "host"}
	webNS  = &sockscope.NetNS{Inode: 4026532999, Name: "web", Container: "3f2a9c0d11aa", Unit: "docker-3f2a9c0d11aa.scope"}
	unitNS = &sockscope.NetNS{Inode: 4026533001, Name: "private", Unit: "nginx.service"}

	sshd    = &sockscope.Process{PID: 100, Comm: "sshd", UID: 0, User: "root"}
	sshdKid = &sockscope.Process{PID: 200, Comm: "sshd", UID: 1000, User: "alice"}
	java    = &sockscope.Process{PID: 300, Comm: "java", UID: 1000, User: "alice"}
	nginx   = &sockscope.Process{PID: 400, Comm: "nginx", UID: 33, User: "www-data"}
	resolve = &sockscope.Process{PID: 500, Comm: "systemd-resolve", UID: 101, User: "systemd-resolve"}
	dbus    = &sockscope.Process{PID: 600, Comm: "dbus-daemon", UID: 102, User: "messagebus"}
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func fixtureSockets() map[string]*sockscope.Socket {
	unixPeer := &sockscope.Socket{Family: sockscope.FamilyUnix, Proto: sockscope.Unix, State: sockscope.Established,
		Path: "/run/dbus/System_Bus_Socket", Inode: 11, PeerInode: 12, UID: 102, NetNS: hostNS,
		Holders: []sockscope.Holder{{Proc: dbus, FD: 5}}}
	m := map[string]*sockscope.Socket{
		"sshd-listen": {Family: sockscope.FamilyInet, Proto: sockscope.TCP, State: sockscope.Listen,
			Local: ap("0.0.0.0:22"), UID: 0, NetNS: hostNS,
			Holders: []sockscope.Holder{{Proc: sshd, FD: 3}}},
		"sshd-conn": {Family: sockscope.FamilyInet, Proto: sockscope.TCP, State: sockscope.Established,
			Local: ap("10.0.0.5:22"), Remote: ap("192.168.1.7:51000"), UID: 0, NetNS: hostNS,
			Holders: []sockscope.Holder{{Proc: sshd, FD: 4}, {Proc: sshdKid, FD: 3}}},
		"java-mapped": {Family: sockscope.FamilyInet6, Proto: sockscope.TCP, State: sockscope.Established,
			Local: ap("[::ffff:127.0.0.1]:8080"), Remote: ap("[::ffff:127.0.0.1]:40000"), UID: 1000, NetNS: hostNS,
			Holders: []sockscope.Holder{{Proc: java, FD: 9}}},
		"nginx-listen6": {Family: sockscope.FamilyInet6, Proto: sockscope.TCP, State: sockscope.Listen,
			Local: ap("[::]:443"), Remote: ap("[::]:0"), UID: 0, NetNS: webNS,
			Holders: []sockscope.Holder{{Proc: nginx, FD: 6}}},
		"nginx-conn6": {Family: sockscope.FamilyInet6, Proto: sockscope.TCP, State: sockscope.Established,
			Local: ap("[2001:db8::5]:443"), Remote: ap("[2001:db8:1::9]:50123"), UID: 0, NetNS: unitNS,
			Holders: []sockscope.Holder{{Proc: nginx, FD: 7}}},
		"resolved-udp": {Family: sockscope.FamilyInet, Proto: sockscope.UDP, State: sockscope.Close,
			Local: ap("127.0.0.53:53"), UID: 101, NetNS: hostNS,
			Holders: []sockscope.Holder{{Proc: resolve, FD: 12}}},
		"timewait": {Family: sockscope.FamilyInet, Proto: sockscope.TCP, State: sockscope.TimeWait,
			Local: ap("10.0.0.5:443"), Remote: ap("1.2.3.4:60000"), NetNS: hostNS},
		"synsent": {Family: sockscope.FamilyInet, Proto: sockscope.TCP, State: sockscope.SynSent,
			Local: ap("10.0.0.5:41000"), Remote: ap("10.1.2.3:5432"), UID: 1000, NetNS: hostNS,
			Holders: []sockscope.Holder{{Proc: java, FD: 10}}},
		"raw-icmp": {Family: sockscope.FamilyInet, Proto: sockscope.Raw, State: sockscope.Close,
			Local: ap("0.0.0.0:1"), UID: 0},
		"unix-client": {Family: sockscope.FamilyUnix, Proto: sockscope.Unix, State: sockscope.Established,
			Path: "", Inode: 12, PeerInode: 11, Peer: unixPeer, UID: 1000, NetNS: hostNS,
			Holders: []sockscope.Holder{{Proc: java, FD: 11}}},
		"unix-server": unixPeer,
		"unix-x11": {Family: sockscope.FamilyUnix, Proto: sockscope.Unix, State: sockscope.Listen,
			Path: "@/tmp/.X11-unix/X0", Inode: 13, NetNS: hostNS},
	}
	return m
}

func matching(f *Filter, socks map[string]*sockscope.Socket) []string {
	var out []string
	for name, s := range socks {
		if f.Match(s) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

var allFixtureNames = []string{
	"java-mapped", "nginx-conn6", "nginx-listen6", "raw-icmp", "resolved-udp", "sshd-conn",
	"sshd-listen", "synsent", "timewait", "unix-client", "unix-server", "unix-x11",
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   string // space-separated fixture names, sorted; "ALL" = every socket
	}{
		{"", "ALL"},
		{"state all", "ALL"},
		{"state listening", "nginx-listen6 sshd-listen unix-x11"},
		{"state established", "java-mapped nginx-conn6 sshd-conn unix-client unix-server"},
		{"state connected", "java-mapped nginx-conn6 sshd-conn synsent timewait unix-client unix-server"},
		{"state synchronized", "java-mapped nginx-conn6 sshd-conn timewait unix-client unix-server"},
		{"state bucket", "timewait"},
		{"state closed", "raw-icmp resolved-udp"},
		{"exclude listening exclude closed", "java-mapped nginx-conn6 sshd-conn synsent timewait unix-client unix-server"},
		{"state time-wait state syn-sent", "synsent timewait"},
		// Ports; sockets without ports never match a port term.
		{"sport = :22", "sshd-conn sshd-listen"},
		{"sport = :ssh", "sshd-conn sshd-listen"},
		{"sport = 22", "sshd-conn sshd-listen"},
		{"sport != :22", "java-mapped nginx-conn6 nginx-listen6 raw-icmp resolved-udp synsent timewait unix-client unix-server unix-x11"},
		{"sport < :443", "resolved-udp sshd-conn sshd-listen"},
		{"sport <= :443", "nginx-conn6 nginx-listen6 resolved-udp sshd-conn sshd-listen timewait"},
		{"sport > :443", "java-mapped synsent"},
		{"sport >= :443", "java-mapped nginx-conn6 nginx-listen6 synsent timewait"},
		{"sport ge :1024", "java-mapped synsent"},
		{"dport = :0", "nginx-listen6 resolved-udp sshd-listen"},
		{"dport >= :50000", "nginx-conn6 sshd-conn timewait"},
		{"sport = *", "java-mapped nginx-conn6 nginx-listen6 resolved-udp sshd-conn sshd-listen synsent timewait"},
		// Hosts.
		{"src 10.0.0.5", "sshd-conn synsent timewait"},
		{"src 10.0.0.5:443", "timewait"},
		{"src 10/8", "sshd-conn synsent timewait"},
		{"src 0.0.0.0", "raw-icmp sshd-listen"},
		{"src 0.0.0.0/0", "raw-icmp resolved-udp sshd-conn sshd-listen synsent timewait java-mapped"},
		{"src 127.0.0.0/8", "java-mapped resolved-udp"},
		{"src 127.0.0.1", "java-mapped"},
		{"src [::ffff:127.0.0.1]", "java-mapped"},
		{"src [::ffff:127.0.0.0/104]", "java-mapped"},
		{"src inet:127.0.0.0/8", "resolved-udp"},
		{"src inet6:*", "java-mapped nginx-conn6 nginx-listen6"},
		{"src ::/0", "java-mapped nginx-conn6 nginx-listen6"},
		{"src [::]", "nginx-listen6"},
		{"src 2001:db8::/32", "nginx-conn6"},
		{"src [2001:db8::5]:443", "nginx-conn6"},
		{"src *:443", "nginx-conn6 nginx-listen6 timewait"},
		{"src :53", "resolved-udp"},
		{"dst 0.0.0.0", "raw-icmp resolved-udp sshd-listen"},
		{"dst [::]", "nginx-listen6"},
		{"dst 192.168.0.0/16", "sshd-conn"},
		{"dst 10.1.2.3:5432", "synsent"},
		{"dst *:5432", "synsent"},
		{"src *", "ALL"},
		{"src unix:/run/dbus/*", "unix-server"},
		{"src unix:/RUN/DBUS/system_bus_socket", "unix-server"},
		{"src /run/*", "unix-server"},
		{"src @/tmp/.X11-unix/*", "unix-x11"},
		{"src unix:*X11*", "unix-x11"},
		{"src unix:", "unix-client"},
		{"dst unix:/run/dbus/system_bus_socket", "unix-client"},
		{"dst unix:", "unix-server unix-x11"},
		{"dst != 10.1.2.3", "java-mapped nginx-conn6 nginx-listen6 raw-icmp resolved-udp sshd-conn sshd-listen timewait unix-client unix-server unix-x11"},
		// Boolean structure.
		{"sport = :22 or sport = :443", "nginx-conn6 nginx-listen6 sshd-conn sshd-listen timewait"},
		{"sport = :22 and state listening", "sshd-listen"},
		{"state listening sport = :22", "sshd-listen"},
		{"sport = :22 state listening", "sshd-listen"},
		{"not sport = :22 and not sport = :443 and state established", "java-mapped unix-client unix-server"},
		// Left to right, as ss: (22 or 53) and proc systemd-resolve.
		{"sport = :22 or sport = :53 and proc systemd-resolve", "resolved-udp"},
		{"sport = :22 or ( sport = :53 and proc systemd-resolve )", "resolved-udp sshd-conn sshd-listen"},
		{"state established ( dport = :ssh or sport = :ssh )", "sshd-conn"},
		// The state set is outside the expression.
		{"state listening sport = :22 or sport = :443", "nginx-listen6 sshd-listen"},
		// sockscope's own terms.
		{"proc sshd", "sshd-conn sshd-listen"},
		{"proc ssh*", "sshd-conn sshd-listen"},
		{"proc nginx", "nginx-conn6 nginx-listen6"},
		{"proc systemd-resolved", "resolved-udp"}, // 16 bytes: Comm is truncated to 15
		{"proc systemd-resolv", ""},               // a shorter name is not a prefix match
		{"proc 'java'", ""},                       // quotes are literal (the shell removes them)
		{"proc [jn]*", "java-mapped nginx-conn6 nginx-listen6 synsent unix-client"},
		{"proc != sshd", "java-mapped nginx-conn6 nginx-listen6 raw-icmp resolved-udp synsent timewait unix-client unix-server unix-x11"},
		{"pid 200", "sshd-conn"},
		{"pid 100", "sshd-conn sshd-listen"},
		{"pid 999", ""},
		{"user 0", "nginx-conn6 nginx-listen6 raw-icmp sshd-conn sshd-listen timewait unix-x11"},
		{"user root", "nginx-conn6 nginx-listen6 raw-icmp sshd-conn sshd-listen timewait unix-x11"},
		{"user alice", "java-mapped sshd-conn synsent unix-client"},
		{"user 33", "nginx-conn6 nginx-listen6"},
		{"user www-data", "nginx-conn6 nginx-listen6"},
		{"netns host", "java-mapped resolved-udp sshd-conn sshd-listen synsent timewait unix-client unix-server unix-x11"},
		{"netns 4026532999", "nginx-listen6"},
		{"netns net:[4026533001]", "nginx-conn6"},
		{"netns web", "nginx-listen6"},
		{"container 3f2a", "nginx-listen6"},
		{"container 3f2a9c0d11aa", "nginx-listen6"},
		{"container web", "nginx-listen6"},
		{"container 4f", ""},
		{"container host", ""},
		{"unit nginx", "nginx-conn6"},
		{"unit nginx.service", "nginx-conn6"},
		{"unit docker-*", "nginx-listen6"},
		{"unit ngin", ""},
		{"not netns host", "nginx-conn6 nginx-listen6 raw-icmp"},
	}
	socks := fixtureSockets()
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f := mustParse(t, tt.filter)
			want := strings.Fields(tt.want)
			if tt.want == "ALL" {
				want = allFixtureNames
			}
			sort.Strings(want)
			got := matching(f, socks)
			if !slices.Equal(got, want) {
				t.Errorf("%q matches\n  got  %v\n  want %v", tt.filter, got, want)
			}
			// The canonical form matches the same sockets.
			g := mustParse(t, f.String())
			if got2 := matching(g, socks); !slices.Equal(got2, got) {
				t.Errorf("canonical %q matches %v, original %v", f.String(), got2, got)
			}
		})
	}
}

func TestMatchNil(t *testing.T) {
	f := mustParse(t, "sport = :22")
	if f.Match(nil) {
		t.Error("a filter matched a nil socket")
	}
	// A socket with nothing filled in must not panic any term.
	empty := &sockscope.Socket{}
	for _, in := range []string{"sport = :0", "dst 0.0.0.0/0", "src unix:*", "proc x", "pid 1", "user 0", "netns 1", "container x", "unit x", "dst unix:x"} {
		mustParse(t, in).Match(empty)
	}
}

func TestMatchServices(t *testing.T) {
	// With the default resolver, names come from servicesPath.
	old := servicesPath
	servicesPath = "testdata/services"
	resetServices()
	t.Cleanup(func() { servicesPath = old; resetServices() })

	f, err := Parse("sport = :x11-0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sockscope.Socket{Family: sockscope.FamilyInet, Proto: sockscope.TCP, Local: ap("127.0.0.1:6000")}
	if !f.Match(s) {
		t.Errorf("sport = :x11-0 does not match port 6000")
	}
}

func TestMatchUDPServiceFallback(t *testing.T) {
	// A udp-only name resolves through the udp look-up.
	f := mustParse(t, "dport = :ntp")
	s := &sockscope.Socket{Family: sockscope.FamilyInet, Proto: sockscope.UDP, State: sockscope.Established,
		Local: ap("10.0.0.5:40000"), Remote: ap("10.0.0.1:123")}
	if !f.Match(s) {
		t.Error("dport = :ntp does not match remote port 123")
	}
}

func BenchmarkMatch(b *testing.B) {
	f := mustParse(b, "state established ( dport = :ssh or sport = :ssh ) and dst 10.0.0.0/8 or proc nginx")
	socks := fixtureSockets()
	list := make([]*sockscope.Socket, 0, len(socks))
	for _, s := range socks {
		list = append(list, s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, s := range list {
			f.Match(s)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	opt := fixtureServices(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse("state established ( dport = :ssh or sport = :ssh ) dst 193.233.7/24", opt); err != nil {
			b.Fatal(err)
		}
	}
}
