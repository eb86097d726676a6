package honours

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
)

// HouseholdRank is a household on a month's 文明大户 list: its place, its points of the month,
// and what the board shows (the head's name, a minor's masked).
type HouseholdRank struct {
	HouseholdID int64  `json:"household_id"`
	VillageID   int64  `json:"village_id"`
	Village     string `json:"village"`
	Rank        int    `json:"rank"`
	Points      int64  `json:"points"`
	Label       string `json:"label"`
	headID      int64
}

// HouseholdList is a month's 文明大户 list (文明大户榜): the top households by the month's points,
// on public notice (公示) with objections, then published without the households struck.
type HouseholdList struct {
	ID            int64           `json:"id"`
	TownID        int64           `json:"town_id"`
	Month         string          `json:"month"`
	Size          int             `json:"size"`
	CreatedByName string          `json:"created_by_name,omitempty"`
	PublishedAt   time.Time       `json:"published_at,omitzero"`
	NoticeID      int64           `json:"notice_id"`
	Status        string          `json:"status"`
	Items         []HouseholdRank `json:"items"`
}

// Year is the year of the list's month.
func (l HouseholdList) Year() int { y, _ := yearMonth(l.Month); return y }

// MonthNum is the list's month, 1 to 12.
func (l HouseholdList) MonthNum() int { _, m := yearMonth(l.Month); return m }

// HouseholdsInput puts a month's list on notice: the town (0: the actor's), the month, and how
// many places (10 when 0).
type HouseholdsInput struct {
	TownID int64  `json:"town_id,omitempty"`
	Month  string `json:"month"`
	Size   int    `json:"size,omitempty"`
}

// The places of a list: 10 unless the town says, at most 50. Households level with the last place
// are on the list too, up to maxLevel more.
const (
	defaultHouseholds = 10
	maxHouseholds     = 50
	maxLevel          = 50
)

