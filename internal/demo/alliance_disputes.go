package demo

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
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

// PhoneDisputeStaff is the dispute centre's login (dispute_staff of the demo town): the district
// court's judge who sits at the town's one-stop dispute centre. It belongs in StepAccounts.
const PhoneDisputeStaff = "13900000018"

// disputeJudge is the name of PhoneDisputeStaff's login, made up.
const disputeJudge = "周立平"

// disputeMatters are what people came to the centre's intake about, with the advice they got.
var disputeMatters = []struct{ matter, advice string }{
	{"宅基地四至和邻居说法不一", "先请村委会核对宅基地审批档案，可申请中心组织调解"},
	{"承包地流转费一直没给", "保留流转合同和催要记录，可申请诉前调解，调解不成可起诉"},
	{"离婚后孩子抚养费怎么算", "讲解了抚养费的计算标准，建议先协商，协商不成可起诉"},
	{"在工地干活被拖欠工资", "建议先到劳动监察投诉，同时可申请劳动仲裁"},
	{"邻居盖房挡了采光", "讲解了相邻关系的法律规定，建议由村委会先行调解"},
	{"老人赡养费兄弟几个分摊不下来", "讲解了赡养义务，可申请中心组织家庭调解"},
	{"买的农机有质量问题商家不退", "保留发票和检测记录，可向市场监管部门投诉或起诉"},
	{"借给亲戚的钱要不回来", "有借条的可申请支付令或起诉，讲解了诉讼时效"},
	{"拆迁补偿款家里人分配有争议", "讲解了补偿款分配的政策和法律规定，建议家庭协商或调解"},
	{"养狗咬伤了人怎么赔", "讲解了饲养动物损害责任，建议双方协商或申请调解"},
	{"租房押金房东不退", "保留租赁合同和转账记录，可申请调解或起诉"},
	{"遗产继承兄妹有分歧", "讲解了法定继承顺序和遗嘱效力，可申请调解"},
}

// disputeOutsiders are people who are not residents of the town and came to the intake.
var disputeOutsiders = []string{"马建军", "黄丽萍", "石海涛", "龙晓燕", "叶振华", "段秀英", "雷志刚", "汤美玲"}

