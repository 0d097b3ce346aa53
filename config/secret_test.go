package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

var (
	key1 = []byte("0123456789abcdefghijklmnopqrstuv")
	key2 = []byte("\xff\xfe>?vutsrqponmlkjihgfedcba9876543210")
	hex1 = hex.EncodeToString(key1)
	b64u = base64.RawURLEncoding.EncodeToString(key2)
)

func TestFlowTokenSecret(t *testing.T) {
	if c := mustParse(t, ""); c.FlowTokenSecrets != nil {
		t.Fatalf("default secrets %x", c.FlowTokenSecrets)
	}
	c := mustParse(t, "FlowTokenSecret = "+hex1)
	if len(c.FlowTokenSecrets) != 1 || !bytes.Equal(c.FlowTokenSecrets[0], key1) {
		t.Fatalf("secrets %x", c.FlowTokenSecrets)
	}
	if p, ok := c.Where("flowtokensecret"); !ok || p.String() != "t.config:1: FlowTokenSecret" {
		t.Fatalf("Where = %v, %v", p, ok)
	}
	// Rotation: the first signs, all verify; blanks around commas.
	for _, v := range []string{b64u + "," + hex1, " " + b64u + " ,  " + hex1 + " "} {
		c = mustParse(t, "FlowTokenSecret = "+v)
		if len(c.FlowTokenSecrets) != 2 || !bytes.Equal(c.FlowTokenSecrets[0], key2) || !bytes.Equal(c.FlowTokenSecrets[1], key1) {
			t.Fatalf("%q: secrets %x", v, c.FlowTokenSecrets)
		}
	}
	c = mustParse(t, "FlowTokenSecret = "+hex1, "--FlowTokenSecret="+base64.StdEncoding.EncodeToString(key2))
	if len(c.FlowTokenSecrets) != 1 || !bytes.Equal(c.FlowTokenSecrets[0], key2) {
		t.Fatalf("override: secrets %x", c.FlowTokenSecrets)
	}
}

func TestFlowTokenSecretErrors(t *testing.T) {
	const passphrase = "correct horse battery staple"
	short := hex.EncodeToString(key1[:15])
	many := strings.Repeat(hex1+",", 16) + hex1
	for _, tc := range []struct {
		name, text string
		overrides  []string
		want       string
		hidden     []string // must not appear in the message
	}{
		{"passphrase", "# keys\nFlowTokenSecret = " + passphrase, nil,
			"t.config:2: FlowTokenSecret: secret: not hex or base64 (a passphrase is not accepted; make one with: openssl rand -hex 32)", []string{"horse"}},
		{"short", "FlowTokenSecret = " + short, nil,
			"t.config:1: FlowTokenSecret: secret: 15 bytes, want at least 16 (128 bits; make one with: openssl rand -hex 32)", []string{short}},
		{"second of two", "FlowTokenSecret = " + hex1 + ", " + short, nil,
			"t.config:1: FlowTokenSecret: secret 2 of 2: 15 bytes, want at least 16 (128 bits; make one with: openssl rand -hex 32)", []string{short, hex1}},
		{"odd hex", "FlowTokenSecret = " + hex1[:63], nil,
			"t.config:1: FlowTokenSecret: secret: odd number of hex digits (63)", []string{hex1[:63]}},
		{"zeros", "FlowTokenSecret = " + strings.Repeat("0", 64), nil,
			"t.config:1: FlowTokenSecret: secret: too regular to be random (fewer than 8 different byte values; make one with: openssl rand -hex 32)", []string{strings.Repeat("0", 32)}},
		{"empty item", "FlowTokenSecret = " + hex1 + ",", nil,
			"t.config:1: FlowTokenSecret: secret 2 of 2: empty secret", []string{hex1}},
		{"same twice", "FlowTokenSecret = " + hex1 + "," + base64.StdEncoding.EncodeToString(key1), nil,
			"t.config:1: FlowTokenSecret: secret 2 of 2: the same key as secret 1", []string{hex1}},
		{"too many", "FlowTokenSecret = " + many, nil,
			"t.config:1: FlowTokenSecret: 17 secrets, at most 16", []string{hex1}},
		{"empty", "FlowTokenSecret =", nil,
			"t.config:1: FlowTokenSecret: empty value: remove the line to use the key kept in DataDirectory (flowtoken.key)", nil},
		{"duplicate key", "FlowTokenSecret = " + hex1 + "\nflowtokensecret = " + passphrase, nil,
			"t.config:2: FlowTokenSecret: duplicate key (first set at t.config:1)", []string{hex1, "horse"}},
		{"trailing comment", "FlowTokenSecret = " + hex1 + " # new", nil,
			`t.config:1: FlowTokenSecret: "#" after a value: comments go on a line of their own`, []string{hex1}},
		{"no equals", "FlowTokenSecret " + hex1, nil,
			`t.config:1: "FlowTokenSecret..." (value not shown) is not a setting: want Key = value`, []string{hex1}},
		{"colon", "FlowTokenSecret: " + hex1 + " = x", nil,
			`t.config:1: "FlowTokenSecret..." (value not shown) is not a key: keys are letters and digits`, []string{hex1}},
		{"override", "", []string{"--FlowTokenSecret=" + passphrase},
			"command line: FlowTokenSecret: secret: not hex or base64 (a passphrase is not accepted; make one with: openssl rand -hex 32)", []string{"horse"}},
		{"override no equals", "", []string{"--flowtokensecret:" + hex1},
			`command line: "FlowTokenSecret..." (value not shown) is not a setting: want --Key=value`, []string{hex1}},
		{"override too long", "", []string{"--FlowTokenSecret=" + strings.Repeat(hex1, 130)},
			`command line: "FlowTokenSecret..." (value not shown) is longer than 8 KiB`, []string{hex1}},
	} {
		got := errText(t, tc.text, tc.overrides...)
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		for _, h := range tc.hidden {
			if strings.Contains(got, h) {
				t.Errorf("%s: the message repeats the secret: %s", tc.name, got)
			}
		}
	}
}

