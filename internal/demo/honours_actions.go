package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/people"
)

// demoAction is one of the town's featured or brand actions of the demo year, by the month of the
// year it falls in.
type demoAction struct {
	month       int
	kind, title string
	description string
	ways        []string // attend, deed, contribution
	unit        string
	stories     []string // the deeds residents report
}

// demoActions are the town's actions over a year: a featured action every month, among them 腊八's
// 幸福粥 (每人一勺米, counted per household) and 小年's 扫院擦窗 for the elderly living alone, and the
// brand actions: the collective wedding and the children's vaccination-promotion station.
var demoActions = []demoAction{
	{month: 1, kind: "featured", title: "腊八·每人一勺米 共熬幸福粥", description: "腊八节，每户按人头捐一勺米，全镇共熬一锅幸福粥，送给独居老人和环卫工人。",
		ways: []string{"contribution"}, unit: "勺"},
	{month: 2, kind: "featured", title: "小年·扫院擦窗暖老人", description: "小年前后，村民为独居老人扫院子、擦窗户、贴福字。",
		ways: []string{"attend", "deed"}, stories: []string{"给独居的老人扫了院子、擦了窗户", "帮隔壁独居大爷贴了春联和福字", "陪独居老人包饺子，把屋里收拾干净"}},
	{month: 3, kind: "featured", title: "学雷锋志愿服务月", description: "三月学雷锋，人人做一件好事。",
		ways: []string{"attend", "deed"}, stories: []string{"帮邻居修好了自行车", "在村口义务理发", "帮老人代买药品"}},
	{month: 4, kind: "brand", title: "小小疫苗宣传员·儿童疫苗宣传站", description: "孩子们在卫生服务站门口设宣传站，讲解儿童接种知识。",
		ways: []string{"attend", "deed"}, stories: []string{"和孩子一起在宣传站发放接种手册", "给邻居讲了疫苗接种时间表"}},
	{month: 5, kind: "brand", title: "文明实践·新风集体婚礼", description: "移风易俗，不攀比、不大操大办，新人在党群服务中心集体举办婚礼。",
		ways: []string{"attend"}},
	{month: 6, kind: "featured", title: "端午包粽送邻里", description: "端午节包粽子，送给孤寡老人和困难家庭。",
		ways: []string{"contribution"}, unit: "个"},
	{month: 7, kind: "featured", title: "防溺水安全宣传", description: "暑期到河边、坑塘巡查，宣传防溺水知识。",
		ways: []string{"attend"}},
	{month: 8, kind: "featured", title: "垃圾分类我先行", description: "随手拍下自家和邻里的垃圾分类好做法。",
		ways: []string{"deed"}, stories: []string{"把家里的垃圾分成四类投放", "捡拾了村口路边的垃圾", "教邻居分清厨余垃圾"}},
	{month: 9, kind: "featured", title: "中秋邻里团圆宴", description: "中秋节全村一起吃团圆饭，请独居老人上桌。",
		ways: []string{"attend"}},
	{month: 10, kind: "featured", title: "重阳敬老孝亲", description: "重阳节为老人理发、量血压、陪聊天。",
		ways: []string{"attend", "deed"}, stories: []string{"给老人理发、剪指甲", "陪村里的老人聊天、量血压"}},
	{month: 11, kind: "featured", title: "冬季防火大检查", description: "入冬前挨户检查电线、炉具和烟道。",
		ways: []string{"attend"}},
	{month: 12, kind: "featured", title: "冬日暖心·捐衣送温暖", description: "各户捐出闲置棉衣，送到困难家庭。",
		ways: []string{"contribution"}, unit: "件"},
}

