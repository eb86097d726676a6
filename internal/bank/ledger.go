// Package bank is the 文明银行 (civilization bank), the hub of the model: a double-entry ledger of
// integer points with idempotent postings and a hash chain per account, the rules (积分细则) per
// member class, awards, the shop (积分超市), statements (善行簿) and rankings. Other pillars pay into
// it only through Award, with an idempotency key that names the event.
package bank

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// IssuingShards is how many sub-accounts a town's issuing account is spread over, so that
// concurrent awards on PostgreSQL do not all wait for one row.
const IssuingShards = 16

// Service is the bank: the only code that writes the ledger.
type Service struct {
	DB     *db.DB
	People *people.Service
	Now    func() time.Time
	group  *db.Group
	ready  sync.Map // town id → system accounts exist
}

// NewService returns the bank on d.
func NewService(d *db.DB, ps *people.Service) *Service {
	return &Service{DB: d, People: ps, Now: db.Now, group: db.NewGroup(d)}
}

// Transfer is one ledger transaction as the bank's operations describe it: a resident's points go
// up (Amount > 0, drawn on the town's issuing account or refunded from the shop) or down (paid to
// the village shop, or reversed back to issuing).
type Transfer struct {
	TownID     int64
	Kind       string // award, claim, redeem, refund, reversal
	Key        string // idempotency key naming the event
	ResidentID int64
	RuleID     int64
	RuleCode   string
	Amount     int64
	Counter    int64 // the other account; 0 means the town's issuing account
	Reason     string
	ReversesID int64
	Actor      *auth.Actor
	ApprovedBy string
	// Earned is what counts towards rankings in Period (awards: Amount; reversals of awards: −Amount).
	Earned int64
	Period string // the town-calendar month the earning counts in, YYYY-MM
	// Extra goes into the request hash: fields of the request that are not in the transfer.
	Extra string
	// Guard runs after the resident's account is locked and before anything is written: the place
	// for checks that concurrent postings must not both pass (caps, limits, stock).
	Guard func(ctx context.Context, tx *sql.Tx) error
}

// Posted is the result of a posting: the transaction and the resident's balance after it. A
// replayed key returns the first result with Replayed set.
type Posted struct {
	TransactionID int64 `json:"transaction_id"`
	Balance       int64 `json:"balance"`
	Replayed      bool  `json:"replayed"`
}

func (t Transfer) digest() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d|%d|%d|%s|%d|%s", t.Kind, t.ResidentID, t.RuleID, t.Amount, t.Counter, t.Reason, t.ReversesID, t.Extra)))
	return hex.EncodeToString(h[:16])
}

// replay returns the first result for a key already used, or ok=false. The same key with other
// content is refused.
func (s *Service) replay(ctx context.Context, q db.Querier, t Transfer) (Posted, bool, error) {
	var p Posted
	var hash string
	err := q.QueryRowContext(ctx, `SELECT id, request_hash FROM bank_transactions WHERE idem_key = $1`, t.Key).Scan(&p.TransactionID, &hash)
	if db.IsNoRows(err) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("bank: replay: %w", err)
	}
	if hash != t.digest() {
		return p, true, &errs.Error{Code: errs.Conflict, Key: "bank.key_reused", Fields: []errs.FieldError{{Field: "idempotency_key", Key: "bank.key_reused"}}}
	}
	err = q.QueryRowContext(ctx, `SELECT e.balance_after FROM bank_entries e JOIN bank_accounts a ON a.id = e.account_id
		WHERE e.transaction_id = $1 AND a.kind = 'resident'`, p.TransactionID).Scan(&p.Balance)
	if err != nil && !db.IsNoRows(err) {
		return p, true, err
	}
	p.Replayed = true
	return p, true, nil
}

// errKeyRace is a concurrent posting with the same key winning the insert (PostgreSQL): the
// caller answers from the winner's result, as for any replay.
var errKeyRace = errors.New("bank: idempotency key taken concurrently")

// write runs fn, which posts t, in a group transaction; a lost race on t's key is answered with
// the winner's result.
func (s *Service) write(ctx context.Context, t Transfer, fn func(tx *sql.Tx) (Posted, error)) (Posted, error) {
	var p Posted
	err := s.group.Do(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = fn(tx)
		return err
	})
	if errors.Is(err, errKeyRace) {
		var found bool
		if p, found, err = s.replay(ctx, s.DB.Read(), t); err == nil && !found {
			err = errKeyRace
		}
	}
	return p, err
}

