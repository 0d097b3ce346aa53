// Package registrar implements REGISTER processing (RFC 3261 §10.3) over a
// location.Store: adding, refreshing and removing bindings, queries, the
// Min-Expires and maximum-expiry policy, the Call-ID/CSeq ordering rule
// and a cap on bindings per address-of-record; outbound bindings keyed by
// instance and reg-id (RFC 5626 §6), Path (RFC 3327), and public and
// temporary GRUUs (RFC 5627 §5) with LookupURI to resolve them.
//
// The caller decides that the request's domain is ours and authenticates
// it (steps 1-4); Register does steps 5-8 and returns the response.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// Defaults of Config.
const (
	DefaultMinExpires        = 60 * time.Second
	DefaultMaxExpires        = 3600 * time.Second
	DefaultDefaultExpires    = 3600 * time.Second
	DefaultMaxBindingsPerAOR = 20
	// DefaultSweepInterval is Run's interval when it is given none.
	DefaultSweepInterval = 30 * time.Second
	// DefaultMaxTempGRUUs is the number of temporary GRUUs the registrar
	// indexes in total when Config.MaxTempGRUUs is 0.
	DefaultMaxTempGRUUs = 1 << 20
	// TempGRUUsPerBinding is how many temporary GRUUs a binding keeps:
	// each refresh issues a new one and the oldest beyond this lapses.
	TempGRUUsPerBinding = 16
)

// Config configures a Registrar. Zero fields take the defaults.
type Config struct {
	// Store holds the bindings; required, and shared with whatever looks
	// bindings up.
	Store location.Store
	// MinExpires is the shortest non-zero expiry accepted; a shorter one
	// gets 423 (Interval Too Brief) with Min-Expires (default 60 s).
	MinExpires time.Duration
	// MaxExpires is the longest expiry granted; a longer one is cut to it
	// (default 3600 s).
	MaxExpires time.Duration
	// DefaultExpires applies to a contact with neither an expires
	// parameter nor an Expires header (default 3600 s, or MaxExpires when
	// that is shorter).
	DefaultExpires time.Duration
	// MaxBindingsPerAOR caps the contacts of one address-of-record
	// (default 20); a REGISTER that would pass it is refused with 503.
	MaxBindingsPerAOR int
	// Now gives the time (default time.Now); tests set a fake clock.
	Now func() time.Time
	// Logger receives refusals at debug level and store failures at
	// error level (default: discarded).
	Logger *slog.Logger

	// Outbound turns RFC 5626 on: a Contact with +sip.instance and
	// reg-id in a REGISTER with "Supported: outbound" is bound by
	// (AOR, instance, reg-id) and replaces the earlier flow of that pair,
	// and the 200 carries "Require: outbound". Off, such contacts follow
	// RFC 3261 (the server sets it from !DisableOutbound).
	Outbound bool
	// AssumeFirstHopSupportsOutbound skips the RFC 5626 §6 check that
	// the first hop supports outbound (the 439 response).
	AssumeFirstHopSupportsOutbound bool
	// FlowTimer, when > 0, goes in whole seconds (at least 1) into a
	// Flow-Timer header of each 200 that carries "Require: outbound" and
	// answers a REGISTER that came straight from the UA (RFC 5626 §5.4,
	// §6): the longest the client should leave its flow without a
	// keep-alive. Behind an edge proxy that proxy sets its own.
	FlowTimer time.Duration
	// GRUU turns RFC 5627 on: a Contact with +sip.instance in a REGISTER
	// with "Supported: gruu" gets a pub-gruu and a new temp-gruu in the
	// 200, and LookupURI resolves them (the server sets it true).
	GRUU bool
	// MaxTempGRUUs caps the temporary GRUUs indexed in total (default
	// DefaultMaxTempGRUUs); past it a registration gets no new temp-gruu
	// (its pub-gruu and earlier temp-gruus still work).
	MaxTempGRUUs int
}

// Registrar applies REGISTER requests to a location.Store. It is safe for
// concurrent use; per-AOR atomicity comes from Store.Update.
type Registrar struct {
	store      location.Store
	min        uint32 // seconds
	max        uint32
	def        uint32
	maxPerAOR  int
	now        func() time.Time
	log        *slog.Logger
	minExpires string // Min-Expires header value
	fullLogged onceAMinute

	outbound  bool
	assumeOB  bool
	flowTimer string // Flow-Timer header value, "" for none
	gruu      bool
	supported string // Supported header value of a 200
	temp      *tempIndex
}

