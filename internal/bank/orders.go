package bank

import (
	"context"
	"database/sql"
	"fmt"
	"siwei/internal/clock"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// placesPeriod names the period of a service's places that t falls in, in the town's calendar:
// the kind and its first day, such as "month:2026-11-01". A village store's row keeps the name of
// the period its remaining places belong to; an order in a later period finds another name and
// starts again from the item's capacity. Goods have no period ("").
func placesPeriod(period string, t time.Time, loc *time.Location) string {
	if period == "" {
		return ""
	}
	return period + ":" + periodStart(period, t, loc).In(loc).Format(clock.DayLayout)
}

// Redemption is an order in the shop: points paid, stock reserved, waiting at the counter.
type Redemption struct {
	ID            int64     `json:"id"`
	ItemID        int64     `json:"item_id"`
	ItemName      string    `json:"item_name"`
	ResidentID    int64     `json:"resident_id"`
	ResidentName  string    `json:"resident_name"`
	VillageID     int64     `json:"village_id"`
	Quantity      int       `json:"quantity"`
	Points        int64     `json:"points"`
	Status        string    `json:"status"`
	TransactionID int64     `json:"transaction_id"`
	Balance       int64     `json:"balance"`
	CreatedAt     time.Time `json:"created_at"`
	// Replayed marks the first order answered again for a replayed idempotency key.
	Replayed bool `json:"replayed"`
}

// RedeemInput orders an item; the key makes a retried order safe.
type RedeemInput struct {
	ItemID         int64  `json:"item_id"`
	Quantity       int    `json:"quantity"`
	IdempotencyKey string `json:"idempotency_key"`
}

// validate checks an order's quantity and key, the key trimmed.
func (in *RedeemInput) validate() error {
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	var f errs.Fields
	if in.Quantity <= 0 || in.Quantity > 100 {
		f.Add("quantity", "bank.quantity_invalid")
	}
	if !keyOK(in.IdempotencyKey) {
		f.Add("idempotency_key", "bank.key_invalid")
	}
	return f.Err()
}

// Redeem debits the resident's points to the village shop and reserves stock, in one transaction:
// never oversold, never below zero, within the item's per-person limit and class rules.
func (s *Service) Redeem(ctx context.Context, a *auth.Actor, in RedeemInput) (Redemption, error) {
	if err := in.validate(); err != nil {
		return Redemption{}, err
	}
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil || self == 0 {
		return Redemption{}, errs.New(errs.Forbidden, "bank.residents_only")
	}
	return s.redeem(ctx, a, self, fmt.Sprintf("redeem:r%d:%s", self, in.IdempotencyKey), in, false)
}

// redeem places a checked order for a resident under its stored key: the shop's rules (the item
// on offer to their class and village, its per-person limit, stock or places, the balance) are
// decided here for the resident's own order and for the counter's alike. An order placed at the
// counter (counter) is handed over in the same transaction, recorded as the actor's for the
// resident, and the resident is told so; any other waits at the counter and the resident is told
// it is ready.
func (s *Service) redeem(ctx context.Context, a *auth.Actor, residentID int64, key string, in RedeemInput, counter bool) (Redemption, error) {
	if r, err := s.redemptionByKey(ctx, s.DB.Read(), key); err == nil {
		return replayedOrder(r, in)
	}
	tg, err := s.target(ctx, residentID)
	if err != nil {
		return Redemption{}, err
	}
	var it Item
	var classes, villages string
	err = s.DB.Read().QueryRowContext(ctx, `SELECT id, town_id, kind, name, price, limit_count, limit_period, classes, villages, capacity, capacity_period, active
		FROM bank_items WHERE id = $1`, in.ItemID).
		Scan(&it.ID, &it.TownID, &it.Kind, &it.Name, &it.Price, &it.LimitCount, &it.LimitPeriod, &classes, &villages, &it.Capacity, &it.CapacityPeriod, &it.Active)
	it.Villages = splitIDs(villages)
	if err != nil || it.TownID != tg.Town.ID || !it.Active {
		return Redemption{}, &errs.Error{Code: errs.Invalid, Key: "bank.item_unknown", Fields: []errs.FieldError{{Field: "item_id", Key: "bank.item_unknown"}}}
	}
	if classes != "" && !slices.Contains(strings.Split(classes, ","), string(tg.Class)) {
		return Redemption{}, &errs.Error{Code: errs.Forbidden, Key: "bank.item_not_for_class", Fields: []errs.FieldError{{Field: "item_id", Key: "bank.item_not_for_class"}}}
	}
	if !it.ForVillage(tg.R.VillageID) {
		return Redemption{}, &errs.Error{Code: errs.Forbidden, Key: "bank.item_not_for_village", Fields: []errs.FieldError{{Field: "item_id", Key: "bank.item_not_for_village"}}}
	}
	if err := s.ensureTown(ctx, tg.Town.ID); err != nil {
		return Redemption{}, err
	}
	if err := s.ensureShop(ctx, tg.R.VillageID); err != nil {
		return Redemption{}, err
	}
	shop, err := s.shopAccount(ctx, s.DB.Read(), tg.R.VillageID)
	if err != nil {
		return Redemption{}, err
	}
	points := it.Price * int64(in.Quantity)
	r := Redemption{ItemID: it.ID, ItemName: it.Name, ResidentID: residentID, ResidentName: tg.R.Name, VillageID: tg.R.VillageID, Quantity: in.Quantity,
		Points: points, Status: "reserved"}
	t := Transfer{TownID: tg.Town.ID, Kind: "redeem", Key: key, ResidentID: residentID, Amount: -points, Counter: shop, Actor: a, Office: counter,
		Reason: it.Name, Extra: fmt.Sprintf("%d|%d", it.ID, in.Quantity), Period: Period(s.Now(), tg.Town.Location())}
	t.Guard = func(ctx context.Context, tx *sql.Tx) error {
		// The account is locked by now: the shortfall read here is the one the posting would
		// refuse, and the resident is told how many points are missing, not only that some are.
		var balance int64
		if err := tx.QueryRowContext(ctx, `SELECT balance FROM bank_accounts WHERE resident_id = $1 AND kind = 'resident'`, residentID).Scan(&balance); err != nil && !db.IsNoRows(err) {
			return err
		}
		if short := points - balance; short > 0 {
			return &errs.Error{Code: errs.Conflict, Key: "bank.insufficient_by", Args: []any{short},
				Fields: []errs.FieldError{{Field: "quantity", Key: "bank.insufficient_by", Args: []any{short}}}}
		}
		if it.LimitPeriod != "" {
			var n int
			since := periodStart(it.LimitPeriod, s.Now(), tg.Town.Location())
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(quantity), 0) FROM bank_redemptions WHERE resident_id = $1 AND item_id = $2
				AND status <> 'cancelled' AND created_at >= $3`, residentID, it.ID, since).Scan(&n); err != nil {
				return err
			}
			if n+in.Quantity > it.LimitCount {
				return &errs.Error{Code: errs.Conflict, Key: "bank.limit_reached", Args: []any{it.LimitCount}, Fields: []errs.FieldError{{Field: "quantity", Key: "bank.limit_reached", Args: []any{it.LimitCount}}}}
			}
		}
		res, err := s.takeStock(ctx, tx, it, tg.R.VillageID, in.Quantity, tg.Town.Location())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return &errs.Error{Code: errs.Conflict, Key: "bank.out_of_stock", Fields: []errs.FieldError{{Field: "item_id", Key: "bank.out_of_stock"}}}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bank_stock_moves (item_id, village_id, delta, source, note, actor_id, created_at) VALUES ($1, $2, $3, 'redeem', $4, $5, $6)`,
			it.ID, tg.R.VillageID, -in.Quantity, key, db.NullID(a.AccountID), s.Now())
		return err
	}
	p, err := s.write(ctx, t, func(ctx context.Context, tx *sql.Tx) (Posted, error) {
		p, err := s.post(ctx, tx, t)
		if err != nil || p.Replayed {
			return p, err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO bank_redemptions (item_id, resident_id, village_id, quantity, points, status, idem_key, transaction_id, created_at)
			VALUES ($1, $2, $3, $4, $5, 'reserved', $6, $7, $8) RETURNING id, created_at`, it.ID, residentID, tg.R.VillageID, in.Quantity, points, key, p.TransactionID, s.Now()).
			Scan(&r.ID, &r.CreatedAt); err != nil {
			return p, err
		}
		if !counter {
			return p, s.tellOrder(ctx, tx, r, "bank.outcome.order_ready_title", "bank.outcome.order_ready")
		}
		return p, s.handOverAtCounter(ctx, tx, a, tg, r, p.Balance)
	})
	if err != nil {
		return Redemption{}, err
	}
	if p.Replayed {
		r, err := s.redemptionByKey(ctx, s.DB.Read(), key)
		if err != nil {
			return r, err
		}
		return replayedOrder(r, in)
	}
	r.TransactionID, r.Balance = p.TransactionID, p.Balance
	if counter {
		r.Status = "fulfilled"
	}
	return r, nil
}

// takeStock takes qty from a village store inside tx, or nothing (no row affected) when the store
// has less. A service's places are taken from the current period's: the first order of a period
// finds the row naming an earlier one (or no row) and starts again from the item's capacity.
func (s *Service) takeStock(ctx context.Context, tx *sql.Tx, it Item, villageID int64, qty int, loc *time.Location) (sql.Result, error) {
	if it.Kind != "service" {
		return tx.ExecContext(ctx, `UPDATE bank_stock SET quantity = quantity - $1 WHERE item_id = $2 AND village_id = $3 AND quantity >= $1`, qty, it.ID, villageID)
	}
	if qty > it.Capacity {
		return noRows{}, nil
	}
	return tx.ExecContext(ctx, `INSERT INTO bank_stock (item_id, village_id, quantity, period) VALUES ($1, $2, $3, $4)
		ON CONFLICT (item_id, village_id) DO UPDATE
		SET quantity = (CASE WHEN bank_stock.period = excluded.period THEN bank_stock.quantity ELSE CAST($5 AS BIGINT) END) - CAST($6 AS BIGINT), period = excluded.period
		WHERE (CASE WHEN bank_stock.period = excluded.period THEN bank_stock.quantity ELSE CAST($5 AS BIGINT) END) >= CAST($6 AS BIGINT)`,
		it.ID, villageID, it.Capacity-qty, placesPeriod(it.CapacityPeriod, s.Now(), loc), it.Capacity, qty)
}

// noRows is the result of a statement not run because it could change nothing.
type noRows struct{}

func (noRows) LastInsertId() (int64, error) { return 0, nil }
func (noRows) RowsAffected() (int64, error) { return 0, nil }

// replayedOrder answers a replayed order key with the first order, if it was for the same item
// and quantity; the key of one order cannot place another.
func replayedOrder(r Redemption, in RedeemInput) (Redemption, error) {
	if r.ItemID != in.ItemID || r.Quantity != in.Quantity {
		return Redemption{}, errKeyReused()
	}
	r.Replayed = true
	return r, nil
}

// ensureShop opens a village's shop account if the village is newer than the town's accounts.
func (s *Service) ensureShop(ctx context.Context, villageID int64) error {
	if _, err := s.shopAccount(ctx, s.DB.Read(), villageID); err == nil {
		return nil
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bank_accounts (kind, town_id, village_id, created_at) SELECT 'shop', town_id, id, $1 FROM villages v
			WHERE v.id = $2 AND NOT EXISTS (SELECT 1 FROM bank_accounts a WHERE a.kind = 'shop' AND a.village_id = v.id)`, s.Now(), villageID)
		return err
	})
	if db.IsUnique(err) {
		return nil
	}
	return err
}

