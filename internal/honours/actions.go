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
	"siwei/internal/people"
)

// ActionEvent is the kind of an action's event in the attendance kit: the roll of those who
// registered, and who attended.
const ActionEvent = "honours.action"

// ActionKinds are the kinds of the town's actions: a monthly featured action (特色行动: 腊八's
// 幸福粥, 小年's 扫院擦窗) or a brand action (品牌行动: the collective wedding, the children's
// vaccination-promotion station).
var ActionKinds = []string{"featured", "brand"}

// ActionWays are the ways to take part in an action: register and attend (the kit's attendance
// model), report a deed with a photo (随手拍), and a contribution staff count per household.
var ActionWays = []string{"attend", "deed", "contribution"}

// The ways an action pays under its rule: once per person per action, or per contribution up to a
// cap per person.
const (
	PayPerPerson       = "person"
	PayPerContribution = "contribution"
)

// Bounds of an action's fields.
const (
	maxActionTitle  = 60
	maxActionText   = 2000
	maxActionUnit   = 10
	maxPayCap       = 100
	maxDeedStory    = 500
	maxDeedPhotos   = 3
	maxActionAmount = 100000
	maxActionNote   = 200
)

// Action is a featured or brand action (特色行动, 品牌行动) the town publishes for a month: for all
// its villages or some, with the ways people take part and the rule it pays under.
type Action struct {
	ID            int64        `json:"id"`
	TownID        int64        `json:"town_id"`
	Kind          string       `json:"kind"`
	Title         string       `json:"title"`
	Month         string       `json:"month"`
	Description   string       `json:"description"`
	AllVillages   bool         `json:"all_villages"`
	Villages      []Named      `json:"villages"`
	Ways          []string     `json:"ways"`
	Unit          string       `json:"unit,omitempty"`
	RuleCode      string       `json:"rule_code,omitempty"`
	PayPer        string       `json:"pay_per"`
	PayCap        int          `json:"pay_cap"`
	Status        string       `json:"status"`
	CancelReason  string       `json:"cancel_reason,omitempty"`
	PosterID      int64        `json:"poster_id,omitzero"`
	CreatedByName string       `json:"created_by_name"`
	CreatedAt     time.Time    `json:"created_at"`
	Counts        ActionCounts `json:"counts"`
}

// Takes reports whether people take part in the action the way named.
func (x Action) Takes(way string) bool { return slices.Contains(x.Ways, way) }

// ActionCounts are the participation in an action, or in one of its villages: the registered and those
// who attended, the deeds approved (and waiting, for staff), the contributions with the households
// that gave and the amount, and the distinct people who took part any way.
type ActionCounts struct {
	VillageID     int64  `json:"village_id,omitzero"`
	Village       string `json:"village,omitempty"`
	Registered    int    `json:"registered"`
	Attended      int    `json:"attended"`
	Deeds         int    `json:"deeds"`
	DeedsPending  int    `json:"deeds_pending"`
	Contributions int    `json:"contributions"`
	Households    int    `json:"households"`
	Amount        int64  `json:"amount"`
	People        int    `json:"people"`
}

// Any reports whether anyone took part at all.
func (c ActionCounts) Any() bool {
	return c.Registered+c.Attended+c.Deeds+c.DeedsPending+c.Contributions > 0
}

// ActionInput publishes or changes an action. The poster is an image (base64 in JSON); sent again
// it replaces the one kept.
type ActionInput struct {
	TownID      int64    `json:"town_id,omitempty"`
	Kind        string   `json:"kind"`
	Title       string   `json:"title"`
	Month       string   `json:"month"`
	Description string   `json:"description"`
	AllVillages bool     `json:"all_villages"`
	VillageIDs  []int64  `json:"village_ids"`
	Ways        []string `json:"ways"`
	Unit        string   `json:"unit"`
	RuleCode    string   `json:"rule_code"`
	PayPer      string   `json:"pay_per"`
	PayCap      int      `json:"pay_cap"`
	Poster      []byte   `json:"poster,omitempty"`
}

// ActionDetail is an action as the caller may see it: its participants, the deeds with their
// photos (others' only with consent), the counts by village; staff get the roll, the deeds to
// review and the contributions of their villages; a resident their own part.
type ActionDetail struct {
	Action
	RuleName      string         `json:"rule_name,omitempty"`
	Manages       bool           `json:"manages"`
	Staff         bool           `json:"staff"`
	Resident      bool           `json:"resident"`
	Open          bool           `json:"open"` // the month is not over: people may still take part
	ByVillage     []ActionCounts `json:"by_village"`
	Participants  []Participant  `json:"participants"`
	Deeds         []Deed         `json:"deeds"`
	Contributions []Contribution `json:"contributions,omitempty"`
	Roll          []attend.Entry `json:"roll,omitempty"`
	Mine          *MyPart        `json:"mine,omitempty"`
}

