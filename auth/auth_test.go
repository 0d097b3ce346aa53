package auth

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// memUsers is an in-memory Users: user@realm -> password.
type memUsers struct {
	mu    sync.Mutex
	pw    map[string]string
	err   error
	calls int
}

func (m *memUsers) HA1(_ context.Context, user, realm string, alg Algorithm) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.err != nil {
		return "", m.err
	}
	pw, ok := m.pw[user+"@"+realm]
	if !ok {
		return "", ErrUnknownUser
	}
	return HA1(alg, user, realm, pw), nil
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRFC7616Examples(t *testing.T) {
	// RFC 7616 §3.9.1 (password "Circle of Life", erratum 4495).
	const (
		user   = "Mufasa"
		realm  = "http-auth@example.org"
		nonce  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
		uri    = "/dir/index.html"
	)
	for _, tc := range []struct {
		alg  Algorithm
		want string
	}{
		{MD5, "8ca523f5e9506fed4657c9700eebdbec"},
		{SHA256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		ha1 := HA1(tc.alg, user, realm, "Circle of Life")
		got := hex.EncodeToString(digestResponse(nil, tc.alg, ha1, nonce, "00000001", cnonce, "auth", "GET", uri))
		if got != tc.want {
			t.Errorf("%v: response %s, want %s", tc.alg, got, tc.want)
		}
	}
	// RFC 2617 §3.5's HA1 ("Circle Of Life", realm testrealm@host.com).
	if got := HA1(MD5, "Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("RFC 2617 HA1 = %s", got)
	}
}

func TestAlgorithmNames(t *testing.T) {
	for _, a := range []Algorithm{MD5, SHA256, MD5Sess, SHA256Sess} {
		b, ok := ParseAlgorithm(strings.ToLower(a.String()))
		if !ok || b != a {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", a.String(), b, ok)
		}
	}
	if _, ok := ParseAlgorithm("SHA-512-256"); ok {
		t.Error("SHA-512-256 parsed")
	}
	if MD5Sess.Base() != MD5 || SHA256Sess.Base() != SHA256 || !SHA256Sess.Sess() || SHA256.Sess() {
		t.Error("Base/Sess wrong")
	}
}

// fixture is an Authenticator with a fake clock and one user.
type fixture struct {
	t     testing.TB
	a     *Authenticator
	clk   *clock
	users *memUsers
	src   netip.Addr
}

const (
	testRealm = "example.com"
	testUser  = "alice"
	testPass  = "secret word"
)

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	users := &memUsers{pw: map[string]string{testUser + "@" + testRealm: testPass, "bob@" + testRealm: "bobpw"}}
	cfg := Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, users)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, a: a, clk: clk, users: users, src: netip.MustParseAddr("192.0.2.10")}
}

func mustParse(t testing.TB, s string) *sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, s)
	}
	return m
}

