package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"siwei/internal/db"
	"siwei/internal/errs"
)

// accountOf returns a resident's account id (cached: accounts are never deleted). Inside a posting
// q must be the posting's transaction: taking a second connection from the pool while holding one
// can exhaust the pool under load.
func (s *Service) accountOf(ctx context.Context, q db.Querier, residentID int64) (int64, error) {
	if id, ok := s.accounts.Load(residentID); ok {
		return id.(int64), nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM bank_accounts WHERE resident_id = $1`, residentID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, errNoAccount
	}
	if err != nil {
		return 0, err
	}
	// Only ids read outside a posting are cached: inside one, the row may be from a batch that
	// has not committed yet and may still roll back.
	if _, inTx := q.(*sql.Tx); !inTx {
		s.accounts.Store(residentID, id)
	}
	return id, nil
}

// errNoAccount means the resident has no account yet: the posting opens it (openAccount).
var errNoAccount = errors.New("bank: resident has no account yet")

// openAccount opens a resident's account inside the posting's transaction. ON CONFLICT DO NOTHING
// never raises, so a concurrent opener does not abort the transaction on PostgreSQL; the id is
// cached by accountOf once the transaction has committed.
func (s *Service) openAccount(ctx context.Context, tx *sql.Tx, townID, residentID int64) (int64, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO bank_accounts (kind, town_id, village_id, resident_id, created_at)
		SELECT 'resident', town_id, village_id, id, $1 FROM residents WHERE id = $2 AND town_id = $3
		ON CONFLICT (resident_id) DO NOTHING`, s.Now(), residentID, townID); err != nil {
		return 0, fmt.Errorf("bank: open account: %w", err)
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM bank_accounts WHERE resident_id = $1`, residentID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, errs.New(errs.NotFound, "bank.resident_unknown")
	}
	return id, err
}

// issuingAccount picks the town's issuing sub-account for a resident (ids cached by ensureTown).
func (s *Service) issuingAccount(ctx context.Context, townID, residentID int64) (int64, error) {
	ids, ok := s.issuing.Load(townID)
	if !ok {
		return 0, fmt.Errorf("bank: town %d has no issuing account: call ensureTown first", townID)
	}
	return ids.([]int64)[residentID%IssuingShards], nil
}

// ensureTown opens the town's issuing sub-accounts and its villages' shop accounts, once, in their
// own transaction (so that a concurrent opener's unique violation does not fail a posting).
func (s *Service) ensureTown(ctx context.Context, townID int64) error {
	if _, ok := s.ready.Load(townID); ok {
		return nil
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bank_accounts WHERE kind = 'issuing' AND town_id = $1`, townID).Scan(&have); err != nil {
			return err
		}
		for shard := have; shard < IssuingShards; shard++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO bank_accounts (kind, town_id, shard, created_at) VALUES ('issuing', $1, $2, $3)`, townID, shard, now); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO bank_accounts (kind, town_id, village_id, created_at)
			SELECT 'shop', v.town_id, v.id, $1 FROM villages v WHERE v.town_id = $2
			AND NOT EXISTS (SELECT 1 FROM bank_accounts a WHERE a.kind = 'shop' AND a.village_id = v.id)`, now, townID)
		return err
	})
	if err != nil && !db.IsUnique(err) {
		return fmt.Errorf("bank: open town accounts: %w", err)
	}
	ids := make([]int64, IssuingShards)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT shard, id FROM bank_accounts WHERE kind = 'issuing' AND town_id = $1`, townID)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var shard, id int64
		if err := rows.Scan(&shard, &id); err != nil {
			return err
		}
		if shard >= 0 && shard < IssuingShards {
			ids[shard] = id
			n++
		}
	}
	if n != IssuingShards {
		return fmt.Errorf("bank: town %d has %d issuing sub-accounts, want %d", townID, n, IssuingShards)
	}
	s.issuing.Store(townID, ids)
	s.ready.Store(townID, true)
	return rows.Err()
}

// shopAccount returns a village's shop account.
func (s *Service) shopAccount(ctx context.Context, q db.Querier, villageID int64) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM bank_accounts WHERE kind = 'shop' AND village_id = $1`, villageID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, fmt.Errorf("bank: village %d has no shop account", villageID)
	}
	return id, err
}
