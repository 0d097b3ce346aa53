package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testpki"

	"github.com/sipedge/sipedge/client"
	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/proxy"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimers are short transaction timers so that timeouts in tests end
// quickly; they never make a test depend on speed.
var testTimers = transaction.Timers{T1: 50 * time.Millisecond, T2: 400 * time.Millisecond, T4: 500 * time.Millisecond}

// startServer runs sipedge in-process with the config text; every listener
// port in it is replaced by 0, so the system picks free ones.
func startServer(t *testing.T, text string, overrides ...string) *Server {
	t.Helper()
	return startServerWith(t, Options{}, text, overrides...)
}

// startServerWith is startServer with options (Logger and Timers are set
// here).
func startServerWith(t *testing.T, opts Options, text string, overrides ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	text = strings.ReplaceAll(text, "$DIR", dir)
	if !strings.Contains(text, "DisableAuth") && !slices.ContainsFunc(overrides, func(o string) bool { return strings.Contains(o, "DisableAuth") }) {
		// Tests of routing run without digest; auth_test.go turns it on.
		text += "\nDisableAuth = true\n"
	}
	return runConfig(t, filepath.Join(dir, "test.config"), text+"\nDataDirectory = "+filepath.Join(dir, "data")+"\n", opts, overrides...)
}