// householdRanks are the top households of a town in a month by the bank's household board
// (bank.Rankings over bank_earnings), size places and those level with the last, labelled by
// their head's name, a minor's masked.
func (s *Service) householdRanks(ctx context.Context, townID int64, month string, size int) ([]HouseholdRank, error) {
	board, err := s.Bank.Rankings(ctx, townID, "household", month, size+maxLevel)
	if err != nil {
		return nil, err
	}
	var out []HouseholdRank
	var ids []int64
	for _, b := range board {
		if b.Rank > size || b.Points <= 0 {
			break
		}
		out = append(out, HouseholdRank{HouseholdID: b.ID, VillageID: b.VillageID, Village: b.Village, Rank: b.Rank, Points: b.Points})
		ids = append(ids, b.ID)
	}
	if len(out) == 0 {
		return out, nil
	}
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return nil, err
	}
	today := town.Clock(s.Now).Today()
	type head struct {
		id           int64
		name, number string
		birth        string
	}
	heads := map[int64]head{}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT h.id, COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.birth_date, ''), h.number FROM households h
		LEFT JOIN residents r ON r.id = h.head_resident_id WHERE h.id IN (`+db.IDList(ids)+`)`)
	if err != nil {
		return nil, fmt.Errorf("honours: household heads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var h head
		if err := rows.Scan(&id, &h.id, &h.name, &h.birth, &h.number); err != nil {
			return nil, err
		}
		heads[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		h := heads[out[i].HouseholdID]
		out[i].headID, out[i].Label = h.id, h.name
		if h.name == "" {
			out[i].Label = h.number
		}
		if birth, err := time.Parse(clock.DayLayout, h.birth); err == nil && (people.Resident{BirthDate: birth}).Age(today) < 18 {
			out[i].Label = bank.MaskMinor(h.name)
		}
	}
	return out, nil
}

// HouseholdsPreview is the list a month would put on notice now, for the town's staff.
func (s *Service) HouseholdsPreview(ctx context.Context, a *auth.Actor, townID int64, month string, size int) ([]HouseholdRank, error) {
	townID = townOf(a, townID)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return nil, err
	}
	if size <= 0 {
		size = defaultHouseholds
	}
	if !monthRE.MatchString(month) || size > maxHouseholds {
		return nil, errs.Field("month", "honours.flag.month_invalid")
	}
	return s.householdRanks(ctx, townID, month, size)
}

// OpenHouseholds puts a finished month's 文明大户 list on notice for the whole town, with the
// households' heads named (a minor's masked). A month has one list on notice or published: a
// second answers Conflict, however the two race; after a list is withdrawn a new one may go up.
func (s *Service) OpenHouseholds(ctx context.Context, a *auth.Actor, in HouseholdsInput) (Notice, error) {
	townID := townOf(a, in.TownID)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return Notice{}, err
	}
	in.Month = strings.TrimSpace(in.Month)
	if in.Size == 0 {
		in.Size = defaultHouseholds
	}
	var f errs.Fields
	if in.Size < 1 || in.Size > maxHouseholds {
		f.Add("size", "honours.households.size_range", maxHouseholds)
	}
	if err := s.finishedMonth(ctx, townID, in.Month); err != nil {
		e, ok := errs.As(err)
		if !ok || len(e.Fields) == 0 {
			return Notice{}, err
		}
		f.Add("month", e.Fields[0].Key)
	}
	if err := f.Err(); err != nil {
		return Notice{}, err
	}
	ranks, err := s.householdRanks(ctx, townID, in.Month, in.Size)
	if err != nil {
		return Notice{}, err
	}
	if len(ranks) == 0 {
		return Notice{}, errs.New(errs.Conflict, "honours.households.none")
	}
	y, m := yearMonth(in.Month)
	var n Notice
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var live, attempts int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN n.status = 'withdrawn' THEN 0 ELSE 1 END), 0), COUNT(*) FROM honours_household_lists l
			LEFT JOIN honours_notices n ON n.kind = $1 AND n.ref_id = l.id WHERE l.town_id = $2 AND l.month = $3`, NoticeHouseholds, townID, in.Month).Scan(&live, &attempts); err != nil {
			return fmt.Errorf("honours: households: %w", err)
		}
		if live > 0 {
			return errs.New(errs.Conflict, "honours.households.exists")
		}
		var listID int64
		err := tx.QueryRowContext(ctx, `INSERT INTO honours_household_lists (town_id, month, attempt, size, created_by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (town_id, month, attempt) DO NOTHING RETURNING id`, townID, in.Month, attempts+1, in.Size, a.Name, s.Now()).Scan(&listID)
		if db.IsNoRows(err) {
			return errs.New(errs.Conflict, "honours.households.exists")
		}
		if err != nil {
			return fmt.Errorf("honours: households: %w", err)
		}
		items := make([]NoticeItem, 0, len(ranks))
		for _, r := range ranks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_household_items (list_id, household_id, village_id, rank, points, label) VALUES ($1, $2, $3, $4, $5, $6)`,
				listID, r.HouseholdID, r.VillageID, r.Rank, r.Points, r.Label); err != nil {
				return fmt.Errorf("honours: household item: %w", err)
			}
			items = append(items, NoticeItem{ItemID: r.HouseholdID, Rank: r.Rank, ResidentID: r.headID, HouseholdID: r.HouseholdID, VillageID: r.VillageID,
				Village: r.Village, Label: r.Label, Detail: s.t("honours.households.detail", r.Points)})
		}
		n, err = s.openNotice(ctx, tx, a, Notice{TownID: townID, Kind: NoticeHouseholds, RefID: listID, Title: s.t("honours.households.title_of", y, m)}, items)
		return err
	})
	return n, err
}

// householdsPublisher keeps a month's list as published: the households not struck, each head told.
func (s *Service) householdsPublisher() publisher {
	return publisher{Keep: func(ctx context.Context, tx *sql.Tx, a *auth.Actor, n Notice, kept []NoticeItem) error {
		var month string
		if err := tx.QueryRowContext(ctx, `SELECT month FROM honours_household_lists WHERE id = $1`, n.RefID).Scan(&month); err != nil {
			return fmt.Errorf("honours: households list %d: %w", n.RefID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE honours_household_lists SET published_at = $1 WHERE id = $2`, n.PublishedAt, n.RefID); err != nil {
			return fmt.Errorf("honours: publish households: %w", err)
		}
		y, m := yearMonth(month)
		for _, it := range kept {
			if _, err := tx.ExecContext(ctx, `UPDATE honours_household_items SET kept = TRUE WHERE list_id = $1 AND household_id = $2`, n.RefID, it.ItemID); err != nil {
				return fmt.Errorf("honours: keep household: %w", err)
			}
			if err := s.Notify.Tell(ctx, tx, it.ResidentID, notify.Outcome{Title: "honours.outcome.households_title", Body: "honours.outcome.households",
				Args: []any{y, m}, Link: "/honours/households?month=" + month}); err != nil {
				return err
			}
		}
		return nil
	}}
}

