package bank

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"siwei/internal/db"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
)

// What a posting writes, defined once. A posting writes a transaction row (txColumns, txRow), an
// entry on each of its two accounts (entryColumns, entry), moves both accounts' heads (head) and
// adds what it earned to the resident's earnings row (earningColumns, earningRow). Each entry's
// hash is taken over hashText. The writers post, postStatement and postMany differ only in how
// they batch these rows; postStatement renders the entries as SQL from the same definitions, and
// Verify recomputes every hash with entry.sum.

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
	// Office records the actor as acting for the resident (office mode) though their session is
	// not in it: staff redeeming for a walk-in at the counter.
	Office bool
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

// column is a column a posting writes, with the SQL type its value is cast to in a generated
// statement (PostgreSQL cannot always infer a parameter's type in a CTE or a VALUES list).
type column struct{ name, typ string }

// types are the SQL types of cols, in their order.
func types(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.typ
	}
	return out
}

// txColumns are the columns of bank_transactions a posting writes, in txRow's order.
var txColumns = []column{{"town_id", "BIGINT"}, {"kind", "TEXT"}, {"idem_key", "TEXT"}, {"request_hash", "TEXT"},
	{"resident_id", "BIGINT"}, {"rule_id", "BIGINT"}, {"rule_code", "TEXT"}, {"amount", "BIGINT"}, {"reason", "TEXT"},
	{"reverses_id", "BIGINT"}, {"actor_id", "BIGINT"}, {"actor_name", "TEXT"}, {"for_resident_id", "BIGINT"},
	{"approved_by", "TEXT"}, {"period", "TEXT"}, {"created_at", "TIMESTAMPTZ"}}

// txRow is the transaction row t writes at now, in txColumns' order.
func (t Transfer) txRow(now time.Time) []any {
	var actorID, forID any
	actorName := ""
	if t.Actor != nil {
		actorID, actorName = db.NullID(t.Actor.AccountID), t.Actor.Name
		if t.Actor.ActingFor != nil {
			forID = t.Actor.ActingFor.ID
		}
		if t.Office {
			forID = t.ResidentID
		}
	}
	return []any{t.TownID, t.Kind, t.Key, t.digest(), t.ResidentID, db.NullID(t.RuleID), t.RuleCode, t.Amount, t.Reason,
		db.NullID(t.ReversesID), actorID, actorName, forID, t.ApprovedBy, t.Period, now}
}

// entryColumns are the columns of bank_entries a posting writes, in entry.row's order.
var entryColumns = []column{{"transaction_id", "BIGINT"}, {"account_id", "BIGINT"}, {"seq", "BIGINT"}, {"amount", "BIGINT"},
	{"balance_after", "BIGINT"}, {"prev_hash", "TEXT"}, {"hash", "TEXT"}, {"created_at", "TIMESTAMPTZ"}}

// entry is one line of an account's chain.
type entry struct {
	tx, account, seq, amount, balance int64
	prev, hash                        string
	at                                time.Time
}

// row is e's values in entryColumns' order.
func (e entry) row() []any {
	return entryValues[any](e.tx, e.account, e.seq, e.amount, e.balance, e.prev, e.hash, e.at)
}

// entryValues orders an entry's values as entryColumns: Go values for a row, or SQL expressions
// for postStatement's INSERT … SELECT.
func entryValues[T any](tx, account, seq, amount, balance, prev, hash, at T) []T {
	return []T{tx, account, seq, amount, balance, prev, hash, at}
}

// sum is the hash of e: the hex SHA-256 of its hashText, which links it to the entry before it
// (prev) and covers what a statement shows of its transaction (c) and whose account it is on.
func (e entry) sum(c Content, accountKind string, owner int64) string {
	h := sha256.Sum256([]byte(hashText{
		prev: e.prev, account: itoa(e.account), seq: itoa(e.seq), tx: itoa(e.tx), amount: itoa(e.amount),
		balance: itoa(e.balance), at: itoa(hashTime(e.at)), content: c.common(), accountKind: accountKind, owner: itoa(owner),
	}.join("|")))
	return hex.EncodeToString(h[:])
}

// hashText is the text an entry's hash is taken over: its parts in this order, each rendered by
// the caller (decimal text in Go, SQL expressions in postStatement's statement), joined by "|".
type hashText struct {
	prev, account, seq, tx, amount, balance string
	at                                      string // microseconds since 1970, UTC
	content                                 string // Content.common
	accountKind, owner                      string
}

// join renders h with sep between its parts: "|" for the text itself, or " || '|' || " for the
// SQL expression that builds it.
func (h hashText) join(sep string) string {
	return strings.Join([]string{h.prev, h.account, h.seq, h.tx, h.amount, h.balance, h.at, h.content, h.accountKind, h.owner}, sep)
}

// sql renders h as a PostgreSQL expression of the entry's hash, its parts being SQL expressions.
func (h hashText) sql() string {
	return "encode(sha256(convert_to(" + h.join(" || '|' || ") + ", 'UTF8')), 'hex')"
}