func register(t testing.TB, user string) *sip.Message {
	return mustParse(t, fmt.Sprintf(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: <sip:%[1]s@example.com>
From: <sip:%[1]s@example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 1 REGISTER
Contact: <sip:%[1]s@192.0.2.10>
Content-Length: 0

`, user))
}

func invite(t testing.TB, from string) *sip.Message {
	return mustParse(t, fmt.Sprintf(`INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: <sip:bob@example.com>
From: <sip:%s>;tag=1928301774
Call-ID: a84b4c76e66711
CSeq: 1 INVITE
Content-Length: 0

`, from))
}

// challengeFor returns the challenge of resp for alg.
func challengeFor(t testing.TB, resp *sip.Message, alg Algorithm) sip.Auth {
	t.Helper()
	h := sip.HeaderWWWAuthenticate
	if resp.StatusCode == 407 {
		h = sip.HeaderProxyAuthenticate
	}
	for a, err := range resp.Auths(h) {
		if err != nil {
			t.Fatal(err)
		}
		name, _ := a.Param("algorithm")
		if got, _ := ParseAlgorithm(name); got == alg {
			return a
		}
	}
	t.Fatalf("no %v challenge in\n%s", alg, resp)
	return sip.Auth{}
}

// answer is what a UA does (RFC 7616 §3.4): it returns the credentials
// value for chal.
type answer struct {
	user, pass, uri, nc, cnonce, method string
	alg                                 string // "" omits the parameter
	realm                               string // "" takes the challenge's
	nonce                               string // "" takes the challenge's
	qop                                 string // "-" omits it
}

func (an answer) value(chal sip.Auth) string {
	realm, _ := chal.Param("realm")
	if an.realm != "" {
		realm = an.realm
	}
	nonce, _ := chal.Param("nonce")
	if an.nonce != "" {
		nonce = an.nonce
	}
	algName := an.alg
	if algName == "" {
		algName, _ = chal.Param("algorithm")
	}
	alg, _ := ParseAlgorithm(algName)
	if an.alg == "-" {
		alg = MD5
	}
	if an.nc == "" {
		an.nc = "00000001"
	}
	if an.cnonce == "" {
		an.cnonce = "0a4f113b"
	}
	ha1 := HA1(alg, an.user, realm, an.pass)
	resp := hex.EncodeToString(digestResponse(nil, alg, ha1, nonce, an.nc, an.cnonce, "auth", an.method, an.uri))
	v := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", cnonce="%s"`,
		an.user, realm, nonce, an.uri, resp, an.cnonce)
	if an.alg != "-" {
		v += ", algorithm=" + alg.String()
	}
	if an.qop != "-" {
		v += ", qop=auth, nc=" + an.nc
	}
	return v
}

// authorize returns req with credentials answering chal.
func authorize(t testing.TB, req *sip.Message, hdr, value string) *sip.Message {
	t.Helper()
	m := req.Clone()
	m.Del(hdr)
	if err := m.Add(hdr, value); err != nil {
		t.Fatal(err)
	}
	// Re-parse so that the message is as a transport hands it over.
	return mustParse(t, strings.ReplaceAll(string(m.AppendTo(nil)), "\r\n", "\n"))
}

// roundTrip challenges req and answers with an.
func (f *fixture) roundTrip(req *sip.Message, proxy bool, alg Algorithm, an answer) (Result, *sip.Message) {
	f.t.Helper()
	resp := f.a.Challenge(req, testRealm, proxy, false)
	hdr := "Authorization"
	if proxy {
		hdr = "Proxy-Authorization"
	}
	if an.method == "" {
		an.method = req.Method
	}
	if an.uri == "" {
		an.uri = req.RequestURI.String()
	}
	next := authorize(f.t, req, hdr, an.value(challengeFor(f.t, resp, alg)))
	return f.a.Check(context.Background(), next, testRealm, proxy, f.src), next
}

func TestChallenge(t *testing.T) {
	f := newFixture(t, nil)
	req := register(t, testUser)
	resp := f.a.Challenge(req, testRealm, false, false)
	if resp.StatusCode != 401 || resp.ToTag() == "" {
		t.Fatalf("status %d, To tag %q", resp.StatusCode, resp.ToTag())
	}
	var algs []string
	nonces := map[string]bool{}
	for a, err := range resp.Auths(sip.HeaderWWWAuthenticate) {
		if err != nil {
			t.Fatal(err)
		}
		alg, _ := a.Param("algorithm")
		algs = append(algs, alg)
		if q, _ := a.Param("qop"); q != "auth" {
			t.Errorf("qop %q", q)
		}
		if r, _ := a.Param("realm"); r != testRealm {
			t.Errorf("realm %q", r)
		}
		if _, ok := a.Param("stale"); ok {
			t.Error("stale without asking")
		}
		n, _ := a.Param("nonce")
		if len(n) != nonceLen || nonces[n] {
			t.Errorf("nonce %q", n)
		}
		nonces[n] = true
	}
	if strings.Join(algs, ",") != "SHA-256,MD5" {
		t.Errorf("algorithms %v, want SHA-256 then MD5", algs)
	}
	pr := f.a.Challenge(invite(t, "alice@example.com"), testRealm, true, true)
	if pr.StatusCode != 407 {
		t.Fatalf("status %d", pr.StatusCode)
	}
	for a := range pr.Auths(sip.HeaderProxyAuthenticate) {
		if s, _ := a.Param("stale"); s != "true" {
			t.Error("no stale=true")
		}
	}
	if _, ok := pr.Get("WWW-Authenticate"); ok {
		t.Error("407 with WWW-Authenticate")
	}
	if f.a.Stats().Challenges != 2 {
		t.Errorf("stats %+v", f.a.Stats())
	}
}

func TestRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{SHA256, MD5, SHA256Sess, MD5Sess} {
		for _, proxy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/proxy=%v", alg, proxy), func(t *testing.T) {
				f := newFixture(t, func(c *Config) { c.Algorithms = []Algorithm{SHA256, MD5, SHA256Sess, MD5Sess} })
				req := register(t, testUser)
				if proxy {
					req = invite(t, "alice@example.com")
				}
				res, _ := f.roundTrip(req, proxy, alg, answer{user: testUser, pass: testPass})
				if res.Outcome != OK || res.User != testUser || res.Realm != testRealm || res.Algorithm != alg {
					t.Fatalf("result %+v", res)
				}
			})
		}
	}
}

