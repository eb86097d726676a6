package db

import (
	"context"
	"database/sql/driver"
)

// maxStmts bounds the statements a SQLite connection keeps prepared.
const maxStmts = 256

// stmtConn keeps a SQLite connection's statements prepared, by their text, and runs each again
// from there: SQLite's driver otherwise parses and plans every statement on every call, which was
// about 45% of the time of a demo step under the race detector. (pgx keeps PostgreSQL's statements
// prepared by itself.) A statement whose rows are still open is busy: the same text asked again
// meanwhile (a query inside a loop over its own rows) is prepared afresh, as it was before. A
// statement that fails is dropped, and the connection's statements are closed with it.
type stmtConn struct {
	wrapConn
	stmts map[string]*keptStmt
}

type keptStmt struct {
	st      driver.Stmt
	busy    bool // its rows are open
	dropped bool // out of the cache: closed when its rows close
}

func newStmtConn(c driver.Conn) *stmtConn {
	return &stmtConn{wrapConn: wrapConn{c}, stmts: map[string]*keptStmt{}}
}

// kept is q's statement, prepared now if it is not yet; nil when it is busy or cannot be kept.
func (c *stmtConn) kept(ctx context.Context, q string) (*keptStmt, error) {
	if k, ok := c.stmts[q]; ok {
		if k.busy {
			return nil, nil
		}
		return k, nil
	}
	st, err := c.wrapConn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	_, canQuery := st.(driver.StmtQueryContext)
	_, canExec := st.(driver.StmtExecContext)
	if !canQuery || !canExec {
		st.Close()
		return nil, nil
	}
	if len(c.stmts) >= maxStmts {
		for key, k := range c.stmts {
			if !k.busy {
				c.drop(key, k)
				break
			}
		}
	}
	k := &keptStmt{st: st}
	if len(c.stmts) < maxStmts {
		c.stmts[q] = k
	} else {
		k.dropped = true // every kept one is busy: this one is used once
	}
	return k, nil
}

// drop takes k out of the cache, closing it unless its rows are open.
func (c *stmtConn) drop(q string, k *keptStmt) {
	if c.stmts[q] == k {
		delete(c.stmts, q)
	}
	k.dropped = true
	if !k.busy {
		k.st.Close()
	}
}

func (c *stmtConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	k, err := c.kept(ctx, q)
	if err != nil {
		return nil, err
	}
	if k == nil {
		if qc, ok := c.Conn.(driver.QueryerContext); ok {
			return qc.QueryContext(ctx, q, args)
		}
		return nil, driver.ErrSkip
	}
	rows, err := k.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.drop(q, k)
		return nil, err
	}
	k.busy = true
	return &keptRows{Rows: rows, c: c, q: q, k: k}, nil
}

func (c *stmtConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	k, err := c.kept(ctx, q)
	if err != nil {
		return nil, err
	}
	if k == nil {
		if ec, ok := c.Conn.(driver.ExecerContext); ok {
			return ec.ExecContext(ctx, q, args)
		}
		return nil, driver.ErrSkip
	}
	res, err := k.st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil || k.dropped {
		c.drop(q, k)
	}
	return res, err
}

// Close closes the kept statements, then the connection.
func (c *stmtConn) Close() error {
	for q, k := range c.stmts {
		c.drop(q, k)
	}
	return c.Conn.Close()
}

// keptRows frees their statement for the next call when they close.
type keptRows struct {
	driver.Rows
	c      *stmtConn
	q      string
	k      *keptStmt
	closed bool
}

func (r *keptRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.k.busy = false
	if err != nil || r.k.dropped {
		r.c.drop(r.q, r.k)
	}
	return err
}
