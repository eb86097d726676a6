package school

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/notify"
)

// LessonKind names a lesson's event in the kit's attendance model.
const LessonKind = "school.lesson"

// RuleCode is the rule of the 党员 rule set that attending a lesson is paid under (微党校学习). A
// town without it pays nothing, and the roll says why.
const RuleCode = "lesson"

// LessonView is a lesson as the person who asked may see it: its attendance event and counts;
// for the staff who run it (the branch and the town's school staff), the roll; for an attendee,
// their own entry and rating.
type LessonView struct {
	Lesson
	Event  attend.Event   `json:"event"`
	Counts attend.Counts  `json:"counts"`
	Roll   []attend.Entry `json:"roll,omitempty"`
	Me     *attend.Entry  `json:"me,omitempty"`
	Rating *Rating        `json:"my_rating,omitempty"`
	// Runs says the person runs the roll (点名, the sign-in sheet, ending the check-in); Teaches
	// that they are its expert, who may show the QR.
	Runs    bool `json:"runs_roll"`
	Teaches bool `json:"teaches"`
	// Unpaid counts the check-ins of a closed roll that are still to be paid.
	Unpaid int `json:"unpaid"`
}

// Rating is an attendee's rating of a lesson.
type Rating struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

// CheckinInput is a check-in to a lesson: the attendee's own, with the token of the lesson's QR or
// its check-in link; or staff's, of a person (resident_id) by roll call (method roll) or from the
// sign-in sheet (method sheet).
type CheckinInput struct {
	Token      string `json:"token,omitempty"`
	ResidentID int64  `json:"resident_id,omitempty"`
	Method     string `json:"method,omitempty"`
}

// CheckinResult is a check-in's outcome: the entry, and whether this call checked them in (false:
// they had already, and their first check-in stands).
type CheckinResult struct {
	LessonID int64        `json:"lesson_id"`
	Entry    attend.Entry `json:"entry"`
	Fresh    bool         `json:"fresh"`
}

// RatingInput is an attendee's rating of a lesson: 1–5 and a comment.
type RatingInput struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

// lessonAccess is what a person is to a lesson: the parties of its order, and whether they are on
// its roll.
type lessonAccess struct {
	party  flow.Party
	onRoll bool
}

// runs reports whether the person runs the roll: the branch that ordered it, the town's staff.
func (x lessonAccess) runs() bool { return x.party.Has(flow.Requester | flow.Dispatcher) }

