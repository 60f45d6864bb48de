package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// uid is the owner of the experiment's sockets (sk_uid, the fsuid at
// socket()), which SO_REUSEPORT compares.
func uid() uint32 { return uint32(os.Geteuid()) }

func fmtAP(a netip.AddrPort) string { return sockscope.FormatAddrPort(a) }

// sharedPort: a listener and N accepted sockets on one port.
func sharedPort(l *lab) {
	ln := l.tcp4("listener")
	addr := ln.bindOK(ap("127.0.0.1", l.port(8080)))
	ln.listenOK()
	pre := l.snapshot(sockscope.TCP)
	const n = 3
	var clients, accepted []*sock
	for i := range n {
		c := l.tcp4(fmt.Sprintf("client %d", i+1))
		c.connectOK(addr)
		_, a := l.acceptAny(fmt.Sprintf("accepted %d", i+1), ln)
		clients, accepted = append(clients, c), append(accepted, a)
	}
	for i, a := range accepted {
		if got := a.local(); got != addr {
			l.failf("kernel: %s has local address %s, not the listener's %s", a.name, fmtAP(got), fmtAP(addr))
		}
		if got, want := a.peer(), clients[i].local(); got != want {
			l.failf("kernel: %s has peer %s, not %s's %s", a.name, fmtAP(got), clients[i].name, fmtAP(want))
		}
	}
	l.note("kernel: the listener accepted %d connections; each accepted socket's local address (getsockname) is %s, the listener's", n, fmtAP(addr))

	snap := l.snapshot(sockscope.TCP)
	l.show(snap, append(append([]*sock{ln}, accepted...), clients...)...)
	var listeners, estab int
	for _, s := range snap.Sockets {
		if s.Proto == sockscope.TCP && s.Local == addr {
			switch s.State {
			case sockscope.Listen:
				listeners++
			case sockscope.Established:
				estab++
			}
		}
	}
	if listeners != 1 || estab != n {
		l.failf("snapshot: %s has %d LISTEN and %d ESTAB sockets, want 1 and %d", fmtAP(addr), listeners, estab, n)
	} else {
		l.note("snapshot: %d sockets share %s: 1 LISTEN and %d ESTAB, each ESTAB one paired with its client", n+1, fmtAP(addr), n)
	}
	for i, a := range accepted {
		sa := l.find(snap, a)
		if sa.Peer == nil || sa.Peer.Inode != clients[i].ino {
			l.failf("snapshot: %s is not paired with %s", a.name, clients[i].name)
		}
	}
	for i, c := range clients {
		seg := demux.Segment{Proto: sockscope.TCP, Src: c.local(), Dst: addr}
		l.checkLookup(pre, seg, ln, "new connection, snapshot before it")
		l.checkLookup(snap, seg, accepted[i], "established")
	}
}

// oneListener: a second listen() on the same address:port fails.
func oneListener(l *lab) {
	a := l.tcp4("A").reuseAddr()
	addr := a.bindOK(ap("127.0.0.1", l.port(8080)))
	b := l.tcp4("B").reuseAddr()
	b.bindOK(addr)
	l.note("kernel: two sockets are bound to %s: neither listens yet and both set SO_REUSEADDR", fmtAP(addr))
	a.listenOK()
	snap := l.snapshot(sockscope.TCP)
	errB := b.listen()
	l.expect("B (SO_REUSEADDR) listen on "+fmtAP(addr), errB, unix.EADDRINUSE, false)
	l.checkBind(without(snap, b), demux.BindRequest{Proto: sockscope.TCP, Addr: addr, ReuseAddr: true, Listen: true, UID: uid()},
		"tcp "+fmtAP(addr)+" SO_REUSEADDR + listen, for B against the rest", errB)

	c := l.tcp4("C").reuseAddr()
	errC := c.bind(addr)
	l.expect("C (SO_REUSEADDR) bind "+fmtAP(addr)+" while A listens", errC, unix.EADDRINUSE, false)
	l.checkBind(snap, demux.BindRequest{Proto: sockscope.TCP, Addr: addr, ReuseAddr: true, UID: uid()},
		"tcp "+fmtAP(addr)+" SO_REUSEADDR, for C", errC)

	snap = l.snapshot(sockscope.TCP)
	l.show(snap, a, b)
	sa, sb := l.find(snap, a), l.find(snap, b)
	if sa.State != sockscope.Listen || sb.State != sockscope.Close || sb.Local != addr {
		l.failf("snapshot: A is %s and B is %s on %s; want A LISTEN and B bound but not listening", sa.State, sb.State, sb.LocalString())
	} else {
		l.note("snapshot: A is the one LISTEN socket on %s; B is still bound there but not listening (%s)", fmtAP(addr), sb.State)
	}
}

