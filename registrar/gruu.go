package registrar

import (
	crand "crypto/rand"
	"encoding/base32"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
)

// tempGRUUPrefix starts the user part of every temp-gruu, so that one is
// never taken for a flow token or a user's name.
const tempGRUUPrefix = "tgruu."

// tempGRUUEncoding writes the random part: lower-case base32, no padding,
// only characters a SIP user part takes unescaped.
var tempGRUUEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newTempGRUU returns the user part of a new temp-gruu: the prefix and
// 128 random bits from crypto/rand (RFC 5627 §5.1 asks that a temp-gruu
// not be guessable and not reveal the AOR).
func newTempGRUU() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return tempGRUUPrefix + tempGRUUEncoding.EncodeToString(b[:])
}

// tempGRUUs returns the temp-gruus of binding b, written over replaced:
// those of the replaced bindings with b's instance and Call-ID (a refresh
// keeps the earlier ones valid, RFC 5627 §5.1; a new Call-ID is a UA that
// restarted, and its earlier ones lapse), then issued ("" for none),
// at most TempGRUUsPerBinding, newest last.
func tempGRUUs(replaced []location.Binding, b *location.Binding, issued string) []string {
	var out []string
	for i := range replaced {
		o := &replaced[i]
		if b.Instance != "" && o.CallID == b.CallID && strings.EqualFold(o.Instance, b.Instance) {
			out = append(out, o.TempGRUUs...)
		}
	}
	if issued != "" {
		out = append(out, issued)
	}
	if len(out) > TempGRUUsPerBinding {
		out = slices.Clone(out[len(out)-TempGRUUsPerBinding:])
	}
	return out
}

// newestTempGRUU returns the most recently issued temp-gruu of instance
// among bs (RFC 5627 §5.2), or "".
func newestTempGRUU(bs []location.Binding, instance string) string {
	var best *location.Binding
	for i := range bs {
		b := &bs[i]
		if len(b.TempGRUUs) > 0 && strings.EqualFold(b.Instance, instance) && (best == nil || b.Updated.After(best.Updated)) {
			best = b
		}
	}
	if best == nil {
		return ""
	}
	return best.TempGRUUs[len(best.TempGRUUs)-1]
}

// appendPubGRUU appends the public GRUU of aor and instance (RFC 5627
// §3.1): the AOR with a "gr" parameter holding the instance, escaped
// where a URI parameter needs it (which also keeps it fit for a quoted
// string).
func appendPubGRUU(b []byte, aor, instance string) []byte {
	const hexDigits = "0123456789ABCDEF"
	b = append(b, aor...)
	b = append(b, ";gr="...)
	for i := 0; i < len(instance); i++ {
		c := instance[i]
		if unreserved(c) || strings.IndexByte("[]/:&+$", c) >= 0 {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// appendTempGRUU appends the temporary GRUU with user part user in the
// domain of aor: "sip:tgruu.xxx@example.com;gr" (RFC 5627 §3.2).
func appendTempGRUU(b []byte, aor, user string) []byte {
	host := strings.TrimPrefix(aor, "sip:")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	b = append(b, "sip:"...)
	b = append(b, user...)
	b = append(b, '@')
	b = append(b, host...)
	return append(b, ";gr"...)
}

// LookupURI returns the bindings a Request-URI reaches: for a pub-gruu
// (an AOR with ";gr=<instance>") or a temp-gruu (a user part this
// registrar issued, with a bare ";gr") only the current bindings of that
// instance, with gruu true; else the bindings of the URI's AOR (as
// Lookup), with gruu false. An unknown or expired GRUU gives no bindings
// and gruu true (the proxy answers 480 or 404). Other URI parameters are
// ignored. Without Config.GRUU a "gr" parameter is ignored too.
//
// A temp-gruu resolves while the binding it was issued to lives (each
// binding keeps its last TempGRUUsPerBinding, see Binding.TempGRUUs); it
// is found through an index of this Registrar, user part to AOR, checked
// against the store on every lookup.
func (r *Registrar) LookupURI(u *sip.URI) (bindings []location.Binding, gruu bool) {
	if u == nil {
		return nil, false
	}
	aor := AOR(u)
	if aor == "" {
		return nil, false
	}
	gr, ok := u.Params.Get("gr")
	if !ok || !r.gruu {
		return r.Lookup(aor), false
	}
	now := r.now()
	var instance string
	if gr != "" {
		instance = sip.Unescape(gr)
		bindings = r.store.Lookup(aor, now)
	} else {
		user := sip.Unescape(u.User)
		owner, ok := r.temp.lookup(user)
		if !ok {
			return nil, true
		}
		bindings = r.store.Lookup(owner, now)
		for i := range bindings {
			if slices.Contains(bindings[i].TempGRUUs, user) {
				instance = bindings[i].Instance
				break
			}
		}
	}
	if instance == "" {
		return nil, true
	}
	out := bindings[:0]
	for i := range bindings {
		if strings.EqualFold(bindings[i].Instance, instance) {
			out = append(out, bindings[i])
		}
	}
	if len(out) == 0 {
		return nil, true
	}
	return out, true
}

// tempIndex finds the AOR of a temp-gruu by its user part. It lives in
// the Registrar, not the Store, so that any Store works; the store stays
// the truth (Binding.TempGRUUs) and LookupURI checks every answer against
// it, so an entry the index still holds for a binding gone (expired,
// swept, or written by another node) finds nothing. Register keeps it in
// step with what it writes (entries of replaced and removed bindings go,
// refreshed ones take the binding's new expiry) and Run's sweep drops
// expired ones, so it stays within about TempGRUUsPerBinding entries per
// live binding that has GRUUs, and never past max by more than the
// REGISTERs under way.
type tempIndex struct {
	max        int
	fullLogged onceAMinute

	mu sync.Mutex
	m  map[string]tempEntry
}

type tempEntry struct {
	aor     string
	expires time.Time
}

// tempKey is a temp-gruu and the expiry of the binding that holds it.
type tempKey struct {
	user    string
	expires time.Time
}

func newTempIndex(max int) *tempIndex {
	return &tempIndex{max: max, m: make(map[string]tempEntry)}
}

// room reports whether another temp-gruu may be issued.
func (x *tempIndex) room() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.m) < x.max
}

// update replaces the entries of aor's bindings as they were (old) with
// those they are now (cur).
func (x *tempIndex) update(aor string, old []string, cur []tempKey) {
	if len(old) == 0 && len(cur) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, t := range old {
		delete(x.m, t)
	}
	for _, k := range cur {
		x.m[k.user] = tempEntry{aor: aor, expires: k.expires}
	}
}

// lookup returns the AOR temp-gruu user was issued for.
func (x *tempIndex) lookup(user string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.m[user]
	return e.aor, ok
}

// sweep drops the entries expired at now.
func (x *tempIndex) sweep(now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, e := range x.m {
		if !e.expires.After(now) {
			delete(x.m, k)
		}
	}
}

// len returns the number of entries.
func (x *tempIndex) len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.m)
}
