package config

import (
	"errors"
	"strings"
	"testing"
)

// errText parses text as "t.config" and returns the error text, "" if none.
func errText(t *testing.T, text string, overrides ...string) string {
	t.Helper()
	c, err := Parse("t.config", []byte(text), overrides)
	if err == nil {
		if c == nil {
			t.Fatal("nil Config without an error")
		}
		return ""
	}
	if c != nil {
		t.Error("Config returned with an error")
	}
	for _, e := range flatten(err) {
		var ce *Error
		if !errors.As(e, &ce) || ce.File == "" {
			t.Errorf("error %q is not an *Error with a position", e)
		}
	}
	return err.Error()
}

// flatten lists the errors inside an errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestErrors(t *testing.T) {
	const (
		cert = "TLSCertificate = c.pem\nTLSPrivateKey = k.pem\n"
		t1   = "Transport1Interface = 192.0.2.1:5060\n"
	)
	tests := []struct {
		name, text string
		overrides  []string
		want       string
	}{
		// syntax
		{"no equals", "UDPPort 5060", nil, `t.config:1: "UDPPort 5060" is not a setting: want Key = value`},
		{"no key", "# c\n\n = 5", nil, `t.config:3: no key before "="`},
		{"bad key", "UDP-Port = 5", nil, `t.config:1: "UDP-Port" is not a key: keys are letters and digits`},
		{"unknown key", "UDPPrt = 5060", nil, "t.config:1: UDPPrt: unknown key (did you mean UDPPort?)"},
		{"unknown key, nothing near", "Frobnicate = 1", nil, "t.config:1: Frobnicate: unknown key"},
		{"unknown key, transposition", "LogLevle = INFO", nil, "t.config:1: LogLevle: unknown key (did you mean LogLevel?)"},
		{"unknown block key", "Transprot3TlsDomain = x", nil, "t.config:1: Transprot3TlsDomain: unknown key (did you mean Transport3TlsDomain?)"},
		{"unknown block suffix", "Transport1Tpye = UDP", nil, "t.config:1: Transport1Tpye: unknown key (did you mean Transport1Type?)"},
		{"repro key", "HttpPort = 5080", nil, "t.config:1: HttpPort: repro key HttpPort is not supported by sipedge"},
		{"repro key, any case", "databasepath = ./", nil, "t.config:1: DatabasePath: repro key DatabasePath is not supported by sipedge (use DataDirectory)"},
		{"repro key LoggingType", "LoggingType = cout", nil, "t.config:1: LoggingType: repro key LoggingType is not supported by sipedge (sipedge logs to standard error; see LogFormat)"},
		{"repro block key", "Transport2RcvBufLen = 1", nil, "t.config:1: Transport2RcvBufLen: repro key Transport<N>RcvBufLen is not supported by sipedge"},
		{"duplicate", "UDPPort = 5060\n\nudpport = 5070", nil, "t.config:3: UDPPort: duplicate key (first set at t.config:1)"},
		{"trailing comment", "UDPPort = 5060 # sip", nil, `t.config:1: UDPPort: "#" after a value: comments go on a line of their own`},
		{"trailing comment after a pattern", "Route1Pattern = ^sip: # x\nRoute1Destination = sip:gw", nil, `t.config:1: Route1Pattern: "#" after a value: comments go on a line of their own`},
		{"line too long", "DataDirectory = " + strings.Repeat("d", 8192), nil, "t.config:1: line is longer than 8 KiB"},
		{"file too large", strings.Repeat("#\n", 1<<19+1), nil, "t.config: file is larger than 1 MiB"},

		// values
		{"bool", "DisableOutbound = yes", nil, `t.config:1: DisableOutbound: "yes" is not a boolean (want true/false, on/off or 1/0)`},
		{"bool empty", "DisableOutbound =", nil, "t.config:1: DisableOutbound: empty value: remove the line to take the default (false)"},
		{"port too big", "UDPPort = 65536", nil, `t.config:1: UDPPort: "65536" is not a port (0-65535, 0 = off)`},
		{"port negative", "TCPPort = -1", nil, `t.config:1: TCPPort: "-1" is not a port (0-65535, 0 = off)`},
		{"port sign", "TCPPort = +5", nil, `t.config:1: TCPPort: "+5" is not a port (0-65535, 0 = off)`},
		{"port empty", "TCPPort =", nil, "t.config:1: TCPPort: empty value: remove the line to take the default (5060)"},
		{"IPAddress bracketed IPv4", "IPAddress = [192.0.2.1]", nil, `t.config:1: IPAddress: "[192.0.2.1]" is not an IP address (leave it empty for all interfaces)`},
		{"long unknown key", strings.Repeat("K", 100) + " = 1", nil, "t.config:1: " + strings.Repeat("K", 64) + "...: unknown key"},
		{"long block number", "Transport" + strings.Repeat("9", 50) + "Type = UDP", nil, "t.config:1: Transport" + strings.Repeat("9", 50) + "Type: Transport number \"" + strings.Repeat("9", 40) + "\"... out of range (1 to 99, no leading zero)"},
		{"IPAddress", "IPAddress = 1.2.3", nil, `t.config:1: IPAddress: "1.2.3" is not an IP address (leave it empty for all interfaces)`},
		{"verification", "TLSPort = 5061\n" + cert + "TLSClientVerification = always", nil, `t.config:4: TLSClientVerification: "always" is not a client verification mode (want None, Optional or Mandatory)`},
		{"log level", "LogLevel = loud", nil, `t.config:1: LogLevel: "loud" is not a log level (want NONE, CRIT, ERR, WARNING, INFO, DEBUG or STACK)`},
		{"log format", "LogFormat = xml", nil, `t.config:1: LogFormat: "xml" is not one of text, json`},
		{"relay", "RelayForeignDomains = some", nil, `t.config:1: RelayForeignDomains: "some" is not one of none, all`},
		{"data directory", "DataDirectory =", nil, "t.config:1: DataDirectory: empty value: remove the line to take the default (./sipedge-data)"},
		{"grace", "ShutdownGracePeriod = 3601", nil, `t.config:1: ShutdownGracePeriod: "3601" is not a number of seconds from 0 to 3600`},
		{"transactions", "MaxTransactions = 10", nil, `t.config:1: MaxTransactions: "10" is not a number from 100 to 10000000`},
		{"digest algorithm", "DigestChallengeAlgorithms = SHA-256, SHA-1", nil, `t.config:1: DigestChallengeAlgorithms: "SHA-1" is not a digest algorithm (want SHA-256 and/or MD5)`},
		{"trusted peer", "TrustedPeers = 192.0.2.0/24 udp, 10.0.0.300", nil, `t.config:1: TrustedPeers: "10.0.0.300" is not an IP address or CIDR range`},
		{"trusted transport", "TrustedPeers = 192.0.2.1 sctp", nil, `t.config:1: TrustedPeers: "sctp" is not a transport (want UDP, TCP, TLS, WS or WSS)`},
		{"AssumePath bad", "AssumePath = maybe", nil, `t.config:1: AssumePath: "maybe" is not a boolean (want true/false, on/off or 1/0)`},
		{"domains", "Domains = example.org, exa mple.org,bad_name, EXAMPLE.org", nil,
			"t.config:1: Domains: \"bad_name\" is not a domain name or IP address\nt.config:1: Domains: \"example.org\" is listed twice"},
		{"record route scheme", "RecordRouteUri = http://example.org", nil, `t.config:1: RecordRouteUri: "http://example.org" is not a SIP URI (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)`},
		{"record route no host", "RecordRouteUri = sip:;lr", nil, `t.config:1: RecordRouteUri: "sip:;lr" has no valid host (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)`},
		{"record route port", "RecordRouteUri = sip:example.org:0", nil, `t.config:1: RecordRouteUri: "sip:example.org:0" has a bad port (1-65535)`},
		{"record route headers", "RecordRouteUri = sip:example.org?X=1", nil, `t.config:1: RecordRouteUri: "sip:example.org?X=1" is not a SIP URI (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)`},
		{"record route angle", "RecordRouteUri = <sip:example.org>", nil, `t.config:1: RecordRouteUri: "<sip:example.org>" is not a SIP URI (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)`},
		{"record route param", "RecordRouteUri = sip:example.org;=x", nil, `t.config:1: RecordRouteUri: "sip:example.org;=x" has a bad parameter "=x"`},

		// legacy listeners
		{"TLS without certificate", "TLSPort = 5061", nil, "t.config:1: TLSPort: a TLS listener needs TLSCertificate and TLSPrivateKey"},
		{"WSS without key", "WSSPort = 443\nTLSCertificate = c.pem", nil, "t.config:1: WSSPort: a WSS listener needs TLSPrivateKey"},
		{"TLS keys unused", "TLSCertificate = c.pem\nTLSDomainName =\n", nil, "t.config:1: TLSCertificate: set, but no listener uses it: TLSPort and WSSPort are 0"},
		{"TCP and WS clash", "WSPort = 5060", nil, "t.config:1: WSPort: WS listener on 0.0.0.0:5060 clashes with the TCP listener of TCPPort (default)\n" +
			"t.config:1: WSPort: WS listener on [::]:5060 clashes with the TCP listener of TCPPort (default)"},
		{"TLS and WSS clash", "IPAddress = ::1\nTLSPort = 5061\nWSSPort = 5061\n" + cert, nil, "t.config:3: WSSPort: WSS listener on [::1]:5061 clashes with the TLS listener of t.config:2: TLSPort"},

		// Transport<N> blocks
		{"block without Type", t1, nil, "t.config:1: Transport1Type: missing: Transport1 needs Interface and Type"},
		{"block without Interface", "Transport7Type = UDP\n", nil, "t.config:1: Transport7Interface: missing: Transport7 needs Interface and Type"},
		{"block 0", "Transport0Type = UDP", nil, `t.config:1: Transport0Type: Transport number "0" out of range (1 to 99, no leading zero)`},
		{"block 100", "Transport100Type = UDP", nil, `t.config:1: Transport100Type: Transport number "100" out of range (1 to 99, no leading zero)`},
		{"block leading zero", "Route01Pattern = x", nil, `t.config:1: Route01Pattern: Route number "01" out of range (1 to 99, no leading zero)`},
		{"DTLS", t1 + "Transport1Type = DTLS", nil, "t.config:2: Transport1Type: DTLS is not supported by sipedge"},
		{"bad type", t1 + "Transport1Type = SCTP", nil, `t.config:2: Transport1Type: "SCTP" is not a transport type (want UDP, TCP, TLS, WS or WSS)`},
		{"bad interface", "Transport1Interface = example.org:5060\nTransport1Type = UDP", nil, `t.config:1: Transport1Interface: "example.org:5060" is not an IP address and port (e.g. 192.0.2.1:5060 or [2001:db8::1]:5060)`},
		{"interface without port", "Transport1Interface = 192.0.2.1\nTransport1Type = UDP", nil, `t.config:1: Transport1Interface: "192.0.2.1" is not an IP address and port (e.g. 192.0.2.1:5060 or [2001:db8::1]:5060)`},
		{"interface port 0", "Transport1Interface = 192.0.2.1:0\nTransport1Type = UDP", nil, "t.config:1: Transport1Interface: port 0: a Transport<N> listener needs a port from 1 to 65535"},
		{"TLS block without certificate", t1 + "Transport1Type = tls\nTransport1TlsPrivateKey = k.pem", nil, "t.config:2: Transport1Type: a TLS transport needs Transport1TlsCertificate"},
		{"TLS key on UDP", t1 + "Transport1Type = UDP\nTransport1TlsDomain = example.org", nil, "t.config:3: Transport1TlsDomain: a TLS setting on a UDP transport (only TLS and WSS use it)"},
		{"auto on wildcard", "Transport1Interface = 0.0.0.0:5060\nTransport1Type = TCP\nTransport1RecordRouteUri = auto", nil, "t.config:3: Transport1RecordRouteUri: auto would name the wildcard address 0.0.0.0: give a URI instead"},
		{"auto on WSS without domain", "Transport1Interface = 192.0.2.1:443\nTransport1Type = WSS\nTransport1TlsCertificate = c\nTransport1TlsPrivateKey = k\nTransport1RecordRouteUri = AUTO", nil,
			"t.config:5: Transport1RecordRouteUri: auto on a WSS transport takes its host from Transport1TlsDomain, which is not set"},
		{"block record route", t1 + "Transport1Type = UDP\nTransport1RecordRouteUri = example.org", nil, `t.config:3: Transport1RecordRouteUri: "example.org" is not a SIP URI (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)`},
		{"legacy port with blocks", "UDPPort = 5060\n" + t1 + "Transport1Type = UDP", nil,
			"t.config:1: UDPPort: cannot be combined with Transport<N> blocks (repro ignores it; sipedge refuses): describe the listener as a Transport<N> block"},
		{"IPAddress with blocks", "IPAddress = 192.0.2.1\n" + t1 + "Transport1Type = UDP", nil,
			"t.config:1: IPAddress: cannot be combined with Transport<N> blocks (repro ignores it; sipedge refuses): give it in each Transport<N> block"},
		{"two UDP on one address", t1 + "Transport1Type = UDP\nTransport2Interface = 192.0.2.1:5060\nTransport2Type = UDP", nil,
			"t.config:4: Transport2Type: UDP listener on 192.0.2.1:5060 clashes with the UDP listener of t.config:2: Transport1Type"},

		// Route<N> blocks
		{"route without destination", "Route1Pattern = ^sip:", nil, "t.config:1: Route1Destination: missing: Route1 needs Pattern and Destination"},
		{"route bad regexp", "Route1Pattern = (\nRoute1Destination = sip:gw.example.net", nil, "t.config:1: Route1Pattern: bad regular expression: error parsing regexp: missing closing ): `(`"},
		{"route empty pattern", "Route1Pattern =\nRoute1Destination = sip:gw.example.net", nil, "t.config:1: Route1Pattern: empty pattern"},
		{"route bad destination", "Route1Pattern = x\nRoute1Destination = gw.example.net", nil, `t.config:2: Route1Destination: "gw.example.net" is not a SIP URI (want sip: or sips: and a host, e.g. sip:example.org;transport=ws)`},
		{"route bad method", "Route1Pattern = x\nRoute1Destination = sip:gw\nRoute1Methods = INVITE, IN/VITE, invite", nil,
			"t.config:3: Route1Methods: \"IN/VITE\" is not a SIP method\nt.config:3: Route1Methods: INVITE is listed twice"},
		{"route empty methods", "Route1Pattern = x\nRoute1Destination = sip:gw\nRoute1Methods = ,", nil, "t.config:3: Route1Methods: empty value: remove the line to route every method"},

		// registrar
		{"expires zero", "RegistrationMinimumExpires = 0", nil, `t.config:1: RegistrationMinimumExpires: "0" is not a number of seconds from 1 to 31536000`},
		{"min above max", "RegistrationMinimumExpires = 7200", nil, "t.config:1: RegistrationMinimumExpires: RegistrationMinimumExpires (7200) is above RegistrationMaximumExpires (3600)"},
		{"default above max", "RegistrationMaximumExpires = 600", nil, "t.config: RegistrationDefaultExpires: the default, 3600, is outside RegistrationMinimumExpires..RegistrationMaximumExpires (60..600)"},
		{"default below min", "RegistrationDefaultExpires = 30", nil, "t.config:1: RegistrationDefaultExpires: 30 is outside RegistrationMinimumExpires..RegistrationMaximumExpires (60..3600)"},

		// overrides
		{"override format", "", []string{"--UDPPort"}, `command line: "--UDPPort" is not a setting: want --Key=value`},
		{"override unknown", "", []string{"--UDPPrt=5"}, "command line: UDPPrt: unknown key (did you mean UDPPort?)"},
		{"override value", "UDPPort = 5060", []string{"udpport=x"}, `command line: UDPPort: "x" is not a port (0-65535, 0 = off)`},
		{"override twice", "", []string{"--UDPPort=1", "--UDPPORT=2"}, "command line: UDPPort: given twice on the command line"},
		{"override include", "", []string{"--Include=x.config"}, "command line: Include: not allowed on the command line: give the file with -c"},
		{"override legacy with file blocks", t1 + "Transport1Type = UDP", []string{"--TCPPort=5060"},
			"command line: TCPPort: cannot be combined with Transport<N> blocks (repro ignores it; sipedge refuses): describe the listener as a Transport<N> block"},

		// several at once, in file order
		{"all reported", "a = 1\nUDPPort = x\nb = 2\n", []string{"c=3"},
			"t.config:1: a: unknown key\nt.config:2: UDPPort: \"x\" is not a port (0-65535, 0 = off)\nt.config:3: b: unknown key\ncommand line: c: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errText(t, tt.text, tt.overrides...); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTooManyErrors(t *testing.T) {
	text := strings.Repeat("bogus = 1\n", 500)
	got := strings.Split(errText(t, text), "\n")
	if len(got) != maxErrors+1 || got[maxErrors] != "t.config:101: too many errors; stopping here" {
		t.Errorf("%d errors, last %q", len(got), got[len(got)-1])
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such.config", nil)
	if err == nil || err.Error() != "testdata/no-such.config: cannot read: no such file or directory" {
		t.Errorf("err = %v", err)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Errorf("%T is not an *Error", err)
	}
}
