//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/nstest"
)

// holding is one entry of the workload's log: pid held the socket inode
// from (at the latest) start to (at the earliest) end.
type holding struct {
	pid        int
	inode      uint64
	start, end time.Time
}

// workload opens and closes loopback connections as fast as it can and
// spawns short-lived children that each inherit one socket, logging which
// child held which inode when.
type workload struct {
	conns atomic.Int64
	kids  atomic.Int64

	mu   sync.Mutex
	log  []holding
	pids map[int]bool
}

func (w *workload) record(h holding) {
	w.mu.Lock()
	w.log = append(w.log, h)
	w.pids[h.pid] = true
	w.mu.Unlock()
}

// connect opens and closes connections to ln until ctx is done.
func (w *workload) connect(ctx context.Context, addr string) {
	d := net.Dialer{Timeout: time.Second}
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp4", addr)
		if err != nil {
			continue
		}
		c.Close()
		w.conns.Add(1)
	}
}

// spawn runs children holding a fresh socket each until ctx is done.
func (w *workload) spawn(ctx context.Context, t *testing.T, sleep string) {
	for ctx.Err() == nil {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			continue
		}
		f, err := ln.(*net.TCPListener).File()
		ln.Close()
		if err != nil {
			continue
		}
		ino, err := nstest.Inode(int(f.Fd()))
		if err != nil {
			f.Close()
			continue
		}
		cmd := exec.Command(sleep, "1.5")
		cmd.ExtraFiles = []*os.File{f}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			f.Close()
			t.Errorf("spawn holder: %v", err)
			return
		}
		f.Close()
		pid := cmd.Process.Pid
		_ = cmd.Wait()
		w.record(holding{pid: pid, inode: ino, start: start, end: time.Now()})
		w.kids.Add(1)
	}
}

// TestChurn runs sockscope again and again while a workload churns
// connections and holder processes, and checks every run: it ends in time
// with exit 0, lists no socket twice, and every holder it shows among the
// workload's children really held that socket during the run.
func TestChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("churn runs for 20s")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1) to spawn holder processes")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); ln.Close(); wg.Wait() }()
	w := &workload{pids: map[int]bool{}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); w.connect(ctx, ln.Addr().String()) }()
	}
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); w.spawn(ctx, t, sleep) }()
	}

	const (
		maxRuns   = 40
		budget    = 20 * time.Second
		perRun    = 10 * time.Second
		slowBound = 8 * time.Second
	)
	type run struct {
		start, end time.Time
		doc        jsonDoc
	}
	var runs []run
	deadline := time.Now().Add(budget)
	for i := 0; i < maxRuns && time.Now().Before(deadline); i++ {
		start := time.Now()
		r := runAs(t, nil, perRun, "-o", "json", "ls", "-a", "-p", "-t")
		end := time.Now()
		if r.code != 0 {
			t.Fatalf("run %d: exit %d; stderr:\n%s", i, r.code, r.err)
		}
		if strings.Contains(string(r.err), "panic:") || strings.Contains(string(r.err), "fatal error:") {
			t.Fatalf("run %d: crashed:\n%s", i, r.err)
		}
		if r.took > slowBound {
			t.Errorf("run %d took %v, want under %v", i, r.took, slowBound)
		}
		doc := decodeDoc(t, r.out)
		runs = append(runs, run{start: start, end: end, doc: doc})
	}
	cancel()
	ln.Close()
	wg.Wait()
	t.Logf("%d runs under churn: %d connections opened and closed (%.0f/s), %d holder processes spawned and reaped",
		len(runs), w.conns.Load(), float64(w.conns.Load())/budget.Seconds(), w.kids.Load())
	if len(runs) < 5 {
		t.Errorf("only %d runs in %v", len(runs), budget)
	}

	held := map[[2]uint64][]holding{}
	for _, h := range w.log {
		k := [2]uint64{uint64(h.pid), h.inode}
		held[k] = append(held[k], h)
	}
	checked, forkCopies := 0, 0
	for i, r := range runs {
		// A child holds exactly one socket once it runs sleep. One shown
		// with more was caught between fork and the end of exec: exec
		// names the process "sleep" before it closes the close-on-exec
		// fds (fs/exec.c), so for a moment the child has
		// the new name and a copy of this process's whole fd table, and
		// really holds those sockets.
		perPID := map[int]map[uint64]bool{}
		for _, s := range r.doc.Sockets {
			for _, h := range s.Holders {
				if perPID[h.PID] == nil {
					perPID[h.PID] = map[uint64]bool{}
				}
				perPID[h.PID][s.Inode] = true
			}
		}
		seen := map[string]bool{}
		for _, s := range r.doc.Sockets {
			var ns uint64
			if s.NetNS != nil {
				ns = s.NetNS.Inode
			}
			key := fmt.Sprintf("%d/%s/cookie:%d", ns, s.Proto, s.Cookie)
			if s.Cookie == 0 {
				key = fmt.Sprintf("%d/%s/inode:%d/%s/%s", ns, s.Proto, s.Inode, s.Local, s.State)
			}
			if seen[key] {
				t.Errorf("run %d: socket %s (%s %s) listed twice", i, key, s.Local, s.State)
			}
			seen[key] = true
			for _, h := range s.Holders {
				if !w.pids[h.PID] {
					continue
				}
				if h.Comm != "sleep" || len(perPID[h.PID]) > 1 {
					// Caught between fork and exec: the child still has a
					// copy of this test process's whole fd table (its comm
					// still ours, or already sleep's, see above), so it
					// really holds these sockets.
					forkCopies++
					continue
				}
				ok := false
				for _, hd := range held[[2]uint64{uint64(h.PID), s.Inode}] {
					if hd.start.Before(r.end) && hd.end.After(r.start) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("run %d: pid %d shown holding inode %d (%s), but the workload's log has no such holding during the run", i, h.PID, s.Inode, s.Local)
				}
				checked++
			}
		}
	}
	t.Logf("%d holders of the workload's children checked against its log (%d more seen between fork and exec)", checked, forkCopies)
	if checked == 0 {
		t.Errorf("no run showed any of the %d spawned holders", w.kids.Load())
	}
}
