package report

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// docCache keeps each scope's document for a period a short while (Service.CacheFor), so that the
// command centre's screens, which refresh every minute, and the leaders who open the same town
// page read one computation between them instead of each its own; several asking at once while
// none is kept wait for one computation. A document says when it was computed (Document.At), and
// the pages show it. The cache holds at most maxDocs documents: past that a document is computed
// and not kept.
type docCache struct {
	mu     sync.Mutex
	docs   map[string]cached
	flight singleflight.Group
}

type cached struct {
	doc     Document
	expires time.Time
}

// maxDocs bounds the cache: a district of a hundred towns of fifteen villages, a few periods each.
const maxDocs = 4096

// computeTimeout bounds a shared computation, which no single asker's cancelling stops.
const computeTimeout = 5 * time.Minute

// cacheKey names a document: its scope, its period as the address gives it, and the trend.
func cacheKey(sc Scope, spec string, trend bool) string {
	return fmt.Sprintf("%s|%d|%s|%t", sc.Level, sc.ID, spec, trend)
}

// get is the kept document of key, or compute's, kept until now+ttl. The caller has checked
// that the actor may see the scope: a document depends on its scope and period alone.
func (c *docCache) get(ctx context.Context, key string, now func() time.Time, ttl time.Duration, compute func(context.Context) (Document, error)) (Document, error) {
	c.mu.Lock()
	if got, ok := c.docs[key]; ok && now().Before(got.expires) {
		c.mu.Unlock()
		return got.doc.copy(), nil
	}
	c.mu.Unlock()
	ch := c.flight.DoChan(key, func() (any, error) {
		// One that finished while this asker looked is not computed again.
		c.mu.Lock()
		got, ok := c.docs[key]
		c.mu.Unlock()
		if ok && now().Before(got.expires) {
			return got.doc, nil
		}
		// The computation is shared: it goes on when the asker who started it leaves.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
		defer cancel()
		doc, err := compute(cctx)
		if err != nil {
			return nil, err
		}
		c.put(key, doc, now(), ttl)
		return doc, nil
	})
	select {
	case <-ctx.Done():
		return Document{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return Document{}, res.Err
		}
		return res.Val.(Document).copy(), nil
	}
}

// put keeps doc until now+ttl, first dropping what has expired.
func (c *docCache) put(key string, doc Document, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs == nil {
		c.docs = map[string]cached{}
	}
	if len(c.docs) >= maxDocs {
		for k, v := range c.docs {
			if !now.Before(v.expires) {
				delete(c.docs, k)
			}
		}
		if len(c.docs) >= maxDocs {
			return
		}
	}
	c.docs[key] = cached{doc: doc, expires: now.Add(ttl)}
}

// copy is a document that its reader may change (the handlers name its figures in the reader's
// language) without changing the kept one.
func (d Document) copy() Document {
	d.Figures = slices.Clone(d.Figures)
	groups := make([]Group, len(d.Groups))
	for i, g := range d.Groups {
		g.Values = maps.Clone(g.Values)
		groups[i] = g
	}
	if d.Groups != nil {
		d.Groups = groups
	}
	d.Participation = slices.Clone(d.Participation)
	d.Overdue = slices.Clone(d.Overdue)
	if d.Trend != nil {
		trend := make([]Point, len(d.Trend))
		for i, p := range d.Trend {
			p.Value = maps.Clone(p.Value)
			trend[i] = p
		}
		d.Trend = trend
	}
	d.Departments = slices.Clone(d.Departments)
	return d
}
