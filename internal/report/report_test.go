package report_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/demo"
	"siwei/internal/flow"
	"siwei/internal/report"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// rec is a raw row as the test reads it: where it belongs, when it happened (a moment, a month
// or a day, whichever the record keeps), and what it adds.
type rec struct {
	town, village int64
	at            time.Time
	month, day    string
	val           float64
	who           int64 // a person, for counts of people
}

// raw reads the rows of sql (town, village, at, month, day, val, who; NULLs allowed).
func raw(t *testing.T, q *sql.DB, query string, args ...any) []rec {
	t.Helper()
	rows, err := q.Query(query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var out []rec
	for rows.Next() {
		var r rec
		var village, who sql.NullInt64
		var at sql.NullTime
		var month, day sql.NullString
		var val sql.NullFloat64
		if err := rows.Scan(&r.town, &village, &at, &month, &day, &val, &who); err != nil {
			t.Fatal(err)
		}
		r.village, r.at, r.month, r.day, r.val, r.who = village.Int64, at.Time, month.String, day.String, val.Float64, who.Int64
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// straight is the straightforward count of every figure: rows read plainly, filtered and added up
// in Go. It shares nothing with the report's SQL but the tables.
type straight struct {
	t   *testing.T
	q   *sql.DB
	now time.Time
}

// in says whether a row lies in the scope.
func inScope(r rec, sc report.Scope) bool {
	switch sc.Level {
	case report.Town:
		return r.town == sc.ID
	case report.Village:
		return r.village == sc.ID
	}
	return true
}

// when says whether a row falls in the span, or before its end for a stock.
func when(r rec, s report.Span, stock bool) bool {
	start := s.Start
	if s.Kind == report.ToDate || stock {
		start = time.Time{}
	}
	switch {
	case !r.at.IsZero():
		return !r.at.Before(start) && r.at.Before(s.End)
	case r.month != "":
		from := s.From
		if s.Kind == report.ToDate || stock {
			from = ""
		}
		return r.month >= from && r.month <= s.To
	case r.day != "":
		first := start.In(s.End.Location()).Format(time.DateOnly)
		if start.IsZero() {
			first = ""
		}
		return r.day >= first && r.day <= s.End.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return true // no time: a stock counted now
}

// sum adds val (or counts rows, or distinct people) of the rows in the scope and span.
func sum(rows []rec, sc report.Scope, s report.Span, stock bool, how string) float64 {
	total := 0.0
	people := map[int64]bool{}
	for _, r := range rows {
		if !inScope(r, sc) || !when(r, s, stock) {
			continue
		}
		switch how {
		case "count":
			total++
		case "people":
			people[r.who] = true
		default:
			total += r.val
		}
	}
	if how == "people" {
		return float64(len(people))
	}
	return total
}

// rates re-counts a flow's three rates from its steps, in Go: an order opened in the span (its
// first step) responded when it first entered a responded state before any state was left late,
// is done when its last step entered a done state, and satisfied when its latest rating is 4 or 5.
func (st straight) rates(f *flow.Flow, table string, sc report.Scope, s report.Span) (responded, done, opened, satisfied, rated float64) {
	type order struct {
		town, village int64
	}
	orders := map[int64]order{}
	rows, err := st.q.Query(`SELECT id, town_id, village_id FROM ` + table)
	if err != nil {
		st.t.Fatal(err)
	}
	for rows.Next() {
		var id, town int64
		var village sql.NullInt64
		if err := rows.Scan(&id, &town, &village); err != nil {
			st.t.Fatal(err)
		}
		orders[id] = order{town, village.Int64}
	}
	rows.Close()
	isResp, isDone := map[string]bool{}, map[string]bool{}
	for _, x := range f.States {
		isResp[x.Name], isDone[x.Name] = x.Responded, x.Done
	}
	type step struct {
		id        int64
		to        string
		at        time.Time
		due, left sql.NullTime
		rating    sql.NullInt64
	}
	steps := map[int64][]step{}
	rows, err = st.q.Query(`SELECT order_id, id, to_state, at, due_at, left_at, rating FROM flow_steps WHERE flow = $1`, f.Name)
	if err != nil {
		st.t.Fatal(err)
	}
	for rows.Next() {
		var o int64
		var x step
		if err := rows.Scan(&o, &x.id, &x.to, &x.at, &x.due, &x.left, &x.rating); err != nil {
			st.t.Fatal(err)
		}
		steps[o] = append(steps[o], x)
	}
	rows.Close()
	start := s.Start
	if s.Kind == report.ToDate {
		start = time.Time{}
	}
	for id, ss := range steps {
		o, ok := orders[id]
		if !ok || !inScope(rec{town: o.town, village: o.village}, sc) {
			continue
		}
		slices.SortFunc(ss, func(a, b step) int { return int(a.id - b.id) })
		first := ss[0].at
		for _, x := range ss {
			if x.at.Before(first) {
				first = x.at
			}
		}
		if first.Before(start) || !first.Before(s.End) {
			continue
		}
		opened++
		var resp, late int64
		var lastRating sql.NullInt64
		for _, x := range ss {
			if resp == 0 && isResp[x.to] {
				resp = x.id
			}
			if late == 0 && x.left.Valid && x.due.Valid && x.left.Time.After(x.due.Time) {
				late = x.id
			}
			if x.rating.Valid {
				lastRating = x.rating
			}
		}
		if resp != 0 && (late == 0 || late > resp) {
			responded++
		}
		if isDone[ss[len(ss)-1].to] {
			done++
		}
		if lastRating.Valid {
			rated++
			if lastRating.Int64 >= 4 {
				satisfied++
			}
		}
	}
	return
}

// figure is the straightforward value of a figure, or false for one the test does not know.
func (st straight) figure(key string, sc report.Scope, s report.Span) (float64, bool) {
	q, t := st.q, st.t
	count := func(stock bool, query string, args ...any) float64 {
		return sum(raw(t, q, query, args...), sc, s, stock, "count")
	}
	total := func(stock bool, query string, args ...any) float64 {
		return sum(raw(t, q, query, args...), sc, s, stock, "sum")
	}
	people := func(query string, args ...any) float64 {
		return sum(raw(t, q, query, args...), sc, s, false, "people")
	}
	pct := func(n, d float64) float64 {
		if d == 0 {
			return 0
		}
		return n / d * 100
	}
	rate := func(f *flow.Flow, table, which string) float64 {
		resp, done, opened, sat, rated := st.rates(f, table, sc, s)
		switch which {
		case "response":
			return pct(resp, opened)
		case "resolution":
			return pct(done, opened)
		}
		return pct(sat, rated)
	}
	party := func() float64 {
		return count(true, `SELECT town_id, village_id, NULL, NULL, NULL, NULL, NULL FROM residents WHERE status = 'active' AND party_member`)
	}
	residents := func() float64 {
		return count(true, `SELECT town_id, village_id, NULL, NULL, NULL, NULL, NULL FROM residents WHERE status = 'active'`)
	}
	active := func() float64 {
		// Residents with a positive month of points or an attended month, in the span.
		on := map[int64]bool{}
		for _, r := range raw(t, q, `SELECT town_id, village_id, NULL, period, NULL, points, resident_id FROM bank_earnings`) {
			if r.val > 0 && when(r, s, false) {
				on[r.who] = true
			}
		}
		for _, r := range raw(t, q, `SELECT town_id, village_id, NULL, month, NULL, NULL, resident_id FROM attend_months`) {
			if when(r, s, false) {
				on[r.who] = true
			}
		}
		n := 0.0
		for _, r := range raw(t, q, `SELECT town_id, village_id, NULL, NULL, NULL, NULL, id FROM residents WHERE status = 'active'`) {
			if inScope(r, sc) && on[r.who] {
				n++
			}
		}
		return n
	}
	switch key {
	case "bank.cards":
		return count(true, `SELECT r.town_id, r.village_id, c.issued_at, NULL, NULL, NULL, NULL FROM bank_cards c, residents r WHERE r.id = c.resident_id`), true
	case "people.users":
		return count(true, `SELECT r.town_id, r.village_id, a.created_at, NULL, NULL, NULL, NULL FROM accounts a, residents r WHERE r.id = a.resident_id`), true
	case "bank.points":
		return total(true, `SELECT town_id, village_id, NULL, period, NULL, points, NULL FROM bank_earnings`), true
	case "bank.issued":
		return total(false, `SELECT town_id, village_id, NULL, period, NULL, points, NULL FROM bank_earnings`), true
	case "bank.active":
		on := map[int64]bool{}
		for _, r := range raw(t, q, `SELECT town_id, village_id, NULL, period, NULL, points, resident_id FROM bank_earnings`) {
			if r.val > 0 && inScope(r, sc) && when(r, s, false) {
				on[r.who] = true
			}
		}
		return float64(len(on)), true
	case "honours.wall":
		return count(true, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM honours_wall`), true
	case "activities":
		n := count(false, `SELECT town_id, village_id, starts_at, NULL, NULL, NULL, NULL FROM volunteer_shifts`)
		n += count(false, `SELECT town_id, village_id, starts_at, NULL, NULL, NULL, NULL FROM school_lessons WHERE status <> 'cancelled'`)
		n += count(false, `SELECT town_id, village_id, starts_at, NULL, NULL, NULL, NULL FROM consult_meetings WHERE status <> 'cancelled'`)
		n += count(false, `SELECT town_id, NULL, starts_at, NULL, NULL, NULL, NULL FROM alliance_activities WHERE status <> 'cancelled'`)
		n += count(false, `SELECT town_id, NULL, NULL, month, NULL, NULL, NULL FROM honours_actions WHERE status = 'published'`)
		return n, true
	case "alliance.units":
		return count(true, `SELECT town_id, NULL, created_at, NULL, NULL, NULL, NULL FROM alliance_units WHERE active`), true
	case "alliance.activities":
		return count(false, `SELECT town_id, NULL, starts_at, NULL, NULL, NULL, NULL FROM alliance_activities WHERE status <> 'cancelled'`), true
	case "alliance.person_times":
		return total(false, `SELECT town_id, NULL, starts_at, NULL, NULL, served, NULL FROM alliance_activities WHERE status = 'closed'`), true
	case "alliance.projects":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM alliance_projects WHERE status <> 'declined'`), true
	case "alliance.donations":
		return total(false, `SELECT town_id, NULL, NULL, NULL, donated_on, money_yuan, NULL FROM alliance_donations`), true
	case "consult.meetings":
		return count(false, `SELECT town_id, village_id, starts_at, NULL, NULL, NULL, NULL FROM consult_meetings WHERE status = 'closed'`), true
	case "consult.answered":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM consult_referrals WHERE status IN ('done', 'rated')`), true
	case "consult.topics":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM consult_topics`), true
	case "consult.referrals":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM consult_referrals`), true
	case "consult.visits":
		return count(false, `SELECT town_id, village_id, NULL, NULL, visited_on, NULL, NULL FROM consult_visits`), true
	case "disputes.consultations":
		return count(false, `SELECT town_id, village_id, NULL, NULL, day, NULL, NULL FROM dispute_consultations WHERE status = 'answered'`), true
	case "disputes.filed":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM dispute_cases WHERE status = 'filed'`), true
	case "school.party_reached":
		return people(`SELECT town_id, village_id, NULL, month, NULL, NULL, resident_id FROM attend_months WHERE kind = $1 AND party`, school.LessonKind), true
	case "school.experts":
		n := 0.0
		for _, r := range raw(t, q, `SELECT town_id, NULL, created_at, NULL, NULL, NULL, NULL FROM school_experts WHERE retired_at IS NULL`) {
			if inScope(r, sc) && when(r, s, true) {
				n++
			}
		}
		// Retired since the period's end: still counted then.
		for _, r := range raw(t, q, `SELECT town_id, NULL, retired_at, NULL, NULL, NULL, NULL FROM school_experts WHERE retired_at IS NOT NULL`) {
			if inScope(r, sc) && !r.at.Before(s.End) {
				n++
			}
		}
		return n, true
	case "school.lessons":
		return count(false, `SELECT town_id, village_id, starts_at, NULL, NULL, NULL, NULL FROM school_lessons WHERE status <> 'cancelled'`), true
	case "school.coverage":
		reached, _ := st.figure("school.party_reached", sc, s)
		return pct(reached, party()), true
	case "school.rating":
		rows := raw(t, q, `SELECT l.town_id, l.village_id, l.starts_at, NULL, NULL, t.rating, NULL FROM school_ratings t, school_lessons l WHERE l.id = t.lesson_id`)
		n, sumv := sum(rows, sc, s, false, "count"), sum(rows, sc, s, false, "sum")
		if n == 0 {
			return 0, true
		}
		return sumv / n, true
	case "volunteer.volunteers":
		return count(true, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM volunteers`), true
	case "volunteer.hours":
		return total(false, `SELECT h.town_id, h.village_id, h.starts_at, NULL, NULL, s.minutes / 60.0, NULL FROM volunteer_signups s, volunteer_shifts h WHERE h.id = s.shift_id AND s.status = 'attended'`), true
	case "volunteer.shifts":
		return count(false, `SELECT town_id, village_id, starts_at, NULL, NULL, NULL, NULL FROM volunteer_shifts`), true
	case "volunteer.needs":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM volunteer_needs`), true
	case "bank.redeemed":
		return total(false, `SELECT r.town_id, o.village_id, o.created_at, NULL, NULL, o.points, NULL FROM bank_redemptions o, residents r WHERE r.id = o.resident_id AND o.status <> 'cancelled'`), true
	case "bank.orders":
		return count(false, `SELECT r.town_id, o.village_id, o.created_at, NULL, NULL, NULL, NULL FROM bank_redemptions o, residents r WHERE r.id = o.resident_id AND o.status <> 'cancelled'`), true
	case "bank.outstanding":
		return total(true, `SELECT town_id, village_id, NULL, NULL, NULL, balance, NULL FROM bank_accounts WHERE kind = 'resident'`), true
	case "bank.claims":
		return count(false, `SELECT town_id, village_id, created_at, NULL, NULL, NULL, NULL FROM bank_claims`), true
	case "bank.objections":
		return count(false, `SELECT c.town_id, c.village_id, o.created_at, NULL, NULL, NULL, NULL FROM bank_objections o, bank_claims c WHERE c.id = o.claim_id`), true
	case "people.residents":
		return residents(), true
	case "people.active":
		return active(), true
	case "people.participation":
		return pct(active(), residents()), true
	}
	for _, fr := range []struct {
		prefix, table string
		f             *flow.Flow
	}{{"volunteer.needs.", "volunteer_needs", volunteer.NeedFlow}, {"consult.referrals.", "consult_referrals", consult.ReferralFlow}, {"alliance.projects.", "alliance_projects", alliance.ProjectFlow}} {
		if which, ok := strings.CutPrefix(key, fr.prefix); ok {
			return rate(fr.f, fr.table, which), true
		}
	}
	return 0, false
}

// close says whether the report's value (rounded to one decimal) matches the straight one.
func close(got, want float64) bool { return math.Abs(got-want) <= 0.051 }

// checkAll compares every figure of a scope over the periods with the straightforward count.
func checkAll(t *testing.T, env *servertest.Env, a *auth.Actor, sc report.Scope, specs []string) {
	t.Helper()
	st := straight{t: t, q: env.Sys.DB.Read(), now: time.Now()}
	for _, spec := range specs {
		doc, err := env.Sys.Report.Figures(context.Background(), a, sc, spec, false)
		if err != nil {
			t.Fatalf("%v %s: %v", sc, spec, err)
		}
		if len(doc.Figures) == 0 {
			t.Fatalf("%v %s: no figures", sc, spec)
		}
		for _, f := range doc.Figures {
			want, ok := st.figure(f.Key, sc, doc.Period)
			if !ok {
				t.Errorf("%s: the test has no straightforward count for it", f.Key)
				continue
			}
			if !close(f.Value, want) {
				t.Errorf("%v %s %s: report %v, counted %v", sc, spec, f.Key, f.Value, want)
			}
			prev, _ := st.figure(f.Key, sc, doc.Previous)
			if !close(f.Previous, prev) {
				t.Errorf("%v %s %s: previous %v, counted %v", sc, spec, f.Key, f.Previous, prev)
			}
		}
		// A town's villages add up to what the town counts of village-kept figures.
		for _, g := range doc.Groups {
			gsc := report.Scope{Level: report.Village, ID: g.ID}
			if sc.Level == report.District {
				gsc = report.Scope{Level: report.Town, ID: g.ID}
			}
			for _, key := range []string{"bank.issued", "activities", "people.residents", "bank.cards"} {
				want, _ := st.figure(key, gsc, doc.Period)
				if got, ok := g.Values[key]; ok && !close(got, want) {
					t.Errorf("%v %s group %s %s: %v, counted %v", sc, spec, g.Name, key, got, want)
				}
			}
		}
	}
}

// districtAdmin is the district's admin as the service sees them.
// resident is where a test's resident lives, for writing their earnings and attendance.
type resident struct{ id, town, village, household int64 }

// activeResidents are the town's active residents, by id.
func activeResidents(t *testing.T, q *sql.DB, town int64) []resident {
	t.Helper()
	rows, err := q.Query(`SELECT id, town_id, village_id, household_id FROM residents WHERE town_id = $1 AND status = 'active' ORDER BY id`, town)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []resident
	for rows.Next() {
		var r resident
		if err := rows.Scan(&r.id, &r.town, &r.village, &r.household); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func districtAdmin() *auth.Actor {
	return &auth.Actor{AccountID: 1, Name: "区级管理员", Grants: []auth.Grant{{Role: auth.DistrictAdmin}}}
}

// TestFiguresTwoWays: every figure of the demo town (with every pillar's demo data), of one of
// its villages and of the district of two towns, over a month, a quarter, a year and to date, is
// what a straightforward count over the raw rows gives, with the previous period's too, on both
// engines.
func TestFiguresTwoWays(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, true, func(t *testing.T, env *servertest.Env) {
		now := time.Now().In(time.FixedZone("CST", 8*3600))
		specs := []string{"", now.Format("2006-01"), now.AddDate(0, -1, 0).Format("2006-01"), fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())+2)/3), report.ToDate}
		var village int64
		if err := env.Sys.DB.Read().QueryRow(`SELECT r.village_id FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhoneResident).Scan(&village); err != nil {
			t.Fatal(err)
		}
		checkAll(t, env, districtAdmin(), report.Scope{Level: report.Town, ID: env.Info.TownID}, specs)
		checkAll(t, env, districtAdmin(), report.Scope{Level: report.Village, ID: village}, specs[:3])
		// The care schedule's overdue visits and the departments' rates are 微协商's own, as its
		// pages count them.
		ctx := context.Background()
		doc, err := env.Sys.Report.Figures(ctx, districtAdmin(), report.Scope{Level: report.Town, ID: env.Info.TownID}, "", false)
		if err != nil {
			t.Fatal(err)
		}
		care, err := env.Sys.Consult.CareFigures(ctx, districtAdmin(), env.Info.TownID, "2000-01-01", "2000-01-01")
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(doc.Overdue, func(o report.Overdue) bool { return o.Key == "care_visits" })
		if i < 0 || doc.Overdue[i].Count != care.Overdue || care.Overdue == 0 {
			t.Errorf("care visits overdue: %+v, the care figures say %d", doc.Overdue, care.Overdue)
		}
		depts, err := env.Sys.Consult.DepartmentRates(ctx, districtAdmin(), env.Info.TownID, doc.Period.Start, doc.Period.End)
		if err != nil {
			t.Fatal(err)
		}
		if len(depts) == 0 || len(doc.Departments) != len(depts) {
			t.Errorf("departments: %d in the report, %d on 微协商's page", len(doc.Departments), len(depts))
		}
		for k := range min(len(depts), len(doc.Departments)) {
			if doc.Departments[k].Rates != depts[k].Rates {
				t.Errorf("department %s: %+v, 微协商 says %+v", depts[k].Name, doc.Departments[k].Rates, depts[k].Rates)
			}
		}
		checkAll(t, env, districtAdmin(), report.Scope{Level: report.District}, specs[:2])
	})
}

// TestFiguresRandomTown: the same on a town of a random seed (logged), with random rows added to
// every aggregate the figures read, dated across the last two years.
func TestFiguresRandomTown(t *testing.T) {
	seed := rand.Int64N(1 << 30)
	t.Logf("seed %d", seed)
	servertest.EachWith(t, demo.Options{Seed: seed, Residents: 60}, false, func(t *testing.T, env *servertest.Env) {
		ctx, d := context.Background(), env.Sys.DB
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		all := activeResidents(t, d.Read(), env.Info.TownID)
		now := time.Now().UTC()
		// A third of the residents only earn, a third only attend, a third do both: who counts as
		// active must see either.
		for i, r := range all {
			for m := 0; m < 24; m++ {
				if rng.IntN(3) != 0 {
					continue
				}
				month := now.AddDate(0, -m, 0).In(time.FixedZone("CST", 8*3600)).Format("2006-01")
				points := rng.IntN(40)
				if i%3 != 1 {
					if _, err := d.Write().ExecContext(ctx, `INSERT INTO bank_earnings (resident_id, period, town_id, village_id, household_id, points) VALUES ($1, $2, $3, $4, $5, $6)
						ON CONFLICT (resident_id, period) DO NOTHING`, r.id, month, r.town, r.village, r.household, points); err != nil {
						t.Fatal(err)
					}
				}
				if i%3 != 0 && rng.IntN(2) == 0 {
					if _, err := d.Write().ExecContext(ctx, `INSERT INTO attend_months (kind, town_id, month, party, village_id, resident_id, events) VALUES ($1, $2, $3, $4, $5, $6, 1)
						ON CONFLICT DO NOTHING`, []string{school.LessonKind, consult.MeetingKind}[rng.IntN(2)], r.town, month, rng.IntN(2) == 0, r.village, r.id); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		specs := []string{"", now.AddDate(0, -1, 0).In(time.FixedZone("CST", 8*3600)).Format("2006-01"), fmt.Sprint(now.Year() - 1), report.ToDate}
		checkAll(t, env, districtAdmin(), report.Scope{Level: report.Town, ID: env.Info.TownID}, specs)
	})
}

// TestScope: through HTTP, a village's admin sees their village's figures and nothing of another
// village or of the town (404, as if missing); a town's admin sees the town and its villages, not
// another town; a resident is refused; the district admin sees every town and the district.
func TestScope(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		q := env.Sys.DB.Read()
		village := func(phone string) int64 {
			var id int64
			if err := q.QueryRow(`SELECT r.village_id FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, phone).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		var qiantuan, other, town2 int64
		qiantuan = village(demo.PhoneResident)
		if err := q.QueryRow(`SELECT g.village_id FROM account_roles g JOIN accounts a ON a.id = g.account_id WHERE a.phone = $1`, demo.PhoneVillageAdmin2).Scan(&other); err != nil {
			t.Fatal(err)
		}
		if err := q.QueryRow(`SELECT id FROM towns WHERE id <> $1`, env.Info.TownID).Scan(&town2); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			phone, query string
			want         int
		}{
			{demo.PhoneVillageAdmin, fmt.Sprintf("scope=village&id=%d", qiantuan), 200},
			{demo.PhoneVillageAdmin, fmt.Sprintf("scope=village&id=%d", other), 404},
			{demo.PhoneVillageAdmin, fmt.Sprintf("scope=town&id=%d", env.Info.TownID), 404},
			{demo.PhoneVillageAdmin, "scope=district", 404},
			{demo.PhoneTownAdmin, fmt.Sprintf("scope=town&id=%d", env.Info.TownID), 200},
			{demo.PhoneTownAdmin, fmt.Sprintf("scope=village&id=%d", other), 200},
			{demo.PhoneTownAdmin, fmt.Sprintf("scope=town&id=%d", town2), 404},
			{demo.PhoneTownAdmin, "scope=town&id=99999999", 404},
			{demo.PhoneTownAdmin, "scope=district", 404},
			{demo.PhoneResident, fmt.Sprintf("scope=village&id=%d", qiantuan), 403},
			{demo.PhoneDistrictAdmin, fmt.Sprintf("scope=town&id=%d", town2), 200},
			{demo.PhoneDistrictAdmin, "scope=district", 200},
			{demo.PhoneTownAdmin, fmt.Sprintf("scope=town&id=%d&period=2026-13", env.Info.TownID), 422},
			{demo.PhoneTownAdmin, "scope=city&id=1", 422},
		}
		for _, c := range cases {
			var doc report.Document
			status, body := env.API(c.phone).JSON("GET", "/api/v1/report/figures?"+c.query, nil, &doc)
			if status != c.want {
				t.Errorf("%s %s: %d, want %d: %.200s", c.phone, c.query, status, c.want, body)
				continue
			}
			if status != 200 {
				continue
			}
			f, ok := doc.Figure("bank.cards")
			if !ok || f.Name != "开卡数" || f.What == "" {
				t.Errorf("%s %s: bank.cards named %q, %v", c.phone, c.query, f.Name, ok)
			}
			if doc.Scope.Level == report.District && len(doc.Groups) != 2 {
				t.Errorf("the district's towns: %d", len(doc.Groups))
			}
		}
		// The village admin's own figures count only their village.
		var doc report.Document
		env.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/report/figures?scope=village&id=%d&period=todate", qiantuan), nil, &doc)
		var own float64
		if err := q.QueryRow(`SELECT COUNT(*) FROM residents WHERE village_id = $1 AND status = 'active'`, qiantuan).Scan(&own); err != nil {
			t.Fatal(err)
		}
		if f, _ := doc.Figure("people.residents"); f.Value != own {
			t.Errorf("the village's residents: %v, want %v", f.Value, own)
		}
		// The pages answer alike: the town's page for its admin, 404 for another village's staff.
		if status, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/report"); status != http.StatusOK || !strings.Contains(body, "开卡数") {
			t.Errorf("the town's dashboard: %d", status)
		}
		if status, _ := env.Browser(demo.PhoneVillageAdmin).Get(fmt.Sprintf("/admin/report?scope=village&id=%d", other)); status != http.StatusNotFound {
			t.Errorf("another village's dashboard: %d, want 404", status)
		}
		for _, p := range []string{"/admin/report?screen=1", "/admin/report/monthly"} {
			if status, body := env.Browser(demo.PhoneTownAdmin).Get(p); status != http.StatusOK || !strings.Contains(body, "开卡数") {
				t.Errorf("%s: %d", p, status)
			}
		}
		status, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/report/monthly.xlsx")
		if status != 200 || !strings.HasPrefix(body, "PK") {
			t.Errorf("the monthly workbook: %d", status)
		}
	})
}

// TestEveryFigureIsNamed: each figure has its Chinese name and what it counts in every language,
// accepts at least one period and scope, and is computed one way only.
func TestEveryFigureIsNamed(t *testing.T) {
	cat, err := web.LoadCatalog(report.Messages)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range report.Defs {
		if seen[d.Key] {
			t.Errorf("%s is defined twice", d.Key)
		}
		seen[d.Key] = true
		for _, lang := range web.Langs {
			for _, k := range []string{"report.fig." + d.Key, "report.what." + d.Key} {
				if got := cat.T(lang, k); got == "" || got == k {
					t.Errorf("%s: %s has no text in %s", d.Key, k, lang)
				}
			}
		}
		if len(d.Periods) == 0 || len(d.Scopes) == 0 || d.Path == "" || !strings.HasPrefix(d.Path, "/admin/") {
			t.Errorf("%s: periods %v, scopes %v, list %q", d.Key, d.Periods, d.Scopes, d.Path)
		}
	}
	if len(report.Defs) < 40 {
		t.Errorf("only %d figures", len(report.Defs))
	}
}
