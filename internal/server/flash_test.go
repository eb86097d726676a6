package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"siwei/internal/clock"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

var flashLine = regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`)

// flashOf is the flash line a page shows, "" when none.
func flashOf(body string) string {
	m := flashLine.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestEveryActionSaysWhatItChangedByName: each action that used to answer a bare 已保存 (or a
// sentence naming nothing) lands on a page whose flash names the record and where it now stands:
// the village, household, resident (registered, edited, card opened, lost and reissued, moved,
// moved out), role granted and revoked, rule set adopted, shop item (added, stocked, withdrawn),
// an order (placed, cancelled, handed over), team leader, post (published, shifts added, closed),
// need recorded, and a resident's own registration, sign-up, cancellation and need. Run through
// the forms, following each redirect as a browser does.
func TestEveryActionSaysWhatItChangedByName(t *testing.T) {
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
		text := func(query string, args ...any) string {
			t.Helper()
			var s string
			if err := d.Read().QueryRowContext(ctx, query, args...).Scan(&s); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return s
		}
		qt := one(`SELECT id FROM villages WHERE name = '前疃村'`)
		hh := one(`SELECT MIN(h.id) FROM households h JOIN residents r ON r.household_id = h.id WHERE h.village_id = $1 AND r.status = 'active'`, qt)
		hhNumber := text(`SELECT number FROM households WHERE id = $1`, hh)
		head := one(`SELECT MIN(id) FROM residents WHERE household_id = $1 AND status = 'active'`, hh)
		headName := text(`SELECT name FROM residents WHERE id = $1`, head)
		adminName := text(`SELECT name FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin)
		admin := one(`SELECT id FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin)
		team := one(`SELECT id FROM volunteer_teams WHERE village_id = $1 AND kind = 'livelihood'`, qt)
		town, err := env.Sys.People.Town(ctx, env.Info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		today := town.Clock(time.Now).Today()
		day := func(n int) string { return clock.Day(today.AddDate(0, 0, n)) }
		// The first shift's hours as pages write them: 12月8日 周二 上午9:00–11:00.
		first := today.AddDate(0, 0, 2)
		span := fmt.Sprintf("%d月%d日 %s 上午9:00–11:00", first.Month(), first.Day(), []string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[first.Weekday()])
		if first.Year() != today.Year() {
			span = fmt.Sprint(first.Year()) + "年" + span
		}

		townAdmin, villageAdmin, resident := env.Browser(demo.PhoneTownAdmin), env.Browser(demo.PhoneVillageAdmin), env.Browser(demo.PhoneResident)
		residentName := text(`SELECT r.name FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhoneResident)
		resForm := url.Values{"village_id": {fmt.Sprint(qt)}, "household_number": {hhNumber}, "name": {"张新民"}, "gender": {"M"},
			"birth_date": {"1980-01-01"}, "id_number": {idNumber("19800101", "731")}, "relation": {"其他"}}
		var newRes, grant, item, post, shift, card, order int64
		cardNumber := func() string { return text(`SELECT number FROM bank_cards WHERE resident_id = $1`, newRes) }
		dateOf := func(t time.Time) string { // a day as pages write it: 12月3日 周四
			s := fmt.Sprintf("%d月%d日 %s", t.Month(), t.Day(), []string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[t.Weekday()])
			if t.Year() != time.Now().Year() {
				s = fmt.Sprint(t.Year()) + "年" + s
			}
			return s
		}
		lastOrder := func() string {
			order = one(`SELECT MAX(id) FROM bank_redemptions`)
			return fmt.Sprintf("/bank/orders/%d/cancel", order)
		}
		redeem := url.Values{"quantity": {"1"}, "confirmed": {"1"}}
		residentID := one(`SELECT resident_id FROM accounts WHERE phone = $1`, demo.PhoneResident)
		var award struct {
			TransactionID int64 `json:"transaction_id"`
		}
		balance := func() int64 {
			var b struct{ Balance int64 }
			if st, body := env.API(demo.PhoneResident).JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", residentID), nil, &b); st != 200 {
				t.Fatalf("balance: %d %s", st, body)
			}
			return b.Balance
		}
		steps := []struct {
			name string
			by   *servertest.Client
			path func() string
			form func() url.Values
			// want is the whole flash; a func so that it may name what earlier steps made.
			want func() string
		}{
			{"VillageCreated", townAdmin, fixed("/admin/villages"), values(url.Values{"name": {"新庄村"}}), fixed("已新增村：新庄村")},
			{"HouseholdSaved", villageAdmin, fixed(fmt.Sprintf("/admin/households/%d", hh)), values(url.Values{"address": {"前疃村东街 8 号"}, "head_resident_id": {fmt.Sprint(head)}}),
				fixed("已保存 前疃村 户号 " + hhNumber + " 的户信息 · 户主：" + headName)},
			{"ResidentCreated", villageAdmin, fixed("/admin/residents"), values(resForm), fixed("已登记居民：张新民（前疃村 户号 " + hhNumber + "）")},
			{"ResidentSaved", villageAdmin, func() string {
				newRes = one(`SELECT id FROM residents WHERE name = '张新民'`)
				return fmt.Sprintf("/admin/residents/%d", newRes)
			}, func() url.Values { f := clone(resForm); f.Set("phone", "13712340077"); return f }, fixed("已保存 张新民 的资料")},
			{"CardIssued", villageAdmin, fixed("/admin/bank/cards"), func() url.Values {
				return url.Values{"village_id": {fmt.Sprint(qt)}, "resident_id": {fmt.Sprint(newRes)}}
			},
				func() string { return "已为 张新民 开卡：卡号 " + cardNumber() + " · 正常" }},
			{"CardLost", villageAdmin, func() string {
				card = one(`SELECT id FROM bank_cards WHERE resident_id = $1`, newRes)
				return fmt.Sprintf("/admin/bank/cards/%d/lost", card)
			}, values(url.Values{"village_id": {fmt.Sprint(qt)}, "confirmed": {"1"}, "reason": {"赶集时丢了"}}),
				func() string { return "已挂失 张新民 的积分卡 " + cardNumber() + " · 已挂失" }},
			{"CardReissued", villageAdmin, func() string { return fmt.Sprintf("/admin/bank/cards/%d/reissue", card) }, values(url.Values{"village_id": {fmt.Sprint(qt)}}),
				func() string {
					return "已为 张新民 补卡：新卡号 " + cardNumber() + " · 正常，旧卡作废"
				}},
			{"ResidentMoved", townAdmin, func() string { return fmt.Sprintf("/admin/residents/%d/move", newRes) },
				values(url.Values{"to_village_id": {fmt.Sprint(one(`SELECT id FROM villages WHERE name = '东堡村'`))}, "to_household_number": {"D-901"}, "reason": {"投亲"}}),
				fixed("已把 张新民 迁至 东堡村 户号 D-901，原住址已记入历史")},
			{"ResidentMovedOut", townAdmin, func() string { return fmt.Sprintf("/admin/residents/%d/status", newRes) },
				values(url.Values{"status": {"moved_out"}, "status_date": {day(0)}}), fixed("已把 张新民 的状态改为 迁出")},
			{"RoleGranted", townAdmin, fixed(fmt.Sprintf("/admin/accounts/%d/grants", admin)), values(url.Values{"role": {"reviewer"}, "village_id": {fmt.Sprint(qt)}}),
				fixed("已为 " + adminName + " 授予 审核员（前疃村）")},
			{"RoleRevoked", townAdmin, func() string {
				grant = one(`SELECT id FROM account_roles WHERE account_id = $1 AND role = 'reviewer'`, admin)
				return fmt.Sprintf("/admin/grants/%d/delete", grant)
			}, values(nil), fixed("已撤销 " + adminName + " 的一项角色 · 现有角色：村级管理员（前疃村）")},
			{"RulesAdopted", townAdmin, fixed("/admin/bank/rules"), values(url.Values{"class": {"minor"}, "village_id": {fmt.Sprint(qt)}, "adopted_by": {"村民代表大会"},
				"adopted_on": {day(0)}, "resolution": {"前决〔2026〕1号"}, "effective_from": {day(0)}, "rows": {"1"}, "row0.name": {"帮助同学"}, "row0.points": {"2"}}),
				func() string {
					return fmt.Sprintf("已通过积分细则：前疃村 · 未成年人 · 第 %d 版，%s 起施行", one(`SELECT MAX(v.version) FROM bank_rule_versions v JOIN bank_rule_sets s ON s.id = v.rule_set_id WHERE s.village_id = $1 AND s.class = 'minor'`, qt), dateOf(today))
				}},
			{"ItemCreated", townAdmin, fixed("/admin/bank/items"), values(url.Values{"kind": {"goods"}, "name": {"香皂"}, "price": {"5"}, "village_id": {fmt.Sprint(qt)}}),
				fixed("已新增物品：香皂 · 5 分")},
			{"ItemStocked", townAdmin, fixed("/admin/bank/stock"), func() url.Values {
				item = one(`SELECT id FROM bank_items WHERE name = '香皂'`)
				return url.Values{"item_id": {fmt.Sprint(item)}, "village_id": {fmt.Sprint(qt)}, "quantity": {"12"}, "source": {"purchase"}}
			}, fixed("已入库：香皂 · 前疃村现有 12")},
			{"Redeemed", resident, fixed("/bank/shop"), func() url.Values {
				f := clone(redeem)
				f.Set("item_id", fmt.Sprint(item))
				f.Set("idempotency_key", "flash-test-1")
				return f
			}, fixed("兑换成功：香皂 × 1，扣 5 分，请到村委会积分超市领取")},
			{"OrderCancelled", resident, lastOrder, values(nil), fixed("已取消兑换：香皂 × 1，5 分已退回")},
			{"OrderCancelledByStaff", villageAdmin, func() string {
				f := clone(redeem)
				f.Set("item_id", fmt.Sprint(item))
				f.Set("idempotency_key", "flash-test-2")
				if st, _ := resident.Submit("/bank/shop", f); st != http.StatusSeeOther {
					t.Fatalf("the second order: %d", st)
				}
				lastOrder()
				return fmt.Sprintf("/admin/bank/orders/%d/cancel", order)
			}, values(url.Values{"village_id": {fmt.Sprint(qt)}, "confirmed": {"1"}, "reason": {"本人不要了"}}), fixed("已取消 " + residentName + " 兑换的 香皂 × 1，5 分已退回")},
			{"Fulfilled", villageAdmin, func() string {
				f := clone(redeem)
				f.Set("item_id", fmt.Sprint(item))
				f.Set("idempotency_key", "flash-test-3")
				if st, _ := resident.Submit("/bank/shop", f); st != http.StatusSeeOther {
					t.Fatalf("the third order: %d", st)
				}
				lastOrder()
				return fmt.Sprintf("/admin/bank/orders/%d/fulfil", order)
			}, values(url.Values{"village_id": {fmt.Sprint(qt)}}), fixed("已领取：" + residentName + " 的 香皂 × 1")},
			{"Reversed", townAdmin, func() string {
				if st, body := env.API(demo.PhoneTownAdmin).JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": residentID, "rule_code": "volunteer",
					"reason": "村口扫雪（记错了）", "idempotency_key": "flash-test-award"}, &award); st != http.StatusCreated {
					t.Fatalf("award: %d %s", st, body)
				}
				return "/admin/bank/ledger/reverse"
			}, func() url.Values {
				return url.Values{"resident_id": {fmt.Sprint(residentID)}, "transaction_id": {fmt.Sprint(award.TransactionID)}, "confirmed": {"1"}, "reason": {"核实未参加"}}
			}, func() string {
				return fmt.Sprintf("已冲正 %s 的「志愿服务（每次）」3 分 · 余额 %d 分", residentName, balance())
			}},
			{"ItemWithdrawn", townAdmin, func() string { return fmt.Sprintf("/admin/bank/items/%d", item) },
				values(url.Values{"kind": {"goods"}, "name": {"香皂"}, "price": {"5"}}), fixed("已保存物品：香皂 · 已下架")},
			{"LeaderAdded", villageAdmin, fixed(fmt.Sprintf("/admin/volunteer/teams/%d/leaders", team)), values(url.Values{"account_id": {fmt.Sprint(admin)}, "village_id": {fmt.Sprint(qt)}}),
				fixed("已设队长：民生帮扶队 · 现任队长：" + adminName)},
			{"LeaderRemoved", villageAdmin, fixed(fmt.Sprintf("/admin/volunteer/teams/%d/leaders", team)), values(url.Values{"account_id": {fmt.Sprint(admin)}, "village_id": {fmt.Sprint(qt)}, "op": {"remove"}}),
				fixed("已撤下一位队长：民生帮扶队 · 现任队长：未设队长")},
			{"PostPublished", villageAdmin, fixed("/admin/volunteer/posts"), values(url.Values{"village_id": {fmt.Sprint(qt)}, "team_id": {fmt.Sprint(team)}, "title": {"周六清扫"},
				"place": {"村委会"}, "rule_code": {"volunteer"}, "open_to": {"village"}, "date": {day(2)}, "start": {"09:00"}, "end": {"11:00"}, "capacity": {"1"}}),
				fixed("已发布岗位：周六清扫 · 共 1 个班次")},
			{"ShiftsAdded", villageAdmin, func() string {
				post = one(`SELECT id FROM volunteer_posts WHERE title = '周六清扫'`)
				return fmt.Sprintf("/admin/volunteer/posts/%d/shifts", post)
			}, values(url.Values{"date": {day(3)}, "start": {"09:00"}, "end": {"11:00"}, "capacity": {"1"}}), fixed("已为 周六清扫 添加班次 · 现有 2 个班次")},
			{"VolunteerRegistered", resident, fixed("/volunteer/register"), values(url.Values{"consent": {"1"}, "skills": {"care"}}), func() string {
				return residentName + " 已登记为志愿者 · 编号 " + text(`SELECT v.number FROM volunteers v JOIN accounts a ON a.resident_id = v.resident_id WHERE a.phone = $1`, demo.PhoneResident)
			}},
			{"SignedUp", resident, func() string {
				shift = one(`SELECT MIN(id) FROM volunteer_shifts WHERE post_id = $1`, post)
				return fmt.Sprintf("/volunteer/shifts/%d/signup", shift)
			}, values(nil), fixed("报名成功：周六清扫 · " + span)},
			{"Cancelled", resident, func() string { return fmt.Sprintf("/volunteer/shifts/%d/cancel", shift) }, values(nil),
				fixed("已取消报名：周六清扫 · " + span)},
			{"PostClosed", villageAdmin, func() string { return fmt.Sprintf("/admin/volunteer/posts/%d/close", post) },
				values(url.Values{"confirmed": {"1"}, "reason": {"人手已够"}}), fixed("已关闭岗位：周六清扫 · 状态：已关闭")},
			{"NeedRecorded", villageAdmin, fixed("/admin/volunteer/needs"), values(url.Values{"village_id": {fmt.Sprint(qt)}, "category": {"repair"},
				"description": {"厨房水管漏水"}, "for_name": {"王大爷"}, "urgency": {"normal"}}), fixed("已登记需求：王大爷 · 维修 · 状态 待派单")},
			{"NeedFiled", resident, fixed("/volunteer/needs"), values(url.Values{"category": {"haircut"}, "description": {"想请人上门理发"}, "urgency": {"normal"}}),
				fixed("需求已提交：理发 · 状态 待派单，村里会尽快派单")},
		}
		for _, s := range steps {
			st, loc := s.by.Submit(s.path(), s.form())
			if st != http.StatusSeeOther || !strings.Contains(loc, "flash=flash.") {
				t.Fatalf("%s: %d, to %q", s.name, st, loc)
			}
			st, body := s.by.Get(loc)
			if got, want := flashOf(body), s.want(); st != http.StatusOK || got != want {
				t.Fatalf("%s: %d, the page at %s says %q, want %q", s.name, st, loc, got, want)
			}
		}
	})
}

