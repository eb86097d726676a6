package people_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestPagesShowTheTownsTime: a town in Asia/Urumqi (UTC+6) sees an audit entry made at
// 17:30 UTC on 28 February at 23:30 that day, not at Shanghai's 01:30 on 1 March, and its audit
// filter reads "28 February" as Urumqi's day.
func TestPagesShowTheTownsTime(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		if _, err := d.Write().ExecContext(ctx, `UPDATE towns SET timezone = 'Asia/Urumqi' WHERE id = $1`, env.Info.TownID); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 2, 28, 17, 30, 0, 0, time.UTC)
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO audit_log (at, actor_name, for_name, town_id, action, entity, summary)
			VALUES ($1, '钟表测试', '', $2, 'village.create', 'village', '')`, at, env.Info.TownID); err != nil {
			t.Fatal(err)
		}
		admin := env.Browser(demo.PhoneTownAdmin)
		for _, c := range []struct {
			name, query string
			shown       bool
		}{
			{"OK", "?q=钟表测试", true},
			{"TheTownsDay", "?q=钟表测试&from=2026-02-28&to=2026-02-28", true},
			{"NotShanghaisDay", "?q=钟表测试&from=2026-03-01&to=2026-03-01", false},
		} {
			t.Run(c.name, func(t *testing.T) {
				st, body := admin.Get("/admin/audit" + c.query)
				if st != http.StatusOK {
					t.Fatalf("status %d: %.300s", st, body)
				}
				// 28 February 2026 is a Saturday; the year shows only when the page is read in
				// another year, so the day and time are looked for without it.
				if got := strings.Contains(body, "2月28日 周六 晚上11:30"); got != c.shown {
					t.Errorf("the entry at 23:30 in Urumqi shown: %v, want %v", got, c.shown)
				}
				if strings.Contains(body, "3月1日 周日 凌晨1:30") {
					t.Error("the entry is shown in Shanghai's time")
				}
			})
		}
	})
}
