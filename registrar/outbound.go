package registrar

import "github.com/sipedge/sipedge/sip"

// firstHopOutbound reports whether the first hop of req, the node the UA
// sent it to, supports outbound (RFC 5626 §6). With a single Via the UA
// sent the REGISTER to this registrar directly, which supports it (the
// caller checks only when Config.Outbound is on). Otherwise the first hop
// must have recorded itself in Path with an "ob" URI parameter (§5.1: the
// first edge proxy MUST add it, any later one MUST NOT).
//
// Which Path entry is the first hop's: every proxy puts its value ahead
// of those already there (RFC 3327 §5.5.1: P3's entry comes before P1's,
// P1 being next to the UA), so the first hop's is the last value, last
// counts the values of every Path header field in order, and last holds
// that value parsed. §6 speaks of "the first URI"; read with §5.1 that
// can only mean the URI the first edge proxy wrote, which is the first
// entry only when no other proxy added one, the common case where both
// readings agree. A proxy after the first that (wrongly) adds "ob" does
// not make up for a first hop without it. The parameter must be in the
// URI ("<sip:ep1;lr;ob>"), not after it as a header parameter.
func firstHopOutbound(req *sip.Message, paths []string, last *sip.Addr) bool {
	return direct(req) || len(paths) > 0 && last.URI.Params.Has("ob")
}

// direct reports whether req came straight from the UA: a single Via
// (RFC 5626 §5.1 and §6 tell the first hop by the Via header field).
func direct(req *sip.Message) bool {
	vias := 0
	for _, err := range req.Values(sip.HeaderVia) {
		if err != nil {
			break
		}
		if vias++; vias > 1 {
			return false
		}
	}
	return true
}
