package turn

import (
	"context"
	"crypto/md5" //nolint:gosec
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/internal/testpki"
	"github.com/sipedge/sipedge/turn/peerpolicy"
	"go.uber.org/goleak"
)

const realm = "example.com"

var (
	secret1 = []byte("first-secret-0123456789")
	secret2 = []byte("second-secret-0123456789")
)

// loopback is the secure default policy, with 127.0.0.1 (our own address
// here) allowed so that two allocations can relay to each other.
var loopback = peerpolicy.New(peerpolicy.Config{
	Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	Own:   []netip.Addr{netip.MustParseAddr("127.0.0.1")},
})

// users is auth.Users over passwords.
type users map[string]string

func (u users) HA1(_ context.Context, user, realm string, alg auth.Algorithm) (string, error) {
	pw, ok := u[user]
	if !ok || alg != auth.MD5 {
		return "", auth.ErrUnknownUser
	}
	h := md5.Sum([]byte(user + ":" + realm + ":" + pw)) //nolint:gosec
	return hex.EncodeToString(h[:]), nil
}

// testCert is the TLS listeners' certificate (localhost, 127.0.0.1, ::1),
// made once for all the tests.
var (
	certOnce sync.Once
	cert     *testpki.Cert
)

func testCert(t *testing.T) *testpki.Cert {
	t.Helper()
	certOnce.Do(func() { cert = testpki.New(t) })
	if cert == nil {
		t.Fatal("no test certificate")
	}
	return cert
}

