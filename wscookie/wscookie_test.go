package wscookie

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
)

const secret = "correct horse battery staple"

// t0 is the clock of the tests: inside the cookies' lifetime.
var t0 = time.Unix(1700000100, 0)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func verifier() *Verifier {
	return &Verifier{Secret: []byte(secret), ExtraHeader: DefaultExtraHeader, Now: clock(t0)}
}

// phpURLEncode is PHP's urlencode: everything but letters, digits and
// "-_." escaped, a space as "+".
func phpURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// php computes the cookies as resiprocate's PHP example does:
//
//	$cookie_value = '1:' . time() . ':' . $time_limit . ':' . $sip_from . ':' . $sip_to;
//	$digest_input = $cookie_value . ':' . $extra_value;
//	$cookie_mac = hash_hmac('sha1', $digest_input, $hmac_key);
//	setrawcookie("WSSessionInfo", urlencode($cookie_value), ...);
//	setrawcookie("WSSessionExtra", urlencode($extra_value), ...);
//	setrawcookie("WSSessionMAC", $cookie_mac, ...);
func php(key string, created, expires int64, from, to, extra string) (info, ext, mac string) {
	value := fmt.Sprintf("1:%d:%d:%s:%s", created, expires, from, to)
	h := hmac.New(sha1.New, []byte(key))
	h.Write([]byte(value + ":" + extra))
	return phpURLEncode(value), phpURLEncode(extra), hex.EncodeToString(h.Sum(nil))
}

// handshake builds a WebSocket handshake carrying cookies.
func handshake(target string, cookies ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RequestURI = target // as the server read it, even when Go's URL parser would refuse it
	for i := 0; i+1 < len(cookies); i += 2 {
		r.AddCookie(&http.Cookie{Name: cookies[i], Value: cookies[i+1]})
	}
	return r
}

func TestKnownAnswer(t *testing.T) {
	// HMACs computed outside Go, with
	//   printf '%s' '<info>:<extra>' | openssl dgst -sha1 -hmac 'correct horse battery staple'
	for _, tc := range []struct {
		info, extra, mac string
		from, to         string
	}{
		{"1%3A1700000000%3A1700003600%3Aalice%40example.org%3A%2A%40example.org", "room%3D42",
			"2e719b28c50ae2aac59a3fb5e9cb63d850c8e29c", "alice@example.org", "*@example.org"},
		// No extra cookie: the MAC covers info + ":". Upper-case hex is fine (repro compares with strncasecmp).
		{"1%3A1700000000%3A1700003600%3Abob%40example.org%3Aalice%40example.org", "",
			"4ACA127376DFCA5E00D59F392075830FF31C9756", "bob@example.org", "alice@example.org"},
	} {
		s, err := verifier().Parse(tc.info, tc.extra, tc.mac)
		if err != nil {
			t.Fatalf("%s: %v", tc.info, err)
		}
		if s.From != tc.from || s.To != tc.to || !s.Expires.Equal(time.Unix(1700003600, 0)) {
			t.Fatalf("session %+v", s)
		}
		// And the PHP computation agrees.
		i, e, m := php(secret, 1700000000, 1700003600, tc.from, tc.to, strings.ReplaceAll(tc.extra, "%3D", "="))
		if i != tc.info || e != tc.extra || !strings.EqualFold(m, tc.mac) {
			t.Fatalf("php() = %q %q %q", i, e, m)
		}
	}
}

