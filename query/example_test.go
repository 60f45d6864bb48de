package query_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/query"
)

func ExampleParse() {
	f, err := query.Parse("state established ( dport = :22 or sport = :22 )")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := &sockscope.Socket{
		Family: sockscope.FamilyInet, Proto: sockscope.TCP, State: sockscope.Established,
		Local:  netip.MustParseAddrPort("10.0.0.5:22"),
		Remote: netip.MustParseAddrPort("192.168.1.7:51000"),
	}
	fmt.Println(f.Match(s))
	fmt.Println(f.States() == sockscope.StateSet(0).With(sockscope.Established))
	fmt.Println(f)
	// Output:
	// true
	// true
	// state established dport = :22 or sport = :22
}

func ExampleParse_precedence() {
	// As in ss, "and" and "or" group left to right with equal precedence;
	// String makes the grouping explicit.
	f, _ := query.Parse("sport = :22 or sport = :80 and dst 10/8")
	fmt.Println(f)
	// Output:
	// ( sport = :22 or sport = :80 ) and dst 10.0.0.0/8
}

func ExampleSyntaxError_Caret() {
	_, err := query.Parse("stat established")
	var se *query.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Error())
		fmt.Println(se.Caret())
	}
	// Output:
	// filter: unknown keyword "stat"; did you mean "state"? at position 0 (near "stat")
	// stat established
	// ^
	// valid here: state, exclude, sport, dport, src, dst, proc, pid, user, netns, container, unit, not, (
}

func ExampleWithServices() {
	lookup := func(name, proto string) (uint16, bool) {
		if name == "myapp" {
			return 9000, true
		}
		return 0, false
	}
	f, _ := query.Parse("sport = :myapp", query.WithServices(lookup))
	fmt.Println(f)
	// Output:
	// sport = :9000
}