// hashTime is an entry's time as its hash covers it: microseconds since 1970, which both engines
// store exactly.
func hashTime(t time.Time) int64 { return t.UTC().UnixMicro() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// head is an account as a posting locks and moves it: its balance and the end of its chain.
type head struct {
	id, balance, seq int64
	hash, kind       string
	owner            int64 // the resident of a resident account, else 0
	earned           int64 // what a batch adds to the account's lifetime earnings
}

// headSelect reads accounts as heads (scanHead); the caller adds the WHERE clause.
const headSelect = `SELECT id, balance, seq, head_hash, kind, COALESCE(resident_id, 0) AS owner FROM bank_accounts`

func scanHead(rows *sql.Rows) (*head, error) {
	a := &head{}
	err := rows.Scan(&a.id, &a.balance, &a.seq, &a.hash, &a.kind, &a.owner)
	return a, err
}

// headColumns are what a posting sets on an account, in head.values' order, named as in the
// source table of headUpdate.
var headColumns = []column{{"id", "BIGINT"}, {"balance", "BIGINT"}, {"seq", "BIGINT"}, {"hash", "TEXT"}, {"earned", "BIGINT"}}

func (a *head) values() []any { return []any{a.id, a.balance, a.seq, a.hash, a.earned} }

// headUpdate moves the accounts named in src, a table with headColumns: the balance, the end of
// the chain, and what the resident earned added to the account's lifetime earnings.
func headUpdate(src string) string {
	return `UPDATE bank_accounts SET balance = ` + src + `.balance, seq = ` + src + `.seq, head_hash = ` + src + `.hash,
		earned = bank_accounts.earned + ` + src + `.earned FROM ` + src + ` WHERE bank_accounts.id = ` + src + `.id`
}

// headsSQL renders headUpdate over the values of heads, adding them to p.
func headsSQL(p *db.Params, heads []*head) string {
	var b strings.Builder
	b.WriteString("WITH v (" + names(headColumns) + ") AS (VALUES ")
	for i, a := range heads {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.TypedRow(types(headColumns), a.values()))
	}
	b.WriteString(") " + headUpdate("v"))
	return b.String()
}

// appendEntry moves a by amount and appends the entry of transaction txID to its chain.
func (a *head) appendEntry(txID, amount int64, at time.Time, c Content) entry {
	e := entry{tx: txID, account: a.id, seq: a.seq + 1, amount: amount, balance: a.balance + amount, prev: a.hash, at: at}
	e.hash = e.sum(c, a.kind, a.owner)
	a.balance, a.seq, a.hash = e.balance, e.seq, e.hash
	return e
}

// legs moves the resident's account r by t.Amount and the counter account c the other way, and
// returns the two entries of transaction txID, the resident's first.
func (t Transfer) legs(txID int64, at time.Time, r, c *head) [2]entry {
	what := t.content()
	return [2]entry{r.appendEntry(txID, t.Amount, at, what), c.appendEntry(txID, -t.Amount, at, what)}
}

// earningColumns are the columns of bank_earnings a posting writes, in earningRow's order; a
// resident's row for a period is added to (earningMerge), not replaced.
const (
	earningColumns = `resident_id, period, town_id, village_id, household_id, points`
	earningMerge   = `ON CONFLICT (resident_id, period) DO UPDATE SET points = bank_earnings.points + excluded.points`
)

// earningRow is the earnings row of t, in earningColumns' order.
func (t Transfer) earningRow() []any {
	return []any{t.ResidentID, t.Period, t.TownID, t.VillageID, t.HouseholdID, t.Earned}
}

// earningSelect renders the earnings row from the resident's row, its arguments being SQL
// expressions of earningRow's values: a town, village or household of zero is the resident's.
func earningSelect(resident, period, town, village, household, points string) string {
	place := func(v, col string) string { return "COALESCE(NULLIF(CAST(" + v + " AS BIGINT), 0), r." + col + ")" }
	return "SELECT r.id, CAST(" + period + " AS TEXT), " + place(town, "town_id") + ", " + place(village, "village_id") + ", " +
		place(household, "household_id") + ", CAST(" + points + " AS BIGINT) FROM residents r WHERE r.id = " + resident
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

func (t Transfer) content() Content {
	return Content{Kind: t.Kind, ResidentID: t.ResidentID, RuleCode: t.RuleCode, Reason: t.Reason, ApprovedBy: t.ApprovedBy, ReversesID: t.ReversesID}
}

// common is the part of the hashed content that both entries of a transaction share.
func (c Content) common() string {
	return fmt.Sprintf("%s|%d|%s|%q|%q|%d", c.Kind, c.ResidentID, c.RuleCode, c.Reason, c.ApprovedBy, c.ReversesID)
}

// names lists cols' names, comma-separated.
func names(cols []column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	return b.String()
}

// casts renders parameters $first… cast to cols' types, comma-separated.
func casts(cols []column, first int) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "CAST($%d AS %s)", first+i, c.typ)
	}
	return b.String()
}

// placeholders renders n rows of parameters $first…, one per column of cols, for a VALUES list.
func placeholders(cols []column, first, n int) string {
	var b strings.Builder
	for r := 0; r < n; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(first+r*len(cols)+i))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// The statements of post, made once: both engines keep them prepared by their text (db.stmtConn
// on SQLite, pgx on PostgreSQL).
var (
	qLock        = headSelect + ` WHERE id IN ($1, $2) ORDER BY id`
	qTransaction = `INSERT INTO bank_transactions (` + names(txColumns) + `) VALUES ` + placeholders(txColumns, 1, 1) + ` RETURNING id`
	qHeads2      = headsSQL(&db.Params{}, []*head{{}, {}})
	qEntries2    = `INSERT INTO bank_entries (` + names(entryColumns) + `) VALUES ` + placeholders(entryColumns, 1, 2)
	qEarning     = `INSERT INTO bank_earnings (` + earningColumns + `) ` + earningSelect("$1", "$2", "$3", "$4", "$5", "$6") + ` ` + earningMerge
)