func TestMissing(t *testing.T) {
	f := newFixture(t, nil)
	req := register(t, testUser)
	if res := f.a.Check(context.Background(), req, testRealm, false, f.src); res.Outcome != Missing {
		t.Fatalf("no credentials: %+v", res)
	}
	// Credentials for another realm (another proxy's) are not ours.
	res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass, realm: "other.org"})
	if res.Outcome != Missing {
		t.Fatalf("other realm: %+v", res)
	}
	// Authorization does not answer a 407.
	resp := f.a.Challenge(req, testRealm, true, false)
	next := authorize(t, req, "Authorization", answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com"}.value(challengeFor(t, resp, MD5)))
	if res := f.a.Check(context.Background(), next, testRealm, true, f.src); res.Outcome != Missing {
		t.Fatalf("wrong header: %+v", res)
	}
	if f.users.calls != 0 {
		t.Errorf("Users asked %d times", f.users.calls)
	}
}

func TestStale(t *testing.T) {
	f := newFixture(t, nil)
	req := register(t, testUser)
	resp := f.a.Challenge(req, testRealm, false, false)
	chal := challengeFor(t, resp, SHA256)
	f.clk.Add(DefaultNonceLifetime + time.Second)
	an := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com"}
	res := f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(chal)), testRealm, false, f.src)
	if res.Outcome != Stale {
		t.Fatalf("expired nonce: %+v", res)
	}
	// An expired nonce with a wrong password is a failure, not stale
	// (RFC 7616 §3.3).
	an.pass = "wrong"
	res = f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(chal)), testRealm, false, f.src)
	if res.Outcome != Failed {
		t.Fatalf("expired nonce, wrong password: %+v", res)
	}
	// Within the lifetime is fine.
	f2 := newFixture(t, nil)
	resp = f2.a.Challenge(req, testRealm, false, false)
	f2.clk.Add(DefaultNonceLifetime - time.Second)
	an.pass = testPass
	res = f2.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(challengeFor(t, resp, SHA256))), testRealm, false, f2.src)
	if res.Outcome != OK {
		t.Fatalf("fresh nonce: %+v", res)
	}
	if s := f.a.Stats(); s.Stale != 1 || s.Failures != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestTamperedNonce(t *testing.T) {
	f := newFixture(t, nil)
	req := register(t, testUser)
	resp := f.a.Challenge(req, testRealm, false, false)
	chal := challengeFor(t, resp, SHA256)
	n, _ := chal.Param("nonce")
	b := []byte(n)
	b[5] ^= 1 // still base64url
	if b[5] == '_' || b[5] == '-' {
		b[5] = 'A'
	}
	for _, bad := range []string{string(b), "short", strings.Repeat("A", nonceLen), n + "A"} {
		// A UA with the right password that answers a forged nonce: the
		// nonce is not ours but the digest is right, so stale.
		an := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", nonce: bad}
		res := f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(chal)), testRealm, false, f.src)
		if res.Outcome != Stale {
			t.Errorf("nonce %q, right password: %+v", bad, res)
		}
		an.pass = "guess"
		res = f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(chal)), testRealm, false, f.src)
		if res.Outcome != Failed {
			t.Errorf("nonce %q, wrong password: %+v", bad, res)
		}
	}
	// A nonce of another realm, or another secret.
	other := newFixture(t, func(c *Config) { c.Secret = []byte("another secret, 16 bytes or more") })
	for _, src := range []*sip.Message{
		f.a.Challenge(req, "other.example", false, false),
		other.a.Challenge(req, testRealm, false, false),
	} {
		c := challengeFor(t, src, SHA256)
		n, _ := c.Param("nonce")
		an := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", nonce: n}
		res := f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(chal)), testRealm, false, f.src)
		if res.Outcome != Stale {
			t.Errorf("foreign nonce: %+v", res)
		}
	}
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	f := newFixture(t, nil)
	res, _ := f.roundTrip(register(t, testUser), false, SHA256, answer{user: testUser, pass: "wrong"})
	if res.Outcome != Failed || res.Reason != ReasonResponse {
		t.Fatalf("wrong password: %+v", res)
	}
	res, _ = f.roundTrip(register(t, "mallory"), false, MD5, answer{user: "mallory", pass: "x"})
	if res.Outcome != Failed || res.Reason != ReasonUnknownUser {
		t.Fatalf("unknown user: %+v", res)
	}
	if s := f.a.Stats(); s.Failures != 2 || s.Successes != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestUnavailable(t *testing.T) {
	f := newFixture(t, nil)
	f.users.err = errors.New("database down")
	res, _ := f.roundTrip(register(t, testUser), false, SHA256, answer{user: testUser, pass: testPass})
	if res.Outcome != Unavailable || res.Err == nil {
		t.Fatalf("%+v", res)
	}
	if s := f.a.Stats(); s.Failures != 0 {
		t.Errorf("a store failure counted against the client: %+v", s)
	}
}

