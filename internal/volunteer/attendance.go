package volunteer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// CheckinInput is a leader checking a volunteer in or out (Action in, out, or confirm: take the
// times the volunteer scanned), at a time of day (HH:MM, the town's zone; now when empty); or a
// volunteer's own scan of the shift's QR code (Token).
type CheckinInput struct {
	ResidentID      int64  `json:"resident_id"`
	VolunteerNumber string `json:"volunteer_number"`
	Action          string `json:"action"`
	At              string `json:"at"`
	Token           string `json:"token"`
}

// CompleteResult is a shift confirmed complete: each sign-up with its hours and points.
type CompleteResult struct {
	Shift   Shift    `json:"shift"`
	Signups []Signup `json:"signups"`
}

const shiftKeyPurpose = "volunteer-shift-qr"

// ShiftToken is what the QR code posted at a shift's site carries: the shift and a MAC, so that a
// volunteer's scan proves they saw the code, not that they typed a number.
func (s *Service) ShiftToken(shiftID int64) string {
	id := strconv.FormatInt(shiftID, 10)
	return "VS1." + id + "." + shiftMAC(s.People.Cipher.Derive(shiftKeyPurpose), id)
}

func shiftMAC(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("shift:" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// ParseShiftToken returns the shift a token names, or a refusal naming the token field.
func (s *Service) ParseShiftToken(token string) (int64, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || parts[0] != "VS1" {
		return 0, errs.Field("token", "volunteer.token_invalid")
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id <= 0 || !hmac.Equal([]byte(parts[2]), []byte(shiftMAC(s.People.Cipher.Derive(shiftKeyPurpose), parts[1]))) {
		return 0, errs.Field("token", "volunteer.token_invalid")
	}
	return id, nil
}

// at is the moment a check-in names: HH:MM on the shift's day in the town's zone, or now.
func (s *Service) at(sh Shift, hhmm string) (time.Time, error) {
	now := s.Now()
	if strings.TrimSpace(hhmm) == "" {
		return now, nil
	}
	h, m, ok := timeOfDay(hhmm)
	if !ok {
		return time.Time{}, errs.Field("at", "volunteer.time_invalid")
	}
	day, ok := clock.ParseDay(sh.Day, sh.loc)
	if !ok || day.IsZero() {
		return time.Time{}, fmt.Errorf("volunteer: shift %d has no day: %q", sh.ID, sh.Day)
	}
	t := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, sh.loc).UTC()
	if t.After(now.Add(time.Minute)) {
		return time.Time{}, errs.Field("at", "volunteer.time_in_future")
	}
	return t, nil
}

// minutes is the time served within the shift.
func minutes(sh Shift, in, out time.Time) int {
	if in.Before(sh.StartsAt) {
		in = sh.StartsAt
	}
	if out.After(sh.EndsAt) {
		out = sh.EndsAt
	}
	if !out.After(in) {
		return 0
	}
	return int(out.Sub(in) / time.Minute)
}

// Checkin records attendance on a shift. A leader checks a volunteer in or out or confirms their
// scans; a volunteer's scan of the shift's QR is recorded for the leader to confirm. Nobody checks
// themself in or out.
func (s *Service) Checkin(ctx context.Context, a *auth.Actor, shiftID int64, in CheckinInput) (Signup, error) {
	if in.Token != "" {
		return s.scan(ctx, a, shiftID, in)
	}
	sh, _, err := s.shiftFor(ctx, a, shiftID)
	if err != nil {
		return Signup{}, err
	}
	in.Action = strings.TrimSpace(in.Action)
	if in.Action != "in" && in.Action != "out" && in.Action != "confirm" {
		return Signup{}, errs.Field("action", "volunteer.action_invalid")
	}
	rid := in.ResidentID
	if n := strings.TrimSpace(in.VolunteerNumber); n != "" {
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT resident_id FROM volunteers WHERE number = $1`, n).Scan(&rid); err != nil {
			return Signup{}, errs.Field("volunteer_number", "volunteer.not_on_shift")
		}
	}
	if rid <= 0 {
		return Signup{}, errs.Field("resident_id", "field.required")
	}
	su, err := s.signupOf(ctx, s.DB.Read(), shiftID, rid)
	if err != nil || su.Status != Confirmed {
		return Signup{}, errs.Field("resident_id", "volunteer.not_on_shift")
	}
	if rid == a.Self() || rid == a.ResidentID {
		return Signup{}, errs.New(errs.Forbidden, "volunteer.own_hours")
	}
	if !sh.CompletedAt.IsZero() {
		return Signup{}, errs.New(errs.Conflict, "volunteer.shift_completed")
	}
	t, err := s.at(sh, in.At)
	if err != nil {
		return Signup{}, err
	}
	var q string
	var args []any
	switch in.Action {
	case "in":
		if t.Before(sh.StartsAt.Add(-EarlyCheckin)) || t.After(sh.EndsAt) {
			return Signup{}, errs.Field("at", "volunteer.outside_shift")
		}
		q, args = `UPDATE volunteer_signups SET checked_in_at = $1, checked_in_by = $2, checked_out_at = NULL, checked_out_by = '', minutes = 0, updated_at = $3 WHERE id = $4`, []any{t, a.Name, s.Now(), su.ID}
	case "out":
		if su.CheckedInAt.IsZero() {
			return Signup{}, errs.Field("at", "volunteer.not_checked_in")
		}
		if !t.After(su.CheckedInAt) {
			return Signup{}, errs.Field("at", "volunteer.out_before_in")
		}
		q, args = `UPDATE volunteer_signups SET checked_out_at = $1, checked_out_by = $2, minutes = $3, updated_at = $4 WHERE id = $5`, []any{t, a.Name, minutes(sh, su.CheckedInAt, t), s.Now(), su.ID}
	case "confirm":
		if su.ScannedInAt.IsZero() {
			return Signup{}, errs.Field("resident_id", "volunteer.no_scan")
		}
		out, by, mins := any(nil), "", 0
		if !su.ScannedOutAt.IsZero() && su.ScannedOutAt.After(su.ScannedInAt) {
			out, by, mins = su.ScannedOutAt, a.Name, minutes(sh, su.ScannedInAt, su.ScannedOutAt)
		}
		q, args = `UPDATE volunteer_signups SET checked_in_at = $1, checked_in_by = $2, checked_out_at = $3, checked_out_by = $4, minutes = $5, updated_at = $6 WHERE id = $7`,
			[]any{su.ScannedInAt, a.Name, out, by, mins, s.Now(), su.ID}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.checkin." + in.Action, Entity: "volunteer_signup", EntityID: su.ID, TownID: sh.TownID, VillageID: sh.VillageID,
			Summary: su.Name + " " + timeIn(t, sh.loc)})
	})
	if err != nil {
		return Signup{}, fmt.Errorf("volunteer: check-in: %w", err)
	}
	return s.signupOf(ctx, s.DB.Read(), shiftID, rid)
}

// scan records a volunteer's own scan at the site: the first scan is arrival, the next departure.
func (s *Service) scan(ctx context.Context, a *auth.Actor, shiftID int64, in CheckinInput) (Signup, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return Signup{}, err
	}
	id, err := s.ParseShiftToken(in.Token)
	if err != nil {
		return Signup{}, err
	}
	if shiftID != 0 && id != shiftID {
		return Signup{}, errs.Field("token", "volunteer.token_invalid")
	}
	sh, _, err := s.shift(ctx, s.DB.Read(), id)
	if err != nil {
		return Signup{}, err
	}
	su, err := s.signupOf(ctx, s.DB.Read(), id, self)
	if err != nil || su.Status != Confirmed {
		return Signup{}, errs.New(errs.Conflict, "volunteer.not_on_shift")
	}
	now := s.Now()
	if now.Before(sh.StartsAt.Add(-EarlyCheckin)) || now.After(sh.EndsAt.Add(time.Hour)) || !sh.CompletedAt.IsZero() {
		return Signup{}, errs.New(errs.Conflict, "volunteer.outside_shift")
	}
	col := "scanned_in_at"
	if !su.ScannedInAt.IsZero() {
		col = "scanned_out_at"
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE volunteer_signups SET `+col+` = $1, updated_at = $1 WHERE id = $2`, now, su.ID)
		return err
	})
	if err != nil {
		return Signup{}, err
	}
	return s.signupOf(ctx, s.DB.Read(), id, self)
}

