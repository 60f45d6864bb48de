package sockdiag

import "errors"

// parseEvents decodes one datagram of destroy events (multicast messages
// carry sequence number 0 and port id 0) and calls fn once per event, with
// r refilled each time and its Protocol taken from INET_DIAG_PROTOCOL. An
// error from fn stops the walk and is returned unchanged; a malformed
// message gives an error wrapping errMalformed. It never reads past b.
func parseEvents(b []byte, r *InetRecord, fn func(*InetRecord) error) error {
	var userErr error
	_, err := walkMessages(b, 0, 0, func(p []byte) error {
		if err := ParseInetMsg(p, r); err != nil {
			return err
		}
		r.Protocol = r.SockProtocol
		if err := fn(r); err != nil {
			userErr = err
			return err
		}
		return nil
	})
	if userErr != nil {
		return userErr
	}
	var me msgError
	if errors.As(err, &me) {
		// An NLMSG_ERROR on a multicast socket is not a reply to us.
		return malformed("unexpected %v in an event datagram", me)
	}
	return err
}
