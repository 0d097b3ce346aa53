package server

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/internal/testnet"
)

// The sipp digest interop tests: sipp registers and calls with passwords
// through sipedge with authentication on, answering its 401 and 407 with
// sipp's [authentication] keyword (the user and password from -au and -ap).
//
// What sipp 3.6.1 (Debian's sip-tester) does with our challenges: it reads
// the first WWW-Authenticate (Proxy-Authenticate) of the response only, and
// computes MD5 or AKAv1-MD5 only; given sipedge's default challenges,
// SHA-256 first, it gives up ("createAuthHeader: authentication must use
// MD5 or AKAv1-MD5") without sending anything. So these tests configure
// DigestChallengeAlgorithms with MD5 first (MD5 alone, or MD5 then
// SHA-256). It answers qop="auth" with qop=auth, nc=00000001 and a cnonce.
// Its digest uri is sip:remote_ip:remote_port (the address it sends to)
// unless -auth_uri says otherwise, and sipedge refuses a uri that is not
// the Request-URI (403 "uri mismatch"): the runs pass -auth_uri with the
// Request-URI of their scenario.

// sippUsers are the users of the sipedge of these tests.
var sippUsers = map[string]string{"alice": "wonderland", "bob": "builder"}

// newSIPpAuthEnv is sipedge on UDP and TCP with digest authentication on,
// sippUsers in its store, offering the challenges of algs.
func newSIPpAuthEnv(t *testing.T, algs string) *sippEnv {
	sipp := testnet.NeedTool(t, "sipp", "Debian package sip-tester")
	s, _ := startAuthServer(t, sippUsers, "DigestChallengeAlgorithms = "+algs)
	return &sippEnv{t: t, sipp: sipp, s: s}
}

// register runs a REGISTER scenario for user@example.com with password pw
// from local port (over mode) and waits for it.
func (e *sippEnv) register(name, scenario, user, pw, mode string, port int) *sippProc {
	e.t.Helper()
	return e.run(name, scenario, "-t", mode, "-p", strconv.Itoa(port),
		"-s", user, "-au", user, "-ap", pw, "-auth_uri", "example.com", e.target(mode).String())
}

// authCallee registers user with its password from a fresh local port over
// mode and starts the UAS scenario on that port.
func (e *sippEnv) authCallee(name, user, mode, scenario string) *sippProc {
	t := e.t
	t.Helper()
	port := testnet.FreePort(t)
	e.register(name+" REGISTER", "register-auth.xml", user, sippUsers[user], mode, port)
	if t.Failed() {
		t.FailNow()
	}
	uas := e.start(name, scenario, "-t", mode, "-p", strconv.Itoa(port))
	uas.listening(t, mode, port)
	return uas
}

// authCaller runs a UAC scenario in which user, with password pw, calls
// callee@example.com over mode, and waits for it.
func (e *sippEnv) authCaller(name, scenario, user, pw, callee, mode string) *sippProc {
	e.t.Helper()
	return e.run(name, scenario, "-t", mode, "-p", strconv.Itoa(testnet.FreePort(e.t)),
		"-s", callee, "-key", "caller", user, "-au", user, "-ap", pw,
		"-auth_uri", callee+"@example.com", e.target(mode).String())
}

// receivedStatuses returns the status lines of the responses that sipp's
// -message_file shows received, in order.
func receivedStatuses(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, block := range strings.Split(string(b), "\n-----") {
		if !strings.Contains(block, "message received") {
			continue
		}
		_, msg, ok := strings.Cut(block, "\n\n")
		if !ok || !strings.HasPrefix(msg, "SIP/2.0 ") {
			continue
		}
		line, _, _ := strings.Cut(msg, "\n")
		got = append(got, strings.TrimSpace(line))
	}
	return got
}