// lessonFor is a lesson for whoever it is something to: a party of its order (partiesTo), or a
// person on its roll. Anyone else gets NotFound, as for a lesson that does not exist.
func (s *Service) lessonFor(ctx context.Context, a *auth.Actor, id int64) (Lesson, lessonAccess, error) {
	var x lessonAccess
	list, err := s.lessons(ctx, `l.id = $1`, id)
	if err != nil {
		return Lesson{}, x, err
	}
	if len(list) == 0 || a == nil || a.AccountID == 0 {
		return Lesson{}, x, notFound
	}
	l := list[0]
	o, err := s.order(ctx, s.DB.Read(), l.OrderID)
	if err != nil {
		return Lesson{}, x, err
	}
	x.party = partiesTo(a, o)
	if self := a.Self(); self != 0 {
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM attend_entries a JOIN attend_events e ON e.id = a.event_id
			WHERE e.kind = $1 AND e.ref_id = $2 AND a.resident_id = $3`, LessonKind, id, self).Scan(&n); err != nil {
			return Lesson{}, x, fmt.Errorf("school: lesson %d: %w", id, err)
		}
		x.onRoll = n > 0
	}
	if x.party == 0 && !x.onRoll {
		return Lesson{}, x, notFound
	}
	return l, x, nil
}

// event is a lesson's attendance event, made (with its roll) when first needed. With enrol, while
// the lesson has not ended and its roll is open, the roll is brought up to date with the branch's
// party members, so that one who joined since the lesson was fixed is on it: the lesson's page
// does it for those who run it; a check-in does not, which would cost a statement per member.
func (s *Service) event(ctx context.Context, q db.Querier, l Lesson, enrol bool) (attend.Event, error) {
	ev, err := s.Attend.EventOf(ctx, q, LessonKind, l.ID)
	if errs.Is(err, errs.NotFound) {
		enrol = true
		ev, err = s.Attend.Ensure(ctx, q, attend.Event{Kind: LessonKind, RefID: l.ID, TownID: l.TownID, VillageID: l.VillageID,
			Title: l.CourseTitle, StartsAt: l.StartsAt, EndsAt: l.EndsAt, Online: l.Mode == "online"})
		if err == nil && l.Status == "cancelled" {
			err = s.Attend.Cancel(ctx, q, LessonKind, l.ID)
			ev.CancelledAt = s.Now()
		}
	}
	if err != nil {
		return ev, err
	}
	if enrol && ev.ClosedAt.IsZero() && ev.CancelledAt.IsZero() && s.Now().Before(ev.EndsAt) {
		if err := s.Attend.Enrol(ctx, q, ev.ID, `r.village_id = $2 AND r.party_member`, l.VillageID); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// LessonView is a lesson with its attendance, for whoever it is something to (lessonFor).
func (s *Service) LessonView(ctx context.Context, a *auth.Actor, id int64) (LessonView, error) {
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return LessonView{}, err
	}
	ev, err := s.event(ctx, s.DB.Write(), l, x.runs())
	if err != nil {
		return LessonView{}, err
	}
	v := LessonView{Lesson: l, Event: ev, Runs: x.runs(), Teaches: x.party.Has(flow.Provider)}
	if !x.runs() {
		v.Link = ""
		if x.onRoll || v.Teaches {
			v.Link = l.Link // the meeting link is for those who attend it and teach it
		}
	}
	counts, err := s.Attend.Counts(ctx, s.DB.Read(), []int64{ev.ID})
	if err != nil {
		return v, err
	}
	v.Counts = counts[ev.ID]
	if v.Runs {
		if v.Roll, err = s.Attend.Roll(ctx, s.DB.Read(), ev.ID); err != nil {
			return v, err
		}
		for _, e := range v.Roll {
			if e.Checked() && e.PartyMember && e.TransactionID == 0 && e.PayNote == "" && !ev.ClosedAt.IsZero() {
				v.Unpaid++
			}
		}
	}
	if x.onRoll {
		me, err := s.Attend.Entry(ctx, s.DB.Read(), ev.ID, a.Self())
		if err != nil {
			return v, err
		}
		v.Me = &me
		var r Rating
		err = s.DB.Read().QueryRowContext(ctx, `SELECT rating, comment FROM school_ratings WHERE lesson_id = $1 AND resident_id = $2`, id, a.Self()).Scan(&r.Rating, &r.Comment)
		if err == nil {
			v.Rating = &r
		} else if !db.IsNoRows(err) {
			return v, fmt.Errorf("school: rating: %w", err)
		}
	}
	return v, nil
}

// QRToken is the token the lesson's QR carries now, for those who show it: the staff who run the
// roll and the expert who teaches.
func (s *Service) QRToken(ctx context.Context, a *auth.Actor, id int64) (string, LessonView, error) {
	v, err := s.LessonView(ctx, a, id)
	if err != nil {
		return "", v, err
	}
	if !v.Runs && !v.Teaches {
		return "", v, errs.New(errs.Forbidden, "error.forbidden")
	}
	if l := v.Lesson; l.Status == "cancelled" {
		return "", v, errs.New(errs.Conflict, "attend.cancelled")
	}
	return s.Attend.QRToken(v.Event.ID, s.Now()), v, nil
}

// CheckinLink is the path of an online lesson's check-in link, for those on its roll and those
// who run it; empty for an offline lesson.
func (s *Service) CheckinLink(v LessonView) string {
	if v.Mode != "online" {
		return ""
	}
	return "/school/checkin?t=" + s.Attend.LinkToken(v.Event.ID)
}

// Checkin checks a person in to a lesson (see CheckinInput). A self check-in is the actor's own
// (the resident they are, or act for at the office), with a token that must name this lesson when
// id is not 0, taken only while the lesson runs; a QR shown more than a period ago is refused, so
// a photo sent home does not count. Staff of the branch or the town check in anyone on the roll,
// or anyone of their villages, who is put on it as invited. Checking in twice keeps the first.
// Points are paid when the roll is closed; a staff check-in after it is paid at once.
func (s *Service) Checkin(ctx context.Context, a *auth.Actor, id int64, in CheckinInput) (CheckinResult, error) {
	in.Token, in.Method = strings.TrimSpace(in.Token), strings.TrimSpace(in.Method)
	if in.Token != "" {
		return s.selfCheckin(ctx, a, id, in.Token)
	}
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return CheckinResult{}, err
	}
	if !x.runs() {
		if x.onRoll {
			return CheckinResult{}, errs.Field("token", "field.required") // an attendee checks in with the QR or the link
		}
		return CheckinResult{}, errs.New(errs.Forbidden, "error.forbidden")
	}
	if in.Method != attend.Roll && in.Method != attend.Sheet {
		return CheckinResult{}, errs.Field("method", "attend.method_invalid")
	}
	if in.ResidentID <= 0 {
		return CheckinResult{}, errs.Field("resident_id", "field.required")
	}
	ev, err := s.event(ctx, s.DB.Write(), l, false)
	if err != nil {
		return CheckinResult{}, err
	}
	if _, err := s.Attend.Entry(ctx, s.DB.Read(), ev.ID, in.ResidentID); errs.Is(err, errs.NotFound) {
		if err := s.mayInvite(ctx, a, l, in.ResidentID); err != nil {
			return CheckinResult{}, err
		}
	} else if err != nil {
		return CheckinResult{}, err
	}
	var res CheckinResult
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		e, fresh, err := s.Attend.Check(ctx, tx, ev, attend.Checkin{ResidentID: in.ResidentID, Method: in.Method, By: a.Name})
		if err != nil {
			return err
		}
		res = CheckinResult{LessonID: l.ID, Entry: e, Fresh: fresh}
		if !fresh {
			return nil
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.lesson.checkin", Entity: "school_lesson", EntityID: l.ID, TownID: l.TownID, VillageID: l.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"name": e.Name, "course": l.CourseTitle, "method": in.Method})})
	})
	if err != nil {
		return CheckinResult{}, err
	}
	if res.Fresh && !ev.ClosedAt.IsZero() {
		if err := s.pay(ctx, a, l, ev); err != nil {
			return res, err
		}
		if res.Entry, err = s.Attend.Entry(ctx, s.DB.Read(), ev.ID, in.ResidentID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// mayInvite checks that staff may put a person on a lesson's roll: a resident of a village of the
// lesson's town within the actor's reach for ordering (the branch's own village) or, for the town's
// school staff, any village of the town. Anyone else is not found, as an unknown person is.
func (s *Service) mayInvite(ctx context.Context, a *auth.Actor, l Lesson, residentID int64) error {
	var villageID, townID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT r.village_id, v.town_id FROM residents r JOIN villages v ON v.id = r.village_id WHERE r.id = $1 AND r.status = 'active'`,
		residentID).Scan(&villageID, &townID)
	if db.IsNoRows(err) || (err == nil && townID != l.TownID) {
		return &errs.Error{Code: errs.NotFound, Key: "school.lesson.person_unknown", Fields: []errs.FieldError{{Field: "resident_id", Key: "school.lesson.person_unknown"}}}
	}
	if err != nil {
		return fmt.Errorf("school: invite: %w", err)
	}
	if roleIn(a, l.TownID) == manager || auth.Can(a, PermOrder, auth.Scope{TownID: townID, VillageID: villageID}) == nil {
		return nil
	}
	return &errs.Error{Code: errs.NotFound, Key: "school.lesson.person_unknown", Fields: []errs.FieldError{{Field: "resident_id", Key: "school.lesson.person_unknown"}}}
}

