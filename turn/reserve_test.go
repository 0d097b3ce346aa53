package turn

import (
	"net"
	"strconv"
	"testing"
)

// TestReservationHeld: a requested even relay port holds the next one, so
// that no other allocation takes it, until a request for it (the
// RESERVATION-TOKEN's Allocate) gets that very socket; Close lets the
// held ports go.
func TestReservationHeld(t *testing.T) {
	s := start(t, nil)
	r := s.relays[0]
	var even net.PacketConn
	var port uint16
	for p := uint16(50000); p < 50100 && even == nil; p += 2 {
		if c, err := r.listenRelay("udp4", p, true); err == nil {
			even, port = c, p
		}
	}
	if even == nil {
		t.Fatal("no free even port")
	}
	defer even.Close()
	if c, err := net.ListenPacket("udp4", "127.0.0.1:"+itoa(port+1)); err == nil {
		c.Close()
		t.Fatalf("port %d, reserved, could be bound by another", port+1)
	}
	if _, err := r.listenRelay("udp4", port+1, false); err == nil {
		t.Fatal("a random pick took the reserved port")
	}
	odd, err := r.listenRelay("udp4", port+1, true)
	if err != nil {
		t.Fatalf("the reserved port %d: %v", port+1, err)
	}
	if got := odd.LocalAddr().(*net.UDPAddr).Port; got != int(port+1) {
		t.Fatalf("got port %d, want %d", got, port+1)
	}
	odd.Close()

	// One more, left held: Close frees it.
	for p := port + 2; p < port+200; p += 2 {
		if c, err := r.listenRelay("udp4", p, true); err == nil {
			c.Close()
			port = p
			break
		}
	}
	r.closeHeld()
	c, err := net.ListenPacket("udp4", "127.0.0.1:"+itoa(port+1))
	if err != nil {
		t.Fatalf("port %d still held after closeHeld: %v", port+1, err)
	}
	c.Close()
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
