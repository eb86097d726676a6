package db_test

import (
	"context"
	"fmt"
	"testing"

	"siwei/internal/db/dbtest"
)

// TestKeptStatements: SQLite's connections keep their statements prepared and run them again, and
// that changes no answer: a query asked again inside a loop over its own open rows gets its own
// rows and leaves the loop's alone; more distinct statements than a connection keeps all answer;
// a statement that failed runs again; and one kept from before a schema change sees the change.
func TestKeptStatements(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	w := d.Write()
	if _, err := w.ExecContext(ctx, `CREATE TABLE kept_t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := w.ExecContext(ctx, `INSERT INTO kept_t (id, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The writer has one connection: the inner query runs on the outer's.
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const all = `SELECT id, v FROM kept_t ORDER BY id`
	rows, err := tx.QueryContext(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for rows.Next() {
		var id int
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, id)
		var first int
		if err := tx.QueryRowContext(ctx, all).Scan(&first, &v); err != nil || first != 1 {
			t.Fatalf("the same query inside its own loop: %d, %v; want 1", first, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if fmt.Sprint(seen) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("the loop read %v", seen)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// More distinct statements than a connection keeps (256), each answering its own.
	for i := range 300 {
		var got int
		if err := w.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) + %d FROM kept_t`, i)).Scan(&got); err != nil || got != 10+i {
			t.Fatalf("statement %d: %d, %v", i, got, err)
		}
	}
	// A failed insert (the id is taken), then the same statement with a free id.
	const insert = `INSERT INTO kept_t (id, v) VALUES ($1, 'again')`
	if _, err := w.ExecContext(ctx, insert, 1); err == nil {
		t.Fatal("a taken id was inserted")
	}
	if _, err := w.ExecContext(ctx, insert, 11); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	// A kept SELECT * sees a column added after it was prepared.
	const star = `SELECT * FROM kept_t WHERE id = $1`
	if got, err := w.QueryContext(ctx, star, 11); err != nil {
		t.Fatal(err)
	} else {
		cols, _ := got.Columns()
		got.Close()
		if len(cols) != 2 {
			t.Fatalf("columns %v", cols)
		}
	}
	if _, err := w.ExecContext(ctx, `ALTER TABLE kept_t ADD COLUMN w TEXT NOT NULL DEFAULT 'w'`); err != nil {
		t.Fatal(err)
	}
	var id int
	var v, col string
	if err := w.QueryRowContext(ctx, star, 11).Scan(&id, &v, &col); err != nil || col != "w" {
		t.Fatalf("after ALTER TABLE: %q, %v", col, err)
	}
}