// TestACraftedFlashSaysNothingOfItsOwn: a link can pick a flash only among the catalog's
// sentences, filled with names by the page from what the viewer may see: an unknown key shows no
// words of the link's, a sentence that takes names says nothing on a page that does not fill it,
// and a record of another village or town is named to nobody.
func TestACraftedFlashSaysNothingOfItsOwn(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		var other, otherAccount int64
		var otherName string
		if err := d.Read().QueryRowContext(ctx, `SELECT id FROM villages WHERE name = '西集村'`).Scan(&other); err != nil {
			t.Fatal(err)
		}
		if err := d.Read().QueryRowContext(ctx, `SELECT id, name FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin2).Scan(&otherAccount, &otherName); err != nil {
			t.Fatal(err)
		}
		townAdmin, villageAdmin := env.Browser(demo.PhoneTownAdmin), env.Browser(demo.PhoneVillageAdmin)
		for _, c := range []struct {
			name string
			by   *servertest.Client
			path string
		}{
			{"UnknownKey", townAdmin, "/admin/villages?flash=" + url.QueryEscape("flash.中奖请拨打400-000-0000")},
			{"NotFlashKey", townAdmin, "/admin/villages?flash=error.internal"},
			{"NamesNotFilled", townAdmin, "/admin/villages?flash=flash.resident_saved"},
			{"NamesNotFilledAtHome", env.Browser(demo.PhoneResident), "/?flash=flash.volunteer_registered"},
			{"AnotherTownsVillage", townAdmin, fmt.Sprintf("/admin/villages?flash=flash.village_created&flash_id=%d", other)},
			{"AnotherVillagesAccount", villageAdmin, fmt.Sprintf("/admin/accounts?flash=flash.granted&flash_id=%d", otherAccount)},
			{"BadID", townAdmin, "/admin/villages?flash=flash.village_created&flash_id=-1"},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, body := c.by.Get(c.path)
				if st != http.StatusOK {
					t.Fatalf("%s: %d", c.path, st)
				}
				if got := flashOf(body); got != "" {
					t.Errorf("%s says %q", c.path, got)
				}
				for _, never := range []string{"中奖", "400-000", "%!", "西集村", otherName} {
					if strings.Contains(body, never) && !(never == otherName && strings.Contains(c.path, "/admin/villages")) {
						t.Errorf("%s shows %q", c.path, never)
					}
				}
			})
		}
		// A sentence without names is said as it is, wherever the link points.
		if _, body := townAdmin.Get("/admin/villages?flash=flash.password_changed"); flashOf(body) != "密码已修改" {
			t.Errorf("a plain sentence: %q", flashOf(body))
		}
	})
}

// fixed and values are a step's address, form or flash known before the steps run.
func fixed(s string) func() string          { return func() string { return s } }
func values(v url.Values) func() url.Values { return func() url.Values { return v } }

func clone(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
