package turn

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

// ChannelBind refusals answered 403.
//
// pion/turn v5 answers a CreatePermission or Connect whose peer the
// permission handler (Server.permit) refuses with 403 (Forbidden), but a
// ChannelBind with 401 (Unauthorized), signed with the user's key. A 401
// tells the client that its credentials are wrong (some clients then
// retry with others); RFC 8656 §12 says 403 when the server refuses the
// peer. The listeners correct pion's answer on its way out:
//
//   - on the way in (udpConn.ReadFrom, tcpConn's framing) a ChannelBind
//     request with MESSAGE-INTEGRITY whose XOR-PEER-ADDRESS the policy
//     refuses is noted: its transaction id, source, USERNAME and REALM;
//   - on the way out (udpConn.WriteTo, tcpConn.Write) a ChannelBind error
//     response with ERROR-CODE 401 and MESSAGE-INTEGRITY for a noted
//     transaction is rewritten to 403, when its MESSAGE-INTEGRITY verifies
//     with the key the server's own AuthHandler gives for the noted
//     USERNAME and REALM, and signed again with that key (FINGERPRINT
//     recomputed if pion added one).
//
// pion still decides everything: the nonce (438), the credentials (401
// with a NONCE and no MESSAGE-INTEGRITY, which is left alone), the
// allocation, the channel number (400), the address family (443), and the
// refusal itself, counted once by permit. Its only signed 401 to a
// ChannelBind is the refused permission. Whatever does not match (an
// evicted note, a key that no longer verifies, another pion) leaves pion's
// answer as it was. Nothing is parsed for other traffic: a look at the
// first two bytes of each datagram or stream frame.
//
// The other way, answering 403 ourselves to such requests and keeping
// them from pion, would have to redo pion's checks in its order without
// its nonce key (pion's NonceHash is internal: a stale nonce would get
// 403, not 438), answer for allocations that do not exist, count the
// refusal itself, and cut messages out of TCP and TLS streams.

const (
	// refusalTTL is how long a noted refusal waits for pion's answer
	// (pion answers in the goroutine that read the request).
	refusalTTL = 5 * time.Second
	// udpRefusals and tcpRefusals bound the refusals noted per UDP socket
	// and per TCP or TLS connection; a full table forgets the oldest.
	udpRefusals = 64
	tcpRefusals = 4
	// maxKept bounds the STUN messages the TCP framing keeps whole:
	// pion's default InboundMTU, past which pion handles none.
	maxKept = 1600
	// maxRealm is RFC 8489 §14.9's bound on REALM.
	maxRealm = 763
)

// refusal is a ChannelBind request whose peer the policy refuses.
type refusal struct {
	id              [stun.TransactionIDSize]byte
	from            netip.AddrPort // the UDP client; zero over TCP
	username, realm string
	at              time.Time // zero: a free slot
}

// refusals is a connection's table of noted refusals.
type refusals struct {
	mu    sync.Mutex
	slots []refusal
}

// add notes r, in a table of n slots made on first use.
func (t *refusals) add(n int, r refusal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.slots == nil {
		t.slots = make([]refusal, n)
	}
	oldest := 0 // free slots (zero time) first, then the oldest
	for i := range t.slots {
		if t.slots[i].at.Before(t.slots[oldest].at) {
			oldest = i
		}
	}
	t.slots[oldest] = r
}

// take removes and returns the live refusal of transaction id from from.
func (t *refusals) take(id []byte, from netip.AddrPort, now time.Time) (refusal, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.slots {
		r := &t.slots[i]
		if !r.at.IsZero() && r.from == from && string(r.id[:]) == string(id) {
			found := *r
			*r = refusal{}
			return found, now.Sub(found.at) < refusalTTL
		}
	}
	return refusal{}, false
}

// isChannelBind is true of a ChannelBind request (method 0x009, class
// request) and isChannelBindError of a ChannelBind error response.
func isChannelBind(b []byte) bool      { return len(b) >= 20 && b[0] == 0x00 && b[1] == 0x09 }
func isChannelBindError(b []byte) bool { return len(b) >= 20 && b[0] == 0x01 && b[1] == 0x19 }

