package honours

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/web"
)

// Participation is one way of taking part in an action, as the API takes it (way):
//   - register: the caller, a resident of its villages, registers to attend;
//   - attend: staff check in the residents named (a roll call), who are paid under the rule;
//   - deed: the caller reports a deed with a photo (随手拍), consenting or not to its photos being
//     shown to others; their village's staff review it;
//   - contribution: staff count a household's contribution (an amount in the action's unit),
//     credited to the resident named or else the household's head.
type Participation struct {
	Way         string   `json:"way"`
	ResidentIDs []int64  `json:"resident_ids,omitempty"`
	Story       string   `json:"story,omitempty"`
	HappenedOn  string   `json:"happened_on,omitempty"`
	Consent     bool     `json:"consent,omitempty"`
	Photos      [][]byte `json:"photos,omitempty"`
	HouseholdID int64    `json:"household_id,omitempty"`
	ResidentID  int64    `json:"resident_id,omitempty"`
	Amount      int      `json:"amount,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// Participations are an action's records of taking part the caller may see: staff those of their
// villages, a resident their own.
type Participations struct {
	Roll          []attend.Entry `json:"roll"`
	Deeds         []Deed         `json:"deeds"`
	Contributions []Contribution `json:"contributions"`
}

// DeedReview approves a deed, or rejects it with a reason.
type DeedReview struct {
	Approve bool   `json:"approve"`
	Reason  string `json:"reason"`
}

// Participations lists an action's participations the actor may see.
func (s *Service) Participations(ctx context.Context, a *auth.Actor, id int64) (Participations, error) {
	d, err := s.ActionDetail(ctx, a, id)
	if err != nil {
		return Participations{}, err
	}
	p := Participations{Roll: []attend.Entry{}, Deeds: []Deed{}, Contributions: []Contribution{}}
	if d.Staff {
		_, ac, err := s.actionFor(ctx, s.DB.Read(), a, id)
		if err != nil {
			return p, err
		}
		p.Roll = append(p.Roll, d.Roll...)
		p.Contributions = d.Contributions
		for _, dd := range d.Deeds {
			if slices.Contains(ac.villages, dd.VillageID) {
				p.Deeds = append(p.Deeds, dd)
			}
		}
		return p, nil
	}
	if d.Mine != nil {
		p.Deeds, p.Contributions = d.Mine.Deeds, d.Mine.Contributions
	}
	return p, nil
}

// Participate records a participation (see Participation) and answers how many people it
// recorded now (0 for a repeat that changed nothing).
func (s *Service) Participate(ctx context.Context, a *auth.Actor, id int64, in Participation) (int, error) {
	switch in.Way {
	case "register":
		return s.registerAction(ctx, a, id)
	case "attend":
		return s.checkinAction(ctx, a, id, in.ResidentIDs)
	case "deed":
		return s.reportDeed(ctx, a, id, in)
	case "contribution":
		return s.contribute(ctx, a, id, in)
	}
	return 0, errs.Field("way", "honours.action.way_invalid")
}

// takeable reads an action open to the way named, for the actor.
func (s *Service) takeable(ctx context.Context, q db.Querier, a *auth.Actor, id int64, way string) (Action, actionAccess, error) {
	x, ac, err := s.actionFor(ctx, q, a, id)
	if err != nil {
		return x, ac, err
	}
	if !x.Takes(way) {
		return x, ac, errs.Field("way", "honours.action.way_not_taken")
	}
	open, err := s.open(ctx, x)
	if err != nil {
		return x, ac, err
	}
	if !open {
		return x, ac, errs.New(errs.Conflict, "honours.action.not_open")
	}
	return x, ac, nil
}

// registerAction puts the resident on an action's roll; again changes nothing.
func (s *Service) registerAction(ctx context.Context, a *auth.Actor, id int64) (int, error) {
	var n int
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, ac, err := s.takeable(ctx, tx, a, id, "attend")
		if err != nil {
			return err
		}
		if !ac.resident {
			return errs.New(errs.Forbidden, "honours.action.residents_only")
		}
		ev, err := s.Attend.EventOf(ctx, tx, ActionEvent, id)
		if err != nil {
			return err
		}
		added, err := s.Attend.Invite(ctx, tx, ev.ID, ac.me.ID)
		if added {
			n = 1
		}
		return err
	})
	return n, err
}

// checkinAction checks in, by a roll call of staff of its villages, residents of the villages
// they serve, and pays those checked in now under the action's rule.
func (s *Service) checkinAction(ctx context.Context, a *auth.Actor, id int64, residentIDs []int64) (int, error) {
	var x Action
	var fresh []int64
	var ev attend.Event
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var ac actionAccess
		var err error
		if x, ac, err = s.takeable(ctx, tx, a, id, "attend"); err != nil {
			return err
		}
		if !ac.staff {
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		var f errs.Fields
		if tooMany(&f, "resident_ids", residentIDs) {
			return f.Err()
		}
		ids := slices.Clone(residentIDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) == 0 || ids[0] <= 0 {
			return errs.Field("resident_ids", "honours.action.residents_required")
		}
		var known int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE status = 'active' AND id IN (`+db.IDList(ids)+`) AND village_id IN (`+db.IDList(ac.villages)+`)`).Scan(&known); err != nil {
			return fmt.Errorf("honours: action check-in: %w", err)
		}
		if known != len(ids) {
			return errs.Field("resident_ids", "honours.action.resident_unknown")
		}
		if ev, err = s.Attend.EventOf(ctx, tx, ActionEvent, id); err != nil {
			return err
		}
		for _, r := range ids {
			if _, err := s.Attend.Invite(ctx, tx, ev.ID, r); err != nil {
				return err
			}
		}
		fresh, err = s.Attend.CheckMany(ctx, tx, ev, ids, attend.Roll, a.Name)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, r := range fresh {
		txID, note, err := s.payAction(ctx, a, x, "attend", r, r)
		if err != nil {
			return len(fresh), err
		}
		if txID != 0 || note != "" {
			if err := s.DB.Tx(ctx, func(tx *sql.Tx) error { return s.Attend.Paid(ctx, tx, ev.ID, r, txID, note) }); err != nil {
				return len(fresh), err
			}
		}
	}
	return len(fresh), nil
}

