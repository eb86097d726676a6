package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/people"
)

// demoPersonTimes is the person-times the demo year of alliance activities reaches in all: the
// article's 2万余人次.
const demoPersonTimes = 20360

// demoActivity is one alliance activity of the demo year.
type demoActivity struct {
	kind, title, place string
	day, hour, hours   int      // days from today (negative: past), the starting hour, how long
	villages           []int64  // the villages it is for
	units              []string // the units that organise it, by name
	weight             int      // its share of the people served without registering
	served             int      // fixed people served, when not 0
	upcoming           bool
}

// AllianceActivities gives the demo town a year of alliance activities (联盟活动): about 100 run by
// the member units over the past year, among them the launch of the 党建引领农村志愿服务联盟, the
// monthly 便民志愿服务日 and the 敬老志愿服务创新日, reaching about 20,000 person-times, mostly
// people served without registering (counted on site or from the sign-in sheets) and check-ins of
// the demo residents; and a few upcoming ones open for registration, paying the 志愿服务 rule. It
// writes the rows directly, in a few multi-row statements, as the services would have.
func AllianceActivities(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_activities WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(seed + 1600))
	realNow := time.Now().UTC()
	today := clock.In(loc, func() time.Time { return realNow }).Today()
	at := func(days, hour int) time.Time {
		return time.Date(today.Year(), today.Month(), today.Day()+days, hour, 0, 0, 0, loc).UTC()
	}

	// The town's villages, units and active residents.
	type village struct {
		id   int64
		name string
	}
	var villages []village
	if err := demoRows(ctx, d, `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY id`, []any{info.TownID}, func(r *sql.Rows) error {
		var v village
		err := r.Scan(&v.id, &v.name)
		villages = append(villages, v)
		return err
	}); err != nil {
		return err
	}
	units := map[string]int64{}
	var unitNames []string
	if err := demoRows(ctx, d, `SELECT id, name FROM alliance_units WHERE town_id = $1 AND active ORDER BY id`, []any{info.TownID}, func(r *sql.Rows) error {
		var id int64
		var name string
		err := r.Scan(&id, &name)
		units[name] = id
		unitNames = append(unitNames, name)
		return err
	}); err != nil {
		return err
	}
	if len(villages) == 0 || len(unitNames) == 0 {
		return nil
	}
	type resident struct {
		id, village int64
		party       bool
	}
	byVillage := map[int64][]resident{}
	if err := demoRows(ctx, d, `SELECT id, village_id, party_member FROM residents WHERE town_id = $1 AND status = 'active' ORDER BY id`, []any{info.TownID}, func(r *sql.Rows) error {
		var x resident
		err := r.Scan(&x.id, &x.village, &x.party)
		byVillage[x.village] = append(byVillage[x.village], x)
		return err
	}); err != nil {
		return err
	}

	// The year's activities.
	pick := func(k int) []int64 {
		idx := rng.Perm(len(villages))
		out := make([]int64, 0, k)
		for _, i := range idx[:min(k, len(villages))] {
			out = append(out, villages[i].id)
		}
		return out
	}
	nameOf := func(id int64) string {
		for _, v := range villages {
			if v.id == id {
				return v.name
			}
		}
		return ""
	}
	some := func(names ...string) []string {
		var out []string
		for _, nm := range names {
			if units[nm] != 0 {
				out = append(out, nm)
			}
		}
		if len(out) == 0 {
			out = []string{unitNames[rng.Intn(len(unitNames))]}
		}
		return out
	}
	all := make([]int64, len(villages))
	for i, v := range villages {
		all[i] = v.id
	}
	var list []demoActivity
	list = append(list, demoActivity{kind: "other", title: "党建引领农村志愿服务联盟启动仪式", place: "潞城镇政府广场", day: -330, hour: 9, hours: 3, villages: all,
		units:  some("北京市财政局", "北京市通州区人民法院", "中共北京市通州区委统战部", "北京北投集团", "北京农商银行通州支行", "蒙牛乳业（北京）有限责任公司", "通州区志愿服务联合会", "北京潞河医院"),
		served: 1200})
	serviceUnits := [][]string{{"北京潞河医院", "北京农商银行通州支行", "国网北京通州供电公司"}, {"通州区中医医院", "北京市通州区司法局", "中国邮政通州区分公司"},
		{"潞城镇社区卫生服务中心", "北京京东世纪贸易有限公司通州分公司", "通州区志愿服务联合会"}}
	for i := range 12 {
		vs := pick(3)
		list = append(list, demoActivity{kind: "service_day", title: "便民志愿服务日·" + nameOf(vs[0]), place: nameOf(vs[0]) + "党群服务站", day: -340 + 30*i, hour: 9, hours: 3,
			villages: vs, units: some(serviceUnits[i%3]...), weight: 320})
	}
	for i := range 10 {
		vs := pick(2)
		list = append(list, demoActivity{kind: "elderly_day", title: "敬老志愿服务创新日·" + nameOf(vs[0]), place: nameOf(vs[0]) + "养老驿站", day: -320 + 34*i, hour: 14, hours: 2,
			villages: vs, units: some("北京市通州区民政局", "北京潞河医院", "首都师范大学", "通州区志愿服务联合会"), weight: 220})
	}
	others := []struct {
		kind, title, place string
		units              []string
		weight             int
	}{
		{"publicity", "法律进乡村宣传", "村委会广场", []string{"北京市通州区人民法院", "北京市通州区司法局"}, 160},
		{"publicity", "防范电信诈骗宣传", "村文化广场", []string{"北京农商银行通州支行", "中国邮政通州区分公司"}, 150},
		{"publicity", "垃圾分类入户宣传", "村委会", []string{"北京首创生态环保集团通州公司"}, 140},
		{"publicity", "健康知识讲座", "村卫生室", []string{"通州区疾病预防控制中心", "潞城镇社区卫生服务中心"}, 130},
		{"culture", "广场舞展演", "村文化广场", []string{"通州区文化馆"}, 200},
		{"culture", "农家书屋读书会", "农家书屋", []string{"通州区图书馆", "北京童悦服饰有限公司"}, 90},
		{"culture", "农民丰收节文艺汇演", "镇文体中心", []string{"通州区文化馆", "蒙牛乳业（北京）有限责任公司"}, 260},
		{"training", "电商直播技能培训", "镇党群服务中心", []string{"北京京东世纪贸易有限公司通州分公司", "北京物资学院"}, 80},
		{"training", "果树修剪技术培训", "村委会", []string{"通州区农业技术推广站"}, 70},
		{"training", "急救技能培训", "村委会", []string{"北京潞河医院"}, 70},
		{"other", "安全用电入户检查", "村委会", []string{"国网北京通州供电公司"}, 110},
		{"other", "助残帮扶走访", "村委会", []string{"北京市通州区民政局", "民盟通州区委员会"}, 60},
	}
	for i := 0; len(list) < 96; i++ {
		o := others[i%len(others)]
		vs := pick(1 + rng.Intn(2))
		list = append(list, demoActivity{kind: o.kind, title: o.title, place: nameOf(vs[0]) + o.place, day: -360 + rng.Intn(355), hour: 9 + rng.Intn(6), hours: 2,
			villages: vs, units: some(o.units...), weight: o.weight})
	}
	upcoming := []demoActivity{
		{kind: "publicity", title: "防范电信诈骗宣传", place: "镇党群服务中心", day: 3, hour: 9, hours: 2, villages: pick(3), units: some("北京农商银行通州支行")},
		{kind: "service_day", title: "便民志愿服务日", place: "镇政府广场", day: 6, hour: 9, hours: 3, villages: all, units: some("北京潞河医院", "国网北京通州供电公司", "北京市通州区司法局")},
		{kind: "elderly_day", title: "敬老志愿服务创新日", place: "镇养老照料中心", day: 10, hour: 14, hours: 2, villages: pick(4), units: some("北京市通州区民政局", "首都师范大学")},
		{kind: "training", title: "电商直播技能培训", place: "镇党群服务中心", day: 15, hour: 14, hours: 3, villages: pick(3), units: some("北京京东世纪贸易有限公司通州分公司")},
	}
	for i := range upcoming {
		upcoming[i].upcoming = true
	}
	list = append(list, upcoming...)

	// Who checked in at each past one, and who registered for each upcoming one.
	type entry struct {
		resident resident
		at       time.Time
		method   string
	}
	entries := make([][]entry, len(list))
	checked := 0
	methods := []string{"roll", "sheet", "qr"}
	for i, a := range list {
		var pool []resident
		for _, v := range a.villages {
			pool = append(pool, byVillage[v]...)
		}
		if len(pool) == 0 {
			continue
		}
		k := 4 + rng.Intn(16)
		if a.served > 0 {
			k = 40
		}
		k = min(k, len(pool))
		start := at(a.day, a.hour)
		for _, j := range rng.Perm(len(pool))[:k] {
			e := entry{resident: pool[j]}
			if !a.upcoming {
				e.at, e.method = start.Add(time.Duration(rng.Intn(40))*time.Minute), methods[rng.Intn(len(methods))]
				checked++
			}
			entries[i] = append(entries[i], e)
		}
	}
	// The people served without registering make up the rest of the year's person-times.
	fixed, weights := 0, 0
	for _, a := range list {
		fixed += a.served
		if !a.upcoming {
			weights += a.weight
		}
	}
	rest := max(demoPersonTimes-checked-fixed, 0)
	served := make([]int, len(list))
	left := rest
	lastW := -1
	for i, a := range list {
		switch {
		case a.upcoming:
		case a.served > 0:
			served[i] = a.served
		case weights > 0:
			served[i] = rest * a.weight / weights
			left -= served[i]
			lastW = i
		}
	}
	if lastW >= 0 {
		served[lastW] += left
	}
	countedBy := []string{"现场计数", "签到表", "估算"}

	return d.Tx(ctx, func(tx *sql.Tx) error {
		now := realNow
		var unitRows, villageRows, entryRows, monthRows [][]any
		months := map[[2]int64]int{} // month as yyyymm, resident → check-ins
		party := map[int64]resident{}
		for i, a := range list {
			start, end := at(a.day, a.hour), at(a.day, a.hour+a.hours)
			status, rule, method := "closed", "", countedBy[rng.Intn(len(countedBy))]
			var closedAt any
			if a.upcoming {
				status, rule, method = "planned", "volunteer", ""
			} else {
				closedAt = end.Add(time.Hour)
			}
			capacity := 0
			if a.upcoming {
				capacity = 40
			}
			if served[i] == 0 {
				method = ""
			}
			var id, eventID int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_activities (town_id, kind, title, place, description, starts_at, ends_at, capacity, rule_code, served, served_method,
				status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, $10, $11, '潞城镇联盟办', $12, $12) RETURNING id`,
				info.TownID, a.kind, a.title, a.place, start, end, capacity, rule, served[i], method, status, minTime(start.Add(-7*24*time.Hour), now)).Scan(&id); err != nil {
				return fmt.Errorf("demo: activity: %w", err)
			}
			var village any
			if len(a.villages) == 1 {
				village = a.villages[0]
			}
			closedBy := ""
			if !a.upcoming {
				closedBy = "潞城镇联盟办"
			}
			nChecked := 0
			for _, e := range entries[i] {
				if !e.at.IsZero() {
					nChecked++
				}
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO attend_events (kind, ref_id, town_id, village_id, title, starts_at, ends_at, online, closed_at, closed_by, created_at, roll_count, checked_count)
				VALUES ('alliance.activity', $1, $2, $3, $4, $5, $6, FALSE, $7, $8, $9, $10, $11) RETURNING id`,
				id, info.TownID, village, a.title, start, end, closedAt, closedBy, minTime(start.Add(-7*24*time.Hour), now), len(entries[i]), nChecked).Scan(&eventID); err != nil {
				return fmt.Errorf("demo: activity event: %w", err)
			}
			for _, u := range a.units {
				unitRows = append(unitRows, []any{id, units[u]})
			}
			for _, v := range a.villages {
				villageRows = append(villageRows, []any{id, v})
			}
			m := int64(start.In(loc).Year()*100 + int(start.In(loc).Month()))
			for _, e := range entries[i] {
				var at any
				method, by := "", ""
				if !e.at.IsZero() {
					at, method = e.at, e.method
					if method != "qr" {
						by = "潞城镇联盟办"
					}
					months[[2]int64{m, e.resident.id}]++
					party[e.resident.id] = e.resident
				}
				entryRows = append(entryRows, []any{eventID, e.resident.id, true, at, method, by})
			}
		}
		for k, c := range months {
			r := party[k[1]]
			monthRows = append(monthRows, []any{"alliance.activity", info.TownID, fmt.Sprintf("%04d-%02d", k[0]/100, k[0]%100), r.party, r.village, r.id, c})
		}
		for _, b := range []struct {
			head string
			rows [][]any
		}{
			{`INSERT INTO alliance_activity_units (activity_id, unit_id) VALUES `, unitRows},
			{`INSERT INTO alliance_activity_villages (activity_id, village_id) VALUES `, villageRows},
			{`INSERT INTO attend_entries (event_id, resident_id, invited, checked_in_at, method, checked_by) VALUES `, entryRows},
			{`INSERT INTO attend_months (kind, town_id, month, party, village_id, resident_id, events) VALUES `, monthRows},
		} {
			if err := demoBulk(ctx, d, tx, b.head, b.rows); err != nil {
				return err
			}
		}
		return nil
	})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// demoRows runs a query and hands each row to scan.
func demoRows(ctx context.Context, d *db.DB, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := d.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// demoBulk inserts rows a few hundred per statement.
func demoBulk(ctx context.Context, d *db.DB, tx *sql.Tx, head string, rows [][]any) error {
	const chunk = 300
	for i := 0; i < len(rows); i += chunk {
		p := d.Params()
		var vals []string
		for _, r := range rows[i:min(i+chunk, len(rows))] {
			vals = append(vals, p.Row(r...))
		}
		if _, err := tx.ExecContext(ctx, head+strings.Join(vals, ", "), p.Args...); err != nil {
			return fmt.Errorf("demo: %s: %w", strings.Fields(head)[2], err)
		}
	}
	return nil
}
