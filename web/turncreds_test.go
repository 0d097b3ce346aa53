package web

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/auth"
)

// users is an auth.Users of fixed passwords.
type users map[[2]string]string // user, realm -> password

func (u users) HA1(_ context.Context, user, realm string, alg auth.Algorithm) (string, error) {
	pw, ok := u[[2]string{user, realm}]
	if !ok {
		return "", auth.ErrUnknownUser
	}
	return auth.HA1(alg, user, realm, pw), nil
}

// brokenUsers fails every look-up.
type brokenUsers struct{}

func (brokenUsers) HA1(context.Context, string, string, auth.Algorithm) (string, error) {
	return "", errors.New("database gone")
}

var testNow = time.Unix(1700000000, 0)

func testConfig() TURNConfig {
	return TURNConfig{
		Realm:   "example.com",
		Users:   users{{"alice", "example.com"}: "alice-pw", {"bob", "other.example"}: "bob:pw"},
		Secret:  []byte("sipedge-test-secret"),
		UDPPort: 3478, TCPPort: 3478, TLSPort: 5349,
		Limits: auth.Limits{DelayAfter: -1},
		Now:    func() time.Time { return testNow },
	}
}

func newHandler(t testing.TB, cfg TURNConfig) http.Handler {
	t.Helper()
	tc, err := NewTURNCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{TURN: tc})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// req makes a request from remote ("192.0.2.7:4000"), over TLS when tls is
// set, with Basic credentials when user is not "".
func req(method, target, remote string, overTLS bool, user, password string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	r.Host = "sip.example.com:8443"
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	} else {
		r.TLS = nil
	}
	if user != "" {
		r.SetBasicAuth(user, password)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const remote = "192.0.2.7:4000"

func TestCredentials(t *testing.T) {
	h := newHandler(t, testConfig())
	for _, target := range []string{"/turn-credentials", "/turn-credentials?service=turn", "/turn-credentials?service=turn&username=ignored"} {
		w := serve(h, req("GET", target, remote, true, "alice", "alice-pw"))
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body)
		}
		if ct, cc := w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
			t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
		}
		// The exact shape: draft-uberti-behave-turn-rest-00's keys, then
		// iceServers.
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"iceServers", "password", "ttl", "uris", "username"}) {
			t.Errorf("keys %v", keys)
		}
		var resp TURNResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		wantURIs := []string{"turn:sip.example.com:3478?transport=udp", "turn:sip.example.com:3478?transport=tcp", "turns:sip.example.com:5349?transport=tcp"}
		// 1700000000 + 86400; the password as Python computes it:
		// base64.b64encode(hmac.new(b'sipedge-test-secret', b'1700086400:alice', hashlib.sha1).digest())
		want := TURNResponse{Username: "1700086400:alice", Password: "7YliWH5o+9TJvUC9P75ieCd7aIA=", TTL: 86400, URIs: wantURIs,
			ICEServers: []ICEServer{{URLs: wantURIs, Username: "1700086400:alice", Credential: "7YliWH5o+9TJvUC9P75ieCd7aIA="}}}
		if !jsonEqual(t, resp, want) {
			t.Errorf("got  %+v\nwant %+v", resp, want)
		}
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestRESTPasswordKnownAnswer checks the HMAC against values made outside
// Go: a constant from Python's hmac module and, when it is installed,
// openssl itself.
func TestRESTPasswordKnownAnswer(t *testing.T) {
	resp := MakeTURNResponse([]byte("sipedge-test-secret"), "alice", time.Unix(1700000000-3600, 0), time.Hour, nil)
	// python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'sipedge-test-secret',b'1700000000:alice',hashlib.sha1).digest()).decode())"
	if resp.Username != "1700000000:alice" || resp.Password != "tEfYoofseYr2S6iwRfjHNeK6ikI=" || resp.TTL != 3600 {
		t.Fatalf("%+v", resp)
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed; checked against the constant only")
	}
	cmd := exec.Command(openssl, "dgst", "-sha1", "-hmac", "sipedge-test-secret", "-binary")
	cmd.Stdin = strings.NewReader(resp.Username)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString(out); got != resp.Password {
		t.Errorf("openssl says %s, we say %s", got, resp.Password)
	}
}

