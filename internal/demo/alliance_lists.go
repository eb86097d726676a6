package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/people"
)

// listProject is a project of the demo's 项目清单: the unit that gives, what it gives (kind,
// description, amount), the need it meets in a village (by index among the town's villages) and
// how far it got: state (proposed, unit_agreed, in_progress, done, rated or declined), when it was
// proposed (days before today), the rating, the reason of a refusal (declinedBy "unit" or
// "village") and the milestones recorded.
type listProject struct {
	unit, kind, offer, amount string
	village                   int
	need                      string
	people                    int
	state                     string
	daysAgo                   int
	rating                    int
	declinedBy, reason        string
	milestones                []string
}

// demoListProjects are the demo's projects, in every state; several are the article's kind of
// help (资金, 物资, 专业服务, 志愿者, 培训, 岗位, 场地).
var demoListProjects = []listProject{
	{"北京北投集团", "funds", "乡村道路硬化专项帮扶资金", "20万元", 0, "村西主路坑洼积水，雨天出行难", 600, "rated", 210, 5, "", "", []string{"完成路基平整", "浇筑混凝土路面1.2公里", "验收通车"}},
	{"北京农商银行通州支行", "training", "普惠金融与防诈骗讲座", "每期60人", 1, "老年人防范电信诈骗宣传", 120, "rated", 180, 4, "", "", []string{"在村委会开讲两期"}},
	{"北京潞河医院", "service", "专家下乡义诊", "每月1次", 2, "慢性病老人定期体检", 85, "rated", 160, 5, "", "", []string{"第一次义诊，测血压血糖85人", "建立慢病档案"}},
	{"蒙牛乳业（北京）有限责任公司", "goods", "学生营养奶", "300箱", 3, "留守儿童营养改善", 46, "rated", 140, 5, "", "", []string{"牛奶送到村小学"}},
	{"首都师范大学", "volunteers", "大学生志愿者暑期支教", "12人", 4, "暑假儿童托管和课业辅导", 38, "rated", 130, 3, "", "", []string{"支教开班", "结业汇报演出"}},
	{"通州区农业技术推广站", "training", "果树修剪与病虫害防治培训", "每期40人", 5, "果农技术培训", 40, "done", 90, 0, "", "", []string{"田间课堂两次"}},
	{"国网北京通州供电公司", "service", "农村老旧线路免费检修", "全村", 6, "老旧房屋电线老化，存在安全隐患", 210, "done", 75, 0, "", "", []string{"入户检查52户", "更换老化线路18户"}},
	{"北京物资学院", "volunteers", "物流专业学生助农直播", "8人", 7, "农产品线上销售", 30, "done", 60, 0, "", "", []string{"直播三场，销售鲜桃2000斤"}},
	{"北京京东世纪贸易有限公司通州分公司", "jobs", "快递分拣与配送岗位", "20个", 0, "村里待业青年就业", 20, "in_progress", 45, 0, "", "", []string{"招聘会在村委会举行，报名15人"}},
	{"通州区图书馆", "goods", "流动图书与书架", "2000册", 1, "村农家书屋图书更新", 400, "in_progress", 40, 0, "", "", []string{"图书已运到", "书架安装完成"}},
	{"北京潞通建筑工程有限公司", "service", "文化广场改造施工", "一处", 2, "文化广场地面破损，需要翻修", 800, "in_progress", 30, 0, "", "", nil},
	{"通州区文化馆", "training", "广场舞与合唱辅导", "每周1次", 3, "村文艺队缺少专业指导", 35, "in_progress", 25, 0, "", "", []string{"第一次辅导课，32人参加"}},
	{"中国邮政通州区分公司", "venue", "邮政网点便民服务站场地", "60平方米", 4, "老人取养老金、寄快递要跑镇上", 300, "unit_agreed", 12, 0, "", "", nil},
	{"潞城镇社区卫生服务中心", "service", "家庭医生签约上门服务", "每周2次", 5, "失能老人需要上门医疗", 15, "unit_agreed", 9, 0, "", "", nil},
	{"北京物美商业集团通州分店", "goods", "冬季慰问米面油", "100份", 6, "困难家庭冬季慰问", 100, "proposed", 5, 0, "", "", nil},
	{"九三学社通州区委员会", "service", "科技专家咨询", "每季度1次", 7, "村集体经济项目论证", 1, "proposed", 3, 0, "", "", nil},
	{"通州区志愿服务联合会", "volunteers", "敬老志愿服务队", "30人", 0, "独居老人定期探访", 26, "proposed", 2, 0, "", "", nil},
	{"国美电器有限公司", "goods", "家电以旧换新补贴", "50台", 1, "困难户取暖设备更换", 50, "declined", 70, 0, "unit", "本批补贴已用完，明年再对接", nil},
	{"北京市通州区司法局", "service", "法律明白人培训", "每期50人", 2, "村民调解员业务培训", 24, "declined", 50, 0, "village", "镇司法所已安排同类培训", nil},
	{"中国三峡集团北京分公司", "funds", "村级光伏项目资金", "50万元", 3, "村委会屋顶光伏改造", 1, "declined", 100, 0, "unit", "屋顶承重不满足安装条件", nil},
}

