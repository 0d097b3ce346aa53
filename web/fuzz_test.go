package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sipedge/sipedge/auth"
)

// FuzzTURNCredentials drives the credentials endpoint with any
// Authorization, Host, Origin and query a client can send: it never
// panics, answers one of the statuses it documents, and a 200 is JSON
// whose user name is the signed-in user's.
func FuzzTURNCredentials(f *testing.F) {
	for _, s := range [][4]string{
		{"Basic YWxpY2U6YWxpY2UtcHc=", "sip.example.com:8443", "", "service=turn"},
		{"Basic YWxpY2VAZXhhbXBsZS5jb206YWxpY2UtcHc=", "[2001:db8::1]:443", "https://sip.example.com", ""},
		{"Basic Ym9iQG90aGVyLmV4YW1wbGU6Ym9iOnB3", "sip.example.com", "null", "service=stun"},
		{"Basic !!!", "bad host:x", "https://evil.example", "service=turn&username=x"},
		{"Digest username=alice", "[fe80::1%25eth0]:443", "", "%zz"},
		{"basic YWxpY2U6", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	cfg := testConfig()
	cfg.Limits = auth.Limits{DelayAfter: -1, MaxSources: 64, MaxUsers: 64}
	h := newHandler(f, cfg)
	f.Fuzz(func(t *testing.T, authz, host, origin, query string) {
		r := httptest.NewRequest("GET", "https://sip.example.com/turn-credentials", nil)
		r.URL.RawQuery = query
		r.RemoteAddr = remote
		r.Host = host
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			var tr TURNResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
				t.Fatalf("200 that is not JSON: %v", err)
			}
			if tr.Username == "" || tr.Password == "" || len(tr.URIs) == 0 {
				t.Fatalf("200 without credentials: %s", w.Body.Bytes())
			}
			for _, u := range tr.URIs {
				if _, err := url.Parse(u); err != nil {
					t.Fatalf("URI %q: %v", u, err)
				}
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
	})
}
