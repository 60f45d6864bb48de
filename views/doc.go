// Package views builds the port-first and per-port views of a snapshot: which
// sockets own each port (its listeners), which sockets share it, the client
// side of connections grouped per protocol, and Unix sockets grouped by path.
//
// It is pure analysis: no I/O, no kernel access, no formatting beyond the
// labels it counts by. Package render writes these views as tables and JSON;
// the metrics endpoint counts from them.
package views
