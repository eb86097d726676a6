package bank

import (
	"context"
	"database/sql"
)

// prepare readies a posting's statements on the SQLite writer, before any transaction holds it.
func (s *Service) prepare() {
	if !s.DB.SingleWriter() {
		return
	}
	for _, q := range []string{qLock, qTransaction, qHeads2, qEntries2, qEarning} {
		if st, err := s.DB.Write().Prepare(q); err == nil {
			s.stmts.Store(q, st)
		}
	}
}

// readStmt returns a read query prepared on the reader pool (database/sql prepares it once per
// connection), or the plain query if it cannot be prepared.
func (s *Service) readStmt(ctx context.Context, q string) interface {
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
} {
	if st, ok := s.stmts.Load("read:" + q); ok {
		return st.(*sql.Stmt)
	}
	st, err := s.DB.Read().PrepareContext(ctx, q)
	if err != nil {
		return readQuery{s.DB.Read(), q}
	}
	if prev, loaded := s.stmts.LoadOrStore("read:"+q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

type readQuery struct {
	db *sql.DB
	q  string
}

func (r readQuery) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, r.q, args...)
}

// stmt returns q prepared for tx when it is one of the posting's statements prepared on the SQLite
// writer (which saves parsing each one on every posting; pgx caches its own), else q as is. It
// never prepares: the group transaction holds the only writer connection.
func (s *Service) stmt(ctx context.Context, tx *sql.Tx, q string) interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
} {
	if st, ok := s.stmts.Load(q); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	return txQuery{tx, q}
}

// txQuery runs one query on a transaction with the same methods as a prepared statement.
type txQuery struct {
	tx *sql.Tx
	q  string
}

func (t txQuery) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.q, args...)
}
func (t txQuery) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.q, args...)
}
func (t txQuery) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.q, args...)
}
