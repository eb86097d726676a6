// Package dbtest runs storage tests on both engines: SQLite always, PostgreSQL whenever
// SIWEI_TEST_POSTGRES names a server. Each database is created for the test and dropped after it.
//
// A test database is a copy of a template made once per test binary: the migrated schema, or a
// world a build function made on it (From). Migrating took 1–2 s under -race and building a small
// demo town about as long, for each of the suite's hundreds of test databases; a copy takes a few
// milliseconds on SQLite (a file) and a fraction of a second on PostgreSQL (CREATE DATABASE …
// TEMPLATE).
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

	"siwei/internal/auth"
	"siwei/internal/db"
)

// Every test binary that stores anything hashes passwords cheaply: see auth.UseTestCost.
func init() { auth.UseTestCost() }

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

// A World is a template's contents beyond the schema: a name that says what build makes (the same
// name must always make the same world) and the function that makes it on a migrated database.
type World struct {
	Name  string
	Build func(ctx context.Context, d *db.DB) error
}

// SQLite opens a fresh, migrated SQLite database in the test's temporary folder.
func SQLite(t testing.TB) *db.DB { t.Helper(); return From(t, db.SQLite, World{}) }

// Postgres creates a fresh, migrated PostgreSQL database and drops it when the test ends; it skips
// the test, saying how to enable it, when SIWEI_TEST_POSTGRES is not set.
func Postgres(t testing.TB) *db.DB { t.Helper(); return From(t, db.Postgres, World{}) }

// From opens a fresh database of the engine holding w's world: a copy of a template that w.Build
// made once per test binary on a migrated database (w.Name "" is the migrated schema alone).
func From(t testing.TB, engine db.Engine, w World) *db.DB {
	t.Helper()
	var target string
	if engine == db.Postgres {
		server := os.Getenv(EnvPostgres)
		if server == "" {
			t.Skipf("PostgreSQL half skipped: set %s=postgres://postgres@127.0.0.1:5432/postgres to run it", EnvPostgres)
		}
		tpl, err := template(engine, w)
		if err != nil {
			t.Fatal(err)
		}
		target = createPostgres(t, server, tpl)
	} else {
		tpl, err := template(engine, w)
		if err != nil {
			t.Fatal(err)
		}
		target = filepath.Join(t.TempDir(), "test.db")
		if err := copyFile(tpl, target); err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.Open(context.Background(), target, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// templates are the templates made so far in this test binary, by engine and world: a SQLite
// file's path or a PostgreSQL database's name. A template is made under its entry's lock, so two
// tests asking for the same world wait for one build.
var (
	templatesMu sync.Mutex
	templates   = map[string]*templateEntry{}
)

type templateEntry struct {
	mu   sync.Mutex
	done bool
	name string
	err  error
}

// template returns the template of a world on an engine, making it (and the migrated schema it
// starts from) the first time.
func template(engine db.Engine, w World) (string, error) {
	templatesMu.Lock()
	key := fmt.Sprint(engine, "/", w.Name)
	e := templates[key]
	if e == nil {
		e = &templateEntry{}
		templates[key] = e
	}
	templatesMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		e.name, e.err = makeTemplate(engine, w)
		e.done = true
	}
	return e.name, e.err
}

// makeTemplate makes a template: the migrated schema for the unnamed world, or a copy of it on
// which w.Build ran. The template is closed when it is made: a closed SQLite database has its WAL
// checkpointed, and PostgreSQL copies only a database nobody is connected to.
func makeTemplate(engine db.Engine, w World) (string, error) {
	ctx := context.Background()
	var base, target string
	if w.Name != "" {
		var err error
		if base, err = template(engine, World{}); err != nil {
			return "", err
		}
	}
	suffix := fmt.Sprintf("%d_%s", os.Getpid(), randomHex(4))
	if engine == db.Postgres {
		server := os.Getenv(EnvPostgres)
		name := "siwei_tpl_" + suffix
		if w.Name == "" {
			dropStaleTemplates(server)
		}
		if err := createDatabase(server, name, base); err != nil {
			return "", err
		}
		pu, err := url.Parse(server)
		if err != nil {
			return "", err
		}
		pu.Path = "/" + name
		target = pu.String()
		base = name
	} else {
		root := filepath.Join(os.TempDir(), "siwei-dbtest")
		if w.Name == "" {
			removeStale(root)
		}
		dir := filepath.Join(root, strconv.Itoa(os.Getpid()))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		target = filepath.Join(dir, "template_"+suffix+".db")
		if w.Name != "" {
			if err := copyFile(base, target); err != nil {
				return "", err
			}
		}
		base = target
	}
	d, err := db.Open(ctx, target, "")
	if err != nil {
		return "", err
	}
	_, err = d.Migrate(ctx)
	if err == nil && w.Build != nil {
		if err = w.Build(ctx, d); err != nil {
			err = fmt.Errorf("dbtest: world %q: %w", w.Name, err)
		}
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return base, err
}

// removeStale removes the SQLite templates of test binaries that have ended.
func removeStale(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() && !alive(e.Name()) {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// dropStaleTemplates drops the PostgreSQL templates of test binaries that have ended (their process
// id is in the name), so that an interrupted run leaves nothing for long.
func dropStaleTemplates(server string) {
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return
	}
	defer admin.Close()
	rows, err := admin.Query(`SELECT datname FROM pg_database WHERE datname LIKE 'siwei\_tpl\_%'`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil && !alive(strings.SplitN(strings.TrimPrefix(n, "siwei_tpl_"), "_", 2)[0]) {
			stale = append(stale, n)
		}
	}
	rows.Close()
	for _, n := range stale {
		admin.Exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)")
	}
}

// alive reports whether a process of this machine has the id.
func alive(pid string) bool {
	_, err := os.Stat(filepath.Join("/proc", pid))
	return err == nil
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

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// createDatabase creates a database on the server, a copy of template when one is named. A copy is
// refused while another session is connected to the template; none stays (templates are closed
// when made), so a refusal is tried again.
func createDatabase(server, name, template string) error {
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return err
	}
	defer admin.Close()
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	_, err = admin.Exec(create)
	for try := 0; err != nil && strings.Contains(err.Error(), "being accessed by other users") && try < 50; try++ {
		time.Sleep(100 * time.Millisecond)
		_, err = admin.Exec(create)
	}
	if err != nil {
		return fmt.Errorf("create database on %s: %w", server, err)
	}
	return nil
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
	name := "siwei_test_" + randomHex(6)
	if err := createDatabase(server, name, template); err != nil {
		t.Fatal(err)
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
