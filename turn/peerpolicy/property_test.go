package peerpolicy

import (
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

// builtin is the built-in list as the package documents it, for checking
// classify against.
var builtin = func() []netip.Prefix {
	var l []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
		"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
		"192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "100::/64", "2001:2::/48", "2001:db8::/32",
		"3fff::/20", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	} {
		l = append(l, netip.MustParsePrefix(s))
	}
	return l
}()

// genV4 draws IPv4 addresses: random ones, and ones at the edges of the
// built-in ranges.
func genV4() *rapid.Generator[netip.Addr] {
	return rapid.Custom(func(t *rapid.T) netip.Addr {
		if rapid.Bool().Draw(t, "random") {
			return netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4")))
		}
		var v4s []netip.Prefix
		for _, p := range builtin {
			if p.Addr().Is4() {
				v4s = append(v4s, p)
			}
		}
		p := rapid.SampledFrom(v4s).Draw(t, "range")
		first := p.Addr()
		last := first.As4()
		for i := p.Bits(); i < 32; i++ {
			last[i/8] |= 1 << (7 - i%8)
		}
		a := rapid.SampledFrom([]netip.Addr{first, first.Prev(), netip.AddrFrom4(last), netip.AddrFrom4(last).Next()}).Draw(t, "edge")
		if !a.IsValid() {
			return first
		}
		return a
	})
}

// genAddr draws addresses of every kind: IPv4 in every encoding, Teredo
// with any server, random IPv6 under each embedding prefix, random IPv6,
// with or without a zone.
func genAddr() *rapid.Generator[netip.Addr] {
	return rapid.Custom(func(t *rapid.T) netip.Addr {
		var a netip.Addr
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			e := rapid.SampledFrom(encodings).Draw(t, "encoding")
			a = e.f(genV4().Draw(t, "v4"))
		case 1:
			a = teredo(genV4().Draw(t, "server"), genV4().Draw(t, "client"))
		case 2:
			b := [16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "v6"))
			pre := rapid.SampledFrom([][]byte{
				{}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0},
				{0x20, 0x02}, {0x00, 0x64, 0xff, 0x9b}, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01},
				{0x20, 0x01, 0, 0}, {0xfe, 0x80}, {0x20, 0x01, 0x0d, 0xb8},
			}).Draw(t, "prefix")
			copy(b[:], pre)
			a = netip.AddrFrom16(b)
		case 3:
			p := rapid.SampledFrom(builtin).Draw(t, "range")
			a = p.Addr()
		}
		if a.Is6() && rapid.Bool().Draw(t, "zoned") {
			a = a.WithZone("eth0")
		}
		return a
	})
}

func TestPropertyCanonical(t *testing.T) {
	policies := []*Policy{
		New(Config{}),
		New(Config{
			Allow: []netip.Prefix{mustPrefix("127.0.0.0/8"), mustPrefix("10.0.0.0/8"), mustPrefix("fc00::/7")},
			Deny:  []netip.Prefix{mustPrefix("8.8.0.0/16"), mustPrefix("10.1.0.0/16")},
			Own:   []netip.Addr{mustAddr("93.184.216.34"), mustAddr("10.0.0.5")},
		}),
		New(Config{AllowPrivate: true, Own: []netip.Addr{mustAddr("127.0.0.1")}}),
	}
	rapid.Check(t, func(t *rapid.T) {
		a := genAddr().Draw(t, "addr")
		c := Canonical(a)
		if Canonical(c) != c || c.Zone() != "" || c.Is4In6() {
			t.Fatalf("Canonical(%s) = %s, Canonical of that = %s", a, c, Canonical(c))
		}
		fs, n := forms(a)
		teredoServer := n == 3
		for i, p := range policies {
			okA, reasonA := p.Permit(a)
			okC, reasonC := p.Permit(c)
			if okA == (reasonA != "") || okC == (reasonC != "") {
				t.Fatalf("policy %d: a reason must come with a denial: %s: %v %q; %s: %v %q", i, a, okA, reasonA, c, okC, reasonC)
			}
			if !okC && okA {
				t.Fatalf("policy %d: Permit(%s) allowed, but its canonical form %s is denied (%s)", i, a, c, reasonC)
			}
			if okA != okC {
				// Only a Teredo address whose server is denied may differ.
				okS, _ := p.Permit(fs[2].addr)
				if !teredoServer || okS {
					t.Fatalf("policy %d: Permit(%s) = %v %q, Permit(Canonical = %s) = %v %q", i, a, okA, reasonA, c, okC, reasonC)
				}
			}
		}
		// The default policy denies exactly the addresses one of whose
		// forms is in the documented list.
		inList := false
		for _, f := range fs[:n] {
			for _, p := range builtin {
				if p.Contains(f.addr) {
					inList = true
				}
			}
		}
		if ok, reason := policies[0].Permit(a); ok == inList {
			t.Fatalf("Permit(%s) = %v %q, but in the documented list: %v", a, ok, reason, inList)
		}
	})
}

// TestPropertyEncodings checks that every encoding of an IPv4 address gets
// the same verdict as the address itself.
func TestPropertyEncodings(t *testing.T) {
	p := New(Config{})
	rapid.Check(t, func(t *rapid.T) {
		v4 := genV4().Draw(t, "v4")
		e := rapid.SampledFrom(encodings).Draw(t, "encoding")
		a := e.f(v4)
		if a == mustAddr("::") || a == mustAddr("::1") {
			return // ::0.0.0.0 and ::0.0.0.1 are themselves
		}
		if Canonical(a) != v4 {
			t.Fatalf("Canonical(%s) = %s, want %s", a, Canonical(a), v4)
		}
		okA, reasonA := p.Permit(a)
		okV, reasonV := p.Permit(v4)
		if okA != okV || (!okA && reasonA != e.prefix+reasonV) {
			t.Fatalf("Permit(%s) = %v %q; Permit(%s) = %v %q", a, okA, reasonA, v4, okV, reasonV)
		}
	})
}
