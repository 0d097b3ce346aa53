package server

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/client"
	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/flowtoken"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// routeTokens returns the flow tokens in the user parts of a route set.
func routeTokens(t *testing.T, rs []string) []string {
	t.Helper()
	var toks []string
	for _, r := range rs {
		a, err := sip.ParseAddr(r)
		if err != nil {
			t.Fatalf("route %q: %v", r, err)
		}
		if a.URI.User != "" {
			toks = append(toks, a.URI.User)
		}
	}
	if len(toks) == 0 {
		t.Fatalf("route set %q: no flow token", rs)
	}
	return toks
}

// tokenCall registers alice and bob over TCP (with EnableFlowTokens, so
// both sides of the Record-Route carry a token) and returns the tokens of
// a call between them.
func tokenCall(t *testing.T, s *Server) []string {
	t.Helper()
	a := dial(t, s, transport.TCP, "alice", nil)
	b := dial(t, s, transport.TCP, "bob", nil)
	register(t, a)
	register(t, b)
	return routeTokens(t, call(t, a, b))
}

// routedMessage sends a MESSAGE over UDP whose Route carries tok in a URI
// of s, and returns the final response.
func routedMessage(t *testing.T, s *Server, tok, branch string) *sip.Message {
	t.Helper()
	c := newRawUDP(t, s)
	route := fmt.Sprintf("Route: <sip:%s@%s;lr>\n", tok, addr(t, s, transport.UDP))
	c.send(request("MESSAGE", "sip:bob@example.com", branch, "Max-Forwards: 70\n"+route))
	return c.next(true)
}

