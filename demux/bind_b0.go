package demux

import (
	"fmt"
	"net/netip"

	"github.com/sockscope/sockscope"
)

// b0 holds the state of the checks bind(2) makes before any conflict test
// (docs/kernel.md B0). Each step returns nil when the bind gets past it, or
// the failure.
type b0 struct {
	req  BindRequest
	env  Env
	addr netip.Addr // as given, with its zone
	a    netip.Addr // zone dropped
	dev  uint32     // the bound device: Device, or the zone of a link-local address
}

// checkB0 applies the checks made before any conflict test, in the
// kernel's order (__inet_bind, __inet6_bind). On success it returns the
// view of the new socket.
func checkB0(req BindRequest, env Env) (*view, *BindResult) {
	if !req.Proto.HasPorts() {
		return nil, fail("EINVAL", fmt.Sprintf("%s sockets have no ports to bind", req.Proto))
	}
	if !req.Addr.Addr().IsValid() {
		return nil, fail("EINVAL", "no address given")
	}
	c := &b0{req: req, env: env, addr: req.Addr.Addr(), a: req.Addr.Addr().WithZone(""), dev: req.Device}
	steps := []func() *BindResult{c.deviceExists, c.localV4, c.privilegedPort}
	if !c.a.Is4() {
		steps = []func() *BindResult{c.deviceExists, c.multicastTCP, c.privilegedPort, c.mapped, c.scope, c.localV6}
	}
	for _, step := range steps {
		if r := step(); r != nil {
			return nil, r
		}
	}
	return reqView(req, c.dev, env), nil
}

func fail(errno, rule string, help ...string) *BindResult {
	return &BindResult{Verdict: Fail, Errno: errno, Phase: "bind", Rule: rule, Help: help}
}

// deviceExists: SO_BINDTODEVICE, set before bind, names an interface.
func (c *b0) deviceExists() *BindResult {
	if c.dev != 0 && !c.env.hasIfindex(c.dev) {
		return fail("ENODEV", fmt.Sprintf("SO_BINDTODEVICE fails before bind: there is no interface with index %d", c.dev))
	}
	return nil
}

// nonlocal is the EADDRNOTAVAIL of an address that is not local.
func nonlocal(a netip.Addr, sysctl string) *BindResult {
	return fail("EADDRNOTAVAIL", fmt.Sprintf("%s is not a local address of this namespace, and neither IP_FREEBIND nor %s allows binding it", a, sysctl),
		"bind an address configured on an interface of this namespace, or the wildcard",
		"set IP_FREEBIND (or IP_TRANSPARENT) on the socket before bind",
		"or set "+sysctl+"=1")
}

// localV4: an AF_INET socket binds a local address, unless IP_FREEBIND
// or net.ipv4.ip_nonlocal_bind (inet_addr_valid_or_nonlocal).
func (c *b0) localV4() *BindResult {
	if !c.env.isLocal(c.a) && !c.req.Freebind && !c.env.NonlocalBind {
		return nonlocal(c.a, "net.ipv4.ip_nonlocal_bind")
	}
	return nil
}

// privilegedPort: a port below net.ipv4.ip_unprivileged_port_start (of
// the socket's namespace, for both families) needs CAP_NET_BIND_SERVICE
// in the user namespace that owns the network namespace
// (inet_port_requires_bind_service, ns_capable). Port 0 is never
// privileged.
func (c *b0) privilegedPort() *BindResult {
	port, start := c.req.Addr.Port(), c.env.UnprivilegedPortStart
	if port == 0 || port >= start {
		return nil
	}
	has, who := c.req.capNetBindService(c.env)
	if has {
		return nil
	}
	r := fail("EACCES", fmt.Sprintf("port %d is below net.ipv4.ip_unprivileged_port_start of this namespace (%d): binding it needs CAP_NET_BIND_SERVICE, which %s", port, start, who),
		fmt.Sprintf("use a port of %d or above", start),
		"grant the program CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep, or AmbientCapabilities= in a systemd unit)",
		fmt.Sprintf("or lower net.ipv4.ip_unprivileged_port_start in this network namespace to %d or below", port))
	return r
}

