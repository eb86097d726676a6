package school

import "siwei/internal/web"

// Pillar plugs 微党校 into the app: its pages and API, its console entry (the town's staff land on
// the courses, an expert on their own page, a village admin on the menu), and its tile on a
// resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "school",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav:      []web.NavItem{{Path: "/admin/school", Key: "nav.school", Order: 50, Show: web.MayAny(PermManage, PermTeach, PermMenu)}},
		Tiles:    []web.Tile{{Path: "/school", Key: "school.title", Order: 30}},
		Todos:    s.Todos,
		Figures:  s.OverviewFigures,
	}
}
