// Package netlinkcmp compares sockscope's sock_diag dump
// (internal/sockdiag) with github.com/mdlayher/netlink on the same request,
// in BenchmarkDumpTCP. It is a module of its own so that the sockscope
// module does not require mdlayher/netlink: users of sockscope never
// download it. The figures it gave are kept beside DumpInet
// (internal/sockdiag/diag_linux.go).
//
// Run it from this directory, as any user:
//
//	go test -run '^$' -bench DumpTCP -benchmem
package netlinkcmp
