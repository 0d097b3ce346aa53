package testpki

import (
	"crypto/tls"
	"testing"
)

func TestHandshake(t *testing.T) {
	c := New(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.Server())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), c.Client("localhost"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	cf, kf := c.Write(t, t.TempDir())
	if _, err := tls.LoadX509KeyPair(cf, kf); err != nil {
		t.Fatal(err)
	}
}
