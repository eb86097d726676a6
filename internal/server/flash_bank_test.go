package server_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestTheBanksClaimsAndAwardsSayWhatTheyChangedByName: the bank's claims and awards, which used
// to answer 申报已提交 or 已驳回 naming nothing, land on a page whose flash names the claim or the
// award and where it now stands: a resident's own claim, staff approving one onto the notice
// board, approving one that posts at once and rejecting one, a neighbour's objection, an
// objection dismissed and one upheld, an award posted at once and one put on notice. Then links
// crafted with the same keys and another village's claim or award, or a record the viewer did
// not act on, say nothing; and the queue shows no claim's database id. Run through the forms,
// following each redirect as a browser does.
func TestTheBanksClaimsAndAwardsSayWhatTheyChangedByName(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		if err := demo.Bank(ctx, env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		one := func(query string, args ...any) int64 {
			t.Helper()
			var id int64
			if err := d.Read().QueryRowContext(ctx, query, args...).Scan(&id); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return id
		}
		resident, party, admin, other := env.Browser(demo.PhoneResident), env.Browser(demo.PhonePartyMember), env.Browser(demo.PhoneVillageAdmin), env.Browser(demo.PhoneVillageAdmin2)
		residentID := one(`SELECT resident_id FROM accounts WHERE phone = $1`, demo.PhoneResident)
		var name string
		if err := d.Read().QueryRowContext(ctx, `SELECT name FROM residents WHERE id = $1`, residentID).Scan(&name); err != nil {
			t.Fatal(err)
		}
		town, err := env.Sys.People.Town(ctx, env.Info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		today := town.Clock(time.Now).Today()
		day := func(n int) string { return today.AddDate(0, 0, n).Format("2006-01-02") }
		balance := func() int64 {
			var b struct{ Balance int64 }
			if st, body := env.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", residentID), nil, &b); st != 200 {
				t.Fatalf("balance: %d %s", st, body)
			}
			return b.Balance
		}
		// claim is the resident's claim described so; objection the last objection to it.
		claim := func(what string) int64 {
			return one(`SELECT id FROM bank_claims WHERE resident_id = $1 AND description = $2`, residentID, what)
		}
		objection := func(what string) int64 {
			return one(`SELECT MAX(id) FROM bank_objections WHERE claim_id = $1`, claim(what))
		}
		claimForm := func(rule, what string, n int) url.Values {
			return url.Values{"rule_code": {rule}, "description": {what}, "happened_on": {day(-n)}, "idempotency_key": {fmt.Sprintf("flash-claim-%s-%d", rule, n)}}
		}
		// fileClaim files a claim of the resident's, without following the redirect: the steps
		// that review it are the ones under test.
		fileClaim := func(rule, what string, n int) {
			t.Helper()
			if st, to := resident.Submit("/bank/claims", claimForm(rule, what, n)); st != http.StatusSeeOther {
				t.Fatalf("claim %s: %d, to %q", what, st, to)
			}
		}
		queue := url.Values{"status": {"pending"}}
		approve := func(f url.Values) url.Values { f = clone(f); f.Set("approve", "1"); return f }
		steps := []struct {
			name string
			by   *servertest.Client
			path func() string
			form func() url.Values
			want func() string // the whole flash
		}{
			{"Claimed", resident, fixed("/bank/claims"), values(claimForm("help", "帮邻居修水管", 0)), fixed("已提交申报：邻里互助 +5 分 · 状态：待审核")},
			{"ClaimOnNotice", admin, func() string { return fmt.Sprintf("/admin/bank/claims/%d/review", claim("帮邻居修水管")) }, values(approve(queue)),
				fixed("已通过 " + name + " 的申报：邻里互助 +5 分 · 状态：公示中，期满后入账")},
			{"Objected", party, func() string { return fmt.Sprintf("/bank/claims/%d/objections", claim("帮邻居修水管")) }, values(url.Values{"reason": {"那天他在城里"}}),
				fixed("已对 " + name + " 的申报「邻里互助 +5 分」提出异议，村委会将核实处理")},
			{"ObjectionDismissed", admin, func() string { return fmt.Sprintf("/admin/bank/objections/%d", objection("帮邻居修水管")) },
				values(url.Values{"uphold": {"0"}, "decision": {"邻居作证他在"}, "status": {"notice"}}),
				fixed("异议不成立：" + name + " 的申报 邻里互助 +5 分继续公示 · 状态：公示中")},
			{"ObjectionUpheld", admin, func() string {
				fileClaim("help", "帮邻居收玉米", 1)
				if st, to := admin.Submit(fmt.Sprintf("/admin/bank/claims/%d/review", claim("帮邻居收玉米")), approve(queue)); st != http.StatusSeeOther {
					t.Fatalf("approve the second claim: %d, to %q", st, to)
				}
				if st, to := party.Submit(fmt.Sprintf("/bank/claims/%d/objections", claim("帮邻居收玉米")), url.Values{"reason": {"玉米是他自家的"}}); st != http.StatusSeeOther {
					t.Fatalf("object to the second claim: %d, to %q", st, to)
				}
				return fmt.Sprintf("/admin/bank/objections/%d", objection("帮邻居收玉米"))
			}, values(url.Values{"uphold": {"1"}, "decision": {"经核实情况不实"}, "status": {"notice"}}),
				fixed("异议成立，已驳回 " + name + " 的申报：邻里互助 +5 分 · 状态：未通过")},
			{"ClaimRejected", admin, func() string {
				fileClaim("help", "帮邻居搬家", 2)
				return fmt.Sprintf("/admin/bank/claims/%d/review", claim("帮邻居搬家"))
			}, values(url.Values{"approve": {"0"}, "reason": {"说不清哪一天"}, "status": {"pending"}}),
				fixed("已驳回 " + name + " 的申报：邻里互助 +5 分 · 状态：未通过")},
			{"ClaimPosted", admin, func() string {
				fileClaim("volunteer", "村口义务扫雪", 0)
				return fmt.Sprintf("/admin/bank/claims/%d/review", claim("村口义务扫雪"))
			}, values(approve(queue)), fixed("已通过 " + name + " 的申报：志愿服务（每次） +3 分 · 状态：已入账")},
			{"Awarded", admin, fixed("/admin/bank/award"), values(url.Values{"resident_id": {fmt.Sprint(residentID)}, "rule_code": {"volunteer"},
				"reason": {"村口义务扫雪（第二天）"}, "idempotency_key": {"flash-award-1"}, "confirm_duplicate": {"1"}}),
				func() string {
					return fmt.Sprintf("已为 %s 入账 3 分（志愿服务（每次）），余额 %d", name, balance())
				}},
			{"AwardPending", admin, fixed("/admin/bank/award"), values(url.Values{"resident_id": {fmt.Sprint(residentID)}, "rule_code": {"help"},
				"reason": {"帮五保户挑水"}, "idempotency_key": {"flash-award-2"}, "confirm_duplicate": {"1"}}),
				fixed("已为 " + name + " 记下 5 分（邻里互助），公示期满后入账")},
		}
		landed := map[string]string{} // each step's landing address
		for _, s := range steps {
			st, loc := s.by.Submit(s.path(), s.form())
			if st != http.StatusSeeOther || !strings.Contains(loc, "flash=flash.") || !strings.Contains(loc, "flash_id=") {
				t.Fatalf("%s: %d, to %q", s.name, st, loc)
			}
			st, body := s.by.Get(loc)
			if got, want := html.UnescapeString(flashOf(body)), s.want(); st != http.StatusOK || got != want {
				t.Fatalf("%s: %d, the page at %s says %q, want %q", s.name, st, loc, got, want)
			}
			landed[s.name] = loc
		}

		// 东堡村's staff, following 前疃村's links, find nothing said: the queue's claims and the
		// award page's award (for a resident of their own) are not theirs.
		neighbour := one(`SELECT MIN(r.id) FROM residents r JOIN residents me ON me.village_id = r.village_id
			WHERE me.id = $1 AND r.id <> me.id AND r.status = 'active' AND r.birth_date < '1990-01-01'`, residentID)
		dongbu := one(`SELECT MIN(r.id) FROM residents r JOIN villages v ON v.id = r.village_id WHERE v.name = '东堡村' AND r.status = 'active' AND r.birth_date < '1990-01-01'`)
		for _, c := range []struct {
			name string
			by   *servertest.Client
			path string
		}{
			{"AnotherVillagesReview", other, landed["ClaimOnNotice"]},
			{"AnotherVillagesRejection", other, landed["ClaimRejected"]},
			{"AnotherVillagesPosting", other, landed["ClaimPosted"]},
			{"AnotherVillagesObjectionDismissed", other, landed["ObjectionDismissed"]},
			{"AnotherVillagesObjectionUpheld", other, landed["ObjectionUpheld"]},
			{"AnotherVillagesAward", other, retarget(landed["Awarded"], dongbu)},
			{"AnotherVillagesAwardOnNotice", other, retarget(landed["AwardPending"], dongbu)},
			// The same village's staff: an award of another resident's is not this resident's.
			{"AnotherResidentsAward", admin, retarget(landed["Awarded"], neighbour)},
			{"AnotherResidentsAwardOnNotice", admin, retarget(landed["AwardPending"], neighbour)},
			// Another resident's claim is not the viewer's own; a claim the viewer did not object to
			// (their own, on the board) is not their objection.
			{"SomeoneElsesClaim", party, landed["Claimed"]},
			{"NotTheirObjection", resident, landed["Objected"]},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, body := c.by.Get(c.path)
				if st != http.StatusOK {
					t.Fatalf("%s: %d", c.path, st)
				}
				if got := flashOf(body); got != "" {
					t.Errorf("%s says %q", c.path, got)
				}
			})
		}

		// The queue names each claim by its resident, rule, points, date and status; no number
		// but the points and the dates and times is on screen, so no claim's database id.
		st, body := admin.Get("/admin/bank/claims?status=all")
		if st != http.StatusOK {
			t.Fatalf("the queue: %d", st)
		}
		said := regexp.MustCompile(`\+\d+|(\d{4}年)?\d{1,2}月\d{1,2}日|\d{1,2}:\d{2}`)
		tag := regexp.MustCompile(`<[^>]*>`)
		seen := 0
		for _, card := range regexp.MustCompile(`(?s)<section class="card">.*?</section>`).FindAllString(body, -1) {
			text := html.UnescapeString(tag.ReplaceAllString(card, " "))
			for _, what := range []string{"帮邻居修水管", "帮邻居收玉米", "帮邻居搬家", "村口义务扫雪"} {
				if strings.Contains(text, what) {
					seen++
					if id := claim(what); strings.Contains(text, fmt.Sprintf("#%d", id)) || regexp.MustCompile(`\d`).MatchString(said.ReplaceAllString(text, "")) {
						t.Errorf("the queue shows a number that is not the points, a date or a time for the claim %s: %q", what, strings.Join(strings.Fields(text), " "))
					}
				}
			}
		}
		if seen != 4 {
			t.Errorf("the queue shows %d of the resident's four claims", seen)
		}
	})
}

// retarget is an award page's landing address for another resident: the same flash, another page.
func retarget(loc string, residentID int64) string {
	u, err := url.Parse(loc)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set("resident_id", fmt.Sprint(residentID))
	u.RawQuery = q.Encode()
	return u.String()
}
