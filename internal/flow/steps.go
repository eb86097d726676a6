package flow

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Step is one move of an order, as the pillar asks for it.
type Step struct {
	Action string
	By     *auth.Actor
	Reason string
	Rating int // for an action that carries a rating
	// At is when it happens, by the pillar's clock; zero is now.
	At time.Time
	// Due is when the order must leave the state it enters; zero takes the state's Deadline
	// (none when the state has none).
	Due time.Time
	// Set and Args are more columns the pillar's row takes with the new status, as
	// "team_id = $1, volunteer_id = NULL" with $1… numbered from 1.
	Set  string
	Args []any
	// Audit, when not nil, is written to the audit log in the same transaction; the kit fills its
	// action (flow name and action), entity (the flow's name with _ for .), id and, when empty,
	// its summary (the reason).
	Audit *auth.AuditEntry
}

func (s *Step) fill(f *Flow, to string) {
	if s.At.IsZero() {
		s.At = db.Now()
	}
	if st, _ := f.State(to); s.Due.IsZero() && st.Deadline > 0 {
		s.Due = s.At.Add(st.Deadline)
	}
}

// Open records that an order was opened in the flow's start state, in the transaction that
// created the pillar's row. Only By, At, Due and Audit of the step are read.
func (f *Flow) Open(ctx context.Context, tx *sql.Tx, id int64, s Step) error {
	s.Action = "open"
	s.fill(f, f.Start)
	if err := f.insert(ctx, tx, id, "", f.Start, s); err != nil {
		return err
	}
	return f.audit(ctx, tx, id, s)
}

// Move takes an action on an order, in the caller's transaction: it checks it (see Check), then
// sets the pillar's row to the action's state only if it is still in the state the caller read
// (compare-and-set: when another step got there first, nothing changes and the refusal is the
// flow's NotNow, 409), closes the order's stay in that state, adds the step to the timeline and
// writes the audit row. It returns the action taken.
func (f *Flow) Move(ctx context.Context, tx *sql.Tx, o Order, s Step) (Action, error) {
	a, err := f.Check(o, s.Action, s.Reason, s.Rating)
	if err != nil {
		return a, err
	}
	s.fill(f, a.To)
	set := s.Set
	if set != "" {
		set += ", "
	}
	n := len(s.Args)
	q := fmt.Sprintf(`UPDATE %s SET %sstatus = $%d WHERE id = $%d AND status = $%d`, f.Table, set, n+1, n+2, n+3)
	res, err := tx.ExecContext(ctx, q, append(s.Args[:n:n], a.To, o.ID, o.State)...)
	if err != nil {
		return a, fmt.Errorf("flow: %s %s: %w", f.Name, a.Name, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return a, fmt.Errorf("flow: %s %s: %w", f.Name, a.Name, err)
	} else if k != 1 {
		return a, errs.New(errs.Conflict, f.Keys.NotNow)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE flow_steps SET left_at = $1 WHERE flow = $2 AND order_id = $3 AND left_at IS NULL`, s.At, f.Name, o.ID); err != nil {
		return a, fmt.Errorf("flow: %s %s: %w", f.Name, a.Name, err)
	}
	if err := f.insert(ctx, tx, o.ID, o.State, a.To, s); err != nil {
		return a, err
	}
	return a, f.audit(ctx, tx, o.ID, s)
}

func (f *Flow) insert(ctx context.Context, tx *sql.Tx, id int64, from, to string, s Step) error {
	var actor any
	name := ""
	if s.By != nil {
		actor, name = s.By.AccountID, s.By.Name
	}
	var rating, due any
	if s.Rating > 0 {
		rating = s.Rating
	}
	if !s.Due.IsZero() {
		due = s.Due.UTC()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO flow_steps (flow, order_id, from_state, to_state, action, actor_id, actor_name, reason, rating, at, due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, f.Name, id, from, to, s.Action, actor, name, s.Reason, rating, s.At.UTC(), due)
	if err != nil {
		return fmt.Errorf("flow: %s %s: timeline: %w", f.Name, s.Action, err)
	}
	return nil
}

func (f *Flow) audit(ctx context.Context, tx *sql.Tx, id int64, s Step) error {
	if s.Audit == nil {
		return nil
	}
	e := *s.Audit
	e.Action, e.EntityID = f.Name+"."+s.Action, id
	if e.Entity == "" {
		e.Entity = strings.ReplaceAll(f.Name, ".", "_")
	}
	if e.Summary == "" {
		e.Summary = s.Reason
	}
	return auth.Audit(ctx, tx, s.By, e)
}

// Event is a step of an order's timeline.
type Event struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Action    string    `json:"action"`
	ActorID   int64     `json:"actor_id,omitzero"`
	ActorName string    `json:"actor_name"`
	Reason    string    `json:"reason"`
	Rating    int       `json:"rating,omitzero"`
	At        time.Time `json:"at"`
	Due       time.Time `json:"due,omitzero"`
	Left      time.Time `json:"left,omitzero"`
}

// Late reports whether the order stayed in the step's state past its due time: it left late, or
// it is still there at now.
func (e Event) Late(now time.Time) bool {
	if e.Due.IsZero() {
		return false
	}
	if e.Left.IsZero() {
		return now.After(e.Due)
	}
	return e.Left.After(e.Due)
}

// Timeline is an order's steps, oldest first.
func (f *Flow) Timeline(ctx context.Context, q db.Querier, id int64) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT from_state, to_state, action, COALESCE(actor_id, 0), actor_name, reason, COALESCE(rating, 0), at, due_at, left_at
		FROM flow_steps WHERE flow = $1 AND order_id = $2 ORDER BY id`, f.Name, id)
	if err != nil {
		return nil, fmt.Errorf("flow: %s timeline: %w", f.Name, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var due, left sql.Null[time.Time]
		if err := rows.Scan(&e.From, &e.To, &e.Action, &e.ActorID, &e.ActorName, &e.Reason, &e.Rating, &e.At, &due, &left); err != nil {
			return nil, fmt.Errorf("flow: %s timeline: %w", f.Name, err)
		}
		e.Due, e.Left = due.V, left.V
		out = append(out, e)
	}
	return out, rows.Err()
}
