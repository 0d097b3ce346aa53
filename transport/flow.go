package transport

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// Kind is a transport protocol, named as a Via names it.
type Kind uint8

// The transports.
const (
	UDP Kind = iota + 1
	TCP
	TLS
	WS
	WSS
)

var kindNames = [...]string{UDP: "UDP", TCP: "TCP", TLS: "TLS", WS: "WS", WSS: "WSS"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// FlowID identifies a flow while it lives. It is opaque: callers keep it
// and hand it back to Send; it never says where the peer is.
type FlowID uint64

// Flow is one flow: a local and remote address pair for UDP, a connection
// for the stream transports.
type Flow struct {
	ID     FlowID
	Kind   Kind
	Local  netip.AddrPort
	Remote netip.AddrPort
}

// Inbound is a SIP message received on a flow. The message owns its
// memory; the handler may keep it.
type Inbound struct {
	Msg      *sip.Message
	Flow     Flow
	Received time.Time
	// Session is what Config.WSCheck returned when the message's
	// WebSocket connection was opened; nil for every other flow, and
	// when no WSCheck is set.
	Session any
}

// Handler takes each message the transport receives. It is called from
// the listener's goroutine, one message at a time per listener, so it must
// hand long work elsewhere.
type Handler func(in *Inbound)

// ErrFlowGone is returned by Send for a flow that no longer exists: a
// closed connection, or a UDP flow forgotten after its idle time.
var ErrFlowGone = errors.New("transport: flow gone")

// ErrClosed is returned once the Manager is closed.
var ErrClosed = errors.New("transport: closed")

// family returns network with "4" or "6" for the family of addr's IP, so
// that "[::]:5060" binds IPv6 only and can sit beside "0.0.0.0:5060" (Go's
// plain "tcp" and "udp" would make the IPv6 socket dual-stack, and the two
// would clash). A name or an empty host keeps network as it is.
func family(network, addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return network
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return network
	}
	if ip.Is4() || ip.Is4In6() {
		return network + "4"
	}
	return network + "6"
}
