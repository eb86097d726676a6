package volunteer

import "siwei/internal/web"

// Pillar plugs 微志愿 into the app: its pages and API, its console entry for those who lead
// teams, and its tile on a resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "volunteer",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav:      []web.NavItem{{Path: "/admin/volunteer", Key: "nav.volunteer", Order: 40, Show: web.MayAny(PermLead)}},
		Tiles:    []web.Tile{{Path: "/volunteer", Key: "volunteer.title", Order: 20}},
		Todos:    s.Todos,
	}
}
