package sockdiag

import (
	"bytes"
	"encoding/binary"
)

// Attributes that tie MPTCP subflows to their MPTCP socket.
const (
	inetDiagULPInfo = 19 // INET_DIAG_ULP_INFO: a nest, for a TCP socket with a ULP
	ulpInfoName     = 1  // INET_ULP_INFO_NAME: "mptcp"
	ulpInfoMPTCP    = 3  // INET_ULP_INFO_MPTCP: a nest of MPTCP_SUBFLOW_ATTR_*
	subflowTokenLoc = 2  // MPTCP_SUBFLOW_ATTR_TOKEN_LOC: u32
	// mptcpInfoToken is the offset of mptcpi_token in struct mptcp_info
	// (six u8 counters, then u32 flags at 8).
	mptcpInfoToken = 12
	extInfo        = 1 << (inetDiagInfo - 1)
)

// findAttr returns the payload of the first attribute of type typ in b.
func findAttr(b []byte, typ uint16) ([]byte, bool) {
	for len(b) > 0 {
		t, val, rest, err := nextAttr(b)
		if err != nil {
			return nil, false
		}
		if t == typ {
			return val, true
		}
		b = rest
	}
	return nil, false
}

// MPTCPToken returns the local token of an MPTCP socket from its
// inet_diag_msg payload (the mptcp_info of INET_DIAG_INFO), if present.
func MPTCPToken(payload []byte) (uint32, bool) {
	if len(payload) < inetDiagMsgLen {
		return 0, false
	}
	info, ok := findAttr(payload[inetDiagMsgLen:], inetDiagInfo)
	if !ok || len(info) < mptcpInfoToken+4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(info[mptcpInfoToken:]), true
}

// SubflowToken returns, for a TCP socket that is an MPTCP subflow, the
// local token of its MPTCP socket, from the INET_DIAG_ULP_INFO nest of its
// inet_diag_msg payload; ok is false for any other TCP socket.
func SubflowToken(payload []byte) (uint32, bool) {
	if len(payload) < inetDiagMsgLen {
		return 0, false
	}
	ulp, ok := findAttr(payload[inetDiagMsgLen:], inetDiagULPInfo)
	if !ok {
		return 0, false
	}
	name, ok := findAttr(ulp, ulpInfoName)
	if !ok || string(bytes.TrimRight(name, "\x00")) != "mptcp" {
		return 0, false
	}
	sf, ok := findAttr(ulp, ulpInfoMPTCP)
	if !ok {
		return 0, false
	}
	tok, ok := findAttr(sf, subflowTokenLoc)
	if !ok || len(tok) < 4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(tok), true
}