func TestNonceCount(t *testing.T) {
	f := newFixture(t, nil)
	req := invite(t, "alice@example.com")
	resp := f.a.Challenge(req, testRealm, true, false)
	chal := challengeFor(t, resp, SHA256)
	check := func(nc string) Result {
		an := answer{user: testUser, pass: testPass, method: "INVITE", uri: "sip:bob@example.com", nc: nc, cnonce: "c" + nc}
		return f.a.Check(context.Background(), authorize(t, req, "Proxy-Authorization", an.value(chal)), testRealm, true, f.src)
	}
	for _, step := range []struct {
		nc   string
		want Outcome
	}{
		{"00000001", OK},
		{"00000001", Refused}, // replay
		{"00000002", OK},
		{"00000005", OK},
		{"00000004", OK},      // out of order, unused, within the window
		{"00000004", Refused}, // replay
		{"00000002", Refused},
		{"00000100", OK},
		{"00000006", Refused}, // below the window
		{"000000ff", OK},
		{"00000000", Refused}, // malformed
	} {
		res := check(step.nc)
		if res.Outcome != step.want {
			t.Fatalf("nc %s: %+v, want %v", step.nc, res, step.want)
		}
		if res.Outcome == Refused && step.nc != "00000000" && res.Reason != ReasonReplay {
			t.Fatalf("nc %s: reason %v", step.nc, res.Reason)
		}
	}
	if s := f.a.Stats(); s.Replays != 4 || s.Successes != 6 || s.Failures != 5 {
		t.Errorf("stats %+v", s)
	}
}

