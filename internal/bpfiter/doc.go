// Package bpfiter reads sockets and their holders from the kernel through
// BPF iterators: for every TCP and UDP socket the flags that decide bind(2)
// (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, even of TIME-WAIT sockets and
// orphans) and the port's bind bucket, and for every socket fd of every
// process its (pid, fd, inode, cookie).
//
// Three programs (iter.c, compiled by bpf2go into the committed
// iter_bpfel.o and iter_bpfeb.o, so building needs no clang) are loaded by
// [Load]: iter/tcp and iter/udp show the network namespace of the thread
// that opens the iterator (run [Iters.Sockets] inside netns.Do to read
// another one); iter/task_file sees every process of every namespace.
// Nothing is attached to a hook: an iterator runs only while it is read,
// and [Iters.Close] frees everything.
//
// Loading needs CAP_BPF and CAP_PERFMON (or root, outside a user
// namespace) and a kernel with BTF (/sys/kernel/btf/vmlinux); [Load]
// fails otherwise, with an error wrapping [ErrUnavailable].
package bpfiter
