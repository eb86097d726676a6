package report_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/report"
	"siwei/internal/server/servertest"
)

// BenchmarkTownFigures: a town's figures on the demo town of 20,000 residents with every pillar's
// demo history (about a year), as the API computes them ("figures": this year and the year
// before) and as the dashboard page does (with twelve months of trends), on SQLite and, when
// SIWEI_TEST_POSTGRES is set, PostgreSQL. The target is 50 ms on SQLite:
//
//	go test ./internal/report -run '^$' -bench TownFigures -benchtime 50x
func BenchmarkTownFigures(b *testing.B) {
	o := demo.Options{Seed: 1, Residents: 20000}
	w := servertest.World(o, true)
	for _, engine := range []db.Engine{db.SQLite, db.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			if engine == db.Postgres && os.Getenv(dbtest.EnvPostgres) == "" {
				b.Skip("no PostgreSQL")
			}
			env := servertest.NewWith(b, dbtest.From(b, engine, w), o)
			sc := report.Scope{Level: report.Town, ID: env.Info.TownID}
			year := fmt.Sprint(time.Now().Year())
			for _, trend := range []bool{false, true} {
				name := "figures"
				if trend {
					name = "page"
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if _, err := env.Sys.Report.Figures(context.Background(), districtAdmin(), sc, year, trend); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			// Kept (siwei serve's --report-cache): the document computed once, served again with
			// the viewer's scope checked and a copy made.
			b.Run("kept", func(b *testing.B) {
				env.Sys.Report.KeepFor(time.Hour)
				defer env.Sys.Report.KeepFor(0)
				// The first computation, before the timer starts (b.Loop resets it).
				if _, err := env.Sys.Report.Figures(context.Background(), districtAdmin(), sc, year, true); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := env.Sys.Report.Figures(context.Background(), districtAdmin(), sc, year, true); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
