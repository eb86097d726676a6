package volunteer_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
)

// An award key given by one village's admin is theirs alone: it cannot take the key of a shift's
// payment in another village (issue 11, item 5: 东堡村's admin awarded their own resident with
// 前疃村's key volunteer:shift:17:resident:2, and 前疃村's shift could then not pay), nor tell
// anyone else whether a key is taken.
func TestAwardKeysStayInTheCallersNamespace(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		clock := &atomic.Int64{}
		clock.Store(db.Now().UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		env.Sys.Volunteer.Now, env.Sys.Bank.Now, env.Sys.Notify.Now = now, now, now
		town, _ := env.Sys.People.Town(t.Context(), env.Info.TownID)
		adoptRules(t, env.Sys, town)
		qt, _ := env.Sys.People.VillageByName(t.Context(), town.ID, "前疃村")
		dp, _ := env.Sys.People.VillageByName(t.Context(), town.ID, "东堡村")
		leader, resident, other := env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneResident), env.API(demo.PhoneVillageAdmin2)

		// 前疃村 publishes a shift; its resident signs up.
		var teams []volunteer.Team
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", qt.ID), nil, &teams); st != 200 || len(teams) == 0 {
			t.Fatalf("teams: %d %s", st, body)
		}
		tomorrow := town.Today(now()).AddDate(0, 0, 1).Format("2006-01-02")
		var p volunteer.Post
		if st, body := leader.JSON("POST", "/api/v1/volunteer/posts", volunteer.PostInput{TeamID: teams[0].ID, Title: "清扫村道", Place: "村委会", RuleCode: "serve",
			Shifts: []volunteer.ShiftInput{{Date: tomorrow, Start: "09:00", End: "11:00", Capacity: 2}}}, &p); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
		var detail volunteer.PostDetail
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 1 {
			t.Fatalf("post: %d %s", st, body)
		}
		shift := detail.Shifts[0].ID
		var me volunteer.Volunteer
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{teams[0].ID}}, &me); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		var su volunteer.Signup
		if st, body := resident.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shift), nil, &su); st != 201 {
			t.Fatalf("sign up: %d %s", st, body)
		}

		// 东堡村's admin awards a resident of their own village under the key 前疃村's shift will pay with.
		var theirs int64
		if err := env.Sys.DB.Read().QueryRow(`SELECT r.id FROM residents r WHERE r.village_id = $1 AND r.status = 'active'
			AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = r.id) ORDER BY r.id LIMIT 1`, dp.ID).Scan(&theirs); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("volunteer:shift:%d:resident:%d", shift, su.ResidentID)
		award := map[string]any{"resident_id": theirs, "rule_code": "serve", "reason": "帮邻居收玉米", "idempotency_key": key}
		var first bank.AwardResponse
		if st, body := other.JSON("POST", "/api/v1/bank/awards", award, &first); st != 201 {
			t.Fatalf("东堡村's award: %d %s", st, body)
		}
		// In their own namespace the key works as a key: a resend is the first award, and the same
		// key for something else is refused.
		var again bank.AwardResponse
		if st, body := other.JSON("POST", "/api/v1/bank/awards", award, &again); st != 200 || !again.Replayed || again.TransactionID != first.TransactionID {
			t.Errorf("东堡村's resend: %d %s", st, body)
		}
		reused := map[string]any{"resident_id": theirs, "rule_code": "serve", "reason": "另一件事", "idempotency_key": key}
		if st, body := other.JSON("POST", "/api/v1/bank/awards", reused, nil); st != 409 || !strings.Contains(body, `"bank.key_reused"`) {
			t.Errorf("东堡村 reuses its key: %d %s", st, body)
		}
		// 前疃村's admin, with the same key for their own resident, is not told that 东堡村 holds it.
		var own bank.AwardResponse
		mine := map[string]any{"resident_id": su.ResidentID, "rule_code": "serve", "reason": "打扫党群服务站", "idempotency_key": key}
		if st, body := leader.JSON("POST", "/api/v1/bank/awards", mine, &own); st != 201 || own.Replayed || own.TransactionID == first.TransactionID {
			t.Errorf("前疃村's award under the same key: %d %s", st, body)
		}

		// The shift happens and is completed: 前疃村's resident is paid for it.
		clock.Add((24*time.Hour - time.Duration(now().In(town.Location()).Hour())*time.Hour).Microseconds())
		clock.Add((9*time.Hour + 10*time.Minute).Microseconds())
		checkins := fmt.Sprintf("/api/v1/volunteer/shifts/%d/checkins", shift)
		for _, in := range []volunteer.CheckinInput{{VolunteerNumber: me.Number, Action: "in", At: "09:00"}, {VolunteerNumber: me.Number, Action: "out", At: "09:10"}} {
			if st, body := leader.JSON("POST", checkins, in, nil); st != 200 {
				t.Fatalf("check %s: %d %s", in.Action, st, body)
			}
		}
		var res volunteer.CompleteResult
		if st, body := leader.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/complete", shift), nil, &res); st != 200 || len(res.Signups) != 1 {
			t.Fatalf("complete: %d %s", st, body)
		}
		if s := res.Signups[0]; s.TransactionID == 0 || s.TransactionID == first.TransactionID || s.Payment() != "paid" {
			t.Fatalf("the shift's payment: transaction %d, %q (东堡村's award was transaction %d)", s.TransactionID, s.Payment(), first.TransactionID)
		}
		var bal struct{ Balance int64 }
		leader.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", su.ResidentID), nil, &bal)
		if bal.Balance != 6 {
			t.Errorf("前疃村's resident has %d points, want 3 for the award and 3 for the shift", bal.Balance)
		}

		// A caller cannot give a key in the bank's own spaces either: it stays in theirs. (The
		// resident had this rule's points from 东堡村 less than a day ago when the test runs late
		// in Beijing's evening: the award says it is another one.)
		if st, body := other.JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": theirs, "rule_code": "serve", "reason": "x",
			"idempotency_key": fmt.Sprintf("claim:%d", first.TransactionID), "confirm_duplicate": true}, nil); st != 201 {
			t.Errorf("a key that looks like the bank's own: %d %s", st, body)
		}
	})
}
