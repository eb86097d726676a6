package notify

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Pillar plugs the in-app messages into the app: the inbox and its tile on a resident's home,
// with the number of messages waiting for them, and the same number among the home's to-dos.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "notify",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Tiles: []web.Tile{{Path: "/notifications", Key: "notify.title", Order: 90, First: true, BadgeKey: "notify.unread",
			Badge: func(ctx context.Context, a *auth.Actor) (int, error) {
				n, _, err := s.Waiting(ctx, a.Self())
				return n, err
			}}},
		Todos: s.Todos,
	}
}

// Todos tells a resident of the messages waiting for them (Waiting): "3 条未读消息", or with 每日
// 汇总, once today's digest is made, "今日汇总：3 条未读消息".
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	n, today, err := s.Waiting(ctx, a.Self())
	if err != nil || n == 0 {
		return nil, err
	}
	key := "notify.todo.unread"
	if today {
		key = "notify.todo.digest"
	}
	return []web.Todo{{Key: key, Count: n, Path: "/notifications"}}, nil
}
