package school_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/school"
	"siwei/internal/server"
)

// BenchmarkCoverage times what the town's coverage page asks for the last twelve months: the
// coverage by branch (Coverage) and the period's figures (PeriodFigures), together (Year, the one
// with the target of 50 ms) and each alone, on the demo town of the article's 20,000 residents
// with its year of lessons, built once per engine:
//
//	SIWEI_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres go test ./internal/school -run '^$' -bench Coverage
//
// SIWEI_BENCH_RESIDENTS changes the town's size (default 20000). The whole benchmark, the town's
// building included, gives up after ten minutes.
func BenchmarkCoverage(b *testing.B) {
	residents := 20000
	if n, err := strconv.Atoi(os.Getenv("SIWEI_BENCH_RESIDENTS")); err == nil {
		residents = n
	}
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		sys, err := server.New(d, bytes.Repeat([]byte{5}, 32))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		info, err := sys.Demo(ctx, demo.Options{Seed: 1, Residents: residents})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: demo town of %d residents built in %v", d.Engine, info.Residents, time.Since(start).Round(time.Second))
		sess, err := sys.Auth.Login(ctx, demo.PhoneSchoolAdmin, demo.DemoPassword, "127.0.0.1", "api")
		if err != nil {
			b.Fatal(err)
		}
		office, err := sys.Auth.Authenticate(ctx, sess.Token)
		if err != nil || office == nil {
			b.Fatal("no session", err)
		}
		loc, err := sys.People.Zone(ctx, info.TownID)
		if err != nil {
			b.Fatal(err)
		}
		today := clock.In(loc, time.Now).Today()
		p, err := school.ParsePeriod(today.AddDate(0, -11, 1-today.Day()).Format("2006-01"), today.Format("2006-01"), time.Now(), loc)
		if err != nil {
			b.Fatal(err)
		}
		// Each alone, to see which of the two costs what.
		b.Run("Coverage", func(b *testing.B) {
			for b.Loop() {
				if _, err := sys.School.Coverage(ctx, office, info.TownID, p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Figures", func(b *testing.B) {
			for b.Loop() {
				if _, err := sys.School.PeriodFigures(ctx, office, info.TownID, p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Year", func(b *testing.B) {
			var c school.Coverage
			var f school.Figures
			for b.Loop() {
				if c, err = sys.School.Coverage(ctx, office, info.TownID, p); err != nil {
					b.Fatal(err)
				}
				if f, err = sys.School.PeriodFigures(ctx, office, info.TownID, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.Reached), "reached")
			b.ReportMetric(float64(c.NotReached6), "not-reached-6m")
			b.ReportMetric(float64(c.Members), "members")
			b.ReportMetric(float64(f.Lessons), "lessons")
			b.ReportMetric(float64(f.PersonTimes), "person-times")
		})
	})
}
