// Package report is the town's 驾驶舱 (dashboard) and monthly report: one definition per figure
// (defs.go), computed for a village, a town or the district over a month, a quarter, a year or to
// date from the pillars' per-period aggregates (bank_earnings per resident and month,
// attend_months per person and month, active_periods per resident and period) and their indexed
// records of the period, never from a scan of the ledger's history. It reads every pillar and
// writes nothing but the documents it keeps a while (KeepFor).
package report

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/keep"
	"siwei/internal/people"
	"siwei/internal/school"
	"siwei/internal/volunteer"
)

// PermView is seeing a scope's figures: a village's staff their village's, a town's staff the
// town's, a district admin every town's and the district's.
const PermView auth.Action = "report.view"

// Permissions are the dashboard's rows in the permission table.
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermView: {auth.TownAdmin, auth.VillageAdmin},
})

// Service computes the figures. Read, when set, is the read-only connection (a streaming replica)
// the dashboard and the reports read from, so that the command centre's screens never load the
// primary; otherwise the database's own readers.
type Service struct {
	DB     *db.DB
	Read   *sql.DB
	People *people.Service
	// Consult gives 微协商's figures that are kept by its own rules (the care schedule, the
	// departments' rates); nil leaves them out.
	Consult *consult.Service
	Now     func() time.Time
	docs    *keep.Cache[Document] // see KeepFor
}

// NewService makes the dashboard's service.
func NewService(d *db.DB, ps *people.Service) *Service {
	return &Service{DB: d, People: ps, Now: time.Now}
}

func (s *Service) q() db.Querier {
	if s.Read != nil {
		return s.Read
	}
	return s.DB.Read()
}

// Value is one figure of a document: its value in the period and in the one before.
type Value struct {
	*Def
	Name     string  `json:"name"`
	What     string  `json:"what"`
	Value    float64 `json:"value"`
	Previous float64 `json:"previous"`
}

// Group is a village of a town's document, or a town of the district's, with its figures.
type Group struct {
	ID        int64              `json:"id"`
	Name      string             `json:"name"`
	Residents float64            `json:"residents"`
	Values    map[string]float64 `json:"values"`
}

// Band is an age band's share of residents active in any pillar in the period.
type Band struct {
	Band      string `json:"band"` // minor, 18-39, 40-59, 60-69, 70+
	Residents int    `json:"residents"`
	Active    int    `json:"active"`
}

// Overdue is how many orders of a flow wait past their deadline now, within the scope.
type Overdue struct {
	Key   string      `json:"key"`
	Count int         `json:"count"`
	Path  string      `json:"path"`
	See   auth.Action `json:"-"` // who may open the list, when not every viewer may
}

// Point is a month's value of a trend.
type Point struct {
	Month string             `json:"month"`
	Value map[string]float64 `json:"values"`
}

// Document is the figures of one scope over one period.
type Document struct {
	Scope         Scope     `json:"scope"`
	Name          string    `json:"name"`
	TownID        int64     `json:"town_id,omitempty"` // the village's town, or the town
	Period        Span      `json:"period"`
	Previous      Span      `json:"previous"`
	Figures       []Value   `json:"figures"`
	Groups        []Group   `json:"groups,omitempty"`
	Participation []Band    `json:"participation"`
	Overdue       []Overdue `json:"overdue"`
	Trend         []Point   `json:"trend,omitempty"`
	// Departments are 微协商's three rates per department of a town, over the period.
	Departments []consult.DeptRates `json:"departments,omitempty"`
	// At is when the figures were computed: a kept document is older (Service.KeepFor).
	At time.Time `json:"at"`
}

// Figure finds a figure of the document by key.
func (d Document) Figure(key string) (Value, bool) {
	for _, v := range d.Figures {
		if v.Key == key {
			return v, true
		}
	}
	return Value{}, false
}

// Bands are the age bands participation is told by, youngest first.
var Bands = []string{"minor", "18-39", "40-59", "60-69", "70+"}

