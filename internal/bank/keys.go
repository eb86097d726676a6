package bank

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"siwei/internal/db"
	"siwei/internal/errs"
)

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
		return p, true, errKeyReused()
	}
	err = q.QueryRowContext(ctx, `SELECT e.balance_after FROM bank_entries e JOIN bank_accounts a ON a.id = e.account_id
		WHERE e.transaction_id = $1 AND a.kind = 'resident'`, p.TransactionID).Scan(&p.Balance)
	if err != nil && !db.IsNoRows(err) {
		return p, true, err
	}
	p.Replayed = true
	return p, true, nil
}

// errKeyReused refuses an idempotency key already used for other content.
func errKeyReused() error {
	return &errs.Error{Code: errs.Conflict, Key: "bank.key_reused", Fields: []errs.FieldError{{Field: "idempotency_key", Key: "bank.key_reused"}}}
}

// errKeyRace is a concurrent posting with the same key winning the insert (PostgreSQL): the
// caller answers from the winner's result, as for any replay.
var errKeyRace = errors.New("bank: idempotency key taken concurrently")

// keyOK checks an idempotency key: 1–120 printable ASCII characters.
func keyOK(k string) bool {
	if k == "" || len(k) > 120 {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0
}

// KeyOK is keyOK for the pillars, which check the keys of their own forms (a 微志愿 need's) by it,
// so that every idempotency key has the bank's one shape.
func KeyOK(k string) bool { return keyOK(k) }