// Invite puts a person on a lesson's roll as invited (其他参加人员), for the staff who run it.
func (s *Service) Invite(ctx context.Context, a *auth.Actor, id, residentID int64) (attend.Entry, error) {
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return attend.Entry{}, err
	}
	if !x.runs() {
		return attend.Entry{}, errs.New(errs.Forbidden, "error.forbidden")
	}
	if l.Status == "cancelled" {
		return attend.Entry{}, errs.New(errs.Conflict, "attend.cancelled")
	}
	if err := s.mayInvite(ctx, a, l, residentID); err != nil {
		return attend.Entry{}, err
	}
	ev, err := s.event(ctx, s.DB.Write(), l, false)
	if err != nil {
		return attend.Entry{}, err
	}
	if !ev.ClosedAt.IsZero() {
		return attend.Entry{}, errs.New(errs.Conflict, "attend.closed")
	}
	var e attend.Entry
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		added, err := s.Attend.Invite(ctx, tx, ev.ID, residentID)
		if err != nil {
			return err
		}
		if e, err = s.Attend.Entry(ctx, tx, ev.ID, residentID); err != nil || !added {
			return err
		}
		loc, err := s.People.Zone(ctx, l.TownID)
		if err != nil {
			return err
		}
		if err := s.Notify.Tell(ctx, tx, residentID, notify.Outcome{Title: "school.outcome.invited_title", Body: "school.outcome.invited",
			Args: []any{l.VillageName, l.CourseTitle, when(l.StartsAt, l.EndsAt, loc), lessonPlace(l)}, Link: fmt.Sprintf("/school/lessons/%d", l.ID)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.lesson.invite", Entity: "school_lesson", EntityID: l.ID, TownID: l.TownID, VillageID: l.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"name": e.Name, "course": l.CourseTitle})})
	})
	return e, err
}