// onceAMinute lets a repeated condition be logged at most once a minute.
type onceAMinute struct{ last atomic.Int64 }

// logDue reports whether a minute has passed since the last time it
// returned true.
func (o *onceAMinute) logDue(now time.Time) bool {
	last, t := o.last.Load(), now.UnixNano()
	return t-last >= int64(time.Minute) && o.last.CompareAndSwap(last, t)
}

// New validates cfg and returns a Registrar. It refuses a nil Store,
// negative values, and expiry bounds out of order (MinExpires <=
// DefaultExpires <= MaxExpires must hold).
func New(cfg Config) (*Registrar, error) {
	if cfg.Store == nil {
		return nil, errors.New("registrar: Config.Store is nil")
	}
	if cfg.MinExpires < 0 || cfg.MaxExpires < 0 || cfg.DefaultExpires < 0 || cfg.MaxBindingsPerAOR < 0 ||
		cfg.FlowTimer < 0 || cfg.MaxTempGRUUs < 0 {
		return nil, fmt.Errorf("registrar: negative limit in config (min %v, max %v, default %v, bindings %d, flow timer %v, temp-gruus %d)",
			cfg.MinExpires, cfg.MaxExpires, cfg.DefaultExpires, cfg.MaxBindingsPerAOR, cfg.FlowTimer, cfg.MaxTempGRUUs)
	}
	if cfg.MaxTempGRUUs == 0 {
		cfg.MaxTempGRUUs = DefaultMaxTempGRUUs
	}
	if cfg.MinExpires == 0 {
		cfg.MinExpires = DefaultMinExpires
	}
	if cfg.MaxExpires == 0 {
		cfg.MaxExpires = DefaultMaxExpires
	}
	if cfg.DefaultExpires == 0 {
		cfg.DefaultExpires = min(DefaultDefaultExpires, cfg.MaxExpires)
	}
	if cfg.MaxBindingsPerAOR == 0 {
		cfg.MaxBindingsPerAOR = DefaultMaxBindingsPerAOR
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	const maxDelta = time.Duration(1<<32-1) * time.Second
	if cfg.MaxExpires > maxDelta {
		return nil, fmt.Errorf("registrar: MaxExpires %v is past the 2**32-1 seconds SIP can express", cfg.MaxExpires)
	}
	if !(cfg.MinExpires <= cfg.DefaultExpires && cfg.DefaultExpires <= cfg.MaxExpires) {
		return nil, fmt.Errorf("registrar: expiry bounds out of order: need MinExpires %v <= DefaultExpires %v <= MaxExpires %v",
			cfg.MinExpires, cfg.DefaultExpires, cfg.MaxExpires)
	}
	// Whole seconds, rounding so that the bounds still hold: the minimum
	// up, the maximum down.
	r := &Registrar{
		store:     cfg.Store,
		min:       uint32((cfg.MinExpires + time.Second - 1) / time.Second),
		max:       uint32(cfg.MaxExpires / time.Second),
		def:       uint32(cfg.DefaultExpires / time.Second),
		maxPerAOR: cfg.MaxBindingsPerAOR,
		now:       cfg.Now,
		log:       cfg.Logger,
		outbound:  cfg.Outbound,
		assumeOB:  cfg.AssumeFirstHopSupportsOutbound,
		gruu:      cfg.GRUU,
		supported: "path",
		temp:      newTempIndex(cfg.MaxTempGRUUs),
	}
	if cfg.FlowTimer > 0 {
		r.flowTimer = strconv.FormatInt(max(int64(cfg.FlowTimer/time.Second), 1), 10)
	}
	if r.outbound {
		r.supported += ", outbound"
	}
	if r.gruu {
		r.supported += ", gruu"
	}
	r.def = max(r.def, r.min)
	if r.max < r.def {
		return nil, fmt.Errorf("registrar: MaxExpires %v holds less than MinExpires %v in whole seconds", cfg.MaxExpires, cfg.MinExpires)
	}
	r.minExpires = strconv.FormatUint(uint64(r.min), 10)
	return r, nil
}

// Lookup returns the current bindings of aor (Store.Lookup at Now()),
// highest q first.
func (r *Registrar) Lookup(aor string) []location.Binding {
	return r.store.Lookup(aor, r.now())
}

// Run sweeps expired bindings every interval (DefaultSweepInterval when
// interval <= 0) until ctx ends. Lookups already ignore expired bindings;
// the sweep gives their memory back.
func (r *Registrar) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := r.now()
			if n := r.store.Sweep(now); n > 0 {
				r.log.Debug("registrar: expired bindings swept", "count", n, "remaining", r.store.Len())
			}
			r.temp.sweep(now)
		}
	}
}

