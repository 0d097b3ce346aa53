package sip

import "strings"

// Params holds parameters exactly as written: "" or ";name=value;flag...".
// Names compare case-insensitively. Values are returned without the quotes
// of a quoted-string (escapes are left in place; see Unquote).
type Params string

// Get returns the value of parameter name and whether it is present; a
// parameter without a value (";lr") gives "", true.
func (p Params) Get(name string) (string, bool) {
	s := string(p)
	// A name that nextParam could not return is compared only by the
	// general walk below; any other is looked for in place, so that only
	// the parameters before it are read whole.
	inPlace := name != ""
	for k := 0; k < len(name) && inPlace; k++ {
		inPlace = charClass[name[k]]&cNameStop == 0
	}
	for i := 0; i < len(s); {
		if inPlace {
			j := skipLWS(s, i)
			if j < len(s) && s[j] == ';' {
				j = skipLWS(s, j+1)
				if e := j + len(name); e <= len(s) && (e == len(s) || charClass[s[e]]&cNameStop != 0) && equalFoldASCII(s[j:e], name) {
					v, _, _, ok := paramValueAt(s, e)
					if !ok {
						return "", false
					}
					return stripQuotes(v), true
				}
			}
		}
		n, v, _, next, ok := nextParam(s, i)
		if !ok {
			return "", false
		}
		if !inPlace && equalFoldASCII(n, name) {
			return stripQuotes(v), true
		}
		i = next
	}
	return "", false
}