// TrendKeys are the figures the pages draw month by month.
var TrendKeys = []string{"bank.issued", "activities", "bank.active", "volunteer.hours"}

// Resolve checks that the actor may see the scope, and finds its name, its town and its calendar.
// Another village's or town's scope is as missing as one that does not exist.
func (s *Service) Resolve(ctx context.Context, a *auth.Actor, sc Scope) (name string, townID int64, loc *time.Location, err error) {
	if err := auth.MayAnywhere(a, PermView); err != nil {
		return "", 0, nil, err
	}
	q := s.q()
	switch sc.Level {
	case District:
		if !district(a) || sc.ID != 0 {
			return "", 0, nil, auth.Refuse(a, PermView)
		}
		return "", 0, clock.Zone(""), nil
	case Town:
		err = q.QueryRowContext(ctx, `SELECT name, id FROM towns WHERE id = $1`, sc.ID).Scan(&name, &townID)
		if err == nil {
			if all, _ := auth.Visible(a, PermView, townID); !all {
				return "", 0, nil, auth.Refuse(a, PermView)
			}
		}
	case Village:
		err = q.QueryRowContext(ctx, `SELECT name, town_id FROM villages WHERE id = $1`, sc.ID).Scan(&name, &townID)
		if err == nil {
			if all, villages := auth.Visible(a, PermView, townID); !all && !slices.Contains(villages, sc.ID) {
				return "", 0, nil, auth.Refuse(a, PermView)
			}
		}
	default:
		return "", 0, nil, errs.Field("scope", "report.scope_invalid")
	}
	if db.IsNoRows(err) {
		return "", 0, nil, auth.Refuse(a, PermView)
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("report: scope: %w", err)
	}
	loc, err = s.People.Zone(ctx, townID)
	return name, townID, loc, err
}

// district reports whether the actor is a district admin.
func district(a *auth.Actor) bool {
	return a != nil && slices.ContainsFunc(a.Grants, func(g auth.Grant) bool { return g.Role == auth.DistrictAdmin })
}

// Home is the scope an actor's dashboard opens on: the district for a district admin, their town
// for a town's staff, their first village for a village's.
func Home(a *auth.Actor) Scope {
	if district(a) {
		return Scope{Level: District}
	}
	for _, g := range a.Grants {
		if g.Role == auth.TownAdmin {
			return Scope{Level: Town, ID: g.TownID}
		}
	}
	for _, g := range a.Grants {
		if g.Role == auth.VillageAdmin {
			return Scope{Level: Village, ID: g.VillageID}
		}
	}
	return Scope{}
}

// Figures are the scope's figures over the period spec (2026-11, 2026-Q4, 2026, todate), each with
// its previous value, broken down by village or town, with participation by age band and what is
// overdue now. trend adds twelve months of TrendKeys.
// A document kept (KeepFor) is served again.
func (s *Service) Figures(ctx context.Context, a *auth.Actor, sc Scope, spec string, trend bool) (Document, error) {
	name, townID, loc, err := s.Resolve(ctx, a, sc)
	if err != nil {
		return Document{}, err
	}
	compute := func(ctx context.Context) (Document, error) { return s.compute(ctx, sc, name, townID, loc, spec, trend) }
	if s.docs == nil {
		return compute(ctx)
	}
	doc, _, err := s.docs.Get(ctx, cacheKey(sc, spec, trend), 0, s.Now, compute)
	return doc.copy(), err
}

