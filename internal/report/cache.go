package report

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"siwei/internal/keep"
)

// maxDocs bounds the documents kept: a district of a hundred towns of fifteen villages, a few
// periods each.
const maxDocs = 4096

// staleFactor is how many times as old as KeepFor a document may still be served at once while a
// new one is computed for the next viewer.
const staleFactor = 10

// KeepFor keeps each scope's document for a period d (0: computed for each request, as the tests
// want): the command centre's screens, which refresh every minute, and the leaders who open the
// same town page read one computation between them instead of each its own. Until it is ten
// times d old, a document is still served at once while a new one is computed beside it, so that
// only the first viewer of a district waits for its figures. A document says when it was
// computed (Document.At), and the pages show it. Call it before serving.
func (s *Service) KeepFor(d time.Duration) {
	if d <= 0 {
		s.docs = nil
		return
	}
	s.docs = &keep.Cache[Document]{Fresh: d, Stale: (staleFactor - 1) * d, Max: maxDocs}
}

// cacheKey names a document: its scope, its period as the address gives it, and the trend.
func cacheKey(sc Scope, spec string, trend bool) string {
	return fmt.Sprintf("%s|%d|%s|%t", sc.Level, sc.ID, spec, trend)
}

// copy is a document that its reader may change (the handlers name its figures in the reader's
// language) without changing the kept one.
func (d Document) copy() Document {
	d.Figures = slices.Clone(d.Figures)
	d.Groups = cloned(d.Groups, func(g Group) Group { g.Values = maps.Clone(g.Values); return g })
	d.Participation = slices.Clone(d.Participation)
	d.Overdue = slices.Clone(d.Overdue)
	d.Trend = cloned(d.Trend, func(p Point) Point { p.Value = maps.Clone(p.Value); return p })
	d.Departments = slices.Clone(d.Departments)
	return d
}

// cloned is a copy of s with each element passed through f; nil stays nil.
func cloned[T any](s []T, f func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