// equalFoldASCII compares a and b ignoring the case of ASCII letters.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if a == b {
		return true
	}
	for i := 0; i < len(a); i++ {
		if x, y := a[i], b[i]; x != y && lowerASCII(x) != lowerASCII(y) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Has reports whether parameter name is present.
func (p Params) Has(name string) bool {
	_, ok := p.Get(name)
	return ok
}

// Len returns the number of parameters.
func (p Params) Len() int {
	n := 0
	p.each(func(string, string, bool) bool { n++; return true })
	return n
}

// each calls f for every parameter, with name and value trimmed and the
// value's quotes kept, until f returns false.
func (p Params) each(f func(name, value string, hasValue bool) bool) {
	s := string(p)
	for i := 0; i < len(s); {
		n, v, hasV, next, ok := nextParam(s, i)
		if !ok || !f(n, v, hasV) {
			return
		}
		i = next
	}
}

// nextParam reads the parameter at s[i:]: optional white space, ';', a
// name, and an optional "=" value (see paramValueAt). next is where the
// following one starts; ok is false when s[i:] holds no well-formed
// parameter.
func nextParam(s string, i int) (name, value string, hasValue bool, next int, ok bool) {
	i = skipLWS(s, i)
	if i >= len(s) || s[i] != ';' {
		return "", "", false, i, false
	}
	i = skipLWS(s, i+1)
	start := i
	for uint(i) < uint(len(s)) && charClass[s[i]]&cNameStop == 0 {
		i++
	}
	value, hasValue, next, ok = paramValueAt(s, i)
	return s[start:i], value, hasValue, next, ok
}

// paramValueAt reads what follows a parameter name that ends at s[i]:
// optional white space and an "=" value (a quoted-string, or anything up
// to the next ';' or white space), then white space. next is where the
// following parameter starts; ok is false for a quoted-string left open,
// and value is then the rest of s.
func paramValueAt(s string, i int) (value string, hasValue bool, next int, ok bool) {
	i = skipLWS(s, i)
	if i >= len(s) || s[i] != '=' {
		return "", false, i, true
	}
	i = skipLWS(s, i+1)
	start := i
	if i < len(s) && s[i] == '"' {
		e := quotedEnd(s, i)
		if e < 0 {
			return s[start:], true, len(s), false
		}
		i = e
	} else {
		for uint(i) < uint(len(s)) && charClass[s[i]]&cValueStop == 0 {
			i++
		}
	}
	return s[start:i], true, skipLWS(s, i), true
}

// With returns p with parameter name set to value (replacing an existing
// one in place, else appended). An empty value gives a flag parameter.
func (p Params) With(name, value string) Params {
	var b strings.Builder
	b.Grow(len(p) + len(name) + len(value) + 2)
	found := false
	p.each(func(n, v string, hasV bool) bool {
		b.WriteByte(';')
		if !found && strings.EqualFold(n, name) {
			found = true
			writeParam(&b, n, value)
			return true
		}
		b.WriteString(n)
		if hasV {
			b.WriteByte('=')
			b.WriteString(v)
		}
		return true
	})
	if !found {
		b.WriteByte(';')
		writeParam(&b, name, value)
	}
	return Params(b.String())
}

// Without returns p without parameter name.
func (p Params) Without(name string) Params {
	if !p.Has(name) {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	p.each(func(n, v string, hasV bool) bool {
		if strings.EqualFold(n, name) {
			return true
		}
		b.WriteByte(';')
		b.WriteString(n)
		if hasV {
			b.WriteByte('=')
			b.WriteString(v)
		}
		return true
	})
	return Params(b.String())
}

func writeParam(b *strings.Builder, name, value string) {
	b.WriteString(name)
	if value != "" {
		b.WriteByte('=')
		b.WriteString(value)
	}
}

// paramNotes takes from checkParams the first of the parameters the typed
// views read on every message, so that they need no second search. A
// value comes as Params.Get gives it.
type paramNotes struct {
	// via selects the Via rules: a bare IPv6 received, and the ranges of
	// ttl and rport.
	via    bool
	branch string
	tag    string
	hasTag bool
	// rport is -1 when absent and 0 when it has no value.
	rport int32
}

// checkParams validates generic-params (RFC 3261 §25.1) in one pass,
// *( SEMI token [ EQUAL ( token / host / quoted-string ) ] ); with notes it also
// records branch, rport and tag (and applies the Via rules when asked).
func checkParams(p string, max int, notes *paramNotes) *ParseError {
	via := notes != nil && notes.via
	if notes != nil {
		notes.branch, notes.tag, notes.hasTag, notes.rport = "", "", false, -1
	}
	seenBranch := false
	n := 0
	for i := skipLWS(p, 0); i < len(p); {
		if p[i] != ';' {
			return errBad("malformed parameters")
		}
		i = skipLWS(p, i+1)
		start := i
		for uint(i) < uint(len(p)) && isToken(p[i]) {
			i++
		}
		name := p[start:i]
		if name == "" || i < len(p) && charClass[p[i]]&cNameStop == 0 {
			return errBad("malformed parameter name")
		}
		if n++; n > max {
			return errBad("too many parameters")
		}
		i = skipLWS(p, i)
		hasV := i < len(p) && p[i] == '='
		if hasV {
			i = skipLWS(p, i+1)
		}
		start = i
		switch {
		case !hasV:
		case i < len(p) && p[i] == '"':
			if i = quotedEnd(p, i); i < 0 {
				return errBad("malformed parameters")
			}
		default:
			for uint(i) < uint(len(p)) && isToken(p[i]) {
				i++
			}
			if i == start || i < len(p) && charClass[p[i]]&cValueStop == 0 {
				// Not a token: an IPv6 reference, or a Via's bare IPv6
				// received.
				for uint(i) < uint(len(p)) && charClass[p[i]]&cValueStop == 0 {
					i++
				}
				v := p[start:i]
				ipv6Ref := len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' && validIPv6(v[1:len(v)-1])
				if !ipv6Ref && !(via && len(name) == 8 && equalFoldASCII(name, "received") && validIPv6(v)) {
					return errBad("malformed parameter value")
				}
			}
		}
		if notes != nil {
			v := p[start:i]
			switch {
			case len(name) == 6 && !seenBranch && (name == "branch" || equalFoldASCII(name, "branch")):
				seenBranch, notes.branch = true, stripQuotes(v)
			case len(name) == 3 && !notes.hasTag && (name == "tag" || equalFoldASCII(name, "tag")):
				notes.hasTag, notes.tag = true, stripQuotes(v)
			case !via:
			case len(name) == 3 && equalFoldASCII(name, "ttl"):
				if _, ok := parseUint(v, 255); !ok {
					return errBad("malformed Via ttl")
				}
			case len(name) == 5 && (name == "rport" || equalFoldASCII(name, "rport")):
				port, ok := parseUint(v, 65535)
				if hasV && !ok {
					return errBad("malformed Via rport")
				}
				if notes.rport < 0 {
					notes.rport = int32(port)
				}
			}
		}
		i = skipLWS(p, i)
	}
	return nil
}

// stripQuotes strips the quotes of a quoted-string value, as Get does.
func stripQuotes(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// checkURIParams validates uri-parameters: *( ";" pname [ "=" pvalue ] )
// with paramchar = param-unreserved / unreserved / escaped.
func checkURIParams(p string, max int) *ParseError {
	end, err := scanURIParams(p, max)
	if err == nil && end < len(p) {
		err = errBad("malformed URI parameter")
	}
	return err
}

// scanURIParams validates the uri-parameters at the start of p and returns
// where they end: at the end of p or at a "?" that starts URI headers.
func scanURIParams(p string, max int) (int, *ParseError) {
	n := 0
	i := 0
	for uint(i) < uint(len(p)) && p[i] != '?' {
		if p[i] != ';' {
			return 0, errBad("malformed URI parameters")
		}
		if n++; n > max {
			return 0, errBad("too many URI parameters")
		}
		i++
		start, eq := i, -1
		for {
			// A run of paramchars, then the byte that ends it.
			for uint(i) < uint(len(p)) && charClass[p[i]]&(cUnreserved|cParam) != 0 {
				i++
			}
			if i == len(p) || p[i] == ';' || p[i] == '?' {
				break
			}
			switch c := p[i]; {
			case c == '=' && eq < 0:
				eq = i
				i++
			case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
				i += 3
			default:
				return 0, errBad("malformed URI parameter")
			}
		}
		if i == start || eq == start || eq == i-1 {
			return 0, errBad("malformed URI parameter")
		}
	}
	return i, nil
}
