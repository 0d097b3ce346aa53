package auth

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Limits slow down and then refuse password guessing (RFC 3261 §26.3.2.4
// leaves it to the implementation). Failures are counted per source address
// (an IPv6 source by its /64) and per user@realm, in a window that starts
// with the first failure. Past DelayAfter failures in the window, Check
// returns a Delay the caller waits before answering (Delay, doubling with
// each further failure, at most MaxDelay); at SourceLockAfter (per source)
// or UserLockAfter (per user) failures the source or user is locked out for
// Lockout: every request from that source, or with credentials of that user,
// is Refused (403) without its credentials being checked.
//
// A user lockout also refuses the user's right password, so an attacker can
// lock a user out; UserLockAfter is therefore higher than a typo-prone human
// reaches, and the per-source rule is what stops one guesser.
//
// Zero fields take the defaults; a negative threshold or duration turns that
// rule off.
type Limits struct {
	// Window is the counting period (default 5 minutes).
	Window time.Duration
	// DelayAfter is the number of failures of a source or user in the
	// window answered without delay (default 5).
	DelayAfter int
	// Delay is the first delay (default 250 ms); MaxDelay caps the
	// doubling (default 4 s).
	Delay, MaxDelay time.Duration
	// SourceLockAfter and UserLockAfter are the failures that lock a source
	// (default 30) or a user (default 20) out.
	SourceLockAfter, UserLockAfter int
	// Lockout is how long a lockout lasts (default 10 minutes).
	Lockout time.Duration
	// MaxSources and MaxUsers bound the two tables (default 65536 each).
	// A full table evicts an entry it samples, preferring one whose window
	// is over, then the fewest failures, never a locked one while another
	// is not.
	MaxSources, MaxUsers int
}

// Default limits.
const (
	DefaultWindow          = 5 * time.Minute
	DefaultDelayAfter      = 5
	DefaultDelay           = 250 * time.Millisecond
	DefaultMaxDelay        = 4 * time.Second
	DefaultSourceLockAfter = 30
	DefaultUserLockAfter   = 20
	DefaultLockout         = 10 * time.Minute
	DefaultMaxEntries      = 1 << 16
)

func (l Limits) withDefaults() Limits {
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	defDur(&l.Window, DefaultWindow)
	defInt(&l.DelayAfter, DefaultDelayAfter)
	defDur(&l.Delay, DefaultDelay)
	defDur(&l.MaxDelay, DefaultMaxDelay)
	defInt(&l.SourceLockAfter, DefaultSourceLockAfter)
	defInt(&l.UserLockAfter, DefaultUserLockAfter)
	defDur(&l.Lockout, DefaultLockout)
	defInt(&l.MaxSources, DefaultMaxEntries)
	defInt(&l.MaxUsers, DefaultMaxEntries)
	if l.MaxSources < 0 {
		l.MaxSources = 0
	}
	if l.MaxUsers < 0 {
		l.MaxUsers = 0
	}
	return l
}

// delayFor returns the delay after fails failures.
func (l *Limits) delayFor(fails int) time.Duration {
	if l.DelayAfter < 0 || l.Delay <= 0 || fails <= l.DelayAfter {
		return 0
	}
	d := l.Delay
	for i := l.DelayAfter + 1; i < fails && d < l.MaxDelay; i++ {
		d *= 2
	}
	if l.MaxDelay > 0 && d > l.MaxDelay {
		d = l.MaxDelay
	}
	return d
}

// sourceKey is the address failures of src are counted under: IPv4 as it
// is, IPv6 by its /64 (one subscriber's LAN).
func sourceKey(src netip.Addr) netip.Addr {
	src = src.Unmap()
	if src.Is6() {
		p, _ := src.Prefix(64)
		return p.Addr()
	}
	return src.WithZone("")
}

const failShards = 16

// failTable counts failures per key; it is bounded and sharded.
type failTable[K comparable] struct {
	seed   maphash.Seed
	shards [failShards]failShard[K]
}

type failShard[K comparable] struct {
	mu  sync.Mutex
	max int
	m   map[K]failEntry
	_   [40]byte
}

type failEntry struct {
	start  int64 // window start, Unix ns
	fails  int
	locked int64 // locked until, Unix ns; 0 when not locked
}

func newFailTable[K comparable](max int) *failTable[K] {
	t := &failTable[K]{seed: maphash.MakeSeed()}
	per := (max + failShards - 1) / failShards
	for i := range t.shards {
		t.shards[i].max = per
	}
	return t
}

func (t *failTable[K]) shard(k K) *failShard[K] {
	return &t.shards[maphash.Comparable(t.seed, k)%failShards]
}

// locked reports whether k is locked out at now.
func (t *failTable[K]) locked(k K, now int64) bool {
	if t == nil {
		return false
	}
	s := t.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[k]
	return ok && e.locked > now
}

// fail counts a failure of k at now and returns the failures in the window
// and whether this one started a lockout.
func (t *failTable[K]) fail(k K, now int64, l *Limits, lockAfter int) (int, bool) {
	if t == nil {
		return 0, false
	}
	s := t.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max == 0 {
		return 0, false
	}
	if s.m == nil {
		s.m = make(map[K]failEntry)
	}
	e, ok := s.m[k]
	if !ok && len(s.m) >= s.max {
		s.evict(now, int64(l.Window))
	}
	switch {
	case !ok, e.locked != 0 && e.locked <= now, e.locked == 0 && now-e.start > int64(l.Window):
		// New, after a lockout, or after the window: count afresh.
		e = failEntry{start: now}
	}
	e.fails++
	started := false
	if lockAfter > 0 && l.Lockout > 0 && e.fails >= lockAfter && e.locked <= now {
		e.locked = now + int64(l.Lockout)
		started = true
	}
	s.m[k] = e
	return e.fails, started
}

// reset forgets k (a success) unless it is locked out.
func (t *failTable[K]) reset(k K, now int64) {
	if t == nil {
		return
	}
	s := t.shard(k)
	s.mu.Lock()
	if e, ok := s.m[k]; ok && e.locked <= now {
		delete(s.m, k)
	}
	s.mu.Unlock()
}

// evict removes one entry among a few sampled (map iteration order is
// random): one whose window and lockout are over if any, else the unlocked
// one with the fewest failures, else the lockout ending first.
func (s *failShard[K]) evict(now, window int64) {
	const sample = 8
	var victim K
	found := false
	var best failEntry
	i := 0
	for k, e := range s.m {
		if e.locked <= now && now-e.start > window {
			delete(s.m, k)
			return
		}
		if !found || better(e, best, now) {
			victim, best, found = k, e, true
		}
		if i++; i == sample {
			break
		}
	}
	if found {
		delete(s.m, victim)
	}
}

// better reports whether a is a better eviction victim than b.
func better(a, b failEntry, now int64) bool {
	al, bl := a.locked > now, b.locked > now
	if al != bl {
		return !al
	}
	if al {
		return a.locked < b.locked
	}
	return a.fails < b.fails
}

// len returns the number of entries.
func (t *failTable[K]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
