package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestTurnDefaults(t *testing.T) {
	c := mustParse(t, "")
	if c.Turn.Port != 3478 || c.Turn.TLSPort != 0 || c.Turn.Addr.IsValid() || c.Turn.Realm != "" || c.Turn.Secrets != nil || c.Turn.MaxBitrate != 10_000_000 {
		t.Fatalf("TURN by default: %+v", c.Turn)
	}
	// TURN over TLS on 5349 when there is a certificate.
	c = mustParse(t, "TLSCertificate = c.pem\nTLSPrivateKey = k.pem\n")
	if tu := c.Turn; tu.TLSPort != 5349 || tu.TLSCertificate != "c.pem" || tu.TLSPrivateKey != "k.pem" {
		t.Fatalf("%+v", tu)
	}
	c = mustParse(t, "TurnPort = 0\n")
	if c.Turn.Port != 0 {
		t.Fatalf("TURN on: %+v", c.Turn)
	}
	c = mustParse(t, "IPAddress = 192.0.2.10\nDomains = example.com, example.org\nTurnPort = 3478\n")
	want := Turn{Port: 3478, Addr: netip.MustParseAddr("192.0.2.10"), Realm: "example.com", PortMin: 49152, PortMax: 65535,
		DefaultLifetime: 600 * time.Second, MaxLifetime: 3600 * time.Second, MaxPerUser: 10, MaxAllocations: 10000,
		Pos: Pos{File: "t.config", Line: 3, Key: "TurnPort"}}
	if !turnEqual(c.Turn, want) {
		t.Fatalf("got %+v\nwant %+v", c.Turn, want)
	}
}

func turnEqual(a, b Turn) bool {
	return a.Port == b.Port && a.Addr == b.Addr && a.Realm == b.Realm && a.RelayAddress == b.RelayAddress &&
		a.PortMin == b.PortMin && a.PortMax == b.PortMax && a.DefaultLifetime == b.DefaultLifetime &&
		a.MaxLifetime == b.MaxLifetime && a.MaxPerUser == b.MaxPerUser && a.MaxAllocations == b.MaxAllocations &&
		len(a.Secrets) == len(b.Secrets) && len(a.AllowPeers) == len(b.AllowPeers) && len(a.DenyPeers) == len(b.DenyPeers) &&
		a.Pos == b.Pos
}

func TestTurnKeys(t *testing.T) {
	c := mustParse(t, `TurnPort = 3479
TlsTurnPort = 0
TurnAddress = 0.0.0.0
TurnRelayAddress = 203.0.113.10
AuthenticationRealm = turn.example.com
TurnSecret = first-secret-0123456789 , second-secret-0123456789
AllocationPortRangeMin = 50000
AllocationPortRangeMax = 50999
DefaultAllocationLifetime = 300
MaxAllocationLifetime = 3600
MaxAllocationsPerUser = 3
TurnMaxAllocations = 500
TurnMaxKbps = 2000
TurnAllowPeers = 10.20.0.0/16, 192.168.1.7
TurnDenyPeers = 198.51.100.0/24 2001:db8::/32
`)
	tu := c.Turn
	if tu.MaxBitrate != 2_000_000 {
		t.Errorf("TurnMaxKbps: %d bit/s", tu.MaxBitrate)
	}
	if tu.Port != 3479 || tu.Addr != netip.IPv4Unspecified() || tu.RelayAddress != netip.MustParseAddr("203.0.113.10") ||
		tu.Realm != "turn.example.com" || tu.PortMin != 50000 || tu.PortMax != 50999 || tu.DefaultLifetime != 300*time.Second ||
		tu.MaxPerUser != 3 || tu.MaxAllocations != 500 {
		t.Fatalf("%+v", tu)
	}
	if len(tu.Secrets) != 2 || string(tu.Secrets[0]) != "first-secret-0123456789" || string(tu.Secrets[1]) != "second-secret-0123456789" {
		t.Fatalf("secrets %q", tu.Secrets)
	}
	if len(tu.AllowPeers) != 2 || tu.AllowPeers[1].String() != "192.168.1.7/32" || len(tu.DenyPeers) != 2 || tu.DenyPeers[1].String() != "2001:db8::/32" {
		t.Fatalf("peers %v %v", tu.AllowPeers, tu.DenyPeers)
	}
	// all interfaces with a relay address; a short secret is a warning.
	c = mustParse(t, "Domains = example.com\nTurnPort = 3478\nTurnRelayAddress = 203.0.113.10\nTurnSecret = tiny-pw\n")
	if c.Turn.Addr.IsValid() || c.Turn.Realm != "example.com" || len(c.Warnings) != 1 || strings.Contains(c.Warnings[0].Error(), "tiny-pw") {
		t.Fatalf("%+v %v", c.Turn, c.Warnings)
	}
}

