package bank

import (
	"context"

	"siwei/internal/db"
	"siwei/internal/notify"
)

// tell sends a resident the outcome of something they asked for or that concerns them, inside
// the transaction that decided it (notify.Tell). A bank built without a notifier tells nobody.
func (s *Service) tell(ctx context.Context, tx db.Querier, residentID int64, o notify.Outcome) error {
	if s.Notify == nil {
		return nil
	}
	return s.Notify.Tell(ctx, tx, residentID, o)
}

// claimOutcome is what the claimant is told when their claim moves on: which claim, and where
// to see it.
func claimOutcome(c Claim, title, body string, args ...any) notify.Outcome {
	return notify.Outcome{Title: title, Body: body, Args: append([]any{c.RuleName, c.Points}, args...), Link: "/bank/claims"}
}
