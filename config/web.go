package config

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// The keys of the TURN credentials endpoint, and their bounds.
const (
	webPhoneKey                = "WebPhone"
	webSelfTestKey             = "WebSelfTest"
	turnLifetimeKey            = "TurnCredentialLifetime"
	turnURIsKey                = "TurnUris"
	defaultCredentialLifetime  = 86400         // seconds: one day, as coturn's REST examples
	minCredentialLifetime      = 60            // seconds
	maxCredentialLifetime      = 7 * 24 * 3600 // seconds
	maxTurnURIs                = 16
	turnURIHint                = " (want turn: or turns:, a host, an optional port and ?transport=udp or tcp, e.g. turns:turn.example.com:5349?transport=tcp)"
	defaultTurnCredentialsHint = "built from the request's host name and TURN's ports"
)

// Web is the configuration of the HTTP endpoints the WS and WSS listeners
// serve besides WebSockets: the web phone, and the TURN credentials
// endpoint, on while TURN is.
type Web struct {
	// Phone is WebPhone: serve the embedded web phone at / (default true).
	Phone bool
	// SelfTest is WebSelfTest: serve the self-test page at /selftest
	// (default true).
	SelfTest bool
	// TurnCredentialLifetime is how long the REST credentials the endpoint
	// hands out stay good (TurnCredentialLifetime, default one day: an
	// allocation is refreshed with the credentials it was made with).
	TurnCredentialLifetime time.Duration
	// TurnURIs are TurnUris, the TURN URIs handed out as written; empty
	// builds them from each request's Host and TURN's ports.
	TurnURIs []string
}

// booleanOn is the value of a boolean key whose default is true.
func (b *builder) booleanOn(key string) bool {
	e := b.get(key)
	if e == nil || b.empty(e, "true") {
		return true
	}
	v, ok := b.parseBool(e)
	return v || !ok
}

// web reads the endpoint's keys; it runs after turn, whose Port says
// whether they mean anything.
func (b *builder) web(c *Config) {
	w := &c.Web
	w.Phone = b.booleanOn(webPhoneKey)
	w.SelfTest = b.booleanOn(webSelfTestKey)
	w.TurnCredentialLifetime = defaultCredentialLifetime * time.Second
	if c.Turn.Port == 0 {
		for _, k := range [...]string{turnLifetimeKey, turnURIsKey} {
			if e := b.get(k); e != nil {
				b.bad(e, turnOffHint)
			}
		}
		return
	}
	w.TurnCredentialLifetime = time.Duration(b.seconds(turnLifetimeKey, defaultCredentialLifetime, minCredentialLifetime, maxCredentialLifetime)) * time.Second
	e := b.get(turnURIsKey)
	if e == nil || b.empty(e, defaultTurnCredentialsHint) {
		return
	}
	parts := strings.FieldsFunc(e.value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(parts) > maxTurnURIs {
		b.bad(e, "%d URIs, at most %d", len(parts), maxTurnURIs)
		return
	}
	var out []string
	for _, p := range parts {
		u, msg := checkTurnURI(p)
		switch {
		case msg != "":
			b.bad(e, "%s", msg)
			return
		case slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, u) }):
			b.bad(e, "%s is listed twice", quoteShort(p))
			return
		}
		out = append(out, u)
	}
	w.TurnURIs = out
}

// checkTurnURI checks a turn: or turns: URI (RFC 7065) and returns it with
// its scheme and transport in lower case, or the reason it is not one.
func checkTurnURI(s string) (string, string) {
	bad := quoteShort(s) + " is not a TURN URI" + turnURIHint
	scheme, rest, ok := strings.Cut(s, ":")
	scheme = strings.ToLower(scheme)
	if !ok || scheme != "turn" && scheme != "turns" {
		return "", bad
	}
	hostport, query, hasQuery := strings.Cut(rest, "?")
	host, port := hostport, 0
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host = hostport[:i]
		if port, ok = number(hostport[i+1:], 1, 65535); !ok {
			return "", quoteShort(s) + ": " + quoteShort(hostport[i+1:]) + " is not a port (1-65535)"
		}
	}
	if host == "" || !validHost(host) {
		return "", bad
	}
	transport := ""
	if hasQuery {
		k, v, _ := strings.Cut(query, "=")
		transport = strings.ToLower(v)
		if !strings.EqualFold(k, "transport") || transport != "udp" && transport != "tcp" {
			return "", quoteShort(s) + ": the only query is ?transport=udp or ?transport=tcp" + turnURIHint
		}
	}
	if scheme == "turns" && transport == "udp" {
		return "", quoteShort(s) + ": turns over UDP is DTLS, which sipedge's TURN does not offer"
	}
	u := scheme + ":" + host
	if port != 0 {
		u += ":" + strconv.Itoa(port)
	}
	if transport != "" {
		u += "?transport=" + transport
	}
	return u, ""
}

// ValidHost reports whether h is a host name, an IPv4 address or a
// bracketed IPv6 address without a zone: what may stand as the host of a
// URI sipedge hands out.
func ValidHost(h string) bool { return validHost(h) }
