package volunteer

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// Shift is a 班次 of a post: a time span in the town's zone and its places.
type Shift struct {
	ID          int64     `json:"id"`
	PostID      int64     `json:"post_id"`
	PostTitle   string    `json:"post_title"`
	Place       string    `json:"place"`
	TownID      int64     `json:"town_id"`
	VillageID   int64     `json:"village_id"`
	Day         string    `json:"day"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Capacity    int       `json:"capacity"`
	Taken       int       `json:"taken"`
	Waiting     int       `json:"waiting"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	CompletedBy string    `json:"completed_by,omitempty"`
	Signups     []Signup  `json:"signups,omitempty"`
	// Mine is the caller's own sign-up on the shift, when they have one.
	Mine *Signup `json:"mine,omitempty"`

	// loc is the town's zone, in which the shift's hours are shown.
	loc *time.Location
}

// The statuses of a sign-up.
const (
	Confirmed = "confirmed" // holds a place
	Waiting   = "waiting"   // in line for a place
	Cancelled = "cancelled"
	Attended  = "attended" // served, hours recorded, confirmed by a leader
	NoShow    = "no_show"  // held a place and did not come
)

// Signup is a 报名 on a shift, with its attendance and, once confirmed, its points.
type Signup struct {
	ID              int64     `json:"id"`
	ShiftID         int64     `json:"shift_id"`
	VolunteerID     int64     `json:"volunteer_id"`
	VolunteerNumber string    `json:"volunteer_number"`
	ResidentID      int64     `json:"resident_id"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	Position        int       `json:"position,omitempty"` // place in the waiting line, from 1
	ScannedInAt     time.Time `json:"scanned_in_at,omitzero"`
	ScannedOutAt    time.Time `json:"scanned_out_at,omitzero"`
	CheckedInAt     time.Time `json:"checked_in_at,omitzero"`
	CheckedOutAt    time.Time `json:"checked_out_at,omitzero"`
	CheckedInBy     string    `json:"checked_in_by,omitempty"`
	CheckedOutBy    string    `json:"checked_out_by,omitempty"`
	Minutes         int       `json:"minutes"`
	ConfirmedBy     string    `json:"confirmed_by,omitempty"`
	TransactionID   int64     `json:"transaction_id,omitzero"`
	AwardError      string    `json:"award_error,omitempty"`
	Replayed        bool      `json:"replayed,omitempty"`

	// loc is the town's zone, in which the times are shown.
	loc *time.Location
}

const shiftCols = `sh.id, sh.post_id, p.title, p.place, sh.town_id, sh.village_id, sh.day, sh.starts_at, sh.ends_at, sh.capacity, sh.taken, sh.waiting, sh.completed_at, sh.completed_by_name, tw.timezone`

const shiftFrom = ` FROM volunteer_shifts sh JOIN volunteer_posts p ON p.id = sh.post_id JOIN towns tw ON tw.id = sh.town_id `

func scanShift(sc interface{ Scan(...any) error }) (Shift, error) {
	var sh Shift
	var done sql.Null[time.Time]
	var zone string
	err := sc.Scan(&sh.ID, &sh.PostID, &sh.PostTitle, &sh.Place, &sh.TownID, &sh.VillageID, &sh.Day, &sh.StartsAt, &sh.EndsAt, &sh.Capacity, &sh.Taken, &sh.Waiting, &done, &sh.CompletedBy, &zone)
	sh.CompletedAt, sh.loc = done.V, clock.Zone(zone)
	return sh, err
}

func (s *Service) shift(ctx context.Context, q db.Querier, id int64) (Shift, Post, error) {
	sh, err := scanShift(q.QueryRowContext(ctx, `SELECT `+shiftCols+shiftFrom+`WHERE sh.id = $1`, id))
	if db.IsNoRows(err) {
		return sh, Post{}, notFound
	}
	if err != nil {
		return sh, Post{}, fmt.Errorf("volunteer: shift: %w", err)
	}
	p, err := s.post(ctx, sh.PostID)
	return sh, p, err
}

// shiftFor loads a shift the actor may lead.
func (s *Service) shiftFor(ctx context.Context, a *auth.Actor, id int64) (Shift, Post, error) {
	sh, p, err := s.shift(ctx, s.DB.Read(), id)
	if err != nil {
		return sh, p, err
	}
	if err := lead(a, sh.TownID, sh.VillageID); err != nil {
		return Shift{}, Post{}, auth.Hide(err)
	}
	return sh, p, nil
}

// ShiftRoster is a shift with its sign-ups, for those who lead it.
func (s *Service) ShiftRoster(ctx context.Context, a *auth.Actor, id int64) (Shift, Post, error) {
	sh, p, err := s.shiftFor(ctx, a, id)
	if err != nil {
		return sh, p, err
	}
	sh.Signups, err = s.signups(ctx, s.DB.Read(), `su.shift_id = $1 AND su.status <> 'cancelled'`, id)
	return sh, p, err
}

// SiteToken is the token of the QR code a shift's leader posts at its site.
func (s *Service) SiteToken(ctx context.Context, a *auth.Actor, shiftID int64) (string, error) {
	if _, _, err := s.shiftFor(ctx, a, shiftID); err != nil {
		return "", err
	}
	return s.ShiftToken(shiftID), nil
}

// PostOf is the post a shift belongs to, for pages that go back to it; it checks no permission,
// and names only the post's number.
func (s *Service) PostOf(ctx context.Context, shiftID int64) (int64, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT post_id FROM volunteer_shifts WHERE id = $1`, shiftID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, notFound
	}
	if err != nil {
		return 0, fmt.Errorf("volunteer: post of shift %d: %w", shiftID, err)
	}
	return id, nil
}