// contact is one Contact of a REGISTER, checked.
type contact struct {
	uri     sip.URI // the request's, for matching
	expires uint32  // granted, seconds; 0 removes
	// instance is the +sip.instance value as the request has it ("" when
	// absent), for matching; the binding keeps its own copy.
	instance string
	// outbound is set when RFC 5626 applies to this contact: its
	// identity is (instance, reg-id), not uri.
	outbound bool
	// tempGRUU is the user part of the temp-gruu to issue ("" for none).
	tempGRUU string
	binding  location.Binding
}

// matches reports whether the existing binding b is the one c adds,
// refreshes or removes. An outbound contact is the binding of the same
// instance and reg-id registered with outbound (whatever its Contact URI,
// Call-ID or flow: RFC 5626 §6), or a binding without outbound whose URI
// is c's (the same contact under RFC 3261 rules). Any other contact is
// the bindings with its URI (§10.3 step 7, §19.1.4).
func (c *contact) matches(b *location.Binding) bool {
	if c.outbound && b.Outbound {
		return b.RegID == c.binding.RegID && strings.EqualFold(b.Instance, c.instance)
	}
	return c.uri.Equal(&b.Contact.URI)
}

// Refusals from the update function.
var (
	errOutOfOrder = errors.New("registrar: CSeq not higher than the binding's for the same Call-ID")
	errTooMany    = errors.New("registrar: too many bindings for the address-of-record")
)

