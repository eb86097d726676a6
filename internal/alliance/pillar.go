package alliance

import (
	"context"
	"siwei/internal/auth"
	"siwei/internal/web"
	"slices"
)

// Pillar plugs 微联盟 into the app: its pages and API, its console entries (the alliance for the
// town's and villages' staff and the units' liaisons; the dispute centre for its staff alone),
// and its tile on a resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "alliance",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav: []web.NavItem{
			{Path: "/admin/alliance", Key: "nav.alliance", Order: 60, Show: web.MayAny(PermManage, PermVillage, PermUnit)},
			{Path: "/admin/disputes", Key: "nav.disputes", Order: 61, Show: MayHandleDisputes},
		},
		Tiles:   []web.Tile{{Path: "/alliance", Key: "alliance.title", Order: 40}},
		Todos:   s.Todos,
		Figures: s.OverviewFigures,
	}
}

// Todos are what waits for the actor in 微联盟: the projects their side is to act on, a village's
// donated items still to hand out, and, for the dispute centre's staff, bookings to answer and
// cases past their time.
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	lists, err := s.ListsTodos(ctx, a)
	if err != nil {
		return nil, err
	}
	disputes, err := s.DisputeTodos(ctx, a)
	if err != nil {
		return nil, err
	}
	shares, err := s.DonationTodos(ctx, a)
	if err != nil {
		return nil, err
	}
	return slices.Concat(lists, shares, disputes), nil
}
