package sip

import (
	"net/netip"
	"strconv"
	"strings"
)

// URI is a sip, sips or tel URI (RFC 3261 §19.1, RFC 3966), or any other
// absolute URI kept opaque. Fields hold the text as written, escapes
// included; Host keeps the brackets of an IPv6 reference.
type URI struct {
	// Scheme as written: "sip", "sips", "tel", or another scheme.
	Scheme string
	// User is the user part of a sip/sips URI, or the number of a tel URI.
	User string
	// Password follows "user:" in the userinfo; rarely used, never logged.
	Password string
	Host     string
	// Port is 0 when the URI carries none.
	Port int
	// Params holds the uri-parameters (";transport=ws;lr;ob").
	Params Params
	// Headers holds what follows "?", without the "?".
	Headers string
	// Opaque holds everything after "scheme:" for schemes other than
	// sip, sips and tel.
	Opaque string
	// emptyPassword keeps "user:@host" apart from "user@host".
	emptyPassword bool
}

// ParseURI parses s with the default limits.
func ParseURI(s string) (URI, error) {
	var u URI
	if err := parseURI(s, &u, &defaultLimits); err != nil {
		return URI{}, err
	}
	return u, nil
}

// IsSIP reports whether the scheme is sip or sips.
func (u *URI) IsSIP() bool {
	return strings.EqualFold(u.Scheme, "sip") || strings.EqualFold(u.Scheme, "sips")
}

// IsSIPS reports whether the scheme is sips.
func (u *URI) IsSIPS() bool { return strings.EqualFold(u.Scheme, "sips") }

// IsTel reports whether the scheme is tel.
func (u *URI) IsTel() bool { return strings.EqualFold(u.Scheme, "tel") }

// Transport returns the transport parameter ("" when absent).
func (u *URI) Transport() string {
	v, _ := uriParam(u.Params, "transport")
	return v
}

// uriParam finds a URI parameter by name, comparing names after resolving
// escapes (";%74ransport=tcp" is a transport parameter).
func uriParam(p Params, name string) (string, bool) {
	var v string
	found := false
	p.each(func(n, val string, _ bool) bool {
		if equalEscaped(n, name, true) {
			v, found = val, true
			return false
		}
		return true
	})
	return v, found
}

// HostPort returns "host" or "host:port" as written.
func (u *URI) HostPort() string {
	if u.Port == 0 {
		return u.Host
	}
	return u.Host + ":" + strconv.Itoa(u.Port)
}

// parseURI parses s into u, which must be the zero URI (every caller
// passes a fresh one).
func parseURI(s string, u *URI, l *Limits) *ParseError {
	if len(s) > l.MaxURILength {
		return &ParseError{Status: 414, Reason: "URI too long"}
	}
	// The common schemes without a search: OR-ing 0x20 maps only capitals
	// onto the small letters.
	if len(s) > 4 {
		switch w := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24; {
		case w|0x00202020 == 's'|'i'<<8|'p'<<16|':'<<24:
			u.Scheme = s[:3]
			return parseSIPURI(s[4:], u, l)
		case w|0x20202020 == 's'|'i'<<8|'p'<<16|'s'<<24 && len(s) > 5 && s[4] == ':':
			u.Scheme = s[:4]
			return parseSIPURI(s[5:], u, l)
		}
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return errBad("malformed URI")
	}
	u.Scheme = s[:colon]
	rest := s[colon+1:]
	for i := 0; i < len(u.Scheme); i++ {
		c := u.Scheme[i]
		alpha := (c|0x20) >= 'a' && (c|0x20) <= 'z'
		if !alpha && (i == 0 || !(isDigit(c) || c == '+' || c == '-' || c == '.')) {
			return errBad("malformed URI scheme")
		}
	}
	switch {
	case u.IsSIP():
		return parseSIPURI(rest, u, l)
	case u.IsTel():
		return parseTelURI(rest, u, l)
	}
	if rest == "" {
		return errBad("malformed URI")
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' {
			return errBad("malformed URI")
		}
	}
	u.Opaque = rest
	return nil
}

