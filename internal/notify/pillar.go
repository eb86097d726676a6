package notify

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Pillar plugs the in-app messages into the app: the inbox and its tile on a resident's home,
// with the number of unread messages.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "notify",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Tiles: []web.Tile{{Path: "/notifications", Key: "notify.title", Order: 90, First: true, BadgeKey: "notify.unread",
			Badge: func(ctx context.Context, a *auth.Actor) (int, error) { return s.Unread(ctx, a.Self()) }}},
	}
}
