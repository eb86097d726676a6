package volunteer_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/volunteer"
)

// zhWeekdays are the weekdays as pages write them, Sunday first as time.Weekday counts them.
var zhWeekdays = [7]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// zhDay is a day as pages write it without the year ("12月8日 周二"), which a day of another year
// also holds after its year ("2027年1月4日 周一"): pages are read in whatever year the test runs.
func zhDay(d time.Time) string {
	return fmt.Sprintf("%d月%d日 %s", d.Month(), d.Day(), zhWeekdays[d.Weekday()])
}

// TestShiftPagesSayTheDayWithItsWeekday: a shift's day and hours read as people say them on the
// leader's shift and post pages and on the resident's post page and list of shifts:
// "12月8日 周二 上午9:00–11:00", the part of the day's word once when both ends share it, twice
// when they do not; never the stored "2026-12-08 09:00".
func TestShiftPagesSayTheDayWithItsWeekday(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		first := u.town.Today(u.now()).AddDate(0, 0, 3)
		second := first.AddDate(0, 0, 1)
		in := volunteer.PostInput{TeamID: u.teams[0].ID, Title: "为老人理发", Place: "党群服务站", RuleCode: "serve",
			Shifts: []volunteer.ShiftInput{
				{Date: first.Format("2006-01-02"), Start: "09:00", End: "11:00", Capacity: 2},
				{Date: second.Format("2006-01-02"), Start: "09:30", End: "15:00", Capacity: 2}}}
		var p volunteer.Post
		leaderAPI := u.API(demo.PhoneVillageAdmin)
		if st, body := leaderAPI.JSON("POST", "/api/v1/volunteer/posts", in, &p); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
		var detail volunteer.PostDetail
		if st, body := leaderAPI.JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 2 {
			t.Fatalf("post: %d %s", st, body)
		}
		morning := zhDay(first) + " 上午9:00–11:00"
		across := zhDay(second) + " 上午9:30–下午3:00"
		stored := first.Format("2006-01-02") + " 09:00"

		resident := u.API(demo.PhoneResident)
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{u.teams[0].ID}}, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		if st, body := resident.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", detail.Shifts[0].ID), nil, nil); st != 201 {
			t.Fatalf("sign up: %d %s", st, body)
		}

		leader, page := u.Browser(demo.PhoneVillageAdmin), u.Browser(demo.PhoneResident)
		for _, c := range []struct {
			who   string
			get   func(string) (int, string)
			path  string
			shown []string
		}{
			{"the leader's shift page", leader.Get, fmt.Sprintf("/admin/volunteer/shifts/%d", detail.Shifts[0].ID), []string{"<p>" + morning + " · 党群服务站"}},
			{"the leader's post page", leader.Get, fmt.Sprintf("/admin/volunteer/posts/%d", p.ID), []string{morning + "</a>", across + "</a>"}},
			{"the resident's post page", page.Get, fmt.Sprintf("/volunteer/posts/%d", p.ID), []string{"<strong>" + morning + "</strong>", "<strong>" + across + "</strong>"}},
			{"the resident's shifts", page.Get, "/volunteer/shifts", []string{"<div>" + morning + " · 党群服务站</div>"}},
		} {
			st, body := c.get(c.path)
			if st != 200 {
				t.Fatalf("%s: %d %.300s", c.who, st, body)
			}
			for _, s := range c.shown {
				if !strings.Contains(body, s) {
					t.Errorf("%s does not show %q: %.3000s", c.who, s, body[max(0, strings.Index(body, "<main")):])
				}
			}
			if strings.Contains(body, stored) || strings.Contains(body, "09:00–11:00") {
				t.Errorf("%s still writes the stored day and hours", c.who)
			}
		}
	})
}
