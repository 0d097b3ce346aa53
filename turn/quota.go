package turn

import (
	"sync"
	"time"
)

// reserveFor is how long a quota reservation waits for its allocation:
// pion asks the quota before it creates the allocation, and a creation
// that fails before reaching the relay generator (a LIFETIME of 0, say)
// tells nobody.
const reserveFor = 5 * time.Second

// quota counts allocations per user and in total. An allowed request
// reserves a place, which the allocation takes over when pion reports it
// created, or which is given back when the relay generator fails or after
// reserveFor; so concurrent Allocate requests cannot overshoot the limits.
type quota struct {
	perUser, total int // 0: no limit
	now            func() time.Time

	mu      sync.Mutex
	users   map[string]*usage
	all     usage
	refused uint64
}

type usage struct {
	active  int
	pending []time.Time // oldest first
}

func (u *usage) prune(now time.Time) {
	i := 0
	for i < len(u.pending) && now.Sub(u.pending[i]) >= reserveFor {
		i++
	}
	u.pending = u.pending[i:]
}

func (u *usage) take() {
	if len(u.pending) > 0 {
		u.pending = u.pending[1:]
	}
}

func (u *usage) used() int { return u.active + len(u.pending) }

func (q *quota) user(id string) *usage {
	u := q.users[id]
	if u == nil {
		u = &usage{}
		q.users[id] = u
	}
	return u
}

func (q *quota) forget(id string, u *usage) {
	if u.active <= 0 && len(u.pending) == 0 {
		delete(q.users, id)
	}
}

// allow is pion's QuotaHandler: false answers 486 (Allocation Quota
// Reached).
func (q *quota) allow(id string) bool {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.user(id)
	u.prune(now)
	q.all.prune(now)
	if q.perUser > 0 && u.used() >= q.perUser || q.total > 0 && q.all.used() >= q.total {
		q.refused++
		q.forget(id, u)
		return false
	}
	u.pending = append(u.pending, now)
	q.all.pending = append(q.all.pending, now)
	return true
}

// created turns a reservation into an allocation.
func (q *quota) created(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.user(id)
	u.take()
	u.active++
	q.all.take()
	q.all.active++
}

// failed gives a reservation back.
func (q *quota) failed(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.user(id)
	u.take()
	q.all.take()
	q.forget(id, u)
}

// deleted ends an allocation.
func (q *quota) deleted(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.user(id)
	if u.active > 0 {
		u.active--
		q.all.active--
	}
	q.forget(id, u)
}

func (q *quota) stats() (allocations, users int, refused uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, u := range q.users {
		if u.active > 0 {
			n++
		}
	}
	return q.all.active, n, q.refused
}
