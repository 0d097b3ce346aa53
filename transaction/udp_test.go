package transaction

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// handlerFuncs adapts two funcs to Handler.
type handlerFuncs struct {
	req  func(*ServerTx, *transport.Inbound)
	resp func(*transport.Inbound)
}

func (h handlerFuncs) ServeRequest(tx *ServerTx, in *transport.Inbound) {
	if h.req != nil {
		h.req(tx, in)
	}
}

func (h handlerFuncs) ServeResponse(in *transport.Inbound) {
	if h.resp != nil {
		h.resp(in)
	}
}

// stack is a Layer on a real transport.Manager with one UDP listener on
// 127.0.0.1; both close at the end of the test.
func stack(t *testing.T, timers Timers, h Handler) (*Layer, netip.AddrPort) {
	t.Helper()
	var l *Layer
	m := transport.NewManager(transport.Config{}, func(in *transport.Inbound) { l.Receive(in) })
	l = New(Config{Timers: timers, Transport: ManagerTransport(m), Handler: h})
	addr, err := m.ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		l.Close()
	})
	return l, addr
}

// peer is a plain UDP socket on 127.0.0.1 standing for a phone.
func peer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// read reads one datagram within the bounded wait and parses it.
func read(t *testing.T, c *net.UDPConn) *sip.Message {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	m, err := sip.Parse(buf[:n])
	if err != nil {
		t.Fatalf("parsing what came: %v", err)
	}
	return m
}

func TestUDPServerInviteRetransmission(t *testing.T) {
	txs := make(chan *ServerTx, 1)
	l, addr := stack(t, Timers{}, handlerFuncs{req: func(tx *ServerTx, _ *transport.Inbound) {
		if tx != nil {
			txs <- tx
		}
	}})
	phone := peer(t)
	inv := strings.ReplaceAll(strings.Replace(request("INVITE", "z9hG4bKudp1", "", 1, "INVITE"),
		"127.0.0.1:5099", phone.LocalAddr().String(), 1), "\n", "\r\n")
	to := net.UDPAddrFromAddrPort(addr)
	if _, err := phone.WriteToUDP([]byte(inv), to); err != nil {
		t.Fatal(err)
	}
	if m := read(t, phone); m.StatusCode != 100 {
		t.Fatalf("first answer %d, want 100", m.StatusCode)
	}
	var tx *ServerTx
	select {
	case tx = <-txs:
	case <-time.After(wait):
		t.Fatal("no server transaction")
	}
	if err := respond(t, tx, 486, "busy1"); err != nil {
		t.Fatal(err)
	}
	if m := read(t, phone); m.StatusCode != 486 {
		t.Fatalf("answer %d, want 486", m.StatusCode)
	}
	// The retransmitted INVITE gets the 486 again, never a second 100 and
	// never a second transaction.
	if _, err := phone.WriteToUDP([]byte(inv), to); err != nil {
		t.Fatal(err)
	}
	if m := read(t, phone); m.StatusCode != 486 || m.ToTag() != "busy1" {
		t.Fatalf("answer to the retransmission %d (tag %q), want the 486 again", m.StatusCode, m.ToTag())
	}
	ack := strings.ReplaceAll(strings.Replace(request("ACK", "z9hG4bKudp1", "busy1", 1, "ACK"),
		"127.0.0.1:5099", phone.LocalAddr().String(), 1), "\n", "\r\n")
	if _, err := phone.WriteToUDP([]byte(ack), to); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ACK absorbed", func() bool {
		tx.mu.Lock()
		defer tx.mu.Unlock()
		return tx.state == stConfirmed || tx.state == stTerminated
	})
	st := l.Stats()
	if st.Server != 1 || st.Absorbed < 1 || len(txs) != 0 {
		t.Fatalf("stats %+v, %d more transactions", st, len(txs))
	}
}

func TestUDPClientTimeout(t *testing.T) {
	l, addr := stack(t, Timers{T1: 5 * time.Millisecond, T2: 20 * time.Millisecond}, nil)
	silent := peer(t)
	req := msg(t, "OPTIONS sip:bob@127.0.0.1 SIP/2.0\n"+
		"Via: SIP/2.0/UDP "+addr.String()+";branch=z9hG4bKsilent\n"+
		"Max-Forwards: 70\n"+
		"From: <sip:edge@127.0.0.1>;tag=e1\n"+
		"To: <sip:bob@127.0.0.1>\n"+
		"Call-ID: silent@127.0.0.1\n"+
		"CSeq: 1 OPTIONS\n"+
		"Content-Length: 0\n\n")
	errs := make(chan error, 4)
	dst := Dest{Kind: transport.UDP, Addr: silent.LocalAddr().(*net.UDPAddr).AddrPort(), Local: addr}
	if _, err := l.Request(req, dst, func(_ *ClientTx, resp *sip.Message, err error) {
		if resp == nil {
			errs <- err
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The original and two retransmissions by timer E, all the same.
	for i := range 3 {
		m := read(t, silent)
		if top := m.TopVia(); m.Method != "OPTIONS" || top.Branch() != "z9hG4bKsilent" {
			t.Fatalf("datagram %d: %s branch %q", i, m.Method, top.Branch())
		}
	}
	select {
	case err := <-errs:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("error %v, want ErrTimeout", err)
		}
	case <-time.After(wait):
		t.Fatal("no timeout")
	}
	if l.Len() != 0 || l.Stats().Retransmitted < 2 {
		t.Fatalf("len %d stats %+v", l.Len(), l.Stats())
	}
}