// Participant is a person who took part in an action, and how; a minor's name is masked for
// anyone but staff.
type Participant struct {
	Name    string   `json:"name"`
	Village string   `json:"village"`
	Ways    []string `json:"ways"`
}

// MyPart is a resident's own part in an action.
type MyPart struct {
	Registered    bool           `json:"registered"`
	Attended      bool           `json:"attended"`
	Deeds         []Deed         `json:"deeds"`
	Contributions []Contribution `json:"contributions"`
}

// Deed is a deed reported for an action (随手拍) with its photos; reviewed by the village's staff.
type Deed struct {
	ID             int64     `json:"id"`
	ActionID       int64     `json:"action_id"`
	ActionTitle    string    `json:"action_title,omitempty"`
	VillageID      int64     `json:"village_id"`
	Village        string    `json:"village"`
	ResidentID     int64     `json:"-"`
	ResidentName   string    `json:"resident_name"`
	Story          string    `json:"story"`
	HappenedOn     string    `json:"happened_on"`
	Consent        bool      `json:"consent"`
	Status         string    `json:"status"`
	ReviewedByName string    `json:"reviewed_by_name,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Photos         []int64   `json:"photos"`
	Paid           bool      `json:"paid"`
	PayNote        string    `json:"pay_note,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	birth          string
}

// Contribution is a contribution counted by staff for a household (e.g. rice for 幸福粥), credited
// to one of its members.
type Contribution struct {
	ID             int64     `json:"id"`
	ActionID       int64     `json:"action_id"`
	VillageID      int64     `json:"village_id"`
	Village        string    `json:"village"`
	HouseholdID    int64     `json:"household_id"`
	Household      string    `json:"household"`
	ResidentID     int64     `json:"resident_id"`
	ResidentName   string    `json:"resident_name"`
	Amount         int       `json:"amount"`
	Note           string    `json:"note,omitempty"`
	RecordedByName string    `json:"recorded_by_name"`
	Paid           bool      `json:"paid"`
	PayNote        string    `json:"pay_note,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// ---- reading

const actionCols = `a.id, a.town_id, a.kind, a.title, a.month, a.description, a.all_villages, a.way_attend, a.way_deed, a.way_contribution, a.unit,
	a.rule_code, a.pay_per, a.pay_cap, a.status, a.cancel_reason, a.created_by_name, a.created_at`

func scanAction(sc interface{ Scan(...any) error }) (Action, error) {
	var x Action
	var att, deed, contrib bool
	err := sc.Scan(&x.ID, &x.TownID, &x.Kind, &x.Title, &x.Month, &x.Description, &x.AllVillages, &att, &deed, &contrib, &x.Unit,
		&x.RuleCode, &x.PayPer, &x.PayCap, &x.Status, &x.CancelReason, &x.CreatedByName, &x.CreatedAt)
	x.Ways = []string{}
	for i, on := range []bool{att, deed, contrib} {
		if on {
			x.Ways = append(x.Ways, ActionWays[i])
		}
	}
	return x, err
}

// actions reads actions (a condition on honours_actions a) with their villages, posters and counts.
func (s *Service) actions(ctx context.Context, q db.Querier, where string, args ...any) ([]Action, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+actionCols+` FROM honours_actions a WHERE `+where+` ORDER BY a.month DESC, a.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: actions: %w", err)
	}
	out := []Action{}
	for rows.Next() {
		x, err := scanAction(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("honours: actions: %w", err)
		}
		out = append(out, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		x := &out[i]
		if x.Villages, err = s.actionVillages(ctx, q, *x); err != nil {
			return nil, err
		}
		ids, err := s.photoIDs(ctx, q, "action", x.ID)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			x.PosterID = ids[len(ids)-1]
		}
		byVillage, err := s.actionCounts(ctx, q, x.ID)
		if err != nil {
			return nil, err
		}
		x.Counts = actionTotal(byVillage)
	}
	return out, nil
}

