package db_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
)

func TestEnginesHaveSameColumns(t *testing.T) {
	lite := dbtest.SQLite(t)
	pg := dbtest.Postgres(t)
	a, err := lite.Columns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := pg.Columns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(a) < 5 {
		t.Fatalf("sqlite has only %d tables", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		for tbl, cols := range a {
			if !reflect.DeepEqual(cols, b[tbl]) {
				t.Errorf("table %s: sqlite %v, postgres %v", tbl, cols, b[tbl])
			}
		}
		for tbl := range b {
			if _, ok := a[tbl]; !ok {
				t.Errorf("table %s only on postgres", tbl)
			}
		}
	}
}

func TestMigrateTwiceAppliesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		n, err := d.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second migrate applied %d", n)
		}
	})
}

func TestPlaceholdersAndUnique(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO towns (code, name, created_at) VALUES ($1, $2, $3)`, "110112", "潞城镇", db.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO towns (code, name, created_at) VALUES ($1, $2, $3)`, "110113", "潞城镇", db.Now())
			return err
		})
		if !db.IsUnique(err) {
			t.Fatalf("duplicate name: got %v, want a unique violation", err)
		}
		var name string
		var at = db.Now()
		if err := d.Read().QueryRowContext(ctx, `SELECT name, created_at FROM towns WHERE code = $1`, "110112").Scan(&name, &at); err != nil {
			t.Fatal(err)
		}
		if name != "潞城镇" || at.IsZero() {
			t.Fatalf("got %q %v", name, at)
		}
	})
}

// The write-ahead log reaches the database file without a checkpoint by the writer: the writer's
// own threshold is far above what these writes leave in the log, and no connection is closed.
func TestCheckpointsRunInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ck.db")
	d, err := db.Open(ctx, path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Write().ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	row := strings.Repeat("积", 400) // 1,200 bytes
	for i := 0; i < 1000; i++ {
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, row); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); size() < before+1_000_000; {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d) after 1.2 MB of writes: the log was not checkpointed", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
