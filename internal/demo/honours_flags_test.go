package demo_test

import (
	"context"
	"testing"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// flagsOnce is the demo town with the bank's history and a year of 微党校 lessons, then the flags
// step run once.
func flagsOnce(ctx context.Context, d *db.DB, sys *server.System, info demo.Info) error {
	for _, step := range []demo.Step{demo.Bank, demo.School, demo.HonoursFlags} {
		if err := step(ctx, d, sys.People, info, 3); err != nil {
			return err
		}
	}
	return nil
}

// The flags step leaves twelve months of awards, each with every village's figures and a holder
// ranked first by its score, and a published 文明大户 list for each month with points; run again,
// it adds nothing.
func TestHonoursFlagsDemo(t *testing.T) {
	eachTown(t, "flags", demo.Options{Seed: 3, Residents: 100}, flagsOnce, func(t *testing.T, d *db.DB, sys *server.System, info demo.Info) {
		ctx := context.Background()
		count := func() (flags, rows, holders, lists, kept int) {
			q := d.Read()
			q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_flags WHERE town_id = $1`, info.TownID).Scan(&flags)
			q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN r.rank = 1 THEN 1 ELSE 0 END), 0) FROM honours_flag_rows r JOIN honours_flags f ON f.id = r.flag_id
				WHERE f.town_id = $1`, info.TownID).Scan(&rows, &holders)
			q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_household_lists WHERE town_id = $1 AND published_at IS NOT NULL`, info.TownID).Scan(&lists)
			q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_household_items i JOIN honours_household_lists l ON l.id = i.list_id WHERE l.town_id = $1 AND i.kept`, info.TownID).Scan(&kept)
			return
		}
		flags, rows, holders, lists, kept := count()
		if flags != 12 || rows != 12*info.Villages || holders < 12 || lists < 3 || kept < 3*10 {
			t.Fatalf("the demo's flags: %d awards, %d rows (%d villages), %d holders, %d lists published with %d households", flags, rows, info.Villages, holders, lists, kept)
		}
		// No holder scores below another village of its month.
		var wrong int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_flag_rows h JOIN honours_flag_rows o ON o.flag_id = h.flag_id AND o.score > h.score WHERE h.rank = 1`).Scan(&wrong)
		if wrong != 0 {
			t.Errorf("%d holders are outscored in their month", wrong)
		}
		if err := demo.HonoursFlags(ctx, d, sys.People, info, 3); err != nil {
			t.Fatal(err)
		}
		if f2, r2, h2, l2, k2 := count(); f2 != flags || r2 != rows || h2 != holders || l2 != lists || k2 != kept {
			t.Errorf("the step run again added to the flags")
		}
	})
}
