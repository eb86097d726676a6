package bank

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Counter is the village shop's counter (柜台) for the holder of one card, often a walk-in
// without a phone: who they are, as the screen may show them to the queue behind (the name
// masked), their balance, their orders waiting to be handed over, and the items of their
// village's shop they may redeem and take there and then (兑换并领取).
type Counter struct {
	Card Card // its ResidentName is the holder's full name, which pages do not show
	// Name is the holder's name as the counter shows it: 王＊.
	Name    string
	Balance int64
	Orders  []Redemption // reserved, to hand over or cancel
	Items   []Item       // on offer to the holder's class and village, with their village store's stock
	// Done is the holder's order the page is asked about (the flash after 兑换并领取, 领取 or
	// 取消兑换 at the counter), when it has been closed: handed over or cancelled.
	Done *Redemption
	// Redeemed says Done was redeemed and handed over at once at the counter (兑换并领取); its
	// Balance is then the balance it left.
	Redeemed bool
}

// CounterInput is 兑换并领取 at the counter: the card as scanned or typed, the item, how many, and
// the form's idempotency key, so that a double click redeems once.
type CounterInput struct {
	Card           string `json:"card"`
	ItemID         int64  `json:"item_id"`
	Quantity       int    `json:"quantity"`
	IdempotencyKey string `json:"idempotency_key"`
}

// onCardField puts a refusal of a card look-up on the card field of the counter's form.
func onCardField(err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) > 0 {
		return err
	}
	return &errs.Error{Code: e.Code, Key: e.Key, Args: e.Args, Fields: []errs.FieldError{{Field: "card", Key: e.Key, Args: e.Args}}}
}

// Counter finds a card's holder for the counter (LookupCard: the shop staff of the holder's
// village only, an active card of an active resident) with what the counter offers them. done
// names an order just closed at the counter (the redirect's flash_id): it is read back only if it
// is the holder's and closed, and with its balance if it was redeemed there.
func (s *Service) Counter(ctx context.Context, a *auth.Actor, card string, done int64) (Counter, error) {
	c, err := s.LookupCard(ctx, a, card)
	if err != nil {
		return Counter{}, onCardField(err)
	}
	tg, err := s.target(ctx, c.ResidentID)
	if err != nil {
		return Counter{}, err
	}
	out := Counter{Card: c, Name: MaskMinor(c.ResidentName)}
	b, err := s.Account(ctx, a, c.ResidentID)
	if err != nil {
		return Counter{}, err
	}
	out.Balance = b.Balance
	orders, err := s.Orders(ctx, a, c.ResidentID, 0)
	if err != nil {
		return Counter{}, err
	}
	for _, o := range orders {
		if o.Status == "reserved" {
			out.Orders = append(out.Orders, o)
		}
	}
	items, err := s.Items(ctx, tg.Town.ID, tg.R.VillageID)
	if err != nil {
		return Counter{}, err
	}
	for _, it := range items {
		if it.OfferedTo(tg.Class, tg.R.VillageID) {
			out.Items = append(out.Items, it)
		}
	}
	if done != 0 {
		if out.Done, out.Redeemed, err = s.counterOrder(ctx, c.ResidentID, done); err != nil {
			return Counter{}, err
		}
	}
	return out, nil
}

// counterOrder is an order of the resident that has been closed, handed over or cancelled, and
// whether it was redeemed at the counter too (兑换并领取), then with the balance it left; nil for
// any other order, which the counter does not name.
func (s *Service) counterOrder(ctx context.Context, residentID, id int64) (*Redemption, bool, error) {
	var key string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT idem_key FROM bank_redemptions WHERE id = $1 AND resident_id = $2 AND status IN ('fulfilled', 'cancelled')`,
		id, residentID).Scan(&key)
	if db.IsNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("bank: counter order: %w", err)
	}
	r, err := s.redemption(ctx, id)
	if err != nil {
		return nil, false, err
	}
	redeemed := r.Status == "fulfilled" && strings.HasPrefix(key, "counter:")
	if redeemed {
		if r.Balance, err = balanceAfter(ctx, s.DB.Read(), r.TransactionID); err != nil {
			return nil, false, err
		}
	}
	return &r, redeemed, nil
}

// RedeemAtCounter redeems an item for the holder of a card and hands it over at once (兑换并领取):
// one transaction debits the points, takes the stock and closes the order as fulfilled, so that
// nothing is ever paid for and not handed over. The shop's rules are Redeem's; the card is
// looked up as the counter does (LookupCard), so another village's card is not found and a lost
// or replaced one is refused. The ledger and the audit log record the staff member acting for the
// resident (office mode), and the resident is told. The key is the staff member's, for this
// holder: the same form sent twice redeems once.
func (s *Service) RedeemAtCounter(ctx context.Context, a *auth.Actor, in CounterInput) (Redemption, error) {
	order := RedeemInput{ItemID: in.ItemID, Quantity: in.Quantity, IdempotencyKey: in.IdempotencyKey}
	if err := order.validate(); err != nil {
		return Redemption{}, err
	}
	c, err := s.LookupCard(ctx, a, in.Card)
	if err != nil {
		return Redemption{}, onCardField(err)
	}
	// Redeeming for someone is acting for them: the staff member must be one who may.
	tg, err := s.target(ctx, c.ResidentID)
	if err != nil {
		return Redemption{}, err
	}
	if err := auth.Can(a, auth.OfficeAct, auth.Scope{TownID: tg.R.TownID, VillageID: tg.R.VillageID}); err != nil {
		return Redemption{}, auth.Hide(err)
	}
	key := fmt.Sprintf("counter:a%d:r%d:%s", a.AccountID, c.ResidentID, order.IdempotencyKey)
	return s.redeem(ctx, a, c.ResidentID, key, order, true)
}

// handOverAtCounter closes an order placed at the counter inside its transaction: fulfilled by
// the actor, an audit entry naming who acted for whom and what, and the resident told what was
// taken in their name, the points and the balance left.
func (s *Service) handOverAtCounter(ctx context.Context, tx *sql.Tx, a *auth.Actor, tg target, r Redemption, balance int64) error {
	if err := s.closeOrder(ctx, tx, a, r.ID, "fulfilled"); err != nil {
		return err
	}
	if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.counter.redeem", Entity: "redemption", EntityID: r.ID, TownID: tg.Town.ID,
		VillageID: r.VillageID, ForID: r.ResidentID, ForName: tg.R.Name,
		Summary: auth.Summarize(nil, map[string]any{"name": r.ItemName, "quantity": r.Quantity, "points": r.Points})}); err != nil {
		return err
	}
	return s.tellOrder(ctx, tx, r, "bank.outcome.order_fulfilled_title", "bank.outcome.order_counter", r.Points, balance, a.Name)
}

// balanceAfter is the resident's balance after a transaction of theirs.
func balanceAfter(ctx context.Context, q db.Querier, txID int64) (int64, error) {
	var b int64
	err := q.QueryRowContext(ctx, `SELECT e.balance_after FROM bank_entries e JOIN bank_accounts a ON a.id = e.account_id
		WHERE e.transaction_id = $1 AND a.kind = 'resident'`, txID).Scan(&b)
	if err != nil {
		return 0, fmt.Errorf("bank: balance after %d: %w", txID, err)
	}
	return b, nil
}
