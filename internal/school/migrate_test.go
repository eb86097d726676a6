package school_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
)

// TestRatedOrdersMigration: migration 0021 lets an order be rated (SQLite rebuilds school_orders
// and school_lessons for it) and keeps every order and lesson written before it, each lesson still
// pointing at its order; after it, a rated order and a lesson's 评单 can be stored, and a lesson
// cannot point at a missing order.
func TestRatedOrdersMigration(t *testing.T) {
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
			if m.Version >= 21 {
				break
			}
			if _, err := w.ExecContext(ctx, m.SQL); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			if _, err := w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 'test')`, m.Version, m.Name); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO towns (id, code, name, created_at) VALUES (1, '110112', '潞城镇', $1)`, []any{t0}},
			{`INSERT INTO villages (id, town_id, code, name, created_at) VALUES (1, 1, '001', '前疃村', $1)`, []any{t0}},
			{`INSERT INTO accounts (id, phone, name, created_at) VALUES (1, '13900000001', '支部书记', $1)`, []any{t0}},
			{`INSERT INTO school_experts (id, town_id, name, affiliation, created_at, updated_at) VALUES (1, 1, '李文博', '市委党校', $1, $1)`, []any{t0}},
			{`INSERT INTO school_courses (id, town_id, category_id, title, minutes, format, status, created_at, updated_at)
				VALUES (1, 1, (SELECT MIN(id) FROM school_categories), '学习党的二十大精神', 120, 'both', 'offered', $1, $1)`, []any{t0}},
			{`INSERT INTO school_orders (id, town_id, village_id, course_id, status, dates, mode, place, members, ordered_by, expert_id, starts_at, ends_at, created_at, updated_at)
				VALUES (1, 1, 1, 1, 'accepted', '2026-11-10', 'offline', '村委会', 12, 1, 1, $1, $2, $3, $3)`, []any{t0.AddDate(0, 0, 8), t0.AddDate(0, 0, 8).Add(2 * time.Hour), t0}},
			{`INSERT INTO school_orders (id, town_id, village_id, course_id, status, dates, mode, members, ordered_by, created_at, updated_at)
				VALUES (2, 1, 1, 1, 'ordered', '2026-11-20', 'online', 12, 1, $1, $1)`, []any{t0}},
			{`INSERT INTO school_lessons (id, order_id, town_id, village_id, course_id, expert_id, starts_at, ends_at, mode, place, status, created_at)
				VALUES (7, 1, 1, 1, 1, 1, $1, $2, 'offline', '村委会', 'scheduled', $3)`, []any{t0.AddDate(0, 0, 8), t0.AddDate(0, 0, 8).Add(2 * time.Hour), t0}},
		} {
			if _, err := w.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := d.Migrate(ctx); err != nil || n == 0 {
			t.Fatalf("migrate: %d %v", n, err)
		}
		var orders, lessons int
		var place, status string
		if err := d.Read().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM school_orders), (SELECT COUNT(*) FROM school_lessons),
			(SELECT l.place FROM school_lessons l JOIN school_orders o ON o.id = l.order_id WHERE l.id = 7), (SELECT status FROM school_orders WHERE id = 2)`).
			Scan(&orders, &lessons, &place, &status); err != nil {
			t.Fatal(err)
		}
		if orders != 2 || lessons != 1 || place != "村委会" || status != "ordered" {
			t.Errorf("after the migration: %d orders, %d lessons, place %q, status %q", orders, lessons, place, status)
		}
		if _, err := w.ExecContext(ctx, `UPDATE school_orders SET status = 'rated' WHERE id = 1`); err != nil {
			t.Errorf("a rated order: %v", err)
		}
		if _, err := w.ExecContext(ctx, `UPDATE school_lessons SET branch_rating = 5, applied = '写进村规民约' WHERE id = 7`); err != nil {
			t.Errorf("a lesson's 评单: %v", err)
		}
		if _, err := w.ExecContext(ctx, `UPDATE school_orders SET status = 'done' WHERE id = 2`); err == nil {
			t.Error("an unknown status was stored")
		}
		if _, err := w.ExecContext(ctx, `INSERT INTO school_lessons (order_id, town_id, village_id, course_id, expert_id, starts_at, ends_at, mode, status, created_at)
			VALUES (99, 1, 1, 1, 1, $1, $2, 'online', 'scheduled', $1)`, t0, t0.Add(time.Hour)); err == nil {
			t.Error("a lesson of a missing order was stored: the foreign key was lost")
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
