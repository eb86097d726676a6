// Package dbtest runs storage tests on both engines: SQLite always, PostgreSQL whenever
// SIWEI_TEST_POSTGRES names a server. Each database is created for the test and dropped after it.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"siwei/internal/db"
)

// EnvPostgres names the variable holding a PostgreSQL server URL for tests.
const EnvPostgres = "SIWEI_TEST_POSTGRES"

// Each runs fn as the subtests "sqlite" and "postgres", each on a fresh, migrated database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachB is Each for benchmarks: the sub-benchmarks "sqlite" and "postgres", each on a fresh,
// migrated database (PostgreSQL's skipped when SIWEI_TEST_POSTGRES is not set).
func EachB(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { fn(b, SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, Postgres(b)) })
}

// SQLite opens a fresh, migrated SQLite database in the test's temporary folder.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// Postgres creates a fresh PostgreSQL database, migrates it and drops it when the test ends; it
// skips the test, saying how to enable it, when SIWEI_TEST_POSTGRES is not set.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	u := PostgresURL(t)
	d, err := db.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// PostgresURL creates an empty database on the test server and returns its URL; the database is
// dropped when the test ends. For tests that start servers as child processes.
func PostgresURL(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		t.Skipf("PostgreSQL half skipped: set %s=postgres://postgres@127.0.0.1:5432/postgres to run it", EnvPostgres)
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "siwei_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database on %s: %v", server, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", server)
		if err != nil {
			return
		}
		defer a.Close()
		if _, err := a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	pu, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	pu.Path = "/" + name
	return pu.String()
}