func parseSIPURI(s string, u *URI, l *Limits) *ParseError {
	if at := strings.IndexByte(s, '@'); at >= 0 {
		// userinfo = user [ ":" password ], checked in one pass.
		userinfo := s[:at]
		s = s[at+1:]
		colon := -1
		class := uint16(cUnreserved | cUser)
		for i := 0; i < len(userinfo); i++ {
			// A run of plain user (then password) characters, then the
			// byte that ends it.
			for uint(i) < uint(len(userinfo)) && charClass[userinfo[i]]&class != 0 {
				i++
			}
			if i == len(userinfo) {
				break
			}
			switch c := userinfo[i]; {
			case c == ':' && colon < 0:
				colon, class = i, cUnreserved|cPassword
			case c == '%' && i+2 < len(userinfo) && isHex(userinfo[i+1]) && isHex(userinfo[i+2]):
				i += 2
			default:
				if colon < 0 {
					return errBad("malformed URI user")
				}
				return errBad("malformed URI password")
			}
		}
		switch {
		case colon == 0 || userinfo == "":
			return errBad("malformed URI user")
		case colon > 0:
			u.User, u.Password = userinfo[:colon], userinfo[colon+1:]
			u.emptyPassword = u.Password == ""
		default:
			u.User = userinfo
		}
	}
	// hostport in one pass, except for an IPv6 reference.
	var end int
	if s != "" && s[0] == '[' {
		for end < len(s) && s[end] != ';' && s[end] != '?' {
			end++
		}
		host, port, err := splitHostPort(s[:end])
		if err != nil {
			return err
		}
		u.Host, u.Port = host, port
	} else {
		n, ok := scanHostname(s)
		switch {
		case n == 0 && (n == len(s) || s[n] == ';' || s[n] == '?' || s[n] == ':'):
			return errBad("missing host")
		case !ok || n < len(s) && s[n] != ';' && s[n] != '?' && s[n] != ':':
			return errBad("malformed host")
		}
		u.Host, end = s[:n], n
		if n < len(s) && s[n] == ':' {
			end++
			for end < len(s) && isDigit(s[end]) {
				end++
			}
			p, ok := parseUint(s[n+1:end], 65535)
			if !ok || end < len(s) && s[end] != ';' && s[end] != '?' {
				return errBad("malformed port")
			}
			u.Port = int(p)
		}
	}
	s = s[end:]
	q, err := scanURIParams(s, l.MaxParams)
	if err != nil {
		return err
	}
	u.Params = Params(s[:q])
	if q < len(s) {
		u.Headers = s[q+1:]
		if err := checkURIHeaders(u.Headers); err != nil {
			return err
		}
	}
	return nil
}

// scanHostname returns the length of the hostname or IPv4 address at the
// start of s, up to the first character that cannot be part of one, and
// whether it is well-formed (labels of alphanumerics and hyphens separated
// by dots, an optional final dot; RFC 3261 §25.1).
func scanHostname(s string) (n int, ok bool) {
	prev := byte('.') // as if after a dot: no leading dot or hyphen
	for ; n < len(s); n++ {
		c := s[n]
		switch {
		case charClass[c]&cAlnum != 0:
		case c == '.':
			if prev == '.' || prev == '-' {
				return n, false
			}
		case c == '-':
			if prev == '.' {
				return n, false
			}
		default:
			return n, n > 0 && prev != '-'
		}
		prev = c
	}
	return n, n > 0 && prev != '-'
}

// splitHostPort splits hostport = host [ ":" port ] and validates both.
func splitHostPort(s string) (host string, port int, err *ParseError) {
	if s == "" {
		return "", 0, errBad("missing host")
	}
	hostEnd := len(s)
	if s[0] == '[' {
		rb := strings.IndexByte(s, ']')
		if rb < 0 || !validIPv6(s[1:rb]) {
			return "", 0, errBad("malformed IPv6 reference")
		}
		hostEnd = rb + 1
		if hostEnd < len(s) && s[hostEnd] != ':' {
			return "", 0, errBad("malformed host")
		}
	} else if c := strings.IndexByte(s, ':'); c >= 0 {
		hostEnd = c
	}
	host = s[:hostEnd]
	if host == "" {
		return "", 0, errBad("missing host")
	}
	if host[0] != '[' && !validHostname(host) {
		return "", 0, errBad("malformed host")
	}
	if hostEnd < len(s) {
		p, ok := parseUint(s[hostEnd+1:], 65535)
		if !ok {
			return "", 0, errBad("malformed port")
		}
		port = int(p)
	}
	return host, port, nil
}

// validHostname accepts hostname and IPv4address (RFC 3261 §25.1): labels
// of alphanumerics and hyphens separated by dots, an optional final dot.
func validHostname(h string) bool {
	n, ok := scanHostname(h)
	return ok && n == len(h)
}

