package volunteer_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
)

// TestScanAtTheSite: a volunteer's scan of the QR code is a form that redirects once recorded (it
// used to draw its answer in reply to the POST); the page it comes back to shows the scan, from
// the volunteer's own sign-up. A token that is not a shift's is refused on the page, with the
// token field's message, and records nothing.
func TestScanAtTheSite(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		at := &atomic.Int64{}
		at.Store(db.Now().UnixMicro())
		now := func() time.Time { return time.UnixMicro(at.Load()).UTC() }
		env.Sys.Volunteer.Now, env.Sys.Bank.Now, env.Sys.Notify.Now = now, now, now
		town, err := env.Sys.People.Town(t.Context(), env.Info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		adoptRules(t, env.Sys, town)
		qt, err := env.Sys.People.VillageByName(t.Context(), town.ID, "前疃村")
		if err != nil {
			t.Fatal(err)
		}
		leader, resident, page := env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneResident), env.Browser(demo.PhoneResident)

		var teams []volunteer.Team
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", qt.ID), nil, &teams); st != 200 || len(teams) == 0 {
			t.Fatalf("teams: %d %s", st, body)
		}
		tomorrow := clock.Day(clock.In(town.Location(), now).Today().AddDate(0, 0, 1))
		var p volunteer.Post
		if st, body := leader.JSON("POST", "/api/v1/volunteer/posts", volunteer.PostInput{TeamID: teams[0].ID, Title: "打扫村委会", Place: "村委会", RuleCode: "serve",
			Shifts: []volunteer.ShiftInput{{Date: tomorrow, Start: "09:00", End: "11:00", Capacity: 2}}}, &p); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
		var detail volunteer.PostDetail
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 1 {
			t.Fatalf("post: %d %s", st, body)
		}
		shift := detail.Shifts[0].ID
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{teams[0].ID}}, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		if st, body := resident.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shift), nil, nil); st != 201 {
			t.Fatalf("sign up: %d %s", st, body)
		}
		token := env.Sys.Volunteer.ShiftToken(shift)
		// Tomorrow at 08:50 in the town, ten minutes before the shift.
		day, _ := clock.ParseDay(tomorrow, town.Location())
		at.Store(day.Add(8*time.Hour + 50*time.Minute).UnixMicro())

		if st, body := page.PostForm("/volunteer/scan", url.Values{"t": {"VS1.1.forged"}}); st != 422 || !strings.Contains(body, "签到码无效") {
			t.Errorf("a forged token: %d, want 422 with the token's message", st)
		}
		st, loc := page.Submit("/volunteer/scan", url.Values{"t": {token}})
		if st != 303 {
			t.Fatalf("scan: %d %s", st, loc)
		}
		if st, body := page.Get(loc); st != 200 || !strings.Contains(body, "已记录到达") || !strings.Contains(body, "上午9:00–11:00") ||
			!strings.Contains(body, `<p class="flash" role="status">已记录到达：`) || !strings.Contains(body, "上午8:50</p>") {
			t.Errorf("the scan page after the scan: %d %.600s", st, body)
		}
		var sh volunteer.Shift
		if st, body := resident.JSON("GET", fmt.Sprintf("/api/v1/volunteer/shifts/%d", shift), nil, &sh); st != 200 || sh.Mine == nil || sh.Mine.ScannedInAt.IsZero() {
			t.Errorf("the scan is not on the sign-up: %d %s", st, body)
		}
	})
}