// AllianceDisputes gives the demo town its one-stop dispute centre's year: the centre's login
// (PhoneDisputeStaff), 150 consultations over the year, two bookings from residents waiting to be
// answered, a dozen cases filed on the spot (现场立案), others mediated to an agreement, and
// 小甘棠村's land-boundary case: a judge, an invited mediator, the town's planning office, the
// village committee and a respected elder went together to the two households, confirmed the
// boundary on site and explained the law and the policy, and the families reached a first
// understanding. It does nothing when the town has cases already.
func AllianceDisputes(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM dispute_cases WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
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
	realNow := time.Now().UTC()
	today := clock.In(loc, func() time.Time { return realNow }).Today()
	day := func(days int) time.Time {
		return time.Date(today.Year(), today.Month(), today.Day()+days, 10, 0, 0, 0, loc)
	}
	dayStr := func(days int) string { return day(days).Format(clock.DayLayout) }

	as := auth.NewService(d)
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, PhoneDisputeStaff).Scan(&id)
		if err == nil || !db.IsNoRows(err) {
			return err
		}
		if id, err = as.InsertAccount(ctx, tx, PhoneDisputeStaff, disputeJudge, 0, auth.HashPassword(DemoPassword), false); err != nil {
			return fmt.Errorf("demo: account %s: %w", PhoneDisputeStaff, err)
		}
		return as.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.DisputeStaff, TownID: info.TownID})
	})
	if err != nil {
		return err
	}
	js, err := demoLogin(ctx, d, PhoneDisputeStaff)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer js.Close(ctx) // the demo's session ends with it
	judge := js.Actor

	// The town's villages and active residents, for the people who came.
	type res struct {
		id, village, household int64
		name, phone            string
	}
	var residents []res
	villages := map[string]int64{}
	rows, err := d.Read().QueryContext(ctx, `SELECT r.id, r.village_id, r.household_id, r.name, r.phone, v.name FROM residents r JOIN villages v ON v.id = r.village_id
		WHERE r.town_id = $1 AND r.status = 'active' AND r.birth_date < $2 ORDER BY r.id`, info.TownID, today.AddDate(-20, 0, 0).Format(clock.DayLayout))
	if err != nil {
		return fmt.Errorf("demo: dispute residents: %w", err)
	}
	for rows.Next() {
		var r res
		var vname string
		if err := rows.Scan(&r.id, &r.village, &r.household, &r.name, &r.phone, &vname); err != nil {
			rows.Close()
			return err
		}
		residents = append(residents, r)
		villages[vname] = r.village
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(residents) < 4 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 16))

	// 150 consultations over the year, in one statement; about one in eight became a case.
	var b strings.Builder
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	set(realNow)
	created := at()
	b.WriteString(`INSERT INTO dispute_consultations (town_id, village_id, day, resident_id, name, phone, matter, advice, status, became_case, created_by, created_at, updated_at) VALUES `)
	for i := range 150 {
		if i > 0 {
			b.WriteString(", ")
		}
		m := disputeMatters[rng.IntN(len(disputeMatters))]
		ago := -rng.IntN(360) - 3
		var village, resident any
		name, phone := disputeOutsiders[rng.IntN(len(disputeOutsiders))], fmt.Sprintf("1361000%04d", rng.IntN(10000))
		if rng.IntN(5) > 0 {
			r := residents[rng.IntN(len(residents))]
			village, resident, name, phone = r.village, r.id, r.name, r.phone
		}
		fmt.Fprintf(&b, "(%s, %s, %s, %s, %s, %s, %s, %s, 'answered', %s, %s, %s, %s)", arg(info.TownID), arg(village), arg(dayStr(ago)), arg(resident), arg(name), arg(phone),
			arg(m.matter), arg(m.advice), arg(i%8 == 0), arg(judge.AccountID), arg(created), arg(created))
	}
	if _, err := d.Write().ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("demo: consultations: %w", err)
	}
	// Two residents booked from their phones; the centre has not answered yet.
	for i := range 2 {
		r := residents[(i*7+3)%len(residents)]
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO dispute_consultations (town_id, village_id, day, resident_id, name, phone, matter, status, preferred_day, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', $8, $9, $9)`, info.TownID, r.village, dayStr(0), r.id, r.name, r.phone, disputeMatters[i+1].matter, dayStr(2+i), created); err != nil {
			return fmt.Errorf("demo: booking: %w", err)
		}
	}

	// pair is two residents of different households of a village (of the town, for none named).
	pair := func(village int64) (res, res) {
		var list []res
		for _, r := range residents {
			if village == 0 || r.village == village {
				list = append(list, r)
			}
		}
		if len(list) < 2 {
			list = residents
		}
		a := list[rng.IntN(len(list))]
		for _, r := range list {
			if r.household != a.household {
				return a, r
			}
		}
		return a, list[(slices.Index(list, a)+1)%len(list)]
	}
	type demoCase struct {
		ago                  int
		village, title, kind string
		source               string
		fate                 string // settled, filed, mediating, overdue, ended
		summary              string
	}
	kinds := []string{"neighbour", "family", "labour", "contract", "land", "other"}
	titles := map[string]string{"neighbour": "相邻通行纠纷", "family": "赡养纠纷", "labour": "劳务费纠纷", "contract": "土地流转合同纠纷", "land": "宅基地边界纠纷", "other": "饲养动物损害纠纷"}
	sources := []string{"window", "hotline", "court", "village"}
	var cases []demoCase
	names := []string{}
	for n := range villages {
		names = append(names, n)
	}
	slices.Sort(names)
	for i := range 22 {
		k := kinds[i%len(kinds)]
		fate := "settled"
		switch {
		case i < 12:
			fate = "filed" // 现场立案: the article's 十余起
		case i == 19:
			fate = "ended"
		case i == 20:
			fate = "mediating"
		case i == 21:
			fate = "overdue"
		}
		ago := 340 - i*15
		if fate == "mediating" {
			ago = 8
		}
		if fate == "overdue" {
			ago = 40
		}
		v := names[i%len(names)]
		cases = append(cases, demoCase{ago: ago, village: v, title: v + titles[k], kind: k, source: sources[i%len(sources)], fate: fate})
	}
	open := func(c demoCase, parties []alliance.CaseParty, team []alliance.TeamMember) (alliance.Case, error) {
		set(day(-c.ago))
		return s.CreateCase(ctx, judge, alliance.CaseInput{VillageID: villages[c.village], Title: c.title, Kind: c.kind, Source: c.source, Parties: parties, Team: team,
			Summary: cmp.Or(c.summary, "双方因"+titles[c.kind]+"发生争议，申请中心调解。")})
	}
	court := alliance.TeamMember{Role: "judge", Name: disputeJudge, Unit: "北京市通州区人民法院"}
	mediator := alliance.TeamMember{Role: "mediator", Name: "孔德华", Unit: "潞城镇人民调解委员会"}
	for i, c := range cases {
		a, r := pair(villages[c.village])
		parties := []alliance.CaseParty{{ResidentID: a.id, Role: "applicant"}, {ResidentID: r.id, Role: "respondent"}}
		if i%3 == 1 {
			parties[1] = alliance.CaseParty{Name: disputeOutsiders[i%len(disputeOutsiders)], Phone: "13610009999", Role: "respondent"}
		}
		got, err := open(c, parties, []alliance.TeamMember{court, mediator})
		if err != nil {
			return fmt.Errorf("demo: case %s: %w", c.title, err)
		}
		if c.fate == "mediating" || c.fate == "overdue" {
			continue
		}
		set(day(-c.ago + 3))
		if _, err := s.AddSession(ctx, judge, got.ID, alliance.SessionInput{Day: dayStr(-c.ago + 3), Place: "centre", Attendees: "双方当事人、" + disputeJudge + "、孔德华",
			Work: []string{"law"}, Notes: "听取双方陈述，讲解相关法律规定。"}); err != nil {
			return fmt.Errorf("demo: session %s: %w", c.title, err)
		}
		set(day(-c.ago + 10))
		act := alliance.CaseAction{Action: "settle", Agreement: "双方自愿达成调解协议，约定一个月内履行完毕。", Confirmed: i%2 == 0}
		switch c.fate {
		case "filed":
			act = alliance.CaseAction{Action: "file", CourtNumber: fmt.Sprintf("（%d）京0112民初%d号", day(-c.ago+10).Year(), 1200+i*37)}
		case "ended":
			act = alliance.CaseAction{Action: "end", Reason: "申请人撤回调解申请"}
		}
		if _, err := s.ActCase(ctx, judge, got.ID, act); err != nil {
			return fmt.Errorf("demo: case %s %s: %w", c.title, act.Action, err)
		}
	}

	// 小甘棠村's land-boundary case that held up a new road: everyone went to the two households.
	xgt := villages["小甘棠村"]
	if xgt == 0 {
		return nil
	}
	a, r := pair(xgt)
	land := demoCase{ago: 50, village: "小甘棠村", title: "小甘棠村修路涉及的两户土地边界纠纷", kind: "land", source: "village",
		summary: "村里新修道路要经过两户之间的地块，两户对土地边界各执一词，道路施工因此受阻，村委会推荐到中心调解。"}
	got, err := open(land, []alliance.CaseParty{{ResidentID: a.id, Role: "applicant"}, {ResidentID: r.id, Role: "respondent"}}, []alliance.TeamMember{
		court, {Role: "mediator", Name: "孔德华", Unit: "潞城镇人民调解委员会（特邀调解员）"}, {Role: "planning", Name: "徐建平", Unit: "潞城镇规划建设办公室"},
		{Role: "village", Name: "王振山", Unit: "小甘棠村党支部、村委会"}, {Role: "elder", Name: "朱德厚", Unit: "小甘棠村乡贤"},
	})
	if err != nil {
		return fmt.Errorf("demo: 小甘棠村: %w", err)
	}
	set(day(-46))
	if _, err := s.AddSession(ctx, judge, got.ID, alliance.SessionInput{Day: dayStr(-46), Place: "visit",
		Attendees: disputeJudge + "（法官）、孔德华（特邀调解员）、徐建平（镇规划办）、村两委、乡贤朱德厚，" + a.name + "、" + r.name + "两户",
		Work:      []string{"boundary", "law", "policy"}, Notes: "一起上门到两户家中，对照宅基地档案现场确认了边界，讲解了相关法律和修路的政策，双方达成初步谅解。"}); err != nil {
		return fmt.Errorf("demo: 小甘棠村 session: %w", err)
	}
	set(day(-45))
	if _, err := s.ActCase(ctx, judge, got.ID, alliance.CaseAction{Action: "understand", Reason: "两户对现场确认的边界没有异议，同意先让路施工"}); err != nil {
		return fmt.Errorf("demo: 小甘棠村 understand: %w", err)
	}
	return nil
}
