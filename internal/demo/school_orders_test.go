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

// TestSchoolDemoOrders: the demo's 微党校 step leaves lesson orders at every status, made through
// the service by the people concerned: two lessons of 李文博's, orders overdue with the town and
// with him, each with its timeline from the day it happened; a second run adds nothing.
func TestSchoolDemoOrders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 3, Residents: 100})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := demo.School(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		byStatus := map[string]int{}
		rows, err := d.Read().QueryContext(ctx, `SELECT status, COUNT(*) FROM school_orders WHERE town_id = $1 GROUP BY status`, info.TownID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			var n int
			if err := rows.Scan(&s, &n); err != nil {
				t.Fatal(err)
			}
			byStatus[s] = n
		}
		rows.Close()
		if byStatus["ordered"] != 2 || byStatus["assigned"] != 2 || byStatus["accepted"] != 2 || byStatus["cancelled"] != 2 {
			t.Errorf("orders by status: %v", byStatus)
		}
		var lessons, steps, declines int
		if err := d.Read().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM school_lessons l JOIN school_experts e ON e.id = l.expert_id WHERE e.name = $1),
			(SELECT COUNT(*) FROM flow_steps WHERE flow = 'school.order'), (SELECT COUNT(*) FROM flow_steps WHERE flow = 'school.order' AND action = 'decline')`,
			demo.ExpertName).Scan(&lessons, &steps, &declines); err != nil {
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
