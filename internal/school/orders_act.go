package school

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/notify"
)

// Act moves an order on by OrderFlow (see OrderAction): the town assigns an expert and fixes the
// time, the expert accepts (the order becomes a lesson) or declines (it returns to the town), the
// branch or the town cancels (a lesson fixed for it is cancelled too). Every step is kept in the
// timeline with who took it and why, and told to whom it concerns, in one transaction.
func (s *Service) Act(ctx context.Context, a *auth.Actor, id int64, in OrderAction) (Order, error) {
	in.Action, in.Reason, in.Link = strings.TrimSpace(in.Action), strings.TrimSpace(in.Reason), strings.TrimSpace(in.Link)
	in.Date, in.Start = strings.TrimSpace(in.Date), strings.TrimSpace(in.Start)
	o, p, err := s.orderFor(ctx, a, id)
	if err != nil {
		return Order{}, err
	}
	var f errs.Fields
	f.Text("reason", in.Reason, 200, false)
	if err := f.Err(); err != nil {
		return Order{}, err
	}
	if in.Action == "assign" && o.Status == OrderAssigned && !in.Reassign && p.Has(flow.Dispatcher) {
		return Order{}, errs.New(errs.Conflict, OrderFlow.Keys.NotNow) // assigned by someone else meanwhile
	}
	fo := flow.Order{ID: o.ID, State: o.Status, Parties: p}
	act, err := OrderFlow.Check(fo, in.Action, in.Reason, in.Rating)
	if err != nil {
		return Order{}, err
	}
	loc, err := s.People.Zone(ctx, o.TownID)
	if err != nil {
		return Order{}, err
	}
	now := s.Now()
	var replaced int64
	st := flow.Step{Action: act.Name, By: a, Reason: in.Reason, Rating: in.Rating, At: now,
		Audit: &auth.AuditEntry{TownID: o.TownID, VillageID: o.VillageID, Summary: auth.Summarize(nil, map[string]any{"name": o.CourseTitle, "village": o.VillageName})}}
	switch act.Name {
	case "assign":
		e, start, end, err := s.checkAssign(ctx, o, in, loc)
		if err != nil {
			return Order{}, err
		}
		if o.Status == OrderAssigned {
			replaced = o.expertAccount // taken back from the expert who has not answered
		}
		o.ExpertID, o.ExpertName, o.expertAccount, o.StartsAt, o.EndsAt = e.ID, e.Name, e.AccountID, start, end
		st.Set, st.Args = `expert_id = $1, starts_at = $2, ends_at = $3, reason = '', updated_at = $4`, []any{e.ID, start.UTC(), end.UTC(), now}
		st.Due = clock.AddWorkdays(now, AnswerWorkdays, loc)
		st.Audit.Summary = auth.Summarize(nil, map[string]any{"name": o.CourseTitle, "village": o.VillageName, "expert": e.Name})
	case "accept":
		if !o.StartsAt.After(now) {
			return Order{}, errs.New(errs.Conflict, "school.order.lesson_past")
		}
		if o.Mode == "online" {
			var f errs.Fields
			if in.Link == "" {
				f.Add("link", "school.order.link_required")
			} else if checkLink(&f, in.Link); len(f) > 0 {
				f = errs.Fields{{Field: "link", Key: "school.link_invalid"}}
			}
			if err := f.Err(); err != nil {
				return Order{}, err
			}
		}
		st.Set, st.Args = `updated_at = $1`, []any{now}
	case "decline":
		st.Set, st.Args = `expert_id = NULL, starts_at = NULL, ends_at = NULL, reason = $1, updated_at = $2`, []any{in.Reason, now}
		st.Due = clock.AddWorkdays(now, AssignWorkdays, loc) // back with the town, which has its working days again
	case "cancel":
		st.Set, st.Args = `reason = $1, updated_at = $2`, []any{in.Reason, now}
	case "rate":
		if now.Before(o.EndsAt) {
			return Order{}, errs.New(errs.Conflict, "school.order.rate_too_early")
		}
		applied, err := checkApplied(in.Applied)
		if err != nil {
			return Order{}, err
		}
		in.Applied = applied
		st.Set, st.Args = `updated_at = $1`, []any{now}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if act.Name == "accept" {
			// Checked again as it is fixed: another order of the expert's may have become a lesson
			// at this time since the assignment.
			if err := s.checkFree(ctx, tx, o.ExpertID, o.ExpertName, o.StartsAt, o.EndsAt, loc); err != nil {
				return err
			}
		}
		if _, err := OrderFlow.Move(ctx, tx, fo, st); err != nil {
			return err
		}
		switch act.Name {
		case "accept":
			if _, err := tx.ExecContext(ctx, `INSERT INTO school_lessons (order_id, town_id, village_id, course_id, expert_id, starts_at, ends_at, mode, place, link, status, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'scheduled', $11)`, o.ID, o.TownID, o.VillageID, o.CourseID, o.ExpertID, o.StartsAt.UTC(), o.EndsAt.UTC(),
				o.Mode, o.Place, in.Link, now); err != nil {
				return fmt.Errorf("school: lesson: %w", err)
			}
			// The lesson's roll is made as it is fixed, and each on it is told.
			if err := s.rollLesson(ctx, tx, o.ID, loc); err != nil {
				return err
			}
		case "cancel":
			if o.Status == OrderAccepted {
				if err := s.cancelLesson(ctx, tx, o, in.Reason, loc); err != nil {
					return err
				}
			}
		case "rate":
			if _, err := tx.ExecContext(ctx, `UPDATE school_lessons SET branch_rating = $1, branch_comment = $2, applied = $3 WHERE order_id = $4`,
				in.Rating, in.Reason, strings.Join(in.Applied, "\n"), o.ID); err != nil {
				return fmt.Errorf("school: rate lesson: %w", err)
			}
		}
		if replaced != 0 && replaced != o.expertAccount {
			if err := s.tellAccount(ctx, tx, replaced, notify.Outcome{Title: "school.outcome.taken_back_title", Body: "school.outcome.taken_back",
				Args: []any{o.VillageName, o.CourseTitle}, Link: "/admin/school/orders"}); err != nil {
				return err
			}
		}
		return s.tellOrder(ctx, tx, a, o, act.Name, in.Reason, loc, st.Due)
	})
	if err != nil {
		return Order{}, err
	}
	if act.Name == "rate" {
		// 评单 ends the lesson's check-in, if the branch had not, and pays those who attended.
		if err := s.closeLessonOf(ctx, a, o.ID); err != nil {
			return Order{}, err
		}
	}
	// The order as it now stands, with what the person may still do: an expert who declined it is
	// no longer its party, and sees it this once, with nothing left to do.
	if o, err = s.order(ctx, s.DB.Read(), id); err != nil {
		return Order{}, err
	}
	list := []Order{o}
	if err := s.markDue(ctx, list); err != nil {
		return Order{}, err
	}
	o = list[0]
	if o.Events, err = OrderFlow.Timeline(ctx, s.DB.Read(), id); err != nil {
		return Order{}, err
	}
	o.Actions = OrderFlow.Allowed(o.Status, partiesTo(a, o))
	return o, nil
}