func TestCheck(t *testing.T) {
	info, extra, mac := php(secret, 1700000000, 1700003600, "alice@example.org", "*@example.org", "user 42: gold")
	s, err := verifier().Check(handshake("/", "WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", mac, "other", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if s.From != "alice@example.org" || s.To != "*@example.org" || s.Extra != "user 42: gold" || s.Expires.Unix() != 1700003600 {
		t.Fatalf("session %+v", s)
	}

	// Names of one's own.
	v := verifier()
	v.InfoName, v.ExtraName, v.MACName = "i", "e", "m"
	if _, err := v.Check(handshake("/", "i", info, "e", extra, "m", mac)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check(handshake("/", "WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", mac)); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "i") {
		t.Fatalf("default names with names configured: %v", err)
	}

	// Request-URI parameters override the cookies (resip's testWsCookieContext).
	info2, extra2, mac2 := php(secret, 1700000000, 1700007200, "bob@example.org", "alice@example.org", "crazy:kangaroo")
	s, err = verifier().Check(handshake("/;WSSessionInfo="+info2+";wssessionextra="+extra2+";WSSessionMAC="+mac2+"?x=1",
		"WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", mac))
	if err != nil {
		t.Fatal(err)
	}
	if s.From != "bob@example.org" || s.Extra != "crazy:kangaroo" || s.Expires.Unix() != 1700007200 {
		t.Fatalf("session %+v", s)
	}
	// Only parameters, no cookie at all.
	if _, err := verifier().Check(handshake("/sip;WSSessionInfo=" + info2 + ";WSSessionExtra=" + extra2 + ";WSSessionMAC=" + mac2)); err != nil {
		t.Fatal(err)
	}
}

func TestFailures(t *testing.T) {
	good := func(mod func(created, expires *int64, from, to, extra *string)) (string, string, string) {
		created, expires, from, to, extra := int64(1700000000), int64(1700003600), "alice@example.org", "bob@example.org", "x"
		if mod != nil {
			mod(&created, &expires, &from, &to, &extra)
		}
		return php(secret, created, expires, from, to, extra)
	}
	info, extra, mac := good(nil)
	sign := func(infoText, extraText string) string {
		h := hmac.New(sha1.New, []byte(secret))
		h.Write([]byte(infoText + ":" + extraText))
		return hex.EncodeToString(h.Sum(nil))
	}
	for _, tc := range []struct {
		name    string
		cookies []string
		target  string
		now     time.Time
		want    error
		msg     string
	}{
		{"no cookies", nil, "/", t0, ErrMissing, "WSSessionInfo"},
		{"no info", []string{"WSSessionExtra", extra, "WSSessionMAC", mac}, "/", t0, ErrMissing, "WSSessionInfo"},
		{"no mac", []string{"WSSessionInfo", info, "WSSessionExtra", extra}, "/", t0, ErrMissing, "WSSessionMAC"},
		{"empty info", []string{"WSSessionInfo", "", "WSSessionMAC", mac}, "/", t0, ErrMissing, "WSSessionInfo is empty"},
		{"empty mac", []string{"WSSessionInfo", info, "WSSessionMAC", ""}, "/", t0, ErrMissing, "WSSessionMAC is empty"},
		{"version 2", []string{"WSSessionInfo", "2" + info[1:], "WSSessionMAC", mac}, "/", t0, ErrVersion, "version 2, want 1"},
		{"no version", []string{"WSSessionInfo", "x" + info, "WSSessionMAC", mac}, "/", t0, ErrVersion, "does not start with a version"},
		{"missing extra", []string{"WSSessionInfo", info, "WSSessionMAC", mac}, "/", t0, ErrMAC, "does not match"},
		{"changed extra", []string{"WSSessionInfo", info, "WSSessionExtra", "y", "WSSessionMAC", mac}, "/", t0, ErrMAC, "does not match"},
		{"changed expiry", []string{"WSSessionInfo", strings.Replace(info, "1700003600", "1800003600", 1), "WSSessionExtra", extra, "WSSessionMAC", mac}, "/", t0, ErrMAC, "does not match"},
		{"changed from", []string{"WSSessionInfo", strings.Replace(info, "alice", "mallory", 1), "WSSessionExtra", extra, "WSSessionMAC", mac}, "/", t0, ErrMAC, "does not match"},
		{"short mac", []string{"WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", mac[:39]}, "/", t0, ErrMAC, "not 40 hex digits"},
		{"long mac", []string{"WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", mac + "00"}, "/", t0, ErrMAC, "not 40 hex digits"},
		{"not hex", []string{"WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", "z" + mac[1:]}, "/", t0, ErrMAC, "not 40 hex digits"},
		{"bad encoding", []string{"WSSessionInfo", info + "%zz", "WSSessionMAC", mac}, "/", t0, ErrMalformed, "URL encoding"},
		{"four fields", []string{"WSSessionInfo", "1:1:2:a@b", "WSSessionMAC", sign("1:1:2:a@b", "")}, "/", t0, ErrMalformed, "4 fields, want 5"},
		{"created not a number", []string{"WSSessionInfo", "1:now:1800000000:a@b:c@d", "WSSessionMAC", sign("1:now:1800000000:a@b:c@d", "")}, "/", t0, ErrMalformed, "creation time"},
		{"expiry not a number", []string{"WSSessionInfo", "1:1:-5:a@b:c@d", "WSSessionMAC", sign("1:1:-5:a@b:c@d", "")}, "/", t0, ErrMalformed, "expiry"},
		{"from without domain", []string{"WSSessionInfo", "1:1:1800000000:alice:c@d", "WSSessionMAC", sign("1:1:1800000000:alice:c@d", "")}, "/", t0, ErrMalformed, "From is not user@domain"},
		{"to without user", []string{"WSSessionInfo", "1:1:1800000000:a@b:@d", "WSSessionMAC", sign("1:1:1800000000:a@b:@d", "")}, "/", t0, ErrMalformed, "To is not user@domain"},
		{"expired", []string{"WSSessionInfo", info, "WSSessionExtra", extra, "WSSessionMAC", mac}, "/", time.Unix(1700003601, 0), ErrExpired, "2023-11-14T23:13:20Z"},
		{"bad parameter", nil, "/;WSSessionInfo=" + info + ";WSSessionMAC=" + mac[:38] + "%", t0, ErrMalformed, "WSSessionMAC: bad URL encoding"},
	} {
		v := verifier()
		v.Now = clock(tc.now)
		s, err := v.Check(handshake(tc.target, tc.cookies...))
		if s != nil || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, %v; want %v (%s)", tc.name, s, err, tc.want, tc.msg)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "horse") {
			t.Errorf("%s: the error repeats the secret: %v", tc.name, err)
		}
	}

	// The last second is still good.
	v := verifier()
	v.Now = clock(time.Unix(1700003600, 999e6))
	if _, err := v.Parse(info, extra, mac); err != nil {
		t.Fatalf("at the expiry second: %v", err)
	}
	// Another secret.
	v.Secret = []byte("another secret")
	if _, err := v.Parse(info, extra, mac); !errors.Is(err, ErrMAC) {
		t.Fatalf("another secret: %v", err)
	}
	// Fields after the fifth are covered by the MAC and ignored, as in repro.
	in := "1:1:1800000000:a@b:c@d:future"
	if s, err := verifier().Parse(in, "", sign(in, "")); err != nil || s.To != "c@d" {
		t.Fatalf("six fields: %+v, %v", s, err)
	}
}

// request parses a request with the given start line method, From and To
// URIs, and extra header lines.
func request(t *testing.T, method, from, to string, extra ...string) *sip.Message {
	t.Helper()
	text := method + " sip:x@example.org SIP/2.0\r\n" +
		"Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bK1\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <" + from + ">;tag=1\r\n" +
		"To: <" + to + ">\r\n" +
		"Call-ID: c1\r\n" +
		"CSeq: 1 " + method + "\r\n"
	for _, h := range extra {
		text += h + "\r\n"
	}
	m, err := sip.Parse([]byte(text + "Content-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAllows(t *testing.T) {
	session := func(from, to, extra string) *Session {
		info, ext, mac := php(secret, 1700000000, 1700003600, from, to, extra)
		s, err := verifier().Parse(info, ext, mac)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name               string
		cookieFrom, cookie string // the cookie's From and To
		method, from, to   string
		headers            []string
		ok                 bool
		reason             string
	}{
		{"exact", "alice@example.org", "bob@example.org", "INVITE", "sip:alice@example.org", "sip:bob@example.org", nil, true, ""},
		{"case", "Alice@Example.org", "bob@EXAMPLE.org", "MESSAGE", "sips:alice@example.ORG", "sip:BOB@example.org", nil, true, ""},
		{"other from", "alice@example.org", "bob@example.org", "INVITE", "sip:mallory@example.org", "sip:bob@example.org", nil, false, "From does not match cookie"},
		{"other from domain", "alice@example.org", "bob@example.org", "INVITE", "sip:alice@example.com", "sip:bob@example.org", nil, false, "From does not match cookie"},
		{"other to", "alice@example.org", "bob@example.org", "INVITE", "sip:alice@example.org", "sip:carol@example.org", nil, false, "To does not match cookie"},
		{"to wildcard user", "alice@example.org", "*@example.org", "INVITE", "sip:alice@example.org", "sip:carol@example.org", nil, true, ""},
		{"to wildcard user, other domain", "alice@example.org", "*@example.org", "INVITE", "sip:alice@example.org", "sip:carol@example.com", nil, false, "To does not match cookie"},
		{"to wildcard domain", "alice@example.org", "carol@*", "INVITE", "sip:alice@example.org", "sip:carol@example.com", nil, true, ""},
		{"to anyone", "alice@example.org", "*@*", "SUBSCRIBE", "sip:alice@example.org", "tel:+15551234", nil, true, ""},
		{"from wildcard", "*@example.org", "bob@example.org", "INVITE", "sip:anyone@example.org", "sip:bob@example.org", nil, true, ""},
		{"from wildcard, other domain", "*@example.org", "bob@example.org", "INVITE", "sip:anyone@example.net", "sip:bob@example.org", nil, false, "From does not match cookie"},
		{"wildcard is whole", "al*@example.org", "bob@example.org", "INVITE", "sip:alice@example.org", "sip:bob@example.org", nil, false, "From does not match cookie"},
		// REGISTER: From = To lifts the To restriction.
		{"register", "alice@example.org", "bob@example.org", "REGISTER", "sip:alice@example.org", "sip:alice@example.org", nil, true, ""},
		{"register case", "alice@example.org", "bob@example.org", "REGISTER", "sip:alice@example.org", "sip:ALICE@Example.Org", nil, true, ""},
		{"register someone else", "alice@example.org", "bob@example.org", "REGISTER", "sip:alice@example.org", "sip:carol@example.org", nil, false, "To does not match cookie"},
		{"register as someone else", "alice@example.org", "bob@example.org", "REGISTER", "sip:carol@example.org", "sip:carol@example.org", nil, false, "From does not match cookie"},
		{"register To matches cookie", "alice@example.org", "bob@example.org", "REGISTER", "sip:alice@example.org", "sip:bob@example.org", nil, true, ""},
		// ACK and BYE are not checked.
		{"ack", "alice@example.org", "bob@example.org", "ACK", "sip:mallory@example.org", "sip:carol@example.org", nil, true, ""},
		{"bye", "alice@example.org", "bob@example.org", "BYE", "sip:carol@example.org", "sip:alice@example.org", nil, true, ""},
		{"cancel is", "alice@example.org", "bob@example.org", "CANCEL", "sip:carol@example.org", "sip:bob@example.org", nil, false, "From does not match cookie"},
		// The extra header, when present, must equal the extra cookie.
		{"extra header", "alice@example.org", "bob@example.org", "INVITE", "sip:alice@example.org", "sip:bob@example.org", []string{"X-WS-Session-Extra: gold 42"}, true, ""},
		{"extra header differs", "alice@example.org", "bob@example.org", "INVITE", "sip:alice@example.org", "sip:bob@example.org", []string{"x-ws-session-extra: gold 43"}, false, "X-WS-Session-Extra does not match cookie"},
	} {
		s := session(tc.cookieFrom, tc.cookie, "gold 42")
		ok, reason := s.Allows(request(t, tc.method, tc.from, tc.to, tc.headers...))
		if ok != tc.ok || reason != tc.reason {
			t.Errorf("%s: Allows = %v, %q; want %v, %q", tc.name, ok, reason, tc.ok, tc.reason)
		}
	}

	s := session("alice@example.org", "bob@example.org", "gold 42")
	// Without ExtraHeader the header is not looked at.
	s.extraHeader = ""
	if ok, _ := s.Allows(request(t, "INVITE", "sip:alice@example.org", "sip:bob@example.org", "X-WS-Session-Extra: other")); !ok {
		t.Fatal("extra header checked with ExtraHeader off")
	}
	// A response passes.
	inv := request(t, "INVITE", "sip:alice@example.org", "sip:bob@example.org")
	if ok, _ := s.Allows(sip.NewResponse(inv, 200, "")); !ok {
		t.Fatal("response refused")
	}
	// Expiry is checked again on every request (repro's authorizedForThisIdentity).
	s.now = clock(time.Unix(1700003601, 0))
	if ok, reason := s.Allows(inv); ok || reason != "cookie expired" {
		t.Fatalf("after expiry: %v, %q", ok, reason)
	}
	if ok, _ := s.Allows(request(t, "BYE", "sip:alice@example.org", "sip:bob@example.org")); !ok {
		t.Fatal("BYE refused after expiry")
	}
}
