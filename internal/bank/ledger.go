// Package bank is the 文明银行 (civilization bank), the hub of the model: a double-entry ledger of
// integer points with idempotent postings and a hash chain per account, the rules (积分细则) per
// member class, awards, the shop (积分超市), statements (善行簿) and rankings. Other pillars pay into
// it only through Earn, under a permission of their own (auth.AllowPay), with an idempotency key that names the event in the pillar's namespace.
package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"siwei/internal/clock"
	"strings"
	"sync"
	"time"

	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
)

// IssuingShards is how many sub-accounts a town's issuing account is spread over, so that
// concurrent awards on PostgreSQL do not all wait for one row.
const IssuingShards = 16

// Service is the bank: the only code that writes the ledger.
type Service struct {
	DB     *db.DB
	People *people.Service
	// Notify tells residents the outcomes that concern them (a claim approved, an order handed
	// over); nil in tests of the ledger alone.
	Notify   *notify.Service
	Now      func() time.Time
	group    *db.Group
	ready    sync.Map // town id → system accounts exist
	issuing  sync.Map // town id → []int64 issuing sub-account ids by shard
	accounts sync.Map // resident id → account id
	cache    sync.Map // small read caches: towns, rules in force
	boards   boards   // ranking boards lately computed
}

// NewService returns the bank on d.
func NewService(d *db.DB, ps *people.Service) *Service {
	return &Service{DB: d, People: ps, Now: db.Now, group: db.NewGroup(d), boards: newBoards()}
}

// write runs fn, which posts t, in a group transaction; a lost race on t's key is answered with
// the winner's result.
//
// fn gets a context that the caller's cancellation does not reach: once queued, a posting runs to
// its end (an interrupted statement would roll back a whole SQLite batch, not just its savepoint).
func (s *Service) write(ctx context.Context, t Transfer, fn func(ctx context.Context, tx *sql.Tx) (Posted, error)) (Posted, error) {
	var p Posted
	if err := s.ensureTown(ctx, t.TownID); err != nil {
		return p, err
	}
	s.accountOf(ctx, s.DB.Read(), t.ResidentID) // warms the cache from committed rows only
	detached := context.WithoutCancel(ctx)
	err := s.group.Do(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = fn(detached, tx)
		return err
	})
	return s.settle(ctx, t, p, err)
}

// settle finishes a posting once its transaction has ended: the town's ranking boards are
// cleared if it earned, and a lost race on its key is answered with the winner's result.
func (s *Service) settle(ctx context.Context, t Transfer, p Posted, err error) (Posted, error) {
	if t.Earned != 0 {
		s.earned(t.TownID)
	}
	if errors.Is(err, errKeyRace) {
		var found bool
		if p, found, err = s.replay(ctx, s.DB.Read(), t); err == nil && !found {
			err = errKeyRace
		}
	}
	return p, err
}

