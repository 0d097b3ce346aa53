package config

import (
	"strings"
	"testing"
)

const wsSecret = "5b6e0c1d9a7f4e2b8c3d1a0f9e8d7c6b"

func TestWSCookieKeys(t *testing.T) {
	c := mustParse(t, "")
	if c.WSCookieAuthSecret != nil || c.WSCookieNameInfo != "WSSessionInfo" || c.WSCookieNameExtra != "WSSessionExtra" ||
		c.WSCookieNameMac != "WSSessionMAC" || c.WSCookieExtraHeaderName != "X-WS-Session-Extra" {
		t.Fatalf("defaults: %q %q %q %q %q", c.WSCookieAuthSecret, c.WSCookieNameInfo, c.WSCookieNameExtra, c.WSCookieNameMac, c.WSCookieExtraHeaderName)
	}
	c = mustParse(t, "WSCookieAuthSharedSecret = "+wsSecret)
	if string(c.WSCookieAuthSecret) != wsSecret || c.WSCookieNameInfo != "WSSessionInfo" || len(c.Warnings) != 0 {
		t.Fatalf("secret %q, info %q, warnings %v", c.WSCookieAuthSecret, c.WSCookieNameInfo, c.Warnings)
	}
	// repro's spelling of the keys is case-insensitive, and the secret is used as written (a passphrase too).
	c = mustParse(t, "wscookieauthsharedsecret = correct horse battery staple\nWSCOOKIENAMEINFO = i\nWSCookieNameExtra = e\nWSCookieNameMac = m\nWSCookieExtraHeaderName = X-Extra")
	if string(c.WSCookieAuthSecret) != "correct horse battery staple" || c.WSCookieNameInfo != "i" || c.WSCookieNameExtra != "e" ||
		c.WSCookieNameMac != "m" || c.WSCookieExtraHeaderName != "X-Extra" {
		t.Fatalf("%q %q %q %q %q", c.WSCookieAuthSecret, c.WSCookieNameInfo, c.WSCookieNameExtra, c.WSCookieNameMac, c.WSCookieExtraHeaderName)
	}
	if p, ok := c.Where("WSCookieNameInfo"); !ok || p.String() != "t.config:2: WSCookieNameInfo" {
		t.Fatalf("Where = %v, %v", p, ok)
	}
	// An empty header name turns the header check off, as in repro.
	c = mustParse(t, "WSCookieAuthSharedSecret = "+wsSecret+"\nWSCookieExtraHeaderName =")
	if c.WSCookieExtraHeaderName != "" {
		t.Fatalf("header %q", c.WSCookieExtraHeaderName)
	}
	// From the command line.
	c = mustParse(t, "", "--WSCookieAuthSharedSecret="+wsSecret, "--WSCookieNameMac=mac")
	if string(c.WSCookieAuthSecret) != wsSecret || c.WSCookieNameMac != "mac" {
		t.Fatalf("overrides: %q %q", c.WSCookieAuthSecret, c.WSCookieNameMac)
	}
	// A short secret is accepted (the web site has it already), with a warning that does not repeat it.
	c = mustParse(t, "WSCookieAuthSharedSecret = hunter2")
	if string(c.WSCookieAuthSecret) != "hunter2" || len(c.Warnings) != 1 {
		t.Fatalf("short secret: %q, warnings %v", c.WSCookieAuthSecret, c.Warnings)
	}
	if w := c.Warnings[0].Error(); w != "t.config:1: WSCookieAuthSharedSecret: 7 bytes: a secret shorter than 16 can be found from one cookie by trying keys; make one with: openssl rand -hex 32" {
		t.Fatalf("warning %s", w)
	}
}

func TestWSCookieErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		overrides  []string
		want       string
	}{
		{"empty secret", "WSCookieAuthSharedSecret =", nil,
			"t.config:1: WSCookieAuthSharedSecret: empty value: remove the line to turn WebSocket cookie authentication off"},
		{"name without secret", "WSCookieNameInfo = Info", nil,
			"t.config:1: WSCookieNameInfo: set, but WSCookieAuthSharedSecret is not: cookie authentication is off"},
		{"header without secret", "WSCookieExtraHeaderName = X-Foo", nil,
			"t.config:1: WSCookieExtraHeaderName: set, but WSCookieAuthSharedSecret is not: cookie authentication is off"},
		{"empty name", "WSCookieAuthSharedSecret = " + wsSecret + "\nWSCookieNameExtra =", nil,
			"t.config:2: WSCookieNameExtra: empty value: remove the line to take the default (WSSessionExtra)"},
		{"bad name", "WSCookieAuthSharedSecret = " + wsSecret + "\nWSCookieNameMac = my;mac", nil,
			`t.config:2: WSCookieNameMac: "my;mac" is not a cookie name (letters, digits and -.!%*_+` + "`'~)"},
		{"bad header", "WSCookieAuthSharedSecret = " + wsSecret, []string{"--WSCookieExtraHeaderName=X Extra"},
			`command line: WSCookieExtraHeaderName: "X Extra" is not a header name (letters, digits and -.!%*_+` + "`'~)"},
		{"same names", "WSCookieAuthSharedSecret = " + wsSecret + "\nWSCookieNameInfo = c\nWSCookieNameMac = C", nil,
			"t.config:3: WSCookieNameMac: the same cookie name as WSCookieNameInfo"},
		{"a default name", "WSCookieAuthSharedSecret = " + wsSecret + "\nWSCookieNameInfo = WSSessionMAC", nil,
			"t.config:2: WSCookieNameInfo: the same cookie name as WSCookieNameMac (default WSSessionMAC)"},
	} {
		if got := errText(t, tc.text, tc.overrides...); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestWSCookieSecretHidden: no message repeats WSCookieAuthSharedSecret's value.
func TestWSCookieSecretHidden(t *testing.T) {
	const pass = "correct horse battery staple"
	for _, tc := range []struct {
		name, text string
		overrides  []string
		want       string
	}{
		{"duplicate", "WSCookieAuthSharedSecret = " + wsSecret + "\nwscookieauthsharedsecret = " + pass, nil,
			"t.config:2: WSCookieAuthSharedSecret: duplicate key (first set at t.config:1)"},
		{"trailing comment", "WSCookieAuthSharedSecret = " + pass + " # new", nil,
			`t.config:1: WSCookieAuthSharedSecret: "#" after a value: comments go on a line of their own`},
		{"no equals", "WSCookieAuthSharedSecret " + pass, nil,
			`t.config:1: "WSCookieAuthSharedSecret..." (value not shown) is not a setting: want Key = value`},
		{"colon", "WSCookieAuthSharedSecret: " + pass + " = x", nil,
			`t.config:1: "WSCookieAuthSharedSecret..." (value not shown) is not a key: keys are letters and digits`},
		{"override no equals", "", []string{"--wscookieauthsharedsecret:" + pass},
			`command line: "WSCookieAuthSharedSecret..." (value not shown) is not a setting: want --Key=value`},
		{"override too long", "", []string{"--WSCookieAuthSharedSecret=" + strings.Repeat(pass, 400)},
			`command line: "WSCookieAuthSharedSecret..." (value not shown) is longer than 8 KiB`},
	} {
		got := errText(t, tc.text, tc.overrides...)
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if strings.Contains(got, "horse") || strings.Contains(got, wsSecret) {
			t.Errorf("%s: the message repeats the secret: %s", tc.name, got)
		}
	}
}
