package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "sipedge ") {
		t.Fatalf("unexpected output %q", out.String())
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"frobnicate"}, nil, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Fatalf("stderr %q does not name the command", errb.String())
	}
}

func TestCheckConfigDescribes(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"check-config", "--TurnPort=3478", "--Domains=example.com", "--TurnSecret=0123456789abcdef0123"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"listen UDP 127.0.0.1:5060", "domains: example.com", "turn     127.0.0.1:3478", "authentication: digest (on)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("check-config output lacks %q:\n%s", want, out.String())
		}
	}
}
