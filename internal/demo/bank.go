package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// The demo town's 积分细则, adopted by the 村民代表大会 in spring; rule codes are shared across
// classes where the deed is the same.
var demoRules = map[people.MemberClass][]bank.RuleInput{
	people.Villager: {
		{Code: "clean", Name: "门前三包", Category: "人居环境", Points: 5, CapPeriod: "week", CapCount: 1},
		{Code: "sort", Name: "垃圾分类", Category: "人居环境", Points: 2, CapPeriod: "day", CapCount: 1},
		{Code: "volunteer", Name: "志愿服务（每次）", Category: "志愿服务", Points: 3},
		{Code: "meeting", Name: "参加村民会议", Category: "村务参与", Points: 2, CapPeriod: "month", CapCount: 4},
		{Code: "help", Name: "邻里互助", Category: "文明新风", Points: 5, NoticeRequired: true},
		{Code: "filial", Name: "孝老爱亲", Category: "文明新风", Points: 10, NoticeRequired: true, EvidenceRequired: true},
		{Code: "garden", Name: "美丽庭院", Category: "人居环境", Points: 20, CapPeriod: "year", CapCount: 1, NoticeRequired: true},
	},
	people.PartyMember: {
		{Code: "clean", Name: "门前三包", Category: "人居环境", Points: 5, CapPeriod: "week", CapCount: 1},
		{Code: "sort", Name: "垃圾分类", Category: "人居环境", Points: 2, CapPeriod: "day", CapCount: 1},
		{Code: "volunteer", Name: "志愿服务（每次）", Category: "志愿服务", Points: 3},
		{Code: "meeting", Name: "参加村民会议", Category: "村务参与", Points: 2, CapPeriod: "month", CapCount: 4},
		{Code: "help", Name: "邻里互助", Category: "文明新风", Points: 5, NoticeRequired: true},
		{Code: "vanguard", Name: "党员先锋岗", Category: "党建引领", Points: 5, CapPeriod: "week", CapCount: 1},
		{Code: "lesson", Name: "微党校学习", Category: "党建引领", Points: 3, CapPeriod: "month", CapCount: 4},
	},
	people.Minor: {
		{Code: "study", Name: "好学上进", Category: "成长", Points: 5, CapPeriod: "month", CapCount: 1},
		{Code: "sort", Name: "小手拉大手·垃圾分类", Category: "人居环境", Points: 2, CapPeriod: "week", CapCount: 1},
		{Code: "volunteer", Name: "少年志愿服务", Category: "志愿服务", Points: 3},
	},
}

var demoItems = []struct {
	in    bank.ItemInput
	stock int // in each village store; a service's places per period are in its input
}{
	{bank.ItemInput{Kind: "goods", Name: "洗衣液", Price: 30, LowStock: 5}, 40},
	{bank.ItemInput{Kind: "goods", Name: "食用油 5L", Price: 50, LowStock: 5}, 30},
	{bank.ItemInput{Kind: "goods", Name: "大米 5kg", Price: 80, LowStock: 5}, 30},
	{bank.ItemInput{Kind: "goods", Name: "毛巾", Price: 15, LowStock: 10}, 60},
	{bank.ItemInput{Kind: "goods", Name: "儿童绘本", Price: 25, Classes: []string{"minor"}, LowStock: 5}, 20},
	{bank.ItemInput{Kind: "service", Name: "上门理发", Description: "志愿者上门为老人理发", Price: 20, LimitCount: 1, LimitPeriod: "month", Capacity: 15, CapacityPeriod: "month"}, 0},
	{bank.ItemInput{Kind: "service", Name: "家电清洗", Price: 60, LimitCount: 1, LimitPeriod: "year", Capacity: 8, CapacityPeriod: "month"}, 0},
}

