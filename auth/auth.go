// Package auth is sipedge's SIP digest authentication (RFC 3261 §22,
// RFC 7616, RFC 8760): challenges with stateless HMAC nonces, verification
// of credentials against a Users source, nonce-count replay protection,
// brute-force slow-down and lockout, the identity rules (the authenticated
// user must be the From, or for REGISTER the To, of the request) and trusted
// peers that pass without a challenge.
//
// The package does no I/O besides calling Users and starts no goroutines;
// its tables are bounded and its methods safe for concurrent use. The proxy
// decides with Required whether a request must be authenticated, answers
// Missing, Stale and Failed with Challenge (after Result.Delay) and Refused
// with 403, and checks an OK result with MatchesFrom or MatchesTo.
//
// Only qop=auth is accepted: credentials without qop (RFC 2069's form) are
// Refused, since they carry no nonce-count and cannot be protected against
// replay; auth-int, userhash and username* are not supported.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// ErrUnknownUser is returned by Users.HA1 when the user does not exist in
// the realm.
var ErrUnknownUser = errors.New("auth: unknown user")

// Users is the source of credentials: the user store, adapted by the
// server.
type Users interface {
	// HA1 returns H(user:realm:password) in lower-case hex for alg, which
	// is MD5 or SHA256 (never a -sess variant), as HA1 computes it; or
	// ErrUnknownUser. Another error makes Check return Unavailable.
	HA1(ctx context.Context, user, realm string, alg Algorithm) (ha1 string, err error)
}

// Default settings.
const (
	DefaultNonceLifetime = 300 * time.Second
	DefaultMaxNonces     = 1 << 16
	// MaxUserLength bounds the username of credentials; longer ones are
	// malformed.
	MaxUserLength = 256
)

// Config configures an Authenticator; zero fields take the defaults.
type Config struct {
	// Secret is the HMAC key of the nonces, at least 16 bytes. When nil a
	// random key is made per process: nonces then do not survive a restart
	// (clients get stale=true and answer again without asking their user)
	// and are not accepted by another node. Nodes behind one name must be
	// given the same Secret.
	Secret []byte
	// NonceLifetime is how long a nonce is accepted (default 300 s); an
	// older one with a correct response is Stale.
	NonceLifetime time.Duration
	// MaxNonces bounds the nonce-count table (default 65536).
	MaxNonces int
	// Algorithms are the algorithms challenged, one challenge header each,
	// in this order (repro's DigestChallengeAlgorithms). The default is
	// SHA-256 then MD5 (RFC 8760 §2.4: the preferred first); MD5 stays
	// because browsers' JavaScript stacks know no other. Credentials must
	// use one of them.
	Algorithms []Algorithm
	// StaticRealm, when set, is the realm of every domain (repro's
	// StaticRealm); otherwise the realm is the domain itself.
	StaticRealm string
	// Disabled turns authentication off (repro's DisableAuth): Required
	// always says no.
	Disabled bool
	// ChallengeThirdParties makes Required also challenge requests whose
	// From is not in one of our domains but whose Request-URI is (repro's
	// ChallengeThirdPartiesCallingLocalDomains).
	ChallengeThirdParties bool
	// TrustedPeers pass without a challenge (trunks, gateways).
	TrustedPeers []Peer
	// Limits are the brute-force rules.
	Limits Limits
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives lockouts (warn) and failures (debug); nil discards.
	Logger *slog.Logger
}

// Outcome is what Check decided.
type Outcome uint8

// The outcomes.
const (
	// Missing: no credentials for this realm. Answer with Challenge.
	Missing Outcome = iota
	// OK: the credentials are right; Result.User and Realm say who.
	OK
	// Stale: the response is right but the nonce expired (or was not
	// ours, or was forgotten). Answer with Challenge(stale=true).
	Stale
	// Failed: wrong response, unknown user or an algorithm not offered.
	// Answer with Challenge after Result.Delay.
	Failed
	// Refused: lockout, nonce-count replay or malformed credentials
	// (Result.Reason says which). Answer 403.
	Refused
	// Unavailable: the Users source failed (Result.Err). Answer 500 or
	// 503; nothing was counted against the client.
	Unavailable
)

