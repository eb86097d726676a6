package demo_test

import (
	"bytes"
	"context"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// TestHonoursActionsDemo runs the actions' step and checks the year issue 17 names: twelve months
// of actions, 腊八's 幸福粥 counted per household (a spoonful for each member), 小年's 扫院擦窗 with
// deeds, the collective wedding and the vaccination-promotion station as brand actions, people
// taking part; a second run adds nothing.
func TestHonoursActionsDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 3, Residents: 200})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := demo.HonoursActions(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := d.Read().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(`SELECT COUNT(DISTINCT month) FROM honours_actions WHERE town_id = $1`, info.TownID); n != 12 {
			t.Errorf("actions in %d months, want 12", n)
		}
		if n := count(`SELECT COUNT(*) FROM honours_actions WHERE town_id = $1 AND kind = 'brand' AND (title LIKE '%婚礼%' OR title LIKE '%疫苗%')`, info.TownID); n != 2 {
			t.Errorf("%d brand actions, want the wedding and the vaccination station", n)
		}
		// 腊八: each household gives a spoonful for each of its members.
		if n := count(`SELECT COUNT(*) FROM honours_action_contributions c JOIN honours_actions a ON a.id = c.action_id
			WHERE a.title LIKE '腊八%' AND c.amount <> (SELECT COUNT(*) FROM residents r WHERE r.household_id = c.household_id AND r.status = 'active')`); n != 0 {
			t.Errorf("%d 腊八 contributions are not a spoonful a member", n)
		}
		if n := count(`SELECT COUNT(*) FROM honours_action_contributions c JOIN honours_actions a ON a.id = c.action_id WHERE a.title LIKE '腊八%'`); n == 0 {
			t.Error("nobody gave rice at 腊八")
		}
		if n := count(`SELECT COUNT(*) FROM honours_action_deeds d JOIN honours_actions a ON a.id = d.action_id WHERE a.title LIKE '小年%'`); n == 0 {
			t.Error("no deeds at 小年")
		}
		if n := count(`SELECT COUNT(*) FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id WHERE ev.kind = 'honours.action' AND e.checked_in_at IS NOT NULL`); n < 50 {
			t.Errorf("%d attendances in the year", n)
		}
		// The kit's person-months agree with the check-ins.
		if a, b := count(`SELECT COALESCE(SUM(events), 0) FROM attend_months WHERE kind = 'honours.action'`),
			count(`SELECT COUNT(*) FROM attend_entries e JOIN attend_events ev ON ev.id = e.event_id WHERE ev.kind = 'honours.action' AND e.checked_in_at IS NOT NULL`); a != b {
			t.Errorf("person-months %d, check-ins %d", a, b)
		}
	})
}
