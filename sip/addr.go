package sip

import "strings"

// Addr is a name-addr or addr-spec with its header parameters, as in
// From, To, Contact, Route, Record-Route and Path (RFC 3261 §20.10).
type Addr struct {
	// Display is the display name as written, quotes included; "" when
	// absent. DisplayName returns it unquoted.
	Display string
	URI     URI
	// Params are the header parameters after the address (";tag=...",
	// ";expires=...", ";+sip.instance=...").
	Params Params
	// Wildcard is set for "Contact: *"; URI and Display are empty then.
	Wildcard bool
}

// Tag returns the tag parameter ("" when absent).
func (a *Addr) Tag() string {
	v, _ := a.Params.Get("tag")
	return v
}

// Expires returns the expires parameter of a Contact (delta-seconds up to
// 2**32-1) and whether it is present and well-formed.
func (a *Addr) Expires() (uint32, bool) {
	v, _ := a.Params.Get("expires") // absent or empty fails parseUint
	n, ok := parseUint(v, 1<<32-1)
	return uint32(n), ok
}

// Q returns a Contact's q parameter in thousandths (q=0.5 gives 500), and
// whether it is present and well-formed (RFC 3261 §20.10: 0 to 1, at most
// three decimals).
func (a *Addr) Q() (int, bool) {
	v, ok := a.Params.Get("q")
	if !ok || v == "" {
		return 0, false
	}
	whole, frac, _ := strings.Cut(v, ".")
	if (whole != "0" && whole != "1") || len(frac) > 3 {
		return 0, false
	}
	n := int(whole[0]-'0') * 1000
	scale := 100
	for i := 0; i < len(frac); i++ {
		if !isDigit(frac[i]) {
			return 0, false
		}
		n += int(frac[i]-'0') * scale
		scale /= 10
	}
	if n > 1000 {
		return 0, false
	}
	return n, true
}

// Instance returns the +sip.instance parameter without its quotes and
// angle brackets ("urn:uuid:..."), RFC 5626 §4.1.
func (a *Addr) Instance() string {
	v, _ := a.Params.Get("+sip.instance")
	if len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>' {
		v = v[1 : len(v)-1]
	}
	return v
}

// RegID returns the reg-id parameter (RFC 5626: 1 to 2**31-1) and whether
// it is present and well-formed.
func (a *Addr) RegID() (uint32, bool) {
	v, _ := a.Params.Get("reg-id") // absent or empty fails parseUint
	n, ok := parseUint(v, 1<<31-1)
	return uint32(n), ok && n > 0
}

// PubGRUU returns the pub-gruu parameter (RFC 5627), unquoted.
func (a *Addr) PubGRUU() string { v, _ := a.Params.Get("pub-gruu"); return v }

// TempGRUU returns the temp-gruu parameter (RFC 5627), unquoted.
func (a *Addr) TempGRUU() string { v, _ := a.Params.Get("temp-gruu"); return v }

// DisplayName returns the display name without quotes and escapes.
func (a *Addr) DisplayName() string { return Unquote(a.Display) }

// ParseAddr parses a name-addr or addr-spec with header parameters, using
// the default limits.
func ParseAddr(s string) (Addr, error) {
	var a Addr
	if err := parseAddr(s, &a, &defaultLimits); err != nil {
		return Addr{}, err
	}
	return a, nil
}

// parseAddr parses s into a, which must be the zero Addr (every caller
// passes a fresh one, so no time goes on clearing it).
func parseAddr(s string, a *Addr, l *Limits) *ParseError {
	return parseAddrNotes(s, a, l, nil)
}

// parseAddrNotes is parseAddr that also takes notes of the header
// parameters (see paramNotes).
func parseAddrNotes(s string, a *Addr, l *Limits, notes *paramNotes) *ParseError {
	s = trimLWS(s)
	if s == "" {
		return errBad("empty address")
	}
	if s == "*" {
		a.Wildcard = true
		return nil
	}
	var uri, params string
	switch {
	case s[0] == '<':
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			return errBad("missing > in address")
		}
		uri, params = s[1:gt], s[gt+1:]
	case s[0] == '"':
		e, ok := scanQuoted(s)
		if e < 0 {
			return errBad("unterminated quoted display name")
		}
		if !ok {
			return errBad("malformed display name")
		}
		a.Display = s[:e]
		rest := s[skipLWS(s, e):]
		if rest == "" || rest[0] != '<' {
			return errBad("missing < after display name")
		}
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			return errBad("missing > in address")
		}
		uri, params = rest[1:gt], rest[gt+1:]
	default:
		// A '<' after a ';' or '"' belongs to a quoted header parameter of
		// an addr-spec, not to a name-addr.
		lt := strings.IndexByte(s, '<')
		if lt > 0 && strings.IndexByte(s[:lt], ';') < 0 && strings.IndexByte(s[:lt], '"') < 0 {
			disp := trimLWS(s[:lt])
			for i := 0; i < len(disp); i++ {
				if !isToken(disp[i]) && !isLWSByte(disp[i]) {
					return errBad("malformed display name")
				}
			}
			a.Display = disp
			gt := strings.IndexByte(s[lt:], '>')
			if gt < 0 {
				return errBad("missing > in address")
			}
			uri, params = s[lt+1:lt+gt], s[lt+gt+1:]
			break
		}
		// addr-spec: parameters after the URI belong to the header field.
		end := strings.IndexByte(s, ';')
		if end < 0 {
			end = len(s)
		}
		uri, params = trimLWS(s[:end]), s[end:]
		if strings.ContainsAny(uri, " \t,?") {
			return errBad("address with , ? or ; must be in angle brackets")
		}
	}
	if err := parseURI(uri, &a.URI, l); err != nil {
		return err
	}
	if err := checkParams(params, l.MaxParams, notes); err != nil {
		return err
	}
	a.Params = Params(trimLWS(params))
	return nil
}

// scanQuoted reads the quoted-string at the start of s and returns the
// index just past it (-1 when it is not terminated) and whether its inside
// is valid: qdtext and quoted-pairs, no control characters but HTAB (and
// the CR and LF of a folded line), UTF-8 allowed.
func scanQuoted(s string) (int, bool) {
	ok := true
	for i := 1; i < len(s); i++ {
		for uint(i) < uint(len(s)) && charClass[s[i]]&cQuoted != 0 {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			return i + 1, ok
		case c == '\\':
			i++
			if i < len(s) && (s[i] == '\r' || s[i] == '\n') {
				ok = false
			}
		case c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f:
			ok = false
		}
	}
	return -1, false
}

// String returns the address in name-addr form.
func (a Addr) String() string { return string(a.AppendTo(nil)) }

// AppendTo appends the address in name-addr form (angle brackets always,
// so URI parameters are never mistaken for header parameters).
func (a *Addr) AppendTo(b []byte) []byte {
	if a.Wildcard {
		return append(b, '*')
	}
	if a.Display != "" {
		b = append(b, a.Display...)
		b = append(b, ' ')
	}
	b = append(b, '<')
	b = a.URI.AppendTo(b)
	b = append(b, '>')
	return append(b, a.Params...)
}
