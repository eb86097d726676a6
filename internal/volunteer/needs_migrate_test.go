package volunteer_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/volunteer"
)

// TestNeedHistoryMovesToTheTimeline: migration 0014 moves the steps that needs kept in
// volunteer_need_events into the flow kit's timeline, in order, with the state each left, the
// action that moved it and when the need left each state, and the need page reads them there.
func TestNeedHistoryMovesToTheTimeline(t *testing.T) {
	run := func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ms, err := db.Migrations(d.Engine)
		if err != nil {
			t.Fatal(err)
		}
		w := d.Write()
		if _, err := w.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Version >= 14 {
				break
			}
			if _, err := w.ExecContext(ctx, m.SQL); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			if _, err := w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 'test')`, m.Version, m.Name); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO towns (id, code, name, created_at) VALUES (1, '110112', '潞城镇', $1)`, []any{t0}},
			{`INSERT INTO villages (id, town_id, code, name, created_at) VALUES (1, 1, '001', '前疃村', $1)`, []any{t0}},
			{`INSERT INTO volunteer_needs (id, town_id, village_id, category, description, for_name, urgency, status, rating, rating_comment, source, recorded_by, recorded_by_name, created_at, closed_at)
				VALUES (1, 1, 1, 'repair', '屋顶漏雨', '王大爷', 'high', 'rated', 4, '好', 'visit', 2, '村委会', $1, $2)`, []any{at(0), at(5)}},
			{`INSERT INTO volunteer_needs (id, town_id, village_id, category, description, for_name, urgency, status, source, recorded_by_name, created_at)
				VALUES (2, 1, 1, 'haircut', '理发', '李奶奶', 'normal', 'open', 'visit', '村委会', $1)`, []any{at(1)}},
		} {
			if _, err := w.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		for i, e := range []struct {
			need   int64
			status string
			reason string
		}{
			{1, "open", ""}, {2, "open", ""}, {1, "assigned", ""}, {1, "taken", ""}, {1, "assigned", "这周不在村里"}, {2, "assigned", ""},
			{1, "taken", ""}, {2, "open", "派错了"}, {1, "done", ""}, {1, "rated", "4★ 好"},
		} {
			if _, err := w.ExecContext(ctx, `INSERT INTO volunteer_need_events (need_id, status, reason, actor_id, actor_name, created_at) VALUES ($1, $2, $3, 2, '村委会', $4)`,
				e.need, e.status, e.reason, at(i)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := d.Migrate(ctx); err != nil || n < 1 {
			t.Fatalf("migrate: %d %v", n, err)
		}
		want := map[int64][]string{
			1: {">open open 0h left 2h", "open>assigned assign 2h left 3h", "assigned>taken take 3h left 4h", `taken>assigned send_back 4h left 6h "这周不在村里"`,
				"assigned>taken take 6h left 8h", "taken>done done 8h left 9h", `done>rated rate 9h ★4 "4★ 好"`},
			2: {">open open 1h left 5h", "open>assigned assign 5h left 7h", `assigned>open send_back 7h "派错了"`},
		}
		for id, want := range want {
			steps, err := volunteer.NeedFlow.Timeline(ctx, d.Read(), id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range steps {
				s := fmt.Sprintf("%s>%s %s %dh", e.From, e.To, e.Action, int(e.At.Sub(t0).Hours()))
				if !e.Left.IsZero() {
					s += fmt.Sprintf(" left %dh", int(e.Left.Sub(t0).Hours()))
				}
				if e.Rating != 0 {
					s += fmt.Sprintf(" ★%d", e.Rating)
				}
				if e.Reason != "" {
					s += fmt.Sprintf(" %q", e.Reason)
				}
				if e.ActorID != 2 || e.ActorName != "村委会" {
					s += " by " + e.ActorName
				}
				got = append(got, s)
			}
			if !slices.Equal(got, want) {
				t.Errorf("need %d:\n%s\nwant\n%s", id, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "old.db"), "")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		run(t, d)
	})
	t.Run("postgres", func(t *testing.T) {
		d, err := db.Open(context.Background(), dbtest.PostgresURL(t), "")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		run(t, d)
	})
}
