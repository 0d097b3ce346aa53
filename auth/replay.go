package auth

import (
	"encoding/binary"
	"sync"
)

// replayShards spreads the nonce-count table over this many locks.
const replayShards = 16

// ncWindow is how far below the highest nonce-count seen a count may still
// be accepted once, for requests that share a nonce and arrive out of order
// (parallel transactions, UDP).
const ncWindow = 64

// replayTable remembers, per nonce that authenticated a request, the
// nonce-counts already used (RFC 7616 §3.4, §5.3): the highest, and a bitmap
// of the ncWindow below it. A count used before, or older than the window,
// is a replay.
//
// The table is bounded. Entries leave it when their nonce expires (it is then
// stale anyway); when a shard is full its oldest entry is evicted and the
// shard's floor rises to that nonce's issue time: a nonce issued at or
// before the floor that is not in the table may have been evicted, so it is
// answered as stale, never trusted afresh.
type replayTable struct {
	lifetime int64
	shards   [replayShards]replayShard
}

type replayShard struct {
	mu    sync.Mutex
	max   int
	m     map[nonceTag]ncEntry
	ring  []nonceTag // insertion order, ring[head] the oldest
	head  int
	floor int64
	_     [32]byte // keeps shards on their own cache lines
}

type ncEntry struct {
	issued int64
	top    uint32
	seen   uint64 // bit i: top-i was used
}

// replayVerdict is what use decided.
type replayVerdict uint8

const (
	ncFresh  replayVerdict = iota // first or unused count: accepted
	ncReplay                      // used before or too old
	ncStale                       // nonce forgotten (evicted): challenge again
)

func newReplayTable(max int, lifetime int64) *replayTable {
	t := &replayTable{lifetime: lifetime}
	per := max / replayShards
	if per < 1 {
		per = 1
	}
	for i := range t.shards {
		t.shards[i].max = per
	}
	return t
}

// use records count nc of the nonce named by tag, issued at issued, at time
// now (Unix seconds), and says whether it was fresh.
func (t *replayTable) use(tag nonceTag, issued int64, nc uint32, now int64) replayVerdict {
	s := &t.shards[binary.LittleEndian.Uint32(tag[:4])%replayShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[nonceTag]ncEntry)
		s.ring = make([]nonceTag, s.max)
	}
	e, ok := s.m[tag]
	if ok {
		switch {
		case nc > e.top:
			if d := nc - e.top; d >= ncWindow {
				e.seen = 1
			} else {
				e.seen = e.seen<<d | 1
			}
			e.top = nc
		case e.top-nc >= ncWindow:
			return ncReplay
		case e.seen&(1<<(e.top-nc)) != 0:
			return ncReplay
		default:
			e.seen |= 1 << (e.top - nc)
		}
		s.m[tag] = e
		return ncFresh
	}
	if issued <= s.floor {
		return ncStale
	}
	// Drop expired entries from the old end, then make room.
	for n := len(s.m); n > 0; n-- {
		old := s.ring[s.head]
		if now-s.m[old].issued <= t.lifetime {
			break
		}
		delete(s.m, old)
		s.head = (s.head + 1) % s.max
	}
	if len(s.m) >= s.max {
		old := s.ring[s.head]
		if iss := s.m[old].issued; iss > s.floor {
			s.floor = iss
		}
		delete(s.m, old)
		s.head = (s.head + 1) % s.max
		if issued <= s.floor {
			return ncStale
		}
	}
	s.ring[(s.head+len(s.m))%s.max] = tag
	s.m[tag] = ncEntry{issued: issued, top: nc, seen: 1}
	return ncFresh
}

// len returns the number of nonces remembered.
func (t *replayTable) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