// without returns a copy of snap lacking the socket s.
func without(snap *sockscope.Snapshot, s *sock) *sockscope.Snapshot {
	c := *snap
	c.Sockets = nil
	for _, x := range snap.Sockets {
		if x.Inode != s.ino {
			c.Sockets = append(c.Sockets, x)
		}
	}
	return &c
}

// reusePortGroup: SO_REUSEPORT listeners share a port; the hash of the
// 4-tuple picks one, the same each time.
func reusePortGroup(l *lab) {
	const nl, tuples = 3, 12
	var ls []*sock
	var addr netip.AddrPort
	for i := range nl {
		s := l.tcp4(fmt.Sprintf("listener %c", 'A'+i)).reusePort()
		if i == 0 {
			addr = s.bindOK(ap("127.0.0.1", l.port(8080)))
		} else {
			s.bindOK(addr)
		}
		s.listenOK()
		ls = append(ls, s)
	}
	pre := l.snapshot(sockscope.TCP)
	counts := make([]int, nl)
	var accepted []*sock
	var agree [3]int
	for t := range tuples {
		c := l.tcp4(fmt.Sprintf("client %d", t+1))
		l.must(c.name+": bind", c.bind(ap("127.0.0.1", 0)))
		src := c.local()
		l.must(c.name+": connect", c.connect(addr))
		i, a := l.acceptAny(fmt.Sprintf("accepted %d", t+1), ls...)
		ag, line := l.lookup(pre, demux.Segment{Proto: sockscope.TCP, Src: src, Dst: addr}, ls[i], "")
		agree[ag]++
		if ag == Disagree {
			l.failf("%s", line)
		}
		// Reset both ends (no TIME-WAIT), then make the same 4-tuple again.
		c.abort()
		a.close()
		c2 := l.tcp4(fmt.Sprintf("client %d again", t+1))
		l.must(c2.name+": bind "+fmtAP(src), c2.bind(src))
		l.must(c2.name+": connect", c2.connect(addr))
		j, a2 := l.acceptAny(fmt.Sprintf("accepted %d", t+1), ls...)
		if j != i {
			l.failf("kernel: 4-tuple %s -> %s reached %s, then %s", fmtAP(src), fmtAP(addr), ls[i].name, ls[j].name)
		}
		counts[i]++
		accepted = append(accepted, a2)
	}
	if l.pending(ls...) {
		l.failf("kernel: a listener has a connection nobody made")
	}
	used := 0
	var parts []string
	for i, n := range counts {
		parts = append(parts, fmt.Sprintf("%s got %d", ls[i].name, n))
		if n > 0 {
			used++
		}
	}
	l.note("kernel: %d 4-tuples, each connected twice: %s; each 4-tuple reached the same listener both times", tuples, strings.Join(parts, ", "))
	if used < 2 {
		l.failf("kernel: all %d 4-tuples went to one listener: no spreading", tuples)
	}
	l.note("oracle: demux of each new 4-tuple, snapshot before it: %d agree, %d one-of the group with the kernel's choice among them, %d disagree", agree[Agree], agree[Undecided], agree[Disagree])

	snap := l.snapshot(sockscope.TCP)
	l.show(snap, append(ls, accepted...)...)
	n := 0
	for _, s := range snap.Sockets {
		if s.Proto == sockscope.TCP && s.State == sockscope.Listen && s.Local == addr {
			n++
		}
	}
	if n != nl {
		l.failf("snapshot: %d LISTEN sockets on %s, want %d", n, fmtAP(addr), nl)
	} else {
		l.note("snapshot: %d LISTEN sockets on %s (one SO_REUSEPORT group) and %d accepted sockets sharing it", nl, fmtAP(addr), len(accepted))
	}
}

