package web

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/turn"
)

// TURNCredentialsPath is the path of the TURN credentials endpoint. A
// query of "service=turn" (draft-uberti-behave-turn-rest-00) is accepted
// and means the same.
const TURNCredentialsPath = "/turn-credentials"

// Defaults and bounds of TURNConfig.
const (
	// DefaultCredentialLifetime is one day, as in coturn's REST examples:
	// an allocation is refreshed with the credentials it was made with,
	// so they must outlast the longest call.
	DefaultCredentialLifetime = 24 * time.Hour
	// maxPassword bounds the Basic password looked at (what `sipedge user`
	// accepts).
	maxPassword = 1024
)

// TURNConfig configures the TURN credentials endpoint.
type TURNConfig struct {
	// Realm is the TURN realm (AuthenticationRealm): users sign in as
	// "user" or "user@realm" with their SIP password, and it names the
	// Basic challenge.
	Realm string
	// RealmOf, when set, lets users of other domains sign in as
	// "user@domain": it returns the realm of domain's users, false when
	// domain is not ours. Their REST user name is then "user@domain".
	RealmOf func(domain string) (realm string, ok bool)
	// Users holds the stored HA1 values; the MD5 one is checked.
	Users auth.Users
	// Secret signs the REST credentials (the first TurnSecret, or the key
	// kept in the data directory); the TURN server must accept it.
	Secret []byte
	// Lifetime is how long credentials are good for (default
	// DefaultCredentialLifetime).
	Lifetime time.Duration
	// URIs, when not empty, are the TURN URIs handed out as they are
	// (TurnUris). Otherwise they are built from the request's Host and
	// the ports below.
	URIs []string
	// UDPPort, TCPPort and TLSPort are TURN's ports for the URIs built
	// from the Host: turn:...?transport=udp, turn:...?transport=tcp and
	// turns:...?transport=tcp; 0 leaves one out.
	UDPPort, TCPPort, TLSPort uint16
	// SharedPorts are the ports where TURN over TLS shares the port with
	// this server (TurnOnSamePort): a request that came in on one of them
	// gets that port in its turns: URI, since the client reached it
	// there, rather than TLSPort.
	SharedPorts []uint16
	// Origins, when not empty, are the Origin values a cross-origin
	// request may carry (the WebSockets' list); another gets 403. A
	// same-origin request and one without Origin always pass.
	Origins []string
	// ClientAddr returns the client's address, which failures are counted
	// under (the one a trusted reverse proxy names); nil takes the peer's.
	// Only the peer itself decides whether plain HTTP is acceptable.
	ClientAddr func(*http.Request) netip.Addr
	// Limits bound password guessing as for SIP digest (auth.Limits;
	// zero fields take its defaults).
	Limits auth.Limits
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives lockouts (warn) and failures (debug); nil discards.
	Logger *slog.Logger
}

// TURNCredentials is the http.Handler of TURNCredentialsPath: a user who
// signs in with HTTP Basic (over TLS, or from loopback) gets TURN REST
// credentials and the TURN URIs as JSON (see TURNResponse).
type TURNCredentials struct {
	cfg   TURNConfig
	guard *auth.Guard
	log   *slog.Logger
}

// TURNResponse is the endpoint's answer: draft-uberti-behave-turn-rest-00's
// JSON, plus ICEServers ready for new RTCPeerConnection({iceServers}).
type TURNResponse struct {
	Username   string      `json:"username"`
	Password   string      `json:"password"`
	TTL        int64       `json:"ttl"` // seconds
	URIs       []string    `json:"uris"`
	ICEServers []ICEServer `json:"iceServers"`
}

