package alliance_test

import (
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestTooManyPicked: a request naming more villages or residents than anyone picks at once is
// refused on the field before any of them is read, and stores nothing.
func TestTooManyPicked(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		town := env.API(demo.PhoneTownAdmin)
		var unit struct{ ID int64 }
		if st, body := town.JSON("POST", "/api/v1/alliance/units", map[string]any{"name": "北京市财政局", "kind": "agency", "joined_on": "2024-03-01"}, &unit); st != 201 {
			t.Fatalf("unit: %d %s", st, body)
		}
		many := make([]int64, 501)
		for i := range many {
			many[i] = int64(i + 1)
		}
		for _, c := range []struct {
			path, field string
			body        map[string]any
		}{
			{"/api/v1/alliance/activities", "village_ids", map[string]any{"title": "便民服务日", "kind": "service_day", "unit_ids": []int64{unit.ID}, "village_ids": many}},
			{"/api/v1/alliance/resources", "village_ids", map[string]any{"unit_id": unit.ID, "kind": "venue", "description": "会议室", "from": "2026-01-01", "to": "2027-12-31", "village_ids": many}},
		} {
			st, body := town.JSON("POST", c.path, c.body, nil)
			if st != 422 || !strings.Contains(body, `"field":"`+c.field+`"`) || !strings.Contains(body, "500") {
				t.Errorf("%s with 501 %s: %d %.300s", c.path, c.field, st, body)
			}
		}
		for _, table := range []string{"alliance_activities", "alliance_resources"} {
			var n int
			if err := env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d rows, %v", table, n, err)
			}
		}
	})
}
