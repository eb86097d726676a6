package people

import (
	"siwei/internal/auth"
	"siwei/internal/web"
)

// Pillar plugs the registry into the app: the homes, villages, residents, import, accounts and
// audit pages and API, with their console entries. Its entries take the places 0–29 and 80–99 of
// the navigation; the pillars' come between.
func Pillar(s *Service, as *auth.Service) web.Pillar {
	return web.Pillar{
		Name:     "people",
		Messages: Messages,
		Register: func(a *web.App) {
			h := &Handlers{S: s, Auth: as, App: a}
			h.Register()
			h.registerDisplay()
		},
		Nav: []web.NavItem{
			{Path: "/admin", Key: "nav.dashboard", Order: 0},
			{Path: "/admin/villages", Key: "nav.villages", Order: 10, Show: web.MayAny(auth.VillageRead)},
			{Path: "/admin/residents", Key: "nav.residents", Order: 20, Show: web.MayAny(auth.ResidentRead)},
			{Path: "/admin/import", Key: "nav.import", Order: 80, Show: web.MayAny(auth.ResidentImport)},
			{Path: "/admin/accounts", Key: "nav.accounts", Order: 90, Show: web.MayAny(auth.AccountManage)},
			{Path: "/admin/audit", Key: "nav.audit", Order: 95, Show: web.MayAny(auth.AuditRead)},
		},
	}
}