// TestSIPpDigestRegister: REGISTER, 401, REGISTER with sipp's digest
// answer, 200; over UDP and TCP with the MD5 challenge alone, and over UDP
// with MD5 offered before SHA-256 (sipp answers the first challenge).
func TestSIPpDigestRegister(t *testing.T) {
	for _, tc := range []struct{ name, mode, algs string }{
		{"udp", "u1", "MD5"},
		{"tcp", "t1", "MD5"},
		{"udp-md5-then-sha256", "u1", "MD5, SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSIPpAuthEnv(t, tc.algs)
			p := e.register("register", "register-auth.xml", "alice", sippUsers["alice"], tc.mode, testnet.FreePort(t))
			if t.Failed() {
				return
			}
			if got, want := receivedStatuses(t, p.messages), []string{"SIP/2.0 401 Unauthorized", "SIP/2.0 200 OK"}; !slices.Equal(got, want) {
				t.Errorf("sipp received %q, want %q", got, want)
			}
			if n := len(e.s.Registrar().Lookup("sip:alice@example.com")); n != 1 {
				t.Fatalf("alice has %d bindings, want 1", n)
			}
		})
	}
}

// TestSIPpDigestCall: bob registers with his password and waits as a sipp
// UAS on UDP; alice's INVITE gets 407, she ACKs it and sends it again with
// her credentials, and the call goes through: INVITE/407/ACK/INVITE/100/
// 180/200/ACK/BYE/200 (the ACK and BYE are in the dialog: not challenged).
func TestSIPpDigestCall(t *testing.T) {
	e := newSIPpAuthEnv(t, "MD5")
	uas := e.authCallee("uas", "bob", "u1", "uas.xml")
	uac := e.authCaller("uac", "uac-auth.xml", "alice", sippUsers["alice"], "bob", "u1")
	uas.wait(t)
	if t.Failed() {
		return
	}
	got := receivedStatuses(t, uac.messages)
	got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "SIP/2.0 100 ") })
	want := []string{"SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "SIP/2.0 200 OK"}
	if !slices.Equal(got, want) {
		t.Errorf("the caller received %q (100s left out), want %q", got, want)
	}
}

// TestSIPpDigestWrongPassword: a REGISTER with a wrong password gets 401
// again, never 200, and leaves no binding; an INVITE with a wrong password
// gets 407 again and never reaches the registered callee.
func TestSIPpDigestWrongPassword(t *testing.T) {
	t.Run("register", func(t *testing.T) {
		e := newSIPpAuthEnv(t, "MD5")
		p := e.register("register", "register-auth-wrong.xml", "alice", "looking-glass", "u1", testnet.FreePort(t))
		if t.Failed() {
			return
		}
		if got, want := receivedStatuses(t, p.messages), []string{"SIP/2.0 401 Unauthorized", "SIP/2.0 401 Unauthorized"}; !slices.Equal(got, want) {
			t.Errorf("sipp received %q, want %q", got, want)
		}
		if n := len(e.s.Registrar().Lookup("sip:alice@example.com")); n != 0 {
			t.Fatalf("alice has %d bindings after a wrong password, want 0", n)
		}
	})
	t.Run("invite", func(t *testing.T) {
		e := newSIPpAuthEnv(t, "MD5")
		uas := e.authCallee("uas", "bob", "u1", "uas.xml")
		uac := e.authCaller("uac", "uac-auth-wrong.xml", "alice", "looking-glass", "bob", "u1")
		// The callee has had its chance: stop it and look at what it got.
		uas.cancel()
		<-uas.done
		if t.Failed() {
			return
		}
		got := receivedStatuses(t, uac.messages)
		got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "SIP/2.0 100 ") })
		if want := []string{"SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 407 Proxy Authentication Required"}; !slices.Equal(got, want) {
			t.Errorf("the caller received %q (100s left out), want %q", got, want)
		}
		if b, err := os.ReadFile(uas.messages); err == nil && strings.Contains(string(b), "INVITE sip:") {
			t.Errorf("the callee was offered the call of a wrong password:\n%s", b)
		}
	})
}