// demoListResources are resources offered and not yet used: the matching page's right side.
var demoListResources = []struct {
	unit, kind, offer, amount string
	from, to                  int // days from today
}{
	{"北京市财政局", "training", "村级财务管理培训", "每期80人", -30, 180},
	{"北京市通州区人民法院", "service", "法官进村普法", "每月1次", -60, 300},
	{"中共北京市通州区委统战部", "volunteers", "新阶层人士志愿服务", "20人", -10, 200},
	{"北京市通州区卫生健康委员会", "service", "健康知识讲座", "每季度2次", -20, 340},
	{"北京市通州区民政局", "funds", "养老服务设施补助", "30万元", -5, 365},
	{"北京市通州区教育委员会", "training", "家长学校公益课", "每期100人", 0, 240},
	{"北京首创生态环保集团通州公司", "service", "污水处理设备维护", "3个村", -15, 365},
	{"北京童悦服饰有限公司", "goods", "儿童冬装", "500套", -3, 60},
	{"通州区疾病预防控制中心", "service", "流感疫苗接种宣传", "全镇", -7, 120},
	{"通州区中医医院", "service", "中医义诊", "每月1次", -30, 330},
	{"民盟通州区委员会", "training", "教师培训", "每期30人", 10, 200},
	{"北京北投集团", "venue", "北投大厦多功能厅", "可容纳200人", -90, 275},
	{"北京农商银行通州支行", "jobs", "银行网点大堂助理岗位", "6个", 0, 90},
	{"蒙牛乳业（北京）有限责任公司", "goods", "学生营养奶（第二批）", "300箱", 5, 150},
}

// demoListNeeds are villages' needs not yet matched: the matching page's left side. Those whose
// kind and period fit a resource above show as suggestions.
var demoListNeeds = []struct {
	village    int
	kind, need string
	people, by int // by: days from today
}{
	{0, "training", "村会计业务培训", 12, 90},
	{1, "service", "土地纠纷普法宣传", 300, 60},
	{2, "funds", "日间照料中心设备购置", 60, 120},
	{3, "goods", "低保家庭儿童冬衣", 40, 30},
	{4, "jobs", "返乡青年就业岗位", 15, 45},
	{5, "venue", "村民春节联欢会场地", 200, 70},
	{6, "service", "秋冬季老人流感疫苗接种动员", 260, 50},
	{7, "training", "家庭教育讲座", 80, 100},
}

