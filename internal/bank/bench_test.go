package bank_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
)

// The bank's benchmarks, on both engines:
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/bank -run '^$' -bench Bank -benchtime 1x
//
// With SIWEI_BENCH_SCALE=1 the town is loaded first with the article's figures (≈150,000 postings
// to 18,754 residents) and the bulk award and the reads are measured again on top of it.
func BenchmarkBank(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		f := newBenchTown(b, d, 20_000)
		b.Run("BulkAward20000", f.benchBulk)
		f.load10000(b)
		vacuum(b, d)
		b.Run("Statement10000", f.benchStatement)
		b.Run("Households20000", f.benchHouseholds)
		if os.Getenv("SIWEI_BENCH_SCALE") != "" {
			f.loadArticleScale(b)
			vacuum(b, d)
			b.Run("ScaleBulkAward20000", f.benchBulk)
			b.Run("ScaleStatement10000", f.benchStatement)
			b.Run("ScaleHouseholds", f.benchHouseholds)
		}
	})
}

type benchTown struct {
	bs        *bank.Service
	town      int64
	residents []int64
	heavy     int64 // the resident with 10,000 entries
	staff     *auth.Actor
	bulk      int
}

func newBenchTown(b *testing.B, d *db.DB, n int) *benchTown {
	ctx := context.Background()
	cipher, _ := people.NewCipher(bytes.Repeat([]byte{1}, 32))
	ps := people.NewService(d, cipher)
	info, err := demo.Ensure(ctx, d, ps, auth.NewService(d), demo.Options{Residents: n})
	if err != nil {
		b.Fatal(err)
	}
	f := &benchTown{bs: bank.NewService(d, ps), town: info.TownID, staff: auth.System("bench")}
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
			if _, err := f.bs.InsertVersion(ctx, tx, bank.VersionInput{TownID: info.TownID, Class: c, AdoptedBy: "村民代表大会", AdoptedOn: "2026-01-01",
				EffectiveFrom: "2026-01-01", Rules: []bank.RuleInput{{Code: "deed", Name: "好人好事", Points: 3}, {Code: "big", Name: "重大贡献", Points: 10}}}, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	rows, err := d.Read().Query(`SELECT id FROM residents WHERE status = 'active' ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		f.residents = append(f.residents, id)
	}
	f.heavy = f.residents[len(f.residents)/2]
	return f
}

// benchBulk awards every resident of the town once, as one bulk award.
func (f *benchTown) benchBulk(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f.bulk++
		out, err := f.bs.BulkAward(context.Background(), f.staff, bank.BulkInput{ResidentIDs: f.residents, RuleCode: "deed", Reason: "全镇环境整治",
			IdempotencyKey: "bench:bulk:" + strconv.Itoa(f.bulk), ConfirmDuplicate: true}) // every round pays everyone again
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range out {
			if r.Error != "" {
				b.Fatalf("resident %d: %s", r.ResidentID, r.Error)
			}
		}
	}
	b.ReportMetric(float64(len(f.residents)), "residents")
}

// load10000 gives one resident 10,000 entries.
func (f *benchTown) load10000(b *testing.B) {
	ctx := context.Background()
	done := make(chan error, 16)
	for c := 0; c < 16; c++ {
		go func(c int) {
			for i := c; i < 10_000; i += 16 {
				if _, err := f.bs.Award(ctx, f.staff, bank.AwardInput{ResidentID: f.heavy, RuleCode: "deed", Reason: "b", IdempotencyKey: fmt.Sprintf("bench:heavy:%d", i), ConfirmDuplicate: true}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(c)
	}
	for c := 0; c < 16; c++ {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// vacuum brings PostgreSQL's statistics and visibility map up to date after a bulk load, as
// autovacuum does in a running district some seconds later: without it the planner believes the
// freshly loaded tables are empty and index-only scans visit the heap.
func vacuum(b *testing.B, d *db.DB) {
	if d.Engine != db.Postgres {
		return
	}
	if _, err := d.Write().Exec(`VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// samples is how many times each read is measured per benchmark iteration, so that a run with
// -benchtime 1x still reports a median rather than one cold sample.
const samples = 25

// benchStatement reads the newest page (50 lines) and a page deep in the history of the account
// with 10,000+ entries, reporting the median.
func (f *benchTown) benchStatement(b *testing.B) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N*samples)
	for i := 0; i < b.N*samples; i++ {
		before := int64(0)
		if i%2 == 1 {
			before = 5_000
		}
		start := time.Now()
		lines, err := f.bs.Statement(ctx, f.staff, f.heavy, bank.StatementFilter{Before: before, Limit: 50})
		lat = append(lat, time.Since(start))
		if err != nil || len(lines) != 50 {
			b.Fatalf("statement: %d lines, %v", len(lines), err)
		}
	}
	reportMedian(b, lat)
}

// benchHouseholds ranks the top 100 households of the town for this month.
func (f *benchTown) benchHouseholds(b *testing.B) {
	ctx := context.Background()
	period := bank.Period(time.Now(), people.Town{}.Location())
	lat := make([]time.Duration, 0, b.N*samples)
	for i := 0; i < b.N*samples; i++ {
		start := time.Now()
		top, err := f.bs.Rankings(ctx, f.town, "household", period, 100)
		lat = append(lat, time.Since(start))
		if err != nil || len(top) != 100 {
			b.Fatalf("rankings: %d, %v", len(top), err)
		}
	}
	reportMedian(b, lat)
}

// loadArticleScale brings the town to the article's figures: seven rounds of 10 points to 18,754
// residents on top of what is there, about 160,000 transactions and 1.4 M points in all.
func (f *benchTown) loadArticleScale(b *testing.B) {
	residents := f.residents
	if len(residents) > 18_754 {
		residents = residents[:18_754]
	}
	for i := 0; i < 7; i++ {
		f.bulk++
		if _, err := f.bs.BulkAward(context.Background(), f.staff, bank.BulkInput{ResidentIDs: residents, RuleCode: "big", Reason: "规模",
			IdempotencyKey: "bench:scale:" + strconv.Itoa(f.bulk), ConfirmDuplicate: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func reportMedian(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
