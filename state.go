package sockscope

import "strconv"

// State is a socket's state, numbered as the kernel numbers TCP states.
// UDP uses Established (connected) and Close (unconnected); Unix sockets are
// mapped as ss maps them (LISTEN, ESTAB, UNCONN, SYN-SENT).
type State uint8

// States, as in the kernel's tcp_states.h.
const (
	StateUnknown  State = 0
	Established   State = 1
	SynSent       State = 2
	SynRecv       State = 3
	FinWait1      State = 4
	FinWait2      State = 5
	TimeWait      State = 6
	Close         State = 7
	CloseWait     State = 8
	LastAck       State = 9
	Listen        State = 10
	Closing       State = 11
	NewSynRecv    State = 12
	BoundInactive State = 13
	maxState            = 13
)

var stateNames = [...]string{
	StateUnknown:  "UNKNOWN",
	Established:   "ESTAB",
	SynSent:       "SYN-SENT",
	SynRecv:       "SYN-RECV",
	FinWait1:      "FIN-WAIT-1",
	FinWait2:      "FIN-WAIT-2",
	TimeWait:      "TIME-WAIT",
	Close:         "UNCONN",
	CloseWait:     "CLOSE-WAIT",
	LastAck:       "LAST-ACK",
	Listen:        "LISTEN",
	Closing:       "CLOSING",
	NewSynRecv:    "UNDEF",
	BoundInactive: "BOUND-INACTIVE",
}

// String returns the state as ss prints it ("ESTAB", "TIME-WAIT", "UNCONN", ...).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// StateSet is a set of states, bit 1<<State (the kernel's TCPF_* mask).
type StateSet uint32

// AllStates contains every state.
const AllStates StateSet = (1 << (maxState + 1)) - 2

// Has reports whether st is in the set.
func (s StateSet) Has(st State) bool { return s&(1<<st) != 0 }

// With returns the set plus st.
func (s StateSet) With(st ...State) StateSet {
	for _, x := range st {
		s |= 1 << x
	}
	return s
}

// StatesConnected is every state of a connection: all but LISTEN, UNCONN
// (Close) and BOUND-INACTIVE (ss's "connected" group).
const StatesConnected = AllStates &^ (1<<Listen | 1<<Close | 1<<BoundInactive)
