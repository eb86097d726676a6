package volunteer_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server"
	"siwei/internal/volunteer"
)

// BenchmarkSignups measures sign-ups on one popular shift from 64 concurrent clients, each a
// different volunteer: the shift's 100 places run out and the rest join the waiting line.
// PostgreSQL runs too when SIWEI_TEST_POSTGRES is set.
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/volunteer -run '^$' -bench Signups -benchtime 3000x
func BenchmarkSignups(b *testing.B) { eachEngine(b, (*benchTown).benchSignups) }

// BenchmarkRoster measures the roster of a post with 5,000 shifts, the first 500 with sign-ups.
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/volunteer -run '^$' -bench Roster -benchtime 20x
func BenchmarkRoster(b *testing.B) { eachEngine(b, (*benchTown).benchRoster) }

func eachEngine(b *testing.B, fn func(*benchTown, *testing.B)) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) { fn(newBenchTown(b, d), b) })
}

type benchTown struct {
	ctx    context.Context
	sys    *server.System
	leader *auth.Actor
	team   int64
	vols   []*auth.Actor
}

func newBenchTown(b *testing.B, d *db.DB) *benchTown {
	b.Helper()
	ctx := context.Background()
	sys, err := server.New(d, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		b.Fatal(err)
	}
	info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Residents: 2000})
	if err != nil {
		b.Fatal(err)
	}
	town, _ := sys.People.Town(ctx, info.TownID)
	adoptRules(b, sys, town)
	f := &benchTown{ctx: ctx, sys: sys, leader: auth.System("队长")}
	qt, _ := sys.People.VillageByName(ctx, info.TownID, "前疃村")
	teams, err := sys.Volunteer.Teams(ctx, f.leader, qt.ID)
	if err != nil {
		b.Fatal(err)
	}
	f.team = teams[0].ID
	// Every resident of the town a volunteer, written directly: the benchmark is of sign-ups.
	now := db.Now()
	if _, err := d.Write().ExecContext(ctx, `INSERT INTO volunteers (town_id, village_id, resident_id, number, consent_at, created_at)
		SELECT town_id, village_id, id, 'B' || CAST(id AS TEXT), $1, $1 FROM residents WHERE town_id = $2 AND status = 'active'`, now, info.TownID); err != nil {
		b.Fatal(err)
	}
	rows, err := d.Read().QueryContext(ctx, `SELECT resident_id FROM volunteers ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		f.vols = append(f.vols, &auth.Actor{AccountID: -2, Name: "志愿者", ResidentID: id, TownID: info.TownID})
	}
	rows.Close()
	return f
}

// post publishes a town-wide post with shifts (count of them, ten a day from tomorrow).
func (f *benchTown) post(b *testing.B, count, capacity int) (int64, []int64) {
	b.Helper()
	day := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 1)
	var shifts []volunteer.ShiftInput
	for i := range count {
		d := day.AddDate(0, 0, i/10).Format("2006-01-02")
		shifts = append(shifts, volunteer.ShiftInput{Date: d, Start: fmt.Sprintf("%02d:00", 8+i%10), End: fmt.Sprintf("%02d:50", 8+i%10), Capacity: capacity})
	}
	p, err := f.sys.Volunteer.CreatePost(f.ctx, f.leader, volunteer.PostInput{TeamID: f.team, Title: "热门岗位", Place: "村委会", RuleCode: "serve", OpenTo: "town", Shifts: shifts[:min(len(shifts), volunteer.MaxShifts)]})
	if err != nil {
		b.Fatal(err)
	}
	for i := volunteer.MaxShifts; i < len(shifts); i += volunteer.MaxShifts {
		if _, err := f.sys.Volunteer.AddShifts(f.ctx, f.leader, p.ID, shifts[i:min(len(shifts), i+volunteer.MaxShifts)], nil); err != nil {
			b.Fatal(err)
		}
	}
	var ids []int64
	rows, _ := f.sys.DB.Read().QueryContext(f.ctx, `SELECT id FROM volunteer_shifts WHERE post_id = $1 ORDER BY starts_at`, p.ID)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	return p.ID, ids
}

func (f *benchTown) benchSignups(b *testing.B) {
	// One shift per len(vols) sign-ups: every sign-up is a different volunteer on the same
	// popular shift, 100 places, everyone after that in the waiting line.
	_, shifts := f.post(b, b.N/len(f.vols)+1, 100)
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if _, err := f.sys.Volunteer.SignUp(f.ctx, f.vols[i%len(f.vols)], shifts[i/len(f.vols)]); err != nil {
					failed.Add(1)
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signups/s")
	var over int
	f.sys.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM volunteer_shifts WHERE taken > capacity`).Scan(&over)
	if over != 0 || failed.Load() != 0 {
		b.Fatalf("%d shifts over capacity, %d failed sign-ups", over, failed.Load())
	}
}

func (f *benchTown) benchRoster(b *testing.B) {
	post, shifts := f.post(b, 5000, 5)
	// Two volunteers on each of the first 500 shifts.
	for i, sh := range shifts[:500] {
		for j := range 2 {
			if _, err := f.sys.Volunteer.SignUp(f.ctx, f.vols[(2*i+j)%len(f.vols)], sh); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		_, got, err := f.sys.Volunteer.Roster(f.ctx, f.leader, post)
		if err != nil || len(got) != 5000 {
			b.Fatalf("roster: %d shifts, %v", len(got), err)
		}
	}
}