// compute is Figures' document, computed now.
func (s *Service) compute(ctx context.Context, sc Scope, name string, townID int64, loc *time.Location, spec string, trend bool) (Document, error) {
	now := s.Now()
	span, err := ParseSpan(spec, now, loc)
	if err != nil {
		return Document{}, err
	}
	doc := Document{Scope: sc, Name: name, TownID: townID, Period: span, Previous: span.Previous(), At: now}
	q := s.q()
	cur, prev := newRun(ctx, q, sc, span, now), newRun(ctx, q, sc, doc.Previous, now)
	groups, err := s.groups(ctx, q, sc)
	if err != nil {
		return Document{}, err
	}
	for _, d := range Defs {
		if d.Part || !slices.Contains(d.Periods, span.Kind) || !slices.Contains(d.Scopes, sc.Level) {
			continue
		}
		c, err := cur.figure(d)
		if err != nil {
			return Document{}, err
		}
		p, err := prev.figure(d)
		if err != nil {
			return Document{}, err
		}
		doc.Figures = append(doc.Figures, Value{Def: d, Value: round(c[0].value(d.scale)), Previous: round(p[0].value(d.scale))})
		for i := range groups {
			if sc.by() == Village && !slices.Contains(d.Scopes, Village) {
				continue
			}
			groups[i].Values[d.Key] = round(c[groups[i].ID].value(d.scale))
		}
	}
	res, err := cur.figure(byKey["people.residents"])
	if err != nil {
		return Document{}, err
	}
	for i := range groups {
		groups[i].Residents = res[groups[i].ID].n
	}
	doc.Groups = groups
	if doc.Participation, err = s.participation(ctx, q, sc, span, now); err != nil {
		return Document{}, err
	}
	if doc.Overdue, err = s.overdue(ctx, q, sc, now); err != nil {
		return Document{}, err
	}
	if s.Consult != nil && sc.Level != District {
		// The care team's regular visits past due today (走访逾期), by the care schedule's rules.
		village := int64(0)
		if sc.Level == Village {
			village = sc.ID
		}
		n, err := s.Consult.CareOverdueOf(ctx, q, townID, village)
		if err != nil {
			return Document{}, err
		}
		doc.Overdue = append(doc.Overdue, Overdue{Key: "care_visits", Count: n, Path: "/admin/consult/care/schedule", See: consult.PermManage})
		if sc.Level == Town {
			if doc.Departments, err = s.Consult.DepartmentRatesOf(ctx, q, townID, span.startAt(), span.End.UTC()); err != nil {
				return Document{}, err
			}
		}
	}
	if trend {
		if doc.Trend, err = s.trend(ctx, q, sc, span, now); err != nil {
			return Document{}, err
		}
	}
	return doc, nil
}

func round(v float64) float64 {
	if v == float64(int64(v)) {
		return v
	}
	return float64(int64(v*10+0.5)) / 10
}

