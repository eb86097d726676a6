package demo_test

import (
	"context"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// TestSchoolDemoSurvey: the demo's 微党校 step leaves one demand survey, open, sent to every
// village and answered by all but three, 前疃村's by its admin's own login; a second run adds nothing.
func TestSchoolDemoSurvey(t *testing.T) {
	eachTown(t, "school", demo.Options{Seed: 3, Residents: 100}, schoolOnce, func(t *testing.T, d *db.DB, sys *server.System, info demo.Info) {
		ctx := context.Background()
		{ // the step again, after the town's first (schoolOnce)
			if err := demo.School(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		var surveys, villages, sent, answered, byLogin int
		q := d.Read()
		for _, c := range []struct {
			n   *int
			sql string
		}{
			{&surveys, `SELECT COUNT(*) FROM school_surveys WHERE town_id = $1 AND status = 'open'`},
			{&villages, `SELECT COUNT(*) FROM villages WHERE town_id = $1`},
			{&sent, `SELECT COUNT(*) FROM school_survey_villages sv JOIN school_surveys s ON s.id = sv.survey_id WHERE s.town_id = $1`},
			{&answered, `SELECT COUNT(*) FROM school_survey_answers a JOIN school_surveys s ON s.id = a.survey_id WHERE s.town_id = $1`},
			{&byLogin, `SELECT COUNT(*) FROM school_survey_answers a JOIN school_surveys s ON s.id = a.survey_id WHERE s.town_id = $1 AND a.answered_by IS NOT NULL`},
		} {
			if err := q.QueryRowContext(ctx, c.sql, info.TownID).Scan(c.n); err != nil {
				t.Fatal(err)
			}
		}
		if surveys != 1 || sent != villages || answered != villages-3 || byLogin != 2 {
			t.Errorf("%d surveys sent to %d of %d villages, %d answered (%d by a login)", surveys, sent, villages, answered, byLogin)
		}
		var id int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM school_surveys WHERE town_id = $1`, info.TownID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		full, err := sys.School.Survey(ctx, auth.System("test"), id)
		if err != nil || full.Tally == nil || len(full.Unanswered) != 3 || len(full.Tally.Topics) == 0 {
			t.Errorf("the tally: %+v %v", full.Tally, err)
		}
	})
}
