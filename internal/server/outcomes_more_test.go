package server_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
)

// inboxes reads what people were told, through GET /api/v1/notifications, since they were last
// asked.
type inboxes struct {
	t    *testing.T
	last map[*servertest.Client]int64
}

func newInboxes(t *testing.T) *inboxes {
	return &inboxes{t: t, last: map[*servertest.Client]int64{}}
}

// fresh is what a client was told since last asked, newest first.
func (in *inboxes) fresh(who string, c *servertest.Client) []notify.Message {
	in.t.Helper()
	var box notify.Inbox
	if st, raw := c.JSON("GET", "/api/v1/notifications?limit=200", nil, &box); st != 200 {
		in.t.Fatalf("%s's inbox: %d %s", who, st, raw)
	}
	var out []notify.Message
	for _, m := range box.Messages {
		if m.ID > in.last[c] {
			out = append(out, m)
		}
	}
	if len(box.Messages) > 0 {
		in.last[c] = box.Messages[0].ID
	}
	return out
}

// told checks that a client was told exactly one thing since last asked, under the title, and
// that it says every part, filled in, with a link to open.
func (in *inboxes) told(who string, c *servertest.Client, title string, parts ...string) {
	in.t.Helper()
	got := in.fresh(who, c)
	if len(got) != 1 {
		in.t.Errorf("%s got %d messages, want one %q: %+v", who, len(got), title, got)
		return
	}
	m := got[0]
	in.t.Logf("%s: %s｜%s", who, m.Title, m.Body)
	if m.Title != title || m.Link == "" || strings.Contains(m.Body, "%!") {
		in.t.Errorf("%s is told %q (%q, link %q), want %q", who, m.Title, m.Body, m.Link, title)
	}
	for _, p := range parts {
		if !strings.Contains(m.Body, p) {
			in.t.Errorf("%s's %q does not say %q: %q", who, title, p, m.Body)
		}
	}
}

// nothing checks that a client was told nothing since last asked.
func (in *inboxes) nothing(who string, c *servertest.Client) {
	in.t.Helper()
	if got := in.fresh(who, c); len(got) != 0 {
		in.t.Errorf("%s got %d messages, want none: %+v", who, len(got), got)
	}
}

