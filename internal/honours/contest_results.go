package honours

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/web"
)

// Result is an entry's result in a closed round: the judges counted, the trimmed mean of their
// weighted totals (out of 100; the highest and the lowest dropped when there are at least
// trimFrom judges), the lowest and highest total (the spread), and its rank: in its village in
// the village round, in the town in the town round.
type Result struct {
	Round  string  `json:"round"`
	Judges int     `json:"judges"`
	Score  float64 `json:"score"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Rank   int     `json:"rank"`
}

// Spread is the distance between the lowest and the highest judge's total.
func (r Result) Spread() float64 { return round2(r.High - r.Low) }

// trimFrom is the number of judges from which the highest and the lowest total are dropped.
const trimFrom = 5

// outlierGap is how far, in points out of 100, a judge's total of an entry may be from the
// panel's median before the organisers are shown it.
const outlierGap = 15

// round2 rounds to hundredths, as results are kept.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// TrimmedMean is the aggregate of an entry's totals across judges (评审团平均分): their mean, after
// dropping the highest and the lowest when there are at least five.
func TrimmedMean(totals []float64) float64 {
	if len(totals) == 0 {
		return 0
	}
	xs := slices.Clone(totals)
	slices.Sort(xs)
	if len(xs) >= trimFrom {
		xs = xs[1 : len(xs)-1]
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// median is the middle of the totals.
func median(totals []float64) float64 {
	xs := slices.Clone(totals)
	slices.Sort(xs)
	n := len(xs)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// results reads a contest's results, by entry.
func (s *Service) results(ctx context.Context, q db.Querier, contestID int64) (map[int64][]Result, error) {
	rows, err := q.QueryContext(ctx, `SELECT entry_id, round, judges, score, low, high, rank FROM honours_contest_results WHERE contest_id = $1 ORDER BY round = 'town', rank`, contestID)
	if err != nil {
		return nil, fmt.Errorf("honours: results: %w", err)
	}
	defer rows.Close()
	out := map[int64][]Result{}
	for rows.Next() {
		var id int64
		var r Result
		var score, low, high int64
		if err := rows.Scan(&id, &r.Round, &r.Judges, &score, &low, &high, &r.Rank); err != nil {
			return nil, err
		}
		r.Score, r.Low, r.High = float64(score)/100, float64(low)/100, float64(high)/100
		out[id] = append(out[id], r)
	}
	return out, rows.Err()
}

// totals are the judges' weighted totals of each entry in a round, by entry, then judge.
func (s *Service) totals(ctx context.Context, q db.Querier, c Contest, round string) (map[int64]map[string]float64, error) {
	sheets, err := s.sheets(ctx, q, `sh.contest_id = $1 AND sh.round = $2`, c.ID, round)
	if err != nil {
		return nil, err
	}
	out := map[int64]map[string]float64{}
	for _, sh := range sheets {
		m := map[int64]int{}
		for _, k := range sh.Marks {
			m[k.CriterionID] = k.Score
		}
		if out[sh.EntryID] == nil {
			out[sh.EntryID] = map[string]float64{}
		}
		out[sh.EntryID][sh.JudgeName+"\x00"+fmt.Sprint(sh.accountID)] = total(c, m)
	}
	return out, nil
}

// CloseContestRound closes the round under way, with the organiser's reason, and unseals its scores:
// each entry scored gets its trimmed mean, spread and rank. Closing the village round sends the
// top Advance of each village to the town round; closing the town round puts its top Winners on
// public notice (公示), to be published and paid. Judges who have not finished are named in the
// audit; closing cannot be undone.
func (s *Service) CloseContestRound(ctx context.Context, a *auth.Actor, contestID int64, reason string) (Contest, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Contest{}, err
	}
	reason = strings.TrimSpace(reason)
	var f errs.Fields
	f.Text("reason", reason, maxReason, true)
	if err := f.Err(); err != nil {
		return Contest{}, err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.contest(ctx, tx, contestID)
		if err == nil && !manages(a, c.TownID) {
			if _, rerr := s.reader(ctx, tx, a, c); rerr != nil {
				return rerr
			}
			return auth.Refuse(a, PermManage)
		}
		if err != nil {
			return err
		}
		round := c.Round()
		if round == "" {
			return errs.New(errs.Conflict, "honours.contest.round_closed")
		}
		panel, err := s.progress(ctx, tx, c)
		if err != nil {
			return err
		}
		var unfinished []string
		for _, j := range panel {
			if j.Round == round && !j.Finished() {
				unfinished = append(unfinished, j.Name)
			}
		}
		totals, err := s.totals(ctx, tx, c, round)
		if err != nil {
			return err
		}
		entries, err := s.contestEntries(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		type scored struct {
			e     Entry
			score float64
			r     Result
		}
		var list []scored
		for _, e := range entries {
			byJudge := totals[e.ID]
			if len(byJudge) == 0 {
				continue
			}
			xs := make([]float64, 0, len(byJudge))
			for _, x := range byJudge {
				xs = append(xs, x)
			}
			r := Result{Round: round, Judges: len(xs), Score: round2(TrimmedMean(xs)), Low: round2(slices.Min(xs)), High: round2(slices.Max(xs))}
			list = append(list, scored{e: e, score: r.Score, r: r})
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].score > list[j].score })
		ranks := map[int64]int{}
		for i := range list {
			key := int64(0)
			if round == RoundVillage {
				key = list[i].e.VillageID
			}
			ranks[key]++
			list[i].r.Rank = ranks[key]
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_contest_results (contest_id, entry_id, round, judges, score, low, high, rank) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				c.ID, list[i].e.ID, round, list[i].r.Judges, int64(math.Round(list[i].r.Score*100)), int64(math.Round(list[i].r.Low*100)), int64(math.Round(list[i].r.High*100)), list[i].r.Rank); err != nil {
				return fmt.Errorf("honours: result: %w", err)
			}
		}
		now := s.Now()
		link := fmt.Sprintf("/honours/contests/%d", c.ID)
		if round == RoundVillage {
			var advanced []int64
			for _, x := range list {
				if x.r.Rank <= c.Advance {
					advanced = append(advanced, x.e.ID)
					if err := s.Notify.Tell(ctx, tx, x.e.residentID, notify.Outcome{Title: "honours.outcome.advanced_title", Body: "honours.outcome.advanced", Args: []any{c.Title, x.e.Village}, Link: link}); err != nil {
						return err
					}
				}
			}
			if len(advanced) > 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE honours_contest_entries SET advanced = TRUE WHERE id IN (`+db.IDList(advanced)+`)`); err != nil {
					return fmt.Errorf("honours: advance: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE honours_contests SET status = 'town', village_closed_at = $1, closed_by_name = $2, close_reason = $3, updated_at = $1 WHERE id = $4`,
				now, a.Name, reason, c.ID); err != nil {
				return fmt.Errorf("honours: close round: %w", err)
			}
		} else {
			var items []NoticeItem
			for _, x := range list {
				if x.r.Rank > c.Winners {
					break
				}
				items = append(items, NoticeItem{ItemID: x.e.ID, Rank: x.r.Rank, ResidentID: x.e.residentID, HouseholdID: x.e.householdID, VillageID: x.e.VillageID,
					Label: s.entryLabel(x.e), Detail: s.t("honours.contest.notice_detail", fmt.Sprintf("%.2f", x.r.Score))})
			}
			if _, err := tx.ExecContext(ctx, `UPDATE honours_contests SET status = 'closed', town_closed_at = $1, closed_by_name = $2, close_reason = $3, updated_at = $1 WHERE id = $4`,
				now, a.Name, reason, c.ID); err != nil {
				return fmt.Errorf("honours: close round: %w", err)
			}
			if _, err := s.openNotice(ctx, tx, a, Notice{TownID: c.TownID, Kind: NoticeContest, RefID: c.ID, Title: s.t("honours.contest.notice_title", c.Title)}, items); err != nil {
				return err
			}
			for _, it := range items {
				if err := s.Notify.Tell(ctx, tx, it.ResidentID, notify.Outcome{Title: "honours.outcome.winner_title", Body: "honours.outcome.winner", Args: []any{c.Title, it.Rank}, Link: link}); err != nil {
					return err
				}
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.contest.close", Entity: "honours_contest", EntityID: c.ID, TownID: c.TownID,
			Summary: auth.Summarize(map[string]any{"status": c.Status}, map[string]any{"round": round, "scored": len(list), "unfinished": unfinished, "reason": reason})})
	})
	if err != nil {
		return Contest{}, err
	}
	return s.contest(ctx, s.DB.Read(), contestID)
}

