package procnet

import (
	"bytes"
	"io"
	"math"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

const (
	// soAcceptCon is __SO_ACCEPTCON, the Flags bit of a listening socket.
	soAcceptCon = 1 << 16

	// maxName is the longest name unix_seq_show prints: sun_path is 108
	// bytes, and an abstract name's leading NUL is shown as '@'.
	maxName = 108

	// Kernel TCP state numbers, as unix_diag reports a Unix socket's state.
	tcpEstablished = 1
	tcpSynSent     = 2
	tcpClose       = 7
	tcpListen      = 10
)

// unixColumns are the columns of /proc/net/unix before the path.
var unixColumns = [...]string{"Num", "RefCount", "Protocol", "Flags", "Type", "St", "Inode"}

// ParseUnix parses the text of /proc/net/unix and calls fn for each socket.
//
// State is mapped to the numbering unix_diag uses, from the St column (an
// SS_* value the kernel derives from sk_state and whether the socket has a
// file) and the Flags column:
//
//	Flags has 00010000 (__SO_ACCEPTCON)       10 listen
//	St 01 unconnected (has a file, not ESTABLISHED)  7 close
//	St 02 connecting  (no file, ESTABLISHED)         2 syn-sent
//	St 03 connected   (has a file, ESTABLISHED)      1 established
//	St 04 disconnecting (no file, not ESTABLISHED)   7 close
//
// St 02 is an embryo: the server side of a connection queued on a listener
// and not yet accept()ed. Its sk_state is ESTABLISHED, but unix_diag never
// lists embryos, so this follows ss's /proc fallback (iproute2 unix_show maps
// St 1..4 to UNCONN, SYN-SENT, ESTAB, CLOSING) and reports it as syn-sent.
// St 04 is mapped to close rather than ss's CLOSING (a TCP-only state),
// because that is the embryo's sk_state. Embryos have inode 0.
//
// Name is the path column: "" for an unnamed socket, "@..." for an abstract
// name (NUL bytes shown as '@'), else the path, byte for byte (it may
// contain spaces and is not necessarily UTF-8). A pathname socket whose
// relative path starts with '@' looks exactly like an abstract one here;
// unix_diag tells them apart. The kernel prints newlines in a path raw, so
// the text after one arrives as a line of its own: a line that does not parse
// as a socket, following a named socket, is taken as the rest of that name
// while the name stays within sun_path's 108 bytes. A path crafted to contain
// a whole well-formed line is indistinguishable from a real socket; /proc
// cannot prevent that, sock_diag can.
//
// Peer, Icons, the queues and the uid are not in /proc (HasUID is false),
// Cookie is 0, Type is the socket type (1 stream, 2 dgram, 5 seqpacket).
//
// fn's *UnixRecord is reused for the next line: copy what you keep. An error
// from fn stops the parse and is returned unchanged. A malformed line stops
// the parse with a *ParseError naming the line and the column.
func ParseUnix(r io.Reader, fn func(*sockdiag.UnixRecord) error) error {
	s := newLineScanner(r)
	var (
		cur, next sockdiag.UnixRecord
		pending   bool // cur holds a socket not yet passed to fn
		named     bool // cur has a name, possibly "" so far (a path starting with a newline)
		fields    [len(unixColumns)][]byte
	)
	for s.scan() {
		b := s.bytes()
		if s.line == 1 {
			if !bytes.HasPrefix(b, []byte("Num ")) {
				return parseErr(s.line, "header", b, errHeader)
			}
			continue
		}
		nextNamed, err := parseUnixLine(b, s.line, &next, fields[:])
		if err != nil {
			if pending && named && len(cur.Name)+1+len(b) <= maxName {
				cur.Name += "\n" + string(b)
				continue
			}
			return err
		}
		if pending {
			if err := fn(&cur); err != nil {
				return err
			}
		}
		cur, pending, named = next, true, nextNamed
	}
	if err := s.err(); err != nil {
		return err
	}
	if s.line == 0 {
		return parseErr(1, "header", nil, errHeader)
	}
	if pending {
		return fn(&cur)
	}
	return nil
}

// parseUnixLine fills rec from one row and reports whether the row has a
// path column. fields is scratch of len(unixColumns).
func parseUnixLine(b []byte, line int, rec *sockdiag.UnixRecord, fields [][]byte) (named bool, err error) {
	n, end := splitFields(b, fields)
	if n < len(unixColumns) {
		return false, parseErr(line, "line", b, errColumns)
	}
	*rec = sockdiag.UnixRecord{}

	num := fields[0]
	if len(num) < 2 || num[len(num)-1] != ':' {
		return false, parseErr(line, unixColumns[0], num, errSyntax)
	}
	if _, ok := parseHex(num[:len(num)-1], 16); !ok {
		return false, parseErr(line, unixColumns[0], num, errSyntax)
	}
	for i := 1; i <= 2; i++ { // RefCount, Protocol: checked, not kept
		if _, ok := parseHex(fields[i], 8); !ok {
			return false, parseErr(line, unixColumns[i], fields[i], errSyntax)
		}
	}
	flags, ok := parseHex(fields[3], 8)
	if !ok {
		return false, parseErr(line, unixColumns[3], fields[3], errSyntax)
	}
	typ, ok := parseHex(fields[4], 4)
	if !ok {
		return false, parseErr(line, unixColumns[4], fields[4], errSyntax)
	}
	if typ > math.MaxUint8 {
		return false, parseErr(line, unixColumns[4], fields[4], errRange)
	}
	rec.Type = uint8(typ)
	st, ok := parseHex(fields[5], 2)
	if !ok {
		return false, parseErr(line, unixColumns[5], fields[5], errSyntax)
	}
	switch {
	case flags&soAcceptCon != 0:
		rec.State = tcpListen
	case st == 1, st == 4:
		rec.State = tcpClose
	case st == 2:
		rec.State = tcpSynSent
	case st == 3:
		rec.State = tcpEstablished
	default:
		return false, parseErr(line, unixColumns[5], fields[5], errRange)
	}
	ino, err := parseDec(fields[6], math.MaxUint32)
	if err != nil {
		return false, parseErr(line, unixColumns[6], fields[6], err)
	}
	rec.Inode = uint32(ino)

	// The path, if any, is everything after the single space that follows
	// the inode, taken verbatim. A lone space means the path starts with a
	// newline: its text follows on the next lines.
	rest := b[end:]
	switch {
	case len(rest) == 0:
		return false, nil
	case rest[0] != ' ':
		return false, parseErr(line, "Path", rest, errTrailing)
	case len(rest)-1 > maxName:
		return false, parseErr(line, "Path", rest, errNameLength)
	}
	rec.Name = string(rest[1:])
	return true, nil
}
