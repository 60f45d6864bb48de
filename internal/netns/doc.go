// Package netns finds network namespaces and runs code inside them.
//
// A network namespace is an independent socket table. [List] enumerates
// every namespace the caller can see, [Resolve] turns a user's spec (an
// `ip netns` name, a path or a PID) into one, and [Do] runs a function on
// an OS thread that has entered it, which is how a sock_diag socket for
// another namespace is created.
//
// # Finding namespaces
//
// A namespace lives as long as something refers to it: a process or thread
// (/proc/PID/ns/net, /proc/PID/task/TID/ns/net), a bind mount (`ip netns`
// names under /run/netns, and container engines' mounts listed in
// /proc/self/mountinfo with file system type nsfs), an open file
// descriptor, or a socket. List looks at processes, threads and mounts; a
// namespace kept alive only by a file descriptor or a socket is not found.
// Namespaces are identified by the (device, inode) pair of their nsfs
// file.
//
// # Privileges
//
// Reading another user's /proc/PID/ns/net needs ptrace-read access to the
// process, and entering any namespace needs CAP_SYS_ADMIN both in the
// caller's user namespace and in the one owning the target. Failures of
// that kind wrap [ErrPermission]; they are normal for an unprivileged user
// and are returned, not fatal.
//
// # Threads
//
// setns(2) changes only the calling thread. Do therefore runs the function
// in a fresh goroutine locked to its OS thread, enters the namespace,
// and switches back afterwards; if switching back fails, the thread is
// never unlocked, so the Go runtime terminates it rather than reuse a
// thread in the wrong namespace. Goroutines started by the function run
// on other threads, in the process's own namespace.
//
// # Containers
//
// [ParseCgroup] recognises the cgroup v2 paths of docker, containerd,
// CRI-O, podman, Kubernetes, LXC and systemd, and [ContainerName] reads a
// container's human name from the engine's state files where they are
// readable. Both are pure functions of their input and build on every OS.
package netns
