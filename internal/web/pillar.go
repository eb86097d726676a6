package web

import (
	"context"
	"io/fs"
	"slices"
	"strings"

	"siwei/internal/auth"
)

// Pillar is everything a pillar plugs into the app: its routes, its messages, its entry in the
// staff console's navigation and its tile on a resident's home. The shared layout and the home
// page name no pillar; they draw what the pillars plugged in. Adding a pillar is building its
// Pillar and listing it in the server's wiring.
type Pillar struct {
	// Name is the pillar's namespace: of its message keys, its permission actions and the event
	// keys it pays points under.
	Name string
	// Messages holds locales/<lang>.json for every language in Langs (see LoadCatalog).
	Messages fs.FS
	// Register parses the pillar's templates and registers its routes.
	Register func(*App)
	// Nav are the pillar's entries in the staff console's side navigation.
	Nav []NavItem
	// Tiles are the pillar's links on a resident's home page.
	Tiles []Tile
	// Todos counts what waits for the actor in the pillar (claims to review, orders to hand over,
	// a resident's claims on notice), for the staff overview and the resident's home: every role
	// lands on its work. Nil has none.
	Todos func(ctx context.Context, a *auth.Actor) ([]Todo, error)
	// Figures are the pillar's headline numbers for the staff overview of a town, within what the
	// actor may see of it (the villages of a village's staff): each links to the page behind it,
	// so that a number can be checked. Nil has none.
	Figures func(ctx context.Context, a *auth.Actor, townID int64) ([]Figure, error)
}

// Figure is a headline number of a pillar on the staff overview: 已发放积分 1,436,839.
type Figure struct {
	Key   string // message key of what it counts
	Value int64
	Path  string // the page behind the number, within the viewer's scope
}

// Todo is a count of work waiting for someone, with the page where it is done.
type Todo struct {
	Key   string // message key, with the count as its one argument: "%d 件申报待审核"
	Count int
	Path  string
}

// NavItem is an entry of the staff console's navigation.
type NavItem struct {
	Path  string // the page it opens; the entry is marked current on it and the pages below it
	Key   string // the message key of its text
	Order int    // its place: lower first (the registry's entries are 0–29 and 80–99)
	// Show says whether an actor sees the entry: nil shows it to all staff. Use MayAny so that a
	// role sees only what it may do.
	Show func(*auth.Actor) bool
}

// Tile is a link on a resident's home page.
type Tile struct {
	Path  string
	Key   string
	Order int
	// Badge, when set, counts what waits for the resident there (unread messages); 0 shows none.
	Badge func(ctx context.Context, a *auth.Actor) (int, error)
	// BadgeKey says what the count is, for the badge's title (notify.unread: "3 条未读").
	BadgeKey string
	// First puts the tile first in 大字模式 (balance, card, messages), where a screen holds fewer.
	First bool
	// Note, when set, is a line under the tile's name: its message key and arguments (余额 120 分).
	Note func(ctx context.Context, a *auth.Actor) (key string, args []any, err error)
}

// MayAny shows an entry to an actor who may take any of the actions somewhere.
func MayAny(acts ...auth.Action) func(*auth.Actor) bool {
	return func(a *auth.Actor) bool {
		for _, act := range acts {
			if all, villages := auth.Visible(a, act, 0); all || len(villages) > 0 {
				return true
			}
		}
		return false
	}
}

// Plug adds a pillar: registers its templates and routes, and its navigation entries and tiles in
// their order. Its messages are loaded with the catalog (LoadCatalog), before the app is built.
func (a *App) Plug(p Pillar) {
	if p.Register != nil {
		p.Register(a)
	}
	a.nav = append(a.nav, p.Nav...)
	slices.SortStableFunc(a.nav, func(x, y NavItem) int { return x.Order - y.Order })
	a.tiles = append(a.tiles, p.Tiles...)
	slices.SortStableFunc(a.tiles, func(x, y Tile) int { return x.Order - y.Order })
	if p.Todos != nil {
		a.todos = append(a.todos, p.Todos)
	}
	if p.Figures != nil {
		a.figures = append(a.figures, p.Figures)
	}
}

// NavLink is a navigation entry as the layout draws it.
type NavLink struct {
	Path string
	Text string
	On   bool
}

