package report

import "siwei/internal/web"

// Pillar plugs the dashboard into the app: its pages and API, and its entry at the top of the
// staff console for those who may see figures.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "report",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav:      []web.NavItem{{Path: "/admin/report", Key: "nav.report", Order: 1, Show: web.MayAny(PermView)}},
	}
}
