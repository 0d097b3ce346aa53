package auth_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/client"
	"github.com/sipedge/sipedge/sip"
)

type users map[string]string // user@realm -> password

func (u users) HA1(_ context.Context, user, realm string, alg auth.Algorithm) (string, error) {
	pw, ok := u[user+"@"+realm]
	if !ok {
		return "", auth.ErrUnknownUser
	}
	return auth.HA1(alg, user, realm, pw), nil
}

// server is a minimal registrar/proxy over UDP that authenticates every
// request the way the proxy will: Required, Check, Challenge, identity.
type server struct {
	a    *auth.Authenticator
	conn net.PacketConn
	mu   sync.Mutex
	got  []auth.Result
}

func startServer(t *testing.T, a *auth.Authenticator) *server {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{a: a, conn: conn}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := sip.Parse(append([]byte(nil), buf[:n]...))
			if err != nil || !req.IsRequest() {
				continue
			}
			if resp := s.handle(req, from.(*net.UDPAddr).AddrPort().Addr()); resp != nil {
				conn.WriteTo(resp.AppendTo(nil), from)
			}
		}
	}()
	return s
}

func (s *server) handle(req *sip.Message, src netip.Addr) *sip.Message {
	if req.Method == "ACK" {
		return nil
	}
	proxy := req.Method != "REGISTER"
	realm := s.a.Realm("example.com")
	res := s.a.Check(context.Background(), req, realm, proxy, src)
	s.mu.Lock()
	s.got = append(s.got, res)
	s.mu.Unlock()
	switch res.Outcome {
	case auth.OK:
		ok := s.a.MatchesFrom(req, res.User, res.Realm)
		if req.Method == "REGISTER" {
			ok = s.a.MatchesTo(req, res.User, res.Realm)
		}
		if !ok {
			return sip.NewResponse(req, 403, "Identity Mismatch")
		}
		return sip.NewResponse(req, 200, "")
	case auth.Missing, auth.Failed:
		return s.a.Challenge(req, realm, proxy, false)
	case auth.Stale:
		return s.a.Challenge(req, realm, proxy, true)
	}
	return sip.NewResponse(req, 403, "")
}

func (s *server) outcomes() []auth.Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []auth.Outcome
	for _, r := range s.got {
		out = append(out, r.Outcome)
	}
	s.got = nil
	return out
}

func dial(t *testing.T, s *server, user, password string) *client.UA {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ua, err := client.Dial(ctx, client.Config{Transport: "udp", Server: s.conn.LocalAddr().String(),
		User: user, Domain: "example.com", Password: password, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	return ua
}

func equal(a, b []auth.Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestClient drives the Authenticator with the project's own UA, which
// answers challenges as browsers and phones do.
func TestClient(t *testing.T) {
	for _, algs := range [][]auth.Algorithm{nil, {auth.MD5}, {auth.SHA256}} {
		a, err := auth.New(auth.Config{Algorithms: algs}, users{"alice@example.com": "wonderland"})
		if err != nil {
			t.Fatal(err)
		}
		s := startServer(t, a)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		ua := dial(t, s, "alice", "wonderland")
		resp, err := ua.Register(ctx, 600)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v: REGISTER: %v %v", algs, resp, err)
		}
		if got := s.outcomes(); !equal(got, []auth.Outcome{auth.Missing, auth.OK}) {
			t.Errorf("%v: REGISTER outcomes %v", algs, got)
		}
		resp, err = ua.Request(ctx, "MESSAGE", "sip:bob@example.com", "text/plain", "hi")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v: MESSAGE: %v %v", algs, resp, err)
		}
		s.outcomes()

		bad := dial(t, s, "alice", "looking-glass")
		resp, err = bad.Register(ctx, 600)
		if err != nil && !errors.Is(err, client.ErrTimeout) || err == nil && resp.StatusCode != 401 {
			t.Fatalf("%v: wrong password: %v %v", algs, resp, err)
		}
		if got := s.outcomes(); len(got) < 2 || got[1] != auth.Failed {
			t.Errorf("%v: wrong password outcomes %v", algs, got)
		}
		if st := a.Stats(); st.Successes != 2 || st.Failures == 0 {
			t.Errorf("%v: stats %+v", algs, st)
		}
	}
}