// actionVillages are the villages an action is for: the town's active ones when it is for all.
func (s *Service) actionVillages(ctx context.Context, q db.Querier, x Action) ([]Named, error) {
	if x.AllVillages {
		return s.townVillages(ctx, x.TownID)
	}
	rows, err := q.QueryContext(ctx, `SELECT v.id, v.name FROM honours_action_villages av JOIN villages v ON v.id = av.village_id WHERE av.action_id = $1 ORDER BY v.code, v.id`, x.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: action villages: %w", err)
	}
	defer rows.Close()
	out := []Named{}
	for rows.Next() {
		var n Named
		if err := rows.Scan(&n.ID, &n.Name); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func villageIDs(vs []Named) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// action reads one action, or NotFound.
func (s *Service) action(ctx context.Context, q db.Querier, id int64) (Action, error) {
	list, err := s.actions(ctx, q, `a.id = $1`, id)
	if err != nil {
		return Action{}, err
	}
	if len(list) == 0 {
		return Action{}, notFound
	}
	return list[0], nil
}

// actionAccess is what the caller is to an action: its manager (the town), staff of some of its
// villages (villages: those they serve), or a resident of one of them.
type actionAccess struct {
	manages, staff, resident bool
	villages                 []int64
	me                       people.Me
}

// actionFor reads an action the actor may see, or NotFound: another town's, or one not for the
// resident's village, answers as a missing one.
func (s *Service) actionFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Action, actionAccess, error) {
	var ac actionAccess
	if a == nil {
		return Action{}, ac, notFound
	}
	x, err := s.action(ctx, q, id)
	if err != nil {
		return Action{}, ac, err
	}
	vs := villageIDs(x.Villages)
	if manages(a, x.TownID) {
		ac.manages, ac.staff, ac.villages = true, true, vs
	} else {
		all, mine := villageScope(a, x.TownID)
		for _, v := range vs {
			if all || slices.Contains(mine, v) {
				ac.villages = append(ac.villages, v)
			}
		}
		ac.staff = len(ac.villages) > 0
	}
	me, ok, err := s.me(ctx, q, a)
	if err != nil {
		return Action{}, ac, err
	}
	if ok && me.Active && me.TownID == x.TownID && slices.Contains(vs, me.VillageID) && auth.Can(a, PermJoin, auth.Scope{TownID: me.TownID, VillageID: me.VillageID}) == nil {
		ac.resident, ac.me = true, me
	}
	if !ac.staff && !ac.resident {
		return Action{}, ac, notFound
	}
	return x, ac, nil
}

// monthSpan is the span of a month (2026-01) of the town's calendar.
func (s *Service) monthSpan(ctx context.Context, townID int64, month string) (time.Time, time.Time, error) {
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	m, err := time.ParseInLocation(clock.MonthLayout, month, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("honours: month %q: %w", month, err)
	}
	return m.UTC(), m.AddDate(0, 1, 0).UTC(), nil
}

// open reports whether people may still take part in an action: published and its month not over.
func (s *Service) open(ctx context.Context, x Action) (bool, error) {
	if x.Status != "published" {
		return false, nil
	}
	_, end, err := s.monthSpan(ctx, x.TownID, x.Month)
	return s.Now().Before(end), err
}

// Actions lists a town's actions of a year (0: this year) the actor may see as staff: the town's
// all, a village's staff those for their villages.
func (s *Service) Actions(ctx context.Context, a *auth.Actor, townID int64, year int) ([]Action, error) {
	townID = townOf(a, townID)
	q := s.DB.Read()
	if year == 0 {
		month, err := s.townMonth(ctx, townID)
		if err != nil {
			return nil, err
		}
		fmt.Sscan(month[:4], &year)
	}
	if year < 2000 || year > 2100 {
		return nil, errs.Field("year", "honours.action.year_invalid")
	}
	like := fmt.Sprintf("%04d-%%", year)
	if manages(a, townID) {
		return s.actions(ctx, q, `a.town_id = $1 AND a.month LIKE $2`, townID, like)
	}
	all, mine := villageScope(a, townID)
	if !all && len(mine) == 0 {
		return nil, auth.Refuse(a, PermVillage)
	}
	if all {
		return s.actions(ctx, q, `a.town_id = $1 AND a.month LIKE $2`, townID, like)
	}
	return s.actions(ctx, q, `a.town_id = $1 AND a.month LIKE $2 AND (a.all_villages OR EXISTS (SELECT 1 FROM honours_action_villages av WHERE av.action_id = a.id AND av.village_id IN (`+db.IDList(mine)+`)))`, townID, like)
}

// MyActions are the published actions of the resident's village in the year, newest first; none
// for a login without a resident.
func (s *Service) MyActions(ctx context.Context, a *auth.Actor) (month string, list []Action, err error) {
	q := s.DB.Read()
	me, ok, err := s.me(ctx, q, a)
	if err != nil {
		return "", nil, err
	}
	if !ok || !me.Active {
		return "", []Action{}, nil // a login without a resident takes part in nothing
	}
	if month, err = s.townMonth(ctx, me.TownID); err != nil {
		return "", nil, err
	}
	list, err = s.actions(ctx, q, `a.town_id = $1 AND a.status = 'published' AND a.month LIKE $2
		AND (a.all_villages OR EXISTS (SELECT 1 FROM honours_action_villages av WHERE av.action_id = a.id AND av.village_id = $3))`, me.TownID, month[:4]+"-%", me.VillageID)
	return month, list, err
}

// ---- publishing

// actionRules are the bank rules in force today in every village named: an action pays under a
// rule all its villages have.
func (s *Service) actionRules(ctx context.Context, townID int64, villages []int64) ([]bank.RuleChoice, error) {
	day, err := s.townToday(ctx, townID)
	if err != nil {
		return nil, err
	}
	if len(villages) == 0 {
		villages = []int64{0}
	}
	var out []bank.RuleChoice
	for i, v := range villages {
		rules, err := s.Bank.RulesOffered(ctx, townID, v, day)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out = rules
			continue
		}
		out = slices.DeleteFunc(out, func(r bank.RuleChoice) bool {
			return !slices.ContainsFunc(rules, func(x bank.RuleChoice) bool { return x.Code == r.Code })
		})
	}
	return out, nil
}

