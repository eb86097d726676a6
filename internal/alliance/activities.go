package alliance

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
	"siwei/internal/period"
)

// ActivityEvent is the kind of an activity's event in the attendance kit.
const ActivityEvent = "alliance.activity"

// ActivityKinds are the kinds of an alliance activity (联盟活动): 便民服务日, 敬老服务日, 宣传, 文体,
// 培训, 其他.
var ActivityKinds = []string{"service_day", "elderly_day", "publicity", "culture", "training", "other"}

// The states of an activity.
const (
	ActivityPlanned   = "planned"
	ActivityClosed    = "closed"
	ActivityCancelled = "cancelled"
)

// Bounds of an activity's fields.
const (
	maxActivityTitle = 60
	maxActivityPlace = 100
	maxActivityText  = 1000
	maxActivityCap   = 10000
	maxServed        = 100000
	maxActivityPhoto = 6
)

// Activity is an alliance activity (联盟活动): organised by member units for villages, with its
// registrations and check-ins on the attendance kit, and the people served who were not
// registered (Served, counted as ServedMethod says: 现场计数, 签到表, 估算). PersonTimes (人次) are the
// check-ins plus Served; a cancelled activity has none.
type Activity struct {
	ID           int64     `json:"id"`
	TownID       int64     `json:"town_id"`
	Kind         string    `json:"kind"`
	Title        string    `json:"title"`
	Place        string    `json:"place"`
	Description  string    `json:"description"`
	StartsAt     time.Time `json:"starts_at"`
	EndsAt       time.Time `json:"ends_at"`
	Capacity     int       `json:"capacity"`
	RuleCode     string    `json:"rule_code,omitempty"`
	Served       int       `json:"served"`
	ServedMethod string    `json:"served_method,omitempty"`
	Status       string    `json:"status"`
	CancelReason string    `json:"cancel_reason,omitempty"`
	Units        []Named   `json:"units"`
	Villages     []Named   `json:"villages"`
	Registered   int       `json:"registered"`
	CheckedIn    int       `json:"checked_in"`
	PersonTimes  int       `json:"person_times"`
	// Mine is the caller's own place on it, for a resident: "", "registered" or "checked".
	Mine string `json:"mine,omitempty"`
}

// ActivityDetail is an activity as the caller may see it: staff get the roll and what they may do.
type ActivityDetail struct {
	Activity
	Roll        []attend.Entry `json:"roll,omitempty"`
	Photos      []int64        `json:"photos"`
	Manages     bool           `json:"manages"`      // may edit and cancel it
	Staff       bool           `json:"staff"`        // may check people in and close it
	Unit        bool           `json:"unit"`         // the caller is a liaison of one of its units
	MayRegister bool           `json:"may_register"` // the caller, a resident of its villages, may register now
	RuleName    string         `json:"rule_name,omitempty"`
	EventID     int64          `json:"-"`
}

// ActivityInput plans or changes an activity; times are the town's wall time (2006-01-02 15:04).
type ActivityInput struct {
	TownID      int64   `json:"town_id"`
	Kind        string  `json:"kind"`
	Title       string  `json:"title"`
	Place       string  `json:"place"`
	Description string  `json:"description"`
	StartsAt    string  `json:"starts_at"`
	EndsAt      string  `json:"ends_at"`
	Capacity    int     `json:"capacity"`
	RuleCode    string  `json:"rule_code"`
	UnitIDs     []int64 `json:"unit_ids"`
	VillageIDs  []int64 `json:"village_ids"`
}

// ActivityCheckin checks people in: staff name residents (method roll or sheet); a resident sends
// the token of the activity's QR or link to check themself in.
type ActivityCheckin struct {
	ResidentIDs []int64 `json:"resident_ids,omitempty"`
	Method      string  `json:"method,omitempty"`
	Token       string  `json:"token,omitempty"`
}

// ActivityClose closes an activity's roll with the people served who were not registered and how
// they were counted; its attendees are then paid under its rule.
type ActivityClose struct {
	Served       int    `json:"served"`
	ServedMethod string `json:"served_method"`
}

// ActivityFilter narrows the staff's list.
type ActivityFilter struct {
	VillageID int64
	Kind      string
}

// PersonTimes are the activities of a period and the people they reached (人次): check-ins plus
// the unregistered served, in all, by kind and by month.
type PersonTimes struct {
	From       string       `json:"from"`
	To         string       `json:"to"`
	Activities int          `json:"activities"`
	CheckedIn  int          `json:"checked_in"`
	Served     int          `json:"served"`
	Total      int          `json:"total"`
	ByKind     []KindTimes  `json:"by_kind"`
	ByMonth    []MonthTimes `json:"by_month"` // the months that had activities, in order
}

// MonthTimes are a month's activities and person-times.
type MonthTimes struct {
	Month       string `json:"month"` // 2026-05
	Activities  int    `json:"activities"`
	PersonTimes int    `json:"person_times"`
}

// KindTimes are a kind's activities and person-times in a period.
type KindTimes struct {
	Kind        string `json:"kind"`
	Activities  int    `json:"activities"`
	PersonTimes int    `json:"person_times"`
}

// activityPayKey names the earning of a resident's attendance at an activity, once each.
func activityPayKey(activityID, residentID int64) string {
	return fmt.Sprintf("alliance:activity:%d:resident:%d", activityID, residentID)
}

