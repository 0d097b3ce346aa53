package sip

import (
	"iter"
	"strings"
)

// Auth is one digest challenge (WWW-Authenticate, Proxy-Authenticate) or
// one set of credentials (Authorization, Proxy-Authorization), RFC 3261
// §25.1 and RFC 7616.
type Auth struct {
	// Scheme as written, normally "Digest".
	Scheme string
	// Params holds the comma-separated auth-params as written.
	Params string
}

// ParseAuth parses a challenge or credentials value.
func ParseAuth(s string) (Auth, error) {
	a, err := parseAuth(s)
	if err != nil {
		return Auth{}, err
	}
	return a, nil
}

func parseAuth(s string) (Auth, *ParseError) {
	s = trimLWS(s)
	i := 0
	for i < len(s) && isToken(s[i]) {
		i++
	}
	if i == 0 || i < len(s) && !isLWSByte(s[i]) {
		return Auth{}, errBad("malformed authentication scheme")
	}
	a := Auth{Scheme: s[:i], Params: trimLWS(s[i:])}
	var bad bool
	a.each(func(name, value string) bool {
		if !allToken(name) || value == "" ||
			value[0] == '"' && quotedEnd(value, 0) != len(value) ||
			value[0] != '"' && !allToken(value) {
			bad = true
		}
		return !bad
	})
	if bad {
		return Auth{}, errBad("malformed authentication parameters")
	}
	return a, nil
}

// IsDigest reports whether the scheme is Digest.
func (a *Auth) IsDigest() bool { return strings.EqualFold(a.Scheme, "Digest") }

// Param returns the value of auth-param name (case-insensitive), without
// the quotes of a quoted-string; escapes are resolved only when present.
func (a *Auth) Param(name string) (string, bool) {
	var v string
	var found bool
	a.each(func(n, value string) bool {
		if strings.EqualFold(n, name) {
			v, found = Unquote(value), true
			return false
		}
		return true
	})
	return v, found
}

// each calls f with every auth-param's name and raw value, in order.
func (a *Auth) each(f func(name, value string) bool) {
	rest := a.Params
	for rest != "" {
		first, r, ok := splitFirst(rest)
		if !ok {
			f("", "")
			return
		}
		rest = r
		if first == "" {
			continue
		}
		n, v, _ := strings.Cut(first, "=")
		if !f(trimLWS(n), trimLWS(v)) {
			return
		}
	}
}

// Auths yields each challenge or credentials value of header h
// (HeaderWWWAuthenticate, HeaderProxyAuthenticate, HeaderAuthorization,
// HeaderProxyAuthorization).
func (m *Message) Auths(h Header) iter.Seq2[Auth, error] {
	return func(yield func(Auth, error) bool) {
		for i := range m.fields {
			if m.fields[i].key != h {
				continue
			}
			a, err := parseAuth(m.fieldValue(&m.fields[i]))
			if err != nil {
				yield(Auth{}, err)
				return
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}
