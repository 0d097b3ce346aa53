package location

import (
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// shards spreads AORs over this many locks, so that REGISTERs of
// different users rarely wait on each other.
const shards = 64

// Memory is the in-memory Store: a map sharded by AOR, a mutex per shard,
// and a cap on the bindings it holds in total.
type Memory struct {
	seed   maphash.Seed
	max    int64
	n      atomic.Int64
	shards [shards]shard
}

type shard struct {
	mu sync.Mutex
	// m holds each AOR's bindings sorted as Lookup returns them; an AOR
	// without bindings has no entry.
	m map[string][]Binding
}

// NewMemory returns an empty Memory holding at most DefaultMaxBindings.
func NewMemory() *Memory { return NewMemoryCap(DefaultMaxBindings) }

// NewMemoryCap returns an empty Memory holding at most max bindings in
// total (DefaultMaxBindings when max <= 0); past it Update returns
// ErrFull, so that a flood of registrations for made-up users cannot
// exhaust memory.
func NewMemoryCap(max int) *Memory {
	if max <= 0 {
		max = DefaultMaxBindings
	}
	m := &Memory{seed: maphash.MakeSeed(), max: int64(max)}
	for i := range m.shards {
		m.shards[i].m = make(map[string][]Binding)
	}
	return m
}

func (m *Memory) shard(aor string) *shard {
	return &m.shards[maphash.String(m.seed, aor)%shards]
}

// Lookup implements Store.
func (m *Memory) Lookup(aor string, now time.Time) []Binding {
	s := m.shard(aor)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.m[aor]
	live, paths := 0, 0
	for i := range cur {
		if !cur[i].Expired(now) {
			live++
			paths += len(cur[i].Path) + len(cur[i].TempGRUUs)
		}
	}
	if live == 0 {
		return nil
	}
	out := make([]Binding, 0, live)
	// One backing array for every Path and TempGRUUs, so that a caller
	// writing into one cannot change the store.
	var pathBuf []string
	if paths > 0 {
		pathBuf = make([]string, 0, paths)
	}
	own := func(s []string) []string {
		if len(s) == 0 {
			return s
		}
		start := len(pathBuf)
		pathBuf = append(pathBuf, s...)
		return pathBuf[start:len(pathBuf):len(pathBuf)]
	}
	for i := range cur {
		if cur[i].Expired(now) {
			continue
		}
		b := cur[i]
		b.Path = own(b.Path)
		b.TempGRUUs = own(b.TempGRUUs)
		out = append(out, b)
	}
	return out
}

// Update implements Store. fn gets a copy of the live bindings; the
// bindings it returns must carry aor as their AOR, and those already
// expired at now are not stored.
func (m *Memory) Update(aor string, now time.Time, fn func(cur []Binding) ([]Binding, error)) error {
	s := m.shard(aor)
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.m[aor]
	cur := make([]Binding, 0, len(stored))
	for i := range stored {
		if !stored[i].Expired(now) {
			cur = append(cur, stored[i])
		}
	}
	next, err := fn(slices.Clip(cur))
	if err != nil {
		return err
	}
	keep := make([]Binding, 0, len(next))
	for i := range next {
		b := next[i]
		if b.AOR != aor {
			return fmt.Errorf("location: update of %q returned a binding of %q", aor, b.AOR)
		}
		if b.Expired(now) {
			continue
		}
		b.Path = slices.Clip(slices.Clone(b.Path))
		b.TempGRUUs = slices.Clip(slices.Clone(b.TempGRUUs))
		keep = append(keep, b)
	}
	if d := int64(len(keep) - len(stored)); d > 0 {
		if !m.reserve(d) {
			return fmt.Errorf("%w: %d bindings held, %d more for %q", ErrFull, m.n.Load(), d, aor)
		}
	} else {
		m.n.Add(d)
	}
	if len(keep) == 0 {
		delete(s.m, aor)
		return nil
	}
	slices.SortStableFunc(keep, compare)
	s.m[aor] = keep
	return nil
}

// reserve adds d to the count unless that passes the cap.
func (m *Memory) reserve(d int64) bool {
	for {
		n := m.n.Load()
		if n+d > m.max {
			return false
		}
		if m.n.CompareAndSwap(n, n+d) {
			return true
		}
	}
}

// Sweep implements Store.
func (m *Memory) Sweep(now time.Time) int {
	dropped := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for aor, bs := range s.m {
			live := slices.DeleteFunc(bs, func(b Binding) bool { return b.Expired(now) })
			if d := len(bs) - len(live); d > 0 {
				dropped += d
				m.n.Add(int64(-d))
			}
			if len(live) == 0 {
				delete(s.m, aor)
			} else {
				s.m[aor] = live
			}
		}
		s.mu.Unlock()
	}
	return dropped
}

// Len implements Store.
func (m *Memory) Len() int { return int(m.n.Load()) }