// householdList reads a town's list of a month (the published one, or with staff the latest
// attempt in any state), NotFound when there is none.
func (s *Service) householdList(ctx context.Context, q db.Querier, townID int64, month string, published bool) (HouseholdList, error) {
	var l HouseholdList
	var pub sql.NullTime
	cond := ""
	if published {
		cond = ` AND l.published_at IS NOT NULL`
	}
	err := q.QueryRowContext(ctx, `SELECT l.id, l.town_id, l.month, l.size, l.created_by_name, l.published_at, COALESCE(n.id, 0), COALESCE(n.status, '')
		FROM honours_household_lists l LEFT JOIN honours_notices n ON n.kind = $1 AND n.ref_id = l.id
		WHERE l.town_id = $2 AND l.month = $3`+cond+` ORDER BY l.attempt DESC LIMIT 1`, NoticeHouseholds, townID, month).
		Scan(&l.ID, &l.TownID, &l.Month, &l.Size, &l.CreatedByName, &pub, &l.NoticeID, &l.Status)
	if db.IsNoRows(err) {
		return l, notFound
	}
	if err != nil {
		return l, fmt.Errorf("honours: households list: %w", err)
	}
	l.PublishedAt = pub.Time
	keptOnly := ""
	if published {
		keptOnly = ` AND i.kept`
	}
	rows, err := q.QueryContext(ctx, `SELECT i.household_id, i.village_id, v.name, i.rank, i.points, i.label FROM honours_household_items i
		JOIN villages v ON v.id = i.village_id WHERE i.list_id = $1`+keptOnly+` ORDER BY i.rank, i.household_id`, l.ID)
	if err != nil {
		return l, fmt.Errorf("honours: households items: %w", err)
	}
	defer rows.Close()
	l.Items = []HouseholdRank{}
	for rows.Next() {
		var r HouseholdRank
		if err := rows.Scan(&r.HouseholdID, &r.VillageID, &r.Village, &r.Rank, &r.Points, &r.Label); err != nil {
			return l, err
		}
		l.Items = append(l.Items, r)
	}
	return l, rows.Err()
}

// HouseholdBoard is the published 文明大户 lists of a town as its residents and staff read them:
// the months published, the latest first, and the list of a month ("" the latest).
type HouseholdBoard struct {
	TownID int64          `json:"town_id"`
	Months []string       `json:"months"`
	Month  string         `json:"month"`
	List   *HouseholdList `json:"list,omitempty"`
}

// maxHouseholdMonths bounds the months a board offers.
const maxHouseholdMonths = 60

// HouseholdBoard reads the published lists of a town (the actor's when 0).
func (s *Service) HouseholdBoard(ctx context.Context, a *auth.Actor, townID int64, month string) (HouseholdBoard, error) {
	townID = townOf(a, townID)
	if err := s.seesTown(ctx, a, townID); err != nil {
		return HouseholdBoard{}, err
	}
	month = strings.TrimSpace(month)
	if month != "" && !monthRE.MatchString(month) {
		return HouseholdBoard{}, errs.Field("month", "honours.flag.month_invalid")
	}
	q := s.DB.Read()
	b := HouseholdBoard{TownID: townID, Months: []string{}}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT month FROM honours_household_lists WHERE town_id = $1 AND published_at IS NOT NULL ORDER BY month DESC LIMIT %d`, maxHouseholdMonths), townID)
	if err != nil {
		return b, fmt.Errorf("honours: household months: %w", err)
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return b, err
		}
		b.Months = append(b.Months, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}
	if month == "" && len(b.Months) > 0 {
		month = b.Months[0]
	}
	b.Month = month
	if month == "" {
		return b, nil
	}
	l, err := s.householdList(ctx, q, townID, month, true)
	if errs.Is(err, errs.NotFound) {
		return b, nil
	}
	if err != nil {
		return b, err
	}
	b.List = &l
	return b, nil
}

// HouseholdsOf is a month's latest list in any state, for the town's staff; NotFound when the
// month has none.
func (s *Service) HouseholdsOf(ctx context.Context, a *auth.Actor, townID int64, month string) (HouseholdList, error) {
	townID = townOf(a, townID)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return HouseholdList{}, err
	}
	return s.householdList(ctx, s.DB.Read(), townID, month, false)
}
