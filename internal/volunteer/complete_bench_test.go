package volunteer_test

import (
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// BenchmarkCompleteShift measures a village admin confirming a shift that 50 volunteers attended,
// all of them paid through the bank, and reports the statements and transactions it took.
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/volunteer -run '^$' -bench CompleteShift -benchtime 20x
func BenchmarkCompleteShift(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		// The same database again, through a counting connection.
		var c db.Counter
		cd, err := db.Open(db.WithCounter(b.Context(), &c), d.URL, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cd.Close() })
		f := newBenchTown(b, cd)
		s, err := f.sys.Auth.Login(f.ctx, demo.PhoneVillageAdmin, demo.DemoPassword, "127.0.0.1", "web")
		if err != nil {
			b.Fatal(err)
		}
		admin, err := f.sys.Auth.Authenticate(f.ctx, s.Token)
		if err != nil || admin == nil {
			b.Fatalf("authenticate: %v", err)
		}
		const volunteers = 50
		var vols []*auth.Actor
		for _, v := range f.vols {
			if v.ResidentID != admin.Self() && len(vols) < volunteers {
				vols = append(vols, v)
			}
		}
		var queries, execs, txs int64
		for b.Loop() {
			b.StopTimer()
			_, shifts := f.post(b, 1, volunteers)
			for _, v := range vols {
				if _, err := f.sys.Volunteer.SignUp(f.ctx, v, shifts[0]); err != nil {
					b.Fatal(err)
				}
			}
			// The shift took place an hour ago, and everyone came.
			now := db.Now()
			town, _ := f.sys.People.Town(f.ctx, admin.TownID)
			start := now.Add(-2 * time.Hour)
			if _, err := cd.Write().ExecContext(f.ctx, `UPDATE volunteer_shifts SET day = $1, starts_at = $2, ends_at = $3 WHERE id = $4`,
				start.In(town.Location()).Format("2006-01-02"), start, now.Add(-time.Hour), shifts[0]); err != nil {
				b.Fatal(err)
			}
			if _, err := cd.Write().ExecContext(f.ctx, `UPDATE volunteer_signups SET checked_in_at = $1, checked_in_by = 'bench' WHERE shift_id = $2`, start, shifts[0]); err != nil {
				b.Fatal(err)
			}
			c.Reset()
			b.StartTimer()
			res, err := f.sys.Volunteer.Complete(f.ctx, admin, shifts[0])
			b.StopTimer()
			queries, execs, txs = queries+c.Queries.Load(), execs+c.Execs.Load(), txs+c.Txs.Load()
			if err != nil {
				b.Fatal(err)
			}
			paid := 0
			for _, su := range res.Signups {
				if su.TransactionID != 0 {
					paid++
				}
			}
			if paid != volunteers {
				b.Fatalf("%d of %d volunteers paid", paid, volunteers)
			}
			b.StartTimer()
		}
		n := float64(b.N)
		b.ReportMetric(float64(queries)/n, "queries/op")
		b.ReportMetric(float64(execs)/n, "execs/op")
		b.ReportMetric(float64(txs)/n, "txs/op")
	})
}