// TestOrderOutcomesReachTheResident follows orders in the shop: each is ready at once, and the
// resident is told what to collect and where; handed over, and told; cancelled by staff, over the
// API and at the counter with a reason, and told the points came back. A resident who cancels
// their own order is told nothing.
func TestOrderOutcomesReachTheResident(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		if err := demo.Bank(context.Background(), env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		resident, admin := env.API(demo.PhoneResident), env.API(demo.PhoneVillageAdmin)
		// Enough points for two orders held at once, awarded by the village.
		var me struct {
			ID int64 `json:"id"`
		}
		if st, raw := resident.JSON("GET", "/api/v1/me", nil, &me); st != 200 || me.ID == 0 {
			t.Fatalf("me: %d %s", st, raw)
		}
		for i := range 20 {
			if st, raw := admin.JSON("POST", "/api/v1/bank/awards", bank.AwardInput{ResidentID: me.ID, RuleCode: "volunteer", Reason: "清扫村道",
				IdempotencyKey: fmt.Sprintf("outcome:award:%d", i), ConfirmDuplicate: true}, nil); st != 201 {
				t.Fatalf("award: %d %s", st, raw)
			}
		}
		in := newInboxes(t)
		in.fresh("the resident", resident)

		var items []bank.Item
		if st, raw := resident.JSON("GET", "/api/v1/bank/items", nil, &items); st != 200 {
			t.Fatalf("items: %d %s", st, raw)
		}
		item := map[string]int64{}
		for _, it := range items {
			item[it.Name] = it.ID
		}
		n := 0
		redeem := func(name string, qty int) bank.Redemption {
			t.Helper()
			n++
			var r bank.Redemption
			if st, raw := resident.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": item[name], "quantity": qty, "idempotency_key": fmt.Sprintf("outcome:%d", n)}, &r); st != 201 {
				t.Fatalf("redeem %s: %d %s", name, st, raw)
			}
			return r
		}
		order := func(c *servertest.Client, action string, r bank.Redemption) {
			t.Helper()
			if st, raw := c.JSON("POST", fmt.Sprintf("/api/v1/bank/redemptions/%d/%s", r.ID, action), nil, nil); st != 200 {
				t.Fatalf("%s order %d: %d %s", action, r.ID, st, raw)
			}
		}

		r := redeem("洗衣液", 1)
		in.told("the resident", resident, "兑换已备好", "「洗衣液」×1", "请到前疃村积分超市领取")
		order(admin, "fulfil", r)
		in.told("the resident", resident, "兑换已领取", "「洗衣液」×1", "前疃村积分超市")

		r = redeem("毛巾", 2)
		in.told("the resident", resident, "兑换已备好", "「毛巾」×2")
		order(admin, "cancel", r)
		in.told("the resident", resident, "兑换已取消", "「毛巾」×2", "30 分已退回")

		r = redeem("毛巾", 1)
		in.told("the resident", resident, "兑换已备好", "「毛巾」×1")
		if st, raw := env.Browser(demo.PhoneVillageAdmin).PostForm(fmt.Sprintf("/admin/bank/orders/%d/cancel", r.ID),
			url.Values{"village_id": {fmt.Sprint(r.VillageID)}, "confirmed": {"1"}, "reason": {"本周缺货，下周再来"}}); st != 303 {
			t.Fatalf("cancel at the counter: %d %.300s", st, raw)
		}
		in.told("the resident", resident, "兑换已取消", "「毛巾」×1", "15 分已退回", "理由：本周缺货，下周再来")

		r = redeem("毛巾", 1)
		in.fresh("the resident", resident)
		order(resident, "cancel", r)
		in.nothing("the resident who cancels their own order", resident)
	})
}

// TestNeedOutcomesReachWhomTheyConcern follows needs through NeedFlow: the person a need is for
// is told when it is assigned, taken, sent back, done and refused, each naming the need (never of
// their own rating); the members of the team it is assigned to are told once, on the assignment.
func TestNeedOutcomesReachWhomTheyConcern(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		town, _ := env.Sys.People.Town(t.Context(), env.Info.TownID)
		qt, _ := env.Sys.People.VillageByName(t.Context(), town.ID, "前疃村")
		leader, member, filer := env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneResident), env.API(demo.PhonePartyMember)
		in := newInboxes(t)
		in.fresh("the member", member)
		in.fresh("the filer", filer)

		var teams []volunteer.Team
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", qt.ID), nil, &teams); st != 200 || len(teams) != 6 {
			t.Fatalf("teams: %d %s", st, body)
		}
		team := teams[0]
		if st, body := member.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{team.ID}}, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		file := func(what string) string {
			t.Helper()
			var n volunteer.Need
			if st, body := filer.JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "repair", Description: what, Urgency: "normal", ConfirmDuplicate: true}, &n); st != 201 {
				t.Fatalf("file: %d %s", st, body)
			}
			return fmt.Sprintf("/api/v1/volunteer/needs/%d/actions", n.ID)
		}
		act := func(who string, c *servertest.Client, path string, a volunteer.NeedAction) volunteer.Need {
			t.Helper()
			var n volunteer.Need
			if st, body := c.JSON("POST", path, a, &n); st != 200 {
				t.Fatalf("%s: %s: %d %s", who, a.Action, st, body)
			}
			return n
		}

		need := file("院墙塌了一角")
		act("the leader", leader, need, volunteer.NeedAction{Action: "assign", TeamID: team.ID})
		in.told("the filer", filer, "需求已派单", "「院墙塌了一角」", "已派给前疃村")
		in.told("the member", member, "新需求待接单", "「院墙塌了一角」", "前疃村")

		n := act("the member", member, need, volunteer.NeedAction{Action: "take"})
		in.told("the filer", filer, "需求已接单", "「院墙塌了一角」", n.VolunteerName)
		act("the member", member, need, volunteer.NeedAction{Action: "send_back", Reason: "这周在外打工"})
		in.told("the filer", filer, "需求退回重派", "「院墙塌了一角」", "这周在外打工")
		act("the member", member, need, volunteer.NeedAction{Action: "take"})
		in.told("the filer", filer, "需求已接单", "「院墙塌了一角」")
		act("the member", member, need, volunteer.NeedAction{Action: "done"})
		in.told("the filer", filer, "需求已办结", "「院墙塌了一角」", n.VolunteerName)
		act("the filer", filer, need, volunteer.NeedAction{Action: "rate", Rating: 5, Comment: "修得很好"})
		in.nothing("the filer, after rating", filer)
		in.nothing("the member, who took and sent back and finished it", member)

		need = file("想在村口装个路灯")
		act("the leader", leader, need, volunteer.NeedAction{Action: "refuse", Reason: "不属于志愿服务范围，已转村委会研究"})
		in.told("the filer", filer, "需求不予受理", "「想在村口装个路灯」", "理由：不属于志愿服务范围，已转村委会研究")
		in.nothing("the member, whose team never had it", member)
	})
}