func (o Outcome) String() string {
	switch o {
	case Missing:
		return "missing"
	case OK:
		return "ok"
	case Stale:
		return "stale"
	case Failed:
		return "failed"
	case Refused:
		return "refused"
	case Unavailable:
		return "unavailable"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Reason details a Failed or Refused outcome.
type Reason uint8

// The reasons.
const (
	ReasonNone        Reason = iota
	ReasonLockout            // Refused: the source or the user is locked out
	ReasonReplay             // Refused: the nonce-count was used before
	ReasonMalformed          // Refused: unparsable or incomplete credentials
	ReasonNoQop              // Refused: no qop, or not qop=auth
	ReasonURI                // Refused: uri differs from the Request-URI
	ReasonAlgorithm          // Failed: an algorithm not offered
	ReasonUnknownUser        // Failed: Users does not know the user
	ReasonResponse           // Failed: wrong response (password)
)

var reasonNames = [...]string{"", "lockout", "replay", "malformed", "no qop=auth", "uri mismatch", "algorithm not offered", "unknown user", "wrong response"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Result is what Check found.
type Result struct {
	Outcome Outcome
	Reason  Reason
	// User and Realm are the authenticated identity (OK), or what the
	// credentials claimed (Stale, Failed, Refused). User is a substring of
	// the request: strings.Clone it to keep it longer than the request.
	User, Realm string
	Algorithm   Algorithm
	// Delay is how long to wait before answering (brute-force slow-down).
	// Check never sleeps.
	Delay time.Duration
	// Err is the Users error of Unavailable.
	Err error
}

// Stats are counters since New.
type Stats struct {
	Challenges uint64 // challenge responses built
	Successes  uint64 // OK
	Failures   uint64 // failures counted against a source: Failed (except ReasonAlgorithm), Refused other than lockouts
	Stale      uint64 // Stale
	Replays    uint64 // nonce-count replays refused
	Lockouts   uint64 // lockouts started (source or user)
	Refused    uint64 // requests refused because of a lockout
}

// Authenticator challenges requests and checks their credentials. It is
// safe for concurrent use.
type Authenticator struct {
	users       Users
	nonces      *noncer
	replay      *replayTable
	algs        []Algorithm
	staticRealm string
	disabled    bool
	thirdParty  bool
	peers       []Peer
	limits      Limits
	sources     *failTable[netip.Addr]
	usersFail   *failTable[string]
	now         func() time.Time
	log         *slog.Logger

	stats struct {
		challenges, successes, failures, stale, replays, lockouts, refused atomic.Uint64
	}
}

// New returns an Authenticator that takes credentials from users.
func New(cfg Config, users Users) (*Authenticator, error) {
	if users == nil {
		return nil, errors.New("auth: no Users")
	}
	key := cfg.Secret
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	} else if len(key) < 16 {
		return nil, errors.New("auth: Secret shorter than 16 bytes")
	} else {
		key = append([]byte(nil), key...)
	}
	life := cfg.NonceLifetime
	if life == 0 {
		life = DefaultNonceLifetime
	}
	if life < time.Second {
		return nil, fmt.Errorf("auth: NonceLifetime %v shorter than a second", life)
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = []Algorithm{SHA256, MD5}
	}
	seen := map[Algorithm]bool{}
	for _, a := range algs {
		if !a.Valid() {
			return nil, fmt.Errorf("auth: invalid algorithm %d", a)
		}
		if seen[a] {
			return nil, fmt.Errorf("auth: algorithm %v twice", a)
		}
		seen[a] = true
	}
	maxNonces := cfg.MaxNonces
	if maxNonces == 0 {
		maxNonces = DefaultMaxNonces
	}
	if maxNonces < 0 {
		return nil, errors.New("auth: negative MaxNonces")
	}
	for _, p := range cfg.TrustedPeers {
		if !p.Prefix.IsValid() {
			return nil, errors.New("auth: trusted peer with an invalid prefix")
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{
		users:       users,
		nonces:      newNoncer(key, life),
		replay:      newReplayTable(maxNonces, int64(life/time.Second)+int64(maxSkew/time.Second)),
		algs:        append([]Algorithm(nil), algs...),
		staticRealm: cfg.StaticRealm,
		disabled:    cfg.Disabled,
		thirdParty:  cfg.ChallengeThirdParties,
		peers:       normalizePeers(cfg.TrustedPeers),
		limits:      cfg.Limits.withDefaults(),
		now:         now,
		log:         log,
	}
	if a.limits.MaxSources > 0 {
		a.sources = newFailTable[netip.Addr](a.limits.MaxSources)
	}
	if a.limits.MaxUsers > 0 {
		a.usersFail = newFailTable[string](a.limits.MaxUsers)
	}
	return a, nil
}

// Stats returns the counters.
func (a *Authenticator) Stats() Stats {
	return Stats{
		Challenges: a.stats.challenges.Load(),
		Successes:  a.stats.successes.Load(),
		Failures:   a.stats.failures.Load(),
		Stale:      a.stats.stale.Load(),
		Replays:    a.stats.replays.Load(),
		Lockouts:   a.stats.lockouts.Load(),
		Refused:    a.stats.refused.Load(),
	}
}

// Realm returns the realm of domain: StaticRealm when set, else the domain
// in lower case.
func (a *Authenticator) Realm(domain string) string {
	if a.staticRealm != "" {
		return a.staticRealm
	}
	return strings.ToLower(domain)
}

// Challenge returns the 401 (WWW-Authenticate) or, when proxy is set, 407
// (Proxy-Authenticate) response to req: one challenge per configured
// algorithm, each with its own nonce, qop="auth", and stale=true when asked
// (RFC 7616 §3.3, RFC 8760 §2.4). The response has a To tag (RFC 3261
// §8.2.6.2).
func (a *Authenticator) Challenge(req *sip.Message, realm string, proxy bool, stale bool) *sip.Message {
	code, name := 401, "WWW-Authenticate"
	if proxy {
		code, name = 407, "Proxy-Authenticate"
	}
	resp := sip.NewResponse(req, code, "")
	if req.ToTag() == "" {
		resp.SetToTag(randomTag())
	}
	now := a.now()
	qrealm := sip.Quote(realm)
	var b strings.Builder
	for _, alg := range a.algs {
		b.Reset()
		b.WriteString("Digest realm=")
		b.WriteString(qrealm)
		b.WriteString(`, nonce="`)
		b.WriteString(a.nonces.mint(realm, alg, now))
		b.WriteString(`", qop="auth", algorithm=`)
		b.WriteString(alg.String())
		if stale {
			b.WriteString(", stale=true")
		}
		// The value is ours and well formed; Add cannot fail on it.
		_ = resp.Add(name, b.String())
	}
	a.stats.challenges.Add(1)
	return resp
}

func randomTag() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// creds are the parameters of one set of digest credentials.
type creds struct {
	user, realm, nonce, uri, response, cnonce, qop, nc string
	alg                                                Algorithm
	hasAlg, hasRealm                                   bool
}

// find returns the credentials of req for realm: the first Authorization
// (or Proxy-Authorization) Digest value whose realm is realm. found is
// false when there is none; bad is set when a value could not be parsed
// (or named a directive twice), in which case c holds nothing.
func find(req *sip.Message, realm string, proxy bool) (c creds, found, bad bool) {
	h := sip.HeaderAuthorization
	if proxy {
		h = sip.HeaderProxyAuthorization
	}
	for au, err := range req.Auths(h) {
		if err != nil {
			bad = true
			continue
		}
		if !au.IsDigest() {
			continue
		}
		c = creds{}
		if !parseCreds(&au, &c) {
			if c.hasRealm && c.realm != realm {
				continue // another proxy's problem
			}
			bad = true
			continue
		}
		if c.realm != realm {
			continue
		}
		return c, true, false
	}
	return creds{}, false, bad
}

// Check verifies the credentials req carries for realm (Authorization, or
// Proxy-Authorization when proxy is set) from source address src.
//
// The order: a locked-out source is Refused; credentials for another realm
// count as none (Missing; RFC 3261 §22.3, they may be for another proxy);
// malformed ones, ones without qop=auth and ones whose uri is not the
// Request-URI are Refused; a locked-out user is Refused; an algorithm not
// configured is Failed; then the response is computed from the user's HA1
// and compared in constant time, whatever the nonce: a wrong one is Failed,
// a right one with an expired or foreign nonce is Stale (RFC 7616 §3.3: only
// a right response earns stale=true); finally the nonce-count must not have
// been used with this nonce (Refused as a replay).
//
// The uri parameter must equal the Request-URI: as text, or failing that as
// SIP URIs by RFC 3261 §19.1.4 (RFC 3261 §22.4, RFC 7616 §3.4.6).
func (a *Authenticator) Check(ctx context.Context, req *sip.Message, realm string, proxy bool, src netip.Addr) Result {
	nowT := a.now()
	now := nowT.UnixNano()
	skey := sourceKey(src)
	if a.sources.locked(skey, now) {
		a.stats.refused.Add(1)
		return Result{Outcome: Refused, Reason: ReasonLockout, Realm: realm}
	}
	c, found, bad := find(req, realm, proxy)
	if !found {
		if bad {
			return a.fail(Result{Outcome: Refused, Reason: ReasonMalformed, Realm: realm}, skey, now, false)
		}
		return Result{Outcome: Missing, Realm: realm}
	}
	res := Result{Realm: realm, User: c.user, Algorithm: c.alg}
	var resp [sha256.Size]byte
	ncv, ncErr := strconv.ParseUint(c.nc, 16, 32)
	switch {
	case c.user == "" || len(c.user) > MaxUserLength || c.nonce == "" || c.uri == "" || c.alg == 0:
		res.Outcome, res.Reason = Refused, ReasonMalformed
	case c.qop == "" || !strings.EqualFold(c.qop, "auth"):
		res.Outcome, res.Reason = Refused, ReasonNoQop
	case c.cnonce == "" || len(c.nc) != 8 || ncErr != nil || ncv == 0 ||
		len(c.response) != 2*c.alg.size() || !decodeHex(resp[:c.alg.size()], c.response):
		res.Outcome, res.Reason = Refused, ReasonMalformed
	case !a.uriMatches(req, c.uri):
		res.Outcome, res.Reason = Refused, ReasonURI
	}
	if res.Outcome == Refused {
		res.User = ""
		return a.fail(res, skey, now, false)
	}
	ukey := userKey(c.user, realm)
	if a.usersFail.locked(ukey, now) {
		a.stats.refused.Add(1)
		res.Outcome, res.Reason = Refused, ReasonLockout
		return res
	}
	if !a.offered(c.alg) {
		// Not counted: a client that kept a nonce across a configuration
		// change is not guessing.
		res.Outcome, res.Reason = Failed, ReasonAlgorithm
		return res
	}
	ha1, err := a.users.HA1(ctx, c.user, realm, c.alg.Base())
	unknown := errors.Is(err, ErrUnknownUser)
	if err != nil && !unknown {
		res.Outcome, res.Err = Unavailable, err
		return res
	}
	if unknown || len(ha1) != 2*c.alg.size() {
		// Compute a response anyway so that an unknown user costs the
		// same as a wrong password.
		ha1 = dummyHA1[:2*c.alg.size()]
	}
	var want [sha256.Size]byte
	got := digestResponse(want[:0], c.alg, ha1, c.nonce, c.nc, c.cnonce, c.qop, req.Method, c.uri)
	match := subtle.ConstantTimeCompare(got, resp[:c.alg.size()]) == 1
	if unknown || !match {
		res.Outcome, res.Reason = Failed, ReasonResponse
		if unknown {
			res.Reason = ReasonUnknownUser
		}
		return a.fail(res, skey, now, true)
	}
	state, issued, tag := a.nonces.verify(c.nonce, realm, c.alg, nowT)
	if state != nonceValid {
		a.stats.stale.Add(1)
		res.Outcome = Stale
		return res
	}
	switch a.replay.use(tag, issued, uint32(ncv), nowT.Unix()) {
	case ncReplay:
		// Counted against the source (not the user, whose client may
		// merely have reordered more than the window): a replay is someone
		// resending captured credentials.
		a.stats.replays.Add(1)
		res.Outcome, res.Reason = Refused, ReasonReplay
		return a.fail(res, skey, now, false)
	case ncStale:
		a.stats.stale.Add(1)
		res.Outcome = Stale
		return res
	}
	a.usersFail.reset(ukey, now)
	a.stats.successes.Add(1)
	res.Outcome = OK
	return res
}

// dummyHA1 stands in for the HA1 of an unknown user.
const dummyHA1 = "0000000000000000000000000000000000000000000000000000000000000000"

// fail counts a failure of the source (and, when user is set, of
// res.User) and sets res.Delay; it logs and counts lockouts.
func (a *Authenticator) fail(res Result, skey netip.Addr, now int64, user bool) Result {
	a.stats.failures.Add(1)
	l := &a.limits
	n, started := a.sources.fail(skey, now, l, l.SourceLockAfter)
	res.Delay = l.delayFor(n)
	if started {
		a.stats.lockouts.Add(1)
		a.log.Warn("auth: source locked out after repeated failures", "source", skey, "failures", n, "for", l.Lockout)
	}
	if user && res.User != "" {
		n, started := a.usersFail.fail(userKey(res.User, res.Realm), now, l, l.UserLockAfter)
		res.Delay = max(res.Delay, l.delayFor(n))
		if started {
			a.stats.lockouts.Add(1)
			a.log.Warn("auth: user locked out after repeated failures", "user", res.User, "realm", res.Realm, "source", skey, "failures", n, "for", l.Lockout)
		}
	}
	a.log.Debug("auth: failed", "source", skey, "user", res.User, "realm", res.Realm, "outcome", res.Outcome, "reason", res.Reason)
	return res
}

func userKey(user, realm string) string { return user + "@" + realm }

func (a *Authenticator) offered(alg Algorithm) bool {
	for _, x := range a.algs {
		if x == alg {
			return true
		}
	}
	return false
}

// uriMatches reports whether the digest uri is the Request-URI: the same
// text, or equal SIP URIs (RFC 3261 §19.1.4).
func (a *Authenticator) uriMatches(req *sip.Message, uri string) bool {
	ruri := &req.RequestURI
	var buf [256]byte
	if string(ruri.AppendTo(buf[:0])) == uri {
		return true
	}
	u, err := sip.ParseURI(uri)
	return err == nil && ruri.Equal(&u)
}

// decodeHex decodes s (either case) into dst, which has len(s)/2 bytes.
func decodeHex(dst []byte, s string) bool {
	for i := 0; i < len(dst); i++ {
		hi, ok1 := sip.Unhex(s[2*i])
		lo, ok2 := sip.Unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}
