package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// selfTestMux is New with the self-test page alone.
func selfTestMux(t *testing.T) http.Handler {
	t.Helper()
	h, err := New(Config{SelfTest: true})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSelfTestRoutes(t *testing.T) {
	h := selfTestMux(t)
	for _, tt := range []struct {
		path, ctype, has string
	}{
		{SelfTestPath, "text/html; charset=utf-8", `<script type="module" src="selftest.js">`},
		{"/selftest.js", "text/javascript; charset=utf-8", "turn-credentials"},
		{"/selftest.css", "text/css; charset=utf-8", ".checks"},
		{chunkPaths(t)[0], "text/javascript; charset=utf-8", "JsSIP"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", tt.path, rec.Code, rec.Body)
		}
		hd := rec.Header()
		if got := hd.Get("Content-Type"); got != tt.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if !strings.Contains(rec.Body.String(), tt.has) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.has)
		}
		checkPageHeaders(t, "GET "+tt.path, hd)
	}
}

// checkPageHeaders checks the security headers the self-test page shares
// with the phone: scripts of its own origin only, WebSockets and fetches
// to it, no sniffing, no referrer, no framing.
func checkPageHeaders(t *testing.T, what string, hd http.Header) {
	t.Helper()
	csp := hd.Get("Content-Security-Policy")
	for _, d := range []string{"script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline or eval", what, csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := hd.Get(k); got != want {
			t.Errorf("%s: %s %q, want %q", what, k, got, want)
		}
	}
}

func TestSelfTestHead(t *testing.T) {
	h := selfTestMux(t)
	get := httptest.NewRecorder()
	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, SelfTestPath, nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, SelfTestPath, nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d, %d bytes of body", rec.Code, rec.Body.Len())
	}
	if got, want := rec.Header().Get("Content-Length"), get.Header().Get("Content-Length"); got == "" || got != want {
		t.Errorf("HEAD: Content-Length %q, GET's %q", got, want)
	}
	checkPageHeaders(t, "HEAD", rec.Header())
	// The ETag lets the browser revalidate rather than fetch again.
	req := httptest.NewRequest(http.MethodGet, SelfTestPath, nil)
	req.Header.Set("If-None-Match", get.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("GET with the ETag: %d, want 304", rec.Code)
	}
}

func TestSelfTestMethods(t *testing.T) {
	h := selfTestMux(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, SelfTestPath, strings.NewReader("x")))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, rec.Code)
		}
		if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s: Allow %q", m, got)
		}
		checkPageHeaders(t, m, rec.Header())
	}
}

func TestSelfTestOff(t *testing.T) {
	// With the phone on and the self-test off, /selftest is the phone's
	// 404, not the page.
	h, err := New(Config{Phone: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{SelfTestPath, "/selftest.js", "/selftest/"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s with the self-test off: %d, want 404", p, rec.Code)
		}
	}
}
