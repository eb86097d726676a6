package bank

import (
	"context"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Todos counts what waits for the actor in the bank: for staff, in the villages of their town
// where they may act, claims to review, objections to decide, orders to hand over and goods
// running low; for a resident, their claims on notice and their orders to collect.
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	var out []web.Todo
	if self := a.Self(); self != 0 {
		for _, c := range []struct {
			key, path, q string
		}{
			{"bank.todo.my_notice", "/bank/claims", `SELECT COUNT(*) FROM bank_claims WHERE resident_id = $1 AND status = 'notice'`},
			{"bank.todo.my_orders", "/bank/orders", `SELECT COUNT(*) FROM bank_redemptions WHERE resident_id = $1 AND status = 'reserved'`},
		} {
			var n int
			if err := s.DB.Read().QueryRowContext(ctx, c.q, self).Scan(&n); err != nil {
				return nil, fmt.Errorf("bank: to-dos: %w", err)
			}
			out = append(out, web.Todo{Key: c.key, Count: n, Path: c.path})
		}
	}
	if !a.IsStaff() || a.TownID == 0 {
		return out, nil
	}
	for _, c := range []struct {
		act       auth.Action
		key, path string
		q         string // counts in town $1, village_id IN the actor's villages appended
	}{
		{PermReview, "bank.todo.claims", "/admin/bank/claims?status=pending",
			`SELECT COUNT(*) FROM bank_claims WHERE town_id = $1 AND status = 'pending'`},
		{PermReview, "bank.todo.objections", "/admin/bank/claims?status=notice",
			`SELECT COUNT(*) FROM bank_objections o JOIN bank_claims c ON c.id = o.claim_id WHERE c.town_id = $1 AND o.status = 'open'`},
		{PermFulfil, "bank.todo.orders", "/admin/bank/orders",
			`SELECT COUNT(*) FROM bank_redemptions WHERE village_id IN (SELECT id FROM villages WHERE town_id = $1) AND status = 'reserved'`},
		{PermShop, "bank.todo.low_stock", "/admin/bank/shop",
			`SELECT COUNT(*) FROM bank_stock st JOIN bank_items i ON i.id = st.item_id WHERE i.town_id = $1 AND i.active AND i.kind = 'goods' AND st.quantity <= i.low_stock`},
	} {
		all, ids := auth.Visible(a, c.act, a.TownID)
		if !all && len(ids) == 0 {
			continue
		}
		q := c.q
		if !all {
			col := "village_id"
			if c.key == "bank.todo.objections" {
				col = "c.village_id"
			} else if c.key == "bank.todo.low_stock" {
				col = "st.village_id"
			}
			// The ids are the actor's grants, numbers and never input: written in the query.
			q += " AND " + col + " IN (" + joinIDs(ids) + ")"
		}
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, q, a.TownID).Scan(&n); err != nil {
			return nil, fmt.Errorf("bank: to-dos: %w", err)
		}
		out = append(out, web.Todo{Key: c.key, Count: n, Path: c.path})
	}
	return out, nil
}