// ICEServer is one RTCIceServer (W3C WebRTC §4.2.4).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// NewTURNCredentials checks cfg and returns the handler.
func NewTURNCredentials(cfg TURNConfig) (*TURNCredentials, error) {
	switch {
	case cfg.Realm == "":
		return nil, errors.New("web: TURN credentials need a realm")
	case cfg.Users == nil:
		return nil, errors.New("web: TURN credentials need users")
	case len(cfg.Secret) == 0:
		return nil, errors.New("web: TURN credentials need a REST secret")
	case len(cfg.URIs) == 0 && cfg.UDPPort == 0 && cfg.TCPPort == 0 && cfg.TLSPort == 0:
		return nil, errors.New("web: TURN credentials need URIs or TURN ports")
	case cfg.Lifetime < 0:
		return nil, fmt.Errorf("web: negative credential lifetime %v", cfg.Lifetime)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultCredentialLifetime
	}
	if cfg.Lifetime < time.Second {
		return nil, fmt.Errorf("web: credential lifetime %v shorter than a second", cfg.Lifetime)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = peerAddr
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Secret = slices.Clone(cfg.Secret)
	cfg.URIs = slices.Clone(cfg.URIs)
	return &TURNCredentials{cfg: cfg, guard: auth.NewGuard(cfg.Limits, cfg.Now), log: log}, nil
}

// allowed are the methods the endpoint answers.
const allowed = "GET, HEAD, OPTIONS"

// ServeHTTP answers one request; see TURNCredentials.
func (h *TURNCredentials) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	origin := r.Header.Get("Origin")
	if origin != "" {
		hd.Add("Vary", "Origin")
		if !h.originAllowed(r, origin) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		hd.Set("Access-Control-Allow-Origin", origin)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		// A CORS preflight: the page may send Authorization. No
		// Access-Control-Allow-Credentials: the browser's own stored
		// Basic credentials never serve another origin.
		hd.Set("Allow", allowed)
		if origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET")
			hd.Set("Access-Control-Allow-Headers", "Authorization")
			hd.Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hd.Set("Allow", allowed)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s, ok := r.URL.Query()["service"]; ok && (len(s) != 1 || s[0] != "turn") {
		http.Error(w, `unknown service: only "turn" is offered`, http.StatusBadRequest)
		return
	}
	// Before any look at the Authorization header: a password that came
	// in clear over the network is not checked (and not asked for).
	if r.TLS == nil && !peerAddr(r).IsLoopback() {
		http.Error(w, "TURN credentials are only given over HTTPS (the WSS port) or to a loopback client", http.StatusForbidden)
		return
	}
	user, ok := h.signIn(w, r)
	if !ok {
		return
	}
	resp, err := h.credentials(r, user)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	hd.Set("Content-Type", "application/json")
	b, _ := json.Marshal(resp) // strings and numbers only: cannot fail
	w.Write(append(b, '\n'))
}

// originAllowed: the request's own origin, or any when Origins is empty,
// or one of Origins (compared as WSHandler does).
func (h *TURNCredentials) originAllowed(r *http.Request, origin string) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	if len(h.cfg.Origins) == 0 || strings.EqualFold(origin, scheme+r.Host) {
		return true
	}
	return slices.ContainsFunc(h.cfg.Origins, func(o string) bool { return strings.EqualFold(o, origin) })
}

// signIn checks the Basic credentials against the stored HA1 and answers
// the request itself when they do not pass; user is the user part.
func (h *TURNCredentials) signIn(w http.ResponseWriter, r *http.Request) (user string, ok bool) {
	src := h.cfg.ClientAddr(r)
	name, password, basic := r.BasicAuth()
	if !basic {
		if r.Header.Get("Authorization") != "" {
			// Not Basic, or not decodable: a client error, counted
			// against the source only.
			h.fail(w, r, src, "")
			return "", false
		}
		h.challenge(w, "sign in with your SIP user name and password")
		return "", false
	}
	user, realm, restUser, known := h.realmOf(name)
	if !known || user == "" || len(user) > auth.MaxUserLength || len(password) > maxPassword {
		h.fail(w, r, src, "")
		return "", false
	}
	if h.guard.Locked(src, user, realm) {
		h.log.Debug("web: TURN credentials refused: locked out", "source", src, "user", user)
		http.Error(w, "too many failed sign-ins: try again later", http.StatusTooManyRequests)
		return "", false
	}
	stored, err := h.cfg.Users.HA1(r.Context(), user, realm, auth.MD5)
	unknown := errors.Is(err, auth.ErrUnknownUser)
	if err != nil && !unknown {
		h.log.Warn("web: TURN credentials: users not readable", "err", err)
		http.Error(w, "user store unavailable", http.StatusServiceUnavailable)
		return "", false
	}
	// Computed and compared for an unknown user too, so that the answer
	// takes as long as for a wrong password.
	got := auth.HA1(auth.MD5, user, realm, password)
	if subtle.ConstantTimeCompare([]byte(got), []byte(stored)) != 1 || unknown {
		h.fail(w, r, src, user)
		return "", false
	}
	h.guard.Succeed(user, realm)
	return restUser, true
}