// post is the one function that writes the ledger: inside tx it replays a used key, or inserts the
// transaction and its two entries (resident and counter account, summing to zero), extends both
// hash chains, refuses a resident balance below zero, and keeps the earnings row for rankings.
func (s *Service) post(ctx context.Context, tx *sql.Tx, t Transfer) (Posted, error) {
	if p, found, err := s.replay(ctx, tx, t); found || err != nil {
		return p, err
	}
	if t.Amount == 0 {
		return Posted{}, errs.New(errs.Invalid, "bank.amount_zero")
	}
	now := s.Now()
	resAcct, err := s.residentAccount(ctx, tx, t.TownID, t.ResidentID, now)
	if err != nil {
		return Posted{}, err
	}
	counter := t.Counter
	if counter == 0 {
		if counter, err = s.issuingAccount(ctx, tx, t.TownID, t.ResidentID); err != nil {
			return Posted{}, err
		}
	}
	// The resident's account is locked first in every posting, so that checks in Guard hold
	// against concurrent postings and locks are always taken in the same order.
	if _, err := tx.ExecContext(ctx, `SELECT id FROM bank_accounts WHERE id = $1`+s.DB.ForUpdate(), resAcct); err != nil {
		return Posted{}, fmt.Errorf("bank: lock: %w", err)
	}
	if t.Guard != nil {
		if err := t.Guard(ctx, tx); err != nil {
			return Posted{}, err
		}
	}
	var actorID any
	actorName, forID := "", any(nil)
	if t.Actor != nil {
		if t.Actor.AccountID > 0 {
			actorID = t.Actor.AccountID
		}
		actorName = t.Actor.Name
		if t.Actor.ActingFor != nil {
			forID = t.Actor.ActingFor.ID
		}
	}
	var rule, reverses any
	if t.RuleID != 0 {
		rule = t.RuleID
	}
	if t.ReversesID != 0 {
		reverses = t.ReversesID
	}
	var txID int64
	err = tx.QueryRowContext(ctx, `INSERT INTO bank_transactions (town_id, kind, idem_key, request_hash, resident_id, rule_id, rule_code, amount, reason,
		reverses_id, actor_id, actor_name, for_resident_id, approved_by, period, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		t.TownID, t.Kind, t.Key, t.digest(), t.ResidentID, rule, t.RuleCode, t.Amount, t.Reason, reverses, actorID, actorName, forID, t.ApprovedBy, t.Period, now).Scan(&txID)
	if db.IsUnique(err) {
		if t.ReversesID != 0 {
			return Posted{}, errs.New(errs.Conflict, "bank.already_reversed")
		}
		return Posted{}, errKeyRace
	}
	if err != nil {
		return Posted{}, fmt.Errorf("bank: post: %w", err)
	}
	p := Posted{TransactionID: txID}
	if p.Balance, err = s.entry(ctx, tx, txID, resAcct, t.Amount, now); err != nil {
		return Posted{}, err
	}
	if _, err := s.entry(ctx, tx, txID, counter, -t.Amount, now); err != nil {
		return Posted{}, err
	}
	if t.Earned != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE bank_accounts SET earned = earned + $1 WHERE id = $2`, t.Earned, resAcct); err != nil {
			return Posted{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_earnings (resident_id, period, town_id, village_id, household_id, points)
			SELECT r.id, $1, r.town_id, r.village_id, r.household_id, $2 FROM residents r WHERE r.id = $3
			ON CONFLICT (resident_id, period) DO UPDATE SET points = bank_earnings.points + excluded.points`, t.Period, t.Earned, t.ResidentID); err != nil {
			return Posted{}, fmt.Errorf("bank: earnings: %w", err)
		}
	}
	return p, nil
}

// entry appends one entry to an account: it moves the balance, refusing a resident balance below
// zero, and links the entry into the account's hash chain.
func (s *Service) entry(ctx context.Context, tx *sql.Tx, txID, account, amount int64, now time.Time) (int64, error) {
	var bal, seq int64
	var prev, kind string
	err := tx.QueryRowContext(ctx, `SELECT balance, seq, head_hash, kind FROM bank_accounts WHERE id = $1`+s.DB.ForUpdate(), account).Scan(&bal, &seq, &prev, &kind)
	if err != nil {
		return 0, fmt.Errorf("bank: entry: %w", err)
	}
	bal += amount
	seq++
	if kind == "resident" && bal < 0 {
		return 0, errs.New(errs.Conflict, "bank.insufficient")
	}
	h := chainHash(prev, account, seq, txID, amount, bal, now)
	if _, err := tx.ExecContext(ctx, `UPDATE bank_accounts SET balance = $1, seq = $2, head_hash = $3 WHERE id = $4`, bal, seq, h, account); err != nil {
		return 0, fmt.Errorf("bank: entry: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bank_entries (transaction_id, account_id, seq, amount, balance_after, prev_hash, hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, txID, account, seq, amount, bal, prev, h, now); err != nil {
		return 0, fmt.Errorf("bank: entry: %w", err)
	}
	return bal, nil
}

// chainHash links an entry to the one before it in its account.
func chainHash(prev string, account, seq, txID, amount, balance int64, at time.Time) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d|%d|%d|%d|%d", prev, account, seq, txID, amount, balance, at.UTC().UnixMicro())))
	return hex.EncodeToString(h[:])
}

// residentAccount returns the resident's account, opening it on first use.
func (s *Service) residentAccount(ctx context.Context, tx *sql.Tx, townID, residentID int64, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM bank_accounts WHERE resident_id = $1`, residentID).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !db.IsNoRows(err) {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bank_accounts (kind, town_id, village_id, resident_id, created_at)
		SELECT 'resident', town_id, village_id, id, $1 FROM residents WHERE id = $2 AND town_id = $3
		ON CONFLICT (resident_id) DO NOTHING`, now, residentID, townID); err != nil {
		return 0, fmt.Errorf("bank: open account: %w", err)
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM bank_accounts WHERE resident_id = $1`, residentID).Scan(&id)
	if db.IsNoRows(err) {
		return 0, errs.New(errs.NotFound, "bank.resident_unknown")
	}
	return id, err
}

// issuingAccount picks the town's issuing sub-account for a resident.
func (s *Service) issuingAccount(ctx context.Context, tx *sql.Tx, townID, residentID int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM bank_accounts WHERE kind = 'issuing' AND town_id = $1 AND shard = $2`, townID, residentID%IssuingShards).Scan(&id)
	if db.IsNoRows(err) {
		return 0, fmt.Errorf("bank: town %d has no issuing account: call ensureTown first", townID)
	}
	return id, err
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
	s.ready.Store(townID, true)
	return nil
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

// Period is the town-calendar month of t, YYYY-MM.
func Period(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }

// keyOK checks an idempotency key: 1–120 printable ASCII characters.
func keyOK(k string) bool {
	if k == "" || len(k) > 120 {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0
}
