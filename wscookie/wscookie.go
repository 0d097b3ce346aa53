// Package wscookie checks repro's WebSocket cookie authentication: a web
// site that has already signed a user in sets three cookies, signed with a
// secret it shares with sipedge, and the browser's WebSocket handshake
// carries them. The handshake is refused when the MAC is wrong or the
// cookie has expired; afterwards every request on the connection must have
// the From and To the cookie names (Session.Allows).
//
// # Format
//
// The cookies, named as in repro by default (WSCookieNameInfo,
// WSCookieNameExtra and WSCookieNameMac change the names):
//
//	WSSessionInfo   1:<created>:<expires>:<from user@domain>:<to user@domain>
//	WSSessionExtra  free text (may be absent: then "")
//	WSSessionMAC    hex(HMAC-SHA1(secret, info + ":" + extra)), 40 digits, either case
//
// where created and expires are unix seconds. Every value is URL-decoded
// first ("%3A" is ":", "+" a space), as PHP's urlencode writes it, and the
// MAC covers the decoded text. A user or a domain may be "*", which
// matches any ("*@example.org"). The cookie is good up to and including
// the second expires names.
//
// As in repro, parameters of the handshake's request-URI override the
// cookies of the same name, for pages that cannot set cookies for
// sipedge's domain: "wss://sip.example.org/;WSSessionInfo=1%3A...;WSSessionMAC=...".
//
// The package imports only the standard library and sip.
package wscookie

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// repro's defaults (resip/stack/WsCookieContextFactory.hxx and
// repro/ReproRunner.cxx).
const (
	DefaultInfoName    = "WSSessionInfo"
	DefaultExtraName   = "WSSessionExtra"
	DefaultMACName     = "WSSessionMAC"
	DefaultExtraHeader = "X-WS-Session-Extra"
)

// Version is the only cookie format there is (RESIP_WS_COOKIE_CONTEXT_VERSION).
const Version = 1

// The failures, for errors.Is. The errors Check and Parse return wrap one
// of them and add which cookie, never the secret.
var (
	ErrMissing   = errors.New("wscookie: cookie missing")
	ErrVersion   = errors.New("wscookie: unsupported cookie version")
	ErrMalformed = errors.New("wscookie: malformed cookie")
	ErrMAC       = errors.New("wscookie: bad MAC")
	ErrExpired   = errors.New("wscookie: cookie expired")
)

// Verifier checks the cookies of WebSocket handshakes. Its fields must not
// change once it is in use; it is then safe for concurrent use.
type Verifier struct {
	// Secret is WSCookieAuthSharedSecret, as bytes (repro uses the
	// configured text as the HMAC key, unchanged).
	Secret []byte
	// The cookie names; "" takes repro's default.
	InfoName, ExtraName, MACName string
	// ExtraHeader is WSCookieExtraHeaderName: when a request carries this
	// header, its value must equal the cookie's extra text. "" turns the
	// check off. repro's default is DefaultExtraHeader.
	ExtraHeader string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Session is what a good cookie says: who may send requests on the
// connection, and until when.
type Session struct {
	From    string // user@domain as in the cookie; either part may be "*"
	To      string // likewise
	Expires time.Time
	Extra   string

	extraHeader string
	now         func() time.Time
}

func (v *Verifier) names() (info, extra, mac string) {
	info, extra, mac = v.InfoName, v.ExtraName, v.MACName
	if info == "" {
		info = DefaultInfoName
	}
	if extra == "" {
		extra = DefaultExtraName
	}
	if mac == "" {
		mac = DefaultMACName
	}
	return info, extra, mac
}

// Check reads the cookies (or the request-URI parameters that override
// them) of a WebSocket handshake and verifies them. It has the shape of
// transport.Config.WSCheck's function once wrapped:
//
//	func(r *http.Request) (any, error) { return v.Check(r) }
func (v *Verifier) Check(r *http.Request) (*Session, error) {
	infoName, extraName, macName := v.names()
	vals := [3]string{}
	have := [3]bool{}
	for i, name := range [3]string{infoName, extraName, macName} {
		if c, err := r.Cookie(name); err == nil {
			vals[i], have[i] = c.Value, true
		}
	}
	// Request-URI parameters win over cookies (resip's WsCookieContext).
	target := r.RequestURI
	if target == "" && r.URL != nil {
		target = r.URL.EscapedPath()
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if _, params, ok := strings.Cut(target, ";"); ok {
		for p := range strings.SplitSeq(params, ";") {
			name, val, ok := strings.Cut(p, "=")
			if !ok {
				continue
			}
			for i, n := range [3]string{infoName, extraName, macName} {
				if strings.EqualFold(name, n) {
					vals[i], have[i] = val, true
				}
			}
		}
	}
	if !have[0] {
		return nil, fmt.Errorf("%w: %s", ErrMissing, infoName)
	}
	if !have[2] {
		return nil, fmt.Errorf("%w: %s", ErrMissing, macName)
	}
	return v.parse(vals[0], vals[1], vals[2], infoName, macName)
}

// Parse verifies the three cookie values as they come in a Cookie header
// (URL-encoded). An empty extra is an absent one.
func (v *Verifier) Parse(info, extra, mac string) (*Session, error) {
	infoName, _, macName := v.names()
	return v.parse(info, extra, mac, infoName, macName)
}

func (v *Verifier) parse(infoRaw, extraRaw, macRaw, infoName, macName string) (*Session, error) {
	info, err := url.QueryUnescape(infoRaw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: bad URL encoding", ErrMalformed, infoName)
	}
	extra, err := url.QueryUnescape(extraRaw)
	if err != nil {
		return nil, fmt.Errorf("%w: extra cookie: bad URL encoding", ErrMalformed)
	}
	macText, err := url.QueryUnescape(macRaw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: bad URL encoding", ErrMalformed, macName)
	}
	if info == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrMissing, infoName)
	}
	if macText == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrMissing, macName)
	}
	fields := strings.Split(info, ":")
	if fields[0] != strconv.Itoa(Version) {
		if len(fields[0]) > 10 || !digits(fields[0]) {
			return nil, fmt.Errorf("%w: %s does not start with a version number", ErrVersion, infoName)
		}
		return nil, fmt.Errorf("%w: %s has version %s, want %d", ErrVersion, infoName, fields[0], Version)
	}
	// The MAC before anything else in the cookie is believed.
	got, err := hex.DecodeString(macText)
	if err != nil || len(got) != sha1.Size {
		return nil, fmt.Errorf("%w: %s is not %d hex digits", ErrMAC, macName, 2*sha1.Size)
	}
	h := hmac.New(sha1.New, v.Secret)
	h.Write([]byte(info))
	h.Write([]byte{':'})
	h.Write([]byte(extra))
	if !hmac.Equal(got, h.Sum(nil)) {
		return nil, fmt.Errorf("%w: %s does not match", ErrMAC, macName)
	}
	// 1:created:expires:from:to, and repro ignores whatever follows.
	if len(fields) < 5 {
		return nil, fmt.Errorf("%w: %s has %d fields, want 5", ErrMalformed, infoName, len(fields))
	}
	if !digits(fields[1]) {
		return nil, fmt.Errorf("%w: %s: creation time is not a number of seconds", ErrMalformed, infoName)
	}
	exp, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || !digits(fields[2]) || exp > 1<<40 {
		return nil, fmt.Errorf("%w: %s: expiry is not a number of seconds", ErrMalformed, infoName)
	}
	from, to := fields[3], fields[4]
	if !identity(from) {
		return nil, fmt.Errorf("%w: %s: From is not user@domain", ErrMalformed, infoName)
	}
	if !identity(to) {
		return nil, fmt.Errorf("%w: %s: To is not user@domain", ErrMalformed, infoName)
	}
	s := &Session{From: from, To: to, Expires: time.Unix(exp, 0), Extra: extra, extraHeader: v.ExtraHeader, now: v.Now}
	if s.expired() {
		return nil, fmt.Errorf("%w at %s", ErrExpired, s.Expires.UTC().Format(time.RFC3339))
	}
	return s, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// identity reports whether s is user@domain with neither part empty nor