func TestAnswers(t *testing.T) {
	cfg := testConfig()
	cfg.RealmOf = func(d string) (string, bool) { return d, d == "other.example" }
	h := newHandler(t, cfg)
	for _, tt := range []struct {
		name string
		r    *http.Request
		code int
		user string // the REST user on 200
	}{
		{"tls", req("GET", "/turn-credentials", remote, true, "alice", "alice-pw"), 200, "alice"},
		{"head", req("HEAD", "/turn-credentials", remote, true, "alice", "alice-pw"), 200, ""},
		{"user@realm", req("GET", "/turn-credentials", remote, true, "alice@EXAMPLE.com", "alice-pw"), 200, "alice"},
		{"user@other domain", req("GET", "/turn-credentials", remote, true, "bob@Other.Example", "bob:pw"), 200, "bob@other.example"},
		{"bare user of the other domain", req("GET", "/turn-credentials", remote, true, "bob", "bob:pw"), 401, ""},
		{"unknown domain", req("GET", "/turn-credentials", remote, true, "alice@nowhere.example", "alice-pw"), 401, ""},
		{"two @", req("GET", "/turn-credentials", remote, true, "bob@x@other.example", "bob:pw"), 401, ""},
		{"loopback v4", req("GET", "/turn-credentials", "127.0.0.1:5000", false, "alice", "alice-pw"), 200, "alice"},
		{"loopback v6", req("GET", "/turn-credentials", "[::1]:5000", false, "alice", "alice-pw"), 200, "alice"},
		{"mapped loopback", req("GET", "/turn-credentials", "[::ffff:127.0.0.1]:5000", false, "alice", "alice-pw"), 200, "alice"},
		{"plain http", req("GET", "/turn-credentials", remote, false, "alice", "alice-pw"), 403, ""},
		{"plain http no auth", req("GET", "/turn-credentials", remote, false, "", ""), 403, ""},
		{"wrong password", req("GET", "/turn-credentials", remote, true, "alice", "wrong"), 401, ""},
		{"unknown user", req("GET", "/turn-credentials", remote, true, "mallory", "alice-pw"), 401, ""},
		{"no auth", req("GET", "/turn-credentials", remote, true, "", ""), 401, ""},
		{"post", req("POST", "/turn-credentials", remote, true, "alice", "alice-pw"), 405, ""},
		{"delete", req("DELETE", "/turn-credentials", remote, true, "alice", "alice-pw"), 405, ""},
		{"unknown path", req("GET", "/turn-credential", remote, true, "alice", "alice-pw"), 404, ""},
		{"sub path", req("GET", "/turn-credentials/x", remote, true, "alice", "alice-pw"), 404, ""},
		{"root", req("GET", "/", remote, true, "alice", "alice-pw"), 404, ""},
		{"other service", req("GET", "/turn-credentials?service=stun", remote, true, "alice", "alice-pw"), 400, ""},
		{"two services", req("GET", "/turn-credentials?service=turn&service=turn", remote, true, "alice", "alice-pw"), 400, ""},
	} {
		w := serve(h, tt.r)
		if w.Code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, w.Code, strings.TrimSpace(w.Body.String()), tt.code)
			continue
		}
		switch tt.code {
		case 200:
			if tt.user == "" {
				break
			}
			var resp TURNResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Username != "1700086400:"+tt.user {
				t.Errorf("%s: %q %v", tt.name, resp.Username, err)
			}
		case 401:
			if got := w.Header().Get("WWW-Authenticate"); got != `Basic realm="example.com", charset="UTF-8"` {
				t.Errorf("%s: WWW-Authenticate %q", tt.name, got)
			}
		case 403:
			if !strings.Contains(w.Body.String(), "only given over HTTPS") || w.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("%s: %q %v", tt.name, w.Body, w.Header())
			}
		case 405:
			if got := w.Header().Get("Allow"); got != "GET, HEAD, OPTIONS" {
				t.Errorf("%s: Allow %q", tt.name, got)
			}
		}
		if tt.code != 404 && w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.name, w.Header().Get("Cache-Control"))
		}
	}
}

func TestBasicParsing(t *testing.T) {
	h := newHandler(t, testConfig())
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct {
		header string
		code   int
	}{
		{"Basic " + b64("alice:alice-pw"), 200},
		{"basic " + b64("alice:alice-pw"), 200},                   // the scheme is case-insensitive (RFC 7617)
		{"BASIC " + b64("alice:alice-pw"), 200},                   //
		{"Basic " + b64("alice:alice-pw:"), 401},                  // the password is all after the first colon
		{"Basic " + b64("alice:"), 401},                           // empty password
		{"Basic " + b64(":alice-pw"), 401},                        // empty user
		{"Basic " + b64("alice"), 401},                            // no colon
		{"Basic " + b64("alice:alice-pw")[:10], 401},              // truncated base64
		{"Basic !!!!", 401},                                       // not base64
		{"Basic", 401},                                            //
		{"Bearer abc", 401},                                       // another scheme
		{"Digest username=\"alice\"", 401},                        //
		{"Basic " + b64("alice:"+strings.Repeat("x", 2000)), 401}, // a password too long to look at
		{"Basic " + b64(strings.Repeat("a", 300)+":x"), 401},      // a user name too long
	} {
		r := req("GET", "/turn-credentials", remote, true, "", "")
		r.Header.Set("Authorization", tt.header)
		if w := serve(h, r); w.Code != tt.code {
			t.Errorf("%.40q: %d, want %d", tt.header, w.Code, tt.code)
		}
	}
	// Passwords with colons and non-ASCII pass whole.
	cfg := testConfig()
	cfg.Users = users{{"zoë", "example.com"}: "a:b:çé"}
	h = newHandler(t, cfg)
	if w := serve(h, req("GET", "/turn-credentials", remote, true, "zoë", "a:b:çé")); w.Code != 200 {
		t.Errorf("UTF-8: %d %s", w.Code, w.Body)
	}
}

