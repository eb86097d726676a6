package volunteer_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// TestVolunteeringOverHTTP walks the pillar through the API and the pages as a leader, a
// resident, another village's admin and an anonymous caller would.
func TestVolunteeringOverHTTP(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		clock := &atomic.Int64{}
		clock.Store(db.Now().UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		env.Sys.Volunteer.Now, env.Sys.Bank.Now, env.Sys.Notify.Now = now, now, now
		town, _ := env.Sys.People.Town(t.Context(), env.Info.TownID)
		adoptRules(t, env.Sys, town)
		qt, _ := env.Sys.People.VillageByName(t.Context(), town.ID, "前疃村")
		leader, resident, other, anon := env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneResident), env.API(demo.PhoneVillageAdmin2), env.Anonymous()

		var teams []volunteer.Team
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", qt.ID), nil, &teams); st != 200 || len(teams) != 6 {
			t.Fatalf("teams: %d %s", st, body)
		}
		tomorrow := town.Today(now()).AddDate(0, 0, 1).Format("2006-01-02")
		in := volunteer.PostInput{TeamID: teams[0].ID, Title: "为老人理发", Place: "党群服务站", RuleCode: "serve", Skills: []string{"haircut"},
			Shifts: []volunteer.ShiftInput{{Date: tomorrow, Start: "09:00", End: "11:00", Capacity: 1}}}
		bad := in
		bad.Shifts = []volunteer.ShiftInput{{Date: tomorrow, Start: "11:00", End: "09:00", Capacity: 0}}
		var problem web.Problem
		if st, body := leader.JSON("POST", "/api/v1/volunteer/posts", bad, nil); st != 422 || !strings.Contains(body, `"shifts[0].end"`) || !strings.Contains(body, "结束时间须晚于开始时间") {
			t.Errorf("end before start: %d %s", st, body)
		}
		if st, _ := other.JSON("POST", "/api/v1/volunteer/posts", in, &problem); st != 404 {
			t.Errorf("another village's admin publishes for 前疃村: %d", st)
		}
		if st, _ := anon.JSON("POST", "/api/v1/volunteer/posts", in, nil); st != 401 {
			t.Errorf("anonymous publishes: %d", st)
		}
		var p volunteer.Post
		if st, body := leader.JSON("POST", "/api/v1/volunteer/posts", in, &p); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
		var detail volunteer.PostDetail
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 1 {
			t.Fatalf("post: %d %s", st, body)
		}
		shift := detail.Shifts[0].ID
		signups := fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shift)
		if st, body := resident.JSON("POST", signups, nil, nil); st != 409 || !strings.Contains(body, "请先登记为志愿者") {
			t.Errorf("sign-up before registering: %d %s", st, body)
		}
		var me volunteer.Volunteer
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Skills: []string{"haircut"}, Teams: []int64{teams[0].ID}}, &me); st != 200 || me.Number == "" {
			t.Fatalf("register: %d %s", st, body)
		}
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", map[string]any{"consent": true, "id_number": "x"}, nil); st != 422 || !strings.Contains(body, `"id_number"`) {
			t.Errorf("unknown field: %d %s", st, body)
		}
		var su volunteer.Signup
		if st, body := resident.JSON("POST", signups, nil, &su); st != 201 || su.Status != volunteer.Confirmed {
			t.Fatalf("sign up: %d %s", st, body)
		}
		if st, _ := resident.JSON("POST", signups, nil, &su); st != 200 || !su.Replayed {
			t.Errorf("sign up again: %d", st)
		}
		if st, _ := resident.JSON("DELETE", signups+"/me", nil, nil); st != 204 {
			t.Errorf("cancel: %d", st)
		}
		if st, _ := resident.JSON("DELETE", signups+"/me", nil, nil); st != 404 {
			t.Errorf("cancel again: %d", st)
		}
		if st, _ := resident.JSON("POST", signups, nil, &su); st != 201 || su.Status != volunteer.Confirmed {
			t.Errorf("sign up after cancelling: %d %+v", st, su)
		}
		// At the site: the resident cannot check themself in; the leader can.
		clock.Add((24*time.Hour - time.Duration(now().In(town.Location()).Hour())*time.Hour).Microseconds()) // about midnight tonight
		clock.Add((9*time.Hour + 10*time.Minute).Microseconds())
		checkins := fmt.Sprintf("/api/v1/volunteer/shifts/%d/checkins", shift)
		if st, _ := resident.JSON("POST", checkins, volunteer.CheckinInput{ResidentID: su.ResidentID, Action: "in"}, nil); st != 404 {
			t.Errorf("resident checks in by id: %d", st)
		}
		if st, _ := other.JSON("POST", checkins, volunteer.CheckinInput{ResidentID: su.ResidentID, Action: "in"}, nil); st != 404 {
			t.Errorf("another village's admin checks in: %d", st)
		}
		if st, body := leader.JSON("POST", checkins, volunteer.CheckinInput{VolunteerNumber: me.Number, Action: "in", At: "09:00"}, nil); st != 200 {
			t.Fatalf("check in: %d %s", st, body)
		}
		if st, body := leader.JSON("POST", checkins, volunteer.CheckinInput{VolunteerNumber: me.Number, Action: "out", At: "08:30"}, nil); st != 422 || !strings.Contains(body, "签退时间须晚于签到时间") {
			t.Errorf("check-out before check-in: %d %s", st, body)
		}
		if st, body := leader.JSON("POST", checkins, volunteer.CheckinInput{VolunteerNumber: me.Number, Action: "out", At: "09:10"}, nil); st != 200 {
			t.Fatalf("check out: %d %s", st, body)
		}
		var res volunteer.CompleteResult
		for range 2 {
			if st, body := leader.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/complete", shift), nil, &res); st != 200 || res.Signups[0].TransactionID == 0 || res.Signups[0].Minutes != 10 {
				t.Fatalf("complete: %d %s", st, body)
			}
		}
		var bal struct{ Balance int64 }
		resident.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", su.ResidentID), nil, &bal)
		if bal.Balance != 3 {
			t.Errorf("balance %d after completion confirmed twice, want 3", bal.Balance)
		}
		if st, body := leader.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/messages", shift), volunteer.MessageInput{Title: "辛苦了", Body: "感谢参加"}, nil); st != 201 {
			t.Errorf("message: %d %s", st, body)
		}
		var inbox notify.Inbox
		if st, _ := resident.JSON("GET", "/api/v1/notifications", nil, &inbox); st != 200 || inbox.Unread != 1 || inbox.Messages[0].Title != "辛苦了" {
			t.Errorf("inbox: %d %+v", st, inbox)
		}
		// Needs: filed by the resident, rated 6 refused.
		var n volunteer.Need
		if st, body := resident.JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "repair", Description: "屋顶漏雨", Urgency: "high"}, &n); st != 201 || n.Source != "self" {
			t.Fatalf("file need: %d %s", st, body)
		}
		act := fmt.Sprintf("/api/v1/volunteer/needs/%d/actions", n.ID)
		for _, step := range []volunteer.NeedAction{{Action: "assign", TeamID: teams[0].ID}, {Action: "take", VolunteerID: me.ID}, {Action: "done"}} {
			if st, body := leader.JSON("POST", act, step, nil); st != 200 {
				t.Fatalf("%s: %d %s", step.Action, st, body)
			}
		}
		if st, body := resident.JSON("POST", act, volunteer.NeedAction{Action: "rate", Rating: 6}, nil); st != 422 || !strings.Contains(body, `"rating"`) {
			t.Errorf("rating 6: %d %s", st, body)
		}
		if st, _ := other.JSON("GET", fmt.Sprintf("/api/v1/volunteer/needs/%d", n.ID), nil, nil); st != 404 {
			t.Errorf("another village's admin reads the need: %d", st)
		}
		// Listing by another village is hidden; their own lists show none of 前疃村's.
		for _, list := range []string{"posts", "needs"} {
			if st, _ := other.JSON("GET", fmt.Sprintf("/api/v1/volunteer/%s?village_id=%d", list, qt.ID), nil, nil); st != 404 {
				t.Errorf("another village's admin lists 前疃村's %s: %d", list, st)
			}
			var own []struct {
				VillageID int64 `json:"village_id"`
			}
			if st, _ := other.JSON("GET", "/api/v1/volunteer/"+list, nil, &own); st != 200 || slices.ContainsFunc(own, func(x struct {
				VillageID int64 `json:"village_id"`
			}) bool {
				return x.VillageID == qt.ID
			}) {
				t.Errorf("another village's admin's own %s: %d %+v", list, st, own)
			}
		}
		var figs []volunteer.Figure
		if st, _ := env.API(demo.PhoneTownAdmin).JSON("GET", "/api/v1/volunteer/figures", nil, &figs); st != 200 || figs[len(figs)-1].Minutes != 10 {
			t.Errorf("figures: %d %+v", st, figs)
		}
		if st, _ := resident.JSON("GET", "/api/v1/volunteer/figures", nil, nil); st != 403 {
			t.Errorf("resident reads figures: %d", st)
		}

		// The pages render for a resident and for staff, in Chinese, with the data above.
		b, s := env.Browser(demo.PhoneResident), env.Browser(demo.PhoneVillageAdmin)
		for _, c := range []struct {
			client *servertest.Client
			path   string
			want   string
		}{
			{b, "/volunteer", "身边的志愿岗位"},
			{b, fmt.Sprintf("/volunteer/posts/%d", p.ID), "为老人理发"},
			{b, "/volunteer/shifts", "已服务"},
			{b, "/volunteer/record", "0.2 小时"},
			{b, "/volunteer/needs", "屋顶漏雨"},
			{b, "/volunteer/register", "登记为志愿者"},
			{b, "/notifications", "辛苦了"},
			{s, "/admin/volunteer", "民生帮扶队"},
			{s, "/admin/volunteer/posts", "为老人理发"},
			{s, fmt.Sprintf("/admin/volunteer/posts/%d", p.ID), "排班表"},
			{s, fmt.Sprintf("/admin/volunteer/shifts/%d", shift), "已入账"},
			{s, "/admin/volunteer/needs?status=all", "屋顶漏雨"},
			{s, fmt.Sprintf("/admin/volunteer/needs/%d", n.ID), "已完成"},
			{s, "/admin/volunteer/volunteers", me.Number},
			{s, fmt.Sprintf("/admin/volunteer/volunteers/%d", me.ID), "服务记录"},
			{s, "/admin/volunteer/figures", "全镇合计"},
		} {
			if st, body := c.client.Get(c.path); st != 200 || !strings.Contains(body, c.want) {
				t.Errorf("GET %s: %d, want %q in %.400s", c.path, st, c.want, body)
			}
		}
		if st, _ := env.Browser(demo.PhoneVillageAdmin2).Get(fmt.Sprintf("/admin/volunteer/shifts/%d", shift)); st != 404 {
			t.Errorf("another village's admin opens the shift page: %d", st)
		}
		// A refused form shows the field's message and stores nothing.
		form := url.Values{"village_id": {fmt.Sprint(qt.ID)}, "team_id": {fmt.Sprint(teams[0].ID)}, "title": {"夜巡"}, "place": {"村口"}, "rule_code": {"serve"},
			"open_to": {"village"}, "date": {tomorrow}, "start": {"20:00"}, "end": {"19:00"}, "capacity": {"3"}}
		if st, body := s.PostForm("/admin/volunteer/posts", form); st != http.StatusUnprocessableEntity || !strings.Contains(body, "结束时间须晚于开始时间") {
			t.Errorf("bad post form: %d", st)
		}
		var posts int
		d.Read().QueryRow(`SELECT COUNT(*) FROM volunteer_posts`).Scan(&posts)
		if posts != 1 {
			t.Errorf("%d posts after a refused form, want 1", posts)
		}
		// Shifts added through the roster's form: a weekly pattern of Mondays and Wednesdays.
		add := url.Values{"date": {tomorrow}, "start": {"14:00"}, "end": {"16:00"}, "capacity": {"2"}, "weekdays": {"1", "3"},
			"until": {town.Today(now()).AddDate(0, 0, 14).Format("2006-01-02")}}
		if st, body := s.PostForm(fmt.Sprintf("/admin/volunteer/posts/%d/shifts", p.ID), add); st != http.StatusSeeOther {
			t.Errorf("add shifts: %d %.300s", st, body)
		}
		var shifts int
		d.Read().QueryRow(`SELECT COUNT(*) FROM volunteer_shifts WHERE post_id = $1 AND day <> $2`, p.ID, tomorrow).Scan(&shifts)
		if shifts < 3 || shifts > 5 {
			t.Errorf("%d shifts from two weeks of Mondays and Wednesdays", shifts)
		}
	})
}
