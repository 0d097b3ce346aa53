package config

import (
	"fmt"
	"strings"
)

// repro's WebSocket cookie authentication (resip's WsCookieContextFactory
// and repro's ReproRunner): the defaults of the cookie names and of the
// header that must repeat the extra cookie.
const (
	defaultWSCookieNameInfo        = "WSSessionInfo"
	defaultWSCookieNameExtra       = "WSSessionExtra"
	defaultWSCookieNameMac         = "WSSessionMAC"
	defaultWSCookieExtraHeaderName = "X-WS-Session-Extra"
	// wsCookieSecretKey is, like FlowTokenSecret, a key whose value no
	// message repeats.
	wsCookieSecretKey = "WSCookieAuthSharedSecret"
	// minWSCookieSecret is the length below which the secret gets a
	// warning: one cookie is enough to guess a short key offline.
	minWSCookieSecret = 16
)

// wsCookie reads WSCookieAuthSharedSecret and the keys that go with it.
func (b *builder) wsCookie(c *Config) {
	c.WSCookieNameInfo = defaultWSCookieNameInfo
	c.WSCookieNameExtra = defaultWSCookieNameExtra
	c.WSCookieNameMac = defaultWSCookieNameMac
	c.WSCookieExtraHeaderName = defaultWSCookieExtraHeaderName
	secret := b.get(wsCookieSecretKey)
	if secret != nil {
		switch {
		case secret.value == "":
			b.bad(secret, "empty value: remove the line to turn WebSocket cookie authentication off")
		case len(secret.value) < minWSCookieSecret:
			c.WSCookieAuthSecret = []byte(secret.value)
			c.Warnings = append(c.Warnings, &Error{File: secret.pos.File, Line: secret.pos.Line, Key: secret.ref.name,
				Msg: fmt.Sprintf("%d bytes: a secret shorter than %d can be found from one cookie by trying keys; make one with: openssl rand -hex 32",
					len(secret.value), minWSCookieSecret)})
		default:
			c.WSCookieAuthSecret = []byte(secret.value)
		}
	}
	names := []struct {
		key string
		dst *string
	}{
		{"WSCookieNameInfo", &c.WSCookieNameInfo},
		{"WSCookieNameExtra", &c.WSCookieNameExtra},
		{"WSCookieNameMac", &c.WSCookieNameMac},
	}
	for _, n := range names {
		e := b.get(n.key)
		if e == nil {
			continue
		}
		switch {
		case secret == nil:
			b.bad(e, "set, but %s is not: cookie authentication is off", wsCookieSecretKey)
		case b.empty(e, *n.dst):
		case !isToken(e.value):
			b.bad(e, "%s is not a cookie name (letters, digits and -.!%%*_+`'~)", quoteShort(e.value))
		default:
			*n.dst = e.value
		}
	}
	for i, n := range names {
		for _, prev := range names[:i] {
			if !strings.EqualFold(*n.dst, *prev.dst) {
				continue
			}
			if e := b.get(n.key); e != nil {
				b.bad(e, "the same cookie name as %s", prev.key)
			} else if e := b.get(prev.key); e != nil {
				b.bad(e, "the same cookie name as %s (default %s)", n.key, *n.dst)
			}
		}
	}
	if e := b.get("WSCookieExtraHeaderName"); e != nil {
		switch {
		case secret == nil:
			b.bad(e, "set, but %s is not: cookie authentication is off", wsCookieSecretKey)
		case e.value == "":
			c.WSCookieExtraHeaderName = "" // as in repro: no header check
		case !isToken(e.value):
			b.bad(e, "%s is not a header name (letters, digits and -.!%%*_+`'~)", quoteShort(e.value))
		default:
			c.WSCookieExtraHeaderName = e.value
		}
	}
}