// specificBeatsWildcard: the exact-address listener is searched first.
func specificBeatsWildcard(l *lab) {
	w := l.tcp4("wildcard").reusePort()
	wa := w.bindOK(ap("0.0.0.0", l.port(8080)))
	port := wa.Port()
	w.listenOK()
	pre := l.snapshot(sockscope.TCP)

	spec := ap("127.0.0.1", port)
	x := l.tcp4("X").reuseAddr()
	errX := x.bind(spec)
	if errX == nil {
		errX = x.listen()
	}
	l.expect("X (SO_REUSEADDR only) bind+listen "+fmtAP(spec)+" beside the wildcard listener", errX, unix.EADDRINUSE, false)
	l.checkBind(pre, demux.BindRequest{Proto: sockscope.TCP, Addr: spec, ReuseAddr: true, Listen: true, UID: uid()}, "tcp "+fmtAP(spec)+" SO_REUSEADDR + listen, for X", errX)
	x.close()

	s := l.tcp4("specific").reusePort()
	errS := s.bind(spec)
	if errS == nil {
		errS = s.listen()
	}
	l.expect("specific (SO_REUSEPORT) bind+listen "+fmtAP(spec), errS, nil, true)
	l.checkBind(pre, demux.BindRequest{Proto: sockscope.TCP, Addr: spec, ReusePort: true, Listen: true, UID: uid()}, "tcp "+fmtAP(spec)+" SO_REUSEPORT + listen, for specific", errS)

	mid := l.snapshot(sockscope.TCP)
	var accepted []*sock
	for i, dst := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		c := l.tcp4(fmt.Sprintf("client %d", i+1))
		to := ap(dst, port)
		c.connectOK(to)
		k, a := l.acceptAny(fmt.Sprintf("accepted %d", i+1), s, w)
		got := []*sock{s, w}[k]
		want := w
		if dst == "127.0.0.1" {
			want = s
		}
		if got != want {
			l.failf("kernel: the connection to %s was accepted by %s, not %s", fmtAP(to), got.name, want.name)
		} else {
			l.note("kernel: the connection to %s was accepted by %s", fmtAP(to), got.name)
		}
		l.checkLookup(mid, demux.Segment{Proto: sockscope.TCP, Src: c.local(), Dst: to}, got, "")
		accepted = append(accepted, a)
	}
	snap := l.snapshot(sockscope.TCP)
	l.show(snap, append([]*sock{w, s}, accepted...)...)
	sw, ss := l.find(snap, w), l.find(snap, s)
	if sw.State != sockscope.Listen || ss.State != sockscope.Listen || !sw.Local.Addr().IsUnspecified() || ss.Local != spec {
		l.failf("snapshot: want LISTEN on %s and on %s; got %s %s and %s %s", fmtAP(wa), fmtAP(spec), sw.State, sw.LocalString(), ss.State, ss.LocalString())
	} else {
		l.note("snapshot: two listeners on port %d, %s and %s", port, sw.LocalString(), ss.LocalString())
	}
}

