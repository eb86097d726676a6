package bank

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"siwei/internal/auth"
)

// Transfer is one ledger transaction as the bank's operations describe it: a resident's points go
// up (Amount > 0, drawn on the town's issuing account or refunded from the shop) or down (paid to
// the village shop, or reversed back to issuing).
type Transfer struct {
	TownID     int64
	Kind       string // award, claim, redeem, refund, reversal
	Key        string // idempotency key naming the event
	ResidentID int64
	// VillageID and HouseholdID place the earning for rankings; zero means look them up.
	VillageID   int64
	HouseholdID int64
	RuleID      int64
	RuleCode    string
	Amount      int64
	Counter     int64 // the other account; 0 means the town's issuing account
	Reason      string
	ReversesID  int64
	Actor       *auth.Actor
	ApprovedBy  string
	// Earned is what counts towards rankings in Period (awards: Amount; reversals of awards: −Amount).
	Earned int64
	Period string // the town-calendar month the earning counts in, YYYY-MM
	// Extra goes into the request hash: fields of the request that are not in the transfer.
	Extra string
	// Guard runs with the resident's account locked, after the transaction row is written and
	// before the entries: the place for checks that concurrent postings must not both pass (caps,
	// limits, stock). A count of the resident's transactions includes this one.
	Guard func(ctx context.Context, tx *sql.Tx) error
}

// Posted is the result of a posting: the transaction and the resident's balance after it. A
// replayed key returns the first result with Replayed set.
type Posted struct {
	TransactionID int64 `json:"transaction_id"`
	Balance       int64 `json:"balance"`
	Replayed      bool  `json:"replayed"`
}

// Content is what a statement shows of a transaction; the chain hash covers it, so that editing a
// reason, a rule or whose account an entry is on breaks the chain.
type Content struct {
	Kind       string
	ResidentID int64
	RuleCode   string
	Reason     string
	ApprovedBy string
	ReversesID int64
}

// String renders the content with the account's kind and owner, as hashed.
func (c Content) String(accountKind string, owner int64) string {
	return c.common() + "|" + accountKind + "|" + strconv.FormatInt(owner, 10)
}

// common is the part of the hashed content that both entries of a transaction share.
func (c Content) common() string {
	return fmt.Sprintf("%s|%d|%s|%q|%q|%d", c.Kind, c.ResidentID, c.RuleCode, c.Reason, c.ApprovedBy, c.ReversesID)
}

// chainHash links an entry to the one before it in its account.
func chainHash(prev string, account, seq, txID, amount, balance int64, at time.Time, content string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d|%d|%d|%d|%d|%s", prev, account, seq, txID, amount, balance, at.UTC().UnixMicro(), content)))
	return hex.EncodeToString(h[:])
}
