package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/honours"
	"siwei/internal/people"
)

// WallYear is the year the town's residents chose their first 身边好人: 537 of them, on the
// 名录墙 since.
const (
	WallYear  = 2021
	WallNames = 537
)

// wallShares are how the 537 fall across the categories (of honours.DefaultCategories, in order:
// 孝老爱亲, 助人为乐, 见义勇为, 诚实守信, 敬业奉献, 环境美化), in hundredths.
var wallShares = []int{26, 30, 6, 10, 12, 16}

// wallStories are what the names were chosen for, by category; %d is a number of years.
var wallStories = [][]string{
	{"照顾瘫痪在床的婆婆%d年，端水喂饭从不叫苦", "独自赡养三位老人%d年，邻里称赞的好儿媳", "%d年如一日照料患病的丈夫，撑起一个家", "把村里孤寡老人当亲人，%d年来逢年过节必上门"},
	{"义务为村里老人理发%d年", "%d年来帮邻居收玉米、修屋顶，随叫随到", "自掏腰包为留守儿童买书本，坚持了%d年", "开着自家三轮车接送老人看病%d年"},
	{"跳进冰冷的河水救起落水儿童", "火灾中冲进屋里背出邻居老人", "深夜拦下醉驾司机，避免了一场事故", "抗洪中连续守堤%d天"},
	{"捡到装有现金的钱包，寻找失主归还", "经营小卖部%d年，童叟无欺", "替去世的哥哥还清债务", "%d年来借给乡亲的钱从不催，借他的钱一分不少还"},
	{"乡村医生，%d年出诊从不拒绝", "村小学教师，扎根乡村%d年", "疫情期间在卡口值守%d天", "保洁员%d年，村里街巷干干净净"},
	{"带头拆除自家违建，门前种上花", "%d年来义务清理村边河道垃圾", "把自家院子打造成最美庭院", "组织邻居垃圾分类，坚持了%d年"},
}