const redemptionCols = `r.id, r.item_id, i.name, r.resident_id, p.name, r.village_id, r.quantity, r.points, r.status, r.transaction_id, r.created_at`
const redemptionFrom = ` FROM bank_redemptions r JOIN bank_items i ON i.id = r.item_id JOIN residents p ON p.id = r.resident_id`

func scanRedemption(sc interface{ Scan(...any) error }) (Redemption, error) {
	var r Redemption
	err := sc.Scan(&r.ID, &r.ItemID, &r.ItemName, &r.ResidentID, &r.ResidentName, &r.VillageID, &r.Quantity, &r.Points, &r.Status, &r.TransactionID, &r.CreatedAt)
	return r, err
}

func (s *Service) redemptionByKey(ctx context.Context, q db.Querier, key string) (Redemption, error) {
	r, err := scanRedemption(q.QueryRowContext(ctx, `SELECT `+redemptionCols+redemptionFrom+` WHERE r.idem_key = $1`, key))
	if err != nil {
		return r, err
	}
	r.Balance, err = balanceAfter(ctx, q, r.TransactionID)
	return r, err
}

func (s *Service) redemption(ctx context.Context, id int64) (Redemption, error) {
	r, err := scanRedemption(s.DB.Read().QueryRowContext(ctx, `SELECT `+redemptionCols+redemptionFrom+` WHERE r.id = $1`, id))
	if db.IsNoRows(err) {
		return r, errs.New(errs.NotFound, "error.not_found")
	}
	return r, err
}