// timeWait: a TIME-WAIT socket blocks a rebind of its address and port.
func timeWait(l *lab) {
	type tw struct {
		reuse bool
		addr  netip.AddrPort
	}
	var tws []tw
	for i, reuse := range []bool{false, true} {
		tag := "1"
		if reuse {
			tag = "2"
		}
		ln := l.tcp4("listener " + tag)
		if reuse {
			ln.reuseAddr()
		}
		addr := ln.bindOK(ap("127.0.0.1", l.port(8080+uint16(i))))
		ln.listenOK()
		c := l.tcp4("client " + tag)
		c.connectOK(addr)
		_, a := l.acceptAny("accepted "+tag, ln)
		peer := c.local()
		a.closeTCP() // the server closes first: its end waits in TIME-WAIT
		_, err := l.poll(unix.POLLIN, c)
		l.must("wait for the server's FIN", err)
		c.close()
		ln.close()
		l.waitTimeWait(addr, peer)
		l.note("kernel: %s%s closed first, then its client and the listener: only a TIME-WAIT socket is left on %s", a.name, a.opts(), fmtAP(addr))
		tws = append(tws, tw{reuse, addr})
	}
	snap := l.snapshot(sockscope.TCP)
	l.show(snap)
	for _, t := range tws {
		n := 0
		for _, s := range snap.Sockets {
			if s.Local == t.addr {
				n++
				if s.State != sockscope.TimeWait || s.Inode != 0 || len(s.Holders) != 0 {
					l.failf("snapshot: %s is %s, inode %d, %d holders; want the TIME-WAIT socket, no inode, no holder", fmtAP(t.addr), s.State, s.Inode, len(s.Holders))
				}
			}
		}
		if n != 1 {
			l.failf("snapshot: %d sockets on %s, want the one TIME-WAIT socket", n, fmtAP(t.addr))
		}
	}
	if !l.failed {
		l.note("snapshot: one TIME-WAIT socket on each port, with no inode and no holder")
	}
	for _, t := range tws {
		for _, reuse := range []bool{false, true} {
			p := l.tcp4("probe")
			if reuse {
				p.reuseAddr()
			}
			err := p.bind(t.addr)
			var want error = unix.EADDRINUSE
			if t.reuse && reuse {
				want = nil
			}
			what := fmt.Sprintf("new socket%s bind %s over a TIME-WAIT left %s", p.opts(), fmtAP(t.addr), map[bool]string{false: "without SO_REUSEADDR", true: "with SO_REUSEADDR"}[t.reuse])
			l.expect(what, err, want, false)
			l.checkBind(snap, demux.BindRequest{Proto: sockscope.TCP, Addr: t.addr, ReuseAddr: reuse, UID: uid()}, fmt.Sprintf("tcp %s%s", fmtAP(t.addr), p.opts()), err)
			p.close()
		}
	}
}

