package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"siwei/internal/db"
	"siwei/internal/flow"
)

// Where a computation looks, and by what it breaks its figures down.
const (
	Village  = "village"
	Town     = "town"
	District = "district"
)

// Scope is where a report looks: one village, one town, or the district (every town).
type Scope struct {
	Level string `json:"level"`
	ID    int64  `json:"id"` // the village or town; 0 for the district
}

// by is the level a scope's figures are broken down by: a town's villages, the district's towns;
// a village has no breakdown.
func (sc Scope) by() string {
	switch sc.Level {
	case Town:
		return Village
	case District:
		return Town
	}
	return ""
}

// part is a figure's value in one group (a village or a town, or the whole scope with id 0) as
// its numerator and denominator: a count has no denominator.
type part struct{ n, d float64 }

// value is the part's figure: the count, or the ratio times scale (0 when nothing was counted).
func (p part) value(scale float64) float64 {
	if scale == 0 {
		return p.n
	}
	if p.d == 0 {
		return 0
	}
	return p.n / p.d * scale
}

// run computes figures of one scope over one span, each once, by group.
type run struct {
	ctx   context.Context
	q     db.Querier
	scope Scope
	span  Span
	now   time.Time
	done  map[string]map[int64]part
	rates map[string]map[int64]flow.Rates
}

func newRun(ctx context.Context, q db.Querier, sc Scope, s Span, now time.Time) *run {
	return &run{ctx: ctx, q: q, scope: sc, span: s, now: now, done: map[string]map[int64]part{}, rates: map[string]map[int64]flow.Rates{}}
}

// figure is def's parts by group, with the scope's total under 0.
func (r *run) figure(d *Def) (map[int64]part, error) {
	if got, ok := r.done[d.Key]; ok {
		return got, nil
	}
	var got map[int64]part
	var err error
	if _, ok := r.span.period(r.now); ok && d.perPeriod != nil {
		d = d.perPeriod
	}
	switch {
	case d.num != "":
		got, err = r.ratio(d)
	case d.flow != nil:
		got, err = r.flowRate(d)
	default:
		got, err = r.count(d, true)
		if err == nil && d.distinct && r.scope.by() != "" {
			// People counted in two groups (moved between villages) are one in the total.
			var total map[int64]part
			if total, err = r.count(d, false); err == nil {
				got[0] = total[0]
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", d.Key, err)
	}
	total := part{}
	for g, p := range got {
		if g != 0 {
			total.n += p.n
			total.d += p.d
		}
	}
	if _, ok := got[0]; !ok {
		got[0] = total
	}
	r.done[d.Key] = got
	return got, nil
}

// groupCol is the column of d's table the run groups by, and scopeCol the one it filters on.
func (r *run) cols(d *Def) (group, filter string) {
	switch r.scope.by() {
	case Village:
		group = d.village
	case Town:
		group = d.town
	}
	if group == "" {
		group = "0"
	}
	switch r.scope.Level {
	case Village:
		filter = d.village
	case Town:
		filter = d.town
	}
	return group, filter
}

// count runs a counting definition: SELECT group, agg, den FROM from WHERE cond AND scope GROUP BY group.
func (r *run) count(d *Def, grouped bool) (map[int64]part, error) {
	group, filter := r.cols(d)
	if !grouped {
		group = "0"
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	d1, d2 := r.span.days()
	age := func(years int) string {
		return r.span.End.AddDate(-years, 0, -1).Format(time.DateOnly)
	}
	cond := d.cond
	period, _ := r.span.period(r.now)
	for _, ph := range []struct {
		name string
		v    any
	}{{":period", period}, {":start", r.span.startAt()}, {":end", r.span.End.UTC()}, {":from", r.span.fromMonth()}, {":to", r.span.To}, {":d1", d1}, {":d2", d2},
		{":now", r.now.UTC()}, {":adult", age(18)}} {
		if strings.Contains(cond, ph.name) {
			cond = strings.ReplaceAll(cond, ph.name, arg(ph.v))
		}
	}
	if cond == "" {
		cond = "1 = 1"
	}
	if filter != "" {
		cond += " AND " + filter + " = " + arg(r.scope.ID)
	}
	den := d.den
	if den == "" {
		den = "0"
	}
	sql := `SELECT ` + group + `, ` + d.agg + `, ` + den + ` FROM ` + d.from + ` WHERE ` + cond
	if group != "0" {
		sql += ` GROUP BY ` + group
	} else {
		sql = `SELECT CAST(0 AS BIGINT), ` + d.agg + `, ` + den + ` FROM ` + d.from + ` WHERE ` + cond
	}
	rows, err := r.q.QueryContext(r.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]part{}
	for rows.Next() {
		var g *int64
		var n, dd float64
		if err := rows.Scan(&g, &n, &dd); err != nil {
			return nil, err
		}
		var id int64
		if g != nil {
			id = *g
		}
		p := out[id]
		p.n += n
		p.d += dd
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Rows without a group (a meeting of several villages) count in the scope's total only.
	if group != "0" {
		total := part{}
		for _, p := range out {
			total.n += p.n
			total.d += p.d
		}
		out[0] = total
	}
	return out, nil
}

// ratio divides one figure by another, group by group.
func (r *run) ratio(d *Def) (map[int64]part, error) {
	num, err := r.figure(byKey[d.num])
	if err != nil {
		return nil, err
	}
	den, err := r.figure(byKey[d.denKey])
	if err != nil {
		return nil, err
	}
	out := map[int64]part{}
	for g, p := range num {
		out[g] = part{n: p.n, d: den[g].n}
	}
	for g, p := range den {
		if _, ok := out[g]; !ok {
			out[g] = part{d: p.n}
		}
	}
	return out, nil
}

// flowRate is one of the three rates (响应率, 解决率, 满意率) of a flow's orders opened in the span,
// as the flow kit counts them.
func (r *run) flowRate(d *Def) (map[int64]part, error) {
	group, filter := r.cols(d)
	key := d.flow.Name + "|" + group
	by, ok := r.rates[key]
	if !ok {
		sql := `SELECT id, COALESCE(` + group + `, 0) FROM ` + d.from
		var args []any
		if filter != "" {
			sql += ` WHERE ` + filter + ` = $1`
			args = append(args, r.scope.ID)
		}
		var err error
		if by, err = d.flow.Rates(r.ctx, r.q, r.span.startAt(), r.span.End.UTC(), flow.Orders{SQL: sql, Args: args}); err != nil {
			return nil, err
		}
		r.rates[key] = by
	}
	out := map[int64]part{}
	total := part{}
	for g, rt := range by {
		var p part
		switch d.rate {
		case rateResponse:
			p = part{float64(rt.Responded), float64(rt.Opened)}
		case rateResolution:
			p = part{float64(rt.Done), float64(rt.Opened)}
		default:
			p = part{float64(rt.Satisfied), float64(rt.Rated)}
		}
		out[g] = p
		total.n += p.n
		total.d += p.d
	}
	out[0] = total
	return out, nil
}