// checkAction validates an action's fields, naming each one wrong, and returns the villages it is for.
func (s *Service) checkAction(ctx context.Context, q db.Querier, townID int64, in *ActionInput) ([]int64, error) {
	in.Title, in.Description, in.Unit, in.RuleCode, in.Month = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description), strings.TrimSpace(in.Unit), strings.TrimSpace(in.RuleCode), strings.TrimSpace(in.Month)
	var f errs.Fields
	if !slices.Contains(ActionKinds, in.Kind) {
		f.Add("kind", "honours.action.kind_invalid")
	}
	f.Text("title", in.Title, maxActionTitle, true)
	f.Text("description", in.Description, maxActionText, false)
	if in.Month == "" {
		f.Add("month", "field.required")
	} else if m, err := time.Parse(clock.MonthLayout, in.Month); err != nil || m.Year() < 2000 || m.Year() > 2100 {
		f.Add("month", "honours.action.month_invalid")
	}
	slices.Sort(in.Ways)
	in.Ways = slices.Compact(in.Ways)
	if len(in.Ways) == 0 {
		f.Add("ways", "honours.action.ways_required")
	} else if slices.ContainsFunc(in.Ways, func(w string) bool { return !slices.Contains(ActionWays, w) }) {
		f.Add("ways", "honours.action.way_invalid")
	}
	f.Text("unit", in.Unit, maxActionUnit, slices.Contains(in.Ways, "contribution"))
	if in.PayPer == "" {
		in.PayPer = PayPerPerson
	}
	switch in.PayPer {
	case PayPerPerson:
		in.PayCap = 1
	case PayPerContribution:
		if in.PayCap < 1 || in.PayCap > maxPayCap {
			f.Add("pay_cap", "honours.action.cap_invalid", maxPayCap)
		}
	default:
		f.Add("pay_per", "honours.action.pay_per_invalid")
	}
	var villages []int64
	if in.AllVillages {
		in.VillageIDs = nil
	} else if !tooMany(&f, "village_ids", in.VillageIDs) {
		slices.Sort(in.VillageIDs)
		in.VillageIDs = slices.Compact(in.VillageIDs)
		if len(in.VillageIDs) == 0 || in.VillageIDs[0] <= 0 {
			f.Add("village_ids", "honours.action.villages_required")
		} else {
			var n int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM villages WHERE town_id = $1 AND active AND id IN (`+db.IDList(in.VillageIDs)+`)`, townID).Scan(&n); err != nil {
				return nil, fmt.Errorf("honours: action villages: %w", err)
			}
			if n != len(in.VillageIDs) {
				f.Add("village_ids", "honours.action.village_unknown")
			}
			villages = in.VillageIDs
		}
	}
	if in.RuleCode != "" {
		vs := villages
		if f.Has("village_ids") {
			vs = nil
		}
		rules, err := s.actionRules(ctx, townID, vs)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(rules, func(r bank.RuleChoice) bool { return r.Code == in.RuleCode }) {
			f.Add("rule_code", "bank.rule_unknown")
		}
	}
	if len(in.Poster) > bank.MaxPhotoBytes {
		f.Add("poster", "bank.photo_too_large")
	}
	return villages, f.Err()
}

// saveAction writes an action's villages, poster and attendance event.
func (s *Service) saveAction(ctx context.Context, tx *sql.Tx, id, townID int64, in ActionInput) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM honours_action_villages WHERE action_id = $1`, id); err != nil {
		return fmt.Errorf("honours: action villages: %w", err)
	}
	for _, v := range in.VillageIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO honours_action_villages (action_id, village_id) VALUES ($1, $2)`, id, v); err != nil {
			return fmt.Errorf("honours: action villages: %w", err)
		}
	}
	if len(in.Poster) > 0 {
		if err := s.savePhotos(ctx, tx, "action", id, [][]byte{in.Poster}); err != nil {
			return err
		}
	}
	if !slices.Contains(in.Ways, "attend") {
		return nil
	}
	start, end, err := s.monthSpan(ctx, townID, in.Month)
	if err != nil {
		return err
	}
	var village int64
	if len(in.VillageIDs) == 1 {
		village = in.VillageIDs[0]
	}
	_, err = s.Attend.Ensure(ctx, tx, attend.Event{Kind: ActionEvent, RefID: id, TownID: townID, VillageID: village, Title: in.Title, StartsAt: start, EndsAt: end})
	return err
}

func actionHas(ways []string, w string) bool { return slices.Contains(ways, w) }

// CreateAction publishes an action of a town the actor manages (the 镇级总行).
func (s *Service) CreateAction(ctx context.Context, a *auth.Actor, in ActionInput) (ActionDetail, error) {
	townID := townOf(a, in.TownID)
	if !manages(a, townID) {
		return ActionDetail{}, auth.Refuse(a, PermManage)
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.checkAction(ctx, tx, townID, &in); err != nil {
			return err
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_actions (town_id, kind, title, month, description, all_villages, way_attend, way_deed, way_contribution,
			unit, rule_code, pay_per, pay_cap, created_by, created_by_name, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id`,
			townID, in.Kind, in.Title, in.Month, in.Description, in.AllVillages, actionHas(in.Ways, "attend"), actionHas(in.Ways, "deed"), actionHas(in.Ways, "contribution"),
			in.Unit, in.RuleCode, in.PayPer, in.PayCap, a.AccountID, a.Name, now).Scan(&id); err != nil {
			return fmt.Errorf("honours: create action: %w", err)
		}
		if err := s.saveAction(ctx, tx, id, townID, in); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.action.create", Entity: "honours_action", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "kind": in.Kind, "month": in.Month, "ways": in.Ways, "rule_code": in.RuleCode})})
	})
	if err != nil {
		return ActionDetail{}, err
	}
	return s.ActionDetail(ctx, a, id)
}

