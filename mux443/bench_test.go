package mux443

import (
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/sipedge/sipedge/internal/testpki"
)

// BenchmarkConnect is a TLS connection, its first bytes and its
// acceptance, through the mux (sorted by ALPN or by the first byte) and,
// for comparison, through a plain TLS listener: what sharing the port
// costs per connection.
func BenchmarkConnect(b *testing.B) {
	pki := testpki.New(b)
	first := []byte("GET / HTTP/1.1\r\n")
	run := func(b *testing.B, addr string, accept func() (net.Conn, error), alpn []string) {
		cfg := pki.Client("127.0.0.1")
		cfg.NextProtos = alpn
		cfg.ClientSessionCache = nil
		b.ReportAllocs()
		for b.Loop() {
			// The plain TLS listener handshakes on the server's first
			// Read, after Accept: so the client dials concurrently.
			dialed := make(chan *tls.Conn, 1)
			go func() {
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					b.Error(err)
					close(dialed)
					return
				}
				if _, err := c.Write(first); err != nil {
					b.Error(err)
				}
				dialed <- c
			}()
			s, err := accept()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(s, make([]byte, len(first))); err != nil {
				b.Fatal(err)
			}
			s.Close()
			if c := <-dialed; c != nil {
				c.Close()
			}
		}
	}
	for _, alpn := range [][]string{nil, {ALPNHTTP}} {
		name := "mux/first-byte"
		if alpn != nil {
			name = "mux/alpn"
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			m, err := New(ln, Config{TLS: pki.Server()})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			run(b, m.Addr().String(), m.HTTP().Accept, alpn)
		})
	}
	b.Run("plain-tls", func(b *testing.B) {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.Server())
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		run(b, ln.Addr().String(), ln.Accept, nil)
	})
}
