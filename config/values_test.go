package config

import (
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustParse parses text as "t.config" and fails the test on any error.
func mustParse(t *testing.T, text string, overrides ...string) *Config {
	t.Helper()
	c, err := Parse("t.config", []byte(text), overrides)
	if err != nil {
		t.Fatalf("%s\n-> %v", text, err)
	}
	return c
}

func TestBooleans(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "TRUE": true, "on": true, "On": true, "1": true, "false": false, "off": false, "OFF": false, "0": false} {
		c := mustParse(t, "ForceRecordRouting = "+v+"\nDisableOutbound = "+v+"\nEnableFlowTokens = "+v+"\nHideTopology = "+v)
		if c.ForceRecordRouting != want || c.DisableOutbound != want || c.EnableFlowTokens != want || c.HideTopology != want {
			t.Errorf("%q: got %+v", v, c)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "")
	if c.MinExpires != time.Minute || c.MaxExpires != time.Hour || c.DefaultExpires != time.Hour ||
		c.LogLevel != slog.LevelInfo || c.LogFormat != "text" || c.DataDirectory != "./sipedge-data" ||
		c.ShutdownGrace != 5*time.Second || c.RelayForeignDomains != "none" || c.RecordRouteURI != "" ||
		c.Domains != nil || c.StaticRoutes != nil || c.Warnings != nil || c.Source != "t.config" {
		t.Errorf("defaults: %+v", c)
	}
	var got []string
	for _, l := range c.Listeners {
		got = append(got, l.Type+" "+l.Addr.String()+" "+l.Pos.String())
	}
	want := []string{
		"UDP 0.0.0.0:5060 UDPPort (default)", "UDP [::]:5060 UDPPort (default)",
		"TCP 0.0.0.0:5060 TCPPort (default)", "TCP [::]:5060 TCPPort (default)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("listeners %q", got)
	}
}

func TestLogLevels(t *testing.T) {
	for v, want := range map[string]slog.Level{
		"NONE": slog.LevelError + 4, "crit": slog.LevelError, "ERR": slog.LevelError, "Warning": slog.LevelWarn,
		"INFO": slog.LevelInfo, "debug": slog.LevelDebug, "STACK": slog.LevelDebug - 4,
	} {
		if c := mustParse(t, "LogLevel = "+v); c.LogLevel != want {
			t.Errorf("%s: %v, want %v", v, c.LogLevel, want)
		}
	}
	if c := mustParse(t, "LogFormat = JSON"); c.LogFormat != "json" {
		t.Errorf("LogFormat %q", c.LogFormat)
	}
}

func TestSyntaxDetails(t *testing.T) {
	// BOM, CRLF, indented comments, blank lines, spaces around "=", any case,
	// '#' inside a value, '=' inside a value.
	text := "\xef\xbb\xbf# title\r\n\r\n   # indented comment\r\n  dataDIRECTORY   =   ./data#1  \r\nrecordrouteuri=sip:example.org;transport=ws;x=a=b\r\n"
	c := mustParse(t, text)
	if c.DataDirectory != "./data#1" || c.RecordRouteURI != "sip:example.org;transport=ws;x=a=b" {
		t.Errorf("got %q %q", c.DataDirectory, c.RecordRouteURI)
	}
	if p, ok := c.Where("DATADIRECTORY"); !ok || p != (Pos{File: "t.config", Line: 4, Key: "DataDirectory"}) {
		t.Errorf("Where = %+v %v", p, ok)
	}
}

func TestLegacyTLS(t *testing.T) {
	c := mustParse(t, "IPAddress = 192.0.2.1\nUDPPort = 0\nTCPPort = 0\nTLSPort = 5061\nWSSPort = 443\nTLSDomainName = sip.example.org\n"+
		"TLSCertificate = c.pem\nTLSPrivateKey = k.pem\nTLSClientVerification = optional")
	want := []Listener{
		{Type: "TLS", Addr: netip.MustParseAddrPort("192.0.2.1:5061"), TLSDomain: "sip.example.org", TLSCertificate: "c.pem", TLSPrivateKey: "k.pem",
			TLSClientVerification: VerifyOptional, Pos: Pos{File: "t.config", Line: 4, Key: "TLSPort"}},
		{Type: "WSS", Addr: netip.MustParseAddrPort("192.0.2.1:443"), TLSDomain: "sip.example.org", TLSCertificate: "c.pem", TLSPrivateKey: "k.pem",
			TLSClientVerification: VerifyOptional, Pos: Pos{File: "t.config", Line: 5, Key: "WSSPort"}},
	}
	if !reflect.DeepEqual(c.Listeners, want) {
		t.Errorf("got  %+v\nwant %+v", c.Listeners, want)
	}
	if c := mustParse(t, "TLSPort = 5061\n"+"TLSCertificate = c\nTLSPrivateKey = k\nTLSClientVerification = MANDATORY"); c.Listeners[4].TLSClientVerification != VerifyMandatory {
		t.Errorf("listeners %+v", c.Listeners)
	}
}

func TestTransportBlocks(t *testing.T) {
	c := mustParse(t, `
Transport2Interface = [2001:db8::1]:5060
Transport2Type = udp
Transport2RecordRouteUri = auto
Transport1Interface = 2001:db8::1:5061
Transport1Type = Tls
Transport1TlsDomain = sip.example.org
Transport1TlsCertificate = c.pem
Transport1TlsPrivateKey = k.pem
Transport1TlsClientVerification = Mandatory
Transport1RecordRouteUri = auto
Transport9Interface = 0.0.0.0:8443
Transport9Type = WSS
Transport9TlsCertificate = c.pem
Transport9TlsPrivateKey = k.pem
Transport9RecordRouteUri = sips:[2001:db8::1]:8443;transport=ws
Transport10Interface = 0.0.0.0:5060
Transport10Type = TCP
IPAddress =
`)
	want := []Listener{
		{N: 1, Type: "TLS", Addr: netip.MustParseAddrPort("[2001:db8::1]:5061"), TLSDomain: "sip.example.org", TLSCertificate: "c.pem", TLSPrivateKey: "k.pem",
			TLSClientVerification: VerifyMandatory, RecordRouteURI: "auto", Pos: Pos{File: "t.config", Line: 6, Key: "Transport1Type"}},
		{N: 2, Type: "UDP", Addr: netip.MustParseAddrPort("[2001:db8::1]:5060"), RecordRouteURI: "auto", Pos: Pos{File: "t.config", Line: 3, Key: "Transport2Type"}},
		{N: 9, Type: "WSS", Addr: netip.MustParseAddrPort("0.0.0.0:8443"), TLSCertificate: "c.pem", TLSPrivateKey: "k.pem",
			RecordRouteURI: "sips:[2001:db8::1]:8443;transport=ws", Pos: Pos{File: "t.config", Line: 13, Key: "Transport9Type"}},
		{N: 10, Type: "TCP", Addr: netip.MustParseAddrPort("0.0.0.0:5060"), Pos: Pos{File: "t.config", Line: 18, Key: "Transport10Type"}},
	}
	if !reflect.DeepEqual(c.Listeners, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c.Listeners, want)
	}
	// An override adds a block the file lacks, and turns the legacy keys off.
	c = mustParse(t, "", "--Transport1Interface=127.0.0.1:5080", "Transport1Type=WS")
	if len(c.Listeners) != 1 || c.Listeners[0].Type != "WS" || c.Listeners[0].Pos.String() != "command line: Transport1Type" {
		t.Errorf("listeners %+v", c.Listeners)
	}
}

