//go:build linux

package sockdiag

import (
	"errors"
	"testing"
)

// TestProbe: TCP always has a handler; SCTP, vsock and TIPC either have
// one or say ErrNotSupported (ENOENT), never another error.
func TestProbe(t *testing.T) {
	c, err := Dial()
	if err != nil {
		t.Skipf("no sock_diag: %v", err)
	}
	defer c.Close()
	if err := c.Probe(afInet, ProtoTCP); err != nil {
		t.Errorf("probe tcp: %v", err)
	}
	for _, p := range []struct {
		name   string
		family uint8
		proto  uint32
	}{{"sctp", afInet, ProtoSCTP}, {"vsock", AFVsock, 0}, {"tipc", AFTIPC, 0}, {"mptcp", afInet, ProtoMPTCP}} {
		err := c.Probe(p.family, p.proto)
		t.Logf("%s: %v", p.name, err)
		if err != nil && !errors.Is(err, ErrNotSupported) {
			t.Errorf("probe %s: %v, want nil or ErrNotSupported", p.name, err)
		}
	}
	// The Conn is still usable after a refused probe.
	if err := c.DumpNetlink(func(*NetlinkRecord) error { return nil }); err != nil {
		t.Errorf("dump netlink after the probes: %v", err)
	}
}
