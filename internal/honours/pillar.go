package honours

import (
	"context"
	"slices"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Pillar plugs the bank's public side into the app: its pages and API, its console entries (the
// public side for the town's and villages' staff; judging for a contest's judges), and its tile
// on a resident's home.
func Pillar(s *Service) web.Pillar {
	return web.Pillar{
		Name:     "honours",
		Messages: Messages,
		Register: func(a *web.App) { (&Handlers{S: s, App: a}).Register() },
		Nav: []web.NavItem{
			{Path: "/admin/honours", Key: "nav.honours", Order: 62, Show: web.MayAny(PermManage, PermVillage)},
			{Path: "/admin/judging", Key: "nav.judging", Order: 63, Show: web.MayAny(PermJudge)},
		},
		Tiles: []web.Tile{{Path: "/honours", Key: "honours.title", Order: 45, Note: s.flagNote}},
		Todos: s.Todos,
	}
}

// Todos are what waits for the actor on the public side: objections to decide and lists to
// publish, nominations to admit or consent to, anomalies to review, entries to score, and each
// part's own.
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	var out []web.Todo
	objections, due, err := s.noticesTodo(ctx, a)
	if err != nil {
		return nil, err
	}
	if objections > 0 {
		out = append(out, web.Todo{Key: "honours.todo.objections", Count: objections, Path: "/admin/honours/notices"})
	}
	if due > 0 {
		out = append(out, web.Todo{Key: "honours.todo.publish", Count: due, Path: "/admin/honours/notices"})
	}
	for _, part := range []func(context.Context, *auth.Actor) ([]web.Todo, error){s.nominationTodos, s.roundTodos, s.actionTodos, s.contestTodos, s.flagTodos} {
		todos, err := part(ctx, a)
		if err != nil {
			return nil, err
		}
		out = slices.Concat(out, todos)
	}
	return out, nil
}
