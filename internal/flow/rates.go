package flow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"siwei/internal/db"
)

// Orders picks the orders a query of the kit looks at, and the group each counts under: SQL of
// the pillar that selects two columns, an order's id and a group (a village, a department, 0 for
// one group), with its arguments numbered from $1. Empty SQL takes every order of the flow, in
// group 0. For example
//
//	flow.Orders{SQL: `SELECT id, department_id FROM consult_referrals WHERE town_id = $1`, Args: []any{townID}}
type Orders struct {
	SQL  string
	Args []any
}

// query starts a query over the picked orders: the WITH clause (or nothing), the join onto
// flow_steps aliased s, the group expression, the arguments so far and a function adding one.
func (o Orders) query() (with, join, group string, args *[]any, arg func(any) string) {
	a := append([]any{}, o.Args...)
	args = &a
	arg = func(v any) string { *args = append(*args, v); return fmt.Sprintf("$%d", len(*args)) }
	if o.SQL == "" {
		return "", "", "0", args, arg
	}
	return "WITH picked (order_id, grp) AS (" + o.SQL + ") ", " JOIN picked p ON p.order_id = s.order_id", "p.grp", args, arg
}

// Overdue is an order that has stayed in its state past the due time.
type Overdue struct {
	OrderID int64     `json:"order_id"`
	Group   int64     `json:"group"`
	State   string    `json:"state"`
	Entered time.Time `json:"entered"`
	Due     time.Time `json:"due"`
}

// Overdue lists the picked orders that are, at now, in a state whose due time has passed (the
// state's deadline from when they entered it, or the due time their step set), the most overdue
// first.
func (f *Flow) Overdue(ctx context.Context, q db.Querier, now time.Time, o Orders) ([]Overdue, error) {
	with, join, group, args, arg := o.query()
	rows, err := q.QueryContext(ctx, with+`SELECT s.order_id, `+group+`, s.to_state, s.at, s.due_at FROM flow_steps s`+join+`
		WHERE s.flow = `+arg(f.Name)+` AND s.left_at IS NULL AND s.due_at < `+arg(now.UTC())+` ORDER BY s.due_at, s.order_id`, *args...)
	if err != nil {
		return nil, fmt.Errorf("flow: %s overdue: %w", f.Name, err)
	}
	defer rows.Close()
	out := []Overdue{}
	for rows.Next() {
		var l Overdue
		if err := rows.Scan(&l.OrderID, &l.Group, &l.State, &l.Entered, &l.Due); err != nil {
			return nil, fmt.Errorf("flow: %s overdue: %w", f.Name, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Rates are the three rates of Beijing's 接诉即办 over the orders opened in a period, with the
// counts they are made of.
type Rates struct {
	// Opened is how many orders were opened in the period.
	Opened int `json:"opened"`
	// Responded is how many reached a Responded state with every state before it left in time.
	Responded int `json:"responded"`
	// Done is how many are now in a Done state.
	Done int `json:"done"`
	// Rated is how many have a rating; Satisfied how many of them were last rated 4 or 5.
	Rated     int `json:"rated"`
	Satisfied int `json:"satisfied"`
}

// Response is the 响应率: orders answered within the deadlines, of those opened; 0 when none were.
func (r Rates) Response() float64 { return ratio(r.Responded, r.Opened) }

// Resolution is the 解决率: orders done, of those opened.
func (r Rates) Resolution() float64 { return ratio(r.Done, r.Opened) }

// Satisfaction is the 满意率: orders rated 4–5, of those rated.
func (r Rates) Satisfaction() float64 { return ratio(r.Satisfied, r.Rated) }

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Rates counts the three rates of the picked orders opened in [from, to), by group. An order counts
// as responded when it first entered a Responded state and no state it had left before then was
// left after its due time; as done when its present state is Done; as satisfied when its latest
// rating is 4 or 5 (a reopened order that was rated again counts by the new rating).
func (f *Flow) Rates(ctx context.Context, q db.Querier, from, to time.Time, o Orders) (map[int64]Rates, error) {
	with, join, group, args, arg := o.query()
	var responded, done []string
	for _, s := range f.States {
		if s.Responded {
			responded = append(responded, arg(s.Name))
		}
		if s.Done {
			done = append(done, arg(s.Name))
		}
	}
	in := func(ph []string) string {
		if len(ph) == 0 {
			return "(NULL)"
		}
		return "(" + strings.Join(ph, ", ") + ")"
	}
	if with == "" {
		with = "WITH "
	} else {
		with += ", "
	}
	flowArg, by := arg(f.Name), "s.order_id"
	if group != "0" {
		by += ", " + group
	}
	q2 := with + `o AS (SELECT s.order_id, ` + group + ` AS grp, MIN(s.at) AS opened, MAX(s.id) AS last,
			MIN(CASE WHEN s.to_state IN ` + in(responded) + ` THEN s.id END) AS responded,
			MIN(CASE WHEN s.left_at > s.due_at THEN s.id END) AS first_late,
			MAX(CASE WHEN s.rating IS NOT NULL THEN s.id END) AS rated
		FROM flow_steps s` + join + ` WHERE s.flow = ` + flowArg + ` GROUP BY ` + by + `)
		SELECT o.grp, COUNT(*),
			SUM(CASE WHEN o.responded IS NOT NULL AND (o.first_late IS NULL OR o.first_late > o.responded) THEN 1 ELSE 0 END),
			SUM(CASE WHEN l.to_state IN ` + in(done) + ` THEN 1 ELSE 0 END),
			SUM(CASE WHEN r.rating IS NOT NULL THEN 1 ELSE 0 END),
			SUM(CASE WHEN r.rating >= 4 THEN 1 ELSE 0 END)
		FROM o JOIN flow_steps l ON l.id = o.last LEFT JOIN flow_steps r ON r.id = o.rated
		WHERE o.opened >= ` + arg(from.UTC()) + ` AND o.opened < ` + arg(to.UTC()) + `
		GROUP BY o.grp`
	rows, err := q.QueryContext(ctx, q2, *args...)
	if err != nil {
		return nil, fmt.Errorf("flow: %s rates: %w", f.Name, err)
	}
	defer rows.Close()
	out := map[int64]Rates{}
	for rows.Next() {
		var g int64
		var r Rates
		if err := rows.Scan(&g, &r.Opened, &r.Responded, &r.Done, &r.Rated, &r.Satisfied); err != nil {
			return nil, fmt.Errorf("flow: %s rates: %w", f.Name, err)
		}
		out[g] = r
	}
	return out, rows.Err()
}