// positionCol is a sign-up's place in its shift's waiting line, from 1 (0 when not waiting), by
// (queued_at, id). It is the one count of places in line: the roster, the volunteer's pages, the
// API and the answer to a sign-up all read it, so nobody is told a place the roster does not show.
const positionCol = `CASE WHEN su.status = 'waiting' THEN (SELECT COUNT(*) FROM volunteer_signups w WHERE w.shift_id = su.shift_id AND w.status = 'waiting'
	AND (w.queued_at < su.queued_at OR (w.queued_at = su.queued_at AND w.id <= su.id))) ELSE 0 END`

const signupCols = `su.id, su.shift_id, su.volunteer_id, v.number, su.resident_id, r.name, su.status, su.scanned_in_at, su.scanned_out_at, su.checked_in_at, su.checked_out_at,
	su.checked_in_by, su.checked_out_by, su.minutes, su.confirmed_by, su.transaction_id, su.award_error, tw.timezone, ` + positionCol

const signupFrom = ` FROM volunteer_signups su JOIN volunteers v ON v.id = su.volunteer_id JOIN residents r ON r.id = su.resident_id JOIN towns tw ON tw.id = v.town_id `

func scanSignup(sc interface{ Scan(...any) error }) (Signup, error) {
	var su Signup
	var si, so, ci, co sql.Null[time.Time]
	var tx sql.NullInt64
	var zone string
	err := sc.Scan(&su.ID, &su.ShiftID, &su.VolunteerID, &su.VolunteerNumber, &su.ResidentID, &su.Name, &su.Status, &si, &so, &ci, &co,
		&su.CheckedInBy, &su.CheckedOutBy, &su.Minutes, &su.ConfirmedBy, &tx, &su.AwardError, &zone, &su.Position)
	su.ScannedInAt, su.ScannedOutAt, su.CheckedInAt, su.CheckedOutAt, su.TransactionID = si.V, so.V, ci.V, co.V, tx.Int64
	su.loc = clock.Zone(zone)
	return su, err
}

