package demo_test

import (
	"context"
	"math"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/school"
	"siwei/internal/server"
)

// TestSchoolDemo runs the demo's 微党校 step: ten experts of the article's bodies, the demo expert's
// login linked to its record, each of the nine categories with three to five courses, no rating
// or lesson made up: a course counts as taught as often as its lessons' rolls were closed, and
// its ratings are its lessons' attendees' ratings, some of each from the year of lessons; a
// second run adds nothing.
func TestSchoolDemo(t *testing.T) {
	eachTown(t, "school", demo.Options{Seed: 3, Residents: 100}, schoolOnce, func(t *testing.T, d *db.DB, sys *server.System, info demo.Info) {
		ctx := context.Background()
		{ // the step again, after the town's first (schoolOnce)
			if err := demo.School(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		staff := auth.System("test")
		experts, err := sys.School.Experts(ctx, staff, school.ExpertFilter{TownID: info.TownID})
		if err != nil || len(experts) != 10 {
			t.Fatalf("%d experts, %v", len(experts), err)
		}
		bodies := map[string]bool{}
		for _, e := range experts {
			bodies[e.Affiliation] = true
			if len(e.Availability) == 0 || e.Bio == "" || len(e.Fields) == 0 {
				t.Errorf("expert without availability, bio or fields: %+v", e)
			}
		}
		for _, b := range []string{"中共中央党校（国家行政学院）", "中共北京市委党校", "北京志愿服务研究会", "北京市民政局", "通州区民政局"} {
			if !bodies[b] {
				t.Errorf("no expert from %s", b)
			}
		}
		var login int64
		if err := d.Read().QueryRowContext(ctx, `SELECT e.account_id FROM school_experts e JOIN accounts a ON a.id = e.account_id WHERE a.phone = $1 AND e.name = $2`,
			demo.PhoneExpert, demo.ExpertName).Scan(&login); err != nil {
			t.Fatalf("the demo expert's login is not linked to %s: %v", demo.ExpertName, err)
		}
		courses, err := sys.School.Courses(ctx, staff, school.CourseFilter{TownID: info.TownID})
		if err != nil {
			t.Fatal(err)
		}
		perCategory, statuses := map[string]int{}, map[school.Status]int{}
		var taught, rated int
		for _, c := range courses {
			perCategory[c.Category]++
			statuses[c.Status]++
			var closed, ratings, sum int
			if err := d.Read().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM attend_events e JOIN school_lessons l ON l.id = e.ref_id
					WHERE e.kind = $1 AND l.course_id = $2 AND e.closed_at IS NOT NULL),
				(SELECT COUNT(*) FROM school_ratings r JOIN school_lessons l ON l.id = r.lesson_id WHERE l.course_id = $2),
				(SELECT COALESCE(SUM(r.rating), 0) FROM school_ratings r JOIN school_lessons l ON l.id = r.lesson_id WHERE l.course_id = $2)`,
				school.LessonKind, c.ID).Scan(&closed, &ratings, &sum); err != nil {
				t.Fatal(err)
			}
			if c.TimesTaught != closed || c.Ratings != ratings || (ratings > 0 && c.Rating != math.Round(float64(sum)*10/float64(ratings))/10) || len(c.Experts) == 0 {
				t.Errorf("course %s: %d ratings averaging %.1f, taught %d times, %d experts; its lessons: %d rolls closed, %d ratings summing %d",
					c.Title, c.Ratings, c.Rating, c.TimesTaught, len(c.Experts), closed, ratings, sum)
			}
			if c.Status != school.Offered && (c.TimesTaught != 0 || c.Ratings != 0) {
				t.Errorf("course %s, %s, taught %d times, %d ratings", c.Title, c.Status, c.TimesTaught, c.Ratings)
			}
			taught, rated = taught+min(c.TimesTaught, 1), rated+min(c.Ratings, 1)
		}
		if taught < 5 || rated < 3 {
			t.Errorf("%d courses taught, %d rated", taught, rated)
		}
		cats, err := sys.School.Categories(ctx, staff, info.TownID)
		if err != nil || len(cats) != 9 {
			t.Fatalf("%d categories, %v", len(cats), err)
		}
		for _, k := range cats {
			if n := perCategory[k.Name]; n < 3 || n > 5 {
				t.Errorf("%s has %d courses, want 3 to 5", k.Name, n)
			}
		}
		if statuses[school.Offered] < len(courses)-4 || statuses[school.Draft] == 0 || statuses[school.Withdrawn] == 0 {
			t.Errorf("statuses %v", statuses)
		}
	})
}
