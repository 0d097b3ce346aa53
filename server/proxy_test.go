package server

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// rawUDP is a bare UDP socket on loopback that sends hand-written requests
// to the server and reads what comes back.
type rawUDP struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newRawUDP(t *testing.T, s *Server) *rawUDP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{t: t, conn: c, to: net.UDPAddrFromAddrPort(addr(t, s, transport.UDP))}
}

func (r *rawUDP) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// send writes a request; "\n" line ends become CRLF and $PORT our port.
func (r *rawUDP) send(text string) {
	r.t.Helper()
	text = strings.ReplaceAll(text, "$PORT", fmt.Sprint(r.port()))
	text = strings.ReplaceAll(text, "\n", "\r\n")
	if _, err := r.conn.WriteToUDP([]byte(text), r.to); err != nil {
		r.t.Fatal(err)
	}
}

// next reads the next message, skipping 100 Trying when skip100.
func (r *rawUDP) next(skip100 bool) *sip.Message {
	r.t.Helper()
	buf := make([]byte, 65536)
	for range 20 {
		_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			r.t.Fatalf("no message: %v", err)
		}
		m, err := sip.Parse(buf[:n])
		if err != nil {
			r.t.Fatalf("unparsable message: %v\n%s", err, buf[:n])
		}
		if skip100 && m.StatusCode == 100 {
			continue
		}
		return m
	}
	r.t.Fatal("only 100 Trying came")
	return nil
}

// request is a MESSAGE from the raw socket with extra header lines.
func request(method, ruri, branch, extra string) string {
	return method + " " + ruri + " SIP/2.0\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bK" + branch + ";rport\n" +
		"From: <sip:tester@example.com>;tag=t1\n" +
		"To: <" + strings.TrimPrefix(ruri, "") + ">\n" +
		"Call-ID: " + branch + "@test\n" +
		"CSeq: 1 " + method + "\n" +
		extra +
		"Content-Length: 0\n\n"
}

func TestProxyRefusals(t *testing.T) {
	s := startServer(t, threeTransports)
	r := newRawUDP(t, s)
	us := addr(t, s, transport.UDP)
	for _, tc := range []struct {
		name, text string
		want       int
		check      func(*sip.Message) string
	}{
		{"max-forwards", request("MESSAGE", "sip:bob@example.com", "mf", "Max-Forwards: 0\n"), 483, nil},
		{"options at max-forwards 0", request("OPTIONS", "sip:"+us.String(), "mfo", "Max-Forwards: 0\n"), 200, nil},
		{"proxy-require", request("MESSAGE", "sip:bob@example.com", "pr", "Max-Forwards: 70\nProxy-Require: foo, bar\n"), 420,
			func(m *sip.Message) string {
				if v, _ := m.Get("Unsupported"); v != "foo, bar" {
					return "Unsupported: " + v
				}
				return ""
			}},
		{"forged flow token", request("MESSAGE", "sip:bob@example.com", "ft",
			fmt.Sprintf("Max-Forwards: 70\nRoute: <sip:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@%s;lr>\n", us)), 403, nil},
		{"preloaded route to elsewhere", request("MESSAGE", "sip:bob@example.com", "pl",
			"Max-Forwards: 70\nRoute: <sip:127.0.0.2:5999;lr>\n"), 403, nil},
		{"our route then a foreign target", request("MESSAGE", "sip:x@127.0.0.2:5999", "fr",
			fmt.Sprintf("Max-Forwards: 70\nRoute: <sip:%s;lr>\n", us)), 403, nil},
		{"unknown user of ours", request("INVITE", "sip:nobody@example.com", "nb", "Max-Forwards: 70\nContact: <sip:t@127.0.0.1:$PORT>\n"), 480,
			func(m *sip.Message) string {
				if m.ToTag() == "" {
					return "our own response has no To tag"
				}
				return ""
			}},
		{"REGISTER for another domain", request("REGISTER", "sip:example.com", "rg",
			"Max-Forwards: 70\nContact: <sip:t@127.0.0.1:$PORT>\n"), 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text
			if tc.name == "REGISTER for another domain" {
				text = strings.Replace(text, "To: <sip:example.com>", "To: <sip:t@other.test>", 1)
			}
			r.t = t
			r.send(text)
			m := r.next(true)
			if m.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", m.StatusCode, m.Reason, tc.want)
			}
			if tc.check != nil {
				if msg := tc.check(m); msg != "" {
					t.Fatal(msg)
				}
			}
		})
	}
}

// TestLoopDetected sends a request that already carries a Via of ours with
// the branch we would give it: a loop (RFC 3261 §16.3 step 4) gets 482.
func TestLoopDetected(t *testing.T) {
	s := startServer(t, threeTransports, "--ForceRecordRouting=true")
	r := newRawUDP(t, s)
	us := addr(t, s, transport.UDP)
	// A registered user whose contact is the proxy itself: the request
	// comes straight back, unchanged but for Max-Forwards and our Via.
	reg := "REGISTER sip:example.com SIP/2.0\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bKreg1;rport\n" +
		"From: <sip:loop@example.com>;tag=r1\nTo: <sip:loop@example.com>\n" +
		"Call-ID: reg1@test\nCSeq: 1 REGISTER\nMax-Forwards: 70\n" +
		fmt.Sprintf("Contact: <sip:loop@%s>\nExpires: 600\n", us) +
		"Content-Length: 0\n\n"
	r.send(reg)
	if m := r.next(true); m.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", m.StatusCode)
	}
	// The binding's flow is our socket, so the proxy sends the INVITE back
	// to us; we play the looping hop and send it straight back.
	r.send(request("MESSAGE", "sip:loop@example.com", "lp1", "Max-Forwards: 70\n"))
	fwd := r.next(true)
	if !fwd.IsRequest() {
		t.Fatalf("got %d, want the forwarded MESSAGE", fwd.StatusCode)
	}
	back := strings.Replace(fwd.String(), "sip:loop@"+us.String(), "sip:loop@example.com", 1)
	r.send(strings.ReplaceAll(back, "\r\n", "\n"))
	for range 5 {
		m := r.next(true)
		if !m.IsRequest() && m.StatusCode == 482 {
			return
		}
	}
	t.Fatal("no 482 for the looped request")
}