// Outlier is a judge whose total of an entry is far (more than outlierGap) from the panel's
// median, shown to the organisers once the round is closed.
type Outlier struct {
	Round  string  `json:"round"`
	Judge  string  `json:"judge"`
	Entry  string  `json:"entry"`
	Total  float64 `json:"total"`
	Median float64 `json:"median"`
}

// Gap is how far the judge's total is from the median.
func (o Outlier) Gap() float64 { return round2(math.Abs(o.Total - o.Median)) }

// Report is what a contest's organisers see: each judge's progress and the entries hidden from
// them, the outliers of the closed rounds, and the notice of its winners once open.
type Report struct {
	Panel    []Judge   `json:"panel"`
	Outliers []Outlier `json:"outliers"`
}

// ContestReport is a contest's Report, for its organisers only.
func (s *Service) ContestReport(ctx context.Context, a *auth.Actor, contestID int64) (Report, error) {
	panel, err := s.Panel(ctx, a, contestID)
	if err != nil {
		return Report{}, err
	}
	q := s.DB.Read()
	c, err := s.contest(ctx, q, contestID)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Panel: panel, Outliers: []Outlier{}}
	entries, err := s.contestEntries(ctx, q, c.ID)
	if err != nil {
		return rep, err
	}
	label := map[int64]string{}
	for _, e := range entries {
		label[e.ID] = s.entryLabel(e)
	}
	for _, round := range []string{RoundVillage, RoundTown} {
		if !c.Closed(round) {
			continue
		}
		totals, err := s.totals(ctx, q, c, round)
		if err != nil {
			return rep, err
		}
		for _, e := range entries {
			byJudge := totals[e.ID]
			if len(byJudge) < 3 {
				continue
			}
			xs := make([]float64, 0, len(byJudge))
			for _, x := range byJudge {
				xs = append(xs, x)
			}
			med := median(xs)
			for judge, x := range byJudge {
				if math.Abs(x-med) > outlierGap {
					name, _, _ := strings.Cut(judge, "\x00")
					rep.Outliers = append(rep.Outliers, Outlier{Round: round, Judge: name, Entry: label[e.ID], Total: round2(x), Median: round2(med)})
				}
			}
		}
	}
	sort.SliceStable(rep.Outliers, func(i, j int) bool { return rep.Outliers[i].Gap() > rep.Outliers[j].Gap() })
	return rep, nil
}

