// Package dbtest runs storage tests on both engines: SQLite always, PostgreSQL whenever
// SIWEI_TEST_POSTGRES names a server. Each database is created for the test and dropped after it.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// SQLite opens a fresh, migrated SQLite database in the test's temporary folder: a copy of one
// migrated once per test binary (migrating takes longer than the rest of most tests).
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	tpl, err := sqliteTemplate()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.db")
	if err := copyFile(tpl, path); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), path, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// Postgres creates a fresh, migrated PostgreSQL database (a copy of a template migrated once per
// test binary) and drops it when the test ends; it skips the test, saying how to enable it, when
// SIWEI_TEST_POSTGRES is not set.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		t.Skipf("PostgreSQL half skipped: set %s=postgres://postgres@127.0.0.1:5432/postgres to run it", EnvPostgres)
	}
	tpl, err := postgresTemplate(server)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), createPostgres(t, server, tpl), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// The migrated templates, made once per test binary and engine.
var (
	sqliteOnce sync.Once
	sqliteTpl  string
	sqliteErr  error
	pgMu       sync.Mutex
	pgTpl      string
)

// sqliteTemplate is the path of a migrated SQLite database, closed (so checkpointed: its WAL is
// empty), to copy. It lives in a folder of this process, which the next test binary removes once
// this process has ended.
func sqliteTemplate() (string, error) {
	sqliteOnce.Do(func() {
		root := filepath.Join(os.TempDir(), "siwei-dbtest")
		removeStale(root)
		dir := filepath.Join(root, strconv.Itoa(os.Getpid()))
		if sqliteErr = os.MkdirAll(dir, 0o700); sqliteErr != nil {
			return
		}
		sqliteTpl = filepath.Join(dir, "template.db")
		os.Remove(sqliteTpl)
		var d *db.DB
		if d, sqliteErr = db.Open(context.Background(), sqliteTpl, ""); sqliteErr != nil {
			return
		}
		_, sqliteErr = d.Migrate(context.Background())
		if err := d.Close(); sqliteErr == nil {
			sqliteErr = err
		}
	})
	return sqliteTpl, sqliteErr
}

// removeStale removes the template folders of test binaries that have ended.
func removeStale(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", e.Name())); os.IsNotExist(err) {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// copyFile copies a closed SQLite database file (and its WAL, should one be left).
func copyFile(from, to string) error {
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(from + suffix)
		if suffix != "" && os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// postgresTemplate is the name of a migrated PostgreSQL database with no connection left open, to
// create test databases from (CREATE DATABASE … TEMPLATE). Templates of test binaries that have
// ended (their process id is in the name) are dropped first.
func postgresTemplate(server string) (string, error) {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgTpl != "" {
		return pgTpl, nil
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	rows, err := admin.Query(`SELECT datname FROM pg_database WHERE datname LIKE 'siwei_tpl_%'`)
	if err != nil {
		return "", err
	}
	var stale []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		pid := strings.SplitN(strings.TrimPrefix(n, "siwei_tpl_"), "_", 2)[0]
		if _, err := os.Stat(filepath.Join("/proc", pid)); os.IsNotExist(err) {
			stale = append(stale, n)
		}
	}
	rows.Close()
	for _, n := range stale {
		admin.Exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := fmt.Sprintf("siwei_tpl_%d_%s", os.Getpid(), hex.EncodeToString(b))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("create template database on %s: %w", server, err)
	}
	pu, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	pu.Path = "/" + name
	d, err := db.Open(context.Background(), pu.String(), "")
	if err != nil {
		return "", err
	}
	_, err = d.Migrate(context.Background())
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	pgTpl = name
	return name, nil
}

// PostgresURL creates an empty database on the test server and returns its URL; the database is
// dropped when the test ends. For tests that start servers as child processes.
func PostgresURL(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		t.Skipf("PostgreSQL half skipped: set %s=postgres://postgres@127.0.0.1:5432/postgres to run it", EnvPostgres)
	}
	return createPostgres(t, server, "")
}

// createPostgres creates a database on the test server, a copy of template when one is named, and
// returns its URL; the database is dropped when the test ends.
func createPostgres(t testing.TB, server, template string) string {
	t.Helper()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "siwei_test_" + hex.EncodeToString(b)
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	// A copy of a template is refused while another session reads the template; none does for
	// long (the template's own connections are closed), so a refusal is tried again.
	_, err = admin.Exec(create)
	for try := 0; err != nil && strings.Contains(err.Error(), "being accessed by other users") && try < 50; try++ {
		time.Sleep(100 * time.Millisecond)
		_, err = admin.Exec(create)
	}
	if err != nil {
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
