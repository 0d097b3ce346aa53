package peerpolicy

import (
	"net/netip"
	"strings"
	"testing"
)

var (
	mustAddr   = netip.MustParseAddr
	mustPrefix = netip.MustParsePrefix
)

// Encoders of an IPv4 address into each IPv6 form.
func mapped(v4 netip.Addr) netip.Addr { return netip.AddrFrom16(v4.As16()) }

func embed(prefix [12]byte, v4 netip.Addr) netip.Addr {
	var b [16]byte
	copy(b[:12], prefix[:])
	x := v4.As4()
	copy(b[12:], x[:])
	return netip.AddrFrom16(b)
}

func compat(v4 netip.Addr) netip.Addr { return embed([12]byte{}, v4) }

func translated(v4 netip.Addr) netip.Addr {
	return embed([12]byte{8: 0xff, 9: 0xff}, v4)
}

func sixToFour(v4 netip.Addr) netip.Addr {
	x := v4.As4()
	return netip.AddrFrom16([16]byte{0x20, 0x02, x[0], x[1], x[2], x[3], 15: 1})
}

func nat64(v4 netip.Addr) netip.Addr {
	return embed([12]byte{0x00, 0x64, 0xff, 0x9b}, v4)
}

// nat64Local uses 64:ff9b:1:4a3f::/96, a /96 carved from the local-use /48.
func nat64Local(v4 netip.Addr) netip.Addr {
	return embed([12]byte{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, 0x4a, 0x3f}, v4)
}

func teredo(server, client netip.Addr) netip.Addr {
	s, c := server.As4(), client.As4()
	return netip.AddrFrom16([16]byte{
		0x20, 0x01, 0, 0, s[0], s[1], s[2], s[3],
		0x80, 0x00, 0x63, 0xbf, ^c[0], ^c[1], ^c[2], ^c[3],
	})
}

var teredoServer = mustAddr("65.54.227.120") // RFC 4380 §4's example server, public

type encoding struct {
	name, prefix string
	f            func(netip.Addr) netip.Addr
}

var encodings = []encoding{
	{"plain", "", func(a netip.Addr) netip.Addr { return a }},
	{"mapped", "IPv4-mapped ", mapped},
	{"compatible", "IPv4-compatible ", compat},
	{"translated", "IPv4-translated ", translated},
	{"6to4", "6to4 ", sixToFour},
	{"NAT64", "NAT64 ", nat64},
	{"NAT64 local-use", "NAT64 local-use ", nat64Local},
	{"Teredo client", "Teredo ", func(a netip.Addr) netip.Addr { return teredo(teredoServer, a) }},
}

