package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Group runs many small write transactions. On SQLite one goroutine collects the calls that are
// waiting and runs them in one transaction, each inside its own savepoint, so that a refusal rolls
// back only its own work and all of them share one durable commit (one fsync). On PostgreSQL each
// call is its own transaction, retried on serialization failures and deadlocks.
type Group struct {
	d     *DB
	queue chan *groupCall
	once  sync.Once
	// MaxBatch bounds how many calls share one commit.
	MaxBatch int
}

type groupCall struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
}

// NewGroup returns a group committer on d.
func NewGroup(d *DB) *Group {
	return &Group{d: d, queue: make(chan *groupCall, 4096), MaxBatch: 512}
}

// Do runs fn in a write transaction shared with other callers and returns fn's error, or the
// commit's. fn must do all its work on tx and nothing slow.
func (g *Group) Do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if g.d.Engine != SQLite {
		return g.doPostgres(ctx, fn)
	}
	g.once.Do(func() { go g.loop() })
	c := &groupCall{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.queue <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the call runs to its end even if the caller gives up, so that a 2xx never
	// hides work that was rolled back, nor the reverse.
	return <-c.done
}

// Alone runs fn outside any transaction on PostgreSQL, where one statement is a transaction of
// its own and needs no BEGIN and COMMIT round trips. fn must run exactly one statement, which
// must write all or nothing; it is retried on serialization failures and deadlocks, as Do is.
func (g *Group) Alone(ctx context.Context, fn func(q Querier) error) error {
	if g.d.Engine != Postgres {
		return errors.New("db: Alone is for PostgreSQL; use Do")
	}
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = fn(g.d.w); !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return err
}

func (g *Group) doPostgres(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = g.d.Tx(ctx, fn)
		if !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return err
}

// Batch runs fns in shared transactions, each in its own savepoint, and returns each one's error:
// a refusal rolls back only its own work. On SQLite the calls join the writer's batches; on
// PostgreSQL they run in one transaction, retried whole on a deadlock or serialization failure.
// On PostgreSQL the fns may run more than once: they must keep their results only in what they
// return and in tx.
// The error return is for the transaction itself.
func (g *Group) Batch(ctx context.Context, fns []func(tx *sql.Tx) error) ([]error, error) {
	results := make([]error, len(fns))
	if g.d.Engine == SQLite {
		var wg sync.WaitGroup
		for i, fn := range fns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = g.Do(ctx, fn)
			}()
		}
		wg.Wait()
		return results, nil
	}
	// The first run is optimistic: no savepoints, which would cost two round trips a call. If a
	// call fails, that run is rolled back whole and the batch runs again with a savepoint per call,
	// so a refusal still undoes only its own work.
	savepoints := false
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = g.d.Tx(ctx, func(tx *sql.Tx) error {
			for i, fn := range fns {
				if savepoints {
					if _, err := tx.ExecContext(ctx, "SAVEPOINT g"); err != nil {
						return err
					}
				}
				results[i] = fn(tx)
				if results[i] != nil {
					if retryable(results[i]) {
						return results[i] // a deadlock aborts the whole transaction: run it again
					}
					if !savepoints {
						return errRefused
					}
					if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT g"); err != nil {
						return err
					}
				}
				if savepoints {
					if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT g"); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if errors.Is(err, errRefused) {
			savepoints = true
			continue
		}
		if !retryable(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return results, err
}

// errRefused ends an optimistic batch run in which a call failed: the batch runs again with
// savepoints.
var errRefused = errors.New("db: a call of the batch failed: run again with savepoints")

// retryable reports whether a PostgreSQL error means "run the transaction again".
func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

func (g *Group) loop() {
	for first := range g.queue {
		batch := []*groupCall{first}
	collect:
		for len(batch) < g.MaxBatch {
			select {
			case c := <-g.queue:
				batch = append(batch, c)
			default:
				break collect
			}
		}
		g.run(batch)
	}
}

// run executes a batch in one transaction. A call's error rolls back to its savepoint; if the
// commit itself fails, every call of the batch gets that error.
func (g *Group) run(batch []*groupCall) {
	ctx := context.Background()
	results := make([]error, len(batch))
	tx, err := g.d.w.BeginTx(ctx, nil)
	if err != nil {
		for _, c := range batch {
			c.done <- fmt.Errorf("db: group begin: %w", err)
		}
		return
	}
	// The three savepoint statements are parsed once a batch, not once a call.
	var sp [3]*sql.Stmt
	for i, q := range []string{"SAVEPOINT g", "ROLLBACK TO SAVEPOINT g", "RELEASE SAVEPOINT g"} {
		if sp[i], err = tx.PrepareContext(ctx, q); err != nil {
			g.abort(tx, batch, fmt.Errorf("db: group prepare: %w", err))
			return
		}
		defer sp[i].Close()
	}
	for i, c := range batch {
		if _, err := sp[0].ExecContext(ctx); err != nil {
			g.abort(tx, batch, fmt.Errorf("db: group savepoint: %w", err))
			return
		}
		err := c.fn(tx)
		if err != nil {
			if _, rerr := sp[1].ExecContext(ctx); rerr != nil {
				// The transaction itself is gone (SQLite rolls back everything on some errors):
				// nothing of this batch is stored, and every call must hear so.
				g.abort(tx, batch, fmt.Errorf("db: group rollback: %w", errors.Join(err, rerr)))
				return
			}
		}
		if _, rerr := sp[2].ExecContext(ctx); rerr != nil {
			g.abort(tx, batch, fmt.Errorf("db: group release: %w", rerr))
			return
		}
		results[i] = err
	}
	if err := tx.Commit(); err != nil {
		for _, c := range batch {
			c.done <- fmt.Errorf("db: group commit: %w", err)
		}
		return
	}
	for i, c := range batch {
		c.done <- results[i]
	}
}

// abort rolls back a batch whose transaction failed and gives every call the error.
func (g *Group) abort(tx *sql.Tx, batch []*groupCall, err error) {
	tx.Rollback()
	for _, c := range batch {
		c.done <- err
	}
}

// ForUpdate is the row-lock clause for a SELECT that precedes an update of the same rows: needed on
// PostgreSQL, where writers run concurrently; empty on SQLite, where the writer is alone.
func (d *DB) ForUpdate() string {
	if d.Engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}