func TestURI(t *testing.T) {
	f := newFixture(t, nil)
	req := register(t, testUser)
	for _, tc := range []struct {
		uri  string
		want Outcome
	}{
		{"sip:example.com", OK},
		{"sip:EXAMPLE.com", OK}, // equal SIP URIs (§19.1.4)
		{"sip:example.org", Refused},
		{"sip:example.com:5070", Refused},
		{"sip:alice@example.com", Refused},
		{"not a uri", Refused},
	} {
		res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass, uri: tc.uri})
		if res.Outcome != tc.want || tc.want == Refused && res.Reason != ReasonURI {
			t.Errorf("uri %q: %+v", tc.uri, res)
		}
	}
}

func TestAlgorithmNotOffered(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Algorithms = []Algorithm{SHA256} })
	req := register(t, testUser)
	resp := f.a.Challenge(req, testRealm, false, false)
	if n := len(resp.Fields()); n == 0 {
		t.Fatal("no fields")
	}
	chal := challengeFor(t, resp, SHA256)
	for _, alg := range []string{"MD5", "-", "SHA-256-sess", "SHA-512-256"} {
		an := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", alg: alg}
		res := f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(chal)), testRealm, false, f.src)
		want := Failed
		if alg == "SHA-512-256" {
			want = Refused // unknown: malformed
		}
		if res.Outcome != want {
			t.Errorf("algorithm %s: %+v", alg, res)
		}
	}
	// An offered algorithm, but the nonce was minted for another one: the
	// response is right, the nonce is not for it: stale.
	f2 := newFixture(t, nil)
	resp = f2.a.Challenge(req, testRealm, false, false)
	an := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", alg: "MD5"}
	res := f2.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(challengeFor(t, resp, SHA256))), testRealm, false, f2.src)
	if res.Outcome != Stale {
		t.Errorf("SHA-256 nonce used with MD5: %+v", res)
	}
}

func TestMalformed(t *testing.T) {
	f := newFixture(t, nil)
	req := register(t, testUser)
	resp := f.a.Challenge(req, testRealm, false, false)
	chal := challengeFor(t, resp, MD5)
	good := answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com"}.value(chal)
	for _, tc := range []struct {
		value  string
		reason Reason
	}{
		{answer{user: testUser, pass: testPass, method: "REGISTER", uri: "sip:example.com", qop: "-"}.value(chal), ReasonNoQop},
		{strings.Replace(good, "qop=auth", "qop=auth-int", 1), ReasonNoQop},
		{strings.Replace(good, `username="alice", `, "", 1), ReasonMalformed},
		{strings.Replace(good, `username="alice"`, `username="`+strings.Repeat("a", MaxUserLength+1)+`"`, 1), ReasonMalformed},
		{strings.Replace(good, `cnonce="0a4f113b", `, "", 1), ReasonMalformed},
		{strings.Replace(good, "nc=00000001", "nc=1", 1), ReasonMalformed},
		{strings.Replace(good, "nc=00000001", "nc=0000000g", 1), ReasonMalformed},
		{strings.Replace(good, `response="`, `response="0`, 1), ReasonMalformed},
		{strings.Replace(good, `response="`, `response="z`, 1)[:len(good)-1], ReasonMalformed},
		{`Digest realm="example.com", username=`, ReasonMalformed},
		{good + `, response="00000000000000000000000000000000"`, ReasonMalformed}, // a directive twice
	} {
		next := authorize(t, req, "Authorization", tc.value)
		res := f.a.Check(context.Background(), next, testRealm, false, f.src)
		if res.Outcome != Refused || res.Reason != tc.reason {
			t.Errorf("%s: %+v, want refused %v", tc.value, res, tc.reason)
		}
	}
	// Upper-case hex in the response is accepted.
	up := strings.ToUpper(good[strings.Index(good, `response="`):][:len(`response="`)+32])
	up = `response="` + up[len(`RESPONSE="`):]
	res := f.a.Check(context.Background(), authorize(t, req, "Authorization", good[:strings.Index(good, `response="`)]+up+good[strings.Index(good, `response="`)+len(up):]), testRealm, false, f.src)
	if res.Outcome != OK {
		t.Errorf("upper-case response: %+v", res)
	}
}