// Register applies a REGISTER whose domain the caller already accepted as
// ours (and authenticated) and returns the response to send, made with
// sip.NewResponse and carrying a To tag. It returns nil only when req is
// nil or not a request, which has no response.
//
// Statuses: 200 with every current binding (Contact;expires=N) and a Date;
// 400 for a malformed Contact, expires, q or reg-id, or a "*" mixed with
// other contacts or with an expiry other than 0, or an outbound contact
// registered together with other contacts (RFC 5626 §6); 404 for a To
// that is not a sip or sips URI (no address-of-record, §10.3 step 5); 420
// for a Require this registrar does not support; 423 with Min-Expires;
// 439 when outbound is asked for and the first hop lacks it (RFC 5626
// §6); 500 for a REGISTER out of order (same Call-ID as a binding it
// touches, CSeq not higher, §10.3 steps 6 and 7: the RFC says only that
// "the request fails", and 500 is what §12.2.2 prescribes for a request
// out of order in a dialog); 503 past MaxBindingsPerAOR or the store's
// total cap.
//
// With Config.Outbound, the 200 to a REGISTER in which outbound applied
// carries "Require: outbound" (and Flow-Timer when configured); with
// Config.GRUU and "Supported: gruu", each Contact with an instance
// carries pub-gruu and temp-gruu (RFC 5627 §5.2).
func (r *Registrar) Register(req *sip.Message, src transport.Flow) *sip.Message {
	if req == nil || !req.IsRequest() {
		return nil
	}
	if req.Method != "REGISTER" {
		resp := r.respond(req, 405, "")
		_ = resp.Add("Allow", "REGISTER")
		return resp
	}
	if bad := r.unsupported(req); bad != "" {
		resp := r.respond(req, 420, "")
		_ = resp.Add("Unsupported", bad)
		return resp
	}
	to := req.To()
	aor := AOR(&to.URI)
	if aor == "" {
		return r.refuse(req, 404, "Not Found - To is not a sip or sips address-of-record", aor)
	}
	now := r.now()
	// RFC 5626 §6: outbound needs the UA's "Supported: outbound"; RFC
	// 5627 §5.1: GRUUs need its "Supported: gruu".
	wantsOutbound := r.outbound && req.HasToken(sip.HeaderSupported, "outbound")
	wantsGRUU := r.gruu && req.HasToken(sip.HeaderSupported, "gruu")

	// Step 6: the Contacts, "*" alone and only with Expires: 0.
	var (
		contacts []contact
		wildcard bool
		reqPaths []string
		// outbound: some contact is bound with RFC 5626 rules; obAdds:
		// one of them with a non-zero expiry; adds: contacts with one.
		outbound bool
		obAdds   bool
		adds     int
	)
	for a, err := range req.Contacts() {
		if err != nil {
			return r.refuse(req, 400, "Bad Request - malformed Contact", aor)
		}
		if a.Wildcard {
			if wildcard {
				return r.refuse(req, 400, "Bad Request - Contact * more than once", aor)
			}
			wildcard = true
			continue
		}
		if len(contacts) >= r.maxPerAOR {
			return r.refuse(req, 503, "Service Unavailable - too many contacts", aor)
		}
		contacts = append(contacts, contact{uri: a.URI})
		c := &contacts[len(contacts)-1]
		status, reason := r.check(req, &a, c)
		if status != 0 {
			resp := r.refuse(req, status, reason, aor)
			if status == 423 {
				_ = resp.Add("Min-Expires", r.minExpires)
			}
			return resp
		}
		// RFC 5626 §6: a reg-id without an instance is ignored; so is
		// one the UA did not ask outbound for.
		c.outbound = wantsOutbound && c.instance != "" && c.binding.RegID != 0
		c.binding.Outbound = c.outbound
		outbound = outbound || c.outbound
		if c.expires == 0 {
			continue
		}
		adds++
		obAdds = obAdds || c.outbound
		if status, reason = clone(&a, c); status != 0 {
			return r.refuse(req, status, reason, aor)
		}
	}
	if wildcard {
		if len(contacts) > 0 {
			return r.refuse(req, 400, "Bad Request - Contact * with other contacts", aor)
		}
		if e, ok := req.Expires(); !ok || e != 0 {
			return r.refuse(req, 400, "Bad Request - Contact * without Expires: 0", aor)
		}
	}
	var lastPath sip.Addr
	for v, err := range req.Values(sip.HeaderPath) {
		if err == nil {
			lastPath, err = sip.ParseAddr(v)
		}
		if err != nil {
			return r.refuse(req, 400, "Bad Request - malformed Path", aor)
		}
		reqPaths = append(reqPaths, v)
	}
	if outbound {
		// RFC 5626 §6: one flow per registration; a REGISTER that adds an
		// outbound binding may remove others but add nothing else.
		if obAdds && adds > 1 {
			return r.refuse(req, 400, "Bad Request - outbound contact with other contacts", aor)
		}
		if !r.assumeOB && !firstHopOutbound(req, reqPaths, &lastPath) {
			return r.refuse(req, 439, "", aor)
		}
	}
	// The temp-gruus to issue, drawn before the store's lock is held.
	if wantsGRUU {
		for i := range contacts {
			c := &contacts[i]
			if c.expires == 0 || c.instance == "" {
				continue
			}
			if !r.temp.room() {
				if r.temp.fullLogged.logDue(now) {
					r.log.Warn("registrar: temp-gruu index full, no new temp-gruus (logged once a minute)", "max", r.temp.max)
				}
				break
			}
			c.tempGRUU = newTempGRUU()
		}
	}

	var bindings []location.Binding
	if !wildcard && len(contacts) == 0 {
		// A query (§10.2.3): nothing changes.
		bindings = r.store.Lookup(aor, now)
	} else {
		callID, cseq := req.CallID(), req.CSeq().Seq
		// The binding's own copies, made before the store's lock is held.
		ownCallID := strings.Clone(callID)
		var ownPaths []string
		if len(reqPaths) > 0 {
			ownPaths = make([]string, len(reqPaths))
			for i, p := range reqPaths {
				ownPaths[i] = strings.Clone(p)
			}
		}
		binding := func(c *contact, replaced []location.Binding) location.Binding {
			b := c.binding
			b.AOR = aor
			b.Expires = now.Add(time.Duration(c.expires) * time.Second)
			b.CallID = ownCallID
			b.CSeq = cseq
			b.Path = ownPaths
			b.Flow = src
			b.Updated = now
			b.TempGRUUs = tempGRUUs(replaced, &b, c.tempGRUU)
			return b
		}
		// The temp-gruus of the bindings before and after, for the index.
		var (
			oldTemp []string
			newTemp []tempKey
		)
		err := r.store.Update(aor, now, func(cur []location.Binding) ([]location.Binding, error) {
			oldTemp, newTemp = oldTemp[:0], newTemp[:0]
			for i := range cur {
				oldTemp = append(oldTemp, cur[i].TempGRUUs...)
			}
			// Step 7 for "*", step 6/7 for each contact: a binding from
			// the same Call-ID may change only with a higher CSeq.
			for i := range cur {
				b := &cur[i]
				if b.CallID != callID || b.CSeq < cseq {
					continue
				}
				if wildcard {
					return nil, errOutOfOrder
				}
				for j := range contacts {
					if contacts[j].matches(b) {
						return nil, errOutOfOrder
					}
				}
			}
			if wildcard {
				bindings = nil
				return nil, nil
			}
			next := make([]location.Binding, 0, len(cur)+len(contacts))
			next = append(next, cur...)
			var replaced []location.Binding
			for j := range contacts {
				c := &contacts[j]
				// A later Contact for the same binding wins over an
				// earlier one.
				next, replaced = deleteMatching(next, c, replaced[:0])
				if c.expires > 0 {
					next = append(next, binding(c, replaced))
				}
			}
			if len(next) > r.maxPerAOR && len(next) > len(cur) {
				return nil, errTooMany
			}
			for i := range next {
				for _, t := range next[i].TempGRUUs {
					newTemp = append(newTemp, tempKey{user: t, expires: next[i].Expires})
				}
			}
			bindings = next
			return next, nil
		})
		switch {
		case err == nil:
			r.temp.update(aor, oldTemp, newTemp)
		case errors.Is(err, errOutOfOrder):
			return r.refuse(req, 500, "Server Internal Error - CSeq out of order", aor)
		case errors.Is(err, errTooMany):
			// 503, as Kamailio answers: the request is well-formed and the
			// user may register, but this server's policy has no room for
			// another contact; 403 would read as "not allowed at all".
			return r.refuse(req, 503, "Service Unavailable - too many registered contacts", aor)
		case errors.Is(err, location.ErrFull):
			if r.fullLogged.logDue(now) {
				r.log.Warn("registrar: location table full (logged once a minute)", "aor", aor, "err", err)
			}
			resp := r.respond(req, 503, "Service Unavailable - location table full")
			_ = resp.Add("Retry-After", "60")
			return resp
		default:
			r.log.Error("registrar: updating bindings", "aor", aor, "err", err)
			return r.respond(req, 500, "")
		}
		bindings = live(bindings, now)
	}
	resp := r.ok(req, aor, bindings, now, wantsGRUU)
	if outbound {
		// RFC 5626 §6: the UA asked (Supported: outbound) and the reg-id
		// was not ignored. A Flow-Timer only over a direct flow: the
		// keep-alives go to the first hop, which sets its own (§5.4, §6).
		_ = resp.Add("Require", "outbound")
		if r.flowTimer != "" && direct(req) {
			_ = resp.Add("Flow-Timer", r.flowTimer)
		}
	}
	return resp
}

