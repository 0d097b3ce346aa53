package auth

import (
	"strings"

	"github.com/sipedge/sipedge/sip"
)

// scanParams calls f with each auth-param of a (already validated by the
// sip parser: token "=" (token / quoted-string), comma-separated, with
// LWS), its value unquoted. It returns false, without calling f further,
// when the list does not have that shape.
func scanParams(a *sip.Auth, f func(name, value string)) bool {
	s := a.Params
	i := 0
	for {
		for i < len(s) && (s[i] == ',' || isLWS(s[i])) {
			i++
		}
		if i == len(s) {
			return true
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' && !isLWS(s[i]) {
			i++
		}
		name := s[start:i]
		for i < len(s) && isLWS(s[i]) {
			i++
		}
		if name == "" || i == len(s) || s[i] != '=' {
			return false
		}
		i++
		for i < len(s) && isLWS(s[i]) {
			i++
		}
		var value string
		if i < len(s) && s[i] == '"' {
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return false
			}
			value = sip.Unquote(s[i : j+1])
			i = j + 1
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !isLWS(s[i]) {
				i++
			}
			value = s[start:i]
		}
		for i < len(s) && isLWS(s[i]) {
			i++
		}
		if i < len(s) && s[i] != ',' {
			return false
		}
		f(name, value)
	}
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Directive bits, to refuse credentials naming one twice.
const (
	dUser = 1 << iota
	dRealm
	dNonce
	dURI
	dResponse
	dCnonce
	dNC
	dQop
	dAlg
)

// parseCreds fills c from a; ok is false for a malformed list or a
// directive given twice (RFC 7616 §3.4: each at most once).
func parseCreds(a *sip.Auth, c *creds) (ok bool) {
	var seen uint
	dup := false
	set := func(bit uint, dst *string, v string) {
		if seen&bit != 0 {
			dup = true
		}
		seen |= bit
		*dst = v
	}
	var alg string
	valid := scanParams(a, func(name, v string) {
		switch {
		case strings.EqualFold(name, "username"):
			set(dUser, &c.user, v)
		case strings.EqualFold(name, "realm"):
			set(dRealm, &c.realm, v)
		case strings.EqualFold(name, "nonce"):
			set(dNonce, &c.nonce, v)
		case strings.EqualFold(name, "uri"):
			set(dURI, &c.uri, v)
		case strings.EqualFold(name, "response"):
			set(dResponse, &c.response, v)
		case strings.EqualFold(name, "cnonce"):
			set(dCnonce, &c.cnonce, v)
		case strings.EqualFold(name, "nc"):
			set(dNC, &c.nc, v)
		case strings.EqualFold(name, "qop"):
			set(dQop, &c.qop, v)
		case strings.EqualFold(name, "algorithm"):
			set(dAlg, &alg, v)
		}
	})
	c.hasAlg = seen&dAlg != 0
	if !c.hasAlg {
		c.alg = MD5 // RFC 7616 §3.3
	} else if x, ok := ParseAlgorithm(alg); ok {
		c.alg = x
	}
	c.hasRealm = seen&dRealm != 0
	return valid && !dup
}
