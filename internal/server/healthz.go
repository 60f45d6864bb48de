package server

import "net/http"

// serveHealthz answers 200 "ok" at once: the process is up and serving
// HTTP. It collects nothing and waits for no slot, so a liveness or
// readiness probe neither costs a collection nor fails while scrapes
// queue; whether collections work is sockscope_scrape_success.
func serveHealthz(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}
