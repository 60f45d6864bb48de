package procnet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/netip"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

const (
	afInet  = 2  // unix.AF_INET, spelled out so the parser builds on every OS
	afInet6 = 10 // unix.AF_INET6

	// userHZ is the USER_HZ the kernel converts timer ticks to
	// (jiffies_delta_to_clock_t); it is 100 on every Linux architecture.
	userHZ = 100
)

// inetColumns are the leading columns every inet table shares, in order, as
// the header names them. ParseInet reads these and ignores the rest.
var inetColumns = [...]string{"sl", "local_address", "rem_address", "st", "tx_queue:rx_queue", "tr:tm->when", "retrnsmt", "uid", "timeout", "inode"}

// ParseInet parses an inet socket table (the text of /proc/net/tcp, tcp6,
// udp, udp6, udplite, udplite6, raw or raw6) and calls fn for each socket.
// family (AF_INET or AF_INET6) and protocol (IPPROTO_TCP, _UDP, _UDPLITE,
// _RAW) describe the file; they are not guessed from its content, and they
// are copied into every record. The address width is checked against family.
//
// All these tables share their first ten columns: slot (TCP) or hash bucket
// (UDP, raw), local and remote address:port, st, tx_queue:rx_queue,
// tr:tm->when, retrnsmt, uid, timeout and inode; ParseInet reads those and
// ignores what follows (TCP's rto, ato, cwnd...; UDP's and raw's drops). For
// raw sockets the local "port" is the IP protocol number. TIME_WAIT rows
// (st 06) have uid 0 and inode 0 and fewer trailing columns.
//
// In each record Cookie is 0, V6Only is -1 and If is 0 because /proc does not
// report them; Expires is tm->when converted from clock ticks to
// milliseconds, 0 for an overdue timer; Retrans saturates at 255. Addresses
// are kept as the kernel prints them: a v4-mapped IPv6 address stays
// ::ffff:a.b.c.d.
//
// fn's *InetRecord is reused for the next line: copy what you keep. An error
// from fn stops the parse and is returned unchanged. A malformed line stops
// the parse with a *ParseError naming the line and the column.
func ParseInet(r io.Reader, family, protocol uint8, fn func(*sockdiag.InetRecord) error) error {
	if family != afInet && family != afInet6 {
		return fmt.Errorf("family %d: %w", family, errBadFamily)
	}
	s := newLineScanner(r)
	var (
		rec    sockdiag.InetRecord
		fields [len(inetColumns)][]byte
	)
	for s.scan() {
		b := s.bytes()
		if s.line == 1 {
			if !isInetHeader(b) {
				return parseErr(s.line, "header", b, errHeader)
			}
			continue
		}
		if err := parseInetLine(b, s.line, family, protocol, &rec, fields[:]); err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := s.err(); err != nil {
		return err
	}
	if s.line == 0 {
		return parseErr(1, "header", nil, errHeader)
	}
	return nil
}

func isInetHeader(b []byte) bool {
	var f [2][]byte
	n, _ := splitFields(b, f[:])
	return n == 2 && string(f[0]) == "sl" && string(f[1]) == "local_address"
}

// parseInetLine fills rec from one table row. fields is scratch space of
// len(inetColumns).
func parseInetLine(b []byte, line int, family, protocol uint8, rec *sockdiag.InetRecord, fields [][]byte) error {
	n, _ := splitFields(b, fields)
	if n < len(inetColumns) {
		return parseErr(line, "line", b, errColumns)
	}
	*rec = sockdiag.InetRecord{Family: family, Protocol: protocol, V6Only: -1}

	// sl: a decimal slot or bucket number followed by a colon.
	sl := fields[0]
	if len(sl) < 2 || sl[len(sl)-1] != ':' {
		return parseErr(line, inetColumns[0], sl, errSyntax)
	}
	if _, err := parseDec(sl[:len(sl)-1], math.MaxUint32); err != nil {
		return parseErr(line, inetColumns[0], sl, err)
	}

	var err error
	if rec.Src, rec.SrcPort, err = parseAddrPort(fields[1], family); err != nil {
		return parseErr(line, inetColumns[1], fields[1], err)
	}
	if rec.Dst, rec.DstPort, err = parseAddrPort(fields[2], family); err != nil {
		return parseErr(line, inetColumns[2], fields[2], err)
	}

	st, ok := parseHex(fields[3], 2)
	if !ok {
		return parseErr(line, inetColumns[3], fields[3], errSyntax)
	}
	rec.State = uint8(st)

	tx, rx, ok := hexPair(fields[4], 8, 8)
	if !ok {
		return parseErr(line, inetColumns[4], fields[4], errSyntax)
	}
	rec.WQueue, rec.RQueue = uint32(tx), uint32(rx)

	tr, when, ok := hexPair(fields[5], 2, 16)
	if !ok {
		return parseErr(line, inetColumns[5], fields[5], errSyntax)
	}
	rec.Timer = uint8(tr)
	rec.Expires = ticksToMillis(when)

	retr, ok := parseHex(fields[6], 8)
	if !ok {
		return parseErr(line, inetColumns[6], fields[6], errSyntax)
	}
	rec.Retrans = uint8(min(retr, math.MaxUint8))

	uid, err := parseDec(fields[7], math.MaxUint32)
	if err != nil {
		return parseErr(line, inetColumns[7], fields[7], err)
	}
	rec.UID = uint32(uid)

	if !isDecSigned(fields[8]) {
		return parseErr(line, inetColumns[8], fields[8], errSyntax)
	}

	ino, err := parseDec(fields[9], math.MaxUint32)
	if err != nil {
		return parseErr(line, inetColumns[9], fields[9], err)
	}
	rec.Inode = uint32(ino)
	return nil
}

// hexPair parses "A:B" with at most maxA and maxB hex digits.
func hexPair(b []byte, maxA, maxB int) (a, c uint64, ok bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return 0, 0, false
	}
	if a, ok = parseHex(b[:i], maxA); !ok {
		return 0, 0, false
	}
	if c, ok = parseHex(b[i+1:], maxB); !ok {
		return 0, 0, false
	}
	return a, c, true
}