// DeclinedBy is an order the actor declined as its expert, for the page they land on after it to
// name what they declined; NotFound for any other.
func (s *Service) DeclinedBy(ctx context.Context, a *auth.Actor, id int64) (Order, error) {
	if a == nil || a.AccountID == 0 {
		return Order{}, notFound
	}
	var n int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM flow_steps WHERE flow = $1 AND order_id = $2 AND action = 'decline' AND actor_id = $3`,
		OrderFlow.Name, id, a.AccountID).Scan(&n); err != nil {
		return Order{}, fmt.Errorf("school: declined: %w", err)
	}
	if n == 0 {
		return Order{}, notFound
	}
	return s.order(ctx, s.DB.Read(), id)
}

// checkAssign checks an assignment: an expert of the pool who teaches the course, a start on one
// of the preferred days and still to come, within the expert's stated availability (Covers) and
// clear of the expert's other lessons. The lesson lasts the course's length.
func (s *Service) checkAssign(ctx context.Context, o Order, in OrderAction, loc *time.Location) (Expert, time.Time, time.Time, error) {
	var f errs.Fields
	var e Expert
	choices, err := s.experts(ctx, s.DB.Read(), `e.retired_at IS NULL AND e.id IN (SELECT expert_id FROM school_course_experts WHERE course_id = $1)`, o.CourseID)
	if err != nil {
		return e, time.Time{}, time.Time{}, err
	}
	if i := slices.IndexFunc(choices, func(x Expert) bool { return x.ID == in.ExpertID }); i >= 0 {
		e = choices[i]
	} else if in.ExpertID == 0 {
		f.Add("expert_id", "field.required")
	} else {
		f.Add("expert_id", "school.order.expert_not_teacher", o.CourseTitle)
	}
	var start time.Time
	if !slices.Contains(o.Dates, in.Date) {
		f.Add("date", "school.order.date_not_preferred")
	} else if m, ok := minuteOfDay(in.Start); !ok {
		f.Add("start", "school.time_invalid")
	} else {
		day, _ := clock.ParseDay(in.Date, loc)
		start = day.Add(time.Duration(m) * time.Minute)
		if !start.After(s.Now()) {
			f.Add("date", "school.order.date_past")
		}
	}
	if err := f.Err(); err != nil {
		return e, start, time.Time{}, err
	}
	end := start.Add(time.Duration(o.Minutes) * time.Minute)
	if !Covers(e.Availability, start, end, loc) {
		return e, start, end, errs.Field("expert_id", "school.order.expert_unavailable", e.Name, clock.Day(start.In(loc)), hours(start, end, loc))
	}
	if err := s.checkFree(ctx, s.DB.Read(), e.ID, e.Name, start, end, loc); err != nil {
		return e, start, end, err
	}
	return e, start, end, s.checkPending(ctx, o.ID, e, start, end, loc)
}

// checkPending refuses, by name, a time at which the expert has another order assigned and not yet
// answered: were both accepted they would clash, so the second is refused now rather than when the
// expert answers.
func (s *Service) checkPending(ctx context.Context, orderID int64, e Expert, start, end time.Time, loc *time.Location) error {
	var title, village string
	var ps, pe time.Time
	err := s.DB.Read().QueryRowContext(ctx, `SELECT c.title, v.name, o.starts_at, o.ends_at FROM school_orders o JOIN school_courses c ON c.id = o.course_id
		JOIN villages v ON v.id = o.village_id WHERE o.expert_id = $1 AND o.status = $2 AND o.id <> $3 AND o.starts_at < $4 AND o.ends_at > $5
		ORDER BY o.starts_at LIMIT 1`, e.ID, OrderAssigned, orderID, end.UTC(), start.UTC()).Scan(&title, &village, &ps, &pe)
	if db.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("school: expert's assignments: %w", err)
	}
	args := []any{e.Name, title, village, hours(ps, pe, loc)}
	return &errs.Error{Code: errs.Conflict, Key: "school.order.expert_pending", Args: args, Fields: []errs.FieldError{{Field: "expert_id", Key: "school.order.expert_pending", Args: args}}}
}

// checkFree refuses, by name, a time at which the expert has another lesson.
func (s *Service) checkFree(ctx context.Context, q db.Querier, expertID int64, name string, start, end time.Time, loc *time.Location) error {
	var title, village string
	var ls, le time.Time
	err := q.QueryRowContext(ctx, `SELECT c.title, v.name, l.starts_at, l.ends_at FROM school_lessons l JOIN school_courses c ON c.id = l.course_id
		JOIN villages v ON v.id = l.village_id WHERE l.expert_id = $1 AND l.status = 'scheduled' AND l.starts_at < $2 AND l.ends_at > $3
		ORDER BY l.starts_at LIMIT 1`, expertID, end.UTC(), start.UTC()).Scan(&title, &village, &ls, &le)
	if db.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("school: expert's lessons: %w", err)
	}
	args := []any{name, title, village, hours(ls, le, loc)}
	return &errs.Error{Code: errs.Conflict, Key: "school.order.expert_busy", Args: args, Fields: []errs.FieldError{{Field: "expert_id", Key: "school.order.expert_busy", Args: args}}}
}

// hours writes the hours of a lesson in the town's zone: 9:00–11:00.
func hours(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	return fmt.Sprintf("%d:%02d–%d:%02d", s.Hour(), s.Minute(), e.Hour(), e.Minute())
}

// when writes a lesson's day and hours in the town's zone: 2026-12-10 9:00–11:00.
func when(start, end time.Time, loc *time.Location) string {
	return clock.Day(start.In(loc)) + " " + hours(start, end, loc)
}

// tellOrder tells an order's outcome to whom it concerns: the branch's staff member who ordered it
// when the town assigns it, the expert accepts or declines it, or someone else cancels it; the
// expert when it is assigned to them or cancelled after. Messages go to residents: a login with no
// resident record has no inbox, and is told nothing (see notify.Tell).
func (s *Service) tellOrder(ctx context.Context, tx *sql.Tx, a *auth.Actor, o Order, action, reason string, loc *time.Location, due time.Time) error {
	link := fmt.Sprintf("/school/orders/%d", o.ID)
	span := when(o.StartsAt, o.EndsAt, loc)
	switch action {
	case "assign":
		if err := s.tellAccount(ctx, tx, o.orderedBy, notify.Outcome{Title: "school.outcome.assigned_title", Body: "school.outcome.assigned",
			Args: []any{o.CourseTitle, o.ExpertName, span}, Link: link}); err != nil {
			return err
		}
		return s.tellAccount(ctx, tx, o.expertAccount, notify.Outcome{Title: "school.outcome.order_title", Body: "school.outcome.order",
			Args: []any{o.VillageName, o.CourseTitle, span, clock.Minute(due, loc)}, Link: link})
	case "accept":
		out := notify.Outcome{Title: "school.outcome.accepted_title", Body: "school.outcome.accepted", Args: []any{o.ExpertName, o.CourseTitle, span, o.Place}, Link: link}
		if o.Mode == "online" {
			out.Body, out.Args = "school.outcome.accepted_online", out.Args[:3]
		}
		return s.tellAccount(ctx, tx, o.orderedBy, out)
	case "decline":
		return s.tellAccount(ctx, tx, o.orderedBy, notify.Outcome{Title: "school.outcome.declined_title", Body: "school.outcome.declined",
			Args: []any{o.ExpertName, o.CourseTitle, reason}, Link: link})
	case "cancel":
		out := notify.Outcome{Title: "school.outcome.cancelled_title", Body: "school.outcome.cancelled", Args: []any{o.CourseTitle, o.VillageName, a.Name, reason}, Link: link}
		if o.orderedBy != a.AccountID {
			if err := s.tellAccount(ctx, tx, o.orderedBy, out); err != nil {
				return err
			}
		}
		if o.expertAccount != 0 && o.expertAccount != a.AccountID && o.Status != OrderOrdered {
			return s.tellAccount(ctx, tx, o.expertAccount, out)
		}
	}
	return nil
}

// tellAccount tells an outcome to the resident a login is, if it is one.
func (s *Service) tellAccount(ctx context.Context, tx *sql.Tx, accountID int64, o notify.Outcome) error {
	if accountID == 0 {
		return nil
	}
	var resident sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE id = $1`, accountID).Scan(&resident)
	if db.IsNoRows(err) || (err == nil && !resident.Valid) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("school: tell: %w", err)
	}
	return s.Notify.Tell(ctx, tx, resident.Int64, o)
}
