package sip

import (
	"fmt"
	"strconv"
)

// NewCancel returns the CANCEL for req (RFC 3261 §9.1): its Request-URI,
// top Via only, From, To, Call-ID and Route set, the CSeq number with
// method CANCEL, and Max-Forwards 70. A UA and a proxy build it the same
// way, so that the element it reaches matches it to req's transaction.
func NewCancel(req *Message) (*Message, error) {
	to, _ := req.Get("To")
	return echo(req, "CANCEL", to)
}

// NewAck returns the ACK for a 3xx-6xx response resp to invite (RFC 3261
// §17.1.1.3): as NewCancel, but with the To of the response (its tag
// included) and method ACK.
func NewAck(invite, resp *Message) (*Message, error) {
	to, _ := resp.Get("To")
	return echo(invite, "ACK", to)
}

// echo builds a request of method that belongs to req's transaction.
func echo(req *Message, method, to string) (*Message, error) {
	m := NewRequest(method, req.RequestURI)
	var via string
	for v, err := range req.Values(HeaderVia) {
		if err != nil {
			return nil, fmt.Errorf("sip: building %s: Via: %w", method, err)
		}
		via = v
		break
	}
	from, _ := req.Get("From")
	fields := [...][2]string{
		{"Via", via},
		{"Max-Forwards", "70"},
		{"From", from},
		{"To", to},
		{"Call-ID", req.CallID()},
		{"CSeq", strconv.FormatUint(uint64(req.CSeq().Seq), 10) + " " + method},
	}
	for _, f := range fields {
		if err := m.Add(f[0], f[1]); err != nil {
			return nil, fmt.Errorf("sip: building %s: %s: %w", method, f[0], err)
		}
	}
	for r, err := range req.Values(HeaderRoute) {
		if err != nil {
			return nil, fmt.Errorf("sip: building %s: Route: %w", method, err)
		}
		if err := m.Add("Route", r); err != nil {
			return nil, fmt.Errorf("sip: building %s: Route: %w", method, err)
		}
	}
	return m, nil
}
