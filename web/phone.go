package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// assets are the built pages: webphone/build.mjs writes them from
// webphone/src (`make webphone`), and they are committed, so that
// `go build` needs no node; TestAssetsUpToDate checks that they are what
// the source builds.
//
//go:embed assets
var assets embed.FS

// PhonePath is where the web phone is served.
const PhonePath = "/"

// phoneFiles are the web phone's URL paths and the files of assets they
// serve, the shared chunks included (withChunks); every other path is 404.
var phoneFiles = withChunks(map[string]string{
	"/":                         "index.html",
	"/index.html":               "index.html",
	"/phone.js":                 "phone.js",
	"/phone.css":                "phone.css",
	"/third-party-licenses.txt": "third-party-licenses.txt",
})

// chunkPattern matches the shared chunks of the pages' scripts in assets:
// webphone/build.mjs builds the scripts as ES modules with code
// splitting, so that what both import (JsSIP) is in one chunk-<hash>.js
// (esbuild's hash of its content), which phone.js and selftest.js import
// by relative path.
const chunkPattern = "chunk-*.js"

// withChunks returns paths (URL path -> file name) with every shared chunk
// of assets added at /<its name>, beside the pages' scripts: the chunks a
// build emits are served without naming them here.
func withChunks(paths map[string]string) map[string]string {
	out := maps.Clone(paths)
	names, err := fs.Glob(assets, path.Join("assets", chunkPattern))
	if err != nil {
		panic(err) // only a bad pattern, which chunkPattern is not
	}
	for _, n := range names {
		out["/"+path.Base(n)] = path.Base(n)
	}
	return out
}

// PageCSP is the Content-Security-Policy of the pages: their own scripts
// and styles only, WebSockets to the page's own origin ('self' covers ws:
// and wss: of the same host and port), media from the page's streams, and
// no framing (no clickjacking of the Answer button).
const PageCSP = "default-src 'self'; connect-src 'self'; media-src 'self' blob:; img-src 'self' data:; " +
	"style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the types of the files of assets, fixed here rather
// than taken from the system's MIME tables, which differ between hosts.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one file of assets, read once.
type asset struct {
	body  []byte
	ctype string
	etag  string
	// gz is body gzipped, served to browsers that accept it (the script
	// shrinks to a fifth), with gzETag; nil when it saves little.
	gz     []byte
	gzETag string
}

// pageHandler serves a fixed set of files of assets.
type pageHandler struct {
	files map[string]asset // by URL path
}

// NewPhone returns the handler of the web phone: the page at PhonePath
// and its script (with the shared chunks it imports), style and licenses,
// GET and HEAD only, with PageCSP and the other headers of pageHeaders.
func NewPhone() (http.Handler, error) {
	return newPages(phoneFiles)
}

// newPages reads the files of assets that paths (URL path -> file name)
// name, so that a missing one fails at start rather than as a 404.
func newPages(paths map[string]string) (*pageHandler, error) {
	h := &pageHandler{files: make(map[string]asset, len(paths))}
	for p, name := range paths {
		a, err := loadAsset(name)
		if err != nil {
			return nil, fmt.Errorf("web: page %s: %w", p, err)
		}
		h.files[p] = a
	}
	return h, nil
}

// loaded are the files of assets read (and gzipped) so far, by name: a
// file that several paths or both pages serve (index.html at / and
// /index.html, the shared chunks) is read and compressed once.
var loaded struct {
	sync.Mutex
	m map[string]asset
}

// loadAsset reads the file name of assets, once.
func loadAsset(name string) (asset, error) {
	loaded.Lock()
	defer loaded.Unlock()
	if a, ok := loaded.m[name]; ok {
		return a, nil
	}
	b, err := fs.ReadFile(assets, path.Join("assets", name))
	if err != nil {
		return asset{}, err
	}
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		return asset{}, fmt.Errorf("no content type for %s", name)
	}
	a := asset{body: b, ctype: ctype, etag: etag(b)}
	if gz, err := gzipped(b); err != nil {
		return asset{}, err
	} else if len(gz) < len(b)*9/10 {
		a.gz, a.gzETag = gz, etag(gz)
	}
	if loaded.m == nil {
		loaded.m = make(map[string]asset)
	}
	loaded.m[name] = a
	return a, nil
}

// etag is a strong ETag of b: a hash of its bytes.
func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// gzipped compresses b once, at start, at the best level.
func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (or *) with a weight above zero.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if c := strings.ToLower(strings.TrimSpace(coding)); c != "gzip" && c != "*" {
				continue
			}
			k, w, ok := strings.Cut(params, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				return true
			}
			if q, err := strconv.ParseFloat(strings.TrimSpace(w), 64); err == nil && q > 0 {
				return true
			}
		}
	}
	return false
}

// pageHeaders sets the security headers of every answer of the pages,
// errors included.
func pageHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", PageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// ServeHTTP answers GET and HEAD of the known paths; 404 for others, 405
// for other methods. The pages and their scripts carry no version in
// their names (only the shared chunks do), so the browser revalidates
// each time (no-cache) and gets 304 while the ETag (a hash of the
// content) holds.
func (h *pageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	pageHeaders(hd)
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "no-cache")
	body, tag := a.body, a.etag
	if a.gz != nil {
		hd.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, tag = a.gz, a.gzETag
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", tag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