// contestPublisher records a contest's winners when its notice is published, and pays their
// points under the contest's rule.
func (s *Service) contestPublisher() publisher {
	return publisher{
		Keep: func(ctx context.Context, tx *sql.Tx, a *auth.Actor, n Notice, kept []NoticeItem) error {
			ids := make([]int64, len(kept))
			for i, it := range kept {
				ids[i] = it.ItemID
			}
			if len(ids) > 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE honours_contest_entries SET won = TRUE WHERE contest_id = $1 AND id IN (`+db.IDList(ids)+`)`, n.RefID); err != nil {
					return fmt.Errorf("honours: winners: %w", err)
				}
			}
			_, err := tx.ExecContext(ctx, `UPDATE honours_contests SET status = 'published', updated_at = $1 WHERE id = $2`, s.Now(), n.RefID)
			return err
		},
		Pay: func(ctx context.Context, a *auth.Actor, n Notice) error {
			q := s.DB.Read()
			c, err := s.contest(ctx, q, n.RefID)
			if err != nil {
				return err
			}
			entries, err := s.contestEntries(ctx, q, c.ID)
			if err != nil {
				return err
			}
			var earnings []bank.Earning
			var paid []Entry
			for _, e := range entries {
				if !e.Won || e.Paid {
					continue
				}
				earnings = append(earnings, bank.Earning{Key: fmt.Sprintf("honours:contest:%d:entry:%d", c.ID, e.ID), ResidentID: e.residentID, RuleCode: c.RuleCode, Reason: c.Title})
				paid = append(paid, e)
			}
			if len(earnings) == 0 {
				return nil
			}
			res, err := s.Bank.Earn(ctx, a, earnings)
			if err != nil {
				return err
			}
			var retry error
			for i, r := range res {
				txID, note, again := r.Answer("honours.contest.pay_pending")
				if again != nil {
					retry = again
					continue
				}
				if err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, `UPDATE honours_contest_entries SET transaction_id = $1, pay_note = $2 WHERE id = $3`, db.NullID(txID), note, paid[i].ID)
					return err
				}); err != nil {
					return fmt.Errorf("honours: winner paid: %w", err)
				}
			}
			return retry
		},
	}
}

// contestTodos are what waits in contests: for a judge, the entries still to score; for the
// organisers, rounds under way and the judges who have not finished.
func (s *Service) contestTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	var out []web.Todo
	if a == nil || a.AccountID == 0 {
		return nil, nil
	}
	if auth.MayAnywhere(a, PermJudge) == nil {
		work, err := s.Judging(ctx, a)
		if err != nil {
			return nil, err
		}
		left := 0
		for _, w := range work {
			left += len(w.Entries) - w.Done
		}
		if left > 0 {
			out = append(out, web.Todo{Key: "honours.todo.contest_score", Count: left, Path: "/admin/judging"})
		}
	}
	if manages(a, a.TownID) {
		q := s.DB.Read()
		rows, err := q.QueryContext(ctx, `SELECT id FROM honours_contests WHERE town_id = $1 AND status IN ('village', 'town') ORDER BY id`, a.TownID)
		if err != nil {
			return nil, fmt.Errorf("honours: contest todos: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		unfinished := 0
		for _, id := range ids {
			c, err := s.contest(ctx, q, id)
			if err != nil {
				return nil, err
			}
			panel, err := s.progress(ctx, q, c)
			if err != nil {
				return nil, err
			}
			for _, j := range panel {
				if j.Round == c.Round() && !j.Finished() {
					unfinished++
				}
			}
		}
		if len(ids) > 0 {
			out = append(out, web.Todo{Key: "honours.todo.contest_close", Count: len(ids), Path: "/admin/honours/contests"})
		}
		if unfinished > 0 {
			out = append(out, web.Todo{Key: "honours.todo.contest_unfinished", Count: unfinished, Path: "/admin/honours/contests"})
		}
	}
	return out, nil
}

// ContestCertificates are the printable certificates (荣誉证书) of a contest's published winners,
// for its organisers.
func (s *Service) ContestCertificates(ctx context.Context, a *auth.Actor, contestID int64) ([]Certificate, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	c, err := s.contest(ctx, q, contestID)
	if err == nil && !manages(a, c.TownID) {
		if _, rerr := s.reader(ctx, q, a, c); rerr != nil {
			return nil, rerr
		}
		return nil, auth.Refuse(a, PermManage)
	}
	if err != nil {
		return nil, err
	}
	town, err := s.People.Town(ctx, c.TownID)
	if err != nil {
		return nil, err
	}
	entries, err := s.contestEntries(ctx, q, c.ID)
	if err != nil {
		return nil, err
	}
	results, err := s.results(ctx, q, c.ID)
	if err != nil {
		return nil, err
	}
	day := town.Clock(s.Now).Today()
	out := []Certificate{}
	for _, e := range entries {
		if !e.Won {
			continue
		}
		rank := 0
		for _, r := range results[e.ID] {
			if r.Round == RoundTown {
				rank = r.Rank
			}
		}
		out = append(out, Certificate{Name: s.entryLabel(e), Village: e.Village, Citation: s.t("honours.contest.citation", town.Name, c.Title, rank),
			Town: s.t("honours.contest.issuer", town.Name), Date: s.t("honours.contest.date", day.Year(), int(day.Month()), day.Day())})
	}
	return out, nil
}
