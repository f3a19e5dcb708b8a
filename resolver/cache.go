package resolver

import (
	"sync"
	"time"
)

// ttlCache is a bounded map whose entries expire by the injected clock. When
// full it drops expired entries, then the entry closest to expiry.
type ttlCache[V any] struct {
	mu    sync.Mutex
	max   int
	clock func() time.Time
	m     map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any](max int, clock func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{max: max, clock: clock, m: make(map[string]ttlEntry[V])}
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !c.clock().Before(e.expires) {
		delete(c.m, key)
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, ttl time.Duration) {
	c.update(key, ttl, func(V, bool) V { return v })
}

// update stores fn(the current value, whether there is one) under key for
// ttl, in one step under the cache's lock.
func (c *ttlCache[V]) update(key string, ttl time.Duration, fn func(old V, ok bool) V) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	var old V
	e, ok := c.m[key]
	if ok = ok && now.Before(e.expires); ok {
		old = e.v
	}
	v := fn(old, ok)
	if _, present := c.m[key]; !present && len(c.m) >= c.max {
		var victim string
		var soonest time.Time
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
				continue
			}
			if victim == "" || e.expires.Before(soonest) {
				victim, soonest = k, e.expires
			}
		}
		if len(c.m) >= c.max {
			delete(c.m, victim)
		}
	}
	c.m[key] = ttlEntry[V]{v: v, expires: now.Add(ttl)}
}

// remove drops key.
func (c *ttlCache[V]) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
