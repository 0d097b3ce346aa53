package sip

import "strings"

// Character classes of RFC 3261 §25.1, as bits of charClass.
const (
	cToken      = 1 << iota // token
	cUnreserved             // unreserved (alphanum / mark)
	cUser                   // user-unreserved
	cPassword               // password extras
	cParam                  // param-unreserved
	cHeader                 // hnv-unreserved
	cWord                   // word (Call-ID)
	cHost                   // hostname and IPv6 reference characters
	cDigit
	cLWS       // SP, HTAB, CR, LF
	cNameStop  // ends a parameter name: "=", ";" or LWS
	cValueStop // ends an unquoted parameter value: ";" or LWS
	cAlnum
	cQuoted // needs no second look inside a quoted-string: printable but '"' and '\\', or not ASCII
)

// charClass is written once at package initialisation and only read after.
var charClass = func() (t [256]uint16) {
	set := func(chars string, bits uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= bits
		}
	}
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	set(alnum, cToken|cUnreserved|cWord|cHost)
	set("0123456789", cDigit)
	set(alnum, cAlnum)
	set("-.!%*_+`'~", cToken)
	set("-_.!~*'()", cUnreserved)
	set("&=+$,;?/", cUser)
	set("&=+$,", cPassword)
	set("[]/:&+$", cParam)
	set("[]/?:+$", cHeader)
	set("-.!%*_+`'~()<>:\\\"/[]?{}", cWord)
	set("-.:[]", cHost)
	set(" \t\r\n", cLWS|cNameStop|cValueStop)
	set("=;", cNameStop)
	set(";", cValueStop)
	for c := 0x20; c < 0x100; c++ {
		if c != '"' && c != '\\' && c != 0x7f {
			t[c] |= cQuoted
		}
	}
	return t
}()

func isToken(c byte) bool { return charClass[c]&cToken != 0 }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isWSP(c byte) bool   { return c == ' ' || c == '\t' }
func isHex(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

// Unhex returns the value of the hex digit c (either case) and whether c is
// one, for the packages that read %-escapes and hex digests beside the
// parser (registrar, auth).
func Unhex(c byte) (byte, bool) {
	if !isHex(c) {
		return 0, false
	}
	return unhex(c), true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// allToken reports whether s is a non-empty token.
func allToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isToken(s[i]) {
			return false
		}
	}
	return true
}

// validEscaped reports whether every byte of s is in class bits or is part
// of an escaped triplet "%" HEX HEX.
func validEscaped(s string, bits uint16) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if charClass[c]&bits != 0 {
			continue
		}
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			i += 2
			continue
		}
		return false
	}
	return true
}

// trimLWS removes leading and trailing white space (SP, HTAB, CR, LF).
func trimLWS(s string) string {
	i, j := lwsBounds(s, 0, len(s))
	return s[i:j]
}

// lwsBounds returns s[i:j] without its leading and trailing LWS, as
// indexes into s.
func lwsBounds(s string, i, j int) (int, int) {
	for i < j && isLWSByte(s[i]) {
		i++
	}
	for j > i && isLWSByte(s[j-1]) {
		j--
	}
	return i, j
}

// isLWSByte reports SP, HTAB, CR and LF; every other byte above SP is
// turned away by one compare.
func isLWSByte(c byte) bool { return c <= ' ' && charClass[c]&cLWS != 0 }

func skipLWS(s string, i int) int {
	for uint(i) < uint(len(s)) && isLWSByte(s[i]) {
		i++
	}
	return i
}

// parseUint parses 1*DIGIT up to max; ok is false for an empty string,
// any other character, or a value over max.
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > max {
			return 0, false
		}
	}
	return v, true
}

// quotedEnd returns the index just past the quoted-string that starts at
// s[i] == '"', or -1 when it is not terminated.
func quotedEnd(s string, i int) int {
	// Straight to the first quote or backslash; only a backslash needs the
	// walk below.
	j := i + 1
	if k := indexQuote(s[j:]); k < 0 {
		return -1
	} else if j += k; s[j] == '"' {
		return j + 1
	}
	for k := j; k < len(s); k++ {
		switch s[k] {
		case '\\':
			k++
		case '"':
			return k + 1
		}
	}
	return -1
}

// nextComma returns the index of the first comma of s at top level, outside
// quoted strings and angle brackets, or len(s); -1 when a quote or bracket
// is left open.
func nextComma(s string) int {
	k := indexListByte(s)
	switch {
	case k < 0:
		return len(s)
	case s[k] == ',':
		// A comma with no quote or bracket before it is the separator.
		return k
	case strings.IndexByte(s[k:], ',') < 0:
		// One element; its own parser checks its quotes and brackets.
		return len(s)
	}
	// The bytes before k hold none of the three.
	for i := k; i < len(s); i++ {
		switch s[i] {
		case ',':
			return i
		case '"':
			e := quotedEnd(s, i)
			if e < 0 {
				return -1
			}
			i = e - 1
		case '<':
			e := strings.IndexByte(s[i:], '>')
			if e < 0 {
				return -1
			}
			i += e
		}
	}
	return len(s)
}

// splitFirst splits a comma-separated header value into its first element
// and the rest (both trimmed). ok is false on an open quote or bracket.
func splitFirst(s string) (first, rest string, ok bool) {
	c := nextComma(s)
	if c < 0 {
		return "", "", false
	}
	if c == len(s) {
		return trimLWS(s), "", true
	}
	return trimLWS(s[:c]), trimLWS(s[c+1:]), true
}

// firstElement returns what splitFirst gives as the first element. The
// usual list of addresses, "<uri>;params, <uri>...", needs no walk: the
// first comma comes after the first '>' with no quote or '<' between.
func firstElement(s string) (string, bool) {
	c := strings.IndexByte(s, ',')
	if c < 0 {
		return trimLWS(s), true
	}
	if s[0] == '<' {
		if gt := strings.IndexByte(s[:c], '>'); gt > 0 {
			// The gap holds no comma (c is the first): a search for the
			// three list bytes finds a quote or bracket only.
			if between := s[gt+1 : c]; between == "" || indexListByte(between) < 0 {
				return trimLWS(s[:c]), true
			}
		}
	}
	first, _, ok := splitFirst(s)
	return first, ok
}

// Unquote returns the content of a quoted-string with its quoted-pairs
// resolved; a string that is not quoted is returned as it is. It allocates
// only when s holds a backslash escape.
func Unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Quote returns s as a quoted-string, escaping '"' and '\'.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
