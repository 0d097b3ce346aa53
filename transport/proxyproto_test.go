package transport

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// pipeWith returns a connection whose peer sends b and closes; the test's
// end closes it, which also ends a write nobody reads.
func pipeWith(t *testing.T, b []byte) net.Conn {
	near, far := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		far.Write(b)
		far.Close()
	}()
	t.Cleanup(func() {
		near.Close()
		<-done
	})
	return near
}

func proxyV2(verCmd, fam byte, addrs []byte) []byte {
	b := append([]byte(nil), proxyV2Sig...)
	b = append(b, verCmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(addrs)))
	return append(b, addrs...)
}

func TestReadProxyHeader(t *testing.T) {
	v4 := []byte{198, 51, 100, 7, 127, 0, 0, 1, 0x13, 0xc4, 0x13, 0xc4}
	v6 := make([]byte, 36)
	copy(v6, netip.MustParseAddr("2001:db8::1").AsSlice())
	binary.BigEndian.PutUint16(v6[32:], 4711)
	for _, tc := range []struct {
		name, in string
		want     string // source; "" for none
		bad      bool
	}{
		{"v1 tcp4", "PROXY TCP4 198.51.100.7 127.0.0.1 5060 5061\r\n", "198.51.100.7:5060", false},
		{"v1 tcp6", "PROXY TCP6 2001:db8::1 ::1 4711 5060\r\n", "[2001:db8::1]:4711", false},
		{"v1 unknown", "PROXY UNKNOWN\r\n", "", false},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::1 ::1 4711 5060\r\n", "", true},
		{"v1 no CRLF", "PROXY TCP4 198.51.100.7 127.0.0.1 5060 5061", "", true},
		{"v1 too long", "PROXY TCP4 " + strings.Repeat("1", 120) + "\r\n", "", true},
		{"v2 tcp4", string(proxyV2(0x21, 0x11, v4)), "198.51.100.7:5060", false},
		{"v2 tcp6", string(proxyV2(0x21, 0x21, v6)), "[2001:db8::1]:4711", false},
		{"v2 local", string(proxyV2(0x20, 0x00, nil)), "", false},
		{"v2 short", string(proxyV2(0x21, 0x11, v4[:8])), "", true},
		{"v2 bad version", string(proxyV2(0x11, 0x11, v4)), "", true},
		{"no header", "", "", false},
		{"P but no header", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest := options
			if tc.name == "P but no header" {
				rest = "PUBLISH sip:a SIP/2.0\r\n"
			}
			conn, src, err := readProxyHeader(pipeWith(t, []byte(tc.in+rest)))
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted, source %v", src)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := src.String(); tc.want == "" && src.IsValid() || tc.want != "" && got != tc.want {
				t.Fatalf("source %v, want %q", src, tc.want)
			}
			// What follows the header is read as it came.
			if b, _ := io.ReadAll(conn); string(b) != rest {
				t.Fatalf("after the header: %q", b)
			}
		})
	}
}

func TestTCPProxyProtocol(t *testing.T) {
	_, box, local := newTCP(t, "127.0.0.1:0", Config{ProxyProtocol: true, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	c := dial(t, local)
	c.Write([]byte("PROXY TCP4 198.51.100.7 127.0.0.1 5060 5061\r\n" + options))
	if in := box.next(t); in.Flow.Remote != netip.MustParseAddrPort("198.51.100.7:5060") {
		t.Fatalf("flow remote %v", in.Flow.Remote)
	}
	// Without a header, from a trusted proxy: taken as it is.
	c2 := dial(t, local)
	c2.Write([]byte(options))
	if in := box.next(t); in.Flow.Remote != addrPortOf(c2.LocalAddr()) {
		t.Fatalf("flow remote %v", in.Flow.Remote)
	}
	// A broken header closes the connection.
	c3 := dial(t, local)
	c3.Write([]byte("PROXY TCP4 nonsense\r\n"))
	waitEOF(t, c3)
}

func TestTCPProxyProtocolUntrusted(t *testing.T) {
	// Not a trusted peer: the header is not believed. Taken as SIP it is a
	// malformed message that cannot be answered; the next one comes from
	// the peer's own address.
	_, box, local := newTCP(t, "127.0.0.1:0", Config{ProxyProtocol: true, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	c := dial(t, local)
	c.Write([]byte("PROXY TCP4 198.51.100.7 127.0.0.1 5060 5061\r\n" + options + options))
	if in := box.next(t); in.Flow.Remote != addrPortOf(c.LocalAddr()) {
		t.Fatalf("flow remote %v", in.Flow.Remote)
	}
}

// FuzzProxyHeader feeds arbitrary bytes to the PROXY protocol reader.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 198.51.100.7 127.0.0.1 5060 5061\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::1 ::1 4711 5060\r\nOPTIONS"))
	f.Add(proxyV2(0x21, 0x11, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
	f.Add(proxyV2(0x20, 0, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		conn, src, err := readProxyHeader(pipeWith(t, b))
		if err != nil {
			return
		}
		if src.IsValid() && src.Addr().Is4In6() {
			t.Fatalf("mapped source %v", src)
		}
		rest, _ := io.ReadAll(conn)
		if len(rest) > len(b) || !bytes.HasSuffix(b, rest) {
			t.Fatalf("%d bytes after the header of %d, not its tail", len(rest), len(b))
		}
	})
}
