package consult

import "siwei/internal/web"

// Pillar plugs 微协商 into the app: its pages and API, its console entry (town and village staff,
// a department's login, a care-team member), and its tile on a resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "consult",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav:      []web.NavItem{{Path: "/admin/consult", Key: "nav.consult", Order: 55, Show: web.MayAny(PermManage, PermHost, PermRespond, PermCare)}},
		Tiles:    []web.Tile{{Path: "/consult", Key: "consult.title", Order: 35}},
		Todos:    s.Todos,
		Figures:  s.OverviewFigures,
	}
}