// TestWaitingVolunteerIsToldOfTheirPlace: when a place on a full shift comes free, the first
// waiting takes it and is told, naming the post and the shift.
func TestWaitingVolunteerIsToldOfTheirPlace(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		if err := demo.Bank(context.Background(), env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		town, _ := env.Sys.People.Town(t.Context(), env.Info.TownID)
		qt, _ := env.Sys.People.VillageByName(t.Context(), town.ID, "前疃村")
		leader, first, waiting := env.API(demo.PhoneVillageAdmin), env.API(demo.PhonePartyMember), env.API(demo.PhoneResident)
		var teams []volunteer.Team
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", qt.ID), nil, &teams); st != 200 || len(teams) != 6 {
			t.Fatalf("teams: %d %s", st, body)
		}
		for _, c := range []*servertest.Client{first, waiting} {
			if st, body := c.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{teams[0].ID}}, nil); st != 200 {
				t.Fatalf("register: %d %s", st, body)
			}
		}
		day := town.Today(time.Now()).AddDate(0, 0, 2).Format("2006-01-02")
		var p volunteer.Post
		if st, body := leader.JSON("POST", "/api/v1/volunteer/posts", volunteer.PostInput{TeamID: teams[0].ID, Title: "清扫村道", Place: "村委会门口", RuleCode: "volunteer",
			Shifts: []volunteer.ShiftInput{{Date: day, Start: "09:00", End: "11:00", Capacity: 1}}}, &p); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
		var detail volunteer.PostDetail
		if st, body := leader.JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 1 {
			t.Fatalf("post: %d %s", st, body)
		}
		signups := fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", detail.Shifts[0].ID)
		var su volunteer.Signup
		if st, body := first.JSON("POST", signups, nil, &su); st != 201 || su.Status != volunteer.Confirmed {
			t.Fatalf("the first signs up: %d %s", st, body)
		}
		if st, body := waiting.JSON("POST", signups, nil, &su); st != 201 || su.Status != volunteer.Waiting {
			t.Fatalf("the second waits: %d %s", st, body)
		}
		in := newInboxes(t)
		in.fresh("the waiting", waiting)
		in.fresh("the first", first)
		if st, body := first.JSON("DELETE", signups+"/me", nil, nil); st != 204 {
			t.Fatalf("the first cancels: %d %s", st, body)
		}
		in.told("the waiting", waiting, "候补成功", "「清扫村道」", day+" 09:00", "已从候补转为正式报名")
		in.nothing("the first, who left", first)
	})
}
