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

// TestHonoursWallDemo: the 2021 wall holds 537 names across the six categories and more than one
// village, this year's nominations all have consent and some are admitted, and a second run adds
// nothing.
func TestHonoursWallDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 3, Residents: 400})
		if err != nil {
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
		for range 2 {
			if err := demo.HonoursWall(ctx, d, sys.People, info, 3); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(`SELECT COUNT(*) FROM honours_wall WHERE town_id = $1 AND year = 2021`, info.TownID); n != demo.WallNames {
			t.Errorf("%d names on the 2021 wall, want %d", n, demo.WallNames)
		}
		if n := count(`SELECT COUNT(DISTINCT category_id) FROM honours_wall WHERE town_id = $1`, info.TownID); n != 6 {
			t.Errorf("%d categories on the wall", n)
		}
		if n := count(`SELECT COUNT(DISTINCT village_id) FROM honours_wall WHERE town_id = $1`, info.TownID); n < 2 {
			t.Errorf("%d villages on the wall", n)
		}
		if n := count(`SELECT COUNT(*) FROM honours_wall WHERE town_id = $1 AND resident_id IS NOT NULL`, info.TownID); n < 200 {
			t.Errorf("%d names are residents", n)
		}
		if n := count(`SELECT COUNT(*) FROM honours_nominations WHERE town_id = $1 AND status = 'admitted' AND consent = 'given'`, info.TownID); n < 5 {
			t.Errorf("%d admitted nominations", n)
		}
		if n := count(`SELECT COUNT(*) FROM honours_nominations WHERE town_id = $1 AND consent <> 'given'`, info.TownID); n != 0 {
			t.Errorf("%d nominations without consent", n)
		}
	})
}
