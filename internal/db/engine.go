package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// The engine differences live in this file: migrations (DDL), error classification.

//go:embed migrations
var migrations embed.FS

// Migration is one embedded schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the engine's migrations in order.
func Migrations(e Engine) ([]Migration, error) {
	dir := "migrations/" + string(e)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("db: migrations: %w", err)
	}
	var out []Migration
	for _, ent := range entries {
		name := ent.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("db: migration %s: name must start with a number", name)
		}
		b, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// migrateLock is the PostgreSQL advisory lock key that serialises migrations when several app
// servers start at once.
const migrateLock = 7411_2026

// Migrate applies every migration not yet applied and returns how many it applied.
func (d *DB) Migrate(ctx context.Context) (int, error) {
	ms, err := Migrations(d.Engine)
	if err != nil {
		return 0, err
	}
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("db: migrate: %w", err)
	}
	defer conn.Close()
	if d.Engine == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
			return 0, fmt.Errorf("db: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("db: migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("db: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, err
		}
		applied[v] = true
	}
	rows.Close()
	n := 0
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return n, fmt.Errorf("db: migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return n, fmt.Errorf("db: migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return n, fmt.Errorf("db: migrate %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return n, fmt.Errorf("db: migrate %s: %w", m.Name, err)
		}
		n++
	}
	return n, nil
}

// Columns lists table → column names of the live schema, for the test that keeps the two engines'
// migrations in lockstep.
func (d *DB) Columns(ctx context.Context) (map[string][]string, error) {
	var q string
	switch d.Engine {
	case SQLite:
		q = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.name`
	default:
		q = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, column_name`
	}
	rows, err := d.r.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("db: columns: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

// IsUnique reports whether err is a unique-constraint violation.
func IsUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 2067 || se.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}

// IsNoRows reports whether err means a query found nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// LikePrefix escapes s for a LIKE 'prefix%' pattern with ESCAPE '\'.
func LikePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// Serialize makes transactions that name the same key run one after another from here until they
// end: a transaction-scoped advisory lock on PostgreSQL; on SQLite the one writer already does.
// For rare writes that pick "the next number" (card serials), never for the ledger's hot path.
func (d *DB) Serialize(ctx context.Context, tx *sql.Tx, key string) error {
	if d.Engine != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, key)
	return err
}

// SingleWriter reports whether every write goes through one connection, one after another
// (SQLite): statements may be prepared on it once, and a transaction sees no concurrent writer.
func (d *DB) SingleWriter() bool { return d.Engine == SQLite }

// ErrorAbortsTx reports whether a failed statement aborts its transaction (PostgreSQL): a unique
// violation must then be answered from outside the transaction, not by reading on inside it.
func (d *DB) ErrorAbortsTx() bool { return d.Engine == Postgres }

// WritesInWith reports whether a WITH clause may hold INSERT and UPDATE statements (PostgreSQL),
// so that several writes go in one statement and one round trip.
func (d *DB) WritesInWith() bool { return d.Engine == Postgres }

// Params collects a generated statement's arguments and writes their placeholders in the order
// of the arguments: $N on PostgreSQL; ? on SQLite, where $N is a named parameter that SQLite looks
// up in a list, once when parsing and once when binding, which costs time quadratic in the
// thousands of parameters of a multi-row statement.
type Params struct {
	Args []any
	anon bool
}

// Params starts the arguments of a generated statement.
func (d *DB) Params() *Params { return &Params{anon: d.Engine == SQLite} }

// Add appends one argument and returns its placeholder.
func (p *Params) Add(v any) string {
	p.Args = append(p.Args, v)
	if p.anon {
		return "?"
	}
	return "$" + strconv.Itoa(len(p.Args))
}

// List appends ids and returns their placeholders, comma-separated.
func (p *Params) List(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Add(id))
	}
	return b.String()
}

// Row appends vs and returns a VALUES row of their placeholders.
func (p *Params) Row(vs ...any) string { return p.TypedRow(nil, vs) }

// TypedRow appends vs and returns a VALUES row of their placeholders, each cast to the type of
// the same index when types is given, which PostgreSQL needs where it cannot infer them (a
// VALUES list in a CTE).
func (p *Params) TypedRow(types []string, vs []any) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		if types != nil {
			b.WriteString("CAST(" + p.Add(v) + " AS " + types[i] + ")")
		} else {
			b.WriteString(p.Add(v))
		}
	}
	b.WriteByte(')')
	return b.String()
}
