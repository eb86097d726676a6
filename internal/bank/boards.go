package bank

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"siwei/internal/auth"
)

// BoardFreshness is how long a ranking board (排行榜) computed by one reader is shown to the next:
// a public board that a village opens at once is summed once, not once a visitor. Postings made
// through this server clear its boards at once, so on one PC the board is always current; a
// posting made through another app server of a district shows within this time.
const BoardFreshness = 5 * time.Second

// maxBoards bounds the boards kept (at most 500 lines each): the period and the length are the
// caller's choice, so the keys are not. Boards older than BoardFreshness are dropped first.
const maxBoards = 1024

type boardKey struct {
	town   int64
	by     string
	period string
	limit  int
}

type board struct {
	items []Ranked
	asOf  time.Time // when the sums were read
	gen   uint64    // the town's earnings generation they were read at
}

// boards are the ranking boards computed lately, per town, way, period and length.
type boards struct {
	mu     sync.Mutex
	m      map[boardKey]board
	gens   sync.Map // town id → *atomic.Uint64, moved on by every posting that earns
	flight singleflight.Group
}

func (b *boards) gen(town int64) *atomic.Uint64 {
	if g, ok := b.gens.Load(town); ok {
		return g.(*atomic.Uint64)
	}
	g, _ := b.gens.LoadOrStore(town, new(atomic.Uint64))
	return g.(*atomic.Uint64)
}

// keep stores a board; when maxBoards are kept, those older than BoardFreshness go first, and if
// that frees nothing, all of them.
func (b *boards) keep(k boardKey, nb board) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= maxBoards {
		for old, ob := range b.m {
			if nb.asOf.Sub(ob.asOf) >= BoardFreshness {
				delete(b.m, old)
			}
		}
	}
	if b.m == nil || len(b.m) >= maxBoards {
		b.m = map[boardKey]board{}
	}
	b.m[k] = nb
}

// earned clears a town's boards: its earnings have changed. Called once the posting has
// committed, so that a board read after it includes it.
func (s *Service) earned(town int64) { s.boards.gen(town).Add(1) }

// Board is Rankings as the pages and the API show it: a board computed less than BoardFreshness
// ago, with no posting through this server since, is served again, and readers asking for the
// same board at the same moment share one computation. asOf is when its sums were read. The
// items are shared: callers must not change them.
func (s *Service) Board(ctx context.Context, townID int64, by, period string, limit int) (items []Ranked, asOf time.Time, err error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if by == "" {
		by = "resident"
	}
	k := boardKey{town: townID, by: by, period: period, limit: limit}
	g := s.boards.gen(townID)
	now := s.Now()
	s.boards.mu.Lock()
	b, ok := s.boards.m[k]
	s.boards.mu.Unlock()
	if ok && b.gen == g.Load() && now.Sub(b.asOf) < BoardFreshness {
		return b.items, b.asOf, nil
	}
	// Readers share a computation only within one generation: a reader who comes after a posting
	// does not take a board whose sums were read before it.
	gen := g.Load()
	v, err, _ := s.boards.flight.Do(fmt.Sprintf("%d|%s|%s|%d|%d", townID, by, period, limit, gen), func() (any, error) {
		// The generation and the time are taken before the sums are read: a posting that commits
		// while they are read moves the generation on, and the next reader computes again.
		b := board{gen: gen, asOf: s.Now()}
		var err error
		// The computation is shared, so one caller's cancellation must not fail the others.
		if b.items, err = s.Rankings(context.WithoutCancel(ctx), townID, by, period, limit); err != nil {
			return nil, err
		}
		s.boards.keep(k, b)
		return b, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	b = v.(board)
	return b.items, b.asOf, nil
}

// Place is where someone stands on a board: the points earned in the period and the rank, which
// others with the same points share (Level). Rank 0: nothing earned in the period.
type Place struct {
	Points int64 `json:"points"`
	Rank   int   `json:"rank"`
	Level  bool  `json:"level"`
}

// Standing is where a resident and their household stand on a period's boards, inside the top
// list or not: the board shows a few dozen places, and the resident looks for their own.
type Standing struct {
	Resident  Place `json:"resident"`
	Household Place `json:"household"`
}

// Standing places a resident and their household on the town's boards of a period (2026-11,
// 2026-Q4, 2026), ranked as Rankings ranks them. Only the resident (or staff who may read their
// ledger) may ask.
func (s *Service) Standing(ctx context.Context, a *auth.Actor, residentID int64, period string) (Standing, error) {
	months, err := Months(period)
	if err != nil {
		return Standing{}, err
	}
	tg, err := s.canSee(ctx, a, residentID)
	if err != nil {
		return Standing{}, err
	}
	var st Standing
	if st.Resident, err = s.place(ctx, tg.R.TownID, "resident_id", residentID, months); err != nil {
		return st, err
	}
	if st.Household, err = s.place(ctx, tg.R.TownID, "household_id", tg.R.HouseholdID, months); err != nil {
		return st, err
	}
	return st, nil
}

// place ranks one resident or household (col names which) among the town's by points earned in
// months: one more than those with more points.
func (s *Service) place(ctx context.Context, townID int64, col string, id int64, months []string) (Place, error) {
	args := []any{townID, id}
	ph := make([]string, len(months))
	for i, m := range months {
		args = append(args, m)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	in := strings.Join(ph, ", ")
	var pl Place
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(points), 0) FROM bank_earnings
		WHERE town_id = $1 AND `+col+` = $2 AND period IN (`+in+`)`, args...).Scan(&pl.Points); err != nil {
		return pl, fmt.Errorf("bank: standing: %w", err)
	}
	if pl.Points <= 0 {
		return Place{}, nil
	}
	args[1] = pl.Points
	var above, level int64
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN pts > $2 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN pts = $2 THEN 1 ELSE 0 END), 0)
		FROM (SELECT SUM(points) AS pts FROM bank_earnings WHERE town_id = $1 AND period IN (`+in+`) GROUP BY `+col+`) x`, args...).Scan(&above, &level); err != nil {
		return pl, fmt.Errorf("bank: standing: %w", err)
	}
	pl.Rank, pl.Level = int(above)+1, level > 1
	return pl, nil
}
