package server

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
)

// turnClient is pion's TURN client to addr over network ("udp", "tcp" or
// "tls", with tc) with the credentials given, listening; it is closed when
// the test ends.
func turnClient(t *testing.T, network, addr, user, password string, tc *tls.Config) *pturn.Client {
	t.Helper()
	var conn net.PacketConn
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp", "tls":
		var c net.Conn
		var err error
		if network == "tls" {
			c, err = tls.Dial("tcp", addr, tc)
		} else {
			c, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: user, Password: password, RTO: 100 * time.Millisecond})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		conn.Close()
	})
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c
}

// allocate makes a relay on TURN at addr over network with pion's client
// and the credentials given, and closes it.
func allocate(t *testing.T, network, addr, user, password string, tc *tls.Config) error {
	t.Helper()
	relay, err := turnClient(t, network, addr, user, password, tc).Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}
