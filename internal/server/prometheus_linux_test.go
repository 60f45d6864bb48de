package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/procnet"
)

// fullListener opens a TCP listener on 127.0.0.1 with the given backlog
// and makes n non-blocking connections to it that are never accepted:
// backlog+1 complete their handshake and wait in the accept queue (the
// kernel's queue is full when it holds more than the backlog), the SYNs
// of the others are dropped and counted as listen overflows, again at
// each retransmission. It returns the listener's port.
func fullListener(t *testing.T, backlog, n int) uint16 {
	t.Helper()
	var fds []int
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds = append(fds, lfd)
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, backlog); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
		if err != nil && !errors.Is(err, unix.EINPROGRESS) {
			t.Fatal(err)
		}
	}
	return uint16(port)
}

// limitedBuffer keeps the first 64 KiB written to it: a child's output
// for the failure message.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 64<<10 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPrometheus runs the prometheus binary on 127.0.0.1 with a
// temporary configuration and data directory, scraping target every 2
// seconds (a scrape may take 2s on a loaded machine) and evaluating rules
// every second, and waits (bounded) until
// it is ready. It is stopped by PID when the test ends. It returns the
// base URL of its HTTP API.
func startPrometheus(t *testing.T, bin, target, rules string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: sockscope
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The port was free a moment ago; another process may take it first,
	// then Prometheus exits and the next attempt takes another.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		out := &limitedBuffer{}
		cmd := exec.Command(bin,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", attempt)),
			"--web.listen-address="+addr,
			"--log.level=warn")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			select {
			case <-exited:
				return
			default:
			}
			_ = syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(pid, syscall.SIGKILL)
				<-exited
			}
		})
		base := "http://" + addr
		deadline := time.Now().Add(60 * time.Second)
		for {
			select {
			case err := <-exited:
				lastErr = fmt.Errorf("prometheus exited (%v):\n%s", err, out)
			default:
				resp, err := http.Get(base + "/-/ready")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return base
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("prometheus not ready on %s after 60s:\n%s", addr, out)
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			break
		}
	}
	t.Fatalf("prometheus did not start in 3 attempts: %v", lastErr)
	return ""
}

