package query

import "github.com/sockscope/sockscope"

// The ss state vocabulary: state keywords and groups, as `ss state` and
// `exclude` take them.

var stateKeywords = [...]string{
	sockscope.Established:   "established",
	sockscope.SynSent:       "syn-sent",
	sockscope.SynRecv:       "syn-recv",
	sockscope.FinWait1:      "fin-wait-1",
	sockscope.FinWait2:      "fin-wait-2",
	sockscope.TimeWait:      "time-wait",
	sockscope.Close:         "closed",
	sockscope.CloseWait:     "close-wait",
	sockscope.LastAck:       "last-ack",
	sockscope.Listen:        "listening",
	sockscope.Closing:       "closing",
	sockscope.BoundInactive: "bound-inactive",
}

// State groups of the ss filter language.
const (
	// statesSynchronized is every connected state except SYN-SENT.
	statesSynchronized = sockscope.StatesConnected &^ (1 << sockscope.SynSent)
	// statesBucket is the states of minisockets: SYN-RECV and TIME-WAIT.
	statesBucket = sockscope.StateSet(1<<sockscope.SynRecv | 1<<sockscope.TimeWait)
	// statesBig is every state except the bucket states.
	statesBig = sockscope.AllStates &^ statesBucket
)

// stateGroups are the group words, in the order String prefers them.
var stateGroups = [...]struct {
	name string
	set  sockscope.StateSet
}{
	{"connected", sockscope.StatesConnected},
	{"synchronized", statesSynchronized},
	{"bucket", statesBucket},
	{"big", statesBig},
}

// stateKeyword returns the state's name in the ss filter language
// ("established", "time-wait", ...), or "" if it has none.
func stateKeyword(s sockscope.State) string {
	if int(s) < len(stateKeywords) {
		return stateKeywords[s]
	}
	return ""
}

// parseStateKeyword returns the states an ss state keyword or group names:
// "established", "time-wait", ..., and the groups "all", "connected",
// "synchronized", "bucket" and "big".
func parseStateKeyword(w string) (sockscope.StateSet, bool) {
	if w == "all" {
		return sockscope.AllStates, true
	}
	for _, g := range stateGroups {
		if g.name == w {
			return g.set, true
		}
	}
	for st, k := range stateKeywords {
		if k != "" && k == w {
			return sockscope.StateSet(0).With(sockscope.State(st)), true
		}
	}
	return 0, false
}

// stateWords lists every word parseStateKeyword accepts, for error
// messages.
func stateWords() []string {
	out := []string{"all"}
	for _, g := range stateGroups {
		out = append(out, g.name)
	}
	for _, k := range stateKeywords {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}
