package server_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestOverviewShowsTheBankFigures: the staff overview carries the bank's headline figures (issue
// 13 item 15) — cards, residents who log in, points issued, redeemed and outstanding — each
// linking to the page behind it, counted in the viewer's scope: the town admin's are the town's,
// counted here separately from the tables; a village admin's are their village's alone.
func TestOverviewShowsTheBankFigures(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		if err := demo.Bank(ctx, env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
			t.Fatal(err)
		}
		figure := func(phone, label string) (int64, string) {
			t.Helper()
			st, body := env.Browser(phone).Get("/admin")
			if st != 200 {
				t.Fatalf("%s /admin: %d", phone, st)
			}
			m := regexp.MustCompile(`<a class="card" href="([^"]+)"><div class="stat">(\d+)</div>` + label + `</a>`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("%s: the overview shows no %s", phone, label)
			}
			n, _ := strconv.ParseInt(m[2], 10, 64)
			return n, m[1]
		}
		count := func(q string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := d.Read().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		town := env.Info.TownID
		townQ := fmt.Sprintf("?town_id=%d", town)
		cards := count(`SELECT COUNT(*) FROM bank_cards c JOIN residents r ON r.id = c.resident_id WHERE r.town_id = $1 AND r.status = 'active' AND c.status = 'active'`, town)
		issued := count(`SELECT COALESCE(SUM(ac.earned), 0) FROM bank_accounts ac JOIN residents r ON r.id = ac.resident_id WHERE ac.kind = 'resident' AND r.town_id = $1`, town)
		balance := count(`SELECT COALESCE(SUM(ac.balance), 0) FROM bank_accounts ac JOIN residents r ON r.id = ac.resident_id WHERE ac.kind = 'resident' AND r.town_id = $1`, town)
		if cards == 0 || issued == 0 {
			t.Fatalf("the demo town has %d cards and %d points issued: nothing to check", cards, issued)
		}
		for _, c := range []struct {
			label string
			want  int64
			path  string
		}{{"已开卡", cards, "/admin/bank/cards" + townQ}, {"发放积分", issued, "/admin/bank" + townQ}, {"结余积分", balance, "/admin/bank" + townQ}} {
			got, path := figure(demo.PhoneTownAdmin, c.label)
			if got != c.want || path != c.path {
				t.Errorf("town admin's %s: %d → %s, want %d → %s", c.label, got, path, c.want, c.path)
			}
			if st, _ := env.Browser(demo.PhoneTownAdmin).Get(path); st != 200 {
				t.Errorf("%s's link %s: %d", c.label, path, st)
			}
		}
		villageCards := count(`SELECT COUNT(*) FROM bank_cards c JOIN residents r ON r.id = c.resident_id JOIN villages v ON v.id = r.village_id
			WHERE v.name = '前疃村' AND v.town_id = $1 AND r.status = 'active' AND c.status = 'active'`, town)
		if got, _ := figure(demo.PhoneVillageAdmin, "已开卡"); got != villageCards || got >= cards {
			t.Errorf("前疃村's admin sees %d cards, want their village's %d (the town has %d)", got, villageCards, cards)
		}
		// 微党校's staff read neither the register nor the ledger: no "0 个村 · 0 在册居民", no bank
		// figures; only their own pillar's.
		st, body := env.Browser(demo.PhoneSchoolAdmin).Get("/admin")
		if st != 200 || strings.Contains(body, "已开卡") || strings.Contains(body, "发放积分") || strings.Contains(body, "在册居民") || !strings.Contains(body, "今年微党校覆盖党员") {
			t.Errorf("微党校管理员's overview (%d) shows figures of what they may not read, or not their own", st)
		}
	})
}
