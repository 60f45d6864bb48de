package bpfiter

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -tags linux -type sk_rec -type hold_rec iter iter.c -- -O2 -g -Wall -Werror