// Nav is the staff console's navigation for the page's actor: the entries they may use, the
// current one marked.
func (p *Page) Nav() []NavLink {
	if p.app == nil {
		return nil
	}
	var out []NavLink
	for _, n := range p.app.nav {
		if n.Show != nil && !n.Show(p.Actor) {
			continue
		}
		on := p.Path == n.Path || (n.Path != "/admin" && strings.HasPrefix(p.Path, n.Path+"/"))
		out = append(out, NavLink{Path: n.Path, Text: p.T(n.Key), On: on})
	}
	return out
}

// TileLink is a home-page tile as the page draws it.
type TileLink struct {
	Path       string
	Text       string
	Badge      int
	BadgeTitle string
	Note       string
}

// Tiles are the resident home's links, with what waits behind each. A badge that cannot be
// counted is left off rather than failing the home page.
func (p *Page) Tiles() []TileLink {
	if p.app == nil {
		return nil
	}
	var out []TileLink
	tiles := p.app.tiles
	if p.Actor != nil && p.Actor.LargeText {
		tiles = slices.Clone(tiles)
		slices.SortStableFunc(tiles, func(x, y Tile) int {
			switch {
			case x.First == y.First:
				return 0
			case x.First:
				return -1
			}
			return 1
		})
	}
	for _, t := range tiles {
		l := TileLink{Path: t.Path, Text: p.T(t.Key)}
		if t.Badge != nil {
			n, err := t.Badge(p.ctx, p.Actor)
			if err != nil {
				p.app.Log.Warn("home tile badge", "path", t.Path, "err", err)
			}
			l.Badge = n
			if n > 0 && t.BadgeKey != "" {
				l.BadgeTitle = p.T(t.BadgeKey, n)
			}
		}
		if t.Note != nil {
			key, args, err := t.Note(p.ctx, p.Actor)
			if err != nil {
				p.app.Log.Warn("home tile note", "path", t.Path, "err", err)
			} else if key != "" {
				l.Note = p.T(key, args...)
			}
		}
		out = append(out, l)
	}
	return out
}

// TodoLink is a to-do as a page draws it: its sentence and where the work is.
type TodoLink struct {
	Path string
	Text string
}

// Todos are the counts of work waiting for the page's actor across the pillars, those with
// nothing waiting left out: on a console page the staff work (paths under /admin), elsewhere the
// resident's own. A pillar whose count fails is logged and left out rather than
// failing the page that lists the work.
func (p *Page) Todos() []TodoLink {
	if p.app == nil || p.Actor == nil {
		return nil
	}
	var out []TodoLink
	for _, f := range p.app.todos {
		ts, err := f(p.ctx, p.Actor)
		if err != nil {
			p.app.Log.Warn("to-dos", "err", err)
			continue
		}
		for _, t := range ts {
			// The console lists staff work; the resident's home, their own.
			if t.Count > 0 && strings.HasPrefix(t.Path, "/admin") == strings.HasPrefix(p.Path, "/admin") {
				out = append(out, TodoLink{Path: t.Path, Text: p.T(t.Key, t.Count)})
			}
		}
	}
	return out
}

// FigureLink is a headline figure as the overview draws it.
type FigureLink struct {
	Path  string
	Text  string
	Value int64
}

// Figures are the pillars' headline numbers for the overview of a town, in the pillars' order.
// A pillar whose figures fail is logged and left out rather than failing the overview.
func (p *Page) Figures(townID int64) []FigureLink {
	if p.app == nil || p.Actor == nil || townID == 0 {
		return nil
	}
	var out []FigureLink
	for _, f := range p.app.figures {
		fs, err := f(p.ctx, p.Actor, townID)
		if err != nil {
			p.app.Log.Warn("figures", "err", err)
			continue
		}
		for _, x := range fs {
			out = append(out, FigureLink{Path: x.Path, Text: p.T(x.Key), Value: x.Value})
		}
	}
	return out
}

// Part is a part of a pillar a landing page opens (/alliance, /admin/honours): its page, the
// message key of its name (Key) and of the line under it (Key + "_what"), and who is shown the
// link (nil: everyone who reaches the landing page). The page itself still refuses whoever may not
// use it.
type Part struct {
	Path string
	Key  string
	Show func(*auth.Actor) bool
}

// PartLink is a part as a landing page draws it.
type PartLink struct {
	Path string
	Key  string
	What string
}

// PartsFor are the parts of list the actor is shown, in order.
func PartsFor(list []Part, a *auth.Actor) []PartLink {
	out := []PartLink{}
	for _, p := range list {
		if p.Show == nil || p.Show(a) {
			out = append(out, PartLink{Path: p.Path, Key: p.Key, What: p.Key + "_what"})
		}
	}
	return out
}
