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

// TestVolunteerHistory runs the demo's volunteering on a small town and checks that every page has
// something to show, that nothing is dated after now, and that the ledger still verifies.
func TestVolunteerHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 3, Residents: 300})
		if err != nil {
			t.Fatal(err)
		}
		if err := demo.Bank(ctx, d, sys.People, info, 3); err != nil {
			t.Fatal(err)
		}
		if err := demo.Volunteer(ctx, d, sys.People, info, 3); err != nil {
			t.Fatal(err)
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := d.Read().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Outcomes told along the way read as sentences, not as their message keys.
		if n := count(`SELECT COUNT(*) FROM notifications WHERE title LIKE 'volunteer.%' OR body LIKE 'volunteer.%'`); n != 0 {
			t.Errorf("%d demo messages read as their keys", n)
		}
		if n := count(`SELECT COUNT(*) FROM volunteer_teams WHERE town_id = $1`, info.TownID); n != 6*info.Villages {
			t.Errorf("%d teams for %d villages", n, info.Villages)
		}
		if n := count(`SELECT COUNT(*) FROM volunteer_signups WHERE status = 'attended' AND transaction_id IS NOT NULL`); n == 0 {
			t.Error("no paid service in the history")
		}
		if n := count(`SELECT COUNT(DISTINCT status) FROM volunteer_needs`); n != 6 {
			t.Errorf("needs in %d statuses, want all 6", n)
		}
		now := db.Now()
		if n := count(`SELECT COUNT(*) FROM flow_steps WHERE flow = 'volunteer.need' AND at > $1`, now) + count(`SELECT COUNT(*) FROM volunteer_signups WHERE checked_out_at > $1`, now); n != 0 {
			t.Errorf("%d records dated after now", n)
		}
		if n := count(`SELECT COUNT(*) FROM volunteer_signups WHERE status = 'confirmed' AND shift_id IN (SELECT id FROM volunteer_shifts WHERE starts_at > $1)`, now); n == 0 {
			t.Error("no sign-ups for shifts to come")
		}
		rep, err := sys.Bank.Verify(ctx)
		if err != nil || !rep.OK() {
			t.Errorf("verify: %+v %v", rep.Problems, err)
		}
		// Run again: nothing more.
		before := count(`SELECT COUNT(*) FROM volunteer_signups`)
		if err := demo.Volunteer(ctx, d, sys.People, info, 3); err != nil || count(`SELECT COUNT(*) FROM volunteer_signups`) != before {
			t.Errorf("second run: %v", err)
		}
	})
}