// signups lists the sign-ups of some shifts (not cancelled ones), the waiting line numbered.
func (s *Service) signups(ctx context.Context, q db.Querier, where string, args ...any) ([]Signup, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+signupCols+signupFrom+`WHERE `+where+` ORDER BY su.shift_id, su.status = 'waiting', su.queued_at, su.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("volunteer: sign-ups: %w", err)
	}
	defer rows.Close()
	var out []Signup
	for rows.Next() {
		su, err := scanSignup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, su)
	}
	return out, rows.Err()
}

// signupOf is a resident's sign-up on a shift (not a cancelled one), with its place in line.
func (s *Service) signupOf(ctx context.Context, q db.Querier, shiftID, residentID int64) (Signup, error) {
	su, err := scanSignup(q.QueryRowContext(ctx, `SELECT `+signupCols+signupFrom+`WHERE su.shift_id = $1 AND su.resident_id = $2 AND su.status <> 'cancelled'`, shiftID, residentID))
	if db.IsNoRows(err) {
		return su, notFound
	}
	return su, err
}

// Roster is a post's shifts, oldest first, each with its sign-ups: for leaders.
func (s *Service) Roster(ctx context.Context, a *auth.Actor, postID int64) (Post, []Shift, error) {
	p, err := s.postFor(ctx, a, postID)
	if err != nil {
		return p, nil, err
	}
	shifts, err := s.shifts(ctx, `sh.post_id = $1`, postID)
	if err != nil {
		return p, nil, err
	}
	sus, err := s.signups(ctx, s.DB.Read(), `su.shift_id IN (SELECT id FROM volunteer_shifts WHERE post_id = $1) AND su.status <> 'cancelled'`, postID)
	if err != nil {
		return p, nil, err
	}
	at := make(map[int64]int, len(shifts))
	for i, sh := range shifts {
		at[sh.ID] = i
	}
	for _, su := range sus {
		i := at[su.ShiftID]
		shifts[i].Signups = append(shifts[i].Signups, su)
	}
	return p, shifts, nil
}

func (s *Service) shifts(ctx context.Context, where string, args ...any) ([]Shift, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+shiftCols+shiftFrom+`WHERE `+where+` ORDER BY sh.starts_at, sh.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("volunteer: shifts: %w", err)
	}
	defer rows.Close()
	out := []Shift{}
	for rows.Next() {
		sh, err := scanShift(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// Shift returns one shift with its sign-ups for leaders, or with the caller's own sign-up for a
// resident it is open to.
func (s *Service) Shift(ctx context.Context, a *auth.Actor, id int64) (Shift, Post, error) {
	sh, p, err := s.shift(ctx, s.DB.Read(), id)
	if err != nil {
		return sh, p, err
	}
	if lead(a, sh.TownID, sh.VillageID) == nil {
		sh.Signups, err = s.signups(ctx, s.DB.Read(), `su.shift_id = $1 AND su.status <> 'cancelled'`, id)
		return sh, p, err
	}
	r, err := s.selfResident(ctx, a)
	if err != nil || !openTo(p, r) {
		return Shift{}, Post{}, notFound
	}
	if su, err := s.signupOf(ctx, s.DB.Read(), id, r.ID); err == nil {
		sh.Mine = &su
	}
	return sh, p, nil
}

// UpcomingShifts lists a post's shifts that have not begun, with the caller's own sign-ups.
func (s *Service) UpcomingShifts(ctx context.Context, a *auth.Actor, postID int64) ([]Shift, error) {
	p, err := s.Post(ctx, a, postID)
	if err != nil {
		return nil, err
	}
	shifts, err := s.shifts(ctx, `sh.post_id = $1 AND sh.starts_at > $2`, p.ID, s.Now())
	if err != nil || a.Self() == 0 {
		return shifts, err
	}
	mine, err := s.signups(ctx, s.DB.Read(), `su.resident_id = $1 AND su.status <> 'cancelled' AND su.shift_id IN (SELECT id FROM volunteer_shifts WHERE post_id = $2)`, a.Self(), p.ID)
	if err != nil {
		return nil, err
	}
	for i := range shifts {
		for _, su := range mine {
			if su.ShiftID == shifts[i].ID {
				su := su
				shifts[i].Mine = &su
			}
		}
	}
	return shifts, nil
}

// MyShifts lists the caller's sign-ups that are not cancelled, newest shift first, with the shift.
func (s *Service) MyShifts(ctx context.Context, a *auth.Actor) ([]Shift, error) {
	if a.Self() == 0 {
		return nil, notFound
	}
	mine, err := s.signups(ctx, s.DB.Read(), `su.resident_id = $1 AND su.status <> 'cancelled'`, a.Self())
	if err != nil {
		return nil, err
	}
	shifts, err := s.shifts(ctx, `sh.id IN (SELECT shift_id FROM volunteer_signups WHERE resident_id = $1 AND status <> 'cancelled')`, a.Self())
	if err != nil {
		return nil, err
	}
	for i := range shifts {
		for _, su := range mine {
			if su.ShiftID == shifts[i].ID {
				su := su
				shifts[i].Mine = &su
			}
		}
	}
	for i, j := 0, len(shifts)-1; i < j; i, j = i+1, j-1 {
		shifts[i], shifts[j] = shifts[j], shifts[i]
	}
	return shifts, nil
}

// SignUp puts the caller (or the resident acted for) on a shift: a place if one is free, else the
// end of the waiting line. Signing up again returns the sign-up already held.
func (s *Service) SignUp(ctx context.Context, a *auth.Actor, shiftID int64) (Signup, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return Signup{}, err
	}
	// One read for the shift, its post, the resident, their volunteer record and any sign-up they
	// hold: a popular shift takes hundreds of sign-ups a second.
	var townID, villageID, rTown, rVillage int64
	var vol, held sql.NullInt64
	var starts time.Time
	var postStatus, openTo, number, name string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT sh.town_id, sh.village_id, sh.starts_at, p.status, p.open_to, r.town_id, r.village_id, r.name, v.id, COALESCE(v.number, ''), su.id
		FROM volunteer_shifts sh JOIN volunteer_posts p ON p.id = sh.post_id
		JOIN residents r ON r.id = $2 AND r.status = 'active'
		LEFT JOIN volunteers v ON v.resident_id = r.id
		LEFT JOIN volunteer_signups su ON su.shift_id = sh.id AND su.resident_id = r.id AND su.status <> 'cancelled'
		WHERE sh.id = $1`, shiftID, self).Scan(&townID, &villageID, &starts, &postStatus, &openTo, &rTown, &rVillage, &name, &vol, &number, &held)
	if db.IsNoRows(err) {
		return Signup{}, notFound
	} else if err != nil {
		return Signup{}, fmt.Errorf("volunteer: sign up: %w", err)
	}
	if rTown != townID || (openTo != "town" && rVillage != villageID) {
		return Signup{}, notFound
	}
	if !vol.Valid {
		return Signup{}, errs.New(errs.Conflict, "volunteer.not_registered")
	}
	if postStatus != "open" {
		return Signup{}, errs.New(errs.Conflict, "volunteer.post_closed")
	}
	if !starts.After(s.Now()) {
		return Signup{}, errs.New(errs.Conflict, "volunteer.shift_started")
	}
	if held.Valid {
		su, err := s.signupOf(ctx, s.DB.Read(), shiftID, self)
		su.Replayed = true
		return su, err
	}
	su := Signup{ShiftID: shiftID, VolunteerID: vol.Int64, VolunteerNumber: number, ResidentID: self, Name: name}
	err = s.group.Do(ctx, func(tx *sql.Tx) error {
		// One guarded update takes a place: it holds the shift's row until commit, so racing
		// sign-ups queue here and capacity is never exceeded; nobody passes those already waiting.
		res, err := tx.ExecContext(ctx, `UPDATE volunteer_shifts SET taken = taken + 1 WHERE id = $1 AND taken < capacity AND waiting = 0`, shiftID)
		if err != nil {
			return err
		}
		took, err := res.RowsAffected()
		if err != nil {
			return err
		}
		status := Waiting
		if took == 1 {
			status = Confirmed
		} else if _, err := tx.ExecContext(ctx, `UPDATE volunteer_shifts SET waiting = waiting + 1 WHERE id = $1`, shiftID); err != nil {
			return err // the end of the line, under the same row lock
		}
		su.Status = status
		now := s.Now()
		var id int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM volunteer_signups WHERE shift_id = $1 AND resident_id = $2`, shiftID, self).Scan(&id)
		switch {
		case db.IsNoRows(err):
			err = tx.QueryRowContext(ctx, `INSERT INTO volunteer_signups (shift_id, volunteer_id, resident_id, status, queued_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5) RETURNING id`,
				shiftID, vol.Int64, self, status, now).Scan(&su.ID)
		case err == nil:
			su.ID = id
			var res sql.Result
			if res, err = tx.ExecContext(ctx, `UPDATE volunteer_signups SET status = $1, queued_at = $2, updated_at = $2, checked_in_at = NULL, checked_out_at = NULL, scanned_in_at = NULL, scanned_out_at = NULL WHERE id = $3 AND status = 'cancelled'`, status, now, id); err == nil {
				var n int64
				if n, err = res.RowsAffected(); err == nil && n != 1 {
					err = errs.New(errs.Conflict, "volunteer.signup_raced")
				}
			}
		}
		if db.IsUnique(err) {
			return errs.New(errs.Conflict, "volunteer.signup_raced")
		}
		if err != nil || status == Confirmed {
			return err
		}
		// The place in line is told from the query the roster reads, under the shift's lock.
		held, err := s.signupOf(ctx, tx, shiftID, self)
		su.Position = held.Position
		return err
	})
	if errs.Is(err, errs.Conflict) {
		// The same resident signed up from two places at once: the other request won.
		if su, err := s.signupOf(ctx, s.DB.Read(), shiftID, self); err == nil {
			su.Replayed = true
			return su, nil
		}
	}
	if err != nil {
		return Signup{}, fmt.Errorf("volunteer: sign up: %w", err)
	}
	return su, nil
}