// CancelRedemption refunds the points and restores the stock of an order not yet fulfilled; the
// resident themself or the village's shop staff may cancel.
func (s *Service) CancelRedemption(ctx context.Context, a *auth.Actor, id int64) (Redemption, error) {
	return s.CancelOrder(ctx, a, id, "")
}

// CancelOrder is CancelRedemption with the reason staff give at the counter, kept in the audit
// entry.
func (s *Service) CancelOrder(ctx context.Context, a *auth.Actor, id int64, reason string) (Redemption, error) {
	r, err := s.redemption(ctx, id)
	if err != nil {
		return r, err
	}
	tg, err := s.target(ctx, r.ResidentID)
	if err != nil {
		return r, err
	}
	// The resident who cancels their own order is told nothing; staff who cancel it tell them.
	byStaff := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: r.ResidentID}) != nil
	if byStaff {
		if err := auth.Can(a, PermFulfil, auth.Scope{TownID: tg.Town.ID, VillageID: r.VillageID}); err != nil {
			return Redemption{}, auth.Hide(err)
		}
	}
	shop, err := s.shopAccount(ctx, s.DB.Read(), r.VillageID)
	if err != nil {
		return r, err
	}
	var capPeriod string
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT capacity_period FROM bank_items WHERE id = $1`, r.ItemID).Scan(&capPeriod); err != nil {
		return r, err
	}
	t := Transfer{TownID: tg.Town.ID, Kind: "refund", Key: fmt.Sprintf("refund:redeem:%d", id), ResidentID: r.ResidentID, Amount: r.Points,
		Counter: shop, Actor: a, Reason: r.ItemName, Period: Period(s.Now(), tg.Town.Location())}
	t.Guard = func(ctx context.Context, tx *sql.Tx) error {
		if err := s.closeOrder(ctx, tx, a, id, "cancelled"); err != nil {
			return err
		}
		return s.AddStockMove(ctx, tx, r.ItemID, r.VillageID, placesPeriod(capPeriod, r.CreatedAt, tg.Town.Location()), r.Quantity, "cancel", t.Key, a.AccountID)
	}
	p, err := s.write(ctx, t, func(ctx context.Context, tx *sql.Tx) (Posted, error) {
		p, err := s.post(ctx, tx, t)
		if err != nil || p.Replayed {
			return p, err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE bank_redemptions SET refund_id = $1 WHERE id = $2`, p.TransactionID, id); err != nil {
			return p, err
		}
		after := map[string]any{"name": r.ItemName, "quantity": r.Quantity, "points": r.Points}
		if reason != "" {
			after["reason"] = reason
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.cancel", Entity: "redemption", EntityID: id, TownID: tg.Town.ID, VillageID: r.VillageID,
			Summary: auth.Summarize(nil, after)}); err != nil || !byStaff {
			return p, err
		}
		if reason != "" {
			return p, s.tellOrder(ctx, tx, r, "bank.outcome.order_cancelled_title", "bank.outcome.order_cancelled_why", r.Points, reason)
		}
		return p, s.tellOrder(ctx, tx, r, "bank.outcome.order_cancelled_title", "bank.outcome.order_cancelled", r.Points)
	})
	if err != nil {
		return Redemption{}, err
	}
	r.Status, r.Balance = "cancelled", p.Balance
	return r, nil
}

