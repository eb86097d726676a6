package bank

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"siwei/internal/clock"
	"slices"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// Balance is a resident's account as the card shows it.
type Balance struct {
	ResidentID int64 `json:"resident_id"`
	Balance    int64 `json:"balance"`
	Earned     int64 `json:"earned"`
}

// canSee checks that the actor may read a resident's account: the resident (or staff acting for
// them), or bank staff of the village.
func (s *Service) canSee(ctx context.Context, a *auth.Actor, residentID int64) (target, error) {
	tg, err := s.target(ctx, residentID)
	if err != nil {
		return tg, err
	}
	if auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: residentID}) == nil {
		return tg, nil
	}
	return tg, auth.Hide(auth.Can(a, PermLedger, auth.Scope{TownID: tg.R.TownID, VillageID: tg.R.VillageID}))
}

// Account returns a resident's balance and lifetime earnings (zero before the first posting).
func (s *Service) Account(ctx context.Context, a *auth.Actor, residentID int64) (Balance, error) {
	if _, err := s.canSee(ctx, a, residentID); err != nil {
		return Balance{}, err
	}
	b := Balance{ResidentID: residentID}
	err := s.DB.Read().QueryRowContext(ctx, `SELECT balance, earned FROM bank_accounts WHERE resident_id = $1`, residentID).Scan(&b.Balance, &b.Earned)
	if err != nil && !db.IsNoRows(err) {
		return b, fmt.Errorf("bank: account: %w", err)
	}
	return b, nil
}

// Line is one entry of a 善行簿: the running balance, the rule, the reason, who approved, when.
type Line struct {
	Seq           int64     `json:"seq"`
	TransactionID int64     `json:"transaction_id"`
	Kind          string    `json:"kind"`
	Amount        int64     `json:"amount"`
	Balance       int64     `json:"balance"`
	RuleCode      string    `json:"rule_code"`
	RuleName      string    `json:"rule_name"`
	Reason        string    `json:"reason"`
	ApprovedBy    string    `json:"approved_by"`
	ReversesID    int64     `json:"reverses_id"`
	Hash          string    `json:"hash"`
	At            time.Time `json:"at"`
}

// StatementFilter picks a period (from ≤ at < to, either may be zero) and a page: lines before
// the entry number Before (0 for the newest), newest first. Transaction, when not 0, keeps only
// the resident's line of that transaction (the award page naming the award just made).
type StatementFilter struct {
	From, To    time.Time
	Before      int64
	Transaction int64
	Limit       int
}

