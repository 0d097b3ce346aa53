package registrar

import (
	"strings"

	"github.com/sipedge/sipedge/sip"
)

// AOR returns the canonical address-of-record for u (RFC 3261 §10.3 step
// 5), the key bindings are stored under: "sip:" + user + "@" + lower-case
// host, without port, parameters or headers. sips becomes sip, so that a
// user registering over TLS is found by a plain sip request. In the user
// part, %-escapes of unreserved characters are decoded and the others get
// upper-case hex, so that two spellings §19.1.4 calls equal give one key.
// A URI without a user gives "sip:" + host; one that is not sip or sips
// gives "".
func AOR(u *sip.URI) string {
	if u == nil || !u.IsSIP() {
		return ""
	}
	var b strings.Builder
	b.Grow(len("sip:@") + len(u.User) + len(u.Host))
	b.WriteString("sip:")
	if u.User != "" {
		writeUser(&b, u.User)
		b.WriteByte('@')
	}
	for i := 0; i < len(u.Host); i++ {
		c := u.Host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// writeUser writes a user part with unreserved characters unescaped and
// the remaining escapes in upper-case hex.
func writeUser(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := sip.Unhex(s[i+1])
			lo, ok2 := sip.Unhex(s[i+2])
			if ok1 && ok2 {
				d := hi<<4 | lo
				if unreserved(d) {
					b.WriteByte(d)
				} else {
					const hexDigits = "0123456789ABCDEF"
					b.WriteByte('%')
					b.WriteByte(hexDigits[d>>4])
					b.WriteByte(hexDigits[d&15])
				}
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
}

// unreserved reports whether c is in RFC 3261's unreserved set
// (alphanum and mark).
func unreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}