func TestWrongRealmOfNonce(t *testing.T) {
	// StaticRealm: the caller passes the static realm; a credentials realm
	// of the domain is another realm.
	f := newFixture(t, func(c *Config) { c.StaticRealm = "sipedge" })
	if f.a.Realm("Example.COM") != "sipedge" {
		t.Fatal("static realm")
	}
	f.users.pw["alice@sipedge"] = "pw"
	req := register(t, testUser)
	resp := f.a.Challenge(req, "sipedge", false, false)
	an := answer{user: testUser, pass: "pw", method: "REGISTER", uri: "sip:example.com"}
	res := f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(challengeFor(t, resp, SHA256))), "sipedge", false, f.src)
	if res.Outcome != OK || res.Realm != "sipedge" {
		t.Fatalf("%+v", res)
	}
	if !f.a.MatchesTo(req, res.User, res.Realm) || !f.a.MatchesFrom(req, res.User, res.Realm) {
		t.Error("identity under StaticRealm")
	}
	an.realm = testRealm
	res = f.a.Check(context.Background(), authorize(t, req, "Authorization", an.value(challengeFor(t, resp, SHA256))), "sipedge", false, f.src)
	if res.Outcome != Missing {
		t.Fatalf("other realm: %+v", res)
	}
}

func TestIdentity(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		from, user, realm string
		want              bool
	}{
		{"alice@example.com", "alice", "example.com", true},
		{"alice@EXAMPLE.com", "alice", "example.com", true},
		{"%61lice@example.com", "alice", "example.com", true},
		{"a%25b@example.com", "a%b", "example.com", true},
		{"Alice@example.com", "alice", "example.com", false}, // user parts are case-sensitive
		{"bob@example.com", "alice", "example.com", false},
		{"alice@example.org", "alice", "example.com", false},
		{"alice@example.com", "alic", "example.com", false},
		{"example.com", "alice", "example.com", false},
	} {
		req := invite(t, tc.from)
		if got := f.a.MatchesFrom(req, tc.user, tc.realm); got != tc.want {
			t.Errorf("From %s, %s@%s: %v", tc.from, tc.user, tc.realm, got)
		}
	}
	reg := register(t, "bob")
	if f.a.MatchesTo(reg, "alice", "example.com") || !f.a.MatchesTo(reg, "bob", "example.com") {
		t.Error("MatchesTo")
	}
	tel := mustParse(t, `INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds
To: <sip:bob@example.com>
From: <tel:+15551234>;tag=1
Call-ID: x
CSeq: 1 INVITE
Content-Length: 0

`)
	if f.a.MatchesFrom(tel, "+15551234", "example.com") {
		t.Error("tel From matched")
	}
}

