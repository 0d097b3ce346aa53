package client

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testpki"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// The UA sends everything to Config.Server, so two UAs meet through a
// relay on 127.0.0.1 that plays a proxy which adds nothing: whatever one
// side sends reaches the other.

// udpRelay forwards datagrams between two UA sockets.
type udpRelay struct {
	c    *net.UDPConn
	mu   sync.Mutex
	a, b string
	wg   sync.WaitGroup
}

func newUDPRelay(t *testing.T, ip net.IP) *udpRelay {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	r := &udpRelay{c: c}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 70000)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			to := ""
			switch from.String() {
			case r.a:
				to = r.b
			case r.b:
				to = r.a
			}
			r.mu.Unlock()
			if to == "" {
				continue
			}
			dst, err := net.ResolveUDPAddr("udp", to)
			if err != nil {
				continue
			}
			_, _ = c.WriteToUDP(buf[:n], dst)
		}
	}()
	t.Cleanup(func() {
		c.Close()
		r.wg.Wait()
	})
	return r
}

func (r *udpRelay) addr() string { return r.c.LocalAddr().String() }

func (r *udpRelay) pair(a, b net.Addr) {
	r.mu.Lock()
	r.a, r.b = a.String(), b.String()
	r.mu.Unlock()
}

// streamRelay accepts two TCP (or TLS) connections and copies bytes
// between them.
type streamRelay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newStreamRelay(t *testing.T, host string, tc *tls.Config) *streamRelay {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	r := &streamRelay{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		var pair []net.Conn
		for len(pair) < 2 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			if tc, ok := c.(*tls.Conn); ok {
				// Now, or the first client waits for the second.
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				if err := tc.Handshake(); err != nil {
					t.Errorf("relay: TLS handshake: %v", err)
					continue
				}
				_ = tc.SetDeadline(time.Time{})
			}
			pair = append(pair, c)
		}
		for i := range 2 {
			src, dst := pair[i], pair[1-i]
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
			}()
		}
	}()
	t.Cleanup(r.close)
	return r
}

func (r *streamRelay) addr() string { return r.ln.Addr().String() }

func (r *streamRelay) close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// wsRelay upgrades two WebSocket connections (sip subprotocol) and
// forwards each message of one as a message to the other.
type wsRelay struct {
	*streamRelay
}

// lockedConn serialises whole frames written to one connection.
type lockedConn struct {
	net.Conn
	mu sync.Mutex
}

func (c *lockedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(p)
}

func newWSRelay(t *testing.T, tc *tls.Config) *wsRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	r := &wsRelay{&streamRelay{ln: ln}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		var pair []*lockedConn
		for len(pair) < 2 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			up := ws.Upgrader{Protocol: func(p []byte) bool { return string(p) == "sip" }}
			if _, err := up.Upgrade(c); err != nil {
				t.Errorf("relay: upgrade: %v", err)
				c.Close()
				continue
			}
			_ = c.SetDeadline(time.Time{})
			pair = append(pair, &lockedConn{Conn: c})
		}
		for i := range 2 {
			src, dst := pair[i], pair[1-i]
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer dst.Close()
				for {
					data, op, err := wsutil.ReadClientData(src)
					if err != nil {
						return
					}
					if op != ws.OpText {
						t.Errorf("relay: frame opcode %v, want text", op)
					}
					frame, err := ws.CompileFrame(ws.NewTextFrame(data))
					if err != nil {
						return
					}
					if _, err := dst.Write(frame); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(r.close)
	return r
}

// testCert returns a server config with a certificate for 127.0.0.1 and a
// client config that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	c := testpki.New(t, "127.0.0.1")
	return c.Server(), c.Client("127.0.0.1")
}
