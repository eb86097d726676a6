package report_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"siwei/internal/demo"
	"siwei/internal/report"
	"siwei/internal/server/servertest"
)

// TestFiguresKept: kept for a minute (KeepFor), a scope's document is served again until it is a
// minute old; then it is still served at once while a new one, with the points posted meanwhile,
// is computed for the next reader; ten minutes old, the reader waits for a new one. Readers who
// change their copy (naming the figures in their language) do not change another's, and a kept
// document is still refused to a viewer outside its scope, as a missing one is.
func TestFiguresKept(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		ctx, d, rep := context.Background(), env.Sys.DB, env.Sys.Report
		var mu sync.Mutex
		now := time.Now()
		// Each reading of the clock is a nanosecond later, so that two computations are told
		// apart by their At.
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Nanosecond); return now }
		rep.Now = clock
		rep.KeepFor(time.Minute)
		sc := report.Scope{Level: report.Town, ID: env.Info.TownID}
		issued := func(doc report.Document) float64 {
			v, ok := doc.Figure("bank.issued")
			if !ok {
				t.Fatal("no bank.issued")
			}
			return v.Value
		}
		first, err := rep.Figures(ctx, districtAdmin(), sc, "2020", false)
		if err != nil {
			t.Fatal(err)
		}
		r := activeResidents(t, d.Read(), env.Info.TownID)[0]
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO bank_earnings (resident_id, period, town_id, village_id, household_id, points) VALUES ($1, '2020-03', $2, $3, $4, 7)`,
			r.id, r.town, r.village, r.household); err != nil {
			t.Fatal(err)
		}
		kept, err := rep.Figures(ctx, districtAdmin(), sc, "2020", false)
		if err != nil {
			t.Fatal(err)
		}
		if issued(kept) != issued(first) || !kept.At.Equal(first.At) {
			t.Errorf("within a minute: issued %v at %v, want the kept %v at %v", issued(kept), kept.At, issued(first), first.At)
		}
		advance := func(d time.Duration) {
			mu.Lock()
			now = now.Add(d)
			mu.Unlock()
		}
		// After a minute the kept one is still served at once, while a new one is computed.
		advance(time.Minute + time.Second)
		stale, err := rep.Figures(ctx, districtAdmin(), sc, "2020", false)
		if err != nil {
			t.Fatal(err)
		}
		if issued(stale) != issued(first) || !stale.At.Equal(first.At) {
			t.Errorf("after a minute, at once: issued %v at %v, want the kept %v at %v", issued(stale), stale.At, issued(first), first.At)
		}
		var fresh report.Document
		for try := 0; try < 600; try++ {
			if fresh, err = rep.Figures(ctx, districtAdmin(), sc, "2020", false); err != nil {
				t.Fatal(err)
			}
			if !fresh.At.Equal(first.At) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if issued(fresh) != issued(first)+7 || !fresh.At.After(first.At) {
			t.Errorf("after a minute, next: issued %v at %v, want %v computed anew", issued(fresh), fresh.At, issued(first)+7)
		}
		// Past ten minutes the asker waits for a new one.
		if _, err := d.Write().ExecContext(ctx, `UPDATE bank_earnings SET points = points + 5 WHERE resident_id = $1 AND period = '2020-03'`, r.id); err != nil {
			t.Fatal(err)
		}
		advance(11 * time.Minute)
		if late, err := rep.Figures(ctx, districtAdmin(), sc, "2020", false); err != nil {
			t.Fatal(err)
		} else if issued(late) != issued(first)+12 {
			t.Errorf("after eleven minutes: issued %v, want %v", issued(late), issued(first)+12)
		}

		// Readers at once share one document, each with a copy of its own.
		var wg sync.WaitGroup
		docs := make([]report.Document, 16)
		for i := range docs {
			wg.Go(func() {
				doc, err := rep.Figures(ctx, districtAdmin(), sc, "2020-Q1", true)
				if err != nil {
					t.Error(err)
					return
				}
				doc.Figures[0].Name = fmt.Sprint("reader ", i)
				for k := range doc.Groups[0].Values {
					doc.Groups[0].Values[k] = float64(-i)
				}
				docs[i] = doc
			})
		}
		wg.Wait()
		again, err := rep.Figures(ctx, districtAdmin(), sc, "2020-Q1", true)
		if err != nil {
			t.Fatal(err)
		}
		if again.Figures[0].Name != "" {
			t.Errorf("a reader's change reached the kept document: %q", again.Figures[0].Name)
		}
		for k, v := range again.Groups[0].Values {
			if v < 0 {
				t.Errorf("a reader's change reached the kept document: %s = %v", k, v)
			}
		}
		for i, doc := range docs {
			if !doc.At.Equal(again.At) {
				t.Errorf("reader %d: computed at %v, the others' at %v", i, doc.At, again.At)
			}
		}

		// A wrong period is refused as without the cache, and nothing is kept for it.
		for range 2 {
			if status, body := env.API(demo.PhoneTownAdmin).JSON("GET", fmt.Sprintf("/api/v1/report/figures?scope=town&id=%d&period=2026-13", env.Info.TownID), nil, nil); status != 422 {
				t.Errorf("period 2026-13 with the cache: %d, want 422: %.200s", status, body)
			}
		}

		// A kept document of another village or town answers 404 all the same.
		var other, town2 int64
		if err := d.Read().QueryRow(`SELECT g.village_id FROM account_roles g JOIN accounts a ON a.id = g.account_id WHERE a.phone = $1`, demo.PhoneVillageAdmin2).Scan(&other); err != nil {
			t.Fatal(err)
		}
		if err := d.Read().QueryRow(`SELECT id FROM towns WHERE id <> $1`, env.Info.TownID).Scan(&town2); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ warm, ask, query string }{
			{demo.PhoneTownAdmin, demo.PhoneVillageAdmin, fmt.Sprintf("scope=village&id=%d", other)},
			{demo.PhoneTownAdmin, demo.PhoneVillageAdmin, fmt.Sprintf("scope=town&id=%d", env.Info.TownID)},
			{demo.PhoneDistrictAdmin, demo.PhoneTownAdmin, fmt.Sprintf("scope=town&id=%d", town2)},
			{demo.PhoneDistrictAdmin, demo.PhoneTownAdmin, "scope=district"},
		} {
			if status, body := env.API(c.warm).JSON("GET", "/api/v1/report/figures?"+c.query, nil, nil); status != 200 {
				t.Fatalf("%s %s: %d: %.200s", c.warm, c.query, status, body)
			}
			if status, body := env.API(c.ask).JSON("GET", "/api/v1/report/figures?"+c.query, nil, nil); status != 404 {
				t.Errorf("%s %s after %s read it: %d, want 404: %.200s", c.ask, c.query, c.warm, status, body)
			}
		}
	})
}
