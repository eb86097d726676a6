package bank

import (
	"context"
	"fmt"

	"siwei/internal/db"
	"siwei/internal/notify"
)

// claimOutcome is what the claimant is told when their claim moves on: which claim, and where
// to see it.
func claimOutcome(c Claim, title, body string, args ...any) notify.Outcome {
	return notify.Outcome{Title: title, Body: body, Args: append([]any{c.RuleName, c.Points}, args...), Link: "/bank/claims"}
}

// tellOrder tells a resident that their order moved on, naming the item, how many, and the
// village whose shop holds it; the body's placeholders after those three take args.
func (s *Service) tellOrder(ctx context.Context, tx db.Querier, r Redemption, title, body string, args ...any) error {
	if s.Notify == nil {
		return nil
	}
	var village string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM villages WHERE id = $1`, r.VillageID).Scan(&village); err != nil {
		return fmt.Errorf("bank: order %d: village: %w", r.ID, err)
	}
	return s.Notify.Tell(ctx, tx, r.ResidentID, notify.Outcome{Title: title, Body: body,
		Args: append([]any{r.ItemName, r.Quantity, village}, args...), Link: "/bank/orders"})
}
