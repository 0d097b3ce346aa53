// Package location holds the bindings of addresses-of-record to contacts
// that the registrar writes and the proxy reads (RFC 3261 §10, the
// "location service" of §16.5).
//
// A Store is the table; Memory is the in-memory Store every node runs.
// Writes go through Update, which hands the current bindings of one AOR to
// a function and stores what it returns, atomically for that AOR, so that
// the registrar's §10.3 rules (Call-ID and CSeq ordering, the binding cap)
// are checked against the same state they change.
package location

import (
	"errors"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// DefaultQ is the q of a Contact registered without one, in thousandths.
// RFC 3261 §20.10 leaves an absent q unordered against the others; 1000
// (the highest) keeps clients that never send q ahead of ones that
// deliberately asked for less, which is what Kamailio and repro do.
const DefaultQ = 1000

// DefaultMaxBindings is the total number of bindings a Memory from
// NewMemory holds.
const DefaultMaxBindings = 1 << 20

// ErrFull is returned by Update when storing what the function returned
// would take the store past its total binding cap.
var ErrFull = errors.New("location: binding table full")

// Binding is one registered contact of an address-of-record.
type Binding struct {
	// AOR is the canonical address-of-record (registrar.AOR's form,
	// "sip:alice@example.com"), the key the binding is stored under.
	AOR string
	// Contact is the address as registered: URI and header parameters
	// (q, +sip.instance, reg-id, methods...) except expires, which the
	// registrar recomputes from Expires for every response. Its strings
	// are the binding's own and never share the REGISTER's buffer.
	Contact sip.Addr
	// Expires is when the binding lapses; at or after it the binding is
	// gone for Lookup and Update.
	Expires time.Time
	// Q is the contact's preference in thousandths, DefaultQ when the
	// Contact has no q.
	Q int
	// CallID and CSeq are those of the REGISTER that last wrote the
	// binding, for the §10.3 ordering rule.
	CallID string
	CSeq   uint32
	// Path holds the REGISTER's Path values in order (RFC 3327), as
	// given; the proxy turns them into a Route set.
	Path []string
	// Flow is the flow the REGISTER came on, so that requests can go back
	// over the connection the client opened.
	Flow transport.Flow
	// Instance is the +sip.instance value (RFC 5626), "" when absent.
	Instance string
	// RegID is the reg-id (RFC 5626), 0 when absent. It is kept even when
	// outbound did not apply; only Outbound says whether it is the
	// binding's identity.
	RegID uint32
	// Outbound is set when the binding was registered with RFC 5626
	// semantics (instance and reg-id, "Supported: outbound", outbound on
	// in the registrar): its identity is (AOR, Instance, RegID) rather
	// than the Contact URI, and Flow is the one flow it stands for. The
	// bindings of one Instance with different RegIDs are alternative
	// flows to the same user agent (RFC 5626 §7: try them in turn on
	// 430).
	Outbound bool
	// TempGRUUs holds the user parts of the temporary GRUUs (RFC 5627
	// §5.1) issued to this binding, oldest first, newest last, at most
	// a few (the registrar bounds them). Each reaches the bindings of
	// Instance while this binding lives.
	TempGRUUs []string
	// Updated is when the binding was last written; among bindings of
	// equal q the most recent comes first.
	Updated time.Time
}

// Expired reports whether b has lapsed at now.
func (b *Binding) Expired(now time.Time) bool { return !b.Expires.After(now) }

// Store holds bindings. Implementations are safe for concurrent use.
type Store interface {
	// Lookup returns aor's bindings unexpired at now: highest q first,
	// then most recently updated first. The slice is the caller's.
	Lookup(aor string, now time.Time) []Binding
	// Update replaces aor's bindings with what fn returns, given the
	// current ones (expired ones already dropped); atomic per AOR. An
	// error from fn leaves the bindings unchanged and is returned. fn
	// may keep neither slice: the store copies what fn returns, and fn
	// must not call the store.
	Update(aor string, now time.Time, fn func(cur []Binding) ([]Binding, error)) error
	// Sweep drops bindings expired at now and returns how many it
	// dropped.
	Sweep(now time.Time) int
	// Len returns the number of bindings held.
	Len() int
}

// compare orders bindings as Lookup returns them: higher q first, then
// the more recently updated; a stable sort keeps the rest in the order
// Update's function gave them.
func compare(a, b Binding) int {
	switch {
	case a.Q != b.Q:
		if a.Q > b.Q {
			return -1
		}
		return 1
	case a.Updated.After(b.Updated):
		return -1
	case b.Updated.After(a.Updated):
		return 1
	}
	return 0
}