// groups are the scope's villages (of a town) or towns (of the district), in their order.
func (s *Service) groups(ctx context.Context, q db.Querier, sc Scope) ([]Group, error) {
	var sql string
	var args []any
	switch sc.by() {
	case Village:
		sql, args = `SELECT id, name FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, []any{sc.ID}
	case Town:
		sql = `SELECT id, name FROM towns ORDER BY code, id`
	default:
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("report: groups: %w", err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		g := Group{Values: map[string]float64{}}
		if err := rows.Scan(&g.ID, &g.Name); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// participation is the share of the scope's residents active in the span, by age band at its end.
func (s *Service) participation(ctx context.Context, q db.Querier, sc Scope, span Span, now time.Time) ([]Band, error) {
	end := span.End
	cut := func(years int) string { return end.AddDate(-years, 0, -1).Format(time.DateOnly) }
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	// Who is active: from active_periods when the span is one of its periods, else by the clause.
	from, act := `residents r`, ""
	if p, ok := span.period(now); ok {
		from, act = `residents r LEFT JOIN active_periods a ON a.resident_id = r.id AND a.period = `+arg(p), `CASE WHEN a.resident_id IS NULL THEN 0 ELSE 1 END`
	} else {
		act = `CASE WHEN ` + strings.NewReplacer(":from", arg(span.fromMonth()), ":to", arg(span.To)).Replace(activeClause) + ` THEN 1 ELSE 0 END`
	}
	band := `CASE WHEN r.birth_date > ` + arg(cut(18)) + ` THEN 0 WHEN r.birth_date > ` + arg(cut(40)) + ` THEN 1 WHEN r.birth_date > ` + arg(cut(60)) +
		` THEN 2 WHEN r.birth_date > ` + arg(cut(70)) + ` THEN 3 ELSE 4 END`
	where := ""
	switch sc.Level {
	case Town:
		where = " AND r.town_id = " + arg(sc.ID)
	case Village:
		where = " AND r.village_id = " + arg(sc.ID)
	}
	rows, err := q.QueryContext(ctx, `SELECT b, COUNT(*), COALESCE(SUM(act), 0) FROM (SELECT `+band+` AS b, `+act+` AS act
		FROM `+from+` WHERE r.status = 'active'`+where+`) x GROUP BY b`, args...)
	if err != nil {
		return nil, fmt.Errorf("report: participation: %w", err)
	}
	defer rows.Close()
	out := make([]Band, len(Bands))
	for i, b := range Bands {
		out[i].Band = b
	}
	for rows.Next() {
		var b, n, act int
		if err := rows.Scan(&b, &n, &act); err != nil {
			return nil, err
		}
		out[b].Residents, out[b].Active = n, act
	}
	return out, rows.Err()
}

// OverdueKeys are the kinds of order the dashboard counts overdue, by their tables.
func OverdueKeys() []string {
	out := []string{"care_visits"}
	for _, f := range overdueFlows {
		out = append(out, f.key)
	}
	return out
}

// overdueFlows are the orders that can wait past a deadline, each in its table, with its list.
var overdueFlows = []struct {
	key, table, path string
	flow             *flow.Flow
	see              auth.Action
}{
	{"volunteer_needs", "volunteer_needs", "/admin/volunteer/needs", volunteer.NeedFlow, ""},
	{"school_orders", "school_orders", "/admin/school/orders", school.OrderFlow, ""},
	{"consult_referrals", "consult_referrals", "/admin/consult/referrals", consult.ReferralFlow, ""},
	{"alliance_projects", "alliance_projects", "/admin/alliance/projects", alliance.ProjectFlow, ""},
	{"dispute_cases", "dispute_cases", "/admin/disputes/cases", alliance.CaseFlow, alliance.PermDispute},
}

// overdue counts each flow's orders in the scope that wait past their deadline now.
func (s *Service) overdue(ctx context.Context, q db.Querier, sc Scope, now time.Time) ([]Overdue, error) {
	var out []Overdue
	for _, f := range overdueFlows {
		o := flow.Orders{SQL: `SELECT id, 0 FROM ` + f.table}
		switch sc.Level {
		case Town:
			o = flow.Orders{SQL: `SELECT id, 0 FROM ` + f.table + ` WHERE town_id = $1`, Args: []any{sc.ID}}
		case Village:
			o = flow.Orders{SQL: `SELECT id, 0 FROM ` + f.table + ` WHERE village_id = $1`, Args: []any{sc.ID}}
		}
		late, err := f.flow.Overdue(ctx, q, now, o)
		if err != nil {
			return nil, fmt.Errorf("report: overdue: %w", err)
		}
		out = append(out, Overdue{Key: f.key, Count: len(late), Path: f.path, See: f.see})
	}
	return out, nil
}

// trend is TrendKeys month by month, for the twelve months up to the span's last.
func (s *Service) trend(ctx context.Context, q db.Querier, sc Scope, span Span, now time.Time) ([]Point, error) {
	last, err := MonthSpan(span.To, span.End.Location())
	if err != nil {
		return nil, err
	}
	var out []Point
	for i := 11; i >= 0; i-- {
		st := last.Start.AddDate(0, -i, 0)
		m, _ := MonthSpan(st.Format("2006-01"), st.Location())
		r := newRun(ctx, q, sc, m, now)
		p := Point{Month: m.From, Value: map[string]float64{}}
		for _, k := range TrendKeys {
			d := byKey[k]
			if !slices.Contains(d.Scopes, sc.Level) {
				continue
			}
			v, err := r.figure(d)
			if err != nil {
				return nil, err
			}
			p.Value[k] = round(v[0].value(d.scale))
		}
		out = append(out, p)
	}
	return out, nil
}
