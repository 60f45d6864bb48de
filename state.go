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

var stateKeywords = [...]string{
	Established:   "established",
	SynSent:       "syn-sent",
	SynRecv:       "syn-recv",
	FinWait1:      "fin-wait-1",
	FinWait2:      "fin-wait-2",
	TimeWait:      "time-wait",
	Close:         "closed",
	CloseWait:     "close-wait",
	LastAck:       "last-ack",
	Listen:        "listening",
	Closing:       "closing",
	BoundInactive: "bound-inactive",
}

// String returns the state as ss prints it ("ESTAB", "TIME-WAIT", "UNCONN", ...).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// Keyword returns the state's name in the ss filter language
// ("established", "time-wait", ...), or "" if it has none.
func (s State) Keyword() string {
	if int(s) < len(stateKeywords) {
		return stateKeywords[s]
	}
	return ""
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

// State groups from the ss filter language.
var (
	// Connected is every state except LISTEN and CLOSE (UNCONN).
	StatesConnected = AllStates &^ StateSet(0).With(Listen, Close, BoundInactive)
	// Synchronized is every connected state except SYN-SENT.
	StatesSynchronized = StatesConnected &^ StateSet(0).With(SynSent)
	// Bucket is the states of minisockets: SYN-RECV and TIME-WAIT.
	StatesBucket = StateSet(0).With(SynRecv, TimeWait)
	// Big is every state except the bucket states.
	StatesBig = AllStates &^ StatesBucket
)

// ParseStateKeyword returns the states an ss state keyword or group names:
// "established", "time-wait", ..., and the groups "all", "connected",
// "synchronized", "bucket" and "big".
func ParseStateKeyword(w string) (StateSet, bool) {
	switch w {
	case "all":
		return AllStates, true
	case "connected":
		return StatesConnected, true
	case "synchronized":
		return StatesSynchronized, true
	case "bucket":
		return StatesBucket, true
	case "big":
		return StatesBig, true
	}
	for st, k := range stateKeywords {
		if k != "" && k == w {
			return StateSet(0).With(State(st)), true
		}
	}
	return 0, false
}

// StateKeywords lists every word ParseStateKeyword accepts, for error messages.
func StateKeywords() []string {
	out := []string{"all", "connected", "synchronized", "bucket", "big"}
	for _, k := range stateKeywords {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}
