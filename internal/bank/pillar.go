package bank

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Pillar plugs the bank into the app: its pages and API, its console entry for staff who may use
// any of its actions, and its tile on a resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "bank",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav: []web.NavItem{{Path: "/admin/bank", Key: "nav.bank", Order: 30,
			Show: web.MayAny(PermLedger, PermShop, PermFulfil, PermReview, PermAward, PermRules, PermReverse)}},
		Tiles: []web.Tile{{Path: "/bank", Key: "bank.title", Order: 10, First: true,
			Note: func(ctx context.Context, a *auth.Actor) (string, []any, error) {
				b, err := s.Account(ctx, a, a.Self())
				return "bank.tile_balance", []any{b.Balance}, err
			}},
			{Path: "/bank/card", Key: "bank.nav.card", Order: 11, First: true}},
		Todos:   s.Todos,
		Figures: s.Headline,
	}
}
