package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// ServeOptions are the transport settings of [Serve].
type ServeOptions struct {
	// WebConfigFile is a Prometheus exporter web configuration file
	// (TLS, basic auth, headers; see
	// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md),
	// or "" for plain HTTP without authentication.
	WebConfigFile string
	// Log receives the web configuration's warnings and errors; nil
	// means stderr.
	Log io.Writer
}

// WebConfig says what a web configuration file turns on.
type WebConfig struct {
	TLS       bool // the server speaks HTTPS
	BasicAuth bool // every request needs a user and password
}

// CheckWebConfig validates a web configuration file as [Serve] will use
// it, and says whether it turns on TLS and basic auth.
func CheckWebConfig(path string) (WebConfig, error) {
	if err := web.Validate(path); err != nil {
		return WebConfig{}, fmt.Errorf("web config %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return WebConfig{}, fmt.Errorf("web config: %w", err)
	}
	var c web.Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return WebConfig{}, fmt.Errorf("web config %s: %w", path, err)
	}
	return WebConfig{TLS: c.TLSConfig.IsEnabled(), BasicAuth: len(c.Users) > 0}, nil
}

// Serve serves h on ln until ctx is done, then shuts down gracefully,
// giving open requests up to 5 seconds. It returns nil after a clean
// shutdown. With o.WebConfigFile, TLS and basic auth are as that file
// says (it is read again for each connection and request, as exporters
// do).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if _, ok := h.(*Server); ok {
		// The handler sets each reply's write deadline itself: a fixed
		// one from the request's arrival would cut off requests that
		// waited their turn in the queue.
		srv.WriteTimeout = 0
	}
	logw := o.Log
	if logw == nil {
		logw = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	cfgFile := o.WebConfigFile
	flags := &web.FlagConfig{WebListenAddresses: &[]string{ln.Addr().String()}, WebConfigFile: &cfgFile}
	done := make(chan error, 1)
	go func() { done <- web.Serve(ln, srv, flags, logger) }()
	select {
	case err := <-done:
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("server: shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