const activityCols = `a.id, a.town_id, a.kind, a.title, a.place, a.description, a.starts_at, a.ends_at, a.capacity, a.rule_code, a.served, a.served_method,
	a.status, a.cancel_reason, COALESCE(e.roll_count, 0), COALESCE(e.checked_count, 0)`

const activityFrom = ` FROM alliance_activities a LEFT JOIN attend_events e ON e.kind = 'alliance.activity' AND e.ref_id = a.id`

func scanActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var x Activity
	err := sc.Scan(&x.ID, &x.TownID, &x.Kind, &x.Title, &x.Place, &x.Description, &x.StartsAt, &x.EndsAt, &x.Capacity, &x.RuleCode, &x.Served, &x.ServedMethod,
		&x.Status, &x.CancelReason, &x.Registered, &x.CheckedIn)
	x.PersonTimes = x.CheckedIn + x.Served
	if x.Status == ActivityCancelled {
		x.PersonTimes = 0
	}
	x.Units, x.Villages = []Named{}, []Named{}
	return x, err
}

// listActivities reads activities with their units and villages.
func (s *Service) listActivities(ctx context.Context, q db.Querier, where string, args ...any) ([]Activity, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+activityCols+activityFrom+` WHERE `+where+` ORDER BY a.starts_at DESC, a.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("alliance: activities: %w", err)
	}
	out := []Activity{}
	at := map[int64]int{}
	var ids []int64
	for rows.Next() {
		x, err := scanActivity(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("alliance: activities: %w", err)
		}
		at[x.ID] = len(out)
		ids = append(ids, x.ID)
		out = append(out, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return out, nil
	}
	for _, part := range []struct{ sql string }{
		{`SELECT au.activity_id, u.id, u.name FROM alliance_activity_units au JOIN alliance_units u ON u.id = au.unit_id WHERE au.activity_id IN (` + db.IDList(ids) + `) ORDER BY u.name`},
		{`SELECT av.activity_id, v.id, v.name FROM alliance_activity_villages av JOIN villages v ON v.id = av.village_id WHERE av.activity_id IN (` + db.IDList(ids) + `) ORDER BY v.name`},
	} {
		rows, err := q.QueryContext(ctx, part.sql)
		if err != nil {
			return nil, fmt.Errorf("alliance: activities: %w", err)
		}
		for rows.Next() {
			var aid int64
			var n Named
			if err := rows.Scan(&aid, &n.ID, &n.Name); err != nil {
				rows.Close()
				return nil, err
			}
			x := &out[at[aid]]
			if strings.Contains(part.sql, "alliance_units") {
				x.Units = append(x.Units, n)
			} else {
				x.Villages = append(x.Villages, n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) activity(ctx context.Context, q db.Querier, id int64) (Activity, error) {
	list, err := s.listActivities(ctx, q, `a.id = $1`, id)
	if err != nil {
		return Activity{}, err
	}
	if len(list) == 0 {
		return Activity{}, notFound
	}
	return list[0], nil
}

// activityAccess is what the caller is to an activity.
type activityAccess struct {
	manages  bool // the town's alliance staff
	staff    bool // checks people in and closes: alliance staff, or staff of one of its villages
	unit     bool // a liaison of one of its units
	resident bool // a resident of one of its villages
	me       Me
	// villages are the activity's villages whose people the actor sees on its roll and checks in:
	// all of them for the town's alliance staff, a village's staff only their own.
	villages []int64
}

func (x activityAccess) any() bool { return x.manages || x.staff || x.unit || x.resident }

// access decides what the actor is to an activity.
func (s *Service) access(ctx context.Context, q db.Querier, a *auth.Actor, x Activity) (activityAccess, error) {
	var ac activityAccess
	ac.manages = manages(a, x.TownID)
	ac.staff = ac.manages
	for _, v := range x.Villages {
		if ac.manages || servesVillage(a, x.TownID, v.ID) {
			ac.staff = true
			ac.villages = append(ac.villages, v.ID)
		}
	}
	mine, err := s.myUnit(ctx, q, a)
	if err != nil {
		return ac, err
	}
	if mine != 0 && x.TownID == a.TownID {
		ac.unit = slices.ContainsFunc(x.Units, func(n Named) bool { return n.ID == mine })
	}
	me, ok, err := s.me(ctx, q, a)
	if err != nil {
		return ac, err
	}
	if ok && me.Active && me.TownID == x.TownID && auth.Can(a, PermJoin, auth.Scope{TownID: me.TownID, VillageID: me.VillageID, ResidentID: me.ID}) == nil {
		ac.resident = slices.ContainsFunc(x.Villages, func(n Named) bool { return n.ID == me.VillageID })
		ac.me = me
	}
	return ac, nil
}

// activityFor reads an activity the actor may see, or NotFound.
func (s *Service) activityFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Activity, activityAccess, error) {
	x, err := s.activity(ctx, q, id)
	if err != nil {
		return x, activityAccess{}, err
	}
	ac, err := s.access(ctx, q, a, x)
	if err != nil {
		return x, ac, err
	}
	if !ac.any() {
		return Activity{}, ac, notFound
	}
	return x, ac, nil
}

// activityScope is the condition on alliance_activities a of a town's activities the actor may
// list as staff or liaison; a refusal for anyone else.
func (s *Service) activityScope(ctx context.Context, q db.Querier, a *auth.Actor, townID int64) (string, error) {
	town := fmt.Sprintf("a.town_id = %d", townID)
	if manages(a, townID) {
		return town, nil
	}
	if all, villages := villageScope(a, townID); all {
		return town, nil
	} else if len(villages) > 0 {
		return town + ` AND a.id IN (SELECT activity_id FROM alliance_activity_villages WHERE village_id IN (` + db.IDList(villages) + `))`, nil
	}
	mine, err := s.myUnit(ctx, q, a)
	if err != nil {
		return "", err
	}
	if mine == 0 || townID != a.TownID {
		return "", auth.Refuse(a, PermManage)
	}
	return town + fmt.Sprintf(` AND a.id IN (SELECT activity_id FROM alliance_activity_units WHERE unit_id = %d)`, mine), nil
}

// Activities lists a town's activities the actor may see as staff or liaison, newest first.
func (s *Service) Activities(ctx context.Context, a *auth.Actor, townID int64, f ActivityFilter) ([]Activity, error) {
	townID = townOf(a, townID)
	q := s.DB.Read()
	where, err := s.activityScope(ctx, q, a, townID)
	if err != nil {
		return nil, err
	}
	var args []any
	if f.VillageID != 0 {
		where += fmt.Sprintf(` AND a.id IN (SELECT activity_id FROM alliance_activity_villages WHERE village_id = %d)`, f.VillageID)
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		where += ` AND a.kind = $1`
	}
	return s.listActivities(ctx, q, where, args...)
}

// MyActivities are the activities for the resident's village, with their own place on each: the
// upcoming first, soonest first, then the past.
func (s *Service) MyActivities(ctx context.Context, a *auth.Actor) ([]Activity, error) {
	q := s.DB.Read()
	me, ok, err := s.me(ctx, q, a)
	if err != nil {
		return nil, err
	}
	if !ok || auth.Can(a, PermJoin, auth.Scope{TownID: me.TownID, VillageID: me.VillageID, ResidentID: me.ID}) != nil {
		return []Activity{}, nil // staff without a resident record take part in none
	}
	list, err := s.listActivities(ctx, q, `a.town_id = $1 AND a.status <> 'cancelled' AND a.id IN (SELECT activity_id FROM alliance_activity_villages WHERE village_id = $2)`,
		me.TownID, me.VillageID)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT e.ref_id, x.checked_in_at IS NOT NULL FROM attend_entries x JOIN attend_events e ON e.id = x.event_id
		WHERE e.kind = 'alliance.activity' AND x.resident_id = $1`, me.ID)
	if err != nil {
		return nil, fmt.Errorf("alliance: my activities: %w", err)
	}
	mine := map[int64]string{}
	for rows.Next() {
		var id int64
		var checked bool
		if err := rows.Scan(&id, &checked); err != nil {
			rows.Close()
			return nil, err
		}
		mine[id] = "registered"
		if checked {
			mine[id] = "checked"
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	var up, past []Activity
	for _, x := range list {
		x.Mine = mine[x.ID]
		if x.Status == ActivityPlanned && x.EndsAt.After(now) {
			up = append(up, x)
		} else {
			past = append(past, x)
		}
	}
	slices.Reverse(up)
	return append(append([]Activity{}, up...), past...), nil
}

// ActivityDetail is an activity as the actor may see it: staff and liaisons get its roll.
func (s *Service) ActivityDetail(ctx context.Context, a *auth.Actor, id int64) (ActivityDetail, error) {
	q := s.DB.Read()
	x, ac, err := s.activityFor(ctx, q, a, id)
	if err != nil {
		return ActivityDetail{}, err
	}
	d := ActivityDetail{Activity: x, Manages: ac.manages, Staff: ac.staff, Unit: ac.unit}
	ev, err := s.Attend.EventOf(ctx, q, ActivityEvent, id)
	if err != nil {
		return d, err
	}
	d.EventID = ev.ID
	if ac.staff { // a unit's liaison, from outside, sees the counts and no one's name
		roll, err := s.Attend.Roll(ctx, q, ev.ID)
		if err != nil {
			return d, err
		}
		seen := map[string]bool{}
		for _, v := range x.Villages {
			seen[v.Name] = slices.Contains(ac.villages, v.ID)
		}
		for _, e := range roll {
			if ac.manages || seen[e.VillageName] {
				d.Roll = append(d.Roll, e)
			}
		}
	}
	if ac.resident {
		e, err := s.Attend.Entry(ctx, q, ev.ID, ac.me.ID)
		switch {
		case err == nil && e.Checked():
			d.Mine = "checked"
		case err == nil:
			d.Mine = "registered"
		case !errs.Is(err, errs.NotFound):
			return d, err
		}
		d.MayRegister = d.Mine == "" && x.Status == ActivityPlanned && x.Capacity > 0 && x.Registered < x.Capacity && x.EndsAt.After(s.Now())
	}
	if d.Photos, err = s.photoIDs(ctx, q, "activity", id); err != nil {
		return d, err
	}
	if x.RuleCode != "" {
		d.RuleName = x.RuleCode
		vs := make([]int64, len(x.Villages))
		for i, v := range x.Villages {
			vs[i] = v.ID
		}
		if rules, err := s.activityRules(ctx, x.TownID, vs...); err == nil {
			for _, r := range rules {
				if r.Code == x.RuleCode {
					d.RuleName = r.Name
				}
			}
		}
	}
	return d, nil
}

// activityRules are the bank rules in force today in every village named (the town's own for
// none), once each by code: an activity pays under a rule all its villages have.
func (s *Service) activityRules(ctx context.Context, townID int64, villages ...int64) ([]bank.RuleChoice, error) {
	t, err := s.People.Town(ctx, townID)
	if err != nil {
		return nil, err
	}
	day := t.Clock(s.Now).Day()
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

// ruleChoices are the rules in force today in any of the villages, once each by code, for the
// activity form.
func (s *Service) ruleChoices(ctx context.Context, townID int64, villages []Named) ([]bank.RuleChoice, error) {
	var out []bank.RuleChoice
	for _, v := range append([]Named{{}}, villages...) {
		rules, err := s.activityRules(ctx, townID, v.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if !slices.ContainsFunc(out, func(x bank.RuleChoice) bool { return x.Code == r.Code }) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// activityTime parses a wall time of the town's zone.
func activityTime(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// checkActivity validates an activity's fields, naming each one wrong, and returns its times and
// its units and villages without repeats.
func (s *Service) checkActivity(ctx context.Context, q db.Querier, townID int64, in *ActivityInput) (time.Time, time.Time, error) {
	in.Title, in.Place, in.Description, in.RuleCode = strings.TrimSpace(in.Title), strings.TrimSpace(in.Place), strings.TrimSpace(in.Description), strings.TrimSpace(in.RuleCode)
	var f errs.Fields
	if !slices.Contains(ActivityKinds, in.Kind) {
		f.Add("kind", "alliance.activity.kind_invalid")
	}
	f.Text("title", in.Title, maxActivityTitle, true)
	f.Text("place", in.Place, maxActivityPlace, true)
	f.Text("description", in.Description, maxActivityText, false)
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	start, ok1 := activityTime(in.StartsAt, loc)
	end, ok2 := activityTime(in.EndsAt, loc)
	switch {
	case strings.TrimSpace(in.StartsAt) == "":
		f.Add("starts_at", "field.required")
	case !ok1:
		f.Add("starts_at", "alliance.activity.time_invalid")
	}
	switch {
	case strings.TrimSpace(in.EndsAt) == "":
		f.Add("ends_at", "field.required")
	case !ok2:
		f.Add("ends_at", "alliance.activity.time_invalid")
	case ok1 && !end.After(start):
		f.Add("ends_at", "alliance.activity.ends_before")
	}
	if in.Capacity < 0 || in.Capacity > maxActivityCap {
		f.Add("capacity", "alliance.activity.capacity_invalid")
	}
	if tooMany(&f, "unit_ids", in.UnitIDs) || tooMany(&f, "village_ids", in.VillageIDs) {
		return start, end, f.Err()
	}
	slices.Sort(in.UnitIDs)
	in.UnitIDs = slices.Compact(in.UnitIDs)
	slices.Sort(in.VillageIDs)
	in.VillageIDs = slices.Compact(in.VillageIDs)
	if len(in.UnitIDs) == 0 || in.UnitIDs[0] <= 0 {
		f.Add("unit_ids", "alliance.activity.units_required")
	} else {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_units WHERE town_id = $1 AND active AND id IN (`+db.IDList(in.UnitIDs)+`)`, townID).Scan(&n); err != nil {
			return start, end, fmt.Errorf("alliance: activity units: %w", err)
		}
		if n != len(in.UnitIDs) {
			f.Add("unit_ids", "alliance.activity.unit_unknown")
		}
	}
	if len(in.VillageIDs) == 0 || in.VillageIDs[0] <= 0 {
		f.Add("village_ids", "alliance.activity.villages_required")
	} else {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM villages WHERE town_id = $1 AND id IN (`+db.IDList(in.VillageIDs)+`)`, townID).Scan(&n); err != nil {
			return start, end, fmt.Errorf("alliance: activity villages: %w", err)
		}
		if n != len(in.VillageIDs) {
			f.Add("village_ids", "alliance.activity.village_unknown")
		}
	}
	if in.RuleCode != "" {
		vs := in.VillageIDs
		if f.Has("village_ids") {
			vs = nil
		}
		rules, err := s.activityRules(ctx, townID, vs...)
		if err != nil {
			return start, end, err
		}
		if !slices.ContainsFunc(rules, func(r bank.RuleChoice) bool { return r.Code == in.RuleCode }) {
			f.Add("rule_code", "bank.rule_unknown")
		}
	}
	return start, end, f.Err()
}

// saveLinks replaces an activity's units and villages.
func saveLinks(ctx context.Context, tx *sql.Tx, id int64, in ActivityInput) error {
	for _, stmt := range []string{`DELETE FROM alliance_activity_units WHERE activity_id = $1`, `DELETE FROM alliance_activity_villages WHERE activity_id = $1`} {
		if _, err := tx.ExecContext(ctx, stmt, id); err != nil {
			return fmt.Errorf("alliance: activity links: %w", err)
		}
	}
	for _, u := range in.UnitIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_activity_units (activity_id, unit_id) VALUES ($1, $2)`, id, u); err != nil {
			return fmt.Errorf("alliance: activity units: %w", err)
		}
	}
	for _, v := range in.VillageIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_activity_villages (activity_id, village_id) VALUES ($1, $2)`, id, v); err != nil {
			return fmt.Errorf("alliance: activity villages: %w", err)
		}
	}
	return nil
}

// activityEvent makes or updates the attendance event of an activity.
func (s *Service) activityEvent(ctx context.Context, q db.Querier, id, townID int64, title string, start, end time.Time, villages []int64) (attend.Event, error) {
	var village int64
	if len(villages) == 1 {
		village = villages[0]
	}
	return s.Attend.Ensure(ctx, q, attend.Event{Kind: ActivityEvent, RefID: id, TownID: townID, VillageID: village, Title: title, StartsAt: start, EndsAt: end})
}

// CreateActivity plans an activity of a town the actor manages.
func (s *Service) CreateActivity(ctx context.Context, a *auth.Actor, in ActivityInput) (ActivityDetail, error) {
	townID := townOf(a, in.TownID)
	if !manages(a, townID) {
		return ActivityDetail{}, auth.Refuse(a, PermManage)
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		start, end, err := s.checkActivity(ctx, tx, townID, &in)
		if err != nil {
			return err
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_activities (town_id, kind, title, place, description, starts_at, ends_at, capacity, rule_code, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`, townID, in.Kind, in.Title, in.Place, in.Description, start, end, in.Capacity, in.RuleCode, a.Name, now).Scan(&id); err != nil {
			return fmt.Errorf("alliance: create activity: %w", err)
		}
		if err := saveLinks(ctx, tx, id, in); err != nil {
			return err
		}
		if _, err := s.activityEvent(ctx, tx, id, townID, in.Title, start, end, in.VillageIDs); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.activity.create", Entity: "alliance_activity", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "kind": in.Kind})})
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// rollIDs are the residents on an activity's roll.
func rollIDs(ctx context.Context, q db.Querier, eventID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT resident_id FROM attend_entries WHERE event_id = $1 ORDER BY resident_id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("alliance: roll: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// activityWhen writes an activity's start as the town's wall time.
func (s *Service) activityWhen(ctx context.Context, x Activity) string {
	loc, err := s.People.Zone(ctx, x.TownID)
	if err != nil {
		loc = time.UTC
	}
	return x.StartsAt.In(loc).Format("2006-01-02 15:04")
}

// plannedFor reads a planned activity the actor manages, for a change.
func (s *Service) plannedFor(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Activity, error) {
	x, ac, err := s.activityFor(ctx, q, a, id)
	if err != nil {
		return x, err
	}
	if !ac.manages {
		if ac.staff || ac.unit {
			return x, errs.New(errs.Forbidden, "error.forbidden")
		}
		return x, auth.Refuse(a, PermManage)
	}
	if x.Status != ActivityPlanned {
		return x, errs.New(errs.Conflict, "alliance.activity.not_planned")
	}
	return x, nil
}

// UpdateActivity changes a planned activity; the residents registered are told.
func (s *Service) UpdateActivity(ctx context.Context, a *auth.Actor, id int64, in ActivityInput) (ActivityDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, err := s.plannedFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		start, end, err := s.checkActivity(ctx, tx, x.TownID, &in)
		if err != nil {
			return err
		}
		if in.Capacity > 0 && in.Capacity < x.Registered {
			return errs.Field("capacity", "alliance.activity.capacity_below")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alliance_activities SET kind = $1, title = $2, place = $3, description = $4, starts_at = $5, ends_at = $6, capacity = $7,
			rule_code = $8, updated_at = $9 WHERE id = $10`, in.Kind, in.Title, in.Place, in.Description, start, end, in.Capacity, in.RuleCode, s.Now(), id); err != nil {
			return fmt.Errorf("alliance: update activity: %w", err)
		}
		if err := saveLinks(ctx, tx, id, in); err != nil {
			return err
		}
		ev, err := s.activityEvent(ctx, tx, id, x.TownID, in.Title, start, end, in.VillageIDs)
		if err != nil {
			return err
		}
		if start.Equal(x.StartsAt) && end.Equal(x.EndsAt) && in.Place == x.Place && in.Title == x.Title {
			return nil // nothing a registered resident needs to hear of
		}
		ids, err := rollIDs(ctx, tx, ev.ID)
		if err != nil {
			return err
		}
		x.StartsAt = start
		for _, r := range ids {
			if err := s.Notify.Tell(ctx, tx, r, notify.Outcome{Title: "alliance.activity.told_title", Body: "alliance.activity.told_changed",
				Args: []any{in.Title, s.activityWhen(ctx, x), in.Place}, Link: fmt.Sprintf("/alliance/activities/%d", id)}); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.activity.update", Entity: "alliance_activity", EntityID: id, TownID: x.TownID,
			Summary: auth.Summarize(map[string]any{"title": x.Title, "place": x.Place}, map[string]any{"title": in.Title, "place": in.Place})})
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// takePlanned moves a planned activity on (set, with its arguments numbered from $1) in one
// compare-and-set on its row: an activity closed or cancelled meanwhile, by a request that raced
// this one, is refused as closed or cancelled, and nothing of this one is kept.
func (s *Service) takePlanned(ctx context.Context, tx *sql.Tx, id int64, set string, args ...any) error {
	res, err := tx.ExecContext(ctx, `UPDATE alliance_activities SET `+set+fmt.Sprintf(` WHERE id = $%d AND status = 'planned'`, len(args)+1), append(args, id)...)
	if err != nil {
		return fmt.Errorf("alliance: activity %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var status string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM alliance_activities WHERE id = $1`, id).Scan(&status); err != nil {
		return fmt.Errorf("alliance: activity %d: %w", id, err)
	}
	if status == ActivityCancelled {
		return errs.New(errs.Conflict, "attend.cancelled")
	}
	return errs.New(errs.Conflict, "attend.closed")
}

// CancelActivity cancels a planned activity with a reason; the residents registered are told.
func (s *Service) CancelActivity(ctx context.Context, a *auth.Actor, id int64, reason string) (ActivityDetail, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, err := s.plannedFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var f errs.Fields
		f.Text("reason", reason, 200, true)
		if err := f.Err(); err != nil {
			return err
		}
		// The activity's row first: it is taken only while still planned, so a close racing this
		// cancel waits for it and finds it cancelled (or this one finds it closed).
		if err := s.takePlanned(ctx, tx, id, `status = 'cancelled', cancel_reason = $1, updated_at = $2`, reason, s.Now()); err != nil {
			return err
		}
		if err := s.Attend.Cancel(ctx, tx, ActivityEvent, id); err != nil {
			return err
		}
		ev, err := s.Attend.EventOf(ctx, tx, ActivityEvent, id)
		if err != nil {
			return err
		}
		ids, err := rollIDs(ctx, tx, ev.ID)
		if err != nil {
			return err
		}
		for _, r := range ids {
			if err := s.Notify.Tell(ctx, tx, r, notify.Outcome{Title: "alliance.activity.told_title", Body: "alliance.activity.told_cancelled",
				Args: []any{x.Title, s.activityWhen(ctx, x), reason}, Link: fmt.Sprintf("/alliance/activities/%d", id)}); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.activity.cancel", Entity: "alliance_activity", EntityID: id, TownID: x.TownID,
			Summary: auth.Summarize(nil, map[string]any{"title": x.Title, "reason": reason})})
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// Register puts the resident on a planned activity of their village while seats are left;
// registering again changes nothing.
func (s *Service) Register(ctx context.Context, a *auth.Actor, id int64) (ActivityDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, ac, err := s.activityFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !ac.resident {
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		if x.Status != ActivityPlanned || !x.EndsAt.After(s.Now()) {
			return errs.New(errs.Conflict, "alliance.activity.not_open")
		}
		if x.Capacity == 0 {
			return errs.New(errs.Conflict, "alliance.activity.no_registration")
		}
		ev, err := s.Attend.EventOf(ctx, tx, ActivityEvent, id)
		if err != nil {
			return err
		}
		// The seat is taken under the event's row, so that two last registrations do not both get it.
		var n int
		if _, err := tx.ExecContext(ctx, `UPDATE attend_events SET roll_count = roll_count WHERE id = $1`, ev.ID); err != nil {
			return fmt.Errorf("alliance: register: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT roll_count FROM attend_events WHERE id = $1`, ev.ID).Scan(&n); err != nil {
			return fmt.Errorf("alliance: register: %w", err)
		}
		if _, err := s.Attend.Entry(ctx, tx, ev.ID, ac.me.ID); err == nil {
			return nil
		}
		if n >= x.Capacity {
			return errs.New(errs.Conflict, "alliance.activity.full")
		}
		_, err = s.Attend.Invite(ctx, tx, ev.ID, ac.me.ID)
		return err
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// Unregister takes the resident off an activity they have not checked in to.
func (s *Service) Unregister(ctx context.Context, a *auth.Actor, id int64) (ActivityDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, ac, err := s.activityFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !ac.resident {
			return errs.New(errs.Forbidden, "error.forbidden")
		}
		if x.Status != ActivityPlanned {
			return errs.New(errs.Conflict, "alliance.activity.not_open")
		}
		ev, err := s.Attend.EventOf(ctx, tx, ActivityEvent, id)
		if err != nil {
			return err
		}
		_, err = s.Attend.Uninvite(ctx, tx, ev.ID, ac.me.ID)
		return err
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// CheckinLink is the path a resident opens to check in at the door: the activity's page with the
// QR's present token (it rotates), for the staff's screen.
func (s *Service) CheckinLink(d ActivityDetail) string {
	return fmt.Sprintf("/alliance/activities/%d?token=%s", d.ID, s.Attend.QRToken(d.EventID, s.Now()))
}

// Checkin checks people in to a planned activity: staff of its villages name residents of them
// (a roll call, or a sign-in sheet typed back), who go on the roll if they were not registered; a
// resident of its villages checks themself in with the QR's token. It answers how many were
// checked in now.
func (s *Service) Checkin(ctx context.Context, a *auth.Actor, id int64, in ActivityCheckin) (int, error) {
	var n int
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		x, ac, err := s.activityFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if x.Status != ActivityPlanned {
			return errs.New(errs.Conflict, "alliance.activity.not_planned")
		}
		ev, err := s.Attend.EventOf(ctx, tx, ActivityEvent, id)
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.Token) != "" {
			if !ac.resident {
				return errs.New(errs.Forbidden, "error.forbidden")
			}
			tk, err := s.Attend.ParseToken(in.Token, s.Now())
			if err != nil {
				return err
			}
			if tk.EventID != ev.ID {
				return errs.Field("token", "attend.token_invalid")
			}
			if !ev.Open(s.Now()) && tk.Method == attend.Link {
				return errs.Field("token", "attend.over")
			}
			if _, err := s.Attend.Invite(ctx, tx, ev.ID, ac.me.ID); err != nil {
				return err
			}
			_, fresh, err := s.Attend.Check(ctx, tx, ev, attend.Checkin{ResidentID: ac.me.ID, Method: tk.Method})
			if fresh {
				n = 1
			}
			return err
		}
		if !ac.staff {
			if ac.unit || ac.resident {
				return errs.New(errs.Forbidden, "error.forbidden")
			}
			return notFound
		}
		method := in.Method
		if method == "" {
			method = attend.Roll
		}
		if method != attend.Roll && method != attend.Sheet {
			return errs.Field("method", "attend.method_invalid")
		}
		var tf errs.Fields
		if tooMany(&tf, "resident_ids", in.ResidentIDs) {
			return tf.Err()
		}
		ids := slices.Clone(in.ResidentIDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) == 0 || ids[0] <= 0 {
			return errs.Field("resident_ids", "alliance.activity.residents_required")
		}
		vs := ac.villages
		var known int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE status = 'active' AND id IN (`+db.IDList(ids)+`) AND village_id IN (`+db.IDList(vs)+`)`).Scan(&known); err != nil {
			return fmt.Errorf("alliance: check in: %w", err)
		}
		if known != len(ids) {
			return errs.Field("resident_ids", "alliance.activity.resident_unknown")
		}
		for _, r := range ids {
			if _, err := s.Attend.Invite(ctx, tx, ev.ID, r); err != nil {
				return err
			}
		}
		fresh, err := s.Attend.CheckMany(ctx, tx, ev, ids, method, a.Name)
		n = len(fresh)
		return err
	})
	return n, err
}

// FindResidents finds active residents of an activity's villages by a part of their name, for
// its staff to check in people who did not register.
func (s *Service) FindResidents(ctx context.Context, a *auth.Actor, id int64, name string) ([]ResidentChoice, error) {
	q := s.DB.Read()
	x, ac, err := s.activityFor(ctx, q, a, id)
	if err != nil {
		return nil, err
	}
	if !ac.staff {
		return nil, errs.New(errs.Forbidden, "error.forbidden")
	}
	return s.findResidents(ctx, q, x.TownID, ac.villages, name)
}

// CloseActivity closes an activity's roll once it has started, keeping the people served who were
// not registered and how they were counted, and pays its checked-in attendees under its rule,
// once each (alliance:activity:<id>:resident:<id>). Closing again changes no count and pays, under
// the same keys, those the bank has not answered for yet (a retry).
func (s *Service) CloseActivity(ctx context.Context, a *auth.Actor, id int64, in ActivityClose) (ActivityDetail, error) {
	in.ServedMethod = strings.TrimSpace(in.ServedMethod)
	var x Activity
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var ac activityAccess
		var err error
		x, ac, err = s.activityFor(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !ac.staff {
			if ac.unit || ac.resident {
				return errs.New(errs.Forbidden, "error.forbidden")
			}
			return notFound
		}
		switch x.Status {
		case ActivityCancelled:
			return errs.New(errs.Conflict, "attend.cancelled")
		case ActivityClosed:
			return nil
		}
		var f errs.Fields
		if in.Served < 0 || in.Served > maxServed {
			f.Add("served", "alliance.activity.served_invalid")
		}
		f.Text("served_method", in.ServedMethod, 30, in.Served > 0)
		if err := f.Err(); err != nil {
			return err
		}
		ev, err := s.Attend.EventOf(ctx, tx, ActivityEvent, id)
		if err != nil {
			return err
		}
		if err := s.takePlanned(ctx, tx, id, `status = 'closed', served = $1, served_method = $2, updated_at = $3`, in.Served, in.ServedMethod, s.Now()); err != nil {
			return err
		}
		if _, err := s.Attend.Close(ctx, tx, ev, a.Name); err != nil {
			return err
		}
		x.Status = ActivityClosed
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "alliance.activity.close", Entity: "alliance_activity", EntityID: id, TownID: x.TownID,
			Summary: auth.Summarize(nil, map[string]any{"title": x.Title, "served": in.Served, "served_method": in.ServedMethod})})
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	if err := s.payActivity(ctx, a, x); err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// payActivity pays a closed activity's checked-in attendees that the bank has not answered for
// under its rule, keeps each answer on the roll (attend.Paid) and tells those paid.
func (s *Service) payActivity(ctx context.Context, a *auth.Actor, x Activity) error {
	if x.Status != ActivityClosed || x.RuleCode == "" {
		return nil
	}
	ev, err := s.Attend.EventOf(ctx, s.DB.Read(), ActivityEvent, x.ID)
	if err != nil {
		return err
	}
	unpaid, err := s.Attend.Unpaid(ctx, s.DB.Read(), ev.ID, false)
	if err != nil {
		return err
	}
	loc, err := s.People.Zone(ctx, x.TownID)
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
		earnings = append(earnings, bank.Earning{Key: activityPayKey(x.ID, e.ResidentID), ResidentID: e.ResidentID, RuleCode: x.RuleCode,
			Reason: trunc(fmt.Sprintf("微联盟：%s %s", x.Title, clock.Day(x.StartsAt.In(loc))), 200)})
	}
	if len(earnings) == 0 {
		return nil
	}
	results, err := s.Bank.Earn(ctx, a, earnings)
	if err != nil {
		return fmt.Errorf("alliance: pay activity %d: %w", x.ID, err)
	}
	var failed error
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, res := range results {
			txID, note, retry := res.Answer("alliance.activity.pay_pending")
			if retry != nil {
				failed = retry
				continue
			}
			if err := s.Attend.Paid(ctx, tx, ev.ID, who[i].ResidentID, txID, note); err != nil {
				return err
			}
			if txID != 0 && !res.Replayed {
				if err := s.Notify.Tell(ctx, tx, who[i].ResidentID, notify.Outcome{Title: "alliance.activity.told_paid_title", Body: "alliance.activity.told_paid",
					Args: []any{x.Title, res.Balance}, Link: fmt.Sprintf("/alliance/activities/%d", x.ID)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && failed != nil {
		err = fmt.Errorf("alliance: pay activity %d: %w", x.ID, failed)
	}
	return err
}

// trunc cuts a string to at most n characters.
func trunc(v string, n int) string {
	r := []rune(v)
	if len(r) <= n {
		return v
	}
	return string(r[:n])
}

// AddActivityPhotos keeps photos of an activity, for its staff.
func (s *Service) AddActivityPhotos(ctx context.Context, a *auth.Actor, id int64, raw [][]byte) (ActivityDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.activityStaff(ctx, tx, a, id); err != nil {
			return err
		}
		if len(raw) == 0 {
			return errs.Field("photos", "alliance.activity.photos_required")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_photos WHERE owner = 'activity' AND owner_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("alliance: activity photos: %w", err)
		}
		if n+len(raw) > maxActivityPhoto*4 {
			return errs.Field("photos", "alliance.activity.photos_too_many")
		}
		return s.savePhotos(ctx, tx, "activity", id, raw)
	})
	if err != nil {
		return ActivityDetail{}, err
	}
	return s.ActivityDetail(ctx, a, id)
}

// activityStaff checks that the actor checks people in to an activity: NotFound to those who
// may not see it, Forbidden to its liaisons and residents.
func (s *Service) activityStaff(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	_, ac, err := s.activityFor(ctx, q, a, id)
	if err != nil {
		return err
	}
	if !ac.staff {
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	return nil
}

// seesActivityPhoto: whoever may see the activity sees its photos.
func (s *Service) seesActivityPhoto(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (bool, error) {
	_, _, err := s.activityFor(ctx, q, a, id)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// ActivityPersonTimes counts the activities of a period (months of the town's calendar, from and
// to as 2026-01; empty: this year so far) the actor may see as staff or liaison, and the
// person-times they reached: check-ins plus the unregistered served. Cancelled ones count nothing.
func (s *Service) ActivityPersonTimes(ctx context.Context, a *auth.Actor, townID int64, from, to string) (PersonTimes, error) {
	townID = townOf(a, townID)
	q := s.DB.Read()
	where, err := s.activityScope(ctx, q, a, townID)
	if err != nil {
		return PersonTimes{}, err
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return PersonTimes{}, err
	}
	p, err := period.Parse(from, to, s.Now(), loc)
	if err != nil {
		return PersonTimes{}, err
	}
	start, end := p.Bounds()
	out := PersonTimes{From: p.From, To: p.To, ByKind: []KindTimes{}, ByMonth: []MonthTimes{}}
	rows, err := q.QueryContext(ctx, `SELECT a.kind, a.starts_at, COALESCE(e.checked_count, 0), a.served`+activityFrom+`
		WHERE `+where+` AND a.status <> 'cancelled' AND a.starts_at >= $1 AND a.starts_at < $2 ORDER BY a.starts_at`, start, end)
	if err != nil {
		return out, fmt.Errorf("alliance: person-times: %w", err)
	}
	defer rows.Close()
	by := map[string]KindTimes{}
	for rows.Next() {
		var k string
		var at time.Time
		var c, sv int
		if err := rows.Scan(&k, &at, &c, &sv); err != nil {
			return out, err
		}
		out.Activities++
		out.CheckedIn += c
		out.Served += sv
		x := by[k]
		x.Kind, x.Activities, x.PersonTimes = k, x.Activities+1, x.PersonTimes+c+sv
		by[k] = x
		m := at.In(loc).Format("2006-01")
		if n := len(out.ByMonth); n == 0 || out.ByMonth[n-1].Month != m {
			out.ByMonth = append(out.ByMonth, MonthTimes{Month: m})
		}
		last := &out.ByMonth[len(out.ByMonth)-1]
		last.Activities++
		last.PersonTimes += c + sv
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	out.Total = out.CheckedIn + out.Served
	for _, k := range ActivityKinds {
		if x, ok := by[k]; ok {
			out.ByKind = append(out.ByKind, x)
		}
	}
	return out, nil
}

// activityChoices are the units and villages of a town to choose from in the activity form.
func (s *Service) activityChoices(ctx context.Context, townID int64) (units, villages []Named, err error) {
	q := s.DB.Read()
	for _, part := range []struct {
		sql string
		out *[]Named
	}{
		{`SELECT id, name FROM alliance_units WHERE town_id = $1 AND active ORDER BY name`, &units},
	} {
		rows, err := q.QueryContext(ctx, part.sql, townID)
		if err != nil {
			return nil, nil, fmt.Errorf("alliance: choices: %w", err)
		}
		for rows.Next() {
			var n Named
			if err := rows.Scan(&n.ID, &n.Name); err != nil {
				rows.Close()
				return nil, nil, err
			}
			*part.out = append(*part.out, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	villages, err = s.townVillages(ctx, townID)
	return units, villages, err
}
