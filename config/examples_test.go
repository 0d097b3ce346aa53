package config

import (
	"net/netip"
	"testing"
)

// The quick-start configs of the shared examples must load as written.
func TestQuickStartWS(t *testing.T) {
	c, err := Load("testdata/quickstart-ws.config", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  string
		addr string
	}{
		{"UDP", "0.0.0.0:5060"}, {"UDP", "[::]:5060"},
		{"TCP", "0.0.0.0:5060"}, {"TCP", "[::]:5060"},
		{"WS", "0.0.0.0:80"}, {"WS", "[::]:80"},
	}
	if len(c.Listeners) != len(want) {
		t.Fatalf("listeners = %+v", c.Listeners)
	}
	for i, w := range want {
		l := c.Listeners[i]
		if l.Type != w.typ || l.Addr != netip.MustParseAddrPort(w.addr) || l.N != 0 {
			t.Errorf("listener %d = %s %s, want %s %s", i, l.Type, l.Addr, w.typ, w.addr)
		}
	}
	if c.Listeners[4].Pos.String() != "testdata/quickstart-ws.config:6: WSPort" {
		t.Errorf("WS Pos = %s", c.Listeners[4].Pos)
	}
	if c.Listeners[0].Pos.String() != "UDPPort (default)" {
		t.Errorf("UDP Pos = %s", c.Listeners[0].Pos)
	}
	if c.RecordRouteURI != "sip:example.org" || c.DisableOutbound || !c.EnableFlowTokens {
		t.Errorf("proxy settings = %q %v %v", c.RecordRouteURI, c.DisableOutbound, c.EnableFlowTokens)
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != "testdata/quickstart-ws.config:5: AssumePath: obsolete in repro; ignored: sipedge's outbound edge always honours Path" {
		t.Errorf("warnings = %v", c.Warnings)
	}
}

func TestQuickStartWSS(t *testing.T) {
	c, err := Load("testdata/quickstart-wss.config", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Listeners) != 1 {
		t.Fatalf("listeners = %+v", c.Listeners)
	}
	l := c.Listeners[0]
	want := Listener{
		N: 1, Type: "WSS", Addr: netip.MustParseAddrPort("192.168.1.106:443"),
		TLSDomain:             "sip-ws-server.example.org",
		TLSCertificate:        "/etc/ssl/ssl.crt/sip-ws-server.example.org-bundle.pem",
		TLSPrivateKey:         "/etc/ssl/private/sip-ws-server.example.org-key.pem",
		TLSClientVerification: VerifyNone,
		RecordRouteURI:        "sip:example.org;transport=WS",
		Pos:                   Pos{File: "testdata/quickstart-wss.config", Line: 8, Key: "Transport1Type"},
	}
	if l != want {
		t.Errorf("listener\n got %+v\nwant %+v", l, want)
	}
	if p, ok := c.Where("transport1tlscertificate"); !ok || p.String() != "testdata/quickstart-wss.config:12: Transport1TlsCertificate" {
		t.Errorf("Where = %v %v", p, ok)
	}
	if len(c.Warnings) != 1 {
		t.Errorf("warnings = %v", c.Warnings)
	}
}

func TestEmbeddedDefault(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "embedded default" || c.DataDirectory != "./sipedge-data" || len(c.Warnings) != 0 {
		t.Errorf("config = %+v", c)
	}
	want := []string{"UDP 127.0.0.1:5060", "TCP 127.0.0.1:5060", "WS 127.0.0.1:8080"}
	if len(c.Listeners) != len(want) {
		t.Fatalf("listeners = %+v", c.Listeners)
	}
	for i, w := range want {
		if got := c.Listeners[i].Type + " " + c.Listeners[i].Addr.String(); got != w {
			t.Errorf("listener %d = %s, want %s", i, got, w)
		}
	}
	c, err = Load("", []string{"--WSPort=0", "IPAddress=::1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Listeners) != 2 || c.Listeners[1].Addr.String() != "[::1]:5060" {
		t.Errorf("listeners = %+v", c.Listeners)
	}
}
