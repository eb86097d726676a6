package bank

import (
	"context"
	"time"

	"siwei/internal/auth"
	"siwei/internal/errs"
)

// Claim is a 申报 on its way to the notice board (placeholder while claims are being built).
type Claim struct {
	ID          int64     `json:"id"`
	Status      string    `json:"status"`
	NoticeUntil time.Time `json:"notice_until"`
}

func (s *Service) noticeAward(ctx context.Context, a *auth.Actor, tg target, rule Rule, in AwardInput) (*Claim, error) {
	return nil, errs.New(errs.Conflict, "bank.notice_required")
}