func validIPv6(s string) bool {
	if s == "" || strings.IndexByte(s, '%') >= 0 {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

func checkURIHeaders(h string) *ParseError {
	if h == "" {
		return errBad("empty URI headers")
	}
	for h != "" {
		kv := h
		if amp := strings.IndexByte(h, '&'); amp >= 0 {
			kv, h = h[:amp], h[amp+1:]
			if h == "" {
				return errBad("malformed URI headers")
			}
		} else {
			h = ""
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || !validEscaped(name, cUnreserved|cHeader) || !validEscaped(value, cUnreserved|cHeader) {
			return errBad("malformed URI headers")
		}
	}
	return nil
}

// parseTelURI parses telephone-subscriber (RFC 3966): the number, then
// parameters.
func parseTelURI(s string, u *URI, l *Limits) *ParseError {
	end := strings.IndexByte(s, ';')
	if end < 0 {
		end = len(s)
	}
	num := s[:end]
	if num == "" {
		return errBad("malformed tel URI")
	}
	for i := 0; i < len(num); i++ {
		c := num[i]
		if !(isHex(c) || c == '+' || c == '-' || c == '.' || c == '(' || c == ')' || c == '*' || c == '#') {
			return errBad("malformed tel URI")
		}
	}
	if err := checkURIParams(s[end:], l.MaxParams); err != nil {
		return err
	}
	u.User = num
	u.Params = Params(s[end:])
	return nil
}

// String returns the URI in its text form.
func (u URI) String() string { return string(u.AppendTo(nil)) }

// AppendTo appends the text form of u to b.
func (u *URI) AppendTo(b []byte) []byte {
	b = append(b, u.Scheme...)
	b = append(b, ':')
	switch {
	case u.IsSIP():
		if u.User != "" {
			b = append(b, u.User...)
			if u.Password != "" || u.emptyPassword {
				b = append(b, ':')
				b = append(b, u.Password...)
			}
			b = append(b, '@')
		}
		b = append(b, u.Host...)
		if u.Port != 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(u.Port), 10)
		}
		b = append(b, u.Params...)
		if u.Headers != "" {
			b = append(b, '?')
			b = append(b, u.Headers...)
		}
	case u.IsTel():
		b = append(b, u.User...)
		b = append(b, u.Params...)
	default:
		b = append(b, u.Opaque...)
	}
	return b
}

// Equal compares two URIs by the rules of RFC 3261 §19.1.4 (sip, sips)
// and RFC 3966 §4 (tel); other schemes compare their text exactly.
func (u *URI) Equal(v *URI) bool {
	if !strings.EqualFold(u.Scheme, v.Scheme) {
		return false
	}
	switch {
	case u.IsSIP():
		return equalSIP(u, v)
	case u.IsTel():
		return equalTel(u, v)
	}
	return u.Opaque == v.Opaque
}

func equalSIP(u, v *URI) bool {
	if !equalEscaped(u.User, v.User, false) || !equalEscaped(u.Password, v.Password, false) ||
		!strings.EqualFold(u.Host, v.Host) || u.Port != v.Port {
		return false
	}
	// user, ttl, method, maddr and transport must appear in both or neither.
	for _, name := range [...]string{"user", "ttl", "method", "maddr", "transport"} {
		a, aok := uriParam(u.Params, name)
		b, bok := uriParam(v.Params, name)
		if aok != bok || !equalEscaped(a, b, true) {
			return false
		}
	}
	// Any other parameter present in both must match; a name given twice
	// counts with its first value, from either side.
	same := true
	u.Params.each(func(n, _ string, _ bool) bool {
		a, _ := uriParam(u.Params, n)
		if b, ok := uriParam(v.Params, n); ok && !equalEscaped(a, b, true) {
			same = false
		}
		return same
	})
	return same && equalURIHeaders(u.Headers, v.Headers)
}

// equalURIHeaders compares header components as sets of name=value.
func equalURIHeaders(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	as := strings.Split(a, "&")
	bs := strings.Split(b, "&")
	if len(as) != len(bs) {
		return false
	}
	// Each header of a must match a different header of b.
	used := make([]bool, len(bs))
	for _, x := range as {
		found := false
		for j, y := range bs {
			if !used[j] && equalEscaped(x, y, true) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// equalEscaped compares two strings after resolving %HH escapes, folding
// case when fold is set.
func equalEscaped(a, b string, fold bool) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, na := unescapeAt(a, i)
		cb, nb := unescapeAt(b, j)
		if fold {
			ca, cb = lower(ca), lower(cb)
		}
		if ca != cb {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}

// Unescape decodes the %-escapes of a URI part (a user part, a parameter
// value); a malformed escape stays as written, as URI comparison reads it
// (RFC 3261 §19.1.4). It allocates only when s has a "%".
func Unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c, n := unescapeAt(s, i)
		b = append(b, c)
		i += n
	}
	return string(b)
}

func unescapeAt(s string, i int) (byte, int) {
	if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
		return unhex(s[i+1])<<4 | unhex(s[i+2]), 3
	}
	return s[i], 1
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalTel compares tel URIs (RFC 3966 §4): numbers digit by digit without
// visual separators, parameters as sets, case-insensitively.
func equalTel(u, v *URI) bool {
	if stripVisual(u.User) != stripVisual(v.User) {
		return false
	}
	// The same names on both sides, each with its first value.
	return sameParams(u.Params, v.Params) && sameParams(v.Params, u.Params)
}

// sameParams reports whether every parameter name of a is in b with the
// same first value.
func sameParams(a, b Params) bool {
	same := true
	a.each(func(n, _ string, _ bool) bool {
		x, _ := uriParam(a, n)
		y, ok := uriParam(b, n)
		same = ok && equalEscaped(x, y, true)
		return same
	})
	return same
}

func stripVisual(s string) string {
	if !strings.ContainsAny(s, "-.()") {
		return strings.ToLower(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '-', '.', '(', ')':
		default:
			b = append(b, lower(c))
		}
	}
	return string(b)
}
