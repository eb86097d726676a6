package report_test

import (
	"context"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/report"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
)

// TestActiveAfterReversal: active_periods, kept by triggers, counts a resident who earned points
// in a month as active in its month, quarter and year even after the points were reversed to
// nothing, and one who only attended an event as active but not as an account that earned; a
// period with neither counts nobody.
func TestActiveAfterReversal(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 60}, false, func(t *testing.T, env *servertest.Env) {
		ctx, d := context.Background(), env.Sys.DB
		rs := activeResidents(t, d.Read(), env.Info.TownID)
		earner, attendee := rs[0], rs[1]
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO bank_earnings (resident_id, period, town_id, village_id, household_id, points) VALUES ($1, '2020-02', $2, $3, $4, 5)`,
				[]any{earner.id, earner.town, earner.village, earner.household}},
			{`UPDATE bank_earnings SET points = points - 5 WHERE resident_id = $1 AND period = '2020-02'`, []any{earner.id}},
			{`INSERT INTO attend_months (kind, town_id, month, party, village_id, resident_id, events) VALUES ($1, $2, '2020-05', FALSE, $3, $4, 1)`,
				[]any{school.LessonKind, attendee.town, attendee.village, attendee.id}},
		} {
			if _, err := d.Write().ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		sc := report.Scope{Level: report.Town, ID: env.Info.TownID}
		for _, c := range []struct {
			spec           string
			earned, active float64
		}{{"2020-02", 1, 1}, {"2020-Q1", 1, 1}, {"2020-Q2", 0, 1}, {"2020", 1, 2}, {"2020-03", 0, 0}} {
			doc, err := env.Sys.Report.Figures(ctx, districtAdmin(), sc, c.spec, false)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, v := range doc.Figures {
				got[v.Key] = v.Value
			}
			if got["bank.active"] != c.earned || got["people.active"] != c.active {
				t.Errorf("%s: bank.active %v, people.active %v; want %v, %v", c.spec, got["bank.active"], got["people.active"], c.earned, c.active)
			}
		}
	})
}