// UpdateAction changes an action the actor manages. The ways and rule of an action someone took
// part in stay as they are, so that nobody is paid under two rules for one action.
func (s *Service) UpdateAction(ctx context.Context, a *auth.Actor, id int64, in ActionInput) (ActionDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, ac, err := s.actionFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !ac.manages {
			return auth.Refuse(a, PermManage)
		}
		byVillage, err := s.actionCounts(ctx, tx, id)
		if err != nil {
			return err
		}
		if actionTotal(byVillage).Any() {
			in.Ways, in.RuleCode, in.PayPer, in.PayCap = x.Ways, x.RuleCode, x.PayPer, x.PayCap
		}
		if _, err := s.checkAction(ctx, tx, x.TownID, &in); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE honours_actions SET kind = $1, title = $2, month = $3, description = $4, all_villages = $5, way_attend = $6,
			way_deed = $7, way_contribution = $8, unit = $9, rule_code = $10, pay_per = $11, pay_cap = $12, updated_at = $13 WHERE id = $14`,
			in.Kind, in.Title, in.Month, in.Description, in.AllVillages, actionHas(in.Ways, "attend"), actionHas(in.Ways, "deed"), actionHas(in.Ways, "contribution"),
			in.Unit, in.RuleCode, in.PayPer, in.PayCap, s.Now(), id); err != nil {
			return fmt.Errorf("honours: update action: %w", err)
		}
		if err := s.saveAction(ctx, tx, id, x.TownID, in); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.action.update", Entity: "honours_action", EntityID: id, TownID: x.TownID,
			Summary: auth.Summarize(map[string]any{"title": x.Title, "month": x.Month}, map[string]any{"title": in.Title, "month": in.Month})})
	})
	if err != nil {
		return ActionDetail{}, err
	}
	return s.ActionDetail(ctx, a, id)
}

// ---- the action's page

// ActionDetail is an action as the actor may see it.
func (s *Service) ActionDetail(ctx context.Context, a *auth.Actor, id int64) (ActionDetail, error) {
	q := s.DB.Read()
	x, ac, err := s.actionFor(ctx, q, a, id)
	if err != nil {
		return ActionDetail{}, err
	}
	d := ActionDetail{Action: x, Manages: ac.manages, Staff: ac.staff, Resident: ac.resident}
	if d.Open, err = s.open(ctx, x); err != nil {
		return d, err
	}
	if x.RuleCode != "" {
		rules, err := s.actionRules(ctx, x.TownID, nil)
		if err != nil {
			return d, err
		}
		for _, r := range rules {
			if r.Code == x.RuleCode {
				d.RuleName = r.Name
			}
		}
	}
	if d.ByVillage, err = s.actionCounts(ctx, q, id); err != nil {
		return d, err
	}
	today, err := s.townToday(ctx, x.TownID)
	if err != nil {
		return d, err
	}
	if d.Participants, err = s.participants(ctx, q, x, !ac.staff, today); err != nil {
		return d, err
	}
	// Deeds: staff see their villages' all; everyone the approved ones, photos only with consent.
	deeds, err := s.deeds(ctx, q, `d.action_id = $1`, id)
	if err != nil {
		return d, err
	}
	d.Deeds = []Deed{}
	for _, dd := range deeds {
		mine := ac.resident && dd.ResidentID == ac.me.ID
		switch {
		case ac.staff && slices.Contains(ac.villages, dd.VillageID):
		case dd.Status == "approved" || mine:
			if !dd.Consent && !mine {
				dd.Photos = []int64{}
			}
			if !mine && minorOn(dd.birth, today) {
				dd.ResidentName = bank.MaskMinor(dd.ResidentName)
			}
		default:
			continue
		}
		d.Deeds = append(d.Deeds, dd)
	}
	if ac.staff {
		if d.Contributions, err = s.contributions(ctx, q, `c.action_id = $1 AND c.village_id IN (`+db.IDList(ac.villages)+`)`, id); err != nil {
			return d, err
		}
		if x.Takes("attend") {
			ev, err := s.Attend.EventOf(ctx, q, ActionEvent, id)
			if err == nil {
				roll, err := s.Attend.Roll(ctx, q, ev.ID)
				if err != nil {
					return d, err
				}
				names := map[string]bool{}
				for _, v := range x.Villages {
					names[v.Name] = slices.Contains(ac.villages, v.ID)
				}
				d.Roll = slices.DeleteFunc(roll, func(e attend.Entry) bool { return !names[e.VillageName] })
			} else if !errs.Is(err, errs.NotFound) {
				return d, err
			}
		}
	}
	if ac.resident {
		if d.Mine, err = s.myPart(ctx, q, x, ac.me.ID); err != nil {
			return d, err
		}
	}
	return d, nil
}

// minorOn reports whether a birth date (2006-01-02) is of someone under 18 on the day.
func minorOn(birth, day string) bool {
	b, err1 := time.Parse(clock.DayLayout, birth)
	t, err2 := time.Parse(clock.DayLayout, day)
	return err1 == nil && err2 == nil && (people.Resident{BirthDate: b}).Age(t) < 18
}

// actionCounts are an action's counts by village, for the villages it is for.
func (s *Service) actionCounts(ctx context.Context, q db.Querier, id int64) ([]ActionCounts, error) {
	var townID int64
	var all bool
	if err := q.QueryRowContext(ctx, `SELECT town_id, all_villages FROM honours_actions WHERE id = $1`, id).Scan(&townID, &all); err != nil {
		return nil, fmt.Errorf("honours: action counts: %w", err)
	}
	vs, err := s.actionVillages(ctx, q, Action{ID: id, TownID: townID, AllVillages: all})
	if err != nil {
		return nil, err
	}
	out := make([]ActionCounts, len(vs))
	at := map[int64]*ActionCounts{}
	for i, v := range vs {
		out[i] = ActionCounts{VillageID: v.ID, Village: v.Name}
		at[v.ID] = &out[i]
	}
	queries := []struct {
		sql  string
		scan func(c *ActionCounts, n int64)
	}{
		{`SELECT r.village_id, COUNT(*) FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id JOIN residents r ON r.id = e.resident_id
			WHERE ev.kind = 'honours.action' AND ev.ref_id = $1 GROUP BY r.village_id`, func(c *ActionCounts, n int64) { c.Registered = int(n) }},
		{`SELECT r.village_id, COUNT(*) FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id JOIN residents r ON r.id = e.resident_id
			WHERE ev.kind = 'honours.action' AND ev.ref_id = $1 AND e.checked_in_at IS NOT NULL GROUP BY r.village_id`, func(c *ActionCounts, n int64) { c.Attended = int(n) }},
		{`SELECT village_id, COUNT(*) FROM honours_action_deeds WHERE action_id = $1 AND status = 'approved' GROUP BY village_id`, func(c *ActionCounts, n int64) { c.Deeds = int(n) }},
		{`SELECT village_id, COUNT(*) FROM honours_action_deeds WHERE action_id = $1 AND status = 'pending' GROUP BY village_id`, func(c *ActionCounts, n int64) { c.DeedsPending = int(n) }},
		{`SELECT village_id, COUNT(*) FROM honours_action_contributions WHERE action_id = $1 GROUP BY village_id`, func(c *ActionCounts, n int64) { c.Contributions = int(n) }},
		{`SELECT village_id, COUNT(DISTINCT household_id) FROM honours_action_contributions WHERE action_id = $1 GROUP BY village_id`, func(c *ActionCounts, n int64) { c.Households = int(n) }},
		{`SELECT village_id, SUM(amount) FROM honours_action_contributions WHERE action_id = $1 GROUP BY village_id`, func(c *ActionCounts, n int64) { c.Amount = n }},
		{`SELECT t.village_id, COUNT(DISTINCT t.resident_id) FROM (
			SELECT r.village_id, e.resident_id FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id JOIN residents r ON r.id = e.resident_id
				WHERE ev.kind = 'honours.action' AND ev.ref_id = $1 AND e.checked_in_at IS NOT NULL
			UNION SELECT village_id, resident_id FROM honours_action_deeds WHERE action_id = $1 AND status = 'approved'
			UNION SELECT village_id, resident_id FROM honours_action_contributions WHERE action_id = $1) t GROUP BY t.village_id`, func(c *ActionCounts, n int64) { c.People = int(n) }},
	}
	for _, qq := range queries {
		rows, err := q.QueryContext(ctx, qq.sql, id)
		if err != nil {
			return nil, fmt.Errorf("honours: action counts: %w", err)
		}
		for rows.Next() {
			var v, n int64
			if err := rows.Scan(&v, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("honours: action counts: %w", err)
			}
			if c := at[v]; c != nil {
				qq.scan(c, n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// actionTotal adds up the counts of the villages.
func actionTotal(byVillage []ActionCounts) ActionCounts {
	var t ActionCounts
	for _, c := range byVillage {
		t.Registered += c.Registered
		t.Attended += c.Attended
		t.Deeds += c.Deeds
		t.DeedsPending += c.DeedsPending
		t.Contributions += c.Contributions
		t.Households += c.Households
		t.Amount += c.Amount
		t.People += c.People
	}
	return t
}

// participants are the people who took part in an action: attended, a deed approved, or a
// contribution counted; masked is true for a board anyone of its villages sees.
func (s *Service) participants(ctx context.Context, q db.Querier, x Action, masked bool, today string) ([]Participant, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.resident_id, t.way, r.name, r.birth_date, v.name FROM (
		SELECT e.resident_id, 'attend' AS way FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id
			WHERE ev.kind = 'honours.action' AND ev.ref_id = $1 AND e.checked_in_at IS NOT NULL
		UNION SELECT resident_id, 'deed' AS way FROM honours_action_deeds WHERE action_id = $1 AND status = 'approved'
		UNION SELECT resident_id, 'contribution' AS way FROM honours_action_contributions WHERE action_id = $1) t
		JOIN residents r ON r.id = t.resident_id JOIN villages v ON v.id = r.village_id ORDER BY v.code, r.name, r.id, t.way`, x.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: participants: %w", err)
	}
	defer rows.Close()
	out := []Participant{}
	at := map[int64]int{}
	for rows.Next() {
		var id int64
		var way, name, birth, village string
		if err := rows.Scan(&id, &way, &name, &birth, &village); err != nil {
			return nil, fmt.Errorf("honours: participants: %w", err)
		}
		i, ok := at[id]
		if !ok {
			if masked && minorOn(birth, today) {
				name = bank.MaskMinor(name)
			}
			out = append(out, Participant{Name: name, Village: village})
			i = len(out) - 1
			at[id] = i
		}
		out[i].Ways = append(out[i].Ways, way)
	}
	return out, rows.Err()
}