// Cancel withdraws the caller's sign-up until CancelCutoff before the shift; a place it frees goes
// to the first in the waiting line, who is notified.
func (s *Service) Cancel(ctx context.Context, a *auth.Actor, shiftID int64) error {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return err
	}
	sh, p, err := s.shift(ctx, s.DB.Read(), shiftID)
	if err != nil {
		return err
	}
	su, err := s.signupOf(ctx, s.DB.Read(), shiftID, self)
	if err != nil {
		return err
	}
	if su.Status != Confirmed && su.Status != Waiting {
		return errs.New(errs.Conflict, "volunteer.signup_closed")
	}
	if su.Status == Confirmed && s.Now().After(sh.StartsAt.Add(-CancelCutoff)) {
		return errs.New(errs.Conflict, "volunteer.cancel_too_late", int(CancelCutoff.Hours()))
	}
	return s.group.Do(ctx, func(tx *sql.Tx) error {
		// Lock the shift first, as a sign-up does, then change the line under that lock.
		if _, err := tx.ExecContext(ctx, `UPDATE volunteer_shifts SET taken = taken WHERE id = $1`, shiftID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE volunteer_signups SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = $3`, s.Now(), su.ID, su.Status)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.New(errs.Conflict, "volunteer.signup_closed")
		}
		if su.Status != Confirmed {
			_, err := tx.ExecContext(ctx, `UPDATE volunteer_shifts SET waiting = waiting - 1 WHERE id = $1`, shiftID)
			return err
		}
		return s.promote(ctx, tx, sh, p, 1)
	})
}

// promote gives freed places (the shift's taken already counts them) to the first in line, in
// order, and tells each; places nobody waits for are released.
func (s *Service) promote(ctx context.Context, tx *sql.Tx, sh Shift, p Post, freed int) error {
	for range freed {
		var id, resident int64
		err := tx.QueryRowContext(ctx, `SELECT id, resident_id FROM volunteer_signups WHERE shift_id = $1 AND status = 'waiting' ORDER BY queued_at, id LIMIT 1`, sh.ID).Scan(&id, &resident)
		if db.IsNoRows(err) {
			_, err = tx.ExecContext(ctx, `UPDATE volunteer_shifts SET taken = taken - 1 WHERE id = $1`, sh.ID)
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE volunteer_signups SET status = 'confirmed', updated_at = $1 WHERE id = $2`, s.Now(), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE volunteer_shifts SET waiting = waiting - 1 WHERE id = $1`, sh.ID); err != nil {
			return err
		}
		if err := s.Notify.Tell(ctx, tx, resident, notify.Outcome{Title: "volunteer.outcome.promoted_title", Body: "volunteer.outcome.promoted",
			Args: []any{trunc(p.Title, 40), sh.Day, timeIn(sh.StartsAt, sh.loc)}, Link: fmt.Sprintf("/volunteer/posts/%d", p.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// Message sends an in-app notification to everyone holding a place or waiting on a shift.
func (s *Service) Message(ctx context.Context, a *auth.Actor, shiftID int64, title, body string) (int, error) {
	sh, p, err := s.shiftFor(ctx, a, shiftID)
	if err != nil {
		return 0, err
	}
	if err := notify.Check(title, body); err != nil {
		return 0, err
	}
	var ids []int64
	list, err := s.signups(ctx, s.DB.Read(), `su.shift_id = $1 AND su.status IN ('confirmed', 'waiting', 'attended')`, shiftID)
	if err != nil {
		return 0, err
	}
	for _, su := range list {
		ids = append(ids, su.ResidentID)
	}
	if len(ids) == 0 {
		return 0, errs.New(errs.Conflict, "volunteer.nobody_to_message")
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Notify.Send(ctx, tx, ids, notify.Message{Title: title, Body: body, Link: fmt.Sprintf("/volunteer/posts/%d", p.ID), SenderName: a.Name}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.message", Entity: "volunteer_shift", EntityID: sh.ID, TownID: sh.TownID, VillageID: sh.VillageID, Summary: strings.TrimSpace(title)})
	})
	return len(ids), err
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// PostDetail is a post with its roster for leaders, or with its shifts to come for residents.
func (s *Service) PostDetail(ctx context.Context, a *auth.Actor, id int64) (PostDetail, error) {
	p, err := s.Post(ctx, a, id)
	if err != nil {
		return PostDetail{}, err
	}
	if lead(a, p.TownID, p.VillageID) == nil && (a.ActingFor == nil) {
		_, shifts, err := s.Roster(ctx, a, id)
		return PostDetail{Post: p, Shifts: shifts}, err
	}
	shifts, err := s.UpcomingShifts(ctx, a, id)
	return PostDetail{Post: p, Shifts: shifts}, err
}

// Pages write a shift's day and hours themselves, in the town's zone and with the weekday:
// {{$.Span .StartsAt .EndsAt}} (12月8日 周二 上午9:00–11:00), a check-in {{$.TimeOfDay .CheckedInAt}}.

// timeIn is a time of day in a town's zone as an audit summary or a message writes it, empty
// for a zero time.
func timeIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = clock.Zone("")
	}
	return t.In(loc).Format(clock.TimeLayout)
}

// Payment is how the sign-up's payment stands: paid, pending (on public notice), refused or "".
func (su Signup) Payment() string { return awardNote(su) }