// awardKey names the event a volunteer is paid for.
func awardKey(shiftID, residentID int64) string {
	return fmt.Sprintf("volunteer:shift:%d:resident:%d", shiftID, residentID)
}

// Complete confirms a shift complete: those checked in become attended with their hours (those
// still in are checked out at the shift's end), those who held a place and never came no-shows,
// and each attended volunteer is paid through the bank once (key volunteer:shift:<id>:resident:<id>),
// however often completion is confirmed. The leader's own sign-up is left for another to confirm.
func (s *Service) Complete(ctx context.Context, a *auth.Actor, shiftID int64) (CompleteResult, error) {
	sh, p, err := s.shiftFor(ctx, a, shiftID)
	if err != nil {
		return CompleteResult{}, err
	}
	now := s.Now()
	if now.Before(sh.StartsAt) {
		return CompleteResult{}, errs.New(errs.Conflict, "volunteer.shift_not_started")
	}
	list, err := s.signups(ctx, s.DB.Read(), `su.shift_id = $1 AND su.status IN ('confirmed', 'attended', 'no_show')`, shiftID)
	if err != nil {
		return CompleteResult{}, err
	}
	own := func(su Signup) bool { return su.ResidentID == a.Self() || su.ResidentID == a.ResidentID }
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, su := range list {
			if su.Status != Confirmed || own(su) {
				continue
			}
			if su.CheckedInAt.IsZero() {
				if _, err := tx.ExecContext(ctx, `UPDATE volunteer_signups SET status = 'no_show', confirmed_by = $1, updated_at = $2 WHERE id = $3 AND status = 'confirmed'`, a.Name, now, su.ID); err != nil {
					return err
				}
				continue
			}
			out, by := su.CheckedOutAt, su.CheckedOutBy
			if out.IsZero() {
				out, by = sh.EndsAt, a.Name
				if now.Before(out) {
					out = now
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE volunteer_signups SET status = 'attended', checked_out_at = $1, checked_out_by = $2, minutes = $3, confirmed_by = $4, updated_at = $5 WHERE id = $6 AND status = 'confirmed'`,
				out, by, minutes(sh, su.CheckedInAt, out), a.Name, now, su.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE volunteer_shifts SET completed_at = $1, completed_by_name = $2 WHERE id = $3 AND completed_at IS NULL`, now, a.Name, shiftID); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.shift.complete", Entity: "volunteer_shift", EntityID: shiftID, TownID: sh.TownID, VillageID: sh.VillageID, Summary: p.Title + " " + sh.Day})
	})
	if err != nil {
		return CompleteResult{}, fmt.Errorf("volunteer: complete: %w", err)
	}
	// Pay after the statuses are committed; a crash in between is mended by confirming again,
	// since each payment's key makes a second posting a replay.
	attended, err := s.signups(ctx, s.DB.Read(), `su.shift_id = $1 AND su.status = 'attended' AND su.transaction_id IS NULL`, shiftID)
	if err != nil {
		return CompleteResult{}, err
	}
	// One call pays them all, under the leader's own permission to pay for 微志愿 in the village.
	var paid []Signup
	var earnings []bank.Earning
	for _, su := range attended {
		if own(su) || su.Minutes <= 0 {
			continue
		}
		paid = append(paid, su)
		earnings = append(earnings, bank.Earning{Key: awardKey(shiftID, su.ResidentID), ResidentID: su.ResidentID, RuleCode: p.RuleCode,
			Reason: trunc(fmt.Sprintf("志愿服务：%s %s %d 分钟", p.Title, sh.Day, su.Minutes), 200)})
	}
	if len(earnings) > 0 {
		results, err := s.Bank.Earn(ctx, a, earnings)
		if err != nil {
			return CompleteResult{}, fmt.Errorf("volunteer: pay shift %d: %w", shiftID, err)
		}
		// Each sign-up keeps its transaction or why it was not paid; a failure that is no
		// refusal is left unrecorded, for the next confirmation to pay under the same key.
		var failed error
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			for i, res := range results {
				txID, note, retry := res.Answer("volunteer.award_pending")
				if retry != nil {
					failed = retry
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE volunteer_signups SET transaction_id = $1, award_error = $2 WHERE id = $3`, db.NullID(txID), note, paid[i].ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && failed != nil {
			err = fmt.Errorf("volunteer: pay shift %d: %w", shiftID, failed)
		}
		if err != nil {
			return CompleteResult{}, err
		}
	}
	sh, _, err = s.shift(ctx, s.DB.Read(), shiftID)
	if err != nil {
		return CompleteResult{}, err
	}
	all, err := s.signups(ctx, s.DB.Read(), `su.shift_id = $1 AND su.status <> 'cancelled'`, shiftID)
	return CompleteResult{Shift: sh, Signups: all}, err
}
