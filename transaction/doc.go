// Package transaction is sipedge's SIP transaction layer: the client and
// server state machines of RFC 3261 §17 for INVITE and non-INVITE requests,
// with the RFC 6026 Accepted state (timers L and M) that lets a proxy
// forward every 2xx of every branch.
//
// A Layer sits between the transport and the transaction user (the proxy).
// It matches inbound requests to server transactions (§17.2.3, with the
// RFC 2543 fallback for branches without the magic cookie) and inbound
// responses to client transactions (§17.1.3), absorbs retransmissions,
// retransmits over unreliable transports, and builds the ACK for a 3xx-6xx
// answer to an INVITE itself (§17.1.1.3).
//
// Reliability follows the flow: every transport but UDP is reliable, so
// timers A, E and G never run there and timers D, I, J and K are zero.
// Timer D is 64*T1 over UDP (32 s with the default T1, RFC 3261's floor).
//
// Callbacks (Handler methods, ClientFunc) are never called while the layer
// holds a lock, so they may call Respond and Request again; they run on the
// transport's goroutine or on a timer's and must not block long. Every
// timer is stopped by Close.
package transaction