// check reads a Contact's expiry (expires parameter, else Expires header,
// else the default), q, reg-id and instance into c, and returns a refusal
// status and reason, or 0.
func (r *Registrar) check(req *sip.Message, a *sip.Addr, c *contact) (int, string) {
	e, ok := a.Expires()
	switch {
	case ok:
	case a.Params.Has("expires"):
		return 400, "Bad Request - malformed expires parameter"
	default:
		if e, ok = req.Expires(); !ok {
			e = r.def
		}
	}
	if e != 0 && e < r.min {
		return 423, ""
	}
	c.expires = min(e, r.max)
	q, ok := a.Q()
	switch {
	case ok:
	case a.Params.Has("q"):
		return 400, "Bad Request - malformed q"
	default:
		q = location.DefaultQ
	}
	c.binding.Q = q
	if id, ok := a.RegID(); ok {
		c.binding.RegID = id
	} else if a.Params.Has("reg-id") {
		return 400, "Bad Request - malformed reg-id"
	}
	c.instance = a.Instance()
	return 0, ""
}

// clone gives c's binding its own copy of the Contact without expires and
// without GRUUs (the registrar writes its own into each 200), sharing
// nothing with the request's buffer.
func clone(a *sip.Addr, c *contact) (int, string) {
	own := *a
	own.Params = own.Params.Without("expires").Without("pub-gruu").Without("temp-gruu")
	// One new string of the exact text; parsing it again points every
	// field of the stored Addr into it.
	u := &own.URI
	n := len(own.Display) + len(u.Scheme) + len(u.User) + len(u.Password) + len(u.Host) +
		len(u.Params) + len(u.Headers) + len(u.Opaque) + len(own.Params) + 16
	stored, err := sip.ParseAddr(string(own.AppendTo(make([]byte, 0, n))))
	if err != nil {
		return 400, "Bad Request - Contact too long to store"
	}
	c.binding.Contact = stored
	c.binding.Instance = stored.Instance()
	return 0, ""
}