// post is the one function that writes the ledger. Inside tx it locks the resident's account and
// the counter account (in id order, in one statement), records the transaction under its key (a
// key already used returns the first result), runs the Guard, then moves both balances, refusing
// a resident balance below zero, appends an entry to each account's hash chain, and keeps the
// earnings row that rankings read. The statements are few on purpose: on PostgreSQL each is a
// round trip, on SQLite each runs inside the one writer.
func (s *Service) post(ctx context.Context, tx *sql.Tx, t Transfer) (Posted, error) {
	if t.Amount == 0 {
		return Posted{}, errs.New(errs.Invalid, "bank.amount_zero")
	}
	resAcct, err := s.accountOf(ctx, tx, t.ResidentID)
	if errors.Is(err, errNoAccount) {
		resAcct, err = s.openAccount(ctx, tx, t.TownID, t.ResidentID)
	}
	if err != nil {
		return Posted{}, err
	}
	counter := t.Counter
	if counter == 0 {
		if counter, err = s.issuingAccount(ctx, t.TownID, t.ResidentID); err != nil {
			return Posted{}, err
		}
	}
	if s.DB.WritesInWith() && t.Guard == nil {
		return s.postStatement(ctx, tx, t, resAcct, counter)
	}
	accts := map[int64]*head{}
	rows, err := tx.QueryContext(ctx, qLock+s.DB.ForUpdate(), resAcct, counter)
	if err != nil {
		return Posted{}, fmt.Errorf("bank: lock: %w", err)
	}
	for rows.Next() {
		a, err := scanHead(rows)
		if err != nil {
			rows.Close()
			return Posted{}, err
		}
		accts[a.id] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Posted{}, err
	}
	r, c := accts[resAcct], accts[counter]
	if r == nil || c == nil || resAcct == counter {
		return Posted{}, fmt.Errorf("bank: post: accounts %d and %d not found", resAcct, counter)
	}
	now := s.Now()
	var txID int64
	err = tx.QueryRowContext(ctx, qTransaction, t.txRow(now)...).Scan(&txID)
	if db.IsUnique(err) {
		if s.DB.ErrorAbortsTx() {
			return Posted{}, errKeyRace // the transaction is aborted: write() answers from outside
		}
		p, found, err := s.replay(ctx, tx, t)
		switch {
		case err != nil:
			return p, err
		case !found && t.ReversesID != 0:
			return Posted{}, errs.New(errs.Conflict, "bank.already_reversed")
		case !found:
			return Posted{}, errKeyRace
		}
		return p, nil
	}
	if err != nil {
		return Posted{}, fmt.Errorf("bank: post: %w", err)
	}
	if t.Guard != nil {
		if err := t.Guard(ctx, tx); err != nil {
			return Posted{}, err
		}
	}
	if r.kind != "resident" || r.owner != t.ResidentID {
		return Posted{}, fmt.Errorf("bank: post: account %d is not resident %d's", resAcct, t.ResidentID)
	}
	legs := t.legs(txID, now, r, c)
	if r.balance < 0 {
		return Posted{}, errs.New(errs.Conflict, "bank.insufficient")
	}
	r.earned = t.Earned
	if _, err := tx.ExecContext(ctx, qHeads2, append(r.values(), c.values()...)...); err != nil {
		return Posted{}, fmt.Errorf("bank: balances: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qEntries2, append(legs[0].row(), legs[1].row()...)...); err != nil {
		return Posted{}, fmt.Errorf("bank: entries: %w", err)
	}
	if t.Earned != 0 {
		if _, err := tx.ExecContext(ctx, qEarning, t.earningRow()...); err != nil {
			return Posted{}, fmt.Errorf("bank: earnings: %w", err)
		}
	}
	return Posted{TransactionID: txID, Balance: r.balance}, nil
}

// postStatement is post on PostgreSQL for a transfer without a Guard: the whole posting is one
// statement, so one round trip. It locks both accounts (in id order) and, when both are the
// accounts post expects, inserts the transaction (a key already used fails here, as in post);
// then, only if the resident's balance stays at or above zero, it moves both balances, appends
// both entries with their chain hashes (computed by PostgreSQL's sha256 over the same hashText
// as entry.sum) and keeps the earnings row. A refusal returns an error, so the caller rolls the
// transaction row back. The values come from the locked rows, which READ COMMITTED gives in their
// latest committed version.
func (s *Service) postStatement(ctx context.Context, tx db.Querier, t Transfer, resAcct, counter int64) (Posted, error) {
	now := s.Now()
	args := append(t.txRow(now), resAcct, counter, hashTime(now), t.content().common(), t.Earned, t.VillageID, t.HouseholdID)
	rows, err := tx.QueryContext(ctx, qPostPG, args...)
	if db.IsUnique(err) {
		return Posted{}, errKeyRace // the transaction is aborted: write() answers from outside
	}
	if err != nil {
		return Posted{}, fmt.Errorf("bank: post: %w", err)
	}
	type acct struct {
		balance, owner, inserted, txID, after int64
		kind                                  string
	}
	accts := map[int64]acct{}
	for rows.Next() {
		var id int64
		var a acct
		if err := rows.Scan(&id, &a.balance, &a.kind, &a.owner, &a.inserted, &a.txID, &a.after); err != nil {
			rows.Close()
			return Posted{}, err
		}
		accts[id] = a
	}
	rows.Close()
	if err := rows.Err(); db.IsUnique(err) {
		return Posted{}, errKeyRace
	} else if err != nil {
		return Posted{}, fmt.Errorf("bank: post: %w", err)
	}
	r, rok := accts[resAcct]
	c, cok := accts[counter]
	switch {
	case !rok || !cok || resAcct == counter:
		return Posted{}, fmt.Errorf("bank: post: accounts %d and %d not found", resAcct, counter)
	case r.kind != "resident" || r.owner != t.ResidentID:
		return Posted{}, fmt.Errorf("bank: post: account %d is not resident %d's", resAcct, t.ResidentID)
	case r.inserted != 0 && r.txID == 0 && r.balance+t.Amount < 0:
		// The transaction row is written but nothing else: the caller's rollback removes it.
		return Posted{}, errs.New(errs.Conflict, "bank.insufficient")
	case r.txID == 0 || c.txID != r.txID:
		return Posted{}, fmt.Errorf("bank: post: transaction %q not written", t.Key)
	}
	return Posted{TransactionID: r.txID, Balance: r.after}, nil
}

// postAlone posts a transfer that draws points (Amount > 0) without a Guard on PostgreSQL as the
// one statement of postStatement outside any transaction: one round trip instead of three. Its
// statement writes all or nothing, since only a resident's balance going below zero could stop it
// after the transaction row, and drawing points cannot. ok is false when the transfer must go
// through write instead (another engine, a guard, a debit, or a resident with no account yet:
// opening one takes a transaction).
func (s *Service) postAlone(ctx context.Context, t Transfer) (p Posted, ok bool, err error) {
	if !s.DB.WritesInWith() || t.Guard != nil || t.Amount <= 0 {
		return p, false, nil
	}
	if err := s.ensureTown(ctx, t.TownID); err != nil {
		return p, true, err
	}
	resAcct, err := s.accountOf(ctx, s.DB.Read(), t.ResidentID)
	if errors.Is(err, errNoAccount) {
		return p, false, nil
	}
	if err != nil {
		return p, true, err
	}
	counter := t.Counter
	if counter == 0 {
		if counter, err = s.issuingAccount(ctx, t.TownID, t.ResidentID); err != nil {
			return p, true, err
		}
	}
	detached := context.WithoutCancel(ctx)
	err = s.group.Alone(detached, func(q db.Querier) error {
		var err error
		p, err = s.postStatement(detached, q, t, resAcct, counter)
		return err
	})
	p, err = s.settle(ctx, t, p, err)
	return p, true, err
}

// qPostPG is a whole posting in one PostgreSQL statement (postStatement), rendered from the
// posting format: the transaction row is txRow's values ($1–$16, cast to txColumns' types), the
// entries are entryValues of SQL expressions, the resident's first as in legs, with hashes of
// hashText.sql, the accounts move by headUpdate and the earnings row is earningSelect's. Then $17
// is the resident's account, $18 the counter account, $19 the time as hashed (hashTime), $20 the
// content (Content.common), $21 what the resident earned, $22 and $23 the village and household.
var qPostPG = `WITH l AS (` + headSelect + `
		WHERE id IN (CAST($17 AS BIGINT), CAST($18 AS BIGINT)) ORDER BY id FOR UPDATE),
	d (id, amount, earned) AS (VALUES (CAST($17 AS BIGINT), CAST($8 AS BIGINT), CAST($21 AS BIGINT)),
		(CAST($18 AS BIGINT), -CAST($8 AS BIGINT), CAST(0 AS BIGINT))),
	ok AS (SELECT COUNT(*) = 2 AS ok FROM l
		WHERE CAST($17 AS BIGINT) <> CAST($18 AS BIGINT) AND (l.id <> CAST($17 AS BIGINT) OR (l.kind = 'resident' AND l.owner = CAST($5 AS BIGINT)))),
	t AS (INSERT INTO bank_transactions (` + names(txColumns) + `)
		SELECT ` + casts(txColumns, 1) + ` FROM ok WHERE ok.ok RETURNING id),
	n AS (SELECT l.id, t.id AS tx, d.amount, d.earned, l.seq + 1 AS seq, l.balance + d.amount AS balance, l.head_hash AS prev, ` +
	hashText{prev: "l.head_hash", account: "l.id", seq: "(l.seq + 1)", tx: "t.id", amount: "d.amount", balance: "(l.balance + d.amount)",
		at: "CAST($19 AS BIGINT)", content: "CAST($20 AS TEXT)", accountKind: "l.kind", owner: "l.owner"}.sql() + ` AS hash
		FROM l JOIN d USING (id) CROSS JOIN t
		WHERE NOT EXISTS (SELECT 1 FROM l JOIN d USING (id) WHERE l.id = CAST($17 AS BIGINT) AND l.balance + d.amount < 0)),
	u AS (` + headUpdate("n") + `),
	e AS (INSERT INTO bank_entries (` + names(entryColumns) + `)
		SELECT ` + strings.Join(entryValues("n.tx", "n.id", "n.seq", "n.amount", "n.balance", "n.prev", "n.hash", "CAST($16 AS TIMESTAMPTZ)"), ", ") + `
		FROM n ORDER BY n.id <> CAST($17 AS BIGINT)),
	g AS (INSERT INTO bank_earnings (` + earningColumns + `) ` + earningSelect("CAST($5 AS BIGINT)", "$15", "$1", "$22", "$23", "$21") + `
		AND CAST($21 AS BIGINT) <> 0 AND EXISTS (SELECT 1 FROM n WHERE n.id = CAST($17 AS BIGINT)) ` + earningMerge + `)
	SELECT l.id, l.balance, l.kind, l.owner, COALESCE((SELECT id FROM t), 0), COALESCE(n.tx, 0), COALESCE(n.balance, 0) FROM l LEFT JOIN n USING (id)`

// qTarget is read before every award (not inside a posting).
const qTarget = `SELECT r.id, r.town_id, r.village_id, r.household_id, r.name, r.birth_date, r.party_member, r.status,
		(SELECT COUNT(*) FROM bank_claims WHERE idem_key = $2), (SELECT COUNT(*) FROM bank_transactions WHERE idem_key = $2)
		FROM residents r WHERE r.id = $1`

// Period is the town-calendar month of t, YYYY-MM.
func Period(t time.Time, loc *time.Location) string { return t.In(loc).Format(clock.MonthLayout) }

// postMany posts many awards at once, each with its own key, all drawn on one issuing
// sub-account: the bulk award's path. It keeps post's invariants with a few statements for the
// whole chunk instead of a few per award: it opens the accounts that are missing, locks the
// chunk's accounts in id order, inserts the transactions (a key already used is skipped, and its
// result is errKeyRace: the caller answers it as a replay once the chunk has committed), then moves
// the balances, appends the entries with their chains in order and keeps the earnings rows. The
// transfers must carry no Guard, draw points (Amount > 0) and name their village and household;
// none of them can be refused inside, so the chunk needs no savepoint per award: an error fails
// the chunk whole.
func (s *Service) postMany(ctx context.Context, tx *sql.Tx, townID, counter int64, ts []*Transfer) ([]Posted, []error, error) {
	posted, results := make([]Posted, len(ts)), make([]error, len(ts))
	if len(ts) == 0 {
		return posted, results, nil
	}
	for _, t := range ts {
		if t.Guard != nil || t.Amount <= 0 || t.TownID != townID || t.Counter != 0 || t.VillageID == 0 || t.HouseholdID == 0 {
			return nil, nil, fmt.Errorf("bank: post many: transfer %q cannot be posted in a chunk", t.Key)
		}
	}
	byResident := map[int64]*head{}
	var shard *head
	lock := func(residents []int64) error {
		p := s.DB.Params()
		q := headSelect + ` WHERE id = ` + p.Add(counter) +
			` OR resident_id IN (` + p.List(residents) + `) ORDER BY id` + s.DB.ForUpdate()
		rows, err := tx.QueryContext(ctx, q, p.Args...)
		if err != nil {
			return fmt.Errorf("bank: lock: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanHead(rows)
			if err != nil {
				return err
			}
			switch {
			case a.id == counter:
				shard = a
			case a.kind == "resident":
				byResident[a.owner] = a
			}
		}
		return rows.Err()
	}
	residents := make([]int64, 0, len(ts))
	seen := map[int64]bool{}
	for _, t := range ts {
		if !seen[t.ResidentID] {
			seen[t.ResidentID] = true
			residents = append(residents, t.ResidentID)
		}
	}
	if err := lock(residents); err != nil {
		return nil, nil, err
	}
	var missing []int64
	for _, id := range residents {
		if byResident[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		p := s.DB.Params()
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_accounts (kind, town_id, village_id, resident_id, created_at)
			SELECT 'resident', town_id, village_id, id, `+p.Add(s.Now())+` FROM residents WHERE town_id = `+p.Add(townID)+` AND id IN (`+p.List(missing)+`)
			ON CONFLICT (resident_id) DO NOTHING`, p.Args...); err != nil {
			return nil, nil, fmt.Errorf("bank: open accounts: %w", err)
		}
		if err := lock(missing); err != nil {
			return nil, nil, err
		}
	}
	if shard == nil || shard.kind != "issuing" {
		return nil, nil, fmt.Errorf("bank: post many: account %d is not an issuing account", counter)
	}
	for _, id := range residents {
		if byResident[id] == nil {
			return nil, nil, errs.New(errs.NotFound, "bank.resident_unknown")
		}
	}

	// The transactions; a key taken before (or twice in the chunk) inserts nothing.
	now := s.Now()
	p := s.DB.Params()
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Row(t.txRow(now)...))
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO bank_transactions (`+names(txColumns)+`) VALUES `+b.String()+`
		ON CONFLICT (idem_key) DO NOTHING RETURNING id, idem_key`, p.Args...)
	if err != nil {
		return nil, nil, fmt.Errorf("bank: post many: %w", err)
	}
	ids := map[string]int64{}
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return nil, nil, err
		}
		ids[key] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("bank: post many: %w", err)
	}

	// Balances and chains, in the chunk's order; then one statement each for the accounts, the
	// entries and the earnings.
	var entries, earnings strings.Builder
	entryArgs, earnArgs := s.DB.Params(), s.DB.Params()
	touched := []*head{shard}
	for i, t := range ts {
		txID, ok := ids[t.Key]
		if !ok {
			results[i] = errKeyRace
			continue
		}
		delete(ids, t.Key) // a second transfer with the same key is a replay of the first
		r := byResident[t.ResidentID]
		for _, e := range t.legs(txID, now, r, shard) {
			if entries.Len() > 0 {
				entries.WriteString(", ")
			}
			entries.WriteString(entryArgs.Row(e.row()...))
		}
		touched = append(touched, r)
		r.earned += t.Earned
		if t.Earned != 0 {
			if earnings.Len() > 0 {
				earnings.WriteString(", ")
			}
			earnings.WriteString(earnArgs.Row(t.earningRow()...))
		}
		posted[i] = Posted{TransactionID: txID, Balance: r.balance}
	}
	if len(touched) == 1 {
		return posted, results, nil // every key was taken: nothing to move
	}
	acctArgs := s.DB.Params()
	if _, err := tx.ExecContext(ctx, headsSQL(acctArgs, touched), acctArgs.Args...); err != nil {
		return nil, nil, fmt.Errorf("bank: balances: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bank_entries (`+names(entryColumns)+`) VALUES `+entries.String(), entryArgs.Args...); err != nil {
		return nil, nil, fmt.Errorf("bank: entries: %w", err)
	}
	if len(earnArgs.Args) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_earnings (`+earningColumns+`) VALUES `+earnings.String()+` `+earningMerge, earnArgs.Args...); err != nil {
			return nil, nil, fmt.Errorf("bank: earnings: %w", err)
		}
	}
	return posted, results, nil
}