// apiGet GETs a Prometheus HTTP API path and decodes its data.
func apiGet(base, path string, query url.Values, data any) error {
	resp, err := http.Get(base + path + "?" + query.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: %w: %.300s", path, err, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, r.Status, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// promSample is one element of an instant vector.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// instant runs a PromQL instant query.
func instant(base, q string) ([]promSample, error) {
	var d struct {
		ResultType string       `json:"resultType"`
		Result     []promSample `json:"result"`
	}
	if err := apiGet(base, "/api/v1/query", url.Values{"query": {q}}, &d); err != nil {
		return nil, err
	}
	if d.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", q, d.ResultType)
	}
	return d.Result, nil
}

// eventually polls f every 250ms until it returns nil or the time is up,
// and returns its last error.
func eventually(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestPrometheus: a real Prometheus scrapes serve's /metrics; PromQL
// through its HTTP API returns the accept queue and backlog of a listener
// the test filled (backlog 2, 6 connections never accepted: 3 wait, the
// others overflow), the documented alert rules (docs/metrics-alerts.yml)
// load, and ListenQueueNearlyFull and ListenOverflows go pending for it;
// promtool checks the exposition and the rules.
func TestPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (CI installs the distribution's package)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (it comes with the prometheus package)")
	}
	rules, err := filepath.Abs("../../docs/metrics-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", rules, err, out)
	}

	netstat := func() uint64 {
		m, err := procnet.FS{}.Netstat("self/net/netstat")
		if err != nil {
			t.Fatal(err)
		}
		return m["TcpExt"]["ListenOverflows"]
	}
	overflowsBefore := netstat()
	const backlog, conns = 2, 6
	port := fullListener(t, backlog, conns)
	p := strconv.Itoa(int(port))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	// With holders, so that promtool sees every family serve can emit;
	// without a port cap, since tests running beside this one may listen
	// on hundreds of lower ports.
	cfg := Config{MetricsHolders: true, MaxPorts: 1 << 20}
	go func() { served <- Serve(ctx, ln, New(cfg), ServeOptions{Log: io.Discard}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Errorf("serve did not stop within 10s")
		}
	})
	target := ln.Addr().String()

	// promtool lints what Prometheus will scrape.
	resp, body := get(t, "http://"+target+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d: %.300s", resp.StatusCode, body)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	mfs := mustParse(t, body)
	for _, name := range []string{"sockscope_process_sockets", "sockscope_hidden_holders", "sockscope_listen_overflows_total", "sockscope_build_info", "go_goroutines", "process_open_fds"} {
		if _, n := value(mfs, name, nil); n == 0 {
			t.Errorf("the exposition promtool checked lacks %s", name)
		}
	}
	if v, n := value(mfs, "sockscope_listen_queue_length", map[string]string{"port": p}); n != 1 || v != backlog+1 {
		omitted, _ := value(mfs, "sockscope_ports_omitted", nil)
		t.Fatalf("scrape: sockscope_listen_queue_length{port=%s} = %v (%d series), want %d (ports omitted: %v)", p, v, n, backlog+1, omitted)
	}

	base := startPrometheus(t, bin, target, rules)

	// The accept queue and backlog, through PromQL.
	sel := fmt.Sprintf(`{job="sockscope",proto="tcp",port=%q,address="127.0.0.1"}`, p)
	for _, q := range []struct {
		query string
		want  float64
	}{
		{"sockscope_listen_queue_length" + sel, backlog + 1},
		{"sockscope_listen_backlog" + sel, backlog},
		{"sockscope_port_sockets" + strings.Replace(sel, `,address="127.0.0.1"`, `,state="listen"`, 1), 1},
	} {
		err := eventually(60*time.Second, func() error {
			res, err := instant(base, q.query)
			if err != nil {
				return err
			}
			if len(res) != 1 {
				return fmt.Errorf("%s: %d series, want 1: %+v", q.query, len(res), res)
			}
			if s, _ := res[0].Value[1].(string); s != strconv.FormatFloat(q.want, 'f', -1, 64) {
				return fmt.Errorf("%s = %v, want %v", q.query, res[0].Value[1], q.want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The listener's namespace, as serve labels it.
	res, err := instant(base, "sockscope_listen_queue_length"+sel)
	if err != nil || len(res) != 1 {
		t.Fatalf("query: %v %+v", err, res)
	}
	netns := res[0].Metric["netns"]

	// The overflows counter has counted the test's dropped SYNs.
	err = eventually(60*time.Second, func() error {
		q := fmt.Sprintf(`sockscope_listen_overflows_total{job="sockscope",netns=%q}`, netns)
		res, err := instant(base, q)
		if err != nil {
			return err
		}
		if len(res) != 1 {
			return fmt.Errorf("%s: %d series, want 1", q, len(res))
		}
		s, _ := res[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < float64(overflowsBefore+1) {
			return fmt.Errorf("%s = %q, want at least %d (the count before the test, plus its drops)", q, s, overflowsBefore+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Every documented rule loaded and evaluates cleanly.
	err = eventually(60*time.Second, func() error {
		var d struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := apiGet(base, "/api/v1/rules", nil, &d); err != nil {
			return err
		}
		n := 0
		for _, g := range d.Groups {
			for _, r := range g.Rules {
				n++
				if r.Health != "ok" {
					return fmt.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
				}
			}
		}
		if n == 0 {
			return fmt.Errorf("no rules loaded from %s", rules)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The two alerts an operator wants go pending for this listener.
	want := map[string]map[string]string{
		"ListenQueueNearlyFull": {"port": p, "address": "127.0.0.1", "netns": netns},
		"ListenOverflows":       {"netns": netns},
	}
	err = eventually(90*time.Second, func() error {
		var d struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		}
		if err := apiGet(base, "/api/v1/alerts", nil, &d); err != nil {
			return err
		}
		var missing []string
	next:
		for name, labels := range want {
			for _, a := range d.Alerts {
				if a.Labels["alertname"] != name || (a.State != "pending" && a.State != "firing") {
					continue
				}
				ok := true
				for k, v := range labels {
					ok = ok && a.Labels[k] == v
				}
				if ok {
					continue next
				}
			}
			missing = append(missing, fmt.Sprintf("%s%v", name, labels))
		}
		if len(missing) > 0 {
			return fmt.Errorf("alerts not pending: %v (active: %+v)", missing, d.Alerts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mustParse parses an exposition strictly.
func mustParse(t *testing.T, body []byte) map[string]*family {
	t.Helper()
	mfs, err := parseExposition(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}
