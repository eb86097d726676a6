// Package db opens siwei's one database on either engine — SQLite in a file for a town on one PC,
// PostgreSQL for a district — applies the embedded migrations and runs transactions. DML is one code
// path with $N placeholders; the few engine differences live in engine.go.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Engine names a database engine.
type Engine string

// The two engines siwei runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Querier is what *sql.DB and *sql.Tx have in common, so query helpers can run inside or outside a
// transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open database: a writer and a reader pool. On SQLite the writer is a single connection,
// so writes queue in Go instead of spinning on SQLITE_BUSY; on PostgreSQL both are the same pool.
type DB struct {
	Engine Engine
	// URL is the address the database was opened with (a file path for SQLite).
	URL string
	w   *sql.DB
	r   *sql.DB
	// ck is SQLite's checkpointer (see checkpoints); stop ends it.
	ck   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// Open opens the database named by url: "postgres://…" or "postgresql://…" selects PostgreSQL;
// anything else is a SQLite file path, and an empty url means siwei.db in dataDir.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return openPostgres(ctx, url)
	}
	path := strings.TrimPrefix(url, "sqlite://")
	if path == "" {
		if dataDir == "" {
			dataDir = "."
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("db: open: %w", err)
		}
		path = filepath.Join(dataDir, "siwei.db")
	}
	return openSQLite(ctx, path)
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	p, err := sqlOpen(ctx, "pgx", url, false)
	if err != nil {
		return nil, fmt.Errorf("db: open postgres: %w", err)
	}
	p.SetMaxOpenConns(32)
	p.SetMaxIdleConns(32)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("db: open postgres: %w", err)
	}
	return &DB{Engine: Postgres, URL: url, w: p, r: p}, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	// The file holds every resident's record: readable by its owner only. SQLite gives the -wal
	// and -shm files it creates beside it the database file's permissions, so creating the file
	// here, before SQLite does with 0644, covers all three.
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("db: open sqlite: %w", err)
		}
		f.Close()
	}
	// busy_timeout first so that the other pragmas wait instead of failing on a locked file.
	common := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_time_format=sqlite"
	// The writer is durable (synchronous=FULL): a posting acknowledged is a posting kept. Its
	// statement journal (the savepoint per posting of a group commit) stays in memory
	// (temp_store=MEMORY) instead of spilling to a temporary file with a write per page.
	// Its automatic checkpoint is only a backstop (64 MiB of log): checkpoints runs them from a
	// connection of its own.
	w, err := sqlOpen(ctx, "sqlite", "file:"+path+"?"+common+"&_pragma=synchronous(FULL)&_pragma=temp_store(2)&_pragma=wal_autocheckpoint(16384)&_txlock=immediate", true)
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	r, err := sqlOpen(ctx, "sqlite", "file:"+path+"?"+common+"&_pragma=query_only(1)", true)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	n := max(4, 2*runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	ck, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=synchronous(FULL)")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	d := &DB{Engine: SQLite, URL: path, w: w, r: r, ck: ck, stop: make(chan struct{}), done: make(chan struct{})}
	go d.checkpoints(checkpointEvery)
	return d, nil
}

// checkpointEvery is how often the checkpointer looks at SQLite's log.
const checkpointEvery = 100 * time.Millisecond

// checkpoints copies SQLite's write-ahead log into the database file from its own connection, in
// the background. SQLite would otherwise do it inside the commit that takes the log past its
// threshold, with a write and an fsync of the database file, and every posting queued behind
// that commit would wait for them. A passive checkpoint never blocks the writer or the readers;
// what it cannot copy yet (a reader still needs it) is copied on a later turn.
func (d *DB) checkpoints(every time.Duration) {
	defer close(d.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			// A failure (the file is busy, the disk is full) is left to the next turn, and to
			// the writer's own automatic checkpoint behind it.
			d.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Close closes both pools.
func (d *DB) Close() error {
	if d.stop != nil {
		close(d.stop)
		<-d.done
		d.ck.Close()
	}
	err := d.w.Close()
	if d.r != d.w {
		err = errors.Join(err, d.r.Close())
	}
	return err
}

// Read is the pool for queries outside a transaction.
func (d *DB) Read() *sql.DB { return d.r }

// Write is the writer pool. Prefer Tx; Write exists for single statements and for stats.
func (d *DB) Write() *sql.DB { return d.w }

// Tx runs fn in a write transaction (BEGIN IMMEDIATE on SQLite) and commits if fn returns nil.
// Keep fn short: no files or network inside.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// Analyze brings PostgreSQL's planner statistics up to date after a bulk load of tables (all of
// them when none is named): until autovacuum gets to them (a minute later, or never where it is
// off), the planner takes freshly filled tables for empty and joins them row by row. Table names
// come from the code, never from input. SQLite plans without statistics here, so it does nothing
// there.
func (d *DB) Analyze(ctx context.Context, tables ...string) error {
	if d.Engine != Postgres {
		return nil
	}
	if _, err := d.w.ExecContext(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("db: analyze: %w", err)
	}
	return nil
}

// Stats reports the pools' statistics for /metrics.
func (d *DB) Stats() (writer, reader sql.DBStats) {
	return d.w.Stats(), d.r.Stats()
}

// Now is the current time as stored: UTC, to the microsecond (PostgreSQL's precision), so a value
// written and read back compares equal on both engines.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// IDList writes ids as a SQL list of numbers for IN (…), "0" (which matches nothing) for none.
// Params writes ? on SQLite, which cannot be mixed with $N in one statement; so a statement with
// numbered arguments lists ids the service read (from grants or rows, never a person's input) inline.
func IDList(ids []int64) string {
	if len(ids) == 0 {
		return "0"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(out, ",")
}

// NullID is an id as a query argument: NULL for zero (no such reference).
func NullID(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}

// OpenReplica opens a read-only connection to a PostgreSQL streaming replica (or any server the
// readers may use), for reads that must never load the primary: the dashboard and the reports.
// Every transaction on it is read-only (default_transaction_read_only), whatever the role may do.
func OpenReplica(ctx context.Context, url string) (*sql.DB, error) {
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, fmt.Errorf("db: the read-only connection is to PostgreSQL (postgres://…)")
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	p, err := sqlOpen(ctx, "pgx", url+sep+"default_transaction_read_only=on", false)
	if err != nil {
		return nil, fmt.Errorf("db: open the read-only connection: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("db: open the read-only connection: %w", err)
	}
	return p, nil
}
