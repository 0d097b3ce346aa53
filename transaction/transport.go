package transaction

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// Dest says where a client transaction sends its request.
type Dest struct {
	// Kind is the transport; every kind but UDP is reliable, which turns
	// the retransmission timers off.
	Kind transport.Kind
	// Addr is the remote address (may be zero when Flow is set).
	Addr netip.AddrPort
	// Flow, when not zero, is the one flow to send over (a registered
	// client's connection, RFC 5626); no new connection is made.
	Flow transport.FlowID
	// ServerName is the name a TLS connection verifies.
	ServerName string
	// Local is the UDP listener to send from (zero: any).
	Local netip.AddrPort
}

// Transport is what the layer sends through; ManagerTransport adapts a
// *transport.Manager, and tests use fakes. The layer calls it holding the
// transaction's lock (so that messages leave in order), so an
// implementation must not hand a message to Layer.Receive before it
// returns.
type Transport interface {
	// SendTo sends msg to dst and returns the flow it went over.
	SendTo(dst Dest, msg *sip.Message) (transport.FlowID, error)
	// Send writes msg on the flow id (responses go back the way the
	// request came).
	Send(id transport.FlowID, msg *sip.Message) error
}

// ManagerTransport adapts m: a Dest with a Flow goes over that flow only;
// otherwise UDP, TCP and TLS reach Addr (reusing a connection when one is
// open). A WebSocket cannot be dialled, so WS and WSS without a flow fail
// with an error wrapping transport.ErrFlowGone, which a proxy answers with
// 430 or 480.
func ManagerTransport(m *transport.Manager) Transport { return managerTransport{m} }

type managerTransport struct{ m *transport.Manager }

func (t managerTransport) SendTo(dst Dest, msg *sip.Message) (transport.FlowID, error) {
	if t.m == nil {
		return 0, errors.New("transaction: no transport manager")
	}
	if dst.Flow != 0 {
		if err := t.m.Send(dst.Flow, msg); err != nil {
			return 0, fmt.Errorf("transaction: sending on flow %d: %w", dst.Flow, err)
		}
		return dst.Flow, nil
	}
	var (
		id  transport.FlowID
		err error
	)
	switch dst.Kind {
	case transport.UDP:
		id, err = t.m.SendUDP(dst.Local, dst.Addr, msg)
	case transport.TCP:
		id, err = t.m.SendTCP(dst.Addr, msg)
	case transport.TLS:
		id, err = t.m.SendTLS(dst.Addr, dst.ServerName, msg)
	case transport.WS, transport.WSS:
		return 0, fmt.Errorf("transaction: %v to %v without a flow (a WebSocket cannot be dialled): %w", dst.Kind, dst.Addr, transport.ErrFlowGone)
	default:
		return 0, fmt.Errorf("transaction: no transport kind for %v", dst.Addr)
	}
	if err != nil {
		return 0, fmt.Errorf("transaction: sending over %v to %v: %w", dst.Kind, dst.Addr, err)
	}
	return id, nil
}

func (t managerTransport) Send(id transport.FlowID, msg *sip.Message) error {
	if t.m == nil {
		return errors.New("transaction: no transport manager")
	}
	if err := t.m.Send(id, msg); err != nil {
		return fmt.Errorf("transaction: sending on flow %d: %w", id, err)
	}
	return nil
}
