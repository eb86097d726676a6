package bank

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// What the questions before an action that cannot be undone name (web.Question): the record,
// looked up for the person who would act on it, so that another village's or town's staff are
// answered 404 before any question, exactly as the action would answer them.

// Reversal is a transaction as the question before 冲正 names it.
type Reversal struct {
	TransactionID int64
	ResidentName  string
	RuleName      string // the rule's name, or its code when it has none
	Points        int64  // what was posted: reversing it posts the opposite
}

// ToReverse is the transaction id for those who may reverse it: the town's admins.
func (s *Service) ToReverse(ctx context.Context, a *auth.Actor, id int64) (Reversal, error) {
	x := Reversal{TransactionID: id}
	var town int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT t.town_id, COALESCE(p.name, ''), COALESCE(r.name, t.rule_code), t.amount
		FROM bank_transactions t LEFT JOIN residents p ON p.id = t.resident_id LEFT JOIN bank_rules r ON r.id = t.rule_id
		WHERE t.id = $1`, id).Scan(&town, &x.ResidentName, &x.RuleName, &x.Points)
	if db.IsNoRows(err) {
		return x, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return x, err
	}
	if err := auth.Can(a, PermReverse, auth.Scope{TownID: town}); err != nil {
		return Reversal{}, auth.Hide(err)
	}
	return x, nil
}

// Order is one order for those who may cancel it: the resident who placed it, or the shop staff
// of its village.
func (s *Service) Order(ctx context.Context, a *auth.Actor, id int64) (Redemption, error) {
	r, err := s.redemption(ctx, id)
	if err != nil {
		return r, err
	}
	if auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: r.ResidentID}) == nil {
		return r, nil
	}
	tg, err := s.target(ctx, r.ResidentID)
	if err != nil {
		return Redemption{}, err
	}
	if err := auth.Can(a, PermFulfil, auth.Scope{TownID: tg.Town.ID, VillageID: r.VillageID}); err != nil {
		return Redemption{}, auth.Hide(err)
	}
	return r, nil
}
