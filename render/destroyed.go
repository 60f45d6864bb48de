package render

import (
	"strconv"
	"time"

	"github.com/sockscope/sockscope"
)

// DestroyedHeader is the header watch --destroyed prints once on a
// terminal.
const DestroyedHeader = "TIME          NETID    LOCAL                                    PEER                                     COOKIE\n"

// AppendDestroyedLine appends one line for a socket the kernel freed (ss
// -E's view): the time, protocol, ends and cookie; aligned on a terminal,
// tab-separated otherwise.
func AppendDestroyedLine(b []byte, t time.Time, s *sockscope.Socket, st Style) []byte {
	cells := []string{t.Local().Format("15:04:05.000"), s.Proto.String(), Sanitize(s.LocalString()), Sanitize(s.RemoteString()), strconv.FormatUint(s.Cookie, 10)}
	widths := []int{13, 8, 40, 40, 0}
	for i, c := range cells {
		if i > 0 && !st.TTY {
			b = append(b, '\t')
		}
		b = append(b, c...)
		if st.TTY && widths[i] > 0 {
			for n := len(c); n < widths[i]; n++ {
				b = append(b, ' ')
			}
			b = append(b, ' ')
		}
	}
	return append(b, '\n')
}
