package auth

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/transport"
)

func flow(kind transport.Kind, addr string) transport.Flow {
	return transport.Flow{Kind: kind, Remote: netip.AddrPortFrom(netip.MustParseAddr(addr), 5060)}
}

func TestTrusted(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.TrustedPeers = []Peer{
			{Prefix: netip.MustParsePrefix("192.0.2.0/24")},
			{Prefix: netip.MustParsePrefix("198.51.100.7/32"), Transport: transport.TLS},
			{Prefix: netip.MustParsePrefix("2001:db8:5::/48"), Transport: transport.UDP},
			{Prefix: netip.MustParsePrefix("::ffff:203.0.113.0/120")},
			{Prefix: netip.MustParsePrefix("10.1.2.3/8")}, // not masked as written
		}
	})
	for _, tc := range []struct {
		flow transport.Flow
		want bool
	}{
		{flow(transport.UDP, "192.0.2.1"), true},
		{flow(transport.WSS, "192.0.2.254"), true},
		{flow(transport.UDP, "::ffff:192.0.2.9"), true},
		{flow(transport.UDP, "192.0.3.1"), false},
		{flow(transport.TLS, "198.51.100.7"), true},
		{flow(transport.TCP, "198.51.100.7"), false},
		{flow(transport.TLS, "198.51.100.8"), false},
		{flow(transport.UDP, "2001:db8:5:ffff::1"), true},
		{flow(transport.UDP, "fe80::1%eth0"), false},
		{flow(transport.TCP, "2001:db8:5::1"), false},
		{flow(transport.UDP, "2001:db8:6::1"), false},
		{flow(transport.TCP, "203.0.113.77"), true},
		{flow(transport.TCP, "10.200.0.1"), true},
		{flow(transport.TCP, "11.0.0.1"), false},
		{transport.Flow{Kind: transport.UDP}, false},
	} {
		if got := f.a.Trusted(tc.flow); got != tc.want {
			t.Errorf("Trusted(%v %v) = %v", tc.flow.Kind, tc.flow.Remote, got)
		}
	}
	none := newFixture(t, nil)
	if none.a.Trusted(flow(transport.UDP, "192.0.2.1")) {
		t.Error("trusted without peers")
	}
}

func TestRequired(t *testing.T) {
	local := func(h string) bool { return h == "example.com" }
	src := flow(transport.WS, "203.0.113.5")
	inDialog := strings.Replace(string(invite(t, "alice@example.com").AppendTo(nil)), "To: <sip:bob@example.com>", "To: <sip:bob@example.com>;tag=x", 1)
	cases := []struct {
		name  string
		msg   string
		third bool
		need  Need
		ok    bool
	}{
		{"register", string(register(t, "alice").AppendTo(nil)), false, Need{Realm: "example.com"}, true},
		{"register foreign", strings.ReplaceAll(string(register(t, "alice").AppendTo(nil)), "@example.com", "@example.org"), false, Need{}, false},
		{"invite from ours", string(invite(t, "alice@EXAMPLE.com").AppendTo(nil)), false, Need{Realm: "example.com", Proxy: true}, true},
		{"invite from foreign", string(invite(t, "carol@example.org").AppendTo(nil)), false, Need{}, false},
		{"third party", string(invite(t, "carol@example.org").AppendTo(nil)), true, Need{Realm: "example.com", Proxy: true, ThirdParty: true}, true},
		{"in dialog", inDialog, false, Need{}, false},
		{"ack", strings.ReplaceAll(string(invite(t, "alice@example.com").AppendTo(nil)), "INVITE", "ACK"), false, Need{}, false},
		{"cancel", strings.ReplaceAll(string(invite(t, "alice@example.com").AppendTo(nil)), "INVITE", "CANCEL"), false, Need{}, false},
	}
	for _, tc := range cases {
		f := newFixture(t, func(c *Config) { c.ChallengeThirdParties = tc.third })
		req := mustParse(t, strings.ReplaceAll(tc.msg, "\r\n", "\n"))
		need, ok := f.a.Required(req, src, local)
		if ok != tc.ok || need != tc.need {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, need, ok, tc.need, tc.ok)
		}
	}
	off := newFixture(t, func(c *Config) { c.Disabled = true })
	if _, ok := off.a.Required(register(t, "alice"), src, local); ok {
		t.Error("DisableAuth still challenges")
	}
	trusted := newFixture(t, func(c *Config) { c.TrustedPeers = []Peer{{Prefix: netip.MustParsePrefix("203.0.113.0/24")}} })
	if _, ok := trusted.a.Required(invite(t, "alice@example.com"), src, local); ok {
		t.Error("trusted peer challenged")
	}
	static := newFixture(t, func(c *Config) { c.StaticRealm = "corp" })
	if need, _ := static.a.Required(register(t, "alice"), src, local); need.Realm != "corp" {
		t.Errorf("static realm: %+v", need)
	}
}
