// Package proxy is sipedge's stateful SIP proxy (RFC 3261 §16): every new
// request goes through an ordered chain of processors, as in repro's
// processor chain or CoreDNS's plugins, and is then forwarded to the targets
// the chain found, in parallel, each over a client transaction.
//
// The default chain is:
//
//	sanity   Max-Forwards (483), loop detection (482), Proxy-Require (420),
//	         Request-URI scheme (416), received/rport (RFC 3581)
//	routes   strict-router fix-up, our own Route entries removed, the flow
//	         token of the last one kept as the target (RFC 5626 §5.3)
//	self     requests for sipedge itself: OPTIONS answered, REGISTER to the
//	         registrar
//	location our domains: the registrar's bindings
//	static   configured static routes
//	relay    other domains by RFC 3263, or 403 when relaying is off
//
// Responses are collected per request (§16.7): provisional ones and every
// 2xx are forwarded at once, a 6xx cancels the other branches, and when all
// branches are done the best final response goes back, 401/407 challenges
// merged. A CANCEL cancels the pending branches (§16.10).
//
// Record-Route (§16.6 step 4, RFC 5658): dialog-creating requests are
// record-routed when ForceRecordRouting is on, when the target is a
// registered client, when the transport changes, or when either side is a
// connection that only a flow token can find again (WS and WSS always, TCP
// and TLS with EnableFlowTokens). When the two sides differ, two entries are
// added, the top one facing the callee; each entry facing a connection
// carries that connection's signed flow token in its user part.
package proxy