// deleteMatching removes from bs the bindings c matches and appends them
// to removed.
func deleteMatching(bs []location.Binding, c *contact, removed []location.Binding) ([]location.Binding, []location.Binding) {
	out := bs[:0]
	for i := range bs {
		if c.matches(&bs[i]) {
			removed = append(removed, bs[i])
		} else {
			out = append(out, bs[i])
		}
	}
	clear(bs[len(out):])
	return out, removed
}

// live sorts bs as Lookup would and drops what has expired.
func live(bs []location.Binding, now time.Time) []location.Binding {
	out := bs[:0]
	for i := range bs {
		if !bs[i].Expired(now) {
			out = append(out, bs[i])
		}
	}
	sortBindings(out)
	return out
}

// sortBindings orders bs highest q first, then most recently updated.
func sortBindings(bs []location.Binding) {
	// Insertion sort: a handful of bindings, stable, no allocation.
	for i := 1; i < len(bs); i++ {
		for j := i; j > 0 && before(&bs[j], &bs[j-1]); j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

func before(a, b *location.Binding) bool {
	if a.Q != b.Q {
		return a.Q > b.Q
	}
	return a.Updated.After(b.Updated)
}

// unsupported returns the Require option tags Register does not support,
// comma-separated, or "".
func (r *Registrar) unsupported(req *sip.Message) string {
	var bad []string
	for v, err := range req.Values(sip.HeaderRequire) {
		if err != nil {
			break
		}
		switch {
		case strings.EqualFold(v, "path"):
			// Understood: bindings keep their Path and the 200 returns it.
		case r.outbound && strings.EqualFold(v, "outbound"):
		case r.gruu && strings.EqualFold(v, "gruu"):
		default:
			bad = append(bad, v)
		}
	}
	return strings.Join(bad, ", ")
}

// dateLayout is the SIP-date of RFC 3261 §20.17 (RFC 1123, always GMT).
const dateLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// ok builds the 200: every binding with the seconds it has left (and,
// when gruu, its instance's pub-gruu and newest temp-gruu, RFC 5627
// §5.2), a Date, Supported, and the request's Path when the client
// supports path (RFC 3327 §5.3).
func (r *Registrar) ok(req *sip.Message, aor string, bindings []location.Binding, now time.Time, gruu bool) *sip.Message {
	resp := r.respond(req, 200, "")
	buf := make([]byte, 0, 256)
	for i := range bindings {
		b := &bindings[i]
		left := (b.Expires.Sub(now) + time.Second - 1) / time.Second
		a := b.Contact
		// The registrar stores Contacts without expires and GRUUs;
		// another writer of the store might not.
		a.Params = a.Params.Without("expires").Without("pub-gruu").Without("temp-gruu")
		buf = a.AppendTo(buf[:0])
		buf = append(buf, ";expires="...)
		buf = strconv.AppendInt(buf, int64(left), 10)
		if gruu && b.Instance != "" {
			buf = append(buf, `;pub-gruu="`...)
			buf = appendPubGRUU(buf, aor, b.Instance)
			buf = append(buf, '"')
			if t := newestTempGRUU(bindings, b.Instance); t != "" {
				buf = append(buf, `;temp-gruu="`...)
				buf = appendTempGRUU(buf, aor, t)
				buf = append(buf, '"')
			}
		}
		_ = resp.Add("Contact", string(buf))
	}
	_ = resp.Add("Supported", r.supported)
	if req.HasToken(sip.HeaderSupported, "path") {
		for v, err := range req.Values(sip.HeaderPath) {
			if err != nil {
				break
			}
			_ = resp.Add("Path", v)
		}
	}
	var date [len(dateLayout) + 8]byte
	_ = resp.Add("Date", string(now.UTC().AppendFormat(date[:0], dateLayout)))
	return resp
}

// refuse builds a failure response and logs why at debug level.
func (r *Registrar) refuse(req *sip.Message, code int, reason, aor string) *sip.Message {
	r.log.Debug("registrar: REGISTER refused", "status", code, "reason", reason, "aor", aor, "call-id", req.CallID())
	return r.respond(req, code, reason)
}

// respond builds a response with a To tag (§8.2.6.2).
func (r *Registrar) respond(req *sip.Message, code int, reason string) *sip.Message {
	resp := sip.NewResponse(req, code, reason)
	resp.SetToTag(strconv.FormatUint(rand.Uint64(), 36))
	return resp
}
