//go:build ignore

/*
 * BPF iterators read by package bpfiter. Each program writes fixed-size
 * binary records into the iterator's seq_file; the Go side reads the fd.
 * Nothing is attached to any hook: an iterator runs only while its fd is
 * read, in the reading thread, and is freed when the fd and link close.
 *
 * Regenerate the objects with `go generate ./internal/bpfiter` (needs
 * clang, llvm and libbpf-dev).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7
#define TCP_NEW_SYN_RECV 12

/* Which members of sk_rec.bucket hold a value (flags). */
#define TB_READ 1            /* the socket has a bind bucket and it was read */
#define TB_V6_SADDR 2        /* fast_v6_rcv_saddr, fast_rcv_saddr exist */
#define TB_SK_FAMILY 4       /* fast_sk_family exists */
#define TB_IPV6_ONLY 8       /* fast_ipv6_only exists */

/* What sk_rec.rp_flags says of the socket's reuseport group (flags). */
#define RP_READ 1 /* sk_reuseport_cb was read */
#define RP_PROG 2 /* the group has a reuseport BPF program (CBPF or EBPF) */

/* One TCP or UDP socket. Kept in step with skRec in bpfiter.go. */
struct sk_rec {
	__u64 cookie;
	__u64 ino;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family;
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u8 state;
	__u8 proto;
	__u8 reuse;
	__u8 reuseport;
	__u8 ipv6only;
	__u8 tb_flags;
	__u32 uid;
	__s32 bound_dev_if;
	__u16 tb_port;
	__s8 fastreuse;
	__s8 fastreuseport;
	__u32 fastuid;
	__u32 fast_rcv_saddr;
	__u8 fast_v6_rcv_saddr[16];
	__u16 fast_sk_family;
	__u8 fast_ipv6_only;
	__u8 rp_flags;
	__u8 pad[4];
};

/* One socket fd of one process. Kept in step with holdRec in bpfiter.go. */
struct hold_rec {
	__u32 pid;
	__u32 fd;
	__u64 ino;
	__u64 cookie;
	__u32 has_sk; /* an sk_rec follows */
	__u32 pad;
};

/* Force BTF for the record types, for bpf2go -type. */
struct sk_rec *unused_sk_rec __attribute__((unused));
struct hold_rec *unused_hold_rec __attribute__((unused));

static __always_inline void fill_common(struct sk_rec *r, struct sock_common *skc)
{
	r->family = BPF_CORE_READ(skc, skc_family);
	r->state = BPF_CORE_READ(skc, skc_state);
	r->sport = BPF_CORE_READ(skc, skc_num);
	r->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	r->bound_dev_if = BPF_CORE_READ(skc, skc_bound_dev_if);
	r->reuse = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuse);
	r->reuseport = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuseport);
	r->ipv6only = BPF_CORE_READ_BITFIELD_PROBED(skc, skc_ipv6only);
	if (r->family == AF_INET6) {
		BPF_CORE_READ_INTO(&r->saddr, skc, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r->daddr, skc, skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)r->saddr, skc, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)r->daddr, skc, skc_daddr);
	}
}

static __always_inline void fill_bucket(struct sk_rec *r, struct inet_bind_bucket *tb)
{
	if (!tb)
		return;
	r->tb_flags = TB_READ;
	r->tb_port = BPF_CORE_READ(tb, port);
	r->fastreuse = BPF_CORE_READ(tb, fastreuse);
	r->fastreuseport = BPF_CORE_READ(tb, fastreuseport);
	r->fastuid = BPF_CORE_READ(tb, fastuid.val);
	if (bpf_core_field_exists(tb->fast_v6_rcv_saddr)) {
		r->tb_flags |= TB_V6_SADDR;
		BPF_CORE_READ_INTO(&r->fast_v6_rcv_saddr, tb, fast_v6_rcv_saddr);
		r->fast_rcv_saddr = BPF_CORE_READ(tb, fast_rcv_saddr);
	}
	if (bpf_core_field_exists(tb->fast_sk_family)) {
		r->tb_flags |= TB_SK_FAMILY;
		r->fast_sk_family = BPF_CORE_READ(tb, fast_sk_family);
	}
	if (bpf_core_field_exists(tb->fast_ipv6_only)) {
		r->tb_flags |= TB_IPV6_ONLY;
		r->fast_ipv6_only = BPF_CORE_READ(tb, fast_ipv6_only);
	}
}