// AllianceLists gives the demo town the three lists (三单对接): resources of many of its member
// units, needs of several villages (some from 微志愿's needs, a consultation decision and care
// visits), and projects in every state, some declined with their reasons and some rated, over
// the past months. It writes the rows directly, with their flow timelines, to stay fast.
func AllianceLists(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_resources WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	realNow := time.Now().UTC()
	today := clock.In(loc, func() time.Time { return realNow }).Today()
	day := func(days int) string { return today.AddDate(0, 0, days).Format(clock.DayLayout) }
	at := func(days, hour int) time.Time {
		return time.Date(today.Year(), today.Month(), today.Day()+days, hour, 0, 0, 0, loc).UTC()
	}
	return d.Tx(ctx, func(tx *sql.Tx) error {
		units := map[string]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM alliance_units WHERE town_id = $1`, info.TownID)
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
			id   int64
			name string
		}
		var villages []village
		rows, err = tx.QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 AND active ORDER BY id`, info.TownID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v village
			if err := rows.Scan(&v.id, &v.name); err != nil {
				rows.Close()
				return err
			}
			villages = append(villages, v)
		}
		rows.Close()
		if len(villages) == 0 {
			return nil
		}
		var townAdmin int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, PhoneTownAdmin).Scan(&townAdmin); err != nil {
			return fmt.Errorf("demo: alliance lists: town admin: %w", err)
		}
		vil := func(i int) village { return villages[i%len(villages)] }
		unitOf := func(name string) (int64, error) {
			id, ok := units[name]
			if !ok {
				return 0, fmt.Errorf("demo: alliance lists: no unit %s", name)
			}
			return id, nil
		}
		addResource := func(unit int64, kind, offer, amount, from, to string, created time.Time) (int64, error) {
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO alliance_resources (town_id, unit_id, kind, description, amount, from_on, to_on, active, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $9) RETURNING id`, info.TownID, unit, kind, offer, amount, from, to, townAdmin, created).Scan(&id)
			return id, err
		}
		addNeed := func(v int64, kind, need string, people int, by, source string, sourceID int64, created time.Time) (int64, error) {
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO alliance_needs (town_id, village_id, kind, description, people, by_on, source, source_id, closed, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10, $10) RETURNING id`, info.TownID, v, kind, need, people, by, source, db.NullID(sourceID), townAdmin, created).Scan(&id)
			return id, err
		}
		// The projects, each with its resource, need and timeline.
		var steps []string
		var stepArgs []any
		step := func(order int64, from, to, action, actor, reason string, rating int, when time.Time, due, left any) {
			var r any
			if rating > 0 {
				r = rating
			}
			k := len(stepArgs)
			steps = append(steps, fmt.Sprintf("('alliance.project', $%d, $%d, $%d, $%d, NULL, $%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10))
			stepArgs = append(stepArgs, order, from, to, action, actor, reason, r, when, due, left)
		}
		order := []string{"proposed", "unit_agreed", "in_progress", "done", "rated"}
		actions := map[string]string{"unit_agreed": "unit_agree", "in_progress": "village_agree", "done": "finish", "rated": "rate"}
		for i, p := range demoListProjects {
			unit, err := unitOf(p.unit)
			if err != nil {
				return err
			}
			v := vil(p.village)
			start := -p.daysAgo
			rid, err := addResource(unit, p.kind, p.offer, p.amount, day(start-10), day(start+200), at(start-10, 9))
			if err != nil {
				return fmt.Errorf("demo: alliance resource: %w", err)
			}
			nid, err := addNeed(v.id, p.kind, p.need, p.people, day(start+120), "typed", 0, at(start-3, 10))
			if err != nil {
				return fmt.Errorf("demo: alliance need: %w", err)
			}
			unitActor, villageActor := p.unit+"联络员", v.name+"管理员"
			title := p.need
			// The states it went through, a few days apart.
			path := []string{"proposed"}
			switch p.state {
			case "declined":
				if p.declinedBy == "village" {
					path = append(path, "unit_agreed")
				}
			default:
				for _, s := range order[1:] {
					if len(path) > 0 && path[len(path)-1] == p.state {
						break
					}
					path = append(path, s)
				}
			}
			// The unit answers within a few days (one of them late, past the week it has); the
			// later steps come weeks apart.
			respond := min(1+i%4, max(1, p.daysAgo/2))
			if i == 4 {
				respond = 9
			}
			when := func(k int) time.Time {
				if k == 0 {
					return at(start, 10)
				}
				return at(start+respond+(k-1)*max(1, p.daysAgo/8), 10+k)
			}
			status, rating, reason := p.state, any(nil), ""
			if p.state == "rated" {
				rating = p.rating
			}
			if p.state == "declined" {
				reason = p.reason
			}
			last := when(len(path) - 1)
			if p.state == "declined" {
				last = when(len(path))
			}
			var pid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO alliance_projects (town_id, village_id, unit_id, need_id, resource_id, title, note, status, rating, reason, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, $11, $12) RETURNING id`, info.TownID, v.id, unit, nid, rid, title, status, rating, reason, townAdmin, when(0), last).Scan(&pid); err != nil {
				return fmt.Errorf("demo: alliance project: %w", err)
			}
			for k, s := range path {
				var left any
				if k+1 < len(path) || p.state == "declined" {
					left = when(k + 1)
				}
				var due any
				if s == "proposed" {
					due = when(0).Add(7 * 24 * time.Hour)
				}
				if k == 0 {
					actor := "潞城镇管理员"
					if i%3 == 1 {
						actor = unitActor
					}
					step(pid, "", s, "open", actor, "", 0, when(0), due, left)
					continue
				}
				actor, r := unitActor, 0
				if s == "in_progress" || s == "rated" {
					actor = villageActor
				}
				if s == "rated" {
					r = p.rating
				}
				comment := ""
				if s == "rated" {
					comment = "村民反映很好"
					if r < 4 {
						comment = "效果不错，进度有些慢"
					}
				}
				step(pid, path[k-1], s, actions[s], actor, comment, r, when(k), due, left)
			}
			if p.state == "declined" {
				actor := unitActor
				if p.declinedBy == "village" {
					actor = villageActor
				}
				step(pid, path[len(path)-1], "declined", "decline", actor, p.reason, 0, when(len(path)), nil, nil)
			}
			for k, m := range p.milestones {
				if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_milestones (project_id, body, by_name, created_at) VALUES ($1, $2, $3, $4)`,
					pid, m, unitActor, when(2).Add(time.Duration(k+1)*27*time.Hour)); err != nil {
					return fmt.Errorf("demo: alliance milestone: %w", err)
				}
			}
		}
		if len(steps) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO flow_steps (flow, order_id, from_state, to_state, action, actor_id, actor_name, reason, rating, at, due_at, left_at) VALUES `+
				strings.Join(steps, ", "), stepArgs...); err != nil {
				return fmt.Errorf("demo: alliance project steps: %w", err)
			}
		}
		// Resources offered and not used yet, and needs waiting for a match.
		for _, r := range demoListResources {
			unit, err := unitOf(r.unit)
			if err != nil {
				return err
			}
			id, err := addResource(unit, r.kind, r.offer, r.amount, day(r.from), day(r.to), at(min(r.from, 0)-5, 9))
			if err != nil {
				return fmt.Errorf("demo: alliance resource: %w", err)
			}
			if r.kind == "service" && strings.Contains(r.offer, "污水") {
				for k := 0; k < 3 && k < len(villages); k++ {
					if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_resource_villages (resource_id, village_id) VALUES ($1, $2)`, id, vil(k).id); err != nil {
						return err
					}
				}
			}
		}
		for i, x := range demoListNeeds {
			if _, err := addNeed(vil(x.village).id, x.kind, x.need, x.people, day(x.by), "typed", 0, at(-i-1, 11)); err != nil {
				return fmt.Errorf("demo: alliance need: %w", err)
			}
		}
		// Needs that came from 微志愿, 微协商's decisions and its care visits.
		// A decision's text is public (its meeting's minutes); a volunteer need or a visit is about
		// a household, so the village describes what it asks the units for in its own words (said).
		sources := []struct{ source, kind, said, query string }{
			{"volunteer", "volunteers", "村里独居老人较多，需要志愿者定期上门帮扶（由微志愿需求转来）", `SELECT id, village_id, description FROM volunteer_needs WHERE town_id = $1 AND status = 'open' ORDER BY id LIMIT 3`},
			{"decision", "funds", "", `SELECT d.id, m.village_id, d.body FROM consult_decisions d JOIN consult_meetings m ON m.id = d.meeting_id
				WHERE m.town_id = $1 AND m.village_id IS NOT NULL ORDER BY d.id LIMIT 2`},
			{"visit", "service", "贴心服务队走访发现高龄老人需要上门体检和慢病随访", `SELECT id, village_id, notes FROM consult_visits WHERE town_id = $1 AND notes <> '' ORDER BY id DESC LIMIT 2`},
		}
		for i, src := range sources {
			rows, err := tx.QueryContext(ctx, src.query, info.TownID)
			if err != nil {
				return fmt.Errorf("demo: alliance need sources: %w", err)
			}
			type rec struct {
				id, village int64
				text        string
			}
			var recs []rec
			for rows.Next() {
				var r rec
				if err := rows.Scan(&r.id, &r.village, &r.text); err != nil {
					rows.Close()
					return err
				}
				recs = append(recs, r)
			}
			rows.Close()
			for k, r := range recs {
				text := []rune(strings.TrimSpace(r.text))
				if src.said != "" {
					text = []rune(src.said)
				}
				if len(text) == 0 {
					continue
				}
				if _, err := addNeed(r.village, src.kind, string(text[:min(len(text), 1000)]), 1+k*3, day(30+10*i+k), src.source, r.id, at(-2-i, 15)); err != nil {
					return fmt.Errorf("demo: alliance need from %s: %w", src.source, err)
				}
			}
		}
		return nil
	})
}
