// Package transport carries SIP messages between the network and the rest
// of sipedge: listeners, flows (RFC 5626 §3.5) and the framing between
// bytes and sip.Message values, over UDP, TCP, TLS, WS and WSS (issue 3).
//
// A flow is one local and remote address pair for UDP, one connection for
// the stream transports. Each has an opaque FlowID that stays the same
// while the flow lives; responses go back over the flow a request came on
// (RFC 3261 §18.2.2), and a send to a flow that is gone fails with
// ErrFlowGone, so that a proxy can answer 430 (RFC 5626 §5.3).
package transport