// ticksToMillis converts tm->when, a long printed as %08lX, to milliseconds.
// An overdue timer prints a negative delta (sign-extended to 16 digits); like
// sock_diag, report it as 0.
func ticksToMillis(when uint64) uint32 {
	if int64(when) < 0 {
		return 0
	}
	return uint32(min(when, math.MaxUint32/(1000/userHZ)) * (1000 / userHZ))
}

// parseAddrPort parses "ADDR:PORT": ADDR is 8 (AF_INET) or 32 (AF_INET6) hex
// digits, each group of 8 being a 32-bit word of the address in network byte
// order printed as a host-order integer (so 127.0.0.1 is 0100007F on a
// little-endian machine); PORT is up to 4 hex digits in host order.
func parseAddrPort(b []byte, family uint8) (netip.Addr, uint16, error) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return netip.Addr{}, 0, errSyntax
	}
	hex, portText := b[:i], b[i+1:]
	port, ok := parseHex(portText, 4)
	if !ok {
		return netip.Addr{}, 0, errSyntax
	}
	want := 8
	if family == afInet6 {
		want = 32
	}
	if len(hex) != want {
		if len(hex) == 8 || len(hex) == 32 {
			return netip.Addr{}, 0, errFamily
		}
		return netip.Addr{}, 0, errSyntax
	}
	var a [16]byte
	for w := 0; w < want/8; w++ {
		v, ok := parseHex(hex[w*8:w*8+8], 8)
		if !ok {
			return netip.Addr{}, 0, errSyntax
		}
		binary.NativeEndian.PutUint32(a[w*4:], uint32(v))
	}
	if family == afInet {
		return netip.AddrFrom4([4]byte(a[:4])), uint16(port), nil
	}
	return netip.AddrFrom16(a), uint16(port), nil
}
