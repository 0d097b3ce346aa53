package server

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/client"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/store"
	"github.com/sipedge/sipedge/store/sqlite"
	"github.com/sipedge/sipedge/transport"
)

// addUsers puts users (name -> password) of example.com into the store in
// dir, as `sipedge user add` does.
func addUsers(t *testing.T, dir string, users map[string]string) {
	t.Helper()
	ctx := ctx5(t)
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AddDomain(ctx, "example.com"); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	for name, pw := range users {
		u, err := store.NewUser(name, "example.com", "", pw)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
}

// startAuthServer runs sipedge with digest authentication on (the
// default), its data directory holding users.
func startAuthServer(t *testing.T, users map[string]string, extra string) (*Server, string) {
	t.Helper()
	return startAuthServerWith(t, Options{}, users, extra)
}

// startAuthServerWith is startAuthServer with Options (Logger and Timers
// are set here).
func startAuthServerWith(t *testing.T, opts Options, users map[string]string, extra string) (*Server, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	addUsers(t, dir, users)
	text := "IPAddress = 127.0.0.1\nUDPPort = 5060\nTCPPort = 5060\nWSPort = 8080\n" + extra + "\nDataDirectory = " + dir + "\n"
	return runConfig(t, "auth.config", text, opts), dir
}

// TestDigest registers and calls with passwords: 401 with SHA-256 and MD5
// challenges for REGISTER, 407 for a MESSAGE from one of our users, 200
// once the client answers; a wrong password never gets in.
func TestDigest(t *testing.T) {
	s, _ := startAuthServer(t, map[string]string{"alice": "wonderland", "bob": "builder"}, "")
	for _, k := range []transport.Kind{transport.UDP, transport.WS} {
		t.Run(k.String(), func(t *testing.T) {
			bare := dial(t, s, k, "alice", nil)
			resp, err := bare.Register(ctx5(t), 600)
			if err != nil || resp.StatusCode != 401 {
				t.Fatalf("REGISTER without a password: %v %v, want 401", resp, err)
			}
			var algs []string
			for c, err := range resp.Auths(sip.HeaderWWWAuthenticate) {
				if err != nil {
					t.Fatal(err)
				}
				a, _ := c.Param("algorithm")
				algs = append(algs, a)
			}
			if strings.Join(algs, ",") != "SHA-256,MD5" {
				t.Fatalf("challenges offer %q, want SHA-256 then MD5", algs)
			}
			wrong := dialConfig(t, s, k, client.Config{User: "alice", Password: "looking-glass"})
			if resp, err := wrong.Register(ctx5(t), 600); err != nil || resp.StatusCode != 401 {
				t.Fatalf("REGISTER with a wrong password: %v %v, want 401", resp, err)
			}
			alice := dialConfig(t, s, k, client.Config{User: "alice", Password: "wonderland"})
			register(t, alice)
			bob := dialConfig(t, s, k, client.Config{User: "bob", Password: "builder"})
			register(t, bob)
			// MESSAGE and INVITE from alice are challenged (407) and answered.
			call(t, alice, bob)
		})
	}
}

// TestDigestIdentity checks that credentials prove only their own user: a
// REGISTER for bob with alice's credentials, and a MESSAGE From bob with
// alice's, get 403; a replayed nonce-count gets 403 too.
func TestDigestIdentity(t *testing.T) {
	s, _ := startAuthServer(t, map[string]string{"alice": "wonderland", "bob": "builder"}, "")
	r := newRawUDP(t, s)
	send := func(method, aor, branch, authz string, cseq int) *sip.Message {
		t.Helper()
		hdr := "Authorization"
		if method != "REGISTER" {
			hdr = "Proxy-Authorization"
		}
		text := method + " sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bK" + branch + ";rport\n" +
			"From: <" + aor + ">;tag=f" + branch + "\nTo: <" + aor + ">\nCall-ID: " + branch + "@test\n" +
			fmt.Sprintf("CSeq: %d %s\n", cseq, method) + "Max-Forwards: 70\nContact: <sip:x@127.0.0.1:$PORT>\n"
		if authz != "" {
			text += hdr + ": " + authz + "\n"
		}
		r.send(text + "Content-Length: 0\n\n")
		return r.next(true)
	}
	chal := send("REGISTER", "sip:bob@example.com", "id1", "", 1)
	if chal.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d", chal.StatusCode)
	}
	nonce := md5Nonce(t, chal, sip.HeaderWWWAuthenticate)
	answer := func(user, pw, method string, nc int) string {
		ha1 := md5hex(user + ":example.com:" + pw)
		ha2 := md5hex(method + ":sip:example.com")
		ncs := fmt.Sprintf("%08x", nc)
		resp := md5hex(ha1 + ":" + nonce + ":" + ncs + ":c0ffee:auth:" + ha2)
		return fmt.Sprintf(`Digest username="%s", realm="example.com", nonce="%s", uri="sip:example.com", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="c0ffee"`, user, nonce, resp, ncs)
	}
	if m := send("REGISTER", "sip:bob@example.com", "id2", answer("alice", "wonderland", "REGISTER", 1), 2); m.StatusCode != 403 {
		t.Fatalf("REGISTER of bob's AOR with alice's credentials: %d %s, want 403", m.StatusCode, m.Reason)
	}
	if m := send("REGISTER", "sip:alice@example.com", "id3", answer("alice", "wonderland", "REGISTER", 2), 3); m.StatusCode != 200 {
		t.Fatalf("REGISTER of alice's AOR: %d %s, want 200", m.StatusCode, m.Reason)
	}
	if m := send("REGISTER", "sip:alice@example.com", "id4", answer("alice", "wonderland", "REGISTER", 2), 4); m.StatusCode != 403 {
		t.Fatalf("replayed nonce-count: %d %s, want 403", m.StatusCode, m.Reason)
	}
}

