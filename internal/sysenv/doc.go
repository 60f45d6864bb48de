// Package sysenv reads, from the running kernel, the facts the pure
// analysis in package demux takes as input: the bind environment of a
// network namespace (sysctls, interfaces and their addresses), the
// caller's CAP_NET_BIND_SERVICE, and the hidden socket options of
// existing sockets. It is a collection package: demux itself never
// touches the kernel.
//
// Every reader works on the network namespace of the calling OS thread;
// to read another namespace, call it from a goroutine locked to a thread
// that has entered it (internal/netns.Do).
package sysenv
