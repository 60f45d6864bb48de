package main

// socketsPerNS is how many TCP sockets each namespace of the sweep holds:
// two listeners and one established loopback connection (both ends).
const socketsPerNS = 4

// shellLoop is the loop people write to see every named namespace's
// sockets: the anchor of the namespace sweep.
const shellLoop = `for n in $(ip netns list | cut -d' ' -f1); do nsenter --net=/run/netns/$n ss -tanH; done`

// nsCommands are timed at each namespace count. They run in the host's
// network namespace (no nsenter), in the bench's private mount namespace.
var nsCommands = []command{
	{"sockscope -A ls -tan", []string{"sockscope", "-A", "ls", "-tan"}, false},
	{"sockscope -A ls -tanp", []string{"sockscope", "-A", "ls", "-tanp"}, false},
	{"shell loop: ip netns list + nsenter ss -tanH", []string{"sh", "-c", shellLoop}, false},
}

// nsTargets are the sweep's goals (issue 11, item 1).
var nsTargets = []target{
	{"sockscope -A ls -tan", "shell loop: ip netns list + nsenter ss -tanH", 0.1, false},
}