const deedCols = `d.id, d.action_id, x.title, d.village_id, v.name, d.resident_id, r.name, r.birth_date, d.story, d.happened_on, d.consent, d.status,
	d.reviewed_by_name, d.reason, d.created_at, COALESCE(p.transaction_id, 0), COALESCE(p.note, d.pay_note)`

// deeds reads deeds (a condition on honours_action_deeds d) with their photos and what they were paid.
func (s *Service) deeds(ctx context.Context, q db.Querier, where string, args ...any) ([]Deed, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+deedCols+` FROM honours_action_deeds d JOIN honours_actions x ON x.id = d.action_id
		JOIN villages v ON v.id = d.village_id JOIN residents r ON r.id = d.resident_id
		LEFT JOIN honours_action_pays p ON p.action_id = d.action_id AND p.way = 'deed' AND p.ref_id = d.id
		WHERE `+where+` ORDER BY d.created_at DESC, d.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: deeds: %w", err)
	}
	out := []Deed{}
	for rows.Next() {
		var d Deed
		var tx int64
		if err := rows.Scan(&d.ID, &d.ActionID, &d.ActionTitle, &d.VillageID, &d.Village, &d.ResidentID, &d.ResidentName, &d.birth, &d.Story, &d.HappenedOn,
			&d.Consent, &d.Status, &d.ReviewedByName, &d.Reason, &d.CreatedAt, &tx, &d.PayNote); err != nil {
			rows.Close()
			return nil, fmt.Errorf("honours: deeds: %w", err)
		}
		d.Paid = tx != 0
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Photos, err = s.photoIDs(ctx, q, "deed", out[i].ID); err != nil {
			return nil, err
		}
		if out[i].Photos == nil {
			out[i].Photos = []int64{}
		}
	}
	return out, nil
}

// contributions reads contributions (a condition on honours_action_contributions c).
func (s *Service) contributions(ctx context.Context, q db.Querier, where string, args ...any) ([]Contribution, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.action_id, c.village_id, v.name, c.household_id, h.number, c.resident_id, r.name, c.amount, c.note,
		c.recorded_by_name, c.created_at, COALESCE(p.transaction_id, 0), COALESCE(p.note, c.pay_note)
		FROM honours_action_contributions c JOIN villages v ON v.id = c.village_id JOIN households h ON h.id = c.household_id JOIN residents r ON r.id = c.resident_id
		LEFT JOIN honours_action_pays p ON p.action_id = c.action_id AND p.way = 'contribution' AND p.ref_id = c.id
		WHERE `+where+` ORDER BY c.created_at DESC, c.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: contributions: %w", err)
	}
	defer rows.Close()
	out := []Contribution{}
	for rows.Next() {
		var c Contribution
		var tx int64
		if err := rows.Scan(&c.ID, &c.ActionID, &c.VillageID, &c.Village, &c.HouseholdID, &c.Household, &c.ResidentID, &c.ResidentName, &c.Amount, &c.Note,
			&c.RecordedByName, &c.CreatedAt, &tx, &c.PayNote); err != nil {
			return nil, fmt.Errorf("honours: contributions: %w", err)
		}
		c.Paid = tx != 0
		out = append(out, c)
	}
	return out, rows.Err()
}

// myPart is a resident's own part in an action.
func (s *Service) myPart(ctx context.Context, q db.Querier, x Action, residentID int64) (*MyPart, error) {
	m := &MyPart{}
	if x.Takes("attend") {
		ev, err := s.Attend.EventOf(ctx, q, ActionEvent, x.ID)
		if err == nil {
			e, err := s.Attend.Entry(ctx, q, ev.ID, residentID)
			if err == nil {
				m.Registered, m.Attended = true, e.Checked()
			} else if !errs.Is(err, errs.NotFound) {
				return nil, err
			}
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	var err error
	if m.Deeds, err = s.deeds(ctx, q, `d.action_id = $1 AND d.resident_id = $2`, x.ID, residentID); err != nil {
		return nil, err
	}
	if m.Contributions, err = s.contributions(ctx, q, `c.action_id = $1 AND c.resident_id = $2`, x.ID, residentID); err != nil {
		return nil, err
	}
	return m, nil
}

// seesActionPhoto: an action's poster to anyone who may see the action; a deed's photo to the
// staff of its village and its reporter, and to the action's others once approved, with consent.
func (s *Service) seesActionPhoto(ctx context.Context, q db.Querier, a *auth.Actor, owner string, id int64) (bool, error) {
	if owner == "action" {
		_, _, err := s.actionFor(ctx, q, a, id)
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return err == nil, err
	}
	var actionID, villageID, residentID int64
	var status string
	var consent bool
	err := q.QueryRowContext(ctx, `SELECT action_id, village_id, resident_id, status, consent FROM honours_action_deeds WHERE id = $1`, id).
		Scan(&actionID, &villageID, &residentID, &status, &consent)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("honours: deed photo: %w", err)
	}
	_, ac, err := s.actionFor(ctx, q, a, actionID)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case ac.staff && slices.Contains(ac.villages, villageID):
		return true, nil
	case ac.resident && ac.me.ID == residentID:
		return true, nil
	}
	return status == "approved" && consent, nil
}

// tookPart are the actions the resident took part in any way: registered, a deed reported, or a
// contribution counted.
func (s *Service) tookPart(ctx context.Context, a *auth.Actor) (map[int64]bool, error) {
	out := map[int64]bool{}
	me, ok, err := s.me(ctx, s.DB.Read(), a)
	if err != nil || !ok {
		return out, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT ev.ref_id FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id WHERE ev.kind = 'honours.action' AND e.resident_id = $1
		UNION SELECT action_id FROM honours_action_deeds WHERE resident_id = $1
		UNION SELECT action_id FROM honours_action_contributions WHERE resident_id = $1`, me.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: took part: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
