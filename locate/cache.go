package locate

import (
	"container/list"
	"sync"
	"time"
)

type cacheKey struct {
	name  string
	qtype uint16
}

// answer is a cached DNS answer: records, or none (set nil), with nx telling
// NXDOMAIN (no records of any type at the name) from NODATA.
type answer struct {
	set *rrset
	nx  bool
}

type cacheEntry struct {
	key     cacheKey
	ans     answer
	expires time.Time
}

// cache holds DNS answers until they expire, at most max of them; past the
// bound the least recently used goes. Stored rrsets are never changed.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]*list.Element
	lru     list.List // front: most recently used; values are *cacheEntry
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[cacheKey]*list.Element)}
}

// get returns the answer for key and whether the cache holds one that has
// not expired at now.
func (c *cache) get(key cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return answer{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, key)
		return answer{}, false
	}
	c.lru.MoveToFront(el)
	return e.ans, true
}

// put stores an answer until expires, replacing one for the same key.
func (c *cache) put(key cacheKey, ans answer, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		e.ans, e.expires = ans, expires
		c.lru.MoveToFront(el)
		return
	}
	for c.lru.Len() >= c.max {
		last := c.lru.Back()
		delete(c.entries, last.Value.(*cacheEntry).key)
		c.lru.Remove(last)
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, ans: ans, expires: expires})
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