// TestUsersReachRunningServer adds a user while sipedge runs, as `sipedge
// user add` does, and registers with it without a restart.
func TestUsersReachRunningServer(t *testing.T) {
	s, dir := startAuthServer(t, map[string]string{"alice": "wonderland"}, "")
	addUsers(t, dir, map[string]string{"carol": "singer"})
	carol := dialConfig(t, s, transport.UDP, client.Config{User: "carol", Password: "singer"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := carol.Register(ctx5(t), 600)
		if err == nil && resp.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a user added while running still refused after 5 s: %v %v", resp, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestTrustedPeers lets a trunk's address pass without a challenge.
func TestTrustedPeers(t *testing.T) {
	s, _ := startAuthServer(t, map[string]string{"alice": "wonderland"}, "TrustedPeers = 127.0.0.1 udp")
	trunk := dial(t, s, transport.UDP, "alice", nil)
	register(t, trunk)
	other := dial(t, s, transport.TCP, "alice", nil)
	if resp, err := other.Register(ctx5(t), 600); err != nil || resp.StatusCode != 401 {
		t.Fatalf("the same address over TCP (not trusted): %v %v, want 401", resp, err)
	}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// md5Nonce returns the nonce of the MD5 challenge in resp's header h.
func md5Nonce(t *testing.T, resp *sip.Message, h sip.Header) string {
	t.Helper()
	for c, err := range resp.Auths(h) {
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := c.Param("algorithm"); a == "MD5" {
			n, _ := c.Param("nonce")
			return n
		}
	}
	t.Fatalf("no MD5 challenge in\n%s", resp)
	return ""
}

// TestStaleNonce answers a challenge after its nonce expired: the right
// password gets a new challenge with stale=true (RFC 7616 §3.3), which the
// client answers without asking its user again.
func TestStaleNonce(t *testing.T) {
	s, _ := startAuthServerWith(t, Options{NonceLifetime: time.Second}, map[string]string{"alice": "wonderland"}, "")
	r := newRawUDP(t, s)
	reg := func(branch, authz string, cseq int) *sip.Message {
		t.Helper()
		text := "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bK" + branch + ";rport\n" +
			"From: <sip:alice@example.com>;tag=s1\nTo: <sip:alice@example.com>\nCall-ID: stale@test\n" +
			fmt.Sprintf("CSeq: %d REGISTER\n", cseq) + "Contact: <sip:alice@127.0.0.1:$PORT>\n"
		if authz != "" {
			text += "Authorization: " + authz + "\n"
		}
		r.send(text + "Content-Length: 0\n\n")
		return r.next(true)
	}
	chal := reg("st1", "", 1)
	nonce := md5Nonce(t, chal, sip.HeaderWWWAuthenticate)
	ha1 := md5hex("alice:example.com:wonderland")
	resp := md5hex(ha1 + ":" + nonce + ":00000001:c0ffee:auth:" + md5hex("REGISTER:sip:example.com"))
	authz := fmt.Sprintf(`Digest username="alice", realm="example.com", nonce="%s", uri="sip:example.com", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`, nonce, resp)
	time.Sleep(2100 * time.Millisecond) // the nonce's lifetime is 1 s, counted in whole seconds
	m := reg("st2", authz, 2)
	if m.StatusCode != 401 {
		t.Fatalf("expired nonce: %d %s, want 401", m.StatusCode, m.Reason)
	}
	stale := false
	for c, err := range m.Auths(sip.HeaderWWWAuthenticate) {
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := c.Param("stale"); strings.EqualFold(v, "true") {
			stale = true
		}
	}
	if !stale {
		t.Fatalf("expired nonce with the right password: no stale=true in\n%s", m)
	}
}

// TestStaticRealm challenges every domain in one realm; users are stored
// in that realm (sipedge user add --realm).
func TestStaticRealm(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := ctx5(t)
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	u, err := store.NewUser("alice", "example.com", "sip.realm.test", "wonderland")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := runConfig(t, "realm.config", "IPAddress = 127.0.0.1\nUDPPort = 5060\nTCPPort = 0\nStaticRealm = sip.realm.test\nDataDirectory = "+dir+"\n", Options{})
	bare := dial(t, s, transport.UDP, "alice", nil)
	resp, err := bare.Register(ctx5(t), 600)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("REGISTER: %v %v", resp, err)
	}
	for c, err := range resp.Auths(sip.HeaderWWWAuthenticate) {
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := c.Param("realm"); r != "sip.realm.test" {
			t.Fatalf("challenge realm %q, want the static one", r)
		}
	}
	alice := dialConfig(t, s, transport.UDP, client.Config{User: "alice", Password: "wonderland"})
	register(t, alice)
}

// TestChallengeThirdParties: a request from another domain to one of our
// users passes unchallenged, unless ChallengeThirdPartiesCallingLocalDomains.
func TestChallengeThirdParties(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			s, _ := startAuthServer(t, map[string]string{"alice": "wonderland"}, fmt.Sprintf("ChallengeThirdPartiesCallingLocalDomains = %v", on))
			r := newRawUDP(t, s)
			r.send("MESSAGE sip:alice@example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bKtp;rport\n" +
				"From: <sip:someone@elsewhere.test>;tag=e1\nTo: <sip:alice@example.com>\nCall-ID: tp@test\nCSeq: 1 MESSAGE\n" +
				"Max-Forwards: 70\nContent-Length: 0\n\n")
			m := r.next(true)
			want := 480 // past authentication; alice is not registered
			if on {
				want = 407
			}
			if m.StatusCode != want {
				t.Fatalf("%d %s, want %d", m.StatusCode, m.Reason, want)
			}
		})
	}
}
