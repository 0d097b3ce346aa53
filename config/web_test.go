package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const turnOn = "TurnPort = 3478\nDomains = a.example\nIPAddress = 192.0.2.1\n"

func TestWebDefaults(t *testing.T) {
	for _, text := range []string{"", "TurnPort = 0", turnOn} {
		c := mustParse(t, text)
		if c.Web.TurnCredentialLifetime != 24*time.Hour || c.Web.TurnURIs != nil || !c.Web.Phone || !c.Web.SelfTest {
			t.Errorf("%q: %+v", text, c.Web)
		}
	}
}

func TestWebKeys(t *testing.T) {
	c := mustParse(t, turnOn+"TurnCredentialLifetime = 3600\nTurnUris = TURN:turn.example.com?Transport=UDP, turns:[2001:db8::1]:443?transport=tcp turn:192.0.2.1:3478\n")
	if c.Web.TurnCredentialLifetime != time.Hour {
		t.Errorf("lifetime %v", c.Web.TurnCredentialLifetime)
	}
	want := []string{"turn:turn.example.com?transport=udp", "turns:[2001:db8::1]:443?transport=tcp", "turn:192.0.2.1:3478"}
	if !slices.Equal(c.Web.TurnURIs, want) {
		t.Errorf("uris %q, want %q", c.Web.TurnURIs, want)
	}
}

// TestWebSelfTest: WebSelfTest is on unless set false, with TURN on or
// off, and apart from WebPhone.
func TestWebSelfTest(t *testing.T) {
	for text, want := range map[string]bool{"WebSelfTest = false": false, "WebSelfTest = off\n" + turnOn: false, "WebPhone = false\nTurnPort = 0": true, "WebSelfTest = on": true} {
		if got := mustParse(t, text).Web.SelfTest; got != want {
			t.Errorf("%q: SelfTest %v, want %v", text, got, want)
		}
	}
}

// TestWebPhone: WebPhone is on unless set false, with TURN on or off.
func TestWebPhone(t *testing.T) {
	for text, want := range map[string]bool{"WebPhone = false": false, "WebPhone = off\n" + turnOn: false, "WebPhone = true\nTurnPort = 0": true, "WebPhone = 1": true} {
		if got := mustParse(t, text).Web.Phone; got != want {
			t.Errorf("%q: Phone %v, want %v", text, got, want)
		}
	}
}

func TestWebErrors(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"TurnPort = 0\nTurnCredentialLifetime = 3600", "t.config:2: TurnCredentialLifetime: set, but TurnPort is 0 (TURN is off)"},
		{"TurnPort = 0\nTurnUris = turn:a.example", "t.config:2: TurnUris: set, but TurnPort is 0"},
		{turnOn + "TurnCredentialLifetime = 59", "TurnCredentialLifetime: \"59\" is not a number of seconds from 60 to 604800"},
		{turnOn + "TurnCredentialLifetime = 604801", "from 60 to 604800"},
		{turnOn + "TurnCredentialLifetime =", "empty value: remove the line to take the default (86400)"},
		{turnOn + "TurnUris =", "TurnUris: empty value"},
		{"WebPhone =", "WebPhone: empty value: remove the line to take the default (true)"},
		{"WebPhone = maybe", `WebPhone: "maybe" is not a boolean`},
		{"WebSelfTest =", "WebSelfTest: empty value: remove the line to take the default (true)"},
		{"WebSelfTest = 2", `WebSelfTest: "2" is not a boolean`},
		{turnOn + "TurnUris = stun:a.example", `"stun:a.example" is not a TURN URI`},
		{turnOn + "TurnUris = turn:", `"turn:" is not a TURN URI`},
		{turnOn + "TurnUris = turn:a_b.example", "is not a TURN URI"},
		{turnOn + "TurnUris = turn:user@a.example", "is not a TURN URI"},
		{turnOn + "TurnUris = turn:2001:db8::1", "is not a TURN URI"}, // IPv6 needs brackets
		{turnOn + "TurnUris = turn:a.example:0", `"0" is not a port (1-65535)`},
		{turnOn + "TurnUris = turn:a.example:70000", `"70000" is not a port`},
		{turnOn + "TurnUris = turn:a.example?transport=sctp", "the only query is ?transport=udp or ?transport=tcp"},
		{turnOn + "TurnUris = turn:a.example?foo=udp", "the only query"},
		{turnOn + "TurnUris = turns:a.example?transport=udp", "turns over UDP is DTLS"},
		{turnOn + "TurnUris = turn:a.example/path", "is not a TURN URI"},
		{turnOn + "TurnUris = turn:a.example, TURN:A.example", `"TURN:A.example" is listed twice`},
		{turnOn + "TurnUris = " + strings.Repeat("turn:a.example,", 17), "17 URIs, at most 16"},
	} {
		got := errText(t, tt.text)
		if !strings.Contains(got, tt.want) {
			t.Errorf("%q:\n got %s\nwant %s", tt.text, got, tt.want)
		}
	}
}

func TestValidHost(t *testing.T) {
	for h, want := range map[string]bool{"a.example": true, "192.0.2.1": true, "[2001:db8::1]": true, "2001:db8::1": true, "a_b": false, "": false, "[192.0.2.1]": false} {
		if ValidHost(h) != want {
			t.Errorf("ValidHost(%q) = %v", h, !want)
		}
	}
}
