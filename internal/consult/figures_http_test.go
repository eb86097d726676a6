package consult_test

import (
	"fmt"
	"strings"
	"testing"

	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

// TestFigures: the town's admin counts the topics raised, put on a meeting and declined this
// year; a village's admin may not read the town's figures; a wrong month is named.
func TestFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, 80)
		var f consult.Figures
		if st, body := w.town.JSON("GET", "/api/v1/consult/figures", nil, &f); st != 200 || f.TopicsRaised != 0 || f.MeetingsHeld != 0 {
			t.Fatalf("figures of an empty year: %d %s", st, body)
		}
		a := w.propose(t, w.party, w.qt, "村口路灯不亮")
		w.propose(t, w.resident, w.qt, "文化广场缺座椅")
		if st, body := w.qtAdmin.JSON("POST", fmt.Sprintf("/api/v1/consult/topics/%d/actions", a.ID), map[string]any{"action": "decline", "reason": "已安排维修"}, nil); st != 200 {
			t.Fatalf("decline: %d %s", st, body)
		}
		if st, body := w.town.JSON("GET", "/api/v1/consult/figures", nil, &f); st != 200 || f.TopicsRaised != 2 || f.TopicsAccepted != 0 || f.TopicsDecided != 0 {
			t.Errorf("figures: %d %+v %s", st, f, body)
		}
		// Last year holds none of them.
		if st, _ := w.town.JSON("GET", "/api/v1/consult/figures?from=2025-01&to=2025-12", nil, &f); st != 200 || f.TopicsRaised != 0 {
			t.Errorf("last year: %d topics", f.TopicsRaised)
		}
		if st, body := w.town.JSON("GET", "/api/v1/consult/figures?from=2026-13", nil, nil); st != 422 || !strings.Contains(body, `"from"`) {
			t.Errorf("a wrong month: %d %s", st, body)
		}
		if st, _ := w.qtAdmin.JSON("GET", "/api/v1/consult/figures", nil, nil); st != 403 {
			t.Errorf("a village's admin reads the town's figures: %d", st)
		}
		st, page := w.env.Browser(demo.PhoneTownAdmin).Get("/admin/consult/figures?from=2026-13")
		if st != 422 || !strings.Contains(page, "月份格式应为 2026-01") || !strings.Contains(page, "响应率") {
			t.Errorf("the page with a wrong month: %d", st)
		}
	})
}
