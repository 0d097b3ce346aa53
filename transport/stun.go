package transport

import (
	"net"
	"net/netip"

	"github.com/pion/stun/v3"
)

// stunAnswer returns the answer to b when it is a STUN Binding request (a
// keep-alive on a SIP UDP port, RFC 5626 §4.4.2): a success response that
// tells the client its address as seen here (XOR-MAPPED-ADDRESS). isSTUN
// reports whether b was STUN at all, so that it never reaches the SIP
// parser; answer is nil for STUN that gets no answer here.
func stunAnswer(b []byte, remote netip.AddrPort) (answer []byte, isSTUN bool) {
	if !stun.IsMessage(b) {
		return nil, false
	}
	req := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
		return nil, true
	}
	resp, err := stun.Build(
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IP(remote.Addr().AsSlice()), Port: int(remote.Port())},
		stun.Fingerprint,
	)
	if err != nil {
		return nil, true
	}
	return resp.Raw, true
}
