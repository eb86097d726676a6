// Package keep serves a result computed for one reader to the next for a while: a ranking board a
// village opens at once, the figures a command centre's screens refresh every minute. Readers
// asking for the same thing at once share one computation, which one reader's leaving does not
// stop; a result says when its computation began, and the pages say it too.
package keep

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// computeTimeout bounds a shared computation, which no single reader's cancelling stops.
const computeTimeout = 5 * time.Minute

// Cache keeps results by key. A result is served as it is while it is younger than Fresh and of
// the generation the reader asks for (a generation moves on when what it was computed from
// changes: the bank's postings move a town's on). Younger than Fresh+Stale, it is still served at
// once while a new one is computed beside it for the next reader, so that only the first reader
// waits for a slow one. At most Max are kept: past that the oldest go first, and if none is old,
// all of them. The results are shared: readers must not change them.
type Cache[V any] struct {
	Fresh, Stale time.Duration
	Max          int

	mu     sync.Mutex
	m      map[string]entry[V]
	flight singleflight.Group
}

type entry[V any] struct {
	v   V
	at  time.Time // when its computation began
	gen uint64
}

// Get is key's result of generation gen, kept or computed now by compute, and when its
// computation began.
func (c *Cache[V]) Get(ctx context.Context, key string, gen uint64, now func() time.Time, compute func(context.Context) (V, error)) (V, time.Time, error) {
	t := now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	ok = ok && e.gen == gen
	if ok && t.Sub(e.at) < c.Fresh {
		return e.v, e.at, nil
	}
	// Readers share a computation only within one generation: one who comes after a change does
	// not take a result read before it.
	ch := c.flight.DoChan(key+"|"+strconv.FormatUint(gen, 10), func() (any, error) {
		// One that finished while this reader looked is not computed again.
		c.mu.Lock()
		e, ok := c.m[key]
		c.mu.Unlock()
		if ok && e.gen == gen && now().Sub(e.at) < c.Fresh {
			return e, nil
		}
		// The time is taken before the computation: a change committed while it runs moves the
		// generation on, or is younger than the result says.
		ne := entry[V]{at: now(), gen: gen}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
		defer cancel()
		var err error
		if ne.v, err = compute(cctx); err != nil {
			return nil, err
		}
		c.put(key, ne)
		return ne, nil
	})
	if ok && t.Sub(e.at) < c.Fresh+c.Stale {
		// The new one is computed in the background; its channel holds its one answer, which
		// nobody need read.
		return e.v, e.at, nil
	}
	var zero V
	select {
	case <-ctx.Done():
		return zero, time.Time{}, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return zero, time.Time{}, r.Err
		}
		e := r.Val.(entry[V])
		return e.v, e.at, nil
	}
}

// put keeps a result, making room as Cache says.
func (c *Cache[V]) put(key string, e entry[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]entry[V]{}
	}
	if c.Max > 0 && len(c.m) >= c.Max {
		for k, old := range c.m {
			if e.at.Sub(old.at) >= c.Fresh+c.Stale {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.Max {
			clear(c.m)
		}
	}
	c.m[key] = e
}