// waitTimeWait waits, bounded, until the snapshot shows the TIME-WAIT
// socket of the connection local -> remote.
func (l *lab) waitTimeWait(local, remote netip.AddrPort) {
	for range 100 {
		o := sockscope.Options{Protos: []sockscope.Proto{sockscope.TCP}, States: sockscope.StateSet(0).With(sockscope.TimeWait)}
		if l.private {
			o.NetNS = []string{l.nsPath}
		}
		snap, err := sockscope.Collect(l.ctx, o)
		l.must("collect the snapshot", err)
		for _, s := range snap.Sockets {
			if s.State == sockscope.TimeWait && s.Local == local && s.Remote == remote {
				return
			}
		}
		if time.Until(l.deadline()) < 50*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.failf("kernel: no TIME-WAIT socket for %s -> %s appeared", fmtAP(local), fmtAP(remote))
	l.stop()
}

// dualStack: [::] with IPV6_V6ONLY off owns the IPv4 port too.
func dualStack(l *lab) {
	d := l.newSock("dual-stack", unix.AF_INET6, unix.SOCK_STREAM).v6only(false)
	da := d.bindOK(ap("::", l.port(8080)))
	d.listenOK()
	pre := l.snapshot(sockscope.TCP)
	v4 := ap("0.0.0.0", da.Port())
	b := l.tcp4("IPv4")
	errB := b.bind(v4)
	l.expect("IPv4 socket bind "+fmtAP(v4)+" while [::] (IPV6_V6ONLY off) listens", errB, unix.EADDRINUSE, false)
	l.checkBind(pre, demux.BindRequest{Proto: sockscope.TCP, Addr: v4, UID: uid()}, "tcp "+fmtAP(v4), errB)
	b.close()

	to := ap("127.0.0.1", da.Port())
	c := l.tcp4("client")
	c.connectOK(to)
	_, a := l.acceptAny("accepted", d)
	l.note("kernel: the IPv4 connection to %s was accepted by the [::] listener; its peer reads %s", fmtAP(to), fmtAP(a.peer()))
	l.checkLookup(pre, demux.Segment{Proto: sockscope.TCP, Src: c.local(), Dst: to}, d, "")

	v := l.tcp4("IPv4 listener")
	va := v.bindOK(ap("0.0.0.0", l.port(8081)))
	v.listenOK()
	pre2 := l.snapshot(sockscope.TCP)
	o := l.newSock("v6only", unix.AF_INET6, unix.SOCK_STREAM).v6only(true)
	oa := ap("::", va.Port())
	errO := o.bind(oa)
	if errO == nil {
		errO = o.listen()
	}
	l.expect("v6only (IPV6_V6ONLY) bind+listen "+fmtAP(oa)+" beside the IPv4 listener on "+fmtAP(va), errO, nil, true)
	l.checkBind(pre2, demux.BindRequest{Proto: sockscope.TCP, Addr: oa, V6Only: sockscope.Yes, Listen: true, UID: uid()}, "tcp "+fmtAP(oa)+" IPV6_V6ONLY + listen", errO)

	snap := l.snapshot(sockscope.TCP)
	l.show(snap, d, a, c, v, o)
	sd, so := l.find(snap, d), l.find(snap, o)
	if sd.Family != sockscope.FamilyInet6 || sd.V6Only != sockscope.No || so.V6Only != sockscope.Yes {
		l.failf("snapshot: [::] sockets show %s v6only=%s and %s v6only=%s; want inet6 v6only no and yes", sd.Family, sd.V6Only, so.Family, so.V6Only)
	} else {
		l.note("snapshot: the [::] listener on port %d shows v6only=no, the one on port %d v6only=yes", da.Port(), oa.Port())
	}
	if sa := l.find(snap, a); !sa.Local.Addr().Is4In6() {
		l.failf("snapshot: the accepted socket's local address is %s, want a v4-mapped one", sa.Local.Addr())
	}
}

// sharedEphemeral: two clients on one local port, told apart by the peer.
func sharedEphemeral(l *lab) {
	s1 := l.tcp4("server 1")
	a1 := s1.bindOK(ap("127.0.0.1", l.port(8080)))
	s1.listenOK()
	s2 := l.tcp4("server 2")
	a2 := s2.bindOK(ap("127.0.0.1", l.port(8081)))
	s2.listenOK()
	c1 := l.tcp4("client 1").reuseAddr()
	e := c1.bindOK(ap("127.0.0.1", l.port(40000)))
	pre := l.snapshot(sockscope.TCP)
	c2 := l.tcp4("client 2").reuseAddr()
	err := c2.bind(e)
	l.expect("client 2 (SO_REUSEADDR) bind "+fmtAP(e)+", client 1's port", err, nil, true)
	l.checkBind(pre, demux.BindRequest{Proto: sockscope.TCP, Addr: e, ReuseAddr: true, UID: uid()}, "tcp "+fmtAP(e)+" SO_REUSEADDR, for client 2", err)
	c1.connectOK(a1)
	c2.connectOK(a2)
	_, x1 := l.acceptAny("accepted 1", s1)
	_, x2 := l.acceptAny("accepted 2", s2)
	if c1.local() != e || c2.local() != e || x1.peer() != e || x2.peer() != e {
		l.failf("kernel: the clients' local addresses are %s and %s, their servers see %s and %s; want %s for all", fmtAP(c1.local()), fmtAP(c2.local()), fmtAP(x1.peer()), fmtAP(x2.peer()), fmtAP(e))
	} else {
		l.note("kernel: both connections have local address %s: %s -> %s and %s -> %s", fmtAP(e), fmtAP(e), fmtAP(a1), fmtAP(e), fmtAP(a2))
	}
	c3 := l.tcp4("client 3").reuseAddr()
	l.must("client 3: bind "+fmtAP(e), c3.bind(e))
	l.expect("client 3 (SO_REUSEADDR, bound to "+fmtAP(e)+") connect to "+fmtAP(a1)+", a 4-tuple already in use", c3.connect(a1), unix.EADDRNOTAVAIL, false)

	snap := l.snapshot(sockscope.TCP)
	l.show(snap, s1, s2, c1, c2, x1, x2)
	var remotes []string
	for _, s := range snap.Sockets {
		if s.Local == e && s.State == sockscope.Established {
			remotes = append(remotes, s.RemoteString())
		}
	}
	if len(remotes) != 2 {
		l.failf("snapshot: %d connected sockets on %s, want 2", len(remotes), fmtAP(e))
	} else {
		l.note("snapshot: two ESTAB sockets share local %s, connected to %s", fmtAP(e), strings.Join(remotes, " and "))
	}
	l.checkLookup(snap, demux.Segment{Proto: sockscope.TCP, Src: a1, Dst: e}, c1, "")
	l.checkLookup(snap, demux.Segment{Proto: sockscope.TCP, Src: a2, Dst: e}, c2, "")
}

// udpConnected: a connected UDP socket beats an unconnected one.
func udpConnected(l *lab) {
	uc := l.udp4("connected").reuseAddr()
	addr := uc.bindOK(ap("127.0.0.1", l.port(9000)))
	s1 := l.udp4("sender 1")
	s1a := s1.bindOK(ap("127.0.0.1", 0))
	s2 := l.udp4("sender 2")
	s2a := s2.bindOK(ap("127.0.0.1", 0))
	uc.connectOK(s1a)
	pre := l.snapshot(sockscope.UDP)
	uu := l.udp4("unconnected").reuseAddr()
	err := uu.bind(addr)
	l.expect("unconnected (SO_REUSEADDR) bind "+fmtAP(addr)+", bound after connected so it would win a tie", err, nil, true)
	l.checkBind(pre, demux.BindRequest{Proto: sockscope.UDP, Addr: addr, ReuseAddr: true, UID: uid()}, "udp "+fmtAP(addr)+" SO_REUSEADDR", err)
	snap := l.snapshot(sockscope.UDP)
	for _, tc := range []struct {
		from *sock
		src  netip.AddrPort
		want *sock
	}{{s1, s1a, uc}, {s2, s2a, uu}} {
		tc.from.sendTo(addr, "from "+tc.from.name)
		i, msg := l.recvAny(uc, uu)
		got := []*sock{uc, uu}[i]
		if got != tc.want {
			l.failf("kernel: the datagram %q reached %s, not %s", msg, got.name, tc.want.name)
		} else {
			l.note("kernel: the datagram %s -> %s reached %s", fmtAP(tc.src), fmtAP(addr), got.name)
		}
		if l.pendingDgram(uc, uu) {
			l.failf("kernel: a second copy of the datagram from %s arrived", tc.from.name)
		}
		l.checkLookup(snap, demux.Segment{Proto: sockscope.UDP, Src: tc.src, Dst: addr}, got, "")
	}
	l.show(snap, uc, uu, s1, s2)
	sc, su := l.find(snap, uc), l.find(snap, uu)
	if sc.Local != addr || su.Local != addr || sc.Remote != s1a || su.Connected() {
		l.failf("snapshot: connected is %s -> %s, unconnected %s -> %s", sc.LocalString(), sc.RemoteString(), su.LocalString(), su.RemoteString())
	} else {
		l.note("snapshot: both UDP sockets are on %s; one connected to %s (%s), one not (%s)", fmtAP(addr), fmtAP(s1a), sc.State, su.State)
	}
}

// pendingDgram reports whether any socket has a datagram queued.
func (l *lab) pendingDgram(socks ...*sock) bool {
	time.Sleep(10 * time.Millisecond)
	return l.pending(socks...)
}

// unixNoPort: Unix sockets are named by paths, abstract names or nothing.
func unixNoPort(l *lab) {
	removeStaleTmpDirs(os.TempDir())
	dir, err := os.MkdirTemp("", tmpDirPrefix+strconv.Itoa(os.Getpid())+"-")
	l.must("make a temporary directory", err)
	l.tmpDir = dir
	path := filepath.Join(dir, "server.sock")
	ln := l.newSock("path listener", unix.AF_UNIX, unix.SOCK_STREAM)
	l.expect("path listener bind "+path, unix.Bind(ln.fd, &unix.SockaddrUnix{Name: path}), nil, true)
	ln.listenOK()
	cl := l.newSock("client", unix.AF_UNIX, unix.SOCK_STREAM)
	l.expect("client connect "+path, unix.Connect(cl.fd, &unix.SockaddrUnix{Name: path}), nil, true)
	// The file is needed only to bind and connect: remove it (and its
	// directory) now, so that a kill -9 from here on leaves nothing.
	// The socket keeps its name: the kernel stores the address it was
	// bound to, and getsockname and sock_diag report it (checked below).
	l.must("remove "+dir, os.RemoveAll(dir))
	l.tmpDir = ""
	l.note("kernel: %s removed once bound and connected; the listener keeps the name", path)
	_, acc := l.acceptAny("accepted", ln)

	abstract := fmt.Sprintf("@sockscope-lab-%d-%d", os.Getpid(), time.Now().UnixNano())
	ab := l.newSock("abstract", unix.AF_UNIX, unix.SOCK_DGRAM)
	l.expect("abstract bind "+abstract, unix.Bind(ab.fd, &unix.SockaddrUnix{Name: abstract}), nil, true)

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	l.must("socketpair", err)
	p1 := l.adopt("pair end 1", fds[0], unix.AF_UNIX, unix.SOCK_STREAM)
	p2 := l.adopt("pair end 2", fds[1], unix.AF_UNIX, unix.SOCK_STREAM)
	l.note("kernel: socketpair made two connected sockets with no name")

	names := map[*sock]string{ln: path, ab: abstract, p1: "", p2: ""}
	for _, s := range []*sock{ln, ab, p1, p2} {
		sa, err := unix.Getsockname(s.fd)
		l.must(s.name+": getsockname", err)
		su, ok := sa.(*unix.SockaddrUnix)
		if !ok {
			l.failf("kernel: %s's address is a %T, not a Unix one", s.name, sa)
			continue
		}
		name := su.Name
		if name == "@" {
			name = "" // x/sys/unix spells an unnamed socket's empty address "@"
		}
		if name != names[s] {
			l.failf("kernel: %s's name is %q, want %q", s.name, name, names[s])
		}
	}
	l.note("kernel: getsockname gives a path, an abstract name and nothing; a Unix address has no port field")

	snap := l.snapshot(sockscope.Unix)
	l.show(snap, ln, cl, acc, ab, p1, p2)
	for _, s := range []*sock{ln, cl, acc, ab, p1, p2} {
		x := l.find(snap, s)
		if x.Proto != sockscope.Unix || x.Port() != (sockscope.Port{}) || x.Local.Port() != 0 {
			l.failf("snapshot: %s shows %s port %d", s.name, x.Proto, x.Local.Port())
		}
		if want, ok := names[s]; ok && x.Path != want {
			l.failf("snapshot: %s's name is %q, want %q", s.name, x.Path, want)
		}
	}
	for _, pair := range [][2]*sock{{p1, p2}, {cl, acc}} {
		a, b := l.find(snap, pair[0]), l.find(snap, pair[1])
		if a.PeerInode != b.Inode || b.PeerInode != a.Inode {
			l.failf("snapshot: %s and %s are not linked (peers %d and %d)", pair[0].name, pair[1].name, a.PeerInode, b.PeerInode)
		}
	}
	if !l.failed {
		l.note("snapshot: no socket has a port; names %q, %q and none; socketpair ends and client/accepted linked by peer inode", path, abstract)
	}
	l.note("oracle: not applicable: bind-check and demux model ports, and Unix sockets have none")
}

// tmpDirPrefix starts the name of the directory unix-no-port binds its
// path listener in: tmpDirPrefix, the PID of the process, "-", random.
const tmpDirPrefix = "sockscope-lab-"

// removeStaleTmpDirs removes, in dir, the directories an earlier lab left
// behind when it was killed (SIGKILL: no handler runs) between making
// one and removing it: those whose PID is not a running process, owned
// by this user. Errors are ignored: a stale directory is untidy, not
// wrong. (A PID reused since is taken as alive; its directory goes at a
// later run.)
func removeStaleTmpDirs(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range ents {
		rest, ok := strings.CutPrefix(de.Name(), tmpDirPrefix)
		if !ok || !de.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		var st unix.Stat_t
		path := filepath.Join(dir, de.Name())
		if unix.Lstat(path, &st) != nil || int(st.Uid) != os.Geteuid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			os.RemoveAll(path)
		}
	}
}