func TestLockout(t *testing.T) {
	cfg := testConfig()
	cfg.Limits = auth.Limits{DelayAfter: -1, UserLockAfter: 3, SourceLockAfter: 5, Lockout: time.Minute}
	now := testNow
	cfg.Now = func() time.Time { return now }
	h := newHandler(t, cfg)
	get := func(remote, user, pw string) int {
		return serve(h, req("GET", "/turn-credentials", remote, true, user, pw)).Code
	}
	// Three wrong passwords for alice from three places lock alice out:
	// then even the right one gets 429, from anywhere.
	for i, src := range []string{"192.0.2.1:1", "192.0.2.2:1", "192.0.2.3:1"} {
		if c := get(src, "alice", "guess"); c != 401 {
			t.Fatalf("guess %d: %d", i, c)
		}
	}
	if c := get("198.51.100.1:1", "alice", "alice-pw"); c != 429 {
		t.Fatalf("locked user: %d", c)
	}
	// One IPv6 /64 is one source: five failures across it lock all of it
	// out, for every user (each guess here is for another); another /64 is
	// not.
	for i := range 5 {
		if c := get("[2001:db8:0:1::"+string(rune('a'+i))+"]:1", "user"+string(rune('a'+i)), "guess"); c != 401 {
			t.Fatalf("v6 guess %d: %d", i, c)
		}
	}
	if c := get("[2001:db8:0:1:ffff::1]:1", "carol", "x"); c != 429 {
		t.Fatalf("locked /64: %d", c)
	}
	if c := get("[2001:db8:0:2::1]:1", "carol", "x"); c != 401 {
		t.Fatalf("another /64: %d", c)
	}
	// The lockout ends.
	now = now.Add(2 * time.Minute)
	if c := get("198.51.100.1:1", "alice", "alice-pw"); c != 200 {
		t.Fatalf("after the lockout: %d", c)
	}
}

// TestDelay: past DelayAfter failures the answer waits; a client that
// goes away ends the wait.
func TestDelay(t *testing.T) {
	cfg := testConfig()
	cfg.Limits = auth.Limits{DelayAfter: 1, Delay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	h := newHandler(t, cfg)
	serve(h, req("GET", "/turn-credentials", remote, true, "alice", "guess"))
	start := time.Now()
	if c := serve(h, req("GET", "/turn-credentials", remote, true, "alice", "guess")).Code; c != 401 {
		t.Fatal(c)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered after %v", d)
	}
	r := req("GET", "/turn-credentials", remote, true, "alice", "guess")
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	start = time.Now()
	serve(h, r.WithContext(ctx))
	if d := time.Since(start); d > 40*time.Millisecond {
		t.Errorf("a gone client still waited %v", d)
	}
}

func TestCORS(t *testing.T) {
	cfg := testConfig()
	cfg.Origins = []string{"https://phone.example.com"}
	h := newHandler(t, cfg)
	withOrigin := func(method, origin string) *httptest.ResponseRecorder {
		r := req(method, "/turn-credentials", remote, true, "alice", "alice-pw")
		r.Header.Set("Origin", origin)
		if method == "OPTIONS" {
			r.Header.Del("Authorization")
			r.Header.Set("Access-Control-Request-Method", "GET")
			r.Header.Set("Access-Control-Request-Headers", "authorization")
		}
		return serve(h, r)
	}
	w := withOrigin("GET", "https://phone.example.com")
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://phone.example.com" || w.Header().Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %d %v", w.Code, w.Header())
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("Allow-Credentials sent")
	}
	if w := withOrigin("GET", "https://evil.example"); w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: %d %v", w.Code, w.Header())
	}
	if w := withOrigin("GET", "https://sip.example.com:8443"); w.Code != 200 {
		t.Errorf("same origin: %d", w.Code)
	}
	w = withOrigin("OPTIONS", "https://phone.example.com")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Headers") != "Authorization" || w.Header().Get("Access-Control-Allow-Methods") != "GET" ||
		w.Header().Get("Access-Control-Allow-Origin") != "https://phone.example.com" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	if w := withOrigin("OPTIONS", "https://evil.example"); w.Code != 403 {
		t.Errorf("preflight from another origin: %d", w.Code)
	}
	// Without Origins, any origin may read (no cookies are involved).
	h = newHandler(t, testConfig())
	r := req("GET", "/turn-credentials", remote, true, "alice", "alice-pw")
	r.Header.Set("Origin", "https://anywhere.example")
	if w := serve(h, r); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://anywhere.example" {
		t.Errorf("no Origins: %d %v", w.Code, w.Header())
	}
}

