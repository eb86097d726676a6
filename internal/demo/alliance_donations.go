package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// AllianceDonations gives the demo town its donations, traced to who received them:
// 北京童悦服饰有限公司's 12,000 children's books, allocated to every village by its children and
// handed to them (谢楼村's 刘云煊 among them, told on his phone); the epidemic supplies of 蒙牛
// (milk), 国美 (masks and disinfectant) and 三峡集团 (masks), allocated and partly handed to the
// elderly; 农商银行's cash; and 物美's goods for the points shop, which go into 前疃村's store. It
// runs after the units step, and does nothing when the town has donations already.
func AllianceDonations(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_donations WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	cat, err := web.LoadCatalog(alliance.Messages)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var now time.Time
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return now.UTC().Truncate(time.Microsecond) }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	bs := bank.NewService(d, ps)
	bs.Now = at
	ns := &notify.Service{DB: d, Now: at, T: func(key string, args ...any) string { return cat.T(web.DefaultLang, key, args...) }}
	s := alliance.NewService(d, ps, bs, ns, volunteer.New(d, ps, bs, ns))
	s.Now = at
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	today := clock.In(loc, time.Now).Today()
	day := func(days int) string { return today.AddDate(0, 0, -days).Format(clock.DayLayout) }
	on := func(days int) { set(time.Date(today.Year(), today.Month(), today.Day()-days, 10, 0, 0, 0, loc)) }
	// The town's admin records the donations and their shares, as the town's office would.
	sess, err := demoLogin(ctx, d, PhoneTownAdmin)
	if err != nil {
		return fmt.Errorf("demo: donations: %w", err)
	}
	defer sess.Close(ctx)
	a := sess.Actor
	q := d.Read()

	units := map[string]int64{}
	rows, err := q.QueryContext(ctx, `SELECT id, name FROM alliance_units WHERE town_id = $1`, info.TownID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		units[name] = id
	}
	rows.Close()
	type village struct {
		id       int64
		name     string
		children []donee
		elderly  []donee
	}
	var villages []*village
	rows, err = q.QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY id`, info.TownID)
	if err != nil {
		return err
	}
	for rows.Next() {
		v := &village{}
		if err := rows.Scan(&v.id, &v.name); err != nil {
			rows.Close()
			return err
		}
		villages = append(villages, v)
	}
	rows.Close()
	// 刘云煊, a boy of 谢楼村 who got one of the books.
	liu, err := ensureLiuYunxuan(ctx, d, ps, a, info, today)
	if err != nil {
		return err
	}
	childSince := today.AddDate(-14, 0, 0).Format(clock.DayLayout)
	elderBefore := today.AddDate(-70, 0, 0).Format(clock.DayLayout)
	for _, v := range villages {
		if v.children, err = donees(ctx, q, `SELECT id, household_id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date > $2 AND id <> $3 ORDER BY id`, v.id, childSince, liu); err != nil {
			return err
		}
		if v.elderly, err = donees(ctx, q, `SELECT id, household_id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date <= $2 AND id <> $3 ORDER BY id`, v.id, elderBefore, liu); err != nil {
			return err
		}
	}
	var confirmer int64
	if err := q.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, PhoneTownAdmin).Scan(&confirmer); err != nil {
		return fmt.Errorf("demo: donations: town admin: %w", err)
	}

	give := func(days int, unit string, money int64, note string, items ...alliance.DonationItemInput) (alliance.DonationDetail, error) {
		on(days)
		in := alliance.DonationInput{TownID: info.TownID, UnitID: units[unit], DonatedOn: day(days), MoneyYuan: money, Note: note, Items: items}
		if in.UnitID == 0 {
			in.DonorName = unit
		}
		dd, err := s.CreateDonation(ctx, a, in)
		if err != nil {
			return dd, fmt.Errorf("demo: donation of %s: %w", unit, err)
		}
		return dd, nil
	}
	// share allocates quantity of an item to a village, and hands each donee per, at most what the
	// share holds, confirmed by the town's staff on the day after.
	share := func(dd alliance.DonationDetail, item int, v *village, quantity int, to []donee, per, days int) error {
		if quantity <= 0 {
			return nil
		}
		on(days)
		al, err := s.Allocate(ctx, a, dd.ID, alliance.AllocationInput{ItemID: dd.Items[item].ID, VillageID: v.id, Quantity: quantity})
		if err != nil {
			return fmt.Errorf("demo: allocate to %s: %w", v.name, err)
		}
		if len(to) > quantity/per {
			to = to[:quantity/per]
		}
		if len(to) == 0 {
			return nil
		}
		handedOn := day(days - 1)
		return d.Tx(ctx, func(tx *sql.Tx) error {
			stamp := at()
			for start := 0; start < len(to); start += 200 {
				end := min(start+200, len(to))
				var sb strings.Builder
				args := []any{}
				for i, r := range to[start:end] {
					if i > 0 {
						sb.WriteString(", ")
					}
					b := len(args)
					fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", b+1, b+2, b+3, b+4, b+5, b+6, b+7, b+8, b+9)
					args = append(args, al.ID, dd.ID, v.id, r.id, r.household, per, handedOn, confirmer, stamp)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_donation_handovers (allocation_id, donation_id, village_id, resident_id, household_id, quantity, handed_on, confirmed_by, created_at) VALUES `+sb.String(), args...); err != nil {
					return fmt.Errorf("demo: handovers: %w", err)
				}
			}
			_, err := tx.ExecContext(ctx, `UPDATE alliance_donation_allocations SET handed = $1 WHERE id = $2`, len(to)*per, al.ID)
			return err
		})
	}

	// The books: 12,000 for the villages by their children, nearly all handed out to them.
	books, err := give(200, "北京童悦服饰有限公司", 0, "捐赠儿童图书，助力乡村儿童阅读", alliance.DonationItemInput{Name: "儿童图书", Measure: "本", Quantity: 12000})
	if err != nil {
		return err
	}
	var children int
	for _, v := range villages {
		children += len(v.children)
	}
	left := 12000
	for i, v := range villages {
		qty := 12000 / len(villages)
		if children > 0 {
			qty = 12000 * len(v.children) / children
		}
		if i == len(villages)-1 {
			qty = left
		}
		qty = min(qty, left)
		left -= qty
		// Each child gets an even part of the village's share (a 书包 of books); 谢楼村 keeps ten for
		// 刘云煊, recorded through the service so that he is told.
		kids, per, keep := v.children, 0, 0
		if liu != 0 && v.name == "谢楼村" {
			keep = 10
		}
		if len(kids) > 0 {
			per = max((qty-keep)/len(kids), 1)
		}
		if per > 0 {
			if err := share(books, 0, v, qty, kids[:min(len(kids), (qty-keep)/per)], per, 195); err != nil {
				return err
			}
		} else if err := share(books, 0, v, qty, nil, 1, 195); err != nil {
			return err
		}
		if keep > 0 && qty >= keep {
			var al int64
			if err := q2(ctx, d, `SELECT id FROM alliance_donation_allocations WHERE donation_id = $1 AND village_id = $2`, &al, books.ID, v.id); err != nil {
				return err
			}
			on(194)
			if _, _, err := s.Handover(ctx, a, books.ID, alliance.HandoverInput{AllocationID: al, ResidentID: liu, Quantity: keep, HandedOn: day(194), Confirmed: true}); err != nil {
				return fmt.Errorf("demo: 刘云煊's books: %w", err)
			}
		}
	}

	// The epidemic supplies, allocated to every village and partly handed to the elderly.
	milk, err := give(330, "蒙牛乳业（北京）有限责任公司", 0, "疫情防控爱心捐赠", alliance.DonationItemInput{Name: "纯牛奶", Measure: "箱", Quantity: 1000})
	if err != nil {
		return err
	}
	gome, err := give(328, "国美电器有限公司", 0, "疫情防控物资", alliance.DonationItemInput{Name: "医用口罩", Measure: "个", Quantity: 20000},
		alliance.DonationItemInput{Name: "消毒液", Measure: "瓶", Quantity: 600})
	if err != nil {
		return err
	}
	ctg, err := give(325, "中国三峡集团北京分公司", 0, "疫情防控物资", alliance.DonationItemInput{Name: "医用口罩", Measure: "个", Quantity: 10000})
	if err != nil {
		return err
	}
	for i, v := range villages {
		half := v.elderly[:len(v.elderly)*(1+i%2)/2] // every other village has handed out to all its elderly, the rest to half
		if err := share(milk, 0, v, 1000/len(villages), half, 1, 326); err != nil {
			return err
		}
		if err := share(gome, 0, v, 20000/len(villages), half, 20, 324); err != nil {
			return err
		}
		if err := share(gome, 1, v, 600/len(villages), nil, 1, 324); err != nil {
			return err
		}
		if i < 4 {
			if err := share(ctg, 0, v, 2000, v.elderly, 30, 320); err != nil {
				return err
			}
		}
	}

	// Cash from the bank, and goods for the points shop into 前疃村's store.
	if _, err := give(150, "北京农商银行通州支行", 50000, "支持村级公益事业"); err != nil {
		return err
	}
	var shopItem int64
	err = q.QueryRowContext(ctx, `SELECT id FROM bank_items WHERE town_id = $1 AND kind = 'goods' AND active ORDER BY id LIMIT 1`, info.TownID).Scan(&shopItem)
	if db.IsNoRows(err) {
		return nil // no points shop yet (the bank's step did not run)
	}
	if err != nil {
		return err
	}
	var name string
	if err := q.QueryRowContext(ctx, `SELECT name FROM bank_items WHERE id = $1`, shopItem).Scan(&name); err != nil {
		return err
	}
	_, err = give(60, "北京物美商业集团通州分店", 0, "捐赠积分超市兑换商品",
		alliance.DonationItemInput{Name: name, Measure: "件", Quantity: 200, ShopItemID: shopItem, ShopVillageID: villages[0].id})
	return err
}