// reportDeed keeps a deed the resident reports for an action, with its photos, for their
// village's staff to review.
func (s *Service) reportDeed(ctx context.Context, a *auth.Actor, id int64, in Participation) (int, error) {
	in.Story, in.HappenedOn = strings.TrimSpace(in.Story), strings.TrimSpace(in.HappenedOn)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, ac, err := s.takeable(ctx, tx, a, id, "deed")
		if err != nil {
			return err
		}
		if !ac.resident {
			return errs.New(errs.Forbidden, "honours.action.residents_only")
		}
		var f errs.Fields
		f.Text("story", in.Story, maxDeedStory, true)
		today, err := s.townToday(ctx, x.TownID)
		if err != nil {
			return err
		}
		if in.HappenedOn == "" {
			f.Add("happened_on", "field.required")
		} else if day, err := time.Parse(clock.DayLayout, in.HappenedOn); err != nil {
			f.Add("happened_on", "people.date_invalid")
		} else if in.HappenedOn > today {
			f.Add("happened_on", "people.date_future")
		} else if day.Format(clock.MonthLayout) != x.Month {
			f.Add("happened_on", "honours.action.deed_month", x.Month)
		}
		switch {
		case len(in.Photos) == 0:
			f.Add("photos", "bank.photo_required")
		case len(in.Photos) > maxDeedPhotos:
			f.Add("photos", "bank.photos_too_many")
		}
		if len(f) == 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_action_deeds WHERE action_id = $1 AND resident_id = $2 AND status <> 'rejected'`, id, ac.me.ID).Scan(&n); err != nil {
				return fmt.Errorf("honours: deeds: %w", err)
			}
			if n >= x.PayCap {
				f.Add("story", "honours.action.deeds_enough", x.PayCap)
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		var deed int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_action_deeds (action_id, village_id, resident_id, story, happened_on, consent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, id, ac.me.VillageID, ac.me.ID, in.Story, in.HappenedOn, in.Consent, s.Now()).Scan(&deed); err != nil {
			return fmt.Errorf("honours: report deed: %w", err)
		}
		return s.savePhotos(ctx, tx, "deed", deed, in.Photos)
	})
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// ReviewDeed approves a pending deed of a village the actor serves, and pays it under the action's
// rule (on public notice where the rule says so), or rejects it with a reason; the reporter is told.
func (s *Service) ReviewDeed(ctx context.Context, a *auth.Actor, id, deedID int64, in DeedReview) (Deed, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var x Action
	var d Deed
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var ac actionAccess
		var err error
		if x, ac, err = s.actionFor(ctx, tx, a, id); err != nil {
			return err
		}
		list, err := s.deeds(ctx, tx, `d.id = $1 AND d.action_id = $2`, deedID, id)
		if err != nil {
			return err
		}
		if !ac.staff {
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		if len(list) == 0 || !slices.Contains(ac.villages, list[0].VillageID) {
			return notFound
		}
		d = list[0]
		if d.Status != "pending" {
			return errs.New(errs.Conflict, "honours.action.deed_reviewed")
		}
		if d.ResidentID == a.Self() || d.ResidentID == a.ResidentID {
			return errs.New(errs.Forbidden, "bank.self_approval")
		}
		var f errs.Fields
		f.Text("reason", in.Reason, maxActionNote, !in.Approve)
		if err := f.Err(); err != nil {
			return err
		}
		d.Status = "rejected"
		if in.Approve {
			d.Status = "approved"
		}
		res, err := tx.ExecContext(ctx, `UPDATE honours_action_deeds SET status = $1, reason = $2, reviewed_by_name = $3, reviewed_at = $4 WHERE id = $5 AND status = 'pending'`,
			d.Status, in.Reason, a.Name, s.Now(), deedID)
		if err != nil {
			return fmt.Errorf("honours: review deed: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, "honours.action.deed_reviewed")
		}
		d.Reason, d.ReviewedByName = in.Reason, a.Name
		o := notify.Outcome{Title: "honours.action.told_deed_title", Body: "honours.action.told_deed_approved", Args: []any{x.Title}, Link: fmt.Sprintf("/honours/actions/%d", id)}
		if !in.Approve {
			o.Body, o.Args = "honours.action.told_deed_rejected", []any{x.Title, in.Reason}
		}
		if err := s.Notify.Tell(ctx, tx, d.ResidentID, o); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.action.review", Entity: "honours_action_deed", EntityID: deedID, TownID: x.TownID, VillageID: d.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"action": x.Title, "status": d.Status, "reason": in.Reason})})
	})
	if err != nil {
		return Deed{}, err
	}
	if in.Approve {
		if _, d.PayNote, err = s.payAction(ctx, a, x, "deed", deedID, d.ResidentID); err != nil {
			return d, err
		}
	}
	return d, nil
}

// contribute keeps a household's contribution counted by staff of its village, and pays the
// member it is credited to under the action's rule.
func (s *Service) contribute(ctx context.Context, a *auth.Actor, id int64, in Participation) (int, error) {
	in.Note = strings.TrimSpace(in.Note)
	var x Action
	var cid, resident int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var ac actionAccess
		var err error
		if x, ac, err = s.takeable(ctx, tx, a, id, "contribution"); err != nil {
			return err
		}
		if !ac.staff {
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		var f errs.Fields
		if in.Amount <= 0 || in.Amount > maxActionAmount {
			f.Add("amount", "honours.action.amount_invalid", maxActionAmount)
		}
		f.Text("note", in.Note, maxActionNote, false)
		var household, village int64
		switch {
		case in.ResidentID > 0:
			err := tx.QueryRowContext(ctx, `SELECT id, household_id, village_id FROM residents WHERE id = $1 AND status = 'active' AND village_id IN (`+db.IDList(ac.villages)+`)`,
				in.ResidentID).Scan(&resident, &household, &village)
			if db.IsNoRows(err) {
				f.Add("resident_id", "honours.action.resident_unknown")
			} else if err != nil {
				return fmt.Errorf("honours: contribution: %w", err)
			}
		case in.HouseholdID > 0:
			err := tx.QueryRowContext(ctx, `SELECT r.id, h.id, h.village_id FROM households h JOIN residents r ON r.id = h.head_resident_id AND r.status = 'active'
				WHERE h.id = $1 AND h.village_id IN (`+db.IDList(ac.villages)+`)`, in.HouseholdID).Scan(&resident, &household, &village)
			if db.IsNoRows(err) {
				f.Add("household_id", "honours.action.household_unknown")
			} else if err != nil {
				return fmt.Errorf("honours: contribution: %w", err)
			}
		default:
			f.Add("resident_id", "honours.action.resident_required")
		}
		if err := f.Err(); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_action_contributions (action_id, village_id, household_id, resident_id, amount, note, recorded_by_name, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, id, village, household, resident, in.Amount, in.Note, a.Name, s.Now()).Scan(&cid); err != nil {
			return fmt.Errorf("honours: contribution: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.action.contribute", Entity: "honours_action_contribution", EntityID: cid, TownID: x.TownID, VillageID: village,
			Summary: auth.Summarize(nil, map[string]any{"action": x.Title, "resident_id": resident, "amount": in.Amount, "note": in.Note})})
	})
	if err != nil {
		return 0, err
	}
	_, _, err = s.payAction(ctx, a, x, "contribution", cid, resident)
	return 1, err
}

// actionPayKey names the earning of taking part in an action: once per person per action, or,
// under a rule per contribution, the deed, contribution or attendance paid.
func actionPayKey(x Action, way string, refID, residentID int64) string {
	if x.PayPer == PayPerPerson {
		return fmt.Sprintf("honours:action:%d:resident:%d", x.ID, residentID)
	}
	return fmt.Sprintf("honours:action:%d:%s:%d", x.ID, way, refID)
}

// payAction pays a resident for a way of taking part in an action under its rule, through the
// bank: once per person per action, or per contribution up to the action's cap per person. A
// payment slot is taken first (honours_action_pays' primary key holds the rule under races), then
// the bank is asked under the slot's key, and its answer kept. note is why nothing was paid: the
// person was paid for the action already, the cap is reached, the earning is on public notice, or
// the bank's refusal.
func (s *Service) payAction(ctx context.Context, a *auth.Actor, x Action, way string, refID, residentID int64) (txID int64, note string, err error) {
	if x.RuleCode == "" {
		return 0, "", nil
	}
	key := actionPayKey(x, way, refID, residentID)
	for try := 0; ; try++ {
		var taken bool
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			var old sql.NullInt64
			var oldNote string
			err := tx.QueryRowContext(ctx, `SELECT transaction_id, note FROM honours_action_pays WHERE action_id = $1 AND way = $2 AND ref_id = $3`, x.ID, way, refID).Scan(&old, &oldNote)
			switch {
			case err == nil && (old.Valid || oldNote != ""):
				txID, note = old.Int64, oldNote
				return nil
			case err == nil:
				taken = true // a payment whose answer was lost: ask again under its key
				return nil
			case !db.IsNoRows(err):
				return fmt.Errorf("honours: pay action: %w", err)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_action_pays WHERE action_id = $1 AND resident_id = $2`, x.ID, residentID).Scan(&n); err != nil {
				return fmt.Errorf("honours: pay action: %w", err)
			}
			if n >= x.PayCap {
				note = "honours.action.paid_once"
				if x.PayPer == PayPerContribution {
					note = "honours.action.cap_reached"
				}
				return keepPayNote(ctx, tx, way, refID, note)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO honours_action_pays (action_id, resident_id, slot, way, ref_id, idem_key, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, x.ID, residentID, n+1, way, refID, key, s.Now())
			if err != nil {
				return fmt.Errorf("honours: pay action: %w", err)
			}
			k, _ := res.RowsAffected()
			taken = k == 1
			if !taken {
				return errSlotRaced
			}
			return nil
		})
		if err == errSlotRaced && try < 20 {
			continue
		}
		if err != nil || !taken {
			return txID, note, err
		}
		break
	}
	results, err := s.Bank.Earn(ctx, a, []bank.Earning{{Key: key, ResidentID: residentID, RuleCode: x.RuleCode, Reason: actionTrunc(s.t("honours.action.pay_reason", x.Title), 200)}})
	if err != nil {
		return 0, "", fmt.Errorf("honours: pay action %d: %w", x.ID, err)
	}
	res := results[0]
	txID, note, retry := res.Answer("honours.action.pay_pending")
	if retry != nil {
		return 0, "", fmt.Errorf("honours: pay action %d: %w", x.ID, retry)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE honours_action_pays SET transaction_id = $1, note = $2 WHERE idem_key = $3`, db.NullID(txID), note, key); err != nil {
			return fmt.Errorf("honours: pay action: %w", err)
		}
		if txID == 0 || res.Replayed {
			return nil
		}
		return s.Notify.Tell(ctx, tx, residentID, notify.Outcome{Title: "honours.action.told_paid_title", Body: "honours.action.told_paid",
			Args: []any{x.Title, res.Balance}, Link: fmt.Sprintf("/honours/actions/%d", x.ID)})
	})
	return txID, note, err
}

// keepPayNote keeps on a deed or contribution why it was not paid; an attendance keeps it on the
// roll (attend.Paid).
func keepPayNote(ctx context.Context, tx *sql.Tx, way string, refID int64, note string) error {
	var err error
	switch way {
	case "deed":
		_, err = tx.ExecContext(ctx, `UPDATE honours_action_deeds SET pay_note = $1 WHERE id = $2`, note, refID)
	case "contribution":
		_, err = tx.ExecContext(ctx, `UPDATE honours_action_contributions SET pay_note = $1 WHERE id = $2`, note, refID)
	}
	if err != nil {
		return fmt.Errorf("honours: pay note: %w", err)
	}
	return nil
}

// errSlotRaced is a payment slot another request took first: count again.
var errSlotRaced = fmt.Errorf("honours: payment slot raced")

// actionTrunc cuts a string to at most n characters.
func actionTrunc(v string, n int) string {
	r := []rune(v)
	if len(r) <= n {
		return v
	}
	return string(r[:n])
}

// ---- what waits

// actionTodos are the deeds waiting for review in the villages the actor serves, and, for the
// town, this month's actions nobody has taken part in yet.
func (s *Service) actionTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.TownID == 0 {
		return nil, nil
	}
	var out []web.Todo
	q := s.DB.Read()
	all, mine := villageScope(a, a.TownID)
	if all || len(mine) > 0 {
		where := `x.town_id = $1 AND d.status = 'pending' AND x.status = 'published'`
		if !all {
			where += ` AND d.village_id IN (` + db.IDList(mine) + `)`
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_action_deeds d JOIN honours_actions x ON x.id = d.action_id WHERE `+where, a.TownID).Scan(&n); err != nil {
			return nil, fmt.Errorf("honours: action todos: %w", err)
		}
		if n > 0 {
			out = append(out, web.Todo{Key: "honours.todo.deeds", Count: n, Path: "/admin/honours/actions"})
		}
	}
	if manages(a, a.TownID) {
		month, err := s.townMonth(ctx, a.TownID)
		if err != nil {
			return nil, err
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_actions x WHERE x.town_id = $1 AND x.month = $2 AND x.status = 'published'
			AND NOT EXISTS (SELECT 1 FROM honours_action_deeds d WHERE d.action_id = x.id)
			AND NOT EXISTS (SELECT 1 FROM honours_action_contributions c WHERE c.action_id = x.id)
			AND NOT EXISTS (SELECT 1 FROM attend_events ev JOIN attend_entries e ON e.event_id = ev.id WHERE ev.kind = 'honours.action' AND ev.ref_id = x.id)`,
			a.TownID, month).Scan(&n); err != nil {
			return nil, fmt.Errorf("honours: action todos: %w", err)
		}
		if n > 0 {
			out = append(out, web.Todo{Key: "honours.todo.actions_idle", Count: n, Path: "/admin/honours/actions"})
		}
	}
	return out, nil
}
