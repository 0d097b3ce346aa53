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
	for s != "" {
		// s starts at a ';' (possibly after white space).
		i := skipLWS(s, 0)
		if i >= len(s) || s[i] != ';' {
			return "", false
		}
		s = s[i+1:]
		end := paramEnd(s)
		one := s[:end]
		s = s[end:]
		n, v, hasV := strings.Cut(one, "=")
		if strings.EqualFold(trimLWS(n), name) {
			if !hasV {
				return "", true
			}
			v = trimLWS(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
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
	for s != "" {
		i := skipLWS(s, 0)
		if i >= len(s) || s[i] != ';' {
			return
		}
		s = s[i+1:]
		end := paramEnd(s)
		one := s[:end]
		s = s[end:]
		n, v, hasV := strings.Cut(one, "=")
		if !f(trimLWS(n), trimLWS(v), hasV) {
			return
		}
	}
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

// paramEnd returns the index of the ';' that ends the parameter at the
// start of s, skipping quoted strings, or len(s).
func paramEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			return i
		case '"':
			if e := quotedEnd(s, i); e > 0 {
				i = e - 1
			} else {
				return len(s)
			}
		}
	}
	return len(s)
}

// checkHeaderParams validates generic-params (RFC 3261 §25.1):
// *( SEMI token [ EQUAL ( token / host / quoted-string ) ] ).
func checkHeaderParams(p string, max int) *ParseError {
	n := 0
	s := p
	for {
		i := skipLWS(s, 0)
		if i == len(s) {
			return nil
		}
		if s[i] != ';' {
			return errBad("malformed parameters")
		}
		n++
		if n > max {
			return errBad("too many parameters")
		}
		s = s[i+1:]
		end := paramEnd(s)
		name, value, hasV := strings.Cut(s[:end], "=")
		if !allToken(trimLWS(name)) {
			return errBad("malformed parameter name")
		}
		if hasV {
			v := trimLWS(value)
			switch {
			case v == "":
				return errBad("empty parameter value")
			case v[0] == '"':
				if quotedEnd(v, 0) != len(v) {
					return errBad("unterminated quoted string")
				}
			case v[0] == '[':
				if v[len(v)-1] != ']' || !validIPv6(v[1:len(v)-1]) {
					return errBad("malformed parameter value")
				}
			case !allToken(v):
				return errBad("malformed parameter value")
			}
		}
		s = s[end:]
	}
}

// checkURIParams validates uri-parameters: *( ";" pname [ "=" pvalue ] )
// with paramchar = param-unreserved / unreserved / escaped.
func checkURIParams(p string, max int) *ParseError {
	n := 0
	s := p
	for s != "" {
		if s[0] != ';' {
			return errBad("malformed URI parameters")
		}
		n++
		if n > max {
			return errBad("too many URI parameters")
		}
		s = s[1:]
		end := strings.IndexByte(s, ';')
		if end < 0 {
			end = len(s)
		}
		name, value, hasV := strings.Cut(s[:end], "=")
		if name == "" || !validEscaped(name, cUnreserved|cParam) {
			return errBad("malformed URI parameter")
		}
		if hasV && (value == "" || !validEscaped(value, cUnreserved|cParam)) {
			return errBad("malformed URI parameter value")
		}
		s = s[end:]
	}
	return nil
}
