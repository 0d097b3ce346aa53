package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// servePhone answers one request of the web phone as web.New routes it.
func servePhone(t *testing.T, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	h, err := New(Config{Phone: true})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

// chunkPaths are the URL paths of the shared chunks of the pages' scripts
// in assets (webphone/build.mjs writes them; one, with JsSIP, for now).
func chunkPaths(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(assets, "assets/"+chunkPattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no %s in assets: the scripts share no chunk", chunkPattern)
	}
	var out []string
	for _, n := range names {
		out = append(out, "/"+path.Base(n))
	}
	return out
}

func TestPhoneRoutes(t *testing.T) {
	chunk := chunkPaths(t)[0]
	for _, tc := range []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="phone.js"></script>`},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", "sipedge phone"},
		{"GET", "/phone.js", 200, "text/javascript; charset=utf-8", "sipedgePhone"},
		{"GET", chunk, 200, "text/javascript; charset=utf-8", "JsSIP"},
		{"HEAD", chunk, 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/chunk-NOSUCH.js", 404, "", ""},
		{"GET", "/assets" + chunk, 404, "", ""},
		{"GET", "/phone.css", 200, "text/css; charset=utf-8", "#status"},
		{"GET", "/third-party-licenses.txt", 200, "text/plain; charset=utf-8", "==== jssip 3.13.8 (MIT) ===="},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/nothing", 404, "", ""},
		{"GET", "/assets/phone.js", 404, "", ""},
		{"GET", "/phone.js/", 404, "", ""},
		// No TURN configured: the endpoint is not there (the phone then
		// calls without TURN).
		{"GET", TURNCredentialsPath, 404, "", ""},
		{"POST", "/", 405, "", ""},
		{"PUT", "/phone.js", 405, "", ""},
		{"POST", chunk, 405, "", ""},
		{"OPTIONS", "/", 405, "", ""},
	} {
		resp := servePhone(t, tc.method, tc.path, nil)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
			continue
		}
		if tc.code == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
		if tc.code != 200 {
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", tc.method, tc.path, got, tc.ctype)
		}
		if !strings.Contains(string(b), tc.body) {
			t.Errorf("%s %s: body lacks %q", tc.method, tc.path, tc.body)
		}
		if tc.method == "HEAD" && (len(b) != 0 || resp.Header.Get("Content-Length") == "" || resp.Header.Get("Content-Length") == "0") {
			t.Errorf("HEAD %s: %d bytes of body, Content-Length %q", tc.path, len(b), resp.Header.Get("Content-Length"))
		}
		if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
			t.Errorf("%s %s: Cache-Control %q ETag %q", tc.method, tc.path, resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
		}
	}
}

// TestPhoneHeaders: every answer of the pages, 404 and 405 too, carries
// the security headers.
func TestPhoneHeaders(t *testing.T) {
	for _, p := range []string{"/", "/phone.js", "/nothing"} {
		for _, m := range []string{"GET", "DELETE"} {
			resp := servePhone(t, m, p, nil)
			hd := resp.Header
			csp := hd.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "connect-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "media-src 'self' blob:", "img-src 'self' data:"} {
				if !strings.Contains(csp, d) {
					t.Errorf("%s %s: CSP %q lacks %q", m, p, csp, d)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("%s %s: CSP %q allows unsafe sources", m, p, csp)
			}
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("%s %s: %v", m, p, hd)
			}
		}
	}
}

// TestPhoneRevalidate: a browser revalidating with the ETag gets 304.
func TestPhoneRevalidate(t *testing.T) {
	etag := servePhone(t, "GET", "/phone.js", nil).Header.Get("ETag")
	resp := servePhone(t, "GET", "/phone.js", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: %d", etag, resp.StatusCode)
	}
	if other := servePhone(t, "GET", "/phone.css", nil).Header.Get("ETag"); other == etag {
		t.Errorf("phone.js and phone.css share the ETag %s", etag)
	}
}

// TestPhoneNoInline: the page works under the CSP only if it has no
// inline script, style or event handler.
func TestPhoneNoInline(t *testing.T) {
	b, err := fs.ReadFile(assets, "assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html holds %q, which the CSP blocks", bad)
		}
	}
}

// TestNewWithoutHandlers: nothing to serve is an error, not an empty mux.
func TestNewWithoutHandlers(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New with nothing: no error")
	}
}

// TestPhoneFilesExist: every file phoneFiles names is in assets (NewPhone
// fails otherwise: this says which).
func TestPhoneFilesExist(t *testing.T) {
	if _, err := NewPhone(); err != nil {
		t.Fatal(err)
	}
}

// moduleImport matches the static imports of esbuild's minified ES
// modules (import{a as b}from"./chunk-X.js", import"./chunk-X.js") and
// gives the relative path imported.
var moduleImport = regexp.MustCompile(`(?:\bfrom|\bimport)\s*"(\./[^"]+)"`)

// TestPageImports: each page's script loads as a module from the page's
// handler alone (the phone's, or the self-test's with the phone off): it
// and every chunk it imports, at the path the import names, is served as
// JavaScript. The scripts are the pages' own code, small; JsSIP is in a
// chunk they share.
func TestPageImports(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		script string
	}{
		{Config{Phone: true}, "/phone.js"},
		{Config{SelfTest: true}, "/selftest.js"},
	} {
		h, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		get := func(p string) string {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s (%s's handler): %d", p, tc.script, rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q: browsers refuse a module of another type", p, ct)
			}
			return rec.Body.String()
		}
		body := get(tc.script)
		if len(body) > 64<<10 {
			t.Errorf("%s: %d bytes: it bundles JsSIP again instead of importing the shared chunk", tc.script, len(body))
		}
		seen := map[string]bool{tc.script: true}
		todo := []string{tc.script}
		jssip := false
		for first := true; len(todo) > 0; first = false {
			p := todo[0]
			todo = todo[1:]
			if !first {
				body = get(p)
			}
			jssip = jssip || strings.Contains(body, "JsSIP")
			for _, m := range moduleImport.FindAllStringSubmatch(body, -1) {
				imp := path.Join(path.Dir(p), m[1])
				if !seen[imp] {
					seen[imp] = true
					todo = append(todo, imp)
				}
			}
		}
		if len(seen) < 2 || !jssip {
			t.Errorf("%s imports %v: no shared chunk with JsSIP", tc.script, seen)
		}
	}
}

// TestPhoneGzip: a browser that takes gzip gets the script gzipped, with
// its own ETag; one that refuses it (q=0), or says nothing, gets it as is.
func TestPhoneGzip(t *testing.T) {
	plain := servePhone(t, "GET", "/phone.js", nil)
	want, _ := io.ReadAll(plain.Body)
	for ae, gz := range map[string]bool{"gzip, deflate, br": true, "br;q=1.0, gzip;q=0.5": true, "*": true, "gzip;q=0": false, "br": false, "": false} {
		resp := servePhone(t, "GET", "/phone.js", map[string]string{"Accept-Encoding": ae})
		if resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%q: Vary %q", ae, resp.Header.Get("Vary"))
		}
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != gz {
			t.Errorf("%q: Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
			continue
		}
		if !gz {
			continue
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%q: gunzipped %d bytes (%v), want the %d of the plain answer", ae, len(b), err, len(want))
		}
		if resp.Header.Get("ETag") == plain.Header.Get("ETag") {
			t.Errorf("%q: the gzipped answer has the plain one's ETag", ae)
		}
		if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); n*4 > len(want) {
			t.Errorf("%q: %d bytes gzipped of %d", ae, n, len(want))
		}
	}
}