// donee is a resident a share is handed to, with their household.
type donee struct{ id, household int64 }

func donees(ctx context.Context, q db.Querier, query string, args ...any) ([]donee, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []donee
	for rows.Next() {
		var x donee
		if err := rows.Scan(&x.id, &x.household); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func q2(ctx context.Context, d *db.DB, query string, out *int64, args ...any) error {
	return d.Read().QueryRowContext(ctx, query, args...).Scan(out)
}

// ensureLiuYunxuan is 谢楼村's 刘云煊, a boy of eight, added to a household of the village
// through the registry when the demo's names did not make him; 0 when the town has no 谢楼村.
func ensureLiuYunxuan(ctx context.Context, d *db.DB, ps *people.Service, a *auth.Actor, info Info, today time.Time) (int64, error) {
	var village int64
	err := d.Read().QueryRowContext(ctx, `SELECT id FROM villages WHERE town_id = $1 AND name = '谢楼村'`, info.TownID).Scan(&village)
	if db.IsNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var id int64
	err = d.Read().QueryRowContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND name = '刘云煊'`, village).Scan(&id)
	if err == nil || !db.IsNoRows(err) {
		return id, err
	}
	var number string
	if err := d.Read().QueryRowContext(ctx, `SELECT h.number FROM households h JOIN residents r ON r.household_id = h.id
		WHERE h.village_id = $1 AND r.name LIKE '刘%' ORDER BY h.id LIMIT 1`, village).Scan(&number); err != nil {
		if !db.IsNoRows(err) {
			return 0, err
		}
		if err := d.Read().QueryRowContext(ctx, `SELECT number FROM households WHERE village_id = $1 ORDER BY id LIMIT 1`, village).Scan(&number); err != nil {
			return 0, err
		}
	}
	birth := today.AddDate(-8, -3, -12)
	var r people.Resident
	for seq := 991; seq < 999; seq += 2 {
		first := fmt.Sprintf("%s%s%03d", AreaCode, birth.Format("20060102"), seq)
		r, err = ps.CreateResident(ctx, a, people.ResidentInput{VillageID: village, HouseholdNumber: number, Name: "刘云煊",
			Gender: people.Male, BirthDate: birth.Format(clock.DayLayout), IDNumber: first + string(people.IDCheckChar(first)), Relation: "孙子"})
		if err == nil {
			return r.ID, nil
		}
	}
	return 0, fmt.Errorf("demo: 刘云煊: %w", err)
}