// realmOf splits a sign-in name into the user part and the realm it is
// stored under: "user" and "user@<Realm>" are of Realm, "user@domain" of
// what RealmOf says. restUser is the user of the REST credentials: the
// user part alone for Realm, "user@domain" (the domain in lower case)
// otherwise.
func (h *TURNCredentials) realmOf(name string) (user, realm, restUser string, ok bool) {
	user, domain, found := strings.Cut(name, "@")
	if !found || strings.EqualFold(domain, h.cfg.Realm) {
		return user, h.cfg.Realm, user, true
	}
	if h.cfg.RealmOf == nil || strings.Contains(domain, "@") {
		return "", "", "", false
	}
	domain = strings.ToLower(domain)
	realm, ok = h.cfg.RealmOf(domain)
	return user, realm, user + "@" + domain, ok
}

// challenge answers 401 with the Basic challenge (RFC 7617).
func (h *TURNCredentials) challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+quoteRealm(h.cfg.Realm)+`", charset="UTF-8"`)
	http.Error(w, msg, http.StatusUnauthorized)
}

// fail counts a failed sign-in, waits the delay the limits ask for (or
// until the client goes), and answers 401.
func (h *TURNCredentials) fail(w http.ResponseWriter, r *http.Request, src netip.Addr, user string) {
	delay, lockout := h.guard.Fail(src, user, h.cfg.Realm)
	if lockout {
		h.log.Warn("web: TURN credentials: sign-ins locked out after repeated failures", "source", src, "user", user)
	} else {
		h.log.Debug("web: TURN credentials: sign-in failed", "source", src, "user", user)
	}
	if delay > 0 {
		// Waited in the request's goroutine, at most Limits.MaxDelay (4 s
		// by default); a client that hangs up ends it.
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	h.challenge(w, "wrong user name or password")
}

// credentials makes the answer for user.
func (h *TURNCredentials) credentials(r *http.Request, user string) (*TURNResponse, error) {
	uris := h.cfg.URIs
	if len(uris) == 0 {
		host, err := requestHost(r.Host)
		if err != nil {
			return nil, err
		}
		uris = URIsFor(host, h.cfg.UDPPort, h.cfg.TCPPort, h.tlsPort(r))
	}
	return MakeTURNResponse(h.cfg.Secret, user, h.cfg.Now(), h.cfg.Lifetime, uris), nil
}

// tlsPort is the port of the turns: URI for r: the one r came in on when
// TURN shares it, else TLSPort.
func (h *TURNCredentials) tlsPort(r *http.Request) uint16 {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && len(h.cfg.SharedPorts) > 0 {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil && slices.Contains(h.cfg.SharedPorts, ap.Port()) {
			return ap.Port()
		}
	}
	return h.cfg.TLSPort
}

// MakeTURNResponse returns the credentials of user under secret, made at
// now and good for lifetime, with uris: what the endpoint serves, and what
// `sipedge turn-credentials` prints.
func MakeTURNResponse(secret []byte, user string, now time.Time, lifetime time.Duration, uris []string) *TURNResponse {
	username, password := turn.RESTCredentials(secret, user, now.Add(lifetime))
	return &TURNResponse{
		Username: username, Password: password, TTL: int64(lifetime / time.Second), URIs: uris,
		ICEServers: []ICEServer{{URLs: uris, Username: username, Credential: password}},
	}
}

// URIsFor returns the TURN URIs (RFC 7065) of host, a host name or an
// address (IPv6 with or without brackets), for the ports that are not 0.
func URIsFor(host string, udp, tcp, tls uint16) []string {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && a.Is6() {
		host = "[" + a.String() + "]"
	}
	var out []string
	add := func(scheme string, port uint16, transport string) {
		if port != 0 {
			out = append(out, scheme+":"+host+":"+strconv.Itoa(int(port))+"?transport="+transport)
		}
	}
	add("turn", udp, "udp")
	add("turn", tcp, "tcp")
	add("turns", tls, "tcp")
	return out
}

// requestHost returns the host name or address of a Host header, without
// its port; only what a URI may carry is accepted.
func requestHost(hostport string) (string, error) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", errors.New("the Host header: an address with a zone cannot name a TURN server")
		}
		return a.String(), nil
	}
	if strings.HasPrefix(host, "[") || !config.ValidHost(host) {
		return "", errors.New("the Host header is not a host name or address")
	}
	return strings.ToLower(host), nil
}

// peerAddr is the address of the request's peer (no reverse proxy
// believed); the zero Addr when unreadable.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// quoteRealm escapes a realm for a quoted-string.
func quoteRealm(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