func TestTurnTLS(t *testing.T) {
	base := "TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTlsTurnPort = 5349\n"
	// the SIP keys, with no SIP TLS listener: TURN uses them.
	c := mustParse(t, base+"TLSCertificate = sip.pem\nTLSPrivateKey = sip.key\n")
	if tu := c.Turn; tu.TLSPort != 5349 || tu.TLSCertificate != "sip.pem" || tu.TLSPrivateKey != "sip.key" {
		t.Fatalf("%+v", tu)
	}
	// TURN's own keys win over the SIP ones (used by TLSPort).
	c = mustParse(t, base+"TLSPort = 5061\nTLSCertificate = sip.pem\nTLSPrivateKey = sip.key\nTurnTlsCertificate = turn.pem\nTurnTlsPrivateKey = turn.key\n")
	if tu := c.Turn; tu.TLSPort != 5349 || tu.TLSCertificate != "turn.pem" || tu.TLSPrivateKey != "turn.key" {
		t.Fatalf("%+v", tu)
	}
	c = mustParse(t, "TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTlsTurnPort = 0\n")
	if tu := c.Turn; tu.TLSPort != 0 || tu.TLSCertificate != "" {
		t.Fatalf("%+v", tu)
	}
}

func TestTurnErrors(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"TurnPort = 0\nTurnSecret = abcdefghijklmnopqrstuvwxyz", "t.config:2: TurnSecret: set, but TurnPort is 0 (TURN is off)"},
		{"TurnPort = 0\nTurnAllowPeers = 10.0.0.0/8", "TurnAllowPeers: set, but TurnPort is 0"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTlsTurnPort = 5349", "TlsTurnPort: TURN over TLS needs TLSCertificate and TLSPrivateKey"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTlsTurnPort = 5349\nTurnTlsCertificate = c.pem", "TURN over TLS needs TurnTlsPrivateKey"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTlsTurnPort = 3478\nTLSCertificate = c.pem\nTLSPrivateKey = k.pem", "TlsTurnPort: 3478 is TurnPort too"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTlsTurnPort = 99999", "TlsTurnPort: \"99999\" is not a port"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTurnTlsCertificate = c.pem", "TurnTlsCertificate: set, but TlsTurnPort is 0"},
		{"TurnPort = 0\nTurnTlsPrivateKey = k.pem", "TurnTlsPrivateKey: set, but TurnPort is 0"},
		{"TurnTlsPrivateKey = k.pem", "TurnTlsPrivateKey: set, but TlsTurnPort is 0"},
		{"TurnPort = 0\nTLSCertificate = c.pem\nTLSPrivateKey = k.pem", "TLSCertificate: set, but no listener uses it"},
		{"TLSCertificate = c.pem", "TLSCertificate: set, but no listener uses it"},
		{"TlsTurnPort = 5349\nTLSCertificate = c.pem", "TURN over TLS needs TLSPrivateKey"},
		{"TurnAddress = ::1\nTurnRelayAddress = 192.0.2.1", "different address families"},
		{"TurnPort = 3478\nDomains = a.example\nTurnAddress = 192.0.2.1\nTurnRelayAddress = 2001:db8::1", "different address families"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nMaxAllocationLifetime = 7200", "MaxAllocationLifetime: only 3600 is supported"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nDefaultAllocationLifetime = 7200", "DefaultAllocationLifetime: \"7200\" is not a number of seconds from 1 to 3600"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nAllocationPortRangeMin = 60000\nAllocationPortRangeMax = 50000", "AllocationPortRangeMin (60000) is above AllocationPortRangeMax (50000)"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTurnDenyPeers = 10.0.0.0/33", "TurnDenyPeers: \"10.0.0.0/33\" is not an IP address or CIDR range"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTurnSecret = abcdefghijklmnopqrstuvwxyz,abcdefghijklmnopqrstuvwxyz", "TurnSecret: secret 2 of 2: the same as secret 1"},
		{"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTurnRelayAddress = 0.0.0.0", "cannot be announced"},
	} {
		got := errText(t, tt.text)
		if !strings.Contains(got, tt.want) {
			t.Errorf("%q:\n got %s\nwant %s", tt.text, got, tt.want)
		}
	}
	// A secret never appears in a message.
	for _, text := range []string{"TurnPort = 0\nTurnSecret = abcdefghijklmnopqrstuvwxyz", "TurnSecret abcdefghijklmnopqrstuvwxyz",
		"TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\nTurnSecret = abcdefghijklmnopqrstuvwxyz,abcdefghijklmnopqrstuvwxyz"} {
		if got := errText(t, text); strings.Contains(got, "abcdefghij") {
			t.Errorf("the secret is shown: %s", got)
		}
	}
}

