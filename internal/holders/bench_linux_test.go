package holders

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"
)

func BenchmarkScan(b *testing.B) {
	b.ReportAllocs()
	timedOut := 0
	for b.Loop() {
		res, err := Scan(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		timedOut += len(res.TimedOut)
	}
	// A process stalled in the kernel costs PerProcess per scan; report it
	// so a slow figure can be told from a slow scanner.
	b.ReportMetric(float64(timedOut)/float64(b.N), "timedout/op")
}

// BenchmarkScanManyFDs scans with this process holding up to 5000 sockets
// (fewer if RLIMIT_NOFILE is lower), the case that stresses the per-fd path.
func BenchmarkScanManyFDs(b *testing.B) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	n := min(5000, int(lim.Cur)-200)
	if n < 100 {
		b.Skipf("RLIMIT_NOFILE %d too low", lim.Cur)
	}
	fds := make([]int, 0, n)
	b.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		fds = append(fds, fd)
	}
	b.ReportAllocs()
	timedOut := 0
	for b.Loop() {
		res, err := Scan(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Refs) < n {
			b.Fatalf("%d sockets found, at least %d held (denied %d, vanished %d, failed %d: %v, timed out %v)",
				len(res.Refs), n, res.Denied, res.Vanished, res.Failed, res.FailErr, res.TimedOut)
		}
		timedOut += len(res.TimedOut)
	}
	b.ReportMetric(float64(timedOut)/float64(b.N), "timedout/op")
	b.ReportMetric(float64(n), "sockets")
}