// runConfig starts sipedge on the config text (named name in errors) with
// every listener on a port of the system's choice, the test's logger and
// timers, and stops it when the test ends.
func runConfig(t *testing.T, name, text string, opts Options, overrides ...string) *Server {
	t.Helper()
	// TURN is on by default on 3478 (and 5349 with a certificate): a test
	// that does not ask for it runs without, so that tests do not clash
	// on those ports.
	for _, k := range []string{"TurnPort", "TlsTurnPort"} {
		set := regexp.MustCompile(`(?m)^\s*`+k+`\b`).MatchString(text) ||
			slices.ContainsFunc(overrides, func(o string) bool { return strings.HasPrefix(strings.TrimLeft(o, "-"), k+"=") })
		if !set {
			overrides = append(slices.Clip(overrides), "--"+k+"=0")
		}
	}
	cfg, err := config.Parse(name, []byte(text), overrides)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	for i := range cfg.Listeners {
		cfg.Listeners[i].Addr = netip.AddrPortFrom(cfg.Listeners[i].Addr.Addr(), 0)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	opts.Timers = testTimers
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// testLogger discards the server's log unless SIPEDGE_TEST_LOG is set,
// then writes it into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SIPEDGE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// addr returns the bound address of the listener of kind k.
func addr(t *testing.T, s *Server, k transport.Kind) netip.AddrPort {
	t.Helper()
	for _, l := range s.Listeners() {
		if l.Kind == k {
			return l.Addr
		}
	}
	t.Fatalf("no %v listener", k)
	return netip.AddrPort{}
}

// dial connects a client UA of user@example.com to the server over kind.
func dial(t *testing.T, s *Server, kind transport.Kind, user string, tc *tls.Config) *client.UA {
	t.Helper()
	return dialConfig(t, s, kind, client.Config{User: user, TLS: tc})
}

// dialConfig is dial with a client Config: Domain, Timeout, Transport and
// Server are filled in.
func dialConfig(t *testing.T, s *Server, kind transport.Kind, cfg client.Config) *client.UA {
	t.Helper()
	a := addr(t, s, kind)
	cfg.Domain, cfg.Timeout = "example.com", 5*time.Second
	switch kind {
	case transport.UDP:
		cfg.Transport, cfg.Server = "udp", a.String()
	case transport.TCP:
		cfg.Transport, cfg.Server = "tcp", a.String()
	case transport.TLS:
		cfg.Transport, cfg.Server = "tls", a.String()
	case transport.WS:
		cfg.Transport, cfg.Server = "ws", "ws://"+a.String()+"/"
	case transport.WSS:
		cfg.Transport, cfg.Server = "wss", "wss://"+a.String()+"/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ua, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial %v: %v", kind, err)
	}
	t.Cleanup(func() { ua.Close() })
	return ua
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func register(t *testing.T, ua *client.UA) {
	t.Helper()
	resp, err := ua.Register(ctx5(t), 600)
	if err != nil {
		t.Fatalf("REGISTER %s: %v", ua.AOR(), err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("REGISTER %s: %d %s", ua.AOR(), resp.StatusCode, resp.Reason)
	}
}

// incoming waits for the next request at ua.
func incoming(t *testing.T, ua *client.UA) *client.ServerRequest {
	t.Helper()
	select {
	case r, ok := <-ua.Incoming():
		if !ok {
			t.Errorf("%s: closed while a request was awaited", ua.AOR())
			runtime.Goexit()
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no request came", ua.AOR())
		return nil
	}
}

const sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n"

const threeTransports = `
IPAddress = 127.0.0.1
UDPPort = 5060
TCPPort = 5060
WSPort = 8080
Domains = example.com
`

// call runs MESSAGE, then INVITE/ACK/BYE from a to b (b hangs up), and
// returns the route set b's dialog holds.
func call(t *testing.T, a, b *client.UA) []string {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		r := <-b.Incoming()
		if r.Msg.Method != "MESSAGE" || r.Msg.Body != "hello" {
			done <- fmt.Errorf("got %s %q, want MESSAGE hello", r.Msg.Method, r.Msg.Body)
			return
		}
		done <- r.Respond(200, "", "", "")
	}()
	resp, err := a.Request(ctx5(t), "MESSAGE", b.AOR(), "text/plain", "hello")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("MESSAGE: %v %v", resp, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	calls := make(chan *client.Call, 1)
	go func() {
		r := <-b.Incoming()
		if r.Msg.Method != "INVITE" {
			done <- fmt.Errorf("got %s, want INVITE", r.Msg.Method)
			return
		}
		_ = r.Respond(180, "", "", "")
		c, err := r.Answer(context.Background(), sdp)
		if err != nil {
			done <- err
			return
		}
		calls <- c
		done <- nil
	}()
	ca, final, err := a.Invite(ctx5(t), b.AOR(), sdp, nil)
	if err != nil || final.StatusCode != 200 || ca == nil {
		t.Fatalf("INVITE: %v %v", final, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cb := <-calls
	bye, err := cb.Bye(ctx5(t))
	if err != nil || bye.StatusCode != 200 {
		t.Fatalf("BYE: %v %v", bye, err)
	}
	select {
	case <-ca.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("caller never saw the BYE")
	}
	return cb.RouteSet()
}

func TestWSClientsCall(t *testing.T) {
	s := startServer(t, threeTransports)
	a := dial(t, s, transport.WS, "alice", nil)
	b := dial(t, s, transport.WS, "bob", nil)
	register(t, a)
	register(t, b)
	rs := call(t, a, b)
	// The callee's route set: our entry facing it, then the one facing the
	// caller, both with a flow token and transport=ws.
	if len(rs) != 2 || !strings.Contains(rs[0], "transport=ws") || !strings.Contains(rs[1], "@") {
		t.Fatalf("route set %q", rs)
	}
}

func TestCallAcrossTransports(t *testing.T) {
	s := startServer(t, threeTransports)
	for _, tc := range []struct{ a, b transport.Kind }{
		{transport.UDP, transport.UDP},
		{transport.TCP, transport.TCP},
		{transport.UDP, transport.TCP},
		{transport.WS, transport.UDP},
		{transport.TCP, transport.WS},
	} {
		t.Run(fmt.Sprintf("%v-%v", tc.a, tc.b), func(t *testing.T) {
			a := dial(t, s, tc.a, "a"+strings.ToLower(tc.a.String()), nil)
			b := dial(t, s, tc.b, "b"+strings.ToLower(tc.b.String()), nil)
			register(t, a)
			register(t, b)
			rs := call(t, a, b)
			if tc.a != tc.b && len(rs) != 2 {
				t.Fatalf("route set %q: want two entries (RFC 5658)", rs)
			}
		})
	}
}

func TestTLSClientsCall(t *testing.T) {
	dir := t.TempDir()
	cert := testpki.New(t)
	certFile, keyFile := cert.Write(t, dir)
	pool := cert.Pool
	s := startServer(t, fmt.Sprintf(`
Transport1Interface = 127.0.0.1:5061
Transport1Type = TLS
Transport1TlsCertificate = %s
Transport1TlsPrivateKey = %s
Transport2Interface = 127.0.0.1:5062
Transport2Type = WSS
Transport2TlsCertificate = %s
Transport2TlsPrivateKey = %s
Domains = example.com
`, certFile, keyFile, certFile, keyFile))
	tc := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	a := dial(t, s, transport.TLS, "alice", tc)
	b := dial(t, s, transport.WSS, "bob", tc)
	register(t, a)
	register(t, b)
	call(t, a, b)
	call(t, b, a)
}

func TestOptionsAndErrors(t *testing.T) {
	s := startServer(t, threeTransports)
	a := dial(t, s, transport.UDP, "alice", nil)
	ctx := ctx5(t)
	us := "sip:" + addr(t, s, transport.UDP).String()
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{"OPTIONS", us, 200},
		{"MESSAGE", "sip:nobody@example.com", 480},
		{"MESSAGE", "sip:someone@elsewhere.test", 403},
		{"MESSAGE", "tel:+15551234", 416},
	} {
		resp, err := a.Request(ctx, tc.method, tc.target, "text/plain", "x")
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.target, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.target, resp.StatusCode, resp.Reason, tc.want)
		}
	}
}

func TestForkOneAnswers(t *testing.T) {
	s := startServer(t, threeTransports)
	a := dial(t, s, transport.UDP, "alice", nil)
	b1 := dial(t, s, transport.UDP, "bob", nil)
	b2 := dial(t, s, transport.WS, "bob", nil)
	register(t, a)
	register(t, b1)
	register(t, b2)
	if n := len(s.Registrar().Lookup("sip:bob@example.com")); n != 2 {
		t.Fatalf("bob has %d bindings, want 2", n)
	}
	got := make(chan string, 2)
	go func() {
		r := incoming(t, b1)
		_ = r.Respond(180, "", "", "")
		<-r.Cancelled()
		got <- "b1 cancelled"
	}()
	go func() {
		r := incoming(t, b2)
		_ = r.Respond(180, "", "", "")
		time.Sleep(100 * time.Millisecond)
		c, err := r.Answer(context.Background(), sdp)
		if err != nil {
			got <- "b2: " + err.Error()
			return
		}
		<-c.Done()
		got <- "b2 answered"
	}()
	c, final, err := a.Invite(ctx5(t), "sip:bob@example.com", sdp, nil)
	if err != nil || final.StatusCode != 200 {
		t.Fatalf("INVITE: %v %v", final, err)
	}
	if r := <-got; r != "b1 cancelled" {
		t.Fatal(r)
	}
	if _, err := c.Bye(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r != "b2 answered" {
		t.Fatal(r)
	}
}

func TestCancelWhileRinging(t *testing.T) {
	s := startServer(t, threeTransports)
	a := dial(t, s, transport.TCP, "alice", nil)
	b := dial(t, s, transport.UDP, "bob", nil)
	register(t, a)
	register(t, b)
	o, err := a.InviteAsync(ctx5(t), b.AOR(), sdp)
	if err != nil {
		t.Fatal(err)
	}
	r := incoming(t, b)
	_ = r.Respond(180, "", "", "")
	for ringing := false; !ringing; {
		select {
		case p := <-o.Provisional():
			ringing = p.StatusCode == 180
		case <-time.After(5 * time.Second):
			t.Fatal("no 180")
		}
	}
	cr, err := o.Cancel(ctx5(t))
	if err != nil || cr.StatusCode != 200 {
		t.Fatalf("CANCEL: %v %v", cr, err)
	}
	_, final, err := o.Wait(ctx5(t))
	if err != nil || final.StatusCode != 487 {
		t.Fatalf("INVITE after CANCEL: %v %v", final, err)
	}
	select {
	case <-r.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("callee never saw the CANCEL")
	}
}

func TestNobodyAnswers(t *testing.T) {
	s := startServer(t, threeTransports)
	a := dial(t, s, transport.UDP, "alice", nil)
	// A UDP binding whose socket never answers: timer B gives 408.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	b := dial(t, s, transport.UDP, "bob", nil)
	register(t, b)
	b.Close() // its socket is gone: the INVITE goes nowhere
	_, final, err := a.Invite(ctx5(t), "sip:bob@example.com", sdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if final.StatusCode != 408 && final.StatusCode != 480 {
		t.Fatalf("final %d, want 408 or 480", final.StatusCode)
	}
}

var (
	_ = proxy.Listener{}
	_ = sip.Parse
)