// HonoursActions gives the demo town twelve months of featured and brand actions (特色行动,
// 品牌行动), the past ones taken part in: residents who registered and attended, deeds approved,
// and contributions counted per household (at 腊八 a spoonful of rice for each member); this month's
// open, with a deed waiting for review. Taking part pays nothing here, as no rule is named: the
// rows are written directly, in a few multi-row statements, as the services would have.
func HonoursActions(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_actions WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	var admin int64
	if err := d.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, PhoneTownAdmin).Scan(&admin); err != nil {
		return fmt.Errorf("demo: actions: %w", err)
	}
	rng := rand.New(rand.NewSource(seed + 1700))
	realNow := time.Now().UTC()
	today := clock.In(loc, func() time.Time { return realNow }).Today()
	thisMonth := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)

	type resident struct {
		id, village, household int64
		party                  bool
	}
	var residents []resident
	heads := map[int64]bool{}
	members := map[int64]int{}
	if err := demoRows(ctx, d, `SELECT r.id, r.village_id, r.household_id, r.party_member, COALESCE(h.head_resident_id, 0) FROM residents r JOIN households h ON h.id = r.household_id
		WHERE r.town_id = $1 AND r.status = 'active' ORDER BY r.id`, []any{info.TownID}, func(r *sql.Rows) error {
		var x resident
		var head int64
		err := r.Scan(&x.id, &x.village, &x.household, &x.party, &head)
		residents = append(residents, x)
		heads[x.id] = head == x.id
		members[x.household]++
		return err
	}); err != nil {
		return err
	}
	if len(residents) == 0 {
		return nil
	}
	return d.Tx(ctx, func(tx *sql.Tx) error {
		var entryRows, monthRows, deedRows, contribRows [][]any
		months := map[[2]int64]int{} // (yyyymm, resident) → events
		byID := map[int64]resident{}
		for _, r := range residents {
			byID[r.id] = r
		}
		for back := 11; back >= 0; back-- {
			start := thisMonth.AddDate(0, -back, 0)
			end := start.AddDate(0, 1, 0)
			month := start.Format("2006-01")
			current := back == 0
			for _, a := range demoActions {
				if a.month != int(start.Month()) {
					continue
				}
				has := func(w string) bool {
					for _, x := range a.ways {
						if x == w {
							return true
						}
					}
					return false
				}
				created := start.AddDate(0, 0, -7)
				var id int64
				if err := tx.QueryRowContext(ctx, `INSERT INTO honours_actions (town_id, kind, title, month, description, all_villages, way_attend, way_deed, way_contribution,
					unit, rule_code, pay_per, pay_cap, created_by, created_by_name, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7, $8, $9, '', 'person', 1, $10, '潞城镇文明银行', $11, $11) RETURNING id`,
					info.TownID, a.kind, a.title, month, a.description, has("attend"), has("deed"), has("contribution"), a.unit, admin, created.UTC()).Scan(&id); err != nil {
					return fmt.Errorf("demo: action: %w", err)
				}
				// Who took part: most of the year's, fewer so far this month.
				share := 0.35
				if current {
					share = 0.08
				}
				day := func() time.Time {
					last := end
					if current && realNow.Before(end) {
						last = realNow
					}
					span := last.Sub(start)
					if span <= 0 {
						return start.UTC()
					}
					return start.Add(time.Duration(rng.Int63n(int64(span)))).UTC()
				}
				if has("attend") {
					var closedAt any
					closedBy := ""
					if !current {
						closedAt, closedBy = end.UTC(), "潞城镇文明银行"
					}
					var taken []resident
					for _, r := range residents {
						if rng.Float64() < share {
							taken = append(taken, r)
						}
					}
					var eventID int64
					if err := tx.QueryRowContext(ctx, `INSERT INTO attend_events (kind, ref_id, town_id, village_id, title, starts_at, ends_at, online, closed_at, closed_by, created_at, roll_count, checked_count)
						VALUES ('honours.action', $1, $2, NULL, $3, $4, $5, FALSE, $6, $7, $8, $9, $9) RETURNING id`,
						id, info.TownID, a.title, start.UTC(), end.UTC(), closedAt, closedBy, created.UTC(), len(taken)).Scan(&eventID); err != nil {
						return fmt.Errorf("demo: action event: %w", err)
					}
					m := int64(start.Year()*100 + int(start.Month()))
					for _, r := range taken {
						entryRows = append(entryRows, []any{eventID, r.id, true, day(), "roll", "村委会"})
						months[[2]int64{m, r.id}]++
					}
				}
				if has("deed") && len(a.stories) > 0 {
					for _, r := range residents {
						if rng.Float64() >= share/3 {
							continue
						}
						at := day()
						status, reviewer, reviewed := "approved", "村委会", any(at.Add(24*time.Hour))
						if current {
							status, reviewer, reviewed = "pending", "", nil
						}
						deedRows = append(deedRows, []any{id, r.village, r.id, a.stories[rng.Intn(len(a.stories))], at.In(loc).Format("2006-01-02"), rng.Intn(3) > 0,
							status, reviewer, reviewed, at})
					}
				}
				if has("contribution") {
					for _, r := range residents {
						if !heads[r.id] || rng.Float64() >= share*2 {
							continue
						}
						amount := members[r.household]
						if a.unit != "勺" {
							amount = 1 + rng.Intn(4)
						}
						contribRows = append(contribRows, []any{id, r.village, r.household, r.id, amount, "村委会", day()})
					}
				}
			}
		}
		for k, c := range months {
			r := byID[k[1]]
			monthRows = append(monthRows, []any{"honours.action", info.TownID, fmt.Sprintf("%04d-%02d", k[0]/100, k[0]%100), r.party, r.village, r.id, c})
		}
		for _, b := range []struct {
			head string
			rows [][]any
		}{
			{`INSERT INTO attend_entries (event_id, resident_id, invited, checked_in_at, method, checked_by) VALUES `, entryRows},
			{`INSERT INTO attend_months (kind, town_id, month, party, village_id, resident_id, events) VALUES `, monthRows},
			{`INSERT INTO honours_action_deeds (action_id, village_id, resident_id, story, happened_on, consent, status, reviewed_by_name, reviewed_at, created_at) VALUES `, deedRows},
			{`INSERT INTO honours_action_contributions (action_id, village_id, household_id, resident_id, amount, recorded_by_name, created_at) VALUES `, contribRows},
		} {
			if err := demoBulk(ctx, d, tx, b.head, b.rows); err != nil {
				return err
			}
		}
		return nil
	})
}