/*
 * fill_reuseport reads whether sk's reuseport group has a BPF program:
 * SO_ATTACH_REUSEPORT_CBPF and _EBPF both end in sock_reuseport.prog.
 */
static __always_inline void fill_reuseport(struct sk_rec *r, struct sock *sk)
{
	struct sock_reuseport *rp = BPF_CORE_READ(sk, sk_reuseport_cb);

	r->rp_flags = RP_READ;
	if (rp && BPF_CORE_READ(rp, prog))
		r->rp_flags |= RP_PROG;
}

/* fill_tcp fills r from a full TCP socket (not TIME-WAIT, not a request). */
static __always_inline void fill_tcp(struct sk_rec *r, struct sock *sk)
{
	fill_reuseport(r, sk);
	r->ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	r->uid = BPF_CORE_READ(sk, sk_uid.val);
	fill_bucket(r, BPF_CORE_READ((struct inet_connection_sock *)sk, icsk_bind_hash));
}

SEC("iter/tcp")
int dump_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sk_rec r = {};

	if (!skc)
		return 0;
	fill_common(&r, skc);
	if (r.state == TCP_NEW_SYN_RECV)
		return 0; /* a request: no flags of its own, no bucket */
	r.proto = IPPROTO_TCP;
	r.cookie = bpf_get_socket_cookie(skc);
	if (r.state == TCP_TIME_WAIT)
		fill_bucket(&r, BPF_CORE_READ((struct inet_timewait_sock *)skc, tw_tb));
	else
		fill_tcp(&r, (struct sock *)skc);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/udp")
int dump_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *up = ctx->udp_sk;
	struct sk_rec r = {};

	if (!up)
		return 0;
	fill_common(&r, (struct sock_common *)up);
	r.proto = IPPROTO_UDP;
	r.cookie = bpf_get_socket_cookie(up);
	r.uid = ctx->uid;
	r.ino = BPF_CORE_READ((struct sock *)up, sk_socket, file, f_inode, i_ino);
	fill_reuseport(&r, (struct sock *)up);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/*
 * tgid_in_reader_ns returns task's process id as the reading process sees
 * it: the iterator walks the tasks of the reader's PID namespace, but
 * task->tgid is the id in the initial namespace.
 */
static __always_inline __u32 tgid_in_reader_ns(struct task_struct *task)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	unsigned int level = BPF_CORE_READ(cur, thread_pid, level);
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	struct upid up = {};

	if (level == 0)
		return BPF_CORE_READ(task, tgid);
	if (!pid || level > 32 || BPF_CORE_READ(pid, level) < level)
		return 0;
	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level]);
	return up.nr;
}

/*
 * dump_task_file writes one hold_rec per socket fd, followed by an sk_rec
 * for a TCP socket in state CLOSE (bound but neither listening nor
 * connected), which iter/tcp does not walk.
 */
SEC("iter/task_file")
int dump_task_file(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct hold_rec h = {};
	struct socket *sock;
	struct sock *sk;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	h.pid = tgid_in_reader_ns(task);
	h.fd = ctx->fd;
	h.ino = BPF_CORE_READ(file, f_inode, i_ino);
	sk = sock->sk;
	if (!sk) {
		bpf_seq_write(ctx->meta->seq, &h, sizeof(h));
		return 0;
	}
	h.cookie = bpf_get_socket_cookie(sk);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if ((family != AF_INET && family != AF_INET6) || proto != IPPROTO_TCP || state != TCP_CLOSE) {
		bpf_seq_write(ctx->meta->seq, &h, sizeof(h));
		return 0;
	}
	struct sk_rec r = {};
	h.has_sk = 1;
	fill_common(&r, &sk->__sk_common);
	r.proto = IPPROTO_TCP;
	r.cookie = h.cookie;
	fill_tcp(&r, sk);
	bpf_seq_write(ctx->meta->seq, &h, sizeof(h));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
