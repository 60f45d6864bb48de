//go:build !linux

package sockscope

// resolveCgroups does nothing off Linux, where Collect reads no sockets.
func resolveCgroups([]*Socket) {}