// lessonPlace is where a lesson is: its place, or 线上 for an online one.
func lessonPlace(l Lesson) string {
	if l.Mode == "online" {
		return "线上"
	}
	return l.Place
}

// selfCheckin is an attendee's own check-in with the lesson's QR or link token.
func (s *Service) selfCheckin(ctx context.Context, a *auth.Actor, id int64, token string) (CheckinResult, error) {
	self := a.Self()
	if self == 0 {
		if a == nil || a.AccountID == 0 {
			return CheckinResult{}, errs.New(errs.Unauthorized, "error.unauthorized")
		}
		return CheckinResult{}, errs.New(errs.Forbidden, "school.lesson.not_a_resident")
	}
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return CheckinResult{}, err
	}
	tok, err := s.Attend.ParseToken(token, s.Now())
	if err != nil {
		return CheckinResult{}, err
	}
	ev, err := s.Attend.Event(ctx, s.DB.Read(), tok.EventID)
	if err != nil || ev.Kind != LessonKind || (id != 0 && ev.RefID != id) {
		return CheckinResult{}, errs.Field("token", "attend.token_invalid")
	}
	l, x, err := s.lessonFor(ctx, a, ev.RefID)
	if err != nil || !x.onRoll {
		return CheckinResult{}, errs.New(errs.Conflict, "attend.not_on_roll")
	}
	var res CheckinResult
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		e, fresh, err := s.Attend.Check(ctx, tx, ev, attend.Checkin{ResidentID: self, Method: tok.Method})
		res = CheckinResult{LessonID: l.ID, Entry: e, Fresh: fresh}
		return err
	})
	return res, err
}

// CloseRoll ends a lesson's check-in (结束签到) once it has started, for the staff who run it, and
// pays its party members who checked in: under the 党员 rule set's RuleCode, once per person per
// lesson (key school:lesson:<id>:resident:<id>), by the acting staff member, who is not paid by
// themself (another of the staff closes again to pay them). Closing a closed roll pays what is
// still unpaid, mending a failure between the two. The first close counts the lesson as taught.
func (s *Service) CloseRoll(ctx context.Context, a *auth.Actor, id int64) (LessonView, error) {
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return LessonView{}, err
	}
	if !x.runs() {
		return LessonView{}, errs.New(errs.Forbidden, "error.forbidden")
	}
	if err := s.closeRoll(ctx, a, l); err != nil {
		return LessonView{}, err
	}
	return s.LessonView(ctx, a, id)
}