func TestBruteForce(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits = Limits{DelayAfter: 2, Delay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond,
			SourceLockAfter: 6, UserLockAfter: -1, Lockout: time.Minute, Window: time.Hour}
	})
	req := register(t, testUser)
	wantDelays := []time.Duration{0, 0, 100, 200, 400}
	for i, d := range wantDelays {
		res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: "guess"})
		if res.Outcome != Failed || res.Delay != d*time.Millisecond {
			t.Fatalf("failure %d: %+v, want delay %v", i+1, res, d*time.Millisecond)
		}
	}
	// The sixth failure locks the source out.
	res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: "guess"})
	if res.Outcome != Failed || res.Delay != 400*time.Millisecond {
		t.Fatalf("failure 6: %+v", res)
	}
	// Now even the right password is refused, without asking Users.
	calls := f.users.calls
	res, _ = f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass})
	if res.Outcome != Refused || res.Reason != ReasonLockout || f.users.calls != calls {
		t.Fatalf("locked: %+v", res)
	}
	if res := f.a.Check(context.Background(), req, testRealm, false, f.src); res.Outcome != Refused {
		t.Fatalf("locked, no credentials: %+v", res)
	}
	// Another source is not affected.
	other := f.src
	f.src = netip.MustParseAddr("198.51.100.7")
	if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass}); res.Outcome != OK {
		t.Fatalf("other source: %+v", res)
	}
	f.src = other
	// The lockout ends; counting starts afresh.
	f.clk.Add(time.Minute + time.Second)
	if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass}); res.Outcome != OK {
		t.Fatalf("after the lockout: %+v", res)
	}
	if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: "guess"}); res.Outcome != Failed || res.Delay != 0 {
		t.Fatalf("first failure after the lockout: %+v", res)
	}
	if s := f.a.Stats(); s.Lockouts != 1 || s.Refused != 2 || s.Failures != 7 {
		t.Errorf("stats %+v", s)
	}
}

func TestBruteForcePerUser(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits = Limits{DelayAfter: 1, Delay: time.Second, SourceLockAfter: -1, UserLockAfter: 3, Lockout: time.Minute}
	})
	req := register(t, testUser)
	for i := range 3 {
		f.src = netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}) // a distributed guesser
		if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: "guess"}); res.Outcome != Failed {
			t.Fatalf("failure %d: %+v", i, res)
		}
	}
	f.src = netip.MustParseAddr("2001:db8::1")
	res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass})
	if res.Outcome != Refused || res.Reason != ReasonLockout {
		t.Fatalf("user locked: %+v", res)
	}
	// Another user from the same sources is fine.
	if res, _ := f.roundTrip(register(t, "bob"), false, SHA256, answer{user: "bob", pass: "bobpw"}); res.Outcome != OK {
		t.Fatalf("bob: %+v", res)
	}
	f.clk.Add(2 * time.Minute)
	if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass}); res.Outcome != OK {
		t.Fatalf("after the lockout: %+v", res)
	}
}

func TestSuccessResetsUser(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits = Limits{DelayAfter: 1, Delay: time.Second, SourceLockAfter: -1, UserLockAfter: 3}
	})
	req := register(t, testUser)
	for range 2 {
		f.roundTrip(req, false, SHA256, answer{user: testUser, pass: "typo"})
	}
	if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: testPass}); res.Outcome != OK {
		t.Fatal(res)
	}
	for range 2 {
		if res, _ := f.roundTrip(req, false, SHA256, answer{user: testUser, pass: "typo"}); res.Outcome != Failed {
			t.Fatalf("%+v", res)
		}
	}
	if s := f.a.Stats(); s.Lockouts != 0 {
		t.Errorf("locked after a success in between: %+v", s)
	}
}

func TestSourceKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":               "192.0.2.1",
		"::ffff:192.0.2.1":        "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::",
		"2001:db8:1:2:ffff::1":    "2001:db8:1:2::",
		"fe80::1%eth0":            "fe80::",
		"2001:db8:1:3:3:4:5:6":    "2001:db8:1:3::",
		"::ffff:203.0.113.9":      "203.0.113.9",
		"2001:db8:ffff:ffff::abc": "2001:db8:ffff:ffff::",
	} {
		if got := sourceKey(netip.MustParseAddr(in)); got.String() != want {
			t.Errorf("sourceKey(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDelayFor(t *testing.T) {
	l := Limits{}.withDefaults()
	for fails, want := range map[int]time.Duration{0: 0, 5: 0, 6: 250 * time.Millisecond, 7: 500 * time.Millisecond, 10: 4 * time.Second, 1000: 4 * time.Second} {
		if got := l.delayFor(fails); got != want {
			t.Errorf("delayFor(%d) = %v, want %v", fails, got, want)
		}
	}
	off := Limits{DelayAfter: -1}.withDefaults()
	if off.delayFor(100) != 0 {
		t.Error("delay off")
	}
}

func TestFailTableBound(t *testing.T) {
	l := Limits{Window: time.Minute, Lockout: time.Hour}.withDefaults()
	tab := newFailTable[string](64)
	now := time.Unix(0, 0).UnixNano()
	// Lock one key, then flood.
	for range 3 {
		tab.fail("victim", now, &l, 3)
	}
	if !tab.locked("victim", now) {
		t.Fatal("not locked")
	}
	for i := range 10_000 {
		tab.fail(fmt.Sprint("junk", i), now, &l, 3)
		if n := tab.len(); n > 64 {
			t.Fatalf("table holds %d", n)
		}
	}
	if !tab.locked("victim", now) {
		t.Error("a flood of single failures evicted a lockout")
	}
	// Entries whose window is over are the first to go.
	later := now + int64(2*time.Minute)
	for i := range 64 {
		tab.fail(fmt.Sprint("new", i), later, &l, 3)
	}
	if tab.len() > 64 {
		t.Fatal("over the bound")
	}
}

func TestReplayTableBound(t *testing.T) {
	const max = 64
	tab := newReplayTable(max, 300)
	var tag nonceTag
	issued := int64(1000)
	for i := range 10_000 {
		tag[0], tag[1], tag[2] = byte(i), byte(i>>8), byte(i>>16)
		if v := tab.use(tag, issued+int64(i/100), 1, issued+int64(i/100)); v != ncFresh && v != ncStale {
			t.Fatalf("use %d: %v", i, v)
		}
		if n := tab.len(); n > max {
			t.Fatalf("table holds %d", n)
		}
	}
	// A forgotten old nonce comes back stale, never fresh.
	tag = nonceTag{}
	if v := tab.use(tag, issued, 1, issued+100); v != ncStale {
		t.Errorf("evicted nonce: %v", v)
	}
	// Expired entries are dropped first.
	tab2 := newReplayTable(max, 10)
	for i := range max {
		tag[0] = byte(i)
		tab2.use(tag, 0, 1, 0)
	}
	tag[0], tag[1] = 0, 1
	if v := tab2.use(tag, 100, 1, 100); v != ncFresh {
		t.Errorf("after expiry: %v", v)
	}
	if n := tab2.len(); n != 1 {
		t.Errorf("expired entries kept: %d", n)
	}
}

func TestNew(t *testing.T) {
	u := &memUsers{}
	for _, cfg := range []Config{
		{Secret: []byte("short")},
		{NonceLifetime: time.Millisecond},
		{Algorithms: []Algorithm{MD5, MD5}},
		{Algorithms: []Algorithm{9}},
		{MaxNonces: -1},
		{TrustedPeers: []Peer{{}}},
	} {
		if _, err := New(cfg, u); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("nil Users accepted")
	}
	a, err := New(Config{}, u)
	if err != nil {
		t.Fatal(err)
	}
	// Random secrets differ per Authenticator.
	b, _ := New(Config{}, u)
	req := register(t, testUser)
	c := challengeFor(t, a.Challenge(req, testRealm, false, false), SHA256)
	n, _ := c.Param("nonce")
	if st, _, _ := b.nonces.verify(n, testRealm, SHA256, time.Now()); st != nonceBad {
		t.Error("two random secrets agree")
	}
	if st, _, _ := a.nonces.verify(n, testRealm, SHA256, time.Now()); st != nonceValid {
		t.Error("own nonce not valid")
	}
}

// parseWire parses a message in wire form.
func parseWire(b []byte) (*sip.Message, error) { return sip.Parse(b) }

func strconvQuote(s string) string { return strconv.Quote(s) }