// Bank gives the demo town its rule sets, its shop, cards for most residents and four months of
// history (awards, orders, claims on the notice board), unless it has them already. It posts
// through the bank itself, with a clock set to past days, so the history is a real ledger.
func Bank(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM bank_rule_sets WHERE town_id = $1`, info.TownID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	now := time.Now()
	var past struct {
		sync.Mutex
		t time.Time
	}
	bs := bank.NewService(d, ps)
	bs.Now = func() time.Time {
		past.Lock()
		defer past.Unlock()
		return past.t.UTC().Truncate(time.Microsecond)
	}
	setClock := func(t time.Time) { past.Lock(); past.t = t; past.Unlock() }
	start := time.Date(now.Year(), now.Month(), 1, 9, 0, 0, 0, time.UTC).AddDate(0, -3, 0)
	setClock(start)

	// The rule sets took effect a year and a month ago, adopted a month before, so that the year of
	// 微党校 lessons the School step makes is paid under them.
	effective := now.AddDate(-1, 0, -30)
	adopted := effective.AddDate(0, -1, 0)

	var villages, goods []int64
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for class, rules := range demoRules {
			if _, err := bs.InsertVersion(ctx, tx, bank.VersionInput{TownID: info.TownID, Class: class, AdoptedBy: "村民代表大会",
				AdoptedOn: clock.Day(adopted), Resolution: "潞城文明〔" + adopted.Format("2006") + "〕3号",
				EffectiveFrom: clock.Day(effective), Rules: rules}, 0); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM villages WHERE town_id = $1 ORDER BY id`, info.TownID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			villages = append(villages, id)
		}
		rows.Close()
		for _, it := range demoItems {
			item, err := bs.InsertItem(ctx, tx, info.TownID, it.in)
			if err != nil {
				return err
			}
			if it.in.Kind == "goods" && len(it.in.Classes) == 0 {
				goods = append(goods, item.ID)
			}
			for _, v := range villages {
				if it.in.Kind == "service" {
					break // a service's places come with the item, every month
				}
				if err := bs.AddStock(ctx, tx, bank.StockInput{ItemID: item.ID, VillageID: v, Quantity: it.stock, Source: "purchase", Note: "镇级统一采购"}, 0); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo: bank setup: %w", err)
	}

	type res struct {
		id    int64
		class people.MemberClass
	}
	var all []res
	rows, err := d.Read().QueryContext(ctx, `SELECT id, birth_date, party_member FROM residents WHERE town_id = $1 AND status = 'active' ORDER BY id`, info.TownID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r people.Resident
		var birth string
		rows.Scan(&r.ID, &birth, &r.PartyMember)
		r.BirthDate, _ = time.Parse(clock.DayLayout, birth)
		all = append(all, res{r.ID, r.Class(now)})
	}
	rows.Close()

	rng := rand.New(rand.NewPCG(uint64(seed), 0x62616e6b))
	staff := auth.System("演示数据")
	run := func(jobs []func() error) error {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		sem := make(chan struct{}, 16)
		for _, j := range jobs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := j(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return first
	}
	// Cards for four residents in five, opened as a village's staff open them in bulk.
	var carded []int64
	for _, r := range all {
		if rng.IntN(5) < 4 {
			carded = append(carded, r.id)
		}
	}
	cards, err := bs.IssueCards(ctx, staff, carded)
	if err != nil {
		return fmt.Errorf("demo: cards: %w", err)
	}
	for _, c := range cards {
		if c.Err != nil {
			return fmt.Errorf("demo: card for resident %d: %w", c.ResidentID, c.Err)
		}
	}
	var jobs []func() error
	// Each week of the last three months: awards to about one resident in four, some orders.
	codes := map[people.MemberClass][]string{
		people.Villager:    {"clean", "sort", "volunteer", "meeting"},
		people.PartyMember: {"clean", "sort", "volunteer", "vanguard", "lesson"},
		people.Minor:       {"study", "sort", "volunteer"},
	}
	event := 0
	for day := start; day.Before(now.AddDate(0, 0, -1)); day = day.AddDate(0, 0, 7) {
		setClock(day)
		// The village clerk's weekly list: one bulk award per rule, as staff enter a meeting's or
		// a clean-up's roster, so a week's awards share a few transactions.
		byCode := map[string][]int64{}
		var order []string
		for _, r := range all {
			if rng.IntN(4) != 0 {
				continue
			}
			cs := codes[r.class]
			code := cs[rng.IntN(len(cs))]
			if byCode[code] == nil {
				order = append(order, code)
			}
			byCode[code] = append(byCode[code], r.id)
		}
		for _, code := range order {
			event++
			_, err := bs.BulkAward(ctx, staff, bank.BulkInput{ResidentIDs: byCode[code], RuleCode: code, Reason: "村委会登记",
				IdempotencyKey: fmt.Sprintf("demo:award:%d", event)})
			if err != nil && !isRefusal(err) {
				return fmt.Errorf("demo: awards: %w", err)
			}
		}
		jobs = jobs[:0]
		for _, r := range all {
			if rng.IntN(20) != 0 {
				continue
			}
			event++
			id, key, item := r.id, fmt.Sprintf("demo:order:%d", event), goods[rng.IntN(len(goods))]
			fulfil := rng.IntN(4) != 0
			jobs = append(jobs, func() error {
				a := &auth.Actor{AccountID: -1, Name: "演示数据", ActingFor: &auth.Person{ID: id}}
				o, err := bs.Redeem(ctx, a, bank.RedeemInput{ItemID: item, Quantity: 1, IdempotencyKey: key})
				if err != nil {
					if isRefusal(err) {
						return nil
					}
					return err
				}
				if fulfil {
					_, err = bs.Fulfil(ctx, staff, o.ID)
				}
				return err
			})
		}
		if err := run(jobs); err != nil {
			return fmt.Errorf("demo: orders: %w", err)
		}
	}
	setClock(now)
	return nil
}

// isRefusal reports whether err is the bank saying no (a cap, too few points), which demo
// history simply skips.
func isRefusal(err error) bool {
	_, ok := errs.As(err)
	return ok
}