func TestProxySettings(t *testing.T) {
	c := mustParse(t, "Domains = Example.ORG,  sip.example.org 192.0.2.1,[2001:DB8::1]\nRecordRouteUri = SIPS:alice@example.org:5061\nRelayForeignDomains = ALL\n"+
		"RegistrationMinimumExpires = 30\nRegistrationMaximumExpires = 86400\nRegistrationDefaultExpires = 600\nShutdownGracePeriod = 0\nAssumePath = off")
	if !slices.Equal(c.Domains, []string{"example.org", "sip.example.org", "192.0.2.1", "[2001:db8::1]"}) {
		t.Errorf("Domains %q", c.Domains)
	}
	if c.RecordRouteURI != "SIPS:alice@example.org:5061" || c.RelayForeignDomains != "all" {
		t.Errorf("got %q %q", c.RecordRouteURI, c.RelayForeignDomains)
	}
	if c.MinExpires != 30*time.Second || c.MaxExpires != 24*time.Hour || c.DefaultExpires != 10*time.Minute || c.ShutdownGrace != 0 {
		t.Errorf("durations %v %v %v %v", c.MinExpires, c.MaxExpires, c.DefaultExpires, c.ShutdownGrace)
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Key != "AssumePath" || c.Warnings[0].Line != 8 {
		t.Errorf("warnings %v", c.Warnings)
	}
}

func TestStaticRoutes(t *testing.T) {
	c := mustParse(t, "Route2Pattern = ^sip:bob@\nRoute2Destination = sip:b.example.net\n"+
		"Route1Pattern = ^sips?:\\+?[0-9]+@\nRoute1Destination = sip:gw.example.net;transport=tcp\nRoute1Methods = invite, ack,BYE CANCEL")
	if len(c.StaticRoutes) != 2 {
		t.Fatalf("routes %+v", c.StaticRoutes)
	}
	r1, r2 := c.StaticRoutes[0], c.StaticRoutes[1]
	if r1.N != 1 || r1.Destination != "sip:gw.example.net;transport=tcp" || !slices.Equal(r1.Methods, []string{"INVITE", "ACK", "BYE", "CANCEL"}) ||
		r1.Pos.String() != "t.config:3: Route1Pattern" {
		t.Errorf("route 1 %+v", r1)
	}
	if !r1.Pattern.MatchString("sip:+15551234@example.org") || r1.Pattern.MatchString("sip:alice@example.org") {
		t.Errorf("route 1 pattern %v", r1.Pattern)
	}
	if r2.N != 2 || r2.Methods != nil || !r2.Pattern.MatchString("sip:bob@example.org") {
		t.Errorf("route 2 %+v", r2)
	}
}

func TestOverrideReplaces(t *testing.T) {
	c := mustParse(t, "UDPPort = 5060\nLogLevel = INFO", "--UDPPort=0", "LogLevel=DEBUG", "--HideTopology=on")
	if c.LogLevel != slog.LevelDebug || !c.HideTopology {
		t.Errorf("got %+v", c)
	}
	for _, l := range c.Listeners {
		if l.Type == "UDP" {
			t.Errorf("UDP listener left after --UDPPort=0: %+v", l)
		}
	}
	if p, ok := c.Where("udpport"); !ok || p.String() != "command line: UDPPort" {
		t.Errorf("Where = %v", p)
	}
}

func TestVerificationString(t *testing.T) {
	for v, want := range map[Verification]string{VerifyNone: "None", VerifyOptional: "Optional", VerifyMandatory: "Mandatory", 7: "Verification(7)"} {
		if v.String() != want {
			t.Errorf("%d: %s", v, v)
		}
	}
}

// knownKeys lists every key the parser accepts, blocks as Transport<N>... and Route<N>....
func knownKeys() []string {
	keys := slices.Clone(globalKeys[:])
	for _, s := range transportSuffixes {
		keys = append(keys, "Transport<N>"+s)
	}
	for _, s := range routeSuffixes {
		keys = append(keys, "Route<N>"+s)
	}
	return keys
}

func TestSampleDocumentsEveryKey(t *testing.T) {
	for _, k := range knownKeys() {
		if !strings.Contains(Sample, k) {
			t.Errorf("the sample does not document %s", k)
		}
	}
}

func TestSampleIsTheDefaults(t *testing.T) {
	c, err := Parse("sipedge.config", []byte(Sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %v", c.Warnings)
	}
	empty := mustParse(t, "")
	for _, x := range []*Config{c, empty} {
		x.Source, x.set = "", nil
		for i := range x.Listeners {
			x.Listeners[i].Pos = Pos{}
		}
	}
	if !reflect.DeepEqual(c, empty) {
		t.Errorf("the sample's active lines are not the defaults:\n%+v\n%+v", c, empty)
	}
}

func TestKeyTables(t *testing.T) {
	for r := range reproOnly {
		if ref, msg := resolve(r); !strings.HasPrefix(msg, "repro key "+r+" is not supported by sipedge") || ref.name != r {
			t.Errorf("%s resolves to %+v, %q", r, ref, msg)
		}
	}
	for _, k := range globalKeys {
		if ref, msg := resolve(strings.ToUpper(k)); msg != "" || ref.name != k {
			t.Errorf("%s resolves to %+v, %q", k, ref, msg)
		}
	}
	for _, s := range transportSuffixes {
		if ref, msg := resolve("transport42" + s); msg != "" || ref.kind != kindTransport || ref.n != 42 || ref.suffix != s {
			t.Errorf("Transport42%s resolves to %+v, %q", s, ref, msg)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"type", "tpye", 1}, {"kitten", "sitting", 3}, {"udpprt", "udpport", 1}} {
		if got := editDistance(tt.a, tt.b); got != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

func TestPosString(t *testing.T) {
	for p, want := range map[Pos]string{
		{File: "a.config", Line: 3, Key: "UDPPort"}: "a.config:3: UDPPort",
		{File: "command line", Key: "UDPPort"}:      "command line: UDPPort",
		{Key: "UDPPort"}:                            "UDPPort (default)",
	} {
		if p.String() != want {
			t.Errorf("%s, want %s", p, want)
		}
	}
}

func TestAuthKeys(t *testing.T) {
	c, err := Parse("t.config", []byte("DisableAuth = on\nStaticRealm = sip.example.org\nDigestChallengeAlgorithms = md5\nChallengeThirdPartiesCallingLocalDomains = true\nTrustedPeers = 192.0.2.7/24 udp, 2001:db8::10\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DisableAuth || c.StaticRealm != "sip.example.org" || len(c.DigestChallengeAlgorithms) != 1 || c.DigestChallengeAlgorithms[0] != "MD5" || !c.ChallengeThirdParties {
		t.Fatalf("%+v", c)
	}
	if len(c.TrustedPeers) != 2 || c.TrustedPeers[0].Prefix.String() != "192.0.2.0/24" || c.TrustedPeers[0].Transport != "UDP" ||
		c.TrustedPeers[1].Prefix.String() != "2001:db8::10/128" || c.TrustedPeers[1].Transport != "" {
		t.Fatalf("TrustedPeers %+v", c.TrustedPeers)
	}
	d, err := Parse("t.config", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.DisableAuth || len(d.DigestChallengeAlgorithms) != 2 || d.DigestChallengeAlgorithms[0] != "SHA-256" {
		t.Fatalf("defaults: %+v", d)
	}
}