// capNetBindService reports whether the process that binds has
// CAP_NET_BIND_SERVICE, and says who lacks it in words.
func (r BindRequest) capNetBindService(env Env) (bool, string) {
	switch {
	case r.CapNetBindService == yes:
		return true, ""
	case r.CapNetBindService == no:
		return false, fmt.Sprintf("the process binding as uid %d lacks", r.UID)
	case r.UID != 0:
		return false, fmt.Sprintf("a process of uid %d lacks unless it was granted it (only uid 0 has it by default)", r.UID)
	case env.CanBindPrivileged:
		return true, ""
	}
	return false, "the caller lacks"
}

// multicastTCP: a TCP socket cannot bind a multicast address (inet6_bind).
func (c *b0) multicastTCP() *BindResult {
	if c.a.IsMulticast() && c.req.Proto == sockscope.TCP {
		return fail("EINVAL", "a TCP socket cannot bind a multicast address")
	}
	return nil
}

// mapped: a v4-mapped address needs IPV6_V6ONLY off and a local IPv4
// address.
func (c *b0) mapped() *BindResult {
	if !c.a.Is4In6() {
		return nil
	}
	v6only := c.req.V6Only
	if v6only == unknown {
		v6only = tri(c.env.BindV6Only)
	}
	if v6only == yes {
		src := "it was set on the socket"
		if c.req.V6Only == unknown {
			src = "net.ipv6.bindv6only=1 makes it the default"
		}
		return fail("EINVAL", fmt.Sprintf("%s is a v4-mapped address, which an IPV6_V6ONLY socket cannot bind (%s)", c.a, src),
			"clear IPV6_V6ONLY before bind, or bind the IPv4 address on an AF_INET socket")
	}
	if !c.env.isLocal(c.a.Unmap()) && !c.req.Freebind && !c.env.NonlocalBind {
		return nonlocal(c.a.Unmap(), "net.ipv4.ip_nonlocal_bind")
	}
	return nil
}

// scope: a link-local address needs a scope id (the zone) or a bound
// device, and names an existing interface.
func (c *b0) scope() *BindResult {
	if c.a.Is4In6() || c.a.IsUnspecified() || !needsScope(c.a) {
		return nil
	}
	if z := c.addr.Zone(); z != "" {
		i, ok := c.env.ifindex(z)
		if !ok {
			return fail("EINVAL", fmt.Sprintf("the zone %q of %s names no known interface", z, c.addr))
		}
		c.dev = i
	}
	if c.dev == 0 {
		return fail("EINVAL", fmt.Sprintf("%s is link-local: binding it needs a scope id (%s%%eth0) or a bound device", c.a, c.a),
			"add the interface as the zone of the address, or set SO_BINDTODEVICE first")
	}
	if !c.env.hasIfindex(c.dev) {
		return fail("ENODEV", fmt.Sprintf("there is no interface with index %d", c.dev))
	}
	return nil
}

// localV6: an AF_INET6 socket binds a local unicast address, unless
// IP_FREEBIND or net.ipv6.ip_nonlocal_bind.
func (c *b0) localV6() *BindResult {
	if c.a.Is4In6() || c.a.IsUnspecified() || c.a.IsMulticast() {
		return nil
	}
	if !c.env.isLocal(c.a) && !c.req.Freebind && !c.env.NonlocalBind6 {
		return nonlocal(c.a, "net.ipv6.ip_nonlocal_bind")
	}
	return nil
}

// needsScope is __ipv6_addr_needs_scope_id: link-local unicast and
// link- or interface-local multicast.
func needsScope(a netip.Addr) bool {
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()
}

// reqView builds the view of the socket to be bound. It assumes B0 passed.
func reqView(req BindRequest, dev uint32, env Env) *view {
	a := req.Addr.Addr().WithZone("")
	n := &view{dev: dev, uid: req.UID, state: sockscope.Close, ra: tri(req.ReuseAddr), rp: tri(req.ReusePort)}
	if a.Is4() {
		n.fam, n.v4, n.typ, n.v6only = sockscope.FamilyInet, a, typeMapped, no
		return n
	}
	n.fam, n.a6 = sockscope.FamilyInet6, a
	n.v6only = req.V6Only
	if n.v6only == unknown {
		n.v6only = tri(env.BindV6Only)
	}
	switch {
	case a.IsUnspecified():
		n.typ, n.v4 = typeAny, v4Any
	case a.Is4In6():
		n.typ, n.v4 = typeMapped, a.Unmap()
	default:
		n.typ, n.v4, n.v6only = typeOther, v6Loopback4, yes // forced (0.3)
	}
	return n
}
