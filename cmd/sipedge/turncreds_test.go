package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/server"
	"github.com/sipedge/sipedge/turn"
	"github.com/sipedge/sipedge/web"
)

func TestTurnCredentialsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base := []string{"--DataDirectory=" + dir, "--IPAddress=127.0.0.1", "--Domains=example.com", "--TurnPort=3478", "--TlsTurnPort=0"}
	get := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"turn-credentials"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	// With TurnSecret: signed with the first secret, URIs from TurnUris.
	code, out, errs := get(append(base, "app-user-1", "--TurnSecret=first-secret-0123456789,second-secret-0123456789",
		"--TurnCredentialLifetime=600", "--TurnUris=turns:turn.example.com:443?transport=tcp")...)
	if code != 0 {
		t.Fatalf("%d %s", code, errs)
	}
	var r web.TURNResponse
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(r.Username, ":app-user-1") || r.TTL != 600 || r.Password != turn.RESTPassword([]byte("first-secret-0123456789"), r.Username) ||
		!slices.Equal(r.URIs, []string{"turns:turn.example.com:443?transport=tcp"}) || len(r.ICEServers) != 1 {
		t.Fatalf("%s", out)
	}
	// Without: the data directory's key (made now, and what serve uses),
	// URIs for --host.
	code, out, errs = get(append(base, "bob", "--host", "turn.example.org")...)
	if code != 0 {
		t.Fatalf("%d %s", code, errs)
	}
	key, err := os.ReadFile(filepath.Join(dir, server.RESTKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Password != turn.RESTPassword(bytes.TrimSpace(key), r.Username) || r.TTL != 86400 ||
		!slices.Equal(r.URIs, []string{"turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"}) {
		t.Fatalf("%s", out)
	}
	// The host defaults to the TURN address.
	if code, out, _ = get(append(base, "bob")...); code != 0 || !strings.Contains(out, `"turn:127.0.0.1:3478?transport=udp"`) {
		t.Fatalf("%d %s", code, out)
	}
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{base, 2, "USER must be"},
		{append(base, "a b"), 2, "USER must be"},
		{append(base, "bob", "--host"), 2, "needs a host name"},
		{append(base, "bob", "--host=bad_host"), 2, "--host NAME"},
		{[]string{"--DataDirectory=" + dir, "--TurnPort=0", "bob"}, 1, "TURN is off"},
		{append(base, "bob", "--NoSuchKey=1"), 1, "NoSuchKey"},
	} {
		if code, _, errs := get(tt.args...); code != tt.code || !strings.Contains(errs, tt.msg) {
			t.Errorf("%q: %d %q, want %d %q", tt.args, code, errs, tt.code, tt.msg)
		}
	}
}
