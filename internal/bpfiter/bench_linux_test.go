package bpfiter

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/holders"
)

// openSockets opens n UDP sockets (SOCKSCOPE_BENCH_FDS, default 10000) in
// this process for the holder-scan benchmarks, raising RLIMIT_NOFILE.
func openSockets(b *testing.B) {
	b.Helper()
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SOCKSCOPE_BENCH_FDS")); err == nil && v >= 0 {
		n = v
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Max < uint64(n+1024) {
		b.Skipf("RLIMIT_NOFILE's hard limit %d is below %d fds", lim.Max, n+1024)
	}
	lim.Cur = uint64(n + 1024)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { unix.Close(fd) })
	}
}

// BenchmarkLoad measures loading the programs (BTF parsing included).
func BenchmarkLoad(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for b.Loop() {
		it, err := Load()
		if err != nil {
			b.Fatal(err)
		}
		it.Close()
	}
}

// BenchmarkHoldersBPF is the holder scan through iter/task_file: the fds,
// then the holders' metadata from /proc.
func BenchmarkHoldersBPF(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	it, err := Load()
	if err != nil {
		b.Skip(err)
	}
	defer it.Close()
	openSockets(b)
	for b.Loop() {
		hs, _, err := it.Holders()
		if err != nil {
			b.Fatal(err)
		}
		fds := map[int][]holders.SocketFD{}
		for _, h := range hs {
			fds[int(h.PID)] = append(fds[int(h.PID)], holders.SocketFD{Inode: h.Inode, FD: h.FD})
		}
		if _, err := holders.Scan(b.Context(), holders.Options{SocketFDs: fds}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHoldersProc is the /proc holder scan on the same fds.
func BenchmarkHoldersProc(b *testing.B) {
	openSockets(b)
	for b.Loop() {
		if _, err := holders.Scan(b.Context(), holders.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
