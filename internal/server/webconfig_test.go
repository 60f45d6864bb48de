//go:build linux

package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testCert writes a self-signed certificate for 127.0.0.1 and its key to
// dir and returns their paths and a pool that trusts it.
func testCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sockscope test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writeWebConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func status(t *testing.T, c *http.Client, url, user, pass string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s as %q: %v", url, user, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestWebConfigTLSAndBasicAuth: with a web config file the server speaks
// only TLS with its certificate, and answers 401 without the right user
// and password, 200 with them.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := testCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := writeWebConfig(t, dir, "tls_server_config:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+
		"\nbasic_auth_users:\n  alice: "+string(hash)+"\n")
	wc, err := CheckWebConfig(cfgFile)
	if err != nil || !wc.TLS || !wc.BasicAuth {
		t.Fatalf("CheckWebConfig = %+v, %v; want TLS and basic auth", wc, err)
	}
	addr := serveLoopback(t, New(Config{Collect: onlyPorts(1)}), ServeOptions{WebConfigFile: cfgFile, Log: io.Discard})
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + addr
	for _, tt := range []struct {
		path, user, pass string
		want             int
	}{
		{"/metrics", "", "", 401},
		{"/api/sockets", "alice", "wrong", 401},
		{"/", "mallory", "s3cret pass", 401},
		{"/metrics", "alice", "s3cret pass", 200},
		{"/api/ports", "alice", "s3cret pass", 200},
	} {
		if got := status(t, c, base+tt.path, tt.user, tt.pass); got != tt.want {
			t.Errorf("GET %s as %q/%q = %d, want %d", tt.path, tt.user, tt.pass, got, tt.want)
		}
	}
	// Plain HTTP on the TLS port gets no data.
	plain := &http.Client{Timeout: 10 * time.Second}
	if got := status(t, plain, "http://"+addr+"/metrics", "alice", "s3cret pass"); got != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port = %d, want 400", got)
	}
	// A client that does not trust the certificate cannot connect.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/metrics"); err == nil {
		t.Errorf("a client without the test CA connected")
	}
}

// TestWebConfigBasicAuthOnly: basic auth without TLS, and a bad file is
// refused up front.
func TestWebConfigBasicAuthOnly(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := writeWebConfig(t, dir, "basic_auth_users:\n  bob: "+string(hash)+"\n")
	if wc, err := CheckWebConfig(cfgFile); err != nil || wc.TLS || !wc.BasicAuth {
		t.Fatalf("CheckWebConfig = %+v, %v; want basic auth only", wc, err)
	}
	addr := serveLoopback(t, New(Config{Collect: onlyPorts(1)}), ServeOptions{WebConfigFile: cfgFile, Log: io.Discard})
	c := &http.Client{Timeout: 10 * time.Second}
	if got := status(t, c, "http://"+addr+"/metrics", "", ""); got != 401 {
		t.Errorf("no credentials = %d, want 401", got)
	}
	if got := status(t, c, "http://"+addr+"/metrics", "bob", "pw"); got != 200 {
		t.Errorf("bob = %d, want 200", got)
	}
	for _, text := range []string{"basic_auth_users:\n  bob: not-a-bcrypt-hash\n", "tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n", "unknown_key: 1\n"} {
		if _, err := CheckWebConfig(writeWebConfig(t, dir, text)); err == nil {
			t.Errorf("CheckWebConfig accepted %q", text)
		}
	}
}
