/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The few kernel types iter.c reads, declared with preserve_access_index so
 * that every field access is relocated (CO-RE) against the running kernel's
 * BTF at load time: the offsets below do not need to match any kernel, only
 * the names do. Trimmed by hand from
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format c` (kernel 6.18);
 * the full dump is 2.8 MB.
 */
#ifndef SOCKSCOPE_VMLINUX_H
#define SOCKSCOPE_VMLINUX_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
typedef __u32 u32;
typedef __u64 u64;
typedef __u32 uid_t;
typedef int pid_t;

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be32 u6_addr32[4];
	} in6_u;
};

typedef struct {
	uid_t val;
} kuid_t;

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_reuse: 4;
	unsigned char skc_reuseport: 1;
	unsigned char skc_ipv6only: 1;
	unsigned char skc_net_refcnt: 1;
	int skc_bound_dev_if;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct inet_bind_bucket {
	unsigned short port;
	signed char fastreuse;
	signed char fastreuseport;
	kuid_t fastuid;
	struct in6_addr fast_v6_rcv_saddr;
	__be32 fast_rcv_saddr;
	unsigned short fast_sk_family;
	bool fast_ipv6_only;
};

struct inode {
	unsigned long i_ino;
};

struct file {
	struct inode *f_inode;
};

struct sock;

struct socket {
	struct file *file;
	struct sock *sk;
};

struct bpf_prog;

struct sock_reuseport {
	struct bpf_prog *prog;
};

struct sock {
	struct sock_common __sk_common;
	struct socket *sk_socket;
	struct sock_reuseport *sk_reuseport_cb;
	kuid_t sk_uid;
	__u16 sk_protocol;
	__u16 sk_type;
};

struct inet_sock {
	struct sock sk;
};

struct inet_connection_sock {
	struct inet_sock icsk_inet;
	struct inet_bind_bucket *icsk_bind_hash;
};

struct tcp_sock {
	struct inet_connection_sock inet_conn;
};

struct udp_sock {
	struct inet_sock inet;
};

struct inet_timewait_sock {
	struct sock_common __tw_common;
	struct inet_bind_bucket *tw_tb;
};

struct pid_namespace;

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[0];
};

struct task_struct {
	pid_t pid;
	pid_t tgid;
	struct task_struct *group_leader;
	struct pid *thread_pid;
};

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	uid_t uid;
};

struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
	uid_t uid;
	int bucket;
};

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	u32 fd;
	struct file *file;
};

#pragma clang attribute pop

#endif
