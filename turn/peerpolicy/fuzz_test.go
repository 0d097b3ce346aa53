package peerpolicy

import (
	"net/netip"
	"testing"
)

// FuzzPermit feeds Permit and Canonical any address: the text is parsed as
// an address, or else 4 or 16 bytes are taken as one.
func FuzzPermit(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:127.0.0.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"} {
		f.Add(s)
	}
	policies := []*Policy{
		New(Config{}),
		New(Config{
			Allow: []netip.Prefix{mustPrefix("127.0.0.0/8"), mustPrefix("64:ff9b::/96")},
			Deny:  []netip.Prefix{mustPrefix("2002::/16"), mustPrefix("8.8.8.8/32")},
			Own:   []netip.Addr{mustAddr("127.0.0.1"), mustAddr("2a00:1450::1")},
		}),
		New(Config{AllowPrivate: true}),
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			var ok bool
			if a, ok = netip.AddrFromSlice([]byte(s)); !ok {
				return
			}
		}
		c := Canonical(a)
		if Canonical(c) != c || c.Zone() != "" || c.Is4In6() {
			t.Fatalf("Canonical(%s) = %s, not canonical", a, c)
		}
		for i, p := range policies {
			okA, reasonA := p.Permit(a)
			okC, reasonC := p.Permit(c)
			if okA == (reasonA != "") || okC == (reasonC != "") {
				t.Fatalf("policy %d: Permit(%s) = %v %q, Permit(%s) = %v %q", i, a, okA, reasonA, c, okC, reasonC)
			}
			if okA && !okC {
				t.Fatalf("policy %d: Permit(%s) allowed, Canonical %s denied: %q", i, a, c, reasonC)
			}
		}
	})
}
