package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// Counter counts the statements and transactions a database opened with WithCounter runs, so that
// a benchmark can report what an operation costs in round trips as well as in time. A database
// opened without one goes straight to the driver: the count costs nothing when it is off.
type Counter struct {
	Queries atomic.Int64 // statements that return rows (reads, and writes with RETURNING)
	Execs   atomic.Int64 // statements that return none
	Txs     atomic.Int64 // transactions begun
}

// Reset sets the counts to zero.
func (c *Counter) Reset() { c.Queries.Store(0); c.Execs.Store(0); c.Txs.Store(0) }

type counterKey struct{}

// WithCounter returns a context that makes Open count into c.
func WithCounter(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// sqlOpen is sql.Open, through a connector that keeps each connection's statements prepared
// (stmtConn) when keep is set, and counts them when ctx carries a Counter.
func sqlOpen(ctx context.Context, name, dsn string, keep bool) (*sql.DB, error) {
	c, _ := ctx.Value(counterKey{}).(*Counter)
	if c == nil && !keep {
		return sql.Open(name, dsn)
	}
	probe, err := sql.Open(name, dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	return sql.OpenDB(countConnector{drv, dsn, c, keep}), nil
}

type countConnector struct {
	drv  driver.Driver
	dsn  string
	c    *Counter
	keep bool
}

func (k countConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := k.drv.Open(k.dsn)
	if err != nil {
		return nil, err
	}
	if k.keep {
		conn = newStmtConn(conn)
	}
	if k.c == nil {
		return conn, nil
	}
	return &countConn{wrapConn{conn}, k.c}, nil
}

func (k countConnector) Driver() driver.Driver { return k.drv }

// errNoContexts refuses a driver without the context methods; both of siwei's drivers have them.
var errNoContexts = errors.New("db: the connection wrappers need a driver with context methods")

// wrapConn passes a driver connection's optional methods on to it: the wrappers below (countConn,
// stmtConn) embed it and change only what they are for.
type wrapConn struct{ driver.Conn }

func (w wrapConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := w.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return nil, errNoContexts
}

func (w wrapConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if p, ok := w.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, q)
	}
	return w.Conn.Prepare(q)
}

func (w wrapConn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := w.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (w wrapConn) ResetSession(ctx context.Context) error {
	if r, ok := w.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (w wrapConn) IsValid() bool {
	if v, ok := w.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (w wrapConn) Ping(ctx context.Context) error {
	if p, ok := w.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// countConn passes every call to the driver's connection, counting statements and transactions.
type countConn struct {
	wrapConn
	c *Counter
}

func (cc *countConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	cc.c.Txs.Add(1)
	return cc.wrapConn.BeginTx(ctx, opts)
}

func (cc *countConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := cc.wrapConn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countStmt{st, cc.c}, nil
}

func (cc *countConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cc.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	cc.c.Execs.Add(1)
	return e.ExecContext(ctx, q, args)
}

func (cc *countConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	r, ok := cc.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	cc.c.Queries.Add(1)
	return r.QueryContext(ctx, q, args)
}

// countStmt counts the runs of a prepared statement.
type countStmt struct {
	driver.Stmt
	c *Counter
}

func (cs *countStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	cs.c.Execs.Add(1)
	if e, ok := cs.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errNoContexts
}

func (cs *countStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	cs.c.Queries.Add(1)
	if q, ok := cs.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errNoContexts
}

func (cs *countStmt) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := cs.Stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}
