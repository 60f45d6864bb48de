package sockscope

import (
	"fmt"
	"net"

	"github.com/sockscope/sockscope/internal/netns"
)

// nameDevices fills NetNS.Interfaces with the names of the devices that
// sockets are bound to (Socket.Interface, SO_BINDTODEVICE), so that they
// print as ss prints them ("0.0.0.0%eth0:68"). It reads the links of each
// namespace that has such a socket, once, from inside that namespace (an
// ifindex means nothing elsewhere); namespaces without one cost nothing.
// A namespace whose links cannot be read keeps InterfaceName's "if<N>"
// fallback, as ss does for a device it cannot name.
func nameDevices(socks []*Socket, spaces []nsTarget) {
	var want map[*NetNS]map[uint32]bool
	for _, s := range socks {
		if s.Interface == 0 || s.NetNS == nil {
			continue
		}
		if want == nil {
			want = map[*NetNS]map[uint32]bool{}
		}
		m := want[s.NetNS]
		if m == nil {
			m = map[uint32]bool{}
			want[s.NetNS] = m
		}
		m[s.Interface] = true
	}
	for _, t := range spaces {
		w := want[t.model]
		if w == nil {
			continue
		}
		read := func() error {
			names, err := interfaceNames(w)
			if err == nil {
				t.model.Interfaces = names
			}
			return err
		}
		if t.direct {
			_ = read()
		} else {
			_ = netns.Do(t.ns, read)
		}
	}
}

// interfaceNames returns the names of the devices in want, read from the
// calling thread's network namespace (one RTM_GETLINK dump). Devices that
// no longer exist are left out.
func interfaceNames(want map[uint32]bool) (map[uint32]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	names := make(map[uint32]string, len(want))
	for _, ifc := range ifs {
		if i := uint32(ifc.Index); want[i] {
			names[i] = ifc.Name
		}
	}
	return names, nil
}
