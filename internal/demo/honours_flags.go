package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/honours"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/web"
)

// demoFlagWeights is the demo town's published formula of the 流动红旗: points per head, with
// 微志愿 hours per head and the party members' lesson coverage weighed in.
var demoFlagWeights = honours.Weights{Points: 1, Hours: 2, Lessons: 10}

// HonoursFlags gives the demo town twelve months of 流动红旗 and 文明大户 lists: the town's admin
// sets the formula, then on the 2nd of each of the last twelve months awards the month before by
// it (from the points, volunteer hours and lessons the other steps left in the ledger and the kit),
// puts the month's top ten households on notice and publishes them when the notice is over (last
// month's may still be on notice today), with the services' own clock set to those days. It runs last, after every step that earns points, and
// does nothing when the town has flags already.
func HonoursFlags(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_flags WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	cat, err := web.LoadCatalog(honours.Messages)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var now time.Time
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return now.UTC().Truncate(time.Microsecond) }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	t := func(key string, args ...any) string { return cat.T(web.DefaultLang, key, args...) }
	bs := bank.NewService(d, ps)
	bs.Now = at
	ns := &notify.Service{DB: d, Now: at, T: t}
	hs := honours.NewService(d, ps, bs, ns)
	hs.Now, hs.T = at, t
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	sess, err := demoLogin(ctx, d, PhoneTownAdmin)
	if err != nil {
		return fmt.Errorf("demo: flags: %w", err)
	}
	defer sess.Close(ctx)
	a := sess.Actor
	wall := time.Now()
	this := wall.In(loc)
	first := time.Date(this.Year(), this.Month(), 2, 9, 0, 0, 0, loc).AddDate(0, -11, 0)
	set(first.AddDate(0, 0, -1))
	if _, err := hs.SetFlagWeights(ctx, a, info.TownID, demoFlagWeights); err != nil {
		return fmt.Errorf("demo: flag weights: %w", err)
	}
	for i := range 12 {
		// The 2nd of each month awards the month before; this month's 2nd may be today's future.
		day := first.AddDate(0, i, 0)
		if day.After(wall) {
			day = wall.Add(-2 * time.Hour)
		}
		month := first.AddDate(0, i-1, 0).Format("2006-01")
		set(day)
		_, err := hs.AwardFlag(ctx, a, honours.FlagInput{Month: month, Reason: "按公布的公式月度评定"})
		if err != nil && !errs.Is(err, errs.Conflict) { // a month in which nobody scored has no flag
			return fmt.Errorf("demo: flag %s: %w", month, err)
		}
		set(day.Add(time.Hour))
		notice, err := hs.OpenHouseholds(ctx, a, honours.HouseholdsInput{Month: month, Size: 10})
		if errs.Is(err, errs.Conflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo: households %s: %w", month, err)
		}
		// Last month's list may still be on notice today: residents can object to it.
		due := day.Add(bank.NoticePeriod + 2*time.Hour)
		if due.After(wall) {
			continue
		}
		set(due)
		if _, err := hs.Publish(ctx, a, notice.ID); err != nil {
			return fmt.Errorf("demo: publish households %s: %w", month, err)
		}
	}
	return nil
}