func TestTurnOnSamePort(t *testing.T) {
	wss := "WSSPort = 8443\nTLSCertificate = c.pem\nTLSPrivateKey = k.pem\nIPAddress = 127.0.0.1\n"
	samePort := func(c *Config) []bool {
		var out []bool
		for _, l := range c.Listeners {
			if l.Type == "WSS" {
				out = append(out, l.TurnOnSamePort)
			}
		}
		return out
	}
	if got := samePort(mustParse(t, wss)); len(got) != 1 || got[0] {
		t.Errorf("default: %v", got)
	}
	if got := samePort(mustParse(t, wss+"TurnOnSamePort = true\n")); len(got) != 1 || !got[0] {
		t.Errorf("global: %v", got)
	}
	blocks := `Transport1Interface = 127.0.0.1:443
Transport1Type = WSS
Transport1TlsCertificate = c.pem
Transport1TlsPrivateKey = k.pem
Transport2Interface = 127.0.0.1:8443
Transport2Type = WSS
Transport2TlsCertificate = c.pem
Transport2TlsPrivateKey = k.pem
Transport2TurnOnSamePort = false
TurnOnSamePort = true
`
	if got := samePort(mustParse(t, blocks)); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("per transport: %v", got)
	}
	for _, tt := range []struct{ text, want string }{
		{wss + "TurnPort = 0\nTurnOnSamePort = true\n", "TURN on the same port needs TURN, but TurnPort is 0"},
		{"TurnOnSamePort = true\n", "TurnOnSamePort: set, but there is no WSS listener"},
		{"Transport1Interface = 127.0.0.1:5060\nTransport1Type = UDP\nTransport1TurnOnSamePort = true\n", "Transport1TurnOnSamePort: TURN shares the port of a WSS transport only, not UDP"},
		{wss + "TurnOnSamePort = maybe\n", "TurnOnSamePort: \"maybe\" is not a boolean"},
	} {
		if got := errText(t, tt.text); !strings.Contains(got, tt.want) {
			t.Errorf("%q:\n got %s\nwant %s", tt.text, got, tt.want)
		}
	}
}
