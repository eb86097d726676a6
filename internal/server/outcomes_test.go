package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/server/servertest"
)

// TestClaimOutcomesReachTheClaimant follows claims through every outcome and checks that the
// person each concerns is told, in their inbox, in words that name the claim: approved and
// credited, rejected with the reason, put on notice, objected to, the objection decided (the
// objector told too), and the notice ended with the points credited.
func TestClaimOutcomesReachTheClaimant(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		if err := demo.Bank(ctx, env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		resident, party, admin := env.API(demo.PhoneResident), env.API(demo.PhonePartyMember), env.API(demo.PhoneVillageAdmin)
		yesterday := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format("2006-01-02")
		claim := func(rule, what string) int64 {
			t.Helper()
			var c bank.Claim
			if st, raw := resident.JSON("POST", "/api/v1/bank/claims", map[string]any{"rule_code": rule, "description": what, "happened_on": yesterday, "confirm_duplicate": true}, &c); st != 201 {
				t.Fatalf("claim %s: %d %s", rule, st, raw)
			}
			return c.ID
		}
		review := func(id int64, approve bool, reason string) {
			t.Helper()
			if st, raw := admin.JSON("POST", fmt.Sprintf("/api/v1/bank/claims/%d/review", id), map[string]any{"approve": approve, "reason": reason}, nil); st != 200 {
				t.Fatalf("review %d: %d %s", id, st, raw)
			}
		}
		// told checks that a client got exactly one message since last asked (or, with any, at least
		// one), and that one of them has the title and says every part.
		last := map[*servertest.Client]int64{}
		inbox := func(who string, c *servertest.Client) []notify.Message {
			t.Helper()
			var in notify.Inbox
			if st, raw := c.JSON("GET", "/api/v1/notifications?limit=200", nil, &in); st != 200 {
				t.Fatalf("%s inbox: %d %s", who, st, raw)
			}
			var fresh []notify.Message
			for _, m := range in.Messages {
				if m.ID > last[c] {
					fresh = append(fresh, m)
				}
			}
			if len(in.Messages) > 0 {
				last[c] = in.Messages[0].ID
			}
			return fresh
		}
		told := func(who string, c *servertest.Client, any bool, title string, parts ...string) {
			t.Helper()
			fresh := inbox(who, c)
			if len(fresh) == 0 || (!any && len(fresh) != 1) {
				t.Fatalf("%s got %d messages, want one: %+v", who, len(fresh), fresh)
			}
		next:
			for _, m := range fresh {
				if m.Title != title {
					continue
				}
				for _, p := range parts {
					if !strings.Contains(m.Body, p) {
						continue next
					}
				}
				if strings.Contains(m.Body, "%!") {
					t.Errorf("%s's message is not filled in: %q", who, m.Body)
				}
				return
			}
			t.Errorf("%s is not told %q saying %q: %+v", who, title, parts, fresh)
		}
		inbox("the resident", resident)
		inbox("the party member", party)

		review(claim("volunteer", "帮邻居收玉米"), true, "")
		told("the claimant", resident, false, "申报已入账", "志愿服务（每次）", "3 分已记入")

		review(claim("volunteer", "又帮邻居收玉米"), false, "同一天已申报过")
		told("the claimant", resident, false, "申报未通过", "理由：同一天已申报过")

		id := claim("help", "送生病的邻居去医院")
		review(id, true, "")
		told("the claimant", resident, false, "申报进入公示", "邻里互助", "公示 3 天")

		var o struct{ ID int64 }
		if st, raw := party.JSON("POST", fmt.Sprintf("/api/v1/bank/claims/%d/objections", id), map[string]any{"reason": "那天他不在村里"}, &o); st != 201 {
			t.Fatalf("object: %d %s", st, raw)
		}
		told("the claimant", resident, false, "申报收到异议", "邻里互助")

		if st, raw := env.Browser(demo.PhoneVillageAdmin).PostForm(fmt.Sprintf("/admin/bank/objections/%d", o.ID), map[string][]string{"decision": {"经核实确有其事"}, "status": {"notice"}}); st != 303 {
			t.Fatalf("dismiss the objection: %d %.300s", st, raw)
		}
		told("the claimant", resident, false, "异议处理结果", "不成立")
		told("the objector", party, false, "异议处理结果", "不成立", "经核实确有其事")

		// The notice ends: the scheduler posts the claim and tells the claimant.
		env.Sys.Bank.Now = func() time.Time { return time.Now().Add(bank.NoticePeriod + time.Hour) }
		defer func() { env.Sys.Bank.Now = db.Now }()
		if _, err := env.Sys.Bank.PostDueClaims(ctx); err != nil {
			t.Fatal(err)
		}
		told("the claimant", resident, true, "申报已入账", "公示期满", "5 分已记入")
	})
}