func TestURIs(t *testing.T) {
	for host, want := range map[string]string{
		"sip.example.com":     "turn:sip.example.com:3478?transport=udp",
		"SIP.Example.COM:443": "turn:sip.example.com:3478?transport=udp",
		"192.0.2.1:8443":      "turn:192.0.2.1:3478?transport=udp",
		"[2001:db8::1]:8443":  "turn:[2001:db8::1]:3478?transport=udp",
		"[2001:db8::1]":       "turn:[2001:db8::1]:3478?transport=udp",
		"bad_host":            "",
		"a.example/x":         "",
		"[fe80::1%eth0]:443":  "",
	} {
		h := newHandler(t, testConfig())
		r := req("GET", "/turn-credentials", remote, true, "alice", "alice-pw")
		r.Host = host
		w := serve(h, r)
		if want == "" {
			if w.Code != 400 {
				t.Errorf("%s: %d", host, w.Code)
			}
			continue
		}
		var resp TURNResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp.URIs) != 3 || resp.URIs[0] != want {
			t.Errorf("%s: %q %v", host, resp.URIs, err)
		}
	}
	// Configured URIs go out as they are; ports 0 are left out.
	cfg := testConfig()
	cfg.URIs = []string{"turns:turn.example.net:443?transport=tcp"}
	if w := serve(newHandler(t, cfg), req("GET", "/turn-credentials", remote, true, "alice", "alice-pw")); !strings.Contains(w.Body.String(), `"uris":["turns:turn.example.net:443?transport=tcp"]`) {
		t.Errorf("%s", w.Body)
	}
	if got := URIsFor("2001:db8::2", 3478, 0, 0); !slices.Equal(got, []string{"turn:[2001:db8::2]:3478?transport=udp"}) {
		t.Errorf("%q", got)
	}
}

func TestUsersUnavailable(t *testing.T) {
	cfg := testConfig()
	cfg.Users = brokenUsers{}
	if w := serve(newHandler(t, cfg), req("GET", "/turn-credentials", remote, true, "alice", "alice-pw")); w.Code != 503 {
		t.Errorf("%d", w.Code)
	}
}

func TestClientAddr(t *testing.T) {
	// Failures count under ClientAddr's answer (a trusted proxy's
	// client), while plain HTTP is judged by the peer itself.
	cfg := testConfig()
	cfg.Limits = auth.Limits{DelayAfter: -1, SourceLockAfter: 2}
	cfg.ClientAddr = func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Test-Client")) }
	h := newHandler(t, cfg)
	get := func(client, user, pw string) int {
		r := req("GET", "/turn-credentials", "127.0.0.1:9", false, user, pw)
		r.Header.Set("X-Test-Client", client)
		return serve(h, r).Code
	}
	get("203.0.113.1", "x", "y")
	get("203.0.113.1", "x", "y")
	if c := get("203.0.113.1", "alice", "alice-pw"); c != 429 {
		t.Errorf("locked client: %d", c)
	}
	if c := get("203.0.113.2", "alice", "alice-pw"); c != 200 {
		t.Errorf("another client behind the same proxy: %d", c)
	}
}

func TestNewErrors(t *testing.T) {
	for name, mod := range map[string]func(*TURNConfig){
		"realm":    func(c *TURNConfig) { c.Realm = "" },
		"users":    func(c *TURNConfig) { c.Users = nil },
		"secret":   func(c *TURNConfig) { c.Secret = nil },
		"ports":    func(c *TURNConfig) { c.UDPPort, c.TCPPort, c.TLSPort = 0, 0, 0 },
		"lifetime": func(c *TURNConfig) { c.Lifetime = time.Millisecond },
		"negative": func(c *TURNConfig) { c.Lifetime = -time.Second },
	} {
		cfg := testConfig()
		mod(&cfg)
		if _, err := NewTURNCredentials(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without handlers")
	}
}

// BenchmarkTURNCredentials is one signed-in request: Basic, the HA1 check,
// the HMAC and the JSON.
func BenchmarkTURNCredentials(b *testing.B) {
	tc, err := NewTURNCredentials(testConfig())
	if err != nil {
		b.Fatal(err)
	}
	r := req("GET", "/turn-credentials", remote, true, "alice", "alice-pw")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		tc.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
