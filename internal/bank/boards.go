package bank

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"siwei/internal/auth"
	"siwei/internal/keep"
)

// BoardFreshness is how long a ranking board (排行榜) computed by one reader is shown to the next:
// a public board that a village opens at once is summed once, not once a visitor. Postings made
// through this server clear its boards at once, so on one PC the board is always current; a
// posting made through another app server of a district shows within this time.
const BoardFreshness = 5 * time.Second

// maxBoards bounds the boards kept (at most 500 lines each): the period and the length are the
// caller's choice, so the keys are not.
const maxBoards = 1024

// boards are the ranking boards computed lately, per town, way, period and length, each of its
// town's earnings generation.
type boards struct {
	kept *keep.Cache[[]Ranked]
	gens sync.Map // town id → *atomic.Uint64, moved on by every posting that earns
}

func newBoards() boards {
	return boards{kept: &keep.Cache[[]Ranked]{Fresh: BoardFreshness, Max: maxBoards}}
}

func (b *boards) gen(town int64) *atomic.Uint64 {
	if g, ok := b.gens.Load(town); ok {
		return g.(*atomic.Uint64)
	}
	g, _ := b.gens.LoadOrStore(town, new(atomic.Uint64))
	return g.(*atomic.Uint64)
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
	key := fmt.Sprintf("%d|%s|%s|%d", townID, by, period, limit)
	return s.boards.kept.Get(ctx, key, s.boards.gen(townID).Load(), s.Now, func(ctx context.Context) ([]Ranked, error) {
		return s.Rankings(ctx, townID, by, period, limit)
	})
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