func (s *Service) closeRoll(ctx context.Context, a *auth.Actor, l Lesson) error {
	ev, err := s.event(ctx, s.DB.Write(), l, false)
	if err != nil {
		return err
	}
	if ev.ClosedAt.IsZero() {
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			closed, err := s.Attend.Close(ctx, tx, ev, a.Name)
			if err != nil || !closed {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE school_courses SET times_taught = times_taught + 1 WHERE id = $1`, l.CourseID); err != nil {
				return fmt.Errorf("school: taught: %w", err)
			}
			return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.lesson.close", Entity: "school_lesson", EntityID: l.ID, TownID: l.TownID, VillageID: l.VillageID,
				Summary: auth.Summarize(nil, map[string]any{"name": l.CourseTitle, "village": l.VillageName})})
		})
		if err != nil {
			return err
		}
		if ev, err = s.Attend.Event(ctx, s.DB.Read(), ev.ID); err != nil {
			return err
		}
	}
	return s.pay(ctx, a, l, ev)
}

// payKey names the earning of a person's attendance of a lesson.
func payKey(lessonID, residentID int64) string {
	return fmt.Sprintf("school:lesson:%d:resident:%d", lessonID, residentID)
}

// pay pays the checked-in party members of a closed roll not paid yet, through the bank's Earn
// under the actor's own permission to pay for 微党校 (PermRoll), skipping the actor's own entry.
// Each entry keeps the bank's answer; a failure that is no refusal is left for the next close to
// pay under the same key.
func (s *Service) pay(ctx context.Context, a *auth.Actor, l Lesson, ev attend.Event) error {
	if ev.ClosedAt.IsZero() || !ev.CancelledAt.IsZero() || l.Status == "cancelled" {
		return nil
	}
	unpaid, err := s.Attend.Unpaid(ctx, s.DB.Read(), ev.ID, true)
	if err != nil {
		return err
	}
	loc, err := s.People.Zone(ctx, l.TownID)
	if err != nil {
		return err
	}
	var who []attend.Entry
	var earnings []bank.Earning
	for _, e := range unpaid {
		if e.ResidentID == a.Self() || e.ResidentID == a.ResidentID {
			continue
		}
		who = append(who, e)
		earnings = append(earnings, bank.Earning{Key: payKey(l.ID, e.ResidentID), ResidentID: e.ResidentID, RuleCode: RuleCode,
			Reason: trunc(fmt.Sprintf("微党校：%s %s", l.CourseTitle, clock.Day(l.StartsAt.In(loc))), 200)})
	}
	if len(earnings) == 0 {
		return nil
	}
	results, err := s.Bank.Earn(ctx, a, earnings)
	if err != nil {
		return fmt.Errorf("school: pay lesson %d: %w", l.ID, err)
	}
	var failed error
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, res := range results {
			txID, note, retry := res.Answer("school.pay.pending")
			if retry != nil {
				failed = retry
				continue
			}
			if err := s.Attend.Paid(ctx, tx, ev.ID, who[i].ResidentID, txID, note); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && failed != nil {
		err = fmt.Errorf("school: pay lesson %d: %w", l.ID, failed)
	}
	return err
}

// trunc cuts a string to at most n characters.
func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// Rate is an attendee's rating of a lesson they checked in to, once it has started; rating again
// changes it. The course's rating follows.
func (s *Service) Rate(ctx context.Context, a *auth.Actor, id int64, in RatingInput) (Rating, error) {
	in.Comment = strings.TrimSpace(in.Comment)
	var f errs.Fields
	if in.Rating < 1 || in.Rating > 5 {
		f.Add("rating", "flow.rating_invalid")
	}
	f.Text("comment", in.Comment, 200, false)
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return Rating{}, err
	}
	if !x.onRoll {
		return Rating{}, notFound
	}
	if err := f.Err(); err != nil {
		return Rating{}, err
	}
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: a.Self()}); err != nil {
		return Rating{}, err
	}
	ev, err := s.event(ctx, s.DB.Write(), l, false)
	if err != nil {
		return Rating{}, err
	}
	me, err := s.Attend.Entry(ctx, s.DB.Read(), ev.ID, a.Self())
	if err != nil {
		return Rating{}, err
	}
	if !me.Checked() || l.Status == "cancelled" {
		return Rating{}, errs.New(errs.Conflict, "school.rating.not_attended")
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO school_ratings (lesson_id, resident_id, rating, comment, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (lesson_id, resident_id) DO NOTHING`, id, a.Self(), in.Rating, in.Comment, now)
		if err != nil {
			return fmt.Errorf("school: rate: %w", err)
		}
		delta, count := in.Rating, 1
		if n, _ := res.RowsAffected(); n == 0 {
			var old int
			if err := tx.QueryRowContext(ctx, `SELECT rating FROM school_ratings WHERE lesson_id = $1 AND resident_id = $2`, id, a.Self()).Scan(&old); err != nil {
				return fmt.Errorf("school: rate: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE school_ratings SET rating = $1, comment = $2, updated_at = $3 WHERE lesson_id = $4 AND resident_id = $5 AND rating = $6`,
				in.Rating, in.Comment, now, id, a.Self(), old)
			if err != nil {
				return fmt.Errorf("school: rate: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errs.New(errs.Conflict, "school.rating.changed") // changed at the same moment elsewhere: try again
			}
			delta, count = in.Rating-old, 0
		}
		if _, err := tx.ExecContext(ctx, `UPDATE school_courses SET rating_count = rating_count + $1, rating_sum = rating_sum + $2 WHERE id = $3`, count, delta, l.CourseID); err != nil {
			return fmt.Errorf("school: rate: %w", err)
		}
		return nil
	})
	if err != nil {
		return Rating{}, err
	}
	return Rating(in), nil
}

// ---- a resident's lessons

// MyLesson is a lesson on a resident's roll, with their check-in and rating.
type MyLesson struct {
	Lesson
	CheckedInAt time.Time `json:"checked_in_at,omitzero"`
	Rating      int       `json:"rating,omitzero"`
	Points      int64     `json:"points,omitzero"`
	// Now says the lesson is on at the moment the list was made (pages only).
	Now bool `json:"-"`
}

// Mine are the lessons on the roll of the resident the actor is (我的党课), the newest first.
func (s *Service) Mine(ctx context.Context, a *auth.Actor) ([]MyLesson, error) {
	self := a.Self()
	if self == 0 {
		return []MyLesson{}, nil
	}
	if err := auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: self}); err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT e.ref_id, a.checked_in_at, COALESCE(sr.rating, 0), COALESCE(t.amount, 0)
		FROM attend_entries a JOIN attend_events e ON e.id = a.event_id
		LEFT JOIN school_ratings sr ON sr.lesson_id = e.ref_id AND sr.resident_id = a.resident_id
		LEFT JOIN bank_transactions t ON t.id = a.transaction_id
		WHERE a.resident_id = $1 AND e.kind = $2 ORDER BY e.starts_at DESC LIMIT 200`, self, LessonKind)
	if err != nil {
		return nil, fmt.Errorf("school: my lessons: %w", err)
	}
	mine := map[int64]MyLesson{}
	var ids []int64
	for rows.Next() {
		var id int64
		var m MyLesson
		var at sql.NullTime
		if err := rows.Scan(&id, &at, &m.Rating, &m.Points); err != nil {
			rows.Close()
			return nil, fmt.Errorf("school: my lessons: %w", err)
		}
		m.CheckedInAt = at.Time
		mine[id], ids = m, append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []MyLesson{}
	if len(ids) == 0 {
		return out, nil
	}
	p := s.DB.Params()
	list, err := s.lessons(ctx, `l.id IN (`+p.List(ids)+`)`, p.Args...)
	if err != nil {
		return nil, err
	}
	for _, l := range list {
		m := mine[l.ID]
		m.Lesson = l
		out = append(out, m)
	}
	return out, nil
}

// rollLesson makes the roll of the lesson an order just became, in its transaction, and tells
// each on it when and where it is.
func (s *Service) rollLesson(ctx context.Context, tx *sql.Tx, orderID int64, loc *time.Location) error {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM school_lessons WHERE order_id = $1`, orderID).Scan(&id); err != nil {
		return fmt.Errorf("school: roll: %w", err)
	}
	list, err := s.lessonsIn(ctx, tx, `l.id = $1`, id)
	if err != nil || len(list) == 0 {
		return cmpErr(err, notFound)
	}
	l := list[0]
	ev, err := s.event(ctx, tx, l, true)
	if err != nil {
		return err
	}
	roll, err := s.Attend.Roll(ctx, tx, ev.ID)
	if err != nil {
		return err
	}
	out := notify.Outcome{Title: "school.outcome.lesson_title", Body: "school.outcome.lesson",
		Args: []any{l.VillageName, l.CourseTitle, when(l.StartsAt, l.EndsAt, loc), lessonPlace(l), l.ExpertName}, Link: fmt.Sprintf("/school/lessons/%d", l.ID)}
	if l.Mode == "online" {
		out.Body, out.Args = "school.outcome.lesson_online", []any{l.VillageName, l.CourseTitle, when(l.StartsAt, l.EndsAt, loc), l.ExpertName}
	}
	for _, e := range roll {
		if err := s.Notify.Tell(ctx, tx, e.ResidentID, out); err != nil {
			return err
		}
	}
	return nil
}

