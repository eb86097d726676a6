package demo_test

import (
	"context"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// TestHonoursDemoContest: the demo's contest step leaves an 一米微花园 contest in its town round,
// five households of each village entered and scored in the village round, three of each sent
// on, the 村民代表 judge's own household hidden from him, and one town judge not finished; a
// second run adds nothing.
func TestHonoursDemoContest(t *testing.T) {
	eachTown(t, "contests", demo.Options{Seed: 3, Residents: 100}, func(ctx context.Context, d *db.DB, sys *server.System, info demo.Info) error {
		if err := demo.Bank(ctx, d, sys.People, info, 3); err != nil {
			return err
		}
		return demo.HonoursContests(ctx, d, sys.People, info, 3)
	}, func(t *testing.T, d *db.DB, sys *server.System, info demo.Info) {
		ctx := context.Background()
		if err := demo.HonoursContests(ctx, d, sys.People, info, 3); err != nil {
			t.Fatal(err)
		}
		var contests, villages, entries, advanced, results int
		var id int64
		q := d.Read()
		if err := q.QueryRow(`SELECT COUNT(*), MAX(id) FROM honours_contests WHERE town_id = $1 AND status = 'town'`, info.TownID).Scan(&contests, &id); err != nil {
			t.Fatal(err)
		}
		q.QueryRow(`SELECT COUNT(*) FROM villages WHERE town_id = $1`, info.TownID).Scan(&villages)
		q.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN advanced THEN 1 ELSE 0 END), 0) FROM honours_contest_entries WHERE contest_id = $1`, id).Scan(&entries, &advanced)
		q.QueryRow(`SELECT COUNT(*) FROM honours_contest_results WHERE contest_id = $1 AND round = 'village'`, id).Scan(&results)
		if contests != 1 || entries == 0 || results != entries {
			t.Errorf("%d contests; %d entries, %d results", contests, entries, results)
		}
		// Every village enters up to five households and sends up to three of them on.
		rows, err := q.Query(`SELECT village_id, COUNT(*), SUM(CASE WHEN advanced THEN 1 ELSE 0 END) FROM honours_contest_entries WHERE contest_id = $1 GROUP BY village_id`, id)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for rows.Next() {
			var v int64
			var n, up int
			rows.Scan(&v, &n, &up)
			if n > 5 || up != min(3, n) {
				t.Errorf("village %d: %d entered, %d advanced", v, n, up)
			}
			seen++
		}
		rows.Close()
		if seen != villages || advanced == 0 {
			t.Errorf("%d of %d villages entered, %d advanced", seen, villages, advanced)
		}
		panel, err := sys.Honours.Panel(ctx, auth.System("test"), id)
		if err != nil {
			t.Fatal(err)
		}
		hidden, unfinished := 0, 0
		for _, j := range panel {
			hidden += len(j.Hidden)
			if j.Round == "town" && !j.Finished() {
				unfinished++
			}
		}
		if hidden == 0 || unfinished != 1 {
			t.Errorf("%d hidden entries, %d unfinished town judges: %+v", hidden, unfinished, panel)
		}
	})
}