func TestBuiltinRanges(t *testing.T) {
	p := New(Config{})
	for _, tc := range []struct {
		addr, reason string
	}{
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network (0.0.0.0/8)"},
		{"0.255.255.255", "this network (0.0.0.0/8)"},
		{"10.0.0.0", "private (RFC 1918)"},
		{"10.255.255.255", "private (RFC 1918)"},
		{"100.64.0.0", "shared address space (CGNAT, RFC 6598)"},
		{"100.127.255.255", "shared address space (CGNAT, RFC 6598)"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.0.1", "link-local"},
		{"169.254.169.254", "link-local (cloud metadata)"},
		{"169.254.255.255", "link-local"},
		{"172.16.0.0", "private (RFC 1918)"},
		{"172.31.255.255", "private (RFC 1918)"},
		{"192.0.0.0", "IETF protocol assignments (192.0.0.0/24)"},
		{"192.0.0.170", "IETF protocol assignments (192.0.0.0/24)"},
		{"192.0.2.1", "documentation"},
		{"192.168.0.0", "private (RFC 1918)"},
		{"192.168.255.255", "private (RFC 1918)"},
		{"198.18.0.0", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved (240.0.0.0/4)"},
		{"255.255.255.254", "reserved (240.0.0.0/4)"},
		{"255.255.255.255", "broadcast"},
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fc00::1", "unique local (ULA)"},
		{"fdff:ffff::1", "unique local (ULA)"},
		{"fe80::1", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fec0::1", "site-local (deprecated)"},
		{"ff02::1", "multicast"},
		{"ff05::1:3", "multicast"},
		{"2001:db8::1", "documentation"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
		{"3fff::1", "documentation"},
		{"3fff:fff:ffff::1", "documentation"},
		{"100::", "discard-only (RFC 6666)"},
		{"100::ffff:ffff:ffff:ffff", "discard-only (RFC 6666)"},
		{"2001:2::1", "benchmarking"},
		// The RFC 4380 §4 example: client 192.0.2.45 behind server 65.54.227.120.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo documentation"},
		// The RFC 6052 §2.4 example.
		{"64:ff9b::192.0.2.33", "NAT64 documentation"},
		{"invalid", "invalid address"},
	} {
		var a netip.Addr
		if tc.addr != "invalid" {
			a = mustAddr(tc.addr)
		}
		ok, reason := p.Permit(a)
		if ok || reason != tc.reason {
			t.Errorf("Permit(%s) = %v, %q; want false, %q", tc.addr, ok, reason, tc.reason)
		}
	}
}

func TestPublicAllowed(t *testing.T) {
	p := New(Config{})
	for _, s := range []string{
		"8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255",
		"100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255",
		"169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0", "192.0.3.0",
		"192.88.99.1", "192.167.255.255", "192.169.0.0", "198.17.255.255",
		"198.20.0.0", "198.51.99.255", "198.51.101.0", "203.0.112.255",
		"203.0.114.0", "223.255.255.255",
		"2001:4860:4860::8888", "2606:4700:4700::1111", "::2:0:0:1",
		"fbff:ffff::1", "2001:db9::1", "2001:db7::1", "2001:3::1",
		"4000::1", "3fff:1000::1", "100:0:0:1::1", "101::1", "2001:1::1",
		"2003::1", "64:ff9a::1", "64:ff9b:2::1",
	} {
		if ok, reason := p.Permit(mustAddr(s)); !ok {
			t.Errorf("Permit(%s) = false, %q; want true", s, reason)
		}
	}
	// Every encoding of a public address is allowed: NAT64 of a public
	// address is real NAT64 relaying.
	for _, v4 := range []string{"8.8.8.8", "1.1.1.1", "93.184.216.34"} {
		for _, e := range encodings {
			a := e.f(mustAddr(v4))
			if ok, reason := p.Permit(a); !ok {
				t.Errorf("Permit(%s, %s of %s) = false, %q; want true", a, e.name, v4, reason)
			}
		}
	}
}

func TestEncodings(t *testing.T) {
	p := New(Config{})
	for _, tc := range []struct{ v4, reason string }{
		{"127.0.0.1", "loopback"},
		{"10.0.0.1", "private (RFC 1918)"},
		{"169.254.169.254", "link-local (cloud metadata)"},
		{"192.168.1.1", "private (RFC 1918)"},
		{"100.64.0.1", "shared address space (CGNAT, RFC 6598)"},
		{"0.0.0.0", "unspecified"},
		{"255.255.255.255", "broadcast"},
		{"224.0.0.251", "multicast"},
	} {
		v4 := mustAddr(tc.v4)
		for _, e := range encodings {
			a := e.f(v4)
			if a == mustAddr("::") {
				continue // ::0.0.0.0 is :: itself
			}
			t.Run(e.name+"/"+tc.v4, func(t *testing.T) {
				if got := Canonical(a); got != v4 {
					t.Errorf("Canonical(%s) = %s, want %s", a, got, v4)
				}
				ok, reason := p.Permit(a)
				if want := e.prefix + tc.reason; ok || reason != want {
					t.Errorf("Permit(%s) = %v, %q; want false, %q", a, ok, reason, want)
				}
			})
		}
		// The Teredo server's address is checked too.
		a := teredo(v4, mustAddr("8.8.8.8"))
		if got := Canonical(a); got != mustAddr("8.8.8.8") {
			t.Errorf("Canonical(%s) = %s, want the client 8.8.8.8", a, got)
		}
		if ok, reason := p.Permit(a); ok || reason != "Teredo server "+tc.reason {
			t.Errorf("Permit(%s) = %v, %q; want false, %q", a, ok, reason, "Teredo server "+tc.reason)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"::ffff:127.0.0.1", "127.0.0.1"},
		{"::ffff:7f00:1", "127.0.0.1"},
		{"::127.0.0.1", "127.0.0.1"},
		{"::ffff:0:10.0.0.1", "10.0.0.1"},
		{"2002:a9fe:a9fe::1", "169.254.169.254"},
		{"2002:c0a8:101:1234:5678::9", "192.168.1.1"},
		{"64:ff9b::a00:1", "10.0.0.1"},
		{"64:ff9b:1::c0a8:101", "192.168.1.1"},
		{"64:ff9b:1:ffff:ffff:ffff:7f00:1", "127.0.0.1"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"},
		{"2001::80ff:fffe", "127.0.0.1"},
		{"fe80::1%eth0", "fe80::1"},
		{"::ffff:127.0.0.1%eth0", "127.0.0.1"},
		{"2002:7f00:1::1%3", "127.0.0.1"},
		{"::", "::"},
		{"::1", "::1"},
		{"::2", "0.0.0.2"},
		{"8.8.8.8", "8.8.8.8"},
		{"2001:4860:4860::8888", "2001:4860:4860::8888"},
		{"64:ff9b:2::1", "64:ff9b:2::1"},
		{"64:ff9b:0:0:1::1", "64:ff9b:0:0:1::1"},
	} {
		if got := Canonical(mustAddr(tc.in)); got != mustAddr(tc.want) {
			t.Errorf("Canonical(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := Canonical(netip.Addr{}); got.IsValid() {
		t.Errorf("Canonical(invalid) = %s", got)
	}
}

func TestZones(t *testing.T) {
	p := New(Config{})
	for _, tc := range []struct {
		addr   string
		ok     bool
		reason string
	}{
		{"fe80::1%eth0", false, "link-local"},
		{"ff02::1%1", false, "multicast"},
		{"::ffff:127.0.0.1%eth0", false, "IPv4-mapped loopback"},
		{"2002:a00:1::1%eth0", false, "6to4 private (RFC 1918)"},
		{"2001:4860:4860::8888%eth0", true, ""},
	} {
		ok, reason := p.Permit(mustAddr(tc.addr))
		if ok != tc.ok || reason != tc.reason {
			t.Errorf("Permit(%s) = %v, %q; want %v, %q", tc.addr, ok, reason, tc.ok, tc.reason)
		}
	}
	// Lists match zoned addresses (netip.Prefix.Contains alone would not).
	p = New(Config{Allow: []netip.Prefix{mustPrefix("fe80::/10")}})
	if ok, reason := p.Permit(mustAddr("fe80::1%eth0")); !ok {
		t.Errorf("Allow fe80::/10: Permit(fe80::1%%eth0) = false, %q", reason)
	}
	p = New(Config{Deny: []netip.Prefix{mustPrefix("2001:4860::/32")}})
	if ok, _ := p.Permit(mustAddr("2001:4860:4860::8888%eth0")); ok {
		t.Errorf("Deny 2001:4860::/32: Permit(2001:4860:4860::8888%%eth0) = true")
	}
	p = New(Config{Own: []netip.Addr{mustAddr("2a00:1450::1%eth1")}})
	if ok, reason := p.Permit(mustAddr("2a00:1450::1%eth0")); ok || reason != "own address" {
		t.Errorf("Own 2a00:1450::1%%eth1: Permit(2a00:1450::1%%eth0) = %v, %q", ok, reason)
	}
}

type want struct {
	addr   netip.Addr
	reason string // "" when allowed
}

// check runs Permit for each address and compares the answers.
func check(t *testing.T, name string, p *Policy, cases []want) {
	t.Helper()
	for _, c := range cases {
		ok, reason := p.Permit(c.addr)
		if (c.reason == "") != ok || reason != c.reason {
			t.Errorf("%s: Permit(%s) = %v, %q; want %q", name, c.addr, ok, reason, c.reason)
		}
	}
}

func TestAllowDeny(t *testing.T) {
	a := mustAddr
	p := mustPrefix
	lo := a("127.0.0.1")
	pub := a("8.8.8.8")

	check(t, "allow 127/8", New(Config{Allow: []netip.Prefix{p("127.0.0.0/8")}}), []want{
		{lo, ""},
		{a("127.1.2.3"), ""},
		{mapped(lo), ""},
		{compat(lo), ""},
		{translated(lo), ""},
		{sixToFour(lo), ""},
		{nat64(lo), ""},
		{nat64Local(lo), ""},
		{teredo(pub, lo), ""},
		{teredo(lo, pub), ""},
		{a("::1"), "loopback"}, // IPv6 loopback is not in 127/8
		{a("10.0.0.1"), "private (RFC 1918)"},
		{mapped(a("10.0.0.1")), "IPv4-mapped private (RFC 1918)"},
		{teredo(a("10.0.0.1"), lo), "Teredo server private (RFC 1918)"},
	})

	// Allow covers the forms it names only.
	check(t, "allow 64:ff9b::/96", New(Config{Allow: []netip.Prefix{p("64:ff9b::/96"), p("2002::/16")}}), []want{
		{nat64(a("10.0.0.1")), "NAT64 private (RFC 1918)"},
		{sixToFour(lo), "6to4 loopback"},
		{nat64(pub), ""},
	})
	check(t, "allow fc00::/7", New(Config{Allow: []netip.Prefix{p("fc00::/7")}}), []want{
		{a("fd12:3456::1"), ""},
		{a("fe80::1"), "link-local"},
	})

	// An IPv4-mapped prefix of /96 or longer is read as IPv4.
	check(t, "allow ::ffff:127.0.0.0/104", New(Config{Allow: []netip.Prefix{p("::ffff:127.0.0.0/104")}}), []want{
		{lo, ""},
		{mapped(lo), ""},
	})
	check(t, "deny ::ffff:8.8.8.0/120", New(Config{Deny: []netip.Prefix{p("::ffff:8.8.8.0/120")}}), []want{
		{pub, "denied by configuration"},
		{mapped(pub), "IPv4-mapped denied by configuration"},
		{a("8.8.4.4"), ""},
	})

	// Deny wins over Allow, and is checked on every form.
	check(t, "deny beats allow", New(Config{
		Allow: []netip.Prefix{p("8.0.0.0/8"), p("127.0.0.0/8")},
		Deny:  []netip.Prefix{p("8.8.8.0/24"), p("127.0.0.1/32")},
	}), []want{
		{pub, "denied by configuration"},
		{a("8.8.4.4"), ""},
		{lo, "denied by configuration"},
		{a("127.0.0.2"), ""},
		{sixToFour(pub), "6to4 denied by configuration"},
		{nat64Local(lo), "NAT64 local-use denied by configuration"},
		{teredo(pub, a("1.1.1.1")), "Teredo server denied by configuration"},
	})
	check(t, "deny 6to4 and Teredo", New(Config{Deny: []netip.Prefix{p("2002::/16"), p("2001::/32")}}), []want{
		{sixToFour(pub), "denied by configuration"},
		{teredo(teredoServer, pub), "denied by configuration"},
		{pub, ""},
		{nat64(pub), ""},
	})

	// AllowPrivate skips the built-in list only.
	own := a("93.184.216.34")
	check(t, "AllowPrivate", New(Config{
		AllowPrivate: true,
		Deny:         []netip.Prefix{p("169.254.169.254/32")},
		Own:          []netip.Addr{own, lo},
	}), []want{
		{a("10.0.0.1"), ""},
		{mapped(a("192.168.1.1")), ""},
		{a("::1"), ""},
		{a("127.0.0.2"), ""},
		{lo, "own address"},
		{own, "own address"},
		{a("169.254.169.254"), "denied by configuration"},
		{nat64(a("169.254.169.254")), "NAT64 denied by configuration"},
	})

	// Invalid entries are ignored.
	check(t, "invalid entries", New(Config{
		Allow: []netip.Prefix{{}},
		Deny:  []netip.Prefix{{}},
		Own:   []netip.Addr{{}},
	}), []want{{pub, ""}, {lo, "loopback"}})
}

func TestOwn(t *testing.T) {
	a := mustAddr
	p := mustPrefix
	own := a("93.184.216.34")
	own6 := a("2a00:1450:4001::1")
	cfg := Config{Own: []netip.Addr{own, mapped(a("93.184.216.35")), own6, a("127.0.0.1")}}
	var cases []want
	for _, e := range encodings {
		r := e.prefix + "own address"
		cases = append(cases, want{e.f(own), r}, want{e.f(a("93.184.216.35")), r})
	}
	cases = append(cases,
		want{teredo(own, a("8.8.8.8")), "Teredo server own address"},
		want{own6, "own address"},
		want{a("2a00:1450:4001::2"), ""},
		want{a("93.184.216.36"), ""},
		want{a("127.0.0.1"), "own address"},
		want{a("127.0.0.2"), "loopback"},
	)
	check(t, "own", New(cfg), cases)

	// A wide Allow prefix does not admit an own address...
	cfg.Allow = []netip.Prefix{p("93.184.216.0/24"), p("127.0.0.0/8"), p("2a00:1450::/32")}
	check(t, "own, wide allow", New(cfg), []want{
		{own, "own address"},
		{nat64(own), "NAT64 own address"},
		{own6, "own address"},
		{a("127.0.0.1"), "own address"},
		{a("127.0.0.2"), ""},
	})
	// ...a single-address prefix naming it does.
	cfg.Allow = append(cfg.Allow, p("93.184.216.34/32"), p("2a00:1450:4001::1/128"), p("::ffff:127.0.0.1/128"))
	check(t, "own, single-address allow", New(cfg), []want{
		{own, ""},
		{nat64(own), ""},
		{own6, ""},
		{a("127.0.0.1"), ""},
		{mapped(a("127.0.0.1")), ""},
		{a("93.184.216.35"), "own address"},
	})
	// Deny still wins.
	cfg.Deny = []netip.Prefix{p("93.184.216.34/32")}
	check(t, "own, allow, deny", New(cfg), []want{{own, "denied by configuration"}})
}

func TestConfigCopied(t *testing.T) {
	cfg := Config{Allow: []netip.Prefix{mustPrefix("127.0.0.0/8")}, Own: []netip.Addr{mustAddr("8.8.8.8")}}
	p := New(cfg)
	cfg.Allow[0] = mustPrefix("10.0.0.0/8")
	cfg.Own[0] = mustAddr("1.1.1.1")
	if ok, _ := p.Permit(mustAddr("127.0.0.1")); !ok {
		t.Error("changing cfg.Allow after New changed the Policy")
	}
	if ok, _ := p.Permit(mustAddr("8.8.8.8")); ok {
		t.Error("changing cfg.Own after New changed the Policy")
	}
}

func TestPermitAllocs(t *testing.T) {
	p := New(Config{Allow: []netip.Prefix{mustPrefix("127.0.0.0/8")}, Own: []netip.Addr{mustAddr("93.184.216.34")}})
	addrs := benchAddrs()
	n := testing.AllocsPerRun(100, func() {
		for _, a := range addrs {
			p.Permit(a)
		}
	})
	if n != 0 {
		t.Errorf("Permit allocates: %v allocations per run", n)
	}
}

func benchAddrs() []netip.Addr {
	var out []netip.Addr
	for _, s := range []string{"8.8.8.8", "10.0.0.1", "2001:4860:4860::8888", "fe80::1%eth0"} {
		out = append(out, mustAddr(s))
	}
	return append(out,
		mapped(mustAddr("127.0.0.1")),
		sixToFour(mustAddr("169.254.169.254")),
		nat64(mustAddr("1.1.1.1")),
		teredo(teredoServer, mustAddr("192.168.1.1")),
	)
}

func BenchmarkPermit(b *testing.B) {
	p := New(Config{
		Allow: []netip.Prefix{mustPrefix("127.0.0.0/8")},
		Deny:  []netip.Prefix{mustPrefix("198.51.100.0/24"), mustPrefix("2001:db8::/32")},
		Own:   []netip.Addr{mustAddr("93.184.216.34"), mustAddr("2a00:1450:4001::1")},
	})
	for _, a := range benchAddrs() {
		name := strings.NewReplacer(":", "_", "%", "_").Replace(a.String())
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Permit(a)
			}
		})
	}
}