// holding blanks or control characters.
func identity(s string) bool {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	for j := 0; j < len(s); j++ {
		if s[j] <= ' ' || s[j] == 0x7f {
			return false
		}
	}
	return true
}

// expired reports whether the session's time is over: repro lets the
// cookie through up to and including the second it names.
func (s *Session) expired() bool {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	return now().Unix() > s.Expires.Unix()
}

// Allows applies repro's CookieAuthenticator to a request received on the
// session's connection (repro/monkeys/CookieAuthenticator.cxx):
//
//   - ACK and BYE pass, and so does a response;
//   - the cookie must not have expired since the handshake;
//   - the From URI must match the cookie's From: user and host each equal
//     without regard to case, or "*" in the cookie;
//   - a REGISTER whose From and To have the same user and host passes on
//     that; any other request's To URI must match the cookie's To likewise;
//   - when the Verifier had an ExtraHeader and the request carries that
//     header, its (first) value must equal the cookie's extra text exactly.
//
// It does not check that the From domain is one of the proxy's own, which
// repro also requires (a 403 otherwise): that is the caller's to do.
// reason says why a request is refused, for the 403's reason phrase or a
// log; it is "" when ok.
func (s *Session) Allows(req *sip.Message) (ok bool, reason string) {
	if !req.IsRequest() || req.Method == "ACK" || req.Method == "BYE" {
		return true, ""
	}
	if s.expired() {
		return false, "cookie expired"
	}
	from, to := req.From().URI, req.To().URI
	if !match(s.From, from) {
		return false, "From does not match cookie"
	}
	register := req.Method == "REGISTER" && strings.EqualFold(from.User, to.User) && strings.EqualFold(from.Host, to.Host)
	if !register && !match(s.To, to) {
		return false, "To does not match cookie"
	}
	if s.extraHeader != "" {
		if v, present := req.Get(s.extraHeader); present && v != s.Extra {
			return false, s.extraHeader + " does not match cookie"
		}
	}
	return true, ""
}

// match is repro's cookieUriMatch: the cookie's user@domain against a URI.
func match(cookie string, u sip.URI) bool {
	i := strings.LastIndexByte(cookie, '@')
	if i < 0 {
		return false
	}
	user, host := cookie[:i], cookie[i+1:]
	return (user == "*" || strings.EqualFold(user, u.User)) && (host == "*" || strings.EqualFold(host, u.Host))
}
