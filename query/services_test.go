package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseServices(t *testing.T) {
	f, err := os.Open("testdata/services")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab := parseServices(f)
	lookups := []struct {
		name, proto string
		port        uint16
		ok          bool
	}{
		{"ssh", "tcp", 22, true},
		{"ssh", "udp", 0, false},
		{"www", "tcp", 80, true}, // alias
		{"mail", "tcp", 25, true},
		{"domain", "udp", 53, true},
		{"ntp", "udp", 123, true},
		{"x11-0", "tcp", 6000, true},
		{"split", "tcp", 7000, true},
		{"split", "udp", 7001, true},
		{"broken", "tcp", 0, false},
		{"noport", "tcp", 0, false},
		{"noproto", "tcp", 0, false},
		{"toobig", "tcp", 0, false},
		{"empty", "tcp", 0, false},
		{"SSH", "tcp", 0, false}, // case-sensitive, as getservbyname
		{"#", "tcp", 0, false},
	}
	for _, tt := range lookups {
		p, ok := tab.lookup(tt.name, tt.proto)
		if p != tt.port || ok != tt.ok {
			t.Errorf("lookup(%q, %q) = %d, %v; want %d, %v", tt.name, tt.proto, p, ok, tt.port, tt.ok)
		}
	}
	names := []struct {
		port  uint16
		proto string
		name  string
		ok    bool
	}{
		{22, "tcp", "ssh", true},
		{80, "tcp", "http", true}, // the primary name, not the alias
		{53, "udp", "domain", true},
		{443, "udp", "https", true},
		{123, "tcp", "", false},
		{4464, "tcp", "", false},
	}
	for _, tt := range names {
		n, ok := tab.name(tt.port, tt.proto)
		if n != tt.name || ok != tt.ok {
			t.Errorf("name(%d, %q) = %q, %v; want %q, %v", tt.port, tt.proto, n, ok, tt.name, tt.ok)
		}
	}
}

func TestServicesLazyFile(t *testing.T) {
	old := servicesPath
	t.Cleanup(func() { servicesPath = old; resetServices() })

	servicesPath = "testdata/services"
	resetServices()
	if p, ok := LookupService("x11-0", "tcp"); !ok || p != 6000 {
		t.Errorf("LookupService(x11-0) = %d, %v; want 6000 from the fixture", p, ok)
	}
	if n, ok := ServiceName(6000, "tcp"); !ok || n != "x11" {
		t.Errorf("ServiceName(6000) = %q, %v; want x11", n, ok)
	}
	// The file is read once: changing the path has no effect until reset.
	servicesPath = filepath.Join(t.TempDir(), "missing")
	if _, ok := LookupService("x11-0", "tcp"); !ok {
		t.Error("table was re-read without a reset")
	}
	// Without a file, the built-in table answers the common names.
	resetServices()
	if p, ok := LookupService("ssh", "tcp"); !ok || p != 22 {
		t.Errorf("fallback LookupService(ssh) = %d, %v", p, ok)
	}
	if _, ok := LookupService("x11-0", "tcp"); ok {
		t.Error("fallback table has the fixture's x11-0")
	}
	if n, ok := ServiceName(443, "tcp"); !ok || n != "https" {
		t.Errorf("fallback ServiceName(443) = %q, %v", n, ok)
	}
}

func TestParseServicesLongLine(t *testing.T) {
	in := "ssh 22/tcp\n" + strings.Repeat("x", 100<<10) + "\nhttp 80/tcp\n"
	tab := parseServices(strings.NewReader(in))
	if _, ok := tab.lookup("ssh", "tcp"); !ok {
		t.Error("entries before an over-long line were lost")
	}
}

func FuzzParseServices(f *testing.F) {
	f.Add([]byte("ssh 22/tcp # c\nhttp 80/tcp www\n"))
	f.Add([]byte("x 65536/tcp\ny 1/\n/tcp\n 22/tcp\n"))
	f.Add([]byte("a 0022/tcp\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab := parseServices(strings.NewReader(string(b)))
		for k, p := range tab.byName {
			name, proto, _ := strings.Cut(k, "/")
			if q, ok := tab.lookup(name, proto); !ok || q != p {
				t.Fatalf("lookup(%q, %q) inconsistent", name, proto)
			}
		}
	})
}
