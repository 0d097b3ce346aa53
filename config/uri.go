package config

import (
	"net/netip"
	"strings"
)

// checkSIPURI checks that s is a sip: or sips: URI with a host, as a
// Record-Route or next-hop URI must be; it returns "" or the reason. The sip
// package parses URIs for real; config sits below it, so this is a strict
// shape check of RFC 3261's SIP-URI: scheme, optional userinfo, host,
// optional port and ;parameters, no headers.
func checkSIPURI(s string) string {
	const want = " (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)"
	bad := quoteShort(s) + " is not a SIP URI" + want
	var rest string
	switch {
	case len(s) > 4 && strings.EqualFold(s[:4], "sip:"):
		rest = s[4:]
	case len(s) > 5 && strings.EqualFold(s[:5], "sips:"):
		rest = s[5:]
	default:
		return bad
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '?' {
			return bad
		}
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		if at == 0 {
			return bad
		}
		hostport = hostport[at+1:]
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return bad
		}
		host, port = hostport[:end+1], hostport[end+1:]
		if port != "" && port[0] != ':' {
			return bad
		}
	} else if i := strings.IndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i:]
	}
	if !validHost(host) {
		return quoteShort(s) + " has no valid host" + want
	}
	if port != "" {
		if _, ok := number(port[1:], 1, 65535); !ok {
			return quoteShort(s) + " has a bad port (1-65535)"
		}
	}
	if params != "" {
		for _, p := range strings.Split(params, ";") {
			name, _, _ := strings.Cut(p, "=")
			if !isToken(name) {
				return quoteShort(s) + " has a bad parameter " + quoteShort(p)
			}
		}
	}
	return ""
}

// validHost accepts a host name, an IPv4 address or an IPv6 address, bare
// or in brackets.
func validHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return false
		}
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isToken reports whether s is a non-empty RFC 3261 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}