// refusedChannelBind returns the refusal to note for b, a request read
// from from: ok when b is a signed ChannelBind request whose peer the
// policy refuses (permit, which counts, will say the same to pion).
func (s *Server) refusedChannelBind(b []byte, from netip.AddrPort) (r refusal, ok bool) {
	if !isChannelBind(b) || binary.BigEndian.Uint32(b[4:8]) != magicCookie {
		return refusal{}, false
	}
	m := &stun.Message{Raw: b} // read only: Decode and Get do not write Raw
	if m.Decode() != nil || !m.Contains(stun.AttrMessageIntegrity) {
		return refusal{}, false
	}
	var peer stun.XORMappedAddress
	if peer.GetFromAs(m, stun.AttrXORPeerAddress) != nil {
		return refusal{}, false
	}
	a, valid := netip.AddrFromSlice(peer.IP)
	if valid {
		if allowed, _ := s.cfg.Policy.Permit(a); allowed {
			return refusal{}, false
		}
	}
	var u stun.Username
	var rl stun.Realm
	if u.GetFrom(m) != nil || rl.GetFrom(m) != nil || len(u) > maxUsername || len(rl) > maxRealm {
		return refusal{}, false
	}
	return refusal{id: m.TransactionID, from: from, username: u.String(), realm: rl.String(), at: time.Now()}, true
}

// answer returns what to send instead of b, a ChannelBind error response
// pion writes to to: the 403 when b is the 401 for a noted refusal, nil
// to send b as it is.
func (s *Server) answer(t *refusals, b []byte, to net.Addr) []byte {
	r, ok := t.take(b[8:20], addrPort(to), time.Now())
	if !ok {
		return nil
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil {
		return nil
	}
	var code stun.ErrorCodeAttribute
	if code.GetFrom(m) != nil || code.Code != stun.CodeUnauthorized || !m.Contains(stun.AttrMessageIntegrity) {
		return nil // pion's 401 to bad credentials has none: no key looked up for it
	}
	_, key, ok := s.authenticate(&pturn.RequestAttributes{Username: r.username, Realm: r.realm, SrcAddr: to, Method: stun.MethodChannelBind})
	if !ok || stun.MessageIntegrity(key).Check(m) != nil {
		return nil
	}
	out, err := resign(m, key)
	if err != nil {
		return nil
	}
	s.log.Debug("TURN ChannelBind refusal answered 403 instead of pion's 401", "client", to.String(), "username", r.username)
	return out
}

// resign returns m, a verified error response, with ERROR-CODE 403 and
// MESSAGE-INTEGRITY (and FINGERPRINT, if m has one) computed again with
// key. It takes m's attributes up to its MESSAGE-INTEGRITY, and then
// FINGERPRINT only.
func resign(m *stun.Message, key []byte) ([]byte, error) {
	out := &stun.Message{Type: m.Type, TransactionID: m.TransactionID}
	out.WriteHeader()
	signed, fingerprint := false, false
	for _, a := range m.Attributes {
		switch {
		case signed && a.Type == stun.AttrFingerprint:
			fingerprint = true
		case signed:
			return nil, errUnexpectedAttribute
		case a.Type == stun.AttrErrorCode:
			if err := stun.CodeForbidden.AddTo(out); err != nil {
				return nil, err
			}
		case a.Type == stun.AttrMessageIntegrity:
			if err := stun.MessageIntegrity(key).AddTo(out); err != nil {
				return nil, err
			}
			signed = true
		case a.Type == stun.AttrFingerprint || a.Type == stun.AttrMessageIntegritySHA256:
			return nil, errUnexpectedAttribute
		default:
			out.Add(a.Type, a.Value)
		}
	}
	if fingerprint {
		if err := stun.Fingerprint.AddTo(out); err != nil {
			return nil, err
		}
	}
	return out.Raw, nil
}

var errUnexpectedAttribute = errors.New("turn: an attribute after MESSAGE-INTEGRITY other than FINGERPRINT")

// addrPort is a's address and port if it is a UDP address.
func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}
