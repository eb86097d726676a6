package bank

import (
	"context"
	"fmt"

	"siwei/internal/db"
)

// Problem is the first thing `siwei verify` found wrong in one check.
type Problem struct {
	Check  string
	Detail string
}

// VerifyReport is what Verify checked and found.
type VerifyReport struct {
	Transactions int64
	Entries      int64
	Accounts     int64
	Problems     []Problem
}

// OK reports whether nothing was found wrong.
func (r VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify audits the whole ledger: every transaction sums to zero and has two entries, every
// balance equals its entries, no resident balance is negative, and every account's entries form
// an unbroken hash chain with a running balance. It names the first broken entry of each check.
func (s *Service) Verify(ctx context.Context) (VerifyReport, error) { return s.VerifySteps(ctx, nil) }

// VerifySteps is Verify telling step the name of each check as it starts ("sum", "balance",
// "negative", "orphan", "amount", "chain"), for a command that shows how far it has got: on a
// district's ledger each check reads millions of rows.
func (s *Service) VerifySteps(ctx context.Context, step func(check string)) (VerifyReport, error) {
	if step == nil {
		step = func(string) {}
	}
	var rep VerifyReport
	r := s.DB.Read()
	for _, c := range []struct {
		dst *int64
		q   string
	}{
		{&rep.Transactions, `SELECT COUNT(*) FROM bank_transactions`},
		{&rep.Entries, `SELECT COUNT(*) FROM bank_entries`},
		{&rep.Accounts, `SELECT COUNT(*) FROM bank_accounts`},
	} {
		if err := r.QueryRowContext(ctx, c.q).Scan(c.dst); err != nil {
			return rep, fmt.Errorf("bank: verify: %w", err)
		}
	}
	checks := []struct {
		name, q string
	}{
		{"sum", `SELECT t.id, COALESCE(SUM(e.amount), 0), COUNT(e.id) FROM bank_transactions t LEFT JOIN bank_entries e ON e.transaction_id = t.id
			GROUP BY t.id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) <> 2 ORDER BY t.id LIMIT 1`},
		{"balance", `SELECT a.id, a.balance, COALESCE((SELECT SUM(e.amount) FROM bank_entries e WHERE e.account_id = a.id), 0) FROM bank_accounts a
			WHERE a.balance <> COALESCE((SELECT SUM(e.amount) FROM bank_entries e WHERE e.account_id = a.id), 0) ORDER BY a.id LIMIT 1`},
		{"negative", `SELECT id, balance, 0 FROM bank_accounts WHERE kind = 'resident' AND balance < 0 ORDER BY id LIMIT 1`},
		// On PostgreSQL no foreign key keeps an entry's transaction and account (the posting
		// statement does): an entry without either is found here.
		{"orphan", `SELECT e.id, e.transaction_id, e.account_id FROM bank_entries e
			WHERE NOT EXISTS (SELECT 1 FROM bank_transactions t WHERE t.id = e.transaction_id)
			OR NOT EXISTS (SELECT 1 FROM bank_accounts a WHERE a.id = e.account_id) ORDER BY e.id LIMIT 1`},
		{"amount", `SELECT t.id, t.amount, e.amount FROM bank_transactions t JOIN bank_entries e ON e.transaction_id = t.id
			JOIN bank_accounts a ON a.id = e.account_id AND a.kind = 'resident' WHERE e.amount <> t.amount ORDER BY t.id LIMIT 1`},
	}
	for _, c := range checks {
		step(c.name)
		var id, x, y int64
		err := r.QueryRowContext(ctx, c.q).Scan(&id, &x, &y)
		if err == nil {
			rep.Problems = append(rep.Problems, Problem{c.name, describe(c.name, id, x, y)})
		} else if !db.IsNoRows(err) {
			return rep, fmt.Errorf("bank: verify %s: %w", c.name, err)
		}
	}
	step("chain")
	if p, err := s.verifyChains(ctx); err != nil {
		return rep, err
	} else if p != nil {
		rep.Problems = append(rep.Problems, *p)
	}
	return rep, nil
}

func describe(check string, id, x, y int64) string {
	switch check {
	case "sum":
		return fmt.Sprintf("transaction %d: entries sum to %d over %d entries (want 0 over 2)", id, x, y)
	case "balance":
		return fmt.Sprintf("account %d: balance %d but its entries sum to %d", id, x, y)
	case "negative":
		return fmt.Sprintf("account %d: balance %d below zero", id, x)
	case "orphan":
		return fmt.Sprintf("entry %d: transaction %d or account %d does not exist", id, x, y)
	default:
		return fmt.Sprintf("transaction %d: amount %d but the resident's entry is %d", id, x, y)
	}
}

// verifyChains walks every account's entries in order, recomputing each hash from the one before.
func (s *Service) verifyChains(ctx context.Context) (*Problem, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT e.id, e.account_id, e.seq, e.transaction_id, e.amount, e.balance_after, e.prev_hash, e.hash, e.created_at,
		t.kind, COALESCE(t.resident_id, 0), t.rule_code, t.reason, t.approved_by, COALESCE(t.reverses_id, 0), a.kind, COALESCE(a.resident_id, 0)
		FROM bank_entries e JOIN bank_transactions t ON t.id = e.transaction_id JOIN bank_accounts a ON a.id = e.account_id
		ORDER BY e.account_id, e.seq`)
	if err != nil {
		return nil, fmt.Errorf("bank: verify chains: %w", err)
	}
	defer rows.Close()
	var account, seq, balance int64 = -1, 0, 0
	prev := ""
	for rows.Next() {
		var e entry
		var id int64
		var c Content
		var kind string
		var owner int64
		if err := rows.Scan(&id, &e.account, &e.seq, &e.tx, &e.amount, &e.balance, &e.prev, &e.hash, &e.at,
			&c.Kind, &c.ResidentID, &c.RuleCode, &c.Reason, &c.ApprovedBy, &c.ReversesID, &kind, &owner); err != nil {
			return nil, err
		}
		if e.account != account {
			account, seq, balance, prev = e.account, 0, 0, ""
		}
		seq++
		balance += e.amount
		switch {
		case e.seq != seq:
			return &Problem{"chain", fmt.Sprintf("entry %d (account %d): number %d, want %d", id, e.account, e.seq, seq)}, nil
		case e.prev != prev:
			return &Problem{"chain", fmt.Sprintf("entry %d (account %d, number %d): does not link to the entry before it", id, e.account, e.seq)}, nil
		case e.balance != balance:
			return &Problem{"chain", fmt.Sprintf("entry %d (account %d, number %d): running balance %d, want %d", id, e.account, e.seq, e.balance, balance)}, nil
		case e.sum(c, kind, owner) != e.hash:
			return &Problem{"chain", fmt.Sprintf("entry %d (account %d, number %d): hash does not match its content", id, e.account, e.seq)}, nil
		}
		prev = e.hash
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The account's head must be its last entry.
	var id int64
	err = s.DB.Read().QueryRowContext(ctx, `SELECT a.id FROM bank_accounts a WHERE a.seq <> COALESCE((SELECT MAX(e.seq) FROM bank_entries e WHERE e.account_id = a.id), 0)
		OR (a.seq > 0 AND a.head_hash <> (SELECT e.hash FROM bank_entries e WHERE e.account_id = a.id AND e.seq = a.seq)) ORDER BY a.id LIMIT 1`).Scan(&id)
	if err == nil {
		return &Problem{"chain", fmt.Sprintf("account %d: its head does not match its last entry", id)}, nil
	}
	if !db.IsNoRows(err) {
		return nil, err
	}
	return nil, nil
}