// cancelLesson cancels the lesson of an accepted order, in the cancellation's transaction: its
// roll takes no more check-ins and pays nothing, and each on it is told. A lesson whose roll was
// closed is refused: its attendance may have been paid.
func (s *Service) cancelLesson(ctx context.Context, tx *sql.Tx, o Order, reason string, loc *time.Location) error {
	list, err := s.lessonsIn(ctx, tx, `l.order_id = $1`, o.ID)
	if err != nil || len(list) == 0 {
		return err
	}
	l := list[0]
	ev, err := s.event(ctx, tx, l, false)
	if err != nil {
		return err
	}
	if !ev.ClosedAt.IsZero() {
		return errs.New(errs.Conflict, "school.lesson.closed_cannot_cancel")
	}
	if err := s.Attend.Cancel(ctx, tx, LessonKind, l.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE school_lessons SET status = 'cancelled', cancel_reason = $1 WHERE id = $2 AND status = 'scheduled'`, reason, l.ID); err != nil {
		return fmt.Errorf("school: cancel lesson: %w", err)
	}
	roll, err := s.Attend.Roll(ctx, tx, ev.ID)
	if err != nil {
		return err
	}
	for _, e := range roll {
		if err := s.Notify.Tell(ctx, tx, e.ResidentID, notify.Outcome{Title: "school.outcome.lesson_cancelled_title", Body: "school.outcome.lesson_cancelled",
			Args: []any{l.CourseTitle, when(l.StartsAt, l.EndsAt, loc), reason}, Link: fmt.Sprintf("/school/lessons/%d", l.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// closeLessonOf closes the roll of an order's lesson and pays it, as the branch's 评单 does.
func (s *Service) closeLessonOf(ctx context.Context, a *auth.Actor, orderID int64) error {
	list, err := s.lessons(ctx, `l.order_id = $1`, orderID)
	if err != nil || len(list) == 0 {
		return err
	}
	return s.closeRoll(ctx, a, list[0])
}

// maxApplied is how many lines of 学后转化 a branch records, each of at most appliedRunes.
const (
	maxApplied   = 3
	appliedRunes = 100
)

// checkApplied trims the lines of 学后转化, drops the empty ones, and refuses more than three or a
// line too long, naming the field.
func checkApplied(in []string) ([]string, error) {
	var out []string
	var f errs.Fields
	for _, line := range in {
		line = strings.TrimSpace(strings.ReplaceAll(line, "\n", " "))
		if line == "" {
			continue
		}
		f.Text("applied", line, appliedRunes, false)
		out = append(out, line)
	}
	if len(out) > maxApplied {
		f.Add("applied", "school.order.applied_too_many")
	}
	return out, f.Err()
}

// SheetTicks types back the ticks of a lesson's printed sign-in sheet: each person ticked is
// checked in by the sheet, as a roll call would; those already checked in keep their first
// check-in. It answers how many were checked in by it. The ticks are all or nothing.
func (s *Service) SheetTicks(ctx context.Context, a *auth.Actor, id int64, residentIDs []int64) (int, error) {
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return 0, err
	}
	if !x.runs() {
		return 0, errs.New(errs.Forbidden, "error.forbidden")
	}
	if len(residentIDs) == 0 {
		return 0, errs.Field("resident_ids", "school.lesson.sheet_empty")
	}
	ev, err := s.event(ctx, s.DB.Write(), l, false)
	if err != nil {
		return 0, err
	}
	roll, err := s.Attend.Roll(ctx, s.DB.Read(), ev.ID)
	if err != nil {
		return 0, err
	}
	on := map[int64]string{}
	for _, e := range roll {
		on[e.ResidentID] = e.Name
	}
	if len(residentIDs) > len(on) {
		return 0, errs.Field("resident_ids", "school.lesson.person_unknown")
	}
	for _, rid := range residentIDs {
		if _, ok := on[rid]; !ok {
			return 0, errs.Field("resident_ids", "school.lesson.person_unknown") // only those on the printed roll can be ticked
		}
	}
	n := 0
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		fresh, err := s.Attend.CheckMany(ctx, tx, ev, residentIDs, attend.Sheet, a.Name)
		if err != nil {
			return err
		}
		n = len(fresh)
		if n == 0 {
			return nil
		}
		names := make([]string, len(fresh))
		for i, rid := range fresh {
			names[i] = on[rid]
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.lesson.sheet", Entity: "school_lesson", EntityID: l.ID, TownID: l.TownID, VillageID: l.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"course": l.CourseTitle, "names": trunc(strings.Join(names, "、"), 400)})})
	})
	if err != nil {
		return 0, err
	}
	if n > 0 && !ev.ClosedAt.IsZero() {
		return n, s.pay(ctx, a, l, ev)
	}
	return n, nil
}

// Invitee is a resident staff may invite to a lesson.
type Invitee struct {
	ResidentID  int64  `json:"resident_id"`
	Name        string `json:"name"`
	VillageName string `json:"village_name"`
	PartyMember bool   `json:"party_member"`
	Phone       string `json:"phone"` // masked
}

// maxInvitees bounds a search for people to invite.
const maxInvitees = 20

// FindInvitees finds residents the staff who run a lesson may put on its roll, not on it yet, by a
// part of their name or the start of their phone number.
func (s *Service) FindInvitees(ctx context.Context, a *auth.Actor, id int64, q string) ([]Invitee, error) {
	l, x, err := s.lessonFor(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !x.runs() {
		return nil, errs.New(errs.Forbidden, "error.forbidden")
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return []Invitee{}, nil
	}
	q = trunc(q, 20)
	p := s.DB.Params()
	where := []string{`v.town_id = ` + p.Add(l.TownID), `r.status = 'active'`}
	if roleIn(a, l.TownID) != manager {
		all, ids := auth.Visible(a, PermOrder, l.TownID)
		if !all {
			if len(ids) == 0 {
				return []Invitee{}, nil
			}
			where = append(where, `r.village_id IN (`+p.List(ids)+`)`)
		}
	}
	if strings.Trim(q, "0123456789") == "" {
		where = append(where, `r.phone LIKE `+p.Add(q+"%"))
	} else {
		where = append(where, `r.name LIKE `+p.Add("%"+strings.NewReplacer("%", "", "_", "").Replace(q)+"%"))
	}
	ev, err := s.event(ctx, s.DB.Write(), l, false)
	if err != nil {
		return nil, err
	}
	where = append(where, `NOT EXISTS (SELECT 1 FROM attend_entries a WHERE a.event_id = `+p.Add(ev.ID)+` AND a.resident_id = r.id)`)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT r.id, r.name, v.name, r.party_member, r.phone FROM residents r JOIN villages v ON v.id = r.village_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY v.name, r.name, r.id LIMIT `+p.Add(maxInvitees), p.Args...)
	if err != nil {
		return nil, fmt.Errorf("school: invitees: %w", err)
	}
	defer rows.Close()
	out := []Invitee{}
	for rows.Next() {
		var i Invitee
		if err := rows.Scan(&i.ResidentID, &i.Name, &i.VillageName, &i.PartyMember, &i.Phone); err != nil {
			return nil, fmt.Errorf("school: invitees: %w", err)
		}
		if len(i.Phone) == 11 {
			i.Phone = i.Phone[:3] + "****" + i.Phone[7:]
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Applied is what a branch's 两委 took from a lesson of a course (学后转化), as the course's page
// lists it.
type Applied struct {
	VillageName string    `json:"village_name"`
	StartsAt    time.Time `json:"starts_at"`
	Lines       []string  `json:"lines"`
}

// maxAppliedShown bounds the lessons whose 学后转化 a course's page lists, the newest first.
const maxAppliedShown = 20

// AppliedOf lists the 学后转化 the branches recorded for lessons of a course the actor may read.
func (s *Service) AppliedOf(ctx context.Context, a *auth.Actor, courseID int64) ([]Applied, error) {
	c, err := s.Course(ctx, a, courseID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT v.name, l.starts_at, l.applied FROM school_lessons l JOIN villages v ON v.id = l.village_id
		WHERE l.course_id = $1 AND l.applied <> '' ORDER BY l.starts_at DESC, l.id LIMIT $2`, c.ID, maxAppliedShown)
	if err != nil {
		return nil, fmt.Errorf("school: applied: %w", err)
	}
	defer rows.Close()
	out := []Applied{}
	for rows.Next() {
		var ap Applied
		var lines string
		if err := rows.Scan(&ap.VillageName, &ap.StartsAt, &lines); err != nil {
			return nil, fmt.Errorf("school: applied: %w", err)
		}
		ap.Lines = strings.Split(lines, "\n")
		out = append(out, ap)
	}
	return out, rows.Err()
}

// TokenLesson is the lesson a check-in token names, for the person on its roll about to check in
// with it: the page says which lesson before they confirm. The refusals are those Checkin gives.
func (s *Service) TokenLesson(ctx context.Context, a *auth.Actor, token string) (Lesson, error) {
	tok, err := s.Attend.ParseToken(strings.TrimSpace(token), s.Now())
	if err != nil {
		return Lesson{}, err
	}
	ev, err := s.Attend.Event(ctx, s.DB.Read(), tok.EventID)
	if err != nil || ev.Kind != LessonKind {
		return Lesson{}, errs.Field("token", "attend.token_invalid")
	}
	l, x, err := s.lessonFor(ctx, a, ev.RefID)
	if err != nil || !x.onRoll {
		return Lesson{}, errs.New(errs.Conflict, "attend.not_on_roll")
	}
	return l, nil
}
