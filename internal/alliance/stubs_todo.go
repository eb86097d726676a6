package alliance

// Placeholders the parts replace, each in its own files (removed as each part lands).

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/db"
)

func (h *Handlers) registerHome()       {}
func (h *Handlers) registerUnits()      {}
func (h *Handlers) registerLists()      {}
func (h *Handlers) registerActivities() {}
func (h *Handlers) registerDonations()  {}
func (h *Handlers) registerDisputes()   {}

func (s *Service) seesMilestonePhoto(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (bool, error) {
	return false, nil
}
func (s *Service) seesActivityPhoto(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (bool, error) {
	return false, nil
}
func (s *Service) seesDonationPhoto(ctx context.Context, q db.Querier, a *auth.Actor, owner string, id int64) (bool, error) {
	return false, nil
}
func (s *Service) seesSessionPhoto(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (bool, error) {
	return false, nil
}
