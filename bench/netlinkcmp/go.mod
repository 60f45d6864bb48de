module github.com/sockscope/sockscope/bench/netlinkcmp

go 1.26.0

require (
	github.com/mdlayher/netlink v1.11.2
	github.com/sockscope/sockscope v0.0.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/mdlayher/socket v0.6.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace github.com/sockscope/sockscope => ../..