// AddStockMove puts stock back into a store inside tx: goods always (period ""), a service's
// places only while the period they were taken from (placesPeriod) lasts; once the next has
// begun its places are whole again, and one given back would be one more than the capacity.
func (s *Service) AddStockMove(ctx context.Context, tx db.Querier, itemID, villageID int64, period string, qty int, source, note string, actor int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE bank_stock SET quantity = quantity + $1 WHERE item_id = $2 AND village_id = $3 AND period = $4`, qty, itemID, villageID, period)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return nil // nothing to give back to
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO bank_stock_moves (item_id, village_id, delta, source, note, actor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		itemID, villageID, qty, source, note, db.NullID(actor), s.Now())
	return err
}

// Fulfil hands over an order at the counter: the shop staff of the order's village only.
func (s *Service) Fulfil(ctx context.Context, a *auth.Actor, id int64) (Redemption, error) {
	r, err := s.redemption(ctx, id)
	if err != nil {
		return r, err
	}
	var town int64
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, r.VillageID).Scan(&town); err != nil {
		return r, err
	}
	if err := auth.Can(a, PermFulfil, auth.Scope{TownID: town, VillageID: r.VillageID}); err != nil {
		return Redemption{}, auth.Hide(err)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.closeOrder(ctx, tx, a, id, "fulfilled"); err != nil {
			return err
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.fulfil", Entity: "redemption", EntityID: id, TownID: town, VillageID: r.VillageID}); err != nil {
			return err
		}
		return s.tellOrder(ctx, tx, r, "bank.outcome.order_fulfilled_title", "bank.outcome.order_fulfilled")
	})
	if err != nil {
		return Redemption{}, err
	}
	r.Status = "fulfilled"
	return r, nil
}

// Orders lists a resident's orders, or a village's open orders for the counter.
func (s *Service) Orders(ctx context.Context, a *auth.Actor, residentID, villageID int64) ([]Redemption, error) {
	var where string
	var arg int64
	switch {
	case residentID != 0:
		if auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: residentID}) != nil {
			tg, err := s.target(ctx, residentID)
			if err != nil {
				return nil, err
			}
			if err := auth.Can(a, PermLedger, auth.Scope{TownID: tg.Town.ID, VillageID: tg.R.VillageID}); err != nil {
				return nil, auth.Hide(err)
			}
		}
		where, arg = "r.resident_id = $1", residentID
	default:
		v, err := s.People.Village(ctx, a, villageID)
		if err != nil {
			return nil, err
		}
		if err := auth.Can(a, PermFulfil, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
			return nil, auth.Hide(err)
		}
		where, arg = "r.village_id = $1 AND r.status = 'reserved'", villageID
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+redemptionCols+redemptionFrom+` WHERE `+where+` ORDER BY r.id DESC LIMIT 200`, arg)
	if err != nil {
		return nil, fmt.Errorf("bank: orders: %w", err)
	}
	defer rows.Close()
	var out []Redemption
	for rows.Next() {
		r, err := scanRedemption(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// closeOrder moves a reserved order to status (fulfilled or cancelled) in tx, by the actor. An
// order no longer reserved is a conflict: another counter, or the resident, got there first.
func (s *Service) closeOrder(ctx context.Context, tx *sql.Tx, a *auth.Actor, id int64, status string) error {
	res, err := tx.ExecContext(ctx, `UPDATE bank_redemptions SET status = $1, closed_at = $2, closed_by = $3 WHERE id = $4 AND status = 'reserved'`,
		status, s.Now(), db.NullID(a.AccountID), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return errs.New(errs.Conflict, "bank.order_closed")
	}
	return nil
}
