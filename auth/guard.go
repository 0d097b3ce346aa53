package auth

import (
	"net/netip"
	"time"
)

// Guard applies Limits to password checks that are not SIP digest answers
// (HTTP Basic on the TURN credentials endpoint): the same per-source (IPv6
// by /64) and per-user counting, delays and lockouts as Authenticator.Check,
// in tables of the same bounds, so that guessing a password there is no
// cheaper than over SIP. Its methods are safe for concurrent use.
type Guard struct {
	limits  Limits
	sources *failTable[netip.Addr]
	users   *failTable[string]
	now     func() time.Time
}

// NewGuard returns a Guard under l (zero fields take the defaults, as in
// Config.Limits); now is the clock, nil for time.Now.
func NewGuard(l Limits, now func() time.Time) *Guard {
	g := &Guard{limits: l.withDefaults(), now: now}
	if g.now == nil {
		g.now = time.Now
	}
	if g.limits.MaxSources > 0 {
		g.sources = newFailTable[netip.Addr](g.limits.MaxSources)
	}
	if g.limits.MaxUsers > 0 {
		g.users = newFailTable[string](g.limits.MaxUsers)
	}
	return g
}

// Locked reports whether src, or user of realm when user is not "", is
// locked out: the caller refuses without checking the password, so that a
// locked-out guesser learns nothing.
func (g *Guard) Locked(src netip.Addr, user, realm string) bool {
	now := g.now().UnixNano()
	if g.sources.locked(sourceKey(src), now) {
		return true
	}
	return user != "" && g.users.locked(userKey(user, realm), now)
}

// Fail counts a failed check from src (and against user of realm when user
// is not "") and returns how long the caller should wait before answering,
// and whether the failure started a lockout of either.
func (g *Guard) Fail(src netip.Addr, user, realm string) (delay time.Duration, lockout bool) {
	now := g.now().UnixNano()
	l := &g.limits
	n, started := g.sources.fail(sourceKey(src), now, l, l.SourceLockAfter)
	delay, lockout = l.delayFor(n), started
	if user != "" {
		n, started := g.users.fail(userKey(user, realm), now, l, l.UserLockAfter)
		delay, lockout = max(delay, l.delayFor(n)), lockout || started
	}
	return delay, lockout
}

// Succeed forgets the failures of user of realm (not of the source, as
// Check does: one right password does not excuse a source's guesses).
func (g *Guard) Succeed(user, realm string) {
	g.users.reset(userKey(user, realm), g.now().UnixNano())
}

// Len returns the entries of the source and user tables (for tests and
// metrics: both are bounded by Limits.MaxSources and MaxUsers).
func (g *Guard) Len() (sources, users int) {
	if g.sources != nil {
		sources = g.sources.len()
	}
	if g.users != nil {
		users = g.users.len()
	}
	return sources, users
}