// HonoursWall gives the demo town its 名录墙: the 537 good neighbours of 2021 across the
// categories and villages (residents of the town where there are enough, named as the register
// names them), and this year's nominations of 前疃村 and 东堡村 with consent given, some admitted,
// for the rounds to take. It does nothing when the town has its 2021 wall already.
func HonoursWall(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_wall WHERE town_id = $1 AND year = $2`, info.TownID, WallYear).Scan(&n); err != nil || n > 0 {
		return err
	}
	hs := honours.NewService(d, ps, nil, nil)
	categories, err := hs.Categories(ctx, info.TownID)
	if err != nil {
		return err
	}
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	today := clock.In(loc, time.Now).Today()
	g := &generator{r: rand.New(rand.NewPCG(uint64(seed), WallYear)), clan: [2]string{"王", "李"}}
	// The adults of the town, shuffled: those chosen in 2021.
	type who struct {
		id, village int64
		name        string
	}
	var adults []who
	var villages []int64
	rows, err := d.Read().QueryContext(ctx, `SELECT id, village_id, name, birth_date FROM residents WHERE town_id = $1 AND status = 'active' ORDER BY id`, info.TownID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var w who
		var birth string
		if err := rows.Scan(&w.id, &w.village, &w.name, &birth); err != nil {
			rows.Close()
			return err
		}
		if birth < fmt.Sprintf("%04d", WallYear-18) { // an adult in 2021
			adults = append(adults, w)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	vrows, err := d.Read().QueryContext(ctx, `SELECT id FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, info.TownID)
	if err != nil {
		return err
	}
	for vrows.Next() {
		var id int64
		if err := vrows.Scan(&id); err != nil {
			vrows.Close()
			return err
		}
		villages = append(villages, id)
	}
	vrows.Close()
	if err := vrows.Err(); err != nil || len(villages) == 0 {
		return err
	}
	g.r.Shuffle(len(adults), func(i, j int) { adults[i], adults[j] = adults[j], adults[i] })
	var cats []int64
	for i, share := range wallShares {
		for range share * WallNames / 100 {
			cats = append(cats, categories[i].ID)
		}
	}
	for len(cats) < WallNames {
		cats = append(cats, categories[1].ID) // the rounding's few go to 助人为乐
	}
	chosen := time.Date(WallYear, 12, 28, 10, 0, 0, 0, loc).UTC()
	const cols = 8
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < WallNames; start += 200 {
			end := min(start+200, WallNames)
			var vals []string
			var args []any
			for i := start; i < end; i++ {
				var resident any
				var village int64
				var name string
				if i < len(adults) {
					resident, village, name = adults[i].id, adults[i].village, adults[i].name
				} else {
					village = villages[g.r.IntN(len(villages))]
					gd := g.gender(0.5)
					name = g.surname() + g.given(gd, g.between(30, 80))
				}
				k := 0
				for c := range categories[:len(wallShares)] {
					if categories[c].ID == cats[i] {
						k = c
					}
				}
				story := wallStories[k][g.r.IntN(len(wallStories[k]))]
				if strings.Contains(story, "%d") {
					story = fmt.Sprintf(story, g.between(3, 20))
				}
				p := len(args)
				vals = append(vals, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8))
				args = append(args, info.TownID, village, resident, name, cats[i], story, WallYear, chosen)
			}
			if len(args) != (end-start)*cols {
				return fmt.Errorf("demo: wall: %d arguments", len(args))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_wall (town_id, village_id, resident_id, name, category_id, story, year, created_at) VALUES `+strings.Join(vals, ", "), args...); err != nil {
				return fmt.Errorf("demo: wall of %d: %w", WallYear, err)
			}
		}
		return honoursNominations(ctx, tx, g, info, categories, today)
	})
	return err
}

// demoNominations are this year's nominations: in which village (of villageNames), the category,
// the story, by the village's staff or a resident, and where they stand.
var demoNominations = []struct {
	village  int
	category int
	story    string
	byStaff  bool
	admitted bool
}{
	{0, 0, "婆婆瘫痪在床八年，她每天擦身喂饭，还照顾着两个孩子上学", true, true},
	{0, 1, "村里的义务理发员，每月两次上门给高龄老人理发", false, true},
	{0, 5, "带着邻居把村口的垃圾坑变成了小花园", true, true},
	{0, 4, "村卫生室医生，夜里出诊从不推辞", false, true},
	{0, 3, "在集上捡到八千元现金，等了三个小时交还失主", true, true},
	{0, 1, "每逢雨雪天，开着三轮车接送孩子们上下学", false, false},
	{0, 2, "冲进着火的厨房，把邻居家的老人背了出来", true, false},
	{1, 0, "照顾患病的丈夫和年迈的公婆，十几年没出过远门", true, true},
	{1, 5, "坚持垃圾分类，还教会了全胡同的老人", false, true},
	{1, 1, "自费给留守儿童买书，周末在家里办起小书屋", true, false},
}

// honoursNominations writes this year's nominations of 前疃村 and 东堡村, every one with the
// nominee's consent: the admitted for a round to take, the rest waiting for staff.
func honoursNominations(ctx context.Context, tx *sql.Tx, g *generator, info Info, categories []honours.Category, today time.Time) error {
	type village struct {
		id      int64
		admin   int64
		adminNm string
		people  []int64
		names   []string
	}
	vs := map[int]*village{}
	for i, phone := range []string{PhoneVillageAdmin, PhoneVillageAdmin2} {
		v := &village{}
		if err := tx.QueryRowContext(ctx, `SELECT v.id, a.id, a.name FROM villages v, accounts a WHERE v.town_id = $1 AND v.name = $2 AND a.phone = $3`,
			info.TownID, villageNames[i], phone).Scan(&v.id, &v.admin, &v.adminNm); err != nil {
			return fmt.Errorf("demo: nominations of %s: %w", villageNames[i], err)
		}
		adult := today.AddDate(-18, 0, 0).Format(clock.DayLayout)
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < $2 ORDER BY id`, v.id, adult)
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
			v.people, v.names = append(v.people, id), append(v.names, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		vs[i] = v
	}
	used := map[int]int{}
	for k, x := range demoNominations {
		v := vs[x.village]
		if used[x.village]+1 >= len(v.people) {
			continue // a tiny village has fewer adults than nominations
		}
		// The nominee, and a neighbour who nominates them.
		i := used[x.village]
		used[x.village] += 2
		nominee, by := v.people[i], v.people[i+1]
		byResident, byName, byAccount := any(by), v.names[i+1], v.admin
		if x.byStaff {
			byResident, byName = nil, v.adminNm
		}
		status := honours.NominationOpen
		if x.admitted {
			status = honours.NominationAdmitted
		}
		at := today.AddDate(0, 0, -40+k*3).Add(9 * time.Hour).UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO honours_nominations (town_id, village_id, resident_id, category_id, story, by_resident, by_account, by_name,
			consent, consent_by, consent_name, consent_at, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'given', 'self', $9, $10, $11, $12, $10)`,
			info.TownID, v.id, nominee, categories[x.category].ID, x.story, byResident, byAccount, byName, v.names[i], at.Add(24*time.Hour), status, at); err != nil {
			return fmt.Errorf("demo: nomination: %w", err)
		}
	}
	return nil
}
