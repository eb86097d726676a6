package alliance

import "siwei/internal/web"

// Pillar plugs 微联盟 into the app: its pages and API, its console entries (the alliance for the
// town's and villages' staff and the units' liaisons; the dispute centre for its staff alone),
// and its tile on a resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "alliance",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		// Nav and Tiles come with the landing pages (/admin/alliance, /admin/disputes, /alliance).
	}
}
