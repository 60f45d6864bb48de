package demux

import "fmt"

// Verdict is CheckBind's answer: OK, Fail or Depends. The zero Verdict is
// not a valid answer.
type Verdict uint8

// Verdicts of CheckBind.
const (
	OK      Verdict = iota + 1 // the call succeeds
	Fail                       // the call fails with BindResult.Errno
	Depends                    // the answer turns on something the kernel does not show
)

var verdictNames = [...]string{OK: "ok", Fail: "fail", Depends: "depends"}

// String returns "ok", "fail" or "depends" (the words of the JSON
// document), or "Verdict(N)" for an invalid value.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) && verdictNames[v] != "" {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// MarshalText encodes the verdict as String does; an invalid verdict is
// an error.
func (v Verdict) MarshalText() ([]byte, error) {
	if int(v) >= len(verdictNames) || verdictNames[v] == "" {
		return nil, fmt.Errorf("demux: invalid verdict %d", uint8(v))
	}
	return []byte(verdictNames[v]), nil
}