// Statement lists a resident's entries, newest first, a page at a time by entry number.
func (s *Service) Statement(ctx context.Context, a *auth.Actor, residentID int64, f StatementFilter) ([]Line, error) {
	if _, err := s.canSee(ctx, a, residentID); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	acct, err := s.accountOf(ctx, s.DB.Read(), residentID)
	if errors.Is(err, errNoAccount) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// By account id, so that both engines walk the (account_id, seq) index backwards.
	args := []any{acct}
	where := "e.account_id = $1"
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Before > 0 {
		add("e.seq < $%d", f.Before)
	}
	if f.Transaction > 0 {
		add("e.transaction_id = $%d", f.Transaction)
	}
	if !f.From.IsZero() {
		add("e.created_at >= $%d", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("e.created_at < $%d", f.To.UTC())
	}
	args = append(args, f.Limit)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT e.seq, e.transaction_id, t.kind, e.amount, e.balance_after, t.rule_code, COALESCE(r.name, ''),
		t.reason, t.approved_by, COALESCE(t.reverses_id, 0), e.hash, e.created_at
		FROM bank_entries e JOIN bank_transactions t ON t.id = e.transaction_id
		LEFT JOIN bank_rules r ON r.id = t.rule_id
		WHERE `+where+fmt.Sprintf(` ORDER BY e.seq DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("bank: statement: %w", err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.Seq, &l.TransactionID, &l.Kind, &l.Amount, &l.Balance, &l.RuleCode, &l.RuleName, &l.Reason, &l.ApprovedBy,
			&l.ReversesID, &l.Hash, &l.At); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Ranked is one place on a ranking board. Minors' names are masked on public boards. Places
// with the same points (on the village board, the same points per head) share a rank, as in
// competition ranking: 1, 2, 2, 4.
type Ranked struct {
	Rank    int     `json:"rank"`
	ID      int64   `json:"id"`
	Name    string  `json:"name"`
	Village string  `json:"village"`
	Points  int64   `json:"points"`
	PerHead float64 `json:"per_head,omitempty"`
	// VillageID is the village of the resident or household (the village itself on its board),
	// for pages that link a place only where the viewer may open it.
	VillageID int64 `json:"-"`
	heads     int64 // residents in the register, on the village board
}

var periodRE = regexp.MustCompile(`^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$`)

// Months lists the months (YYYY-MM) of a period written as 2026-11, 2026-Q4 or 2026.
func Months(period string) ([]string, error) {
	m := periodRE.FindStringSubmatch(period)
	if m == nil {
		return nil, errs.Field("period", "bank.period_invalid")
	}
	switch {
	case m[2] != "":
		return []string{period}, nil
	case m[3] != "":
		q, _ := strconv.Atoi(m[3])
		return []string{fmt.Sprintf("%s-%02d", m[1], 3*q-2), fmt.Sprintf("%s-%02d", m[1], 3*q-1), fmt.Sprintf("%s-%02d", m[1], 3*q)}, nil
	}
	out := make([]string, 12)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", m[1], i+1)
	}
	return out, nil
}

// Rankings ranks a town's residents, households (文明大户: the sum of members) or villages (per
// resident in the register: the basis of the monthly 流动红旗) by points earned in a period. It
// reads the per-resident monthly earnings kept with each posting, never the ledger.
func (s *Service) Rankings(ctx context.Context, townID int64, by, period string, limit int) ([]Ranked, error) {
	months, err := Months(period)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	args := []any{townID}
	ph := make([]string, len(months))
	for i, m := range months {
		args = append(args, m)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	in := strings.Join(ph, ", ")
	args = append(args, limit)
	lim := fmt.Sprintf("$%d", len(args))
	var q string
	switch by {
	case "resident", "":
		q = `SELECT e.id, r.name, v.name, v.id, '', r.birth_date, e.pts FROM (SELECT resident_id AS id, SUM(points) AS pts FROM bank_earnings
			WHERE town_id = $1 AND period IN (` + in + `) GROUP BY resident_id HAVING SUM(points) > 0 ORDER BY pts DESC, resident_id LIMIT ` + lim + `) e
			JOIN residents r ON r.id = e.id JOIN villages v ON v.id = r.village_id ORDER BY e.pts DESC, e.id`
	case "household":
		sums := `SELECT household_id AS id, SUM(points) AS pts FROM bank_earnings WHERE town_id = $1 AND period IN (` + in + `) GROUP BY household_id`
		having := `SUM(points) > 0`
		if s.DB.Engine == db.Postgres {
			// PostgreSQL would hash the sums over a scan of the table; asked for the rows in
			// household order, it walks the covering index (town, period, household, …) and sums
			// each household as it passes, in a fraction of the time. (SQLite walks the index
			// either way, and would sort again if asked.) The sum is taken in double precision,
			// exact for integers below 2^53, instead of SUM(BIGINT)'s numeric, which costs more
			// than the scan itself.
			sums = `SELECT id, CAST(SUM(CAST(points AS DOUBLE PRECISION)) AS BIGINT) AS pts FROM (SELECT household_id AS id, points FROM bank_earnings
				WHERE town_id = $1 AND period IN (` + in + `) ORDER BY household_id) s GROUP BY id`
			having = `SUM(CAST(points AS DOUBLE PRECISION)) > 0`
		}
		q = `SELECT e.id, h.number, v.name, v.id, COALESCE(hr.name, ''), COALESCE(hr.birth_date, ''), e.pts FROM (` + sums + ` HAVING ` + having + ` ORDER BY pts DESC, id LIMIT ` + lim + `) e
			JOIN households h ON h.id = e.id JOIN villages v ON v.id = h.village_id LEFT JOIN residents hr ON hr.id = h.head_resident_id
			ORDER BY e.pts DESC, e.id`
	case "village":
		// Every village: the board is ranked by points per head, known only once all are read,
		// and cut to the limit after.
		args = args[:len(args)-1]
		q = `SELECT v.id, v.name, '', v.id, '', '', COALESCE(e.pts, 0) FROM villages v LEFT JOIN (SELECT village_id, SUM(points) AS pts FROM bank_earnings
			WHERE town_id = $1 AND period IN (` + in + `) GROUP BY village_id) e ON e.village_id = v.id
			WHERE v.town_id = $1 ORDER BY 7 DESC, v.id`
	default:
		return nil, errs.Field("by", "bank.ranking_invalid")
	}
	// The town first: holding the rows' connection while asking the pool for another can starve it.
	t, err := s.town(ctx, townID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("bank: rankings: %w", err)
	}
	defer rows.Close()
	today := t.Clock(s.Now).Today()
	// A board is public: a minor's name, a resident's or a household head's, shows masked.
	minor := func(birthDate string) bool {
		birth, err := time.Parse(clock.DayLayout, birthDate)
		return err == nil && (people.Resident{BirthDate: birth}).Age(today) < 18
	}
	var out []Ranked
	for rows.Next() {
		var x Ranked
		var head, birth string
		if err := rows.Scan(&x.ID, &x.Name, &x.Village, &x.VillageID, &head, &birth, &x.Points); err != nil {
			return nil, err
		}
		switch by {
		case "resident", "":
			if minor(birth) {
				x.Name = MaskMinor(x.Name)
			}
		case "household":
			if head != "" && minor(birth) {
				head = MaskMinor(head)
			}
			if head != "" {
				x.Name = x.Name + " " + head
			}
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if by == "village" {
		if err := s.perHead(ctx, townID, out); err != nil {
			return nil, err
		}
		out = out[:min(len(out), limit)]
		rank(out, func(a, b Ranked) bool { return perHeadCmp(a, b) == 0 })
		return out, nil
	}
	rank(out, func(a, b Ranked) bool { return a.Points == b.Points })
	return out, nil
}

// rank numbers a board in its order, a place level with the one before it sharing its rank
// (competition ranking: 1, 2, 2, 4).
func rank(board []Ranked, level func(a, b Ranked) bool) {
	for i := range board {
		board[i].Rank = i + 1
		if i > 0 && level(board[i-1], board[i]) {
			board[i].Rank = board[i-1].Rank
		}
	}
}

// perHead divides each village's points by its residents in the register and re-ranks by that.
func (s *Service) perHead(ctx context.Context, townID int64, vs []Ranked) error {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT village_id, COUNT(*) FROM residents WHERE town_id = $1 AND status = 'active' GROUP BY village_id`, townID)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := map[int64]int64{}
	for rows.Next() {
		var id, c int64
		if err := rows.Scan(&id, &c); err != nil {
			return err
		}
		n[id] = c
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range vs {
		vs[i].heads = n[vs[i].ID]
		if vs[i].heads > 0 {
			vs[i].PerHead = float64(vs[i].Points) / float64(vs[i].heads)
		}
	}
	// By the exact quotient, so that 0.93 and 0.88 are not level because both show as 0.9; then
	// by points, then as read.
	slices.SortStableFunc(vs, func(a, b Ranked) int {
		if c := perHeadCmp(b, a); c != 0 {
			return c
		}
		return cmp.Compare(b.Points, a.Points)
	})
	return nil
}

// perHeadCmp compares two villages' points per head exactly, as p·h' against p'·h; a village
// with nobody in the register has none.
func perHeadCmp(a, b Ranked) int {
	num := func(x Ranked) (int64, int64) {
		if x.heads <= 0 {
			return 0, 1
		}
		return x.Points, x.heads
	}
	ap, ah := num(a)
	bp, bh := num(b)
	return cmp.Compare(ap*bh, bp*ah)
}

// Figures are the bank's headline numbers for a town or a village.
type Figures struct {
	VillageID   int64  `json:"village_id"`
	Village     string `json:"village"`
	Issued      int64  `json:"issued"`
	Redeemed    int64  `json:"redeemed"`
	Refunded    int64  `json:"refunded"`
	Outstanding int64  `json:"outstanding"`
	Accounts    int64  `json:"accounts"`
}

// TownFigures sums points issued, redeemed and outstanding per village from the resident accounts
// and their entries; staff see the villages they may read.
func (s *Service) TownFigures(ctx context.Context, a *auth.Actor, townID int64) ([]Figures, error) {
	all, ids, err := visible(a, PermLedger, townID)
	if err != nil {
		return nil, err
	}
	// From the accounts (lifetime earnings net of reversals, balances) and the orders, by the
	// residents' village: never a scan of the ledger, which at a town's scale is 150,000 postings.
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT v.id, v.name, COALESCE(a.issued, 0), COALESCE(o.redeemed, 0), COALESCE(o.refunded, 0), COALESCE(a.outstanding, 0), COALESCE(a.accounts, 0)
		FROM villages v
		LEFT JOIN (SELECT r.village_id, SUM(ac.earned) AS issued, SUM(ac.balance) AS outstanding, COUNT(*) AS accounts
			FROM bank_accounts ac JOIN residents r ON r.id = ac.resident_id WHERE ac.kind = 'resident' AND r.town_id = $1 GROUP BY r.village_id) a ON a.village_id = v.id
		LEFT JOIN (SELECT r.village_id, SUM(o.points) AS redeemed, SUM(CASE WHEN o.refund_id IS NOT NULL THEN o.points ELSE 0 END) AS refunded
			FROM bank_redemptions o JOIN residents r ON r.id = o.resident_id WHERE r.town_id = $1 GROUP BY r.village_id) o ON o.village_id = v.id
		WHERE v.town_id = $1 ORDER BY v.code, v.id`, townID)
	if err != nil {
		return nil, fmt.Errorf("bank: figures: %w", err)
	}
	defer rows.Close()
	var out []Figures
	for rows.Next() {
		var f Figures
		if err := rows.Scan(&f.VillageID, &f.Village, &f.Issued, &f.Redeemed, &f.Refunded, &f.Outstanding, &f.Accounts); err != nil {
			return nil, err
		}
		if all || slices.Contains(ids, f.VillageID) {
			out = append(out, f)
		}
	}
	return out, rows.Err()
}

// Headline is the bank's numbers on the staff overview of a town, as the article counts them:
// cards opened (开卡数), residents who log in themselves (注册用户), points issued (全镇总积分),
// redeemed and outstanding; each links to the page behind it. Staff who may not read the ledger
// get none.
func (s *Service) Headline(ctx context.Context, a *auth.Actor, townID int64) ([]web.Figure, error) {
	if all, ids := auth.Visible(a, PermLedger, townID); !all && len(ids) == 0 {
		return nil, nil
	}
	cards, err := s.CardFigures(ctx, a, townID)
	if err != nil {
		return nil, err
	}
	points, err := s.TownFigures(ctx, a, townID)
	if err != nil {
		return nil, err
	}
	var nCards, nLogins int
	for _, c := range cards {
		nCards += c.Cards
		nLogins += c.Logins
	}
	var total Figures
	for _, f := range points {
		total.Issued += f.Issued
		total.Redeemed += f.Redeemed
		total.Outstanding += f.Outstanding
	}
	q := fmt.Sprintf("?town_id=%d", townID)
	return []web.Figure{
		{Key: "bank.card_fig.cards", Value: int64(nCards), Path: "/admin/bank/cards" + q},
		{Key: "bank.card_fig.logins", Value: int64(nLogins), Path: "/admin/bank/cards" + q},
		{Key: "bank.fig.issued", Value: total.Issued, Path: "/admin/bank" + q},
		{Key: "bank.fig.redeemed", Value: total.Redeemed, Path: "/admin/bank/orders" + q},
		{Key: "bank.fig.outstanding", Value: total.Outstanding, Path: "/admin/bank" + q},
	}, nil
}