// TestFlowTokensSurviveRestart runs two servers in turn on one data
// directory: the first creates the key file, the second reads it, so a
// token the first put in a Record-Route is still known as genuine after
// the restart: flowtoken.ErrStale (its connection is gone), not
// ErrInvalid (forged). Flow ids start again from 1 in the new process; the
// token must never reach whichever connection now has its number.
func TestFlowTokensSurviveRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s1 := startServer(t, threeTransports, "--EnableFlowTokens=true", "--DataDirectory="+dir)
	toks := tokenCall(t, s1)
	s1.Close()

	fi, err := os.Stat(filepath.Join(dir, flowtoken.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	key, err := flowtoken.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := flowtoken.New(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if _, _, err := fromFile.Decode(tok); !errors.Is(err, flowtoken.ErrStale) {
			t.Fatalf("token %q under the key file: %v", tok, err)
		}
	}

	s2 := startServer(t, threeTransports, "--EnableFlowTokens=true", "--DataDirectory="+dir)
	for i, tok := range toks {
		if _, _, err := s2.tokens.Decode(tok); !errors.Is(err, flowtoken.ErrStale) {
			t.Fatalf("token %q after the restart: %v", tok, err)
		}
		// The tester's own UDP flow is the new flow 1: it must get an
		// answer, not the request: 430 (Flow Failed).
		m := routedMessage(t, s2, tok, fmt.Sprintf("restart%d", i))
		if m.IsRequest() || m.StatusCode != 430 {
			t.Fatalf("request with a token of the previous run: %s %d %s, want 430", m.Method, m.StatusCode, m.Reason)
		}
	}
	// A token under the key file and this process's boot id names a flow.
	own, err := s2.tokens.Rotate(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.tokens.Decode(own.Encode(1<<40, transport.WS)); err != nil {
		t.Fatalf("token under the key file after the restart: %v", err)
	}
	forged := flowtoken.NewRandom().Encode(1<<40, transport.TCP)
	if m := routedMessage(t, s2, forged, "restart2"); m.StatusCode != 403 {
		t.Fatalf("request with a forged token: %d %s, want 403", m.StatusCode, m.Reason)
	}
}

// TestFlowTokenSecretConfigured checks that configured secrets sign the
// tokens (the first one), that the data directory then gets no key file,
// and that a node holding the same secrets verifies them.
func TestFlowTokenSecretConfigured(t *testing.T) {
	newKey, oldKey := []byte("sipedge test key, new, 32 bytes!"), []byte("sipedge test key, old, 32 bytes!")
	dir := filepath.Join(t.TempDir(), "data")
	secret := "--FlowTokenSecret=" + hex.EncodeToString(newKey) + ", " + base64.StdEncoding.EncodeToString(oldKey)
	s := startServer(t, threeTransports, "--EnableFlowTokens=true", "--DataDirectory="+dir, secret)
	toks := tokenCall(t, s)
	if _, err := os.Stat(filepath.Join(dir, flowtoken.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file with FlowTokenSecret set: %v", err)
	}
	onlyNew, _ := flowtoken.New(newKey)
	onlyOld, _ := flowtoken.New(oldKey)
	for _, tok := range toks {
		if _, _, err := onlyNew.Decode(tok); !errors.Is(err, flowtoken.ErrStale) {
			t.Fatalf("token %q under the first secret: %v", tok, err)
		}
		if _, _, err := onlyOld.Decode(tok); !errors.Is(err, flowtoken.ErrInvalid) {
			t.Fatalf("token %q signed by the second secret: %v", tok, err)
		}
	}
	// A token of the second (old) key, made for this process, still
	// verifies and routes: 430, its flow is unknown here.
	old, err := s.tokens.Rotate(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if m := routedMessage(t, s, old.Encode(1<<40, transport.TCP), "secret1"); m.StatusCode != 430 {
		t.Fatalf("token of the second secret: %d %s, want 430", m.StatusCode, m.Reason)
	}
}

// TestFlowTokenKeyFileRefused: a key file other users may read stops the
// start, and the error names the file.
func TestFlowTokenKeyFileRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, flowtoken.KeyFile)
	if err := os.WriteFile(path, []byte(strings.Repeat("ab01", 16)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.config", []byte("DataDirectory = "+dir+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "t.config:1: DataDirectory") {
		t.Fatalf("New with a world-readable key file: %v", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("ab01", 16)) {
		t.Fatalf("the error shows the key: %v", err)
	}
}

// TestSecretRulesAgree checks that config's FlowTokenSecret check and
// flowtoken.ParseSecret (which config cannot import) accept the same
// secrets, with the same bytes.
func TestSecretRulesAgree(t *testing.T) {
	key := []byte("0123456789abcdefghijklmnopqrstuv")
	for _, s := range []string{
		hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)), hex.EncodeToString(key[:16]), hex.EncodeToString(key[:15]),
		hex.EncodeToString(key)[:63], strings.Repeat("0", 64), strings.Repeat("A", 44), strings.Repeat("01", 16),
		base64.StdEncoding.EncodeToString(key), base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString([]byte("\xff\xfe>?" + string(key))), base64.RawURLEncoding.EncodeToString([]byte("\xff\xfe>?" + string(key))),
		base64.StdEncoding.EncodeToString(key[:15]), base64.StdEncoding.EncodeToString(key)[:43] + "==",
		"correct horse battery staple", "correcthorsebatterystaple", "correcthorsebatterystapl", "hunter2", "secretsecret",
		"ab+_" + base64.RawStdEncoding.EncodeToString(key),
	} {
		want, ferr := flowtoken.ParseSecret(s)
		cfg, cerr := config.Parse("t.config", []byte("FlowTokenSecret = "+s+"\n"), nil)
		switch {
		case (ferr == nil) != (cerr == nil):
			t.Errorf("%q: flowtoken says %v, config says %v", s, ferr, cerr)
		case ferr == nil && (len(cfg.FlowTokenSecrets) != 1 || string(cfg.FlowTokenSecrets[0]) != string(want)):
			t.Errorf("%q: flowtoken reads %x, config %x", s, want, cfg.FlowTokenSecrets)
		case ferr != nil && !strings.Contains(cerr.Error(), ferr.Error()):
			t.Errorf("%q: messages differ: flowtoken %q, config %q", s, ferr, cerr)
		}
	}
}

// TestOutboundKeysReachRegistrar checks that FlowTimer reaches the
// registrar: an outbound REGISTER gets Flow-Timer in its 200, and none
// without the key.
func TestOutboundKeysReachRegistrar(t *testing.T) {
	for _, ft := range []string{"0", "25"} {
		s := startServer(t, threeTransports, "--FlowTimer="+ft)
		ua := dialConfig(t, s, transport.WS, client.Config{User: "bob", Instance: "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", RegID: 1})
		resp, err := ua.Register(ctx5(t), 600)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("FlowTimer=%s: REGISTER: %v %v", ft, resp, err)
		}
		got, ok := resp.Get("Flow-Timer")
		if want := ft != "0"; ok != want || want && got != ft {
			t.Fatalf("FlowTimer=%s: Flow-Timer %q (present %v)", ft, got, ok)
		}
	}
}