func start(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		Realm:          realm,
		ListenUDP:      []string{"127.0.0.1:0"},
		ListenTCP:      []string{"127.0.0.1:0"},
		ListenTLS:      []string{"127.0.0.1:0"},
		TLS:            testCert(t).Server(),
		RelayBind:      netip.MustParseAddr("127.0.0.1"),
		PortMin:        40000,
		PortMax:        60000,
		RESTSecrets:    [][]byte{secret1},
		Users:          users{"alice": "alice-pw"},
		Policy:         loopback,
		MaxLifetime:    MaxLifetime,
		Logger:         nil,
		MaxAllocations: 100,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

type client struct {
	*pturn.Client
	conn net.PacketConn
}

// dial makes a pion client over UDP, TCP or TLS ("udp"/"tcp"/"tls") to s.
func dial(t *testing.T, s *Server, network, username, password string) *client {
	t.Helper()
	var conn net.PacketConn
	var addr string
	switch network {
	case "udp":
		addr = s.UDPAddrs()[0].String()
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		addr = s.TCPAddrs()[0].String()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	case "tls":
		addr = s.TLSAddrs()[0].String()
		c, err := tls.Dial("tcp", addr, testCert(t).Client("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: username, Password: password, Realm: realm,
		RTO: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	cl := &client{Client: c, conn: conn}
	t.Cleanup(cl.close)
	return cl
}

func (c *client) close() {
	c.Client.Close()
	c.conn.Close()
}

func rest(secret []byte, user string, d time.Duration) (string, string) {
	return RESTCredentials(secret, user, time.Now().Add(d))
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAllocate(t *testing.T) {
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			s := start(t, func(c *Config) { c.RESTSecrets = [][]byte{secret1, secret2} })
			u1, p1 := rest(secret1, "bob", time.Hour)
			u2, p2 := rest(secret2, "carol", time.Hour)
			for _, cr := range []struct{ name, user, pw string }{
				{"REST first secret", u1, p1},
				{"REST second secret", u2, p2},
				{"SIP user", "alice", "alice-pw"},
			} {
				c := dial(t, s, network, cr.user, cr.pw)
				relay, err := c.Allocate()
				if err != nil {
					t.Fatalf("%s: %v", cr.name, err)
				}
				ra := relay.LocalAddr().(*net.UDPAddr)
				if !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) || ra.Port < 40000 || ra.Port > 60000 {
					t.Errorf("%s: relayed address %s", cr.name, ra)
				}
				relay.Close()
			}
		})
	}
}

func TestRefused(t *testing.T) {
	s := start(t, nil)
	u, p := rest(secret1, "bob", time.Hour)
	old, oldPw := rest(secret1, "bob", -time.Minute)
	other, otherPw := rest(secret2, "bob", time.Hour)
	for _, cr := range []struct{ name, user, pw string }{
		{"wrong REST password", u, p + "x"},
		{"expired REST username", old, oldPw},
		{"unknown secret", other, otherPw},
		{"wrong SIP password", "alice", "nope"},
		{"unknown SIP user", "mallory", "alice-pw"},
		{"user@domain", "alice@example.com", "alice-pw"},
	} {
		c := dial(t, s, "udp", cr.user, cr.pw)
		if relay, err := c.Allocate(); err == nil {
			relay.Close()
			t.Errorf("%s: allocated", cr.name)
		}
	}
	if st := s.Stats(); st.Allocations != 0 || st.AuthFailures == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPeerPolicyAndRelay(t *testing.T) {
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			s := start(t, nil)
			u, p := rest(secret1, "bob", time.Hour)
			a := dial(t, s, network, u, p)
			b := dial(t, s, network, "alice", "alice-pw")
			ra, err := a.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			defer ra.Close()
			rb, err := b.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			defer rb.Close()

			err = a.CreatePermission(&net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 9})
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("permission to 10.1.2.3: %v, want 403", err)
			}
			for _, peer := range []string{"::ffff:10.1.2.3", "127.0.0.2", "169.254.169.254"} {
				if err := a.CreatePermission(&net.UDPAddr{IP: net.ParseIP(peer), Port: 9}); err == nil {
					t.Errorf("permission to %s granted", peer)
				}
			}
			if s.Stats().PermissionsDenied == 0 {
				t.Error("no denial counted")
			}

			if err := b.CreatePermission(ra.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if _, err := ra.WriteTo([]byte("hello"), rb.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			rb.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := rb.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if string(buf[:n]) != "hello" || from.String() != ra.LocalAddr().String() {
				t.Errorf("got %q from %s", buf[:n], from)
			}
			if st := s.Stats(); st.Allocations != 2 || st.Users != 2 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestTLSListener: a client that never handshakes holds up no one, TLS
// below 1.2 is refused, and Close ends connections still handshaking.
func TestTLSListener(t *testing.T) {
	s := start(t, nil)
	addr := s.TLSAddrs()[0].String()
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	u, p := rest(secret1, "bob", time.Hour)
	c := dial(t, s, "tls", u, p)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("behind a silent connection: %v", err)
	}
	relay.Close()

	old := testCert(t).Client("127.0.0.1")
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if oc, err := tls.Dial("tcp", addr, old); err == nil {
		oc.Close()
		t.Error("TLS 1.1 accepted")
	}
	if _, err := New(Config{Realm: realm, ListenTLS: []string{"127.0.0.1:0"}, RelayBind: netip.MustParseAddr("127.0.0.1"),
		RESTSecrets: [][]byte{secret1}, Policy: loopback}); err == nil {
		t.Error("TLS listener without a certificate accepted")
	}
}

func TestQuota(t *testing.T) {
	s := start(t, func(c *Config) { c.MaxAllocationsPerUser = 1 })
	u, p := rest(secret1, "bob", time.Hour)
	a := dial(t, s, "udp", u, p)
	ra, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	b := dial(t, s, "udp", u, p)
	if rb, err := b.Allocate(); err == nil {
		rb.Close()
		t.Fatal("second allocation of one user")
	} else if !strings.Contains(err.Error(), "486") {
		t.Errorf("got %v, want 486", err)
	}
	if st := s.Stats(); st.QuotaRefusals != 1 || st.Allocations != 1 {
		t.Errorf("stats %+v", st)
	}
	ra.Close() // Refresh with lifetime 0
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Allocations != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c := dial(t, s, "udp", u, p)
	rc, err := c.Allocate()
	if err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
	rc.Close()
}

func TestConfigRefused(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no policy":      func(c *Config) { c.Policy = nil },
		"max lifetime":   func(c *Config) { c.MaxLifetime = time.Minute },
		"ports":          func(c *Config) { c.PortMin, c.PortMax = 5000, 4000 },
		"no credentials": func(c *Config) { c.RESTSecrets, c.Users = nil, nil },
		"unspecified":    func(c *Config) { c.RelayBind = netip.IPv4Unspecified() },
		"families":       func(c *Config) { c.RelayAddress = netip.MustParseAddr("2001:db8::1") },
	} {
		cfg := Config{Realm: realm, ListenUDP: []string{"127.0.0.1:0"}, RelayBind: netip.MustParseAddr("127.0.0.1"),
			RESTSecrets: [][]byte{secret1}, Policy: loopback}
		mod(&cfg)
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseREST(t *testing.T) {
	for in, want := range map[string]bool{"1700000000:bob": true, "1:b": true, "bob": false, ":bob": false, "17x:bob": false,
		"1700000000:": false, "1234567890123:bob": false} {
		if _, _, ok := parseREST(in); ok != want {
			t.Errorf("%q: %v", in, ok)
		}
	}
	// coturn's example: the password is base64(HMAC-SHA1(secret, username)).
	// openssl dgst -sha1 -hmac north -binary | base64
	if got := RESTPassword([]byte("north"), "1400000000:alice"); got != "yVnYjMrrs8dKJqwOUyf9d994Xp0=" {
		t.Errorf("password %q", got)
	}
}
