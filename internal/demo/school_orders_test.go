package demo_test

import (
	"context"
	"testing"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// TestSchoolDemoOrders: the demo's 微党校 step leaves recent lesson orders of the two demo branches
// at every status, made through the service by the people concerned: two lessons of 李文博's,
// orders overdue with the town and with him, each with its timeline from the day it happened; the
// year of lessons beside them leaves no order open; a second run adds nothing.
func TestSchoolDemoOrders(t *testing.T) {
	eachTown(t, "school", demo.Options{Seed: 3, Residents: 100}, schoolOnce, func(t *testing.T, d *db.DB, sys *server.System, info demo.Info) {
		ctx := context.Background()
		{ // the step again, after the town's first (schoolOnce)
			if err := demo.School(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		// The year of lessons (schoolLessons) adds orders too, each offering one day, every one
		// accepted (or cancelled by its branch after) and none declined: the orders still open are
		// schoolOrders' alone, and its own are the two demo branches' orders offering two days.
		const own = `o.town_id = $1 AND o.dates LIKE '%,%' AND o.ordered_by IN (SELECT id FROM accounts WHERE phone IN ($2, $3))`
		byStatus := func(where string, args ...any) map[string]int {
			t.Helper()
			m := map[string]int{}
			rows, err := d.Read().QueryContext(ctx, `SELECT o.status, COUNT(*) FROM school_orders o WHERE `+where+` GROUP BY o.status`, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				var n int
				if err := rows.Scan(&s, &n); err != nil {
					t.Fatal(err)
				}
				m[s] = n
			}
			return m
		}
		if m := byStatus(`o.town_id = $1 AND o.status IN ('ordered', 'assigned')`, info.TownID); m["ordered"] != 2 || m["assigned"] != 2 || len(m) != 2 {
			t.Errorf("open orders of the town by status: %v", m)
		}
		if m := byStatus(own, info.TownID, demo.PhoneVillageAdmin, demo.PhoneVillageAdmin2); m["ordered"] != 2 || m["assigned"] != 2 || m["accepted"] != 2 ||
			m["cancelled"] != 2 || len(m) != 4 {
			t.Errorf("the demo branches' orders by status: %v", m)
		}
		var lessons, steps, declines int
		if err := d.Read().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM school_lessons l JOIN school_experts e ON e.id = l.expert_id JOIN school_orders o ON o.id = l.order_id
				WHERE e.name = $4 AND `+own+`),
			(SELECT COUNT(*) FROM flow_steps f JOIN school_orders o ON o.id = f.order_id WHERE f.flow = 'school.order' AND `+own+`),
			(SELECT COUNT(*) FROM flow_steps f JOIN school_orders o ON o.id = f.order_id WHERE f.flow = 'school.order' AND f.action = 'decline' AND o.town_id = $1)`,
			info.TownID, demo.PhoneVillageAdmin, demo.PhoneVillageAdmin2, demo.ExpertName).Scan(&lessons, &steps, &declines); err != nil {
			t.Fatal(err)
		}
		if lessons != 2 || steps != 8+10 || declines != 1 {
			t.Errorf("%d lessons of %s, %d steps, %d declines", lessons, demo.ExpertName, steps, declines)
		}
		overdue, err := sys.School.OverdueOrders(ctx, info.TownID)
		if err != nil || overdue != 2 {
			t.Errorf("%d overdue orders, %v", overdue, err)
		}
	})
}