func TestOutboundKeys(t *testing.T) {
	c := mustParse(t, "")
	if c.FlowTimer != 0 || c.AssumeFirstHopSupportsOutbound {
		t.Fatalf("defaults: FlowTimer %v, AssumeFirstHopSupportsOutbound %v", c.FlowTimer, c.AssumeFirstHopSupportsOutbound)
	}
	c = mustParse(t, "FlowTimer = 30\nAssumeFirstHopSupportsOutbound = true")
	if c.FlowTimer != 30*time.Second || !c.AssumeFirstHopSupportsOutbound {
		t.Fatalf("FlowTimer %v, AssumeFirstHopSupportsOutbound %v", c.FlowTimer, c.AssumeFirstHopSupportsOutbound)
	}
	// Off is fine beside DisableOutbound.
	mustParse(t, "DisableOutbound = true\nFlowTimer = 0\nAssumeFirstHopSupportsOutbound = false")
	for _, tc := range []struct {
		name, text string
		overrides  []string
		want       string
	}{
		{"FlowTimer range", "FlowTimer = 3601", nil, `t.config:1: FlowTimer: "3601" is not a number of seconds from 0 to 3600`},
		{"FlowTimer word", "FlowTimer = 30s", nil, `t.config:1: FlowTimer: "30s" is not a number of seconds from 0 to 3600`},
		{"FlowTimer empty", "FlowTimer =", nil, "t.config:1: FlowTimer: empty value: remove the line to take the default (0)"},
		{"AssumeFirstHop bool", "AssumeFirstHopSupportsOutbound = sure", nil, `t.config:1: AssumeFirstHopSupportsOutbound: "sure" is not a boolean (want true/false, on/off or 1/0)`},
		{"FlowTimer without outbound", "DisableOutbound = true\nFlowTimer = 25", nil,
			"t.config:2: FlowTimer: has no effect with DisableOutbound = true (t.config:1: DisableOutbound): remove one of them"},
		{"AssumeFirstHop without outbound", "AssumeFirstHopSupportsOutbound = on", []string{"--DisableOutbound=1"},
			"t.config:1: AssumeFirstHopSupportsOutbound: has no effect with DisableOutbound = true (command line: DisableOutbound): remove one of them"},
		{"repro spelling", "flowtimer = x", nil, `t.config:1: FlowTimer: "x" is not a number of seconds from 0 to 3600`},
	} {
		if got := errText(t, tc.text, tc.overrides...); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
