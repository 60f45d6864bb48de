package demux

import (
	"fmt"

	"github.com/sockscope/sockscope"
)

// KernelPickDetail is the Detail of the "reuseport" step [WithKernel] adds:
// the rule by which the kernel's answer names the receiver (docs/kernel.md
// O4: the get-one lookup runs the reuseport selection).
const KernelPickDetail = "the kernel's reuseport selection for this 4-tuple, asked of the kernel: " +
	"its get-one lookup (sock_diag with this exact 4-tuple) walks the same listener or UDP chain as a received segment " +
	"and picks the group's member with the same keyed hash of the 4-tuple, so the socket it returned is the one that receives; " +
	"a reuseport BPF program (SO_ATTACH_REUSEPORT_CBPF or _EBPF) attached to the group would choose instead for real traffic, " +
	"and the get-one lookup does not run it: no socket option or sock_diag attribute shows whether one is attached, only the BPF source (--source bpf) reads it, so without it sockscope cannot tell; " +
	"a member with SO_INCOMING_CPU set would make the choice depend on the CPU the packet is processed on"

// WithKernel returns res with the receiver named by the kernel where the
// kernel's own lookup (k, from [CompareKernel]) decides what the model
// cannot: a OneOf verdict whose candidates include the socket the kernel
// returned becomes One with that socket, Group keeps the candidates and
// KernelPick is set, and a "reuseport" step says the rule.
//
// When a candidate is known to belong to a group with a reuseport BPF
// program (Socket.ReuseportProg Yes, read with the BPF source), that
// program decides for real traffic, not the hash the kernel's answer
// reflects: the verdict stays OneOf, Ambiguity gains [ReuseportBPF] and a
// "reuseport" step says so.
//
// It applies where the get-one lookup makes the same choice as a received
// segment: a SO_REUSEPORT group's hash (the same inputs, the same keyed
// hash) and hidden socket options (the kernel knows them). A score does
// not depend on the CPU unless sk_incoming_cpu is set: sockscope assumes
// no listener or unconnected socket sets SO_INCOMING_CPU, but a connected
// UDP socket has it set by the datagrams it receives, and the get-one
// request, run on the caller's CPU, does not reproduce that choice. A UDP
// OneOf with a connected socket among the scored ones is left as it is,
// as is every other verdict, and every answer the kernel did not give or
// disagrees with. See docs/kernel.md O4, T8 and U3.
func WithKernel(res LookupResult, k KernelCheck) LookupResult {
	if res.Verdict != OneOf || len(res.Candidates) < 2 {
		return res
	}
	for _, c := range res.Candidates {
		if c.ReuseportProg == sockscope.Yes {
			return withReuseportBPF(res)
		}
	}
	if !k.Asked || k.Err != nil || !k.Found || !k.Agrees {
		return res
	}
	var pick *sockscope.Socket
	for _, c := range res.Candidates {
		if c.Cookie != 0 && c.Cookie == k.Reply.Cookie {
			pick = c
		}
	}
	if pick == nil {
		return res
	}
	if res.cpuInput {
		return res
	}
	group := res.Candidates
	step := Step{
		Name:    "reuseport",
		Detail:  fmt.Sprintf("%s; of the %d possible receivers it returned %s", KernelPickDetail, len(group), describe(pick)),
		Matched: []*sockscope.Socket{pick},
	}
	if !res.Ambiguity.Has(ReuseportHash) {
		step.Name = "kernel"
		step.Detail = fmt.Sprintf("the kernel's own lookup (sock_diag with this exact 4-tuple) knows the socket options sockscope could not read; of the %d possible receivers it returned %s", len(group), describe(pick))
	}
	out := res
	out.Steps = append(res.Steps[:len(res.Steps):len(res.Steps)], step)
	out.Verdict, out.Socket, out.Candidates = One, pick, []*sockscope.Socket{pick}
	out.Group, out.KernelPick, out.Ambiguity = group, true, 0
	return out
}

// ReuseportBPFDetail is the Detail of the "reuseport" step [WithKernel]
// adds when a reuseport BPF program decides.
const ReuseportBPFDetail = "the group has a reuseport BPF program (SO_ATTACH_REUSEPORT_CBPF or _EBPF, read with the BPF source): " +
	"for real traffic that program chooses among the members, not the keyed hash the kernel's get-one lookup applies; " +
	"sockscope cannot run it, so any of the candidates may receive"

// withReuseportBPF keeps res OneOf and says that a reuseport BPF program
// chooses the receiver.
func withReuseportBPF(res LookupResult) LookupResult {
	out := res
	out.Steps = append(res.Steps[:len(res.Steps):len(res.Steps)], Step{
		Name:    "reuseport",
		Detail:  ReuseportBPFDetail,
		Matched: res.Candidates,
	})
	out.Ambiguity |= ReuseportBPF
	return out
}
