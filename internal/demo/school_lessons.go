package demo

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/school"
)

// The logins schoolLogins adds: the experts other than ExpertName from expertPhones on, in the
// order of demoExperts, and the branch (党支部) of each village without a village admin from
// branchPhones on, in village order. All are in the demo accounts' range and have DemoPassword.
const (
	expertPhones = 13900000030
	branchPhones = 13900000040
)

// schoolLogins gives the experts of demoExperts and the branches of the town's villages a login
// each, so that a year of lessons is ordered, taught and rated by the people concerned: an expert
// login (role expert) for each expert but ExpertName, whose login the town has, and a branch
// secretary's login (village admin of the village) for each village without one. It returns the
// experts' accounts by name, ExpertName's among them when the town has his login. A login whose
// phone is taken already is left as it is.
func schoolLogins(ctx context.Context, d *db.DB, info Info) (map[string]int64, error) {
	as := auth.NewService(d)
	experts := map[string]int64{}
	var hash string
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		account := func(phone, name string, g auth.Grant) (int64, error) {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, phone).Scan(&id)
			if err == nil || !db.IsNoRows(err) {
				return id, err
			}
			if hash == "" {
				hash = auth.HashPassword(DemoPassword) // slow on purpose: once, for all of them
			}
			if id, err = as.InsertAccount(ctx, tx, phone, name, 0, hash, false); err != nil {
				return 0, fmt.Errorf("demo: account %s: %w", phone, err)
			}
			return id, as.InsertGrant(ctx, tx, id, g)
		}
		n := 0
		for _, e := range demoExperts {
			if e.Name == ExpertName {
				var id int64
				if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, PhoneExpert).Scan(&id); err != nil && !db.IsNoRows(err) {
					return err
				}
				experts[e.Name] = id
				continue
			}
			id, err := account(fmt.Sprint(expertPhones+n), e.Name, auth.Grant{Role: auth.Expert, TownID: info.TownID})
			if err != nil {
				return err
			}
			experts[e.Name], n = id, n+1
		}
		rows, err := tx.QueryContext(ctx, `SELECT v.id, v.name FROM villages v WHERE v.town_id = $1 AND NOT EXISTS (SELECT 1 FROM account_roles r
			WHERE r.village_id = v.id AND r.role = $2) ORDER BY v.id`, info.TownID, string(auth.VillageAdmin))
		if err != nil {
			return err
		}
		type village struct {
			id   int64
			name string
		}
		var vs []village
		if err := scanAll(rows, err, func() error {
			var v village
			err := rows.Scan(&v.id, &v.name)
			vs = append(vs, v)
			return err
		}); err != nil {
			return err
		}
		for i, v := range vs {
			if _, err := account(fmt.Sprint(branchPhones+i), v.name+"党支部书记", auth.Grant{Role: auth.VillageAdmin, TownID: info.TownID, VillageID: v.id}); err != nil {
				return err
			}
		}
		return nil
	})
	return experts, err
}

// lessonsPerYear is how many lessons the town's branches order in a year: about 300 for the
// article's 20,000 residents, in proportion for a smaller town, and at least two a month.
func lessonsPerYear(residents int) int {
	return max(24, (300*residents+10000)/20000)
}

// Comments the demo's attendees and branches write, and what the 两委 apply after a lesson, by the
// course's category (学后转化).
var (
	attendeeComments = []string{"讲得实在，听得懂", "案例多，很受启发", "希望多来村里讲", "时间有点长，但内容好", "老师讲得很透彻", "",
		"结合了咱村的实际", "回去要和家里人说说", ""}
	branchComments = []string{"专家准备充分，党员反响好", "内容贴近农村实际，效果好", "互动多，党员愿意发言", "课件清楚，建议以后多安排案例",
		"时间安排在农闲，到课率高"}
	appliedLines = map[string][]string{
		"党性教育":     {"支部每月开展一次“讲初心”交流", "老党员结对帮带青年党员", "党员亮身份、作承诺，年底评议"},
		"微协商议事规则":  {"修订村民议事会议事规则", "每季度召开一次协商议事会", "协商结果在公开栏公示一周"},
		"规范化党建知识":  {"规范“三会一课”记录本", "党费按月收缴并公示", "建立流动党员联系台账"},
		"党建项目品牌化":  {"提炼本村党建品牌名称和口号", "整理三个党员服务案例上墙", "申报镇级党建项目"},
		"疫情防控":     {"更新村级应急预案和网格分工", "建立重点人群关爱台账", "组建应急志愿服务小分队"},
		"接诉即办矛盾调解": {"两委干部每周接待日轮值", "建立邻里纠纷排查台账", "矛盾纠纷先调解再上报"},
		"志愿服务":     {"完善志愿服务队伍花名册", "每月组织一次敲门问需", "志愿服务记录纳入文明积分"},
		"垃圾分类":     {"党员包片开展桶前值守", "每月评比一次垃圾分类示范户", "分类积分与积分超市挂钩"},
		"治理政策":     {"两委会专题学习相关政策", "政策明白纸发到每户", "为符合条件的群众代办申请"},
	}
)

// plannedLesson is one lesson of the demo's year: who orders it, what and who teaches it, when.
type plannedLesson struct {
	village int64
	course  school.Course
	expert  int64
	mode    string
	start   time.Time // in the town's zone
	ordered time.Time // the day the branch ordered it, 10:00
	cancel  bool      // the branch cancels it two days before: one lesson in thirty
	attend  float64   // the share of the roll who come
	invited int       // others the branch brings along
	ratings int       // attendees who rate it
	rated   bool      // the branch rates it (评单) a few days after: all but the last ten days'
	stars   int       // the branch's rating
}

// schoolLessons gives the demo town a year of lessons: about lessonsPerYear lessons in the 12
// months before today, spread over the villages and the experts' stated hours, each made through
// the school's service by the people concerned, logged in, with the clocks set to the days things
// happened: the branch orders a course, the town's party-building office assigns an expert who
// accepts; as the lesson ends the branch types back its sign-in sheet in one go (most of the
// branch's party members came, and a few others the branch brought, put on the roll first) and
// ends the check-in, which pays the party members through the bank in the lesson's month; a few
// attendees give their rating at the village office, and the branch rates the order (评单) a few
// days later, most with 学后转化 lines. The demo party member's branch holds a lesson every month;
// they come to most and rate about half of those with their own login. A few lessons are
// cancelled by the branch; those of the last ten days are not rated yet. Each village's lessons
// are made in order, the villages side by side, each on a clock of its own.
func schoolLessons(ctx context.Context, d *db.DB, s *school.Service, info Info, seed int64) error {
	as := auth.NewService(d)
	var sessions []*demoSession
	defer func() {
		for _, sess := range sessions {
			sess.Close(ctx) // the demo's sessions end with it; a session left over harms nobody
		}
	}()

	// The logins: the office, the experts, a branch for each village, and the demo party member.
	expertPhone := map[int64]string{} // by expert id
	rows, err := d.Read().QueryContext(ctx, `SELECT e.id, a.phone FROM school_experts e JOIN accounts a ON a.id = e.account_id WHERE e.town_id = $1 ORDER BY e.id`, info.TownID)
	if err := scanAll(rows, err, func() error {
		var id int64
		var phone string
		err := rows.Scan(&id, &phone)
		expertPhone[id] = phone
		return err
	}); err != nil {
		return err
	}
	branchPhone := map[int64]string{}
	var villages []int64
	rows, err = d.Read().QueryContext(ctx, `SELECT v.id, MIN(a.phone) FROM villages v JOIN account_roles r ON r.village_id = v.id AND r.role = $2
		JOIN accounts a ON a.id = r.account_id WHERE v.town_id = $1 GROUP BY v.id ORDER BY v.id`, info.TownID, string(auth.VillageAdmin))
	if err := scanAll(rows, err, func() error {
		var id int64
		var phone string
		err := rows.Scan(&id, &phone)
		branchPhone[id], villages = phone, append(villages, id)
		return err
	}); err != nil {
		return err
	}
	if len(villages) == 0 {
		return nil
	}
	phones := []string{PhoneSchoolAdmin, PhonePartyMember}
	for _, p := range expertPhone {
		phones = append(phones, p)
	}
	for _, v := range villages {
		phones = append(phones, branchPhone[v])
	}
	// The logins are made one at a time: the server hashes only a few passwords at once.
	logins := make(map[string]*demoSession, len(phones))
	for _, p := range phones {
		sess, err := demoLogin(ctx, d, p)
		if err != nil {
			return err
		}
		sessions = append(sessions, sess)
		logins[p] = sess
	}
	office, member := logins[PhoneSchoolAdmin].Actor, logins[PhonePartyMember].Actor

	// The menu, and the people each branch may bring along: its adults who are not party members.
	courses, err := s.Courses(ctx, office, school.CourseFilter{TownID: info.TownID, Status: string(school.Offered)})
	if err != nil {
		return err
	}
	slices.SortFunc(courses, func(a, b school.Course) int { return cmp.Compare(a.ID, b.ID) })
	loc, err := s.People.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	today := clock.In(loc, s.Now).Today()
	others := map[int64][]int64{}
	rows, err = d.Read().QueryContext(ctx, `SELECT id, village_id FROM residents WHERE town_id = $1 AND status = 'active' AND NOT party_member AND birth_date < $2 ORDER BY id`,
		info.TownID, clock.Day(today.AddDate(-18, 0, 0)))
	if err := scanAll(rows, err, func() error {
		var id, v int64
		err := rows.Scan(&id, &v)
		others[v] = append(others[v], id)
		return err
	}); err != nil {
		return err
	}

	// The experts' hours already taken: the lessons and the assignments of the demo's recent
	// orders.
	type span struct{ start, end time.Time }
	busy := map[int64][]span{}
	rows, err = d.Read().QueryContext(ctx, `SELECT expert_id, starts_at, ends_at FROM school_lessons WHERE town_id = $1 AND status = 'scheduled'
		UNION ALL SELECT expert_id, starts_at, ends_at FROM school_orders WHERE town_id = $1 AND status = 'assigned'`, info.TownID)
	if err := scanAll(rows, err, func() error {
		var e int64
		var sp span
		err := rows.Scan(&e, &sp.start, &sp.end)
		busy[e] = append(busy[e], sp)
		return err
	}); err != nil {
		return err
	}
	// The experts' stated hours, by expert id, and a course's experts with a login.
	hoursOf := map[string][]school.Slot{}
	for _, e := range demoExperts {
		hoursOf[e.Name] = e.Availability
	}
	availability := map[int64][]school.Slot{}
	teachers := func(c school.Course) []int64 {
		var out []int64
		for _, t := range c.Experts {
			if expertPhone[t.ID] != "" {
				availability[t.ID] = hoursOf[t.Name]
				out = append(out, t.ID)
			}
		}
		return out
	}
	// slot is the first time from day on, for 14 days and before today, at which the expert is
	// available for the length of the course and free.
	slot := func(expert int64, minutes int, day time.Time) (time.Time, bool) {
		for i := 0; i < 14; i++ {
			dd := day.AddDate(0, 0, i)
			if !dd.Before(today) {
				break
			}
			for _, sl := range availability[expert] {
				hm, err := time.Parse("15:04", sl.Start)
				if err != nil {
					continue
				}
				start := time.Date(dd.Year(), dd.Month(), dd.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
				end := start.Add(time.Duration(minutes) * time.Minute)
				if !school.Covers(availability[expert], start, end, loc) {
					continue
				}
				if slices.ContainsFunc(busy[expert], func(b span) bool { return b.start.Before(end) && b.end.After(start) }) {
					continue
				}
				return start, true
			}
		}
		return time.Time{}, false
	}

	// The plan, drawn from the seed: the lessons evenly over the year, the villages in turns, and
	// the demo party member's branch, the model one, holds a lesson every month besides.
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c6573736f6e))
	n := lessonsPerYear(info.Residents)
	first := today.AddDate(-1, 0, 1)
	days := int(today.Sub(first).Hours()/24+0.5) - 1
	var plan []*plannedLesson
	// draw plans a lesson of the village's near day, or none when no expert is free near it (the
	// branch did without).
	draw := func(village int64, day time.Time) *plannedLesson {
		for try := 0; try < 20; try++ {
			c := courses[rng.IntN(len(courses))]
			ts := teachers(c)
			if len(ts) == 0 {
				continue
			}
			e := ts[rng.IntN(len(ts))]
			start, ok := slot(e, c.Minutes, day)
			if !ok {
				continue
			}
			mode := string(c.Format)
			if c.Format == school.Both {
				mode = "offline"
				if rng.IntN(6) == 0 {
					mode = "online"
				}
			}
			p := &plannedLesson{village: village, course: c, expert: e, mode: mode, start: start,
				ordered: time.Date(start.Year(), start.Month(), start.Day()-8-rng.IntN(12), 10, 0, 0, 0, loc),
				cancel:  len(plan)%30 == 7, attend: 0.5 + 0.3*rng.Float64(), invited: rng.IntN(5), ratings: rng.IntN(7),
				rated: start.AddDate(0, 0, 10).Before(today), stars: 4 + rng.IntN(2)}
			if rng.IntN(8) == 0 {
				p.stars = 3
			}
			busy[e] = append(busy[e], span{start, start.Add(time.Duration(c.Minutes) * time.Minute)})
			plan = append(plan, p)
			return p
		}
		return nil
	}
	var turn []int64
	for i := range n {
		if len(turn) == 0 {
			turn = slices.Clone(villages)
			rng.Shuffle(len(turn), func(a, b int) { turn[a], turn[b] = turn[b], turn[a] })
		}
		if draw(turn[0], first.AddDate(0, 0, i*days/n+rng.IntN(3))) != nil {
			turn = turn[1:]
		}
	}
	if member != nil {
		var home int64
		if err := d.Read().QueryRowContext(ctx, `SELECT village_id FROM residents WHERE id = $1`, member.ResidentID).Scan(&home); err != nil && !db.IsNoRows(err) {
			return err
		}
		for m := range 12 {
			from := first.AddDate(0, m, 0)
			if !slices.ContainsFunc(plan, func(p *plannedLesson) bool {
				return p.village == home && !p.start.Before(from) && p.start.Before(from.AddDate(0, 1, 0))
			}) {
				draw(home, from.AddDate(0, 0, 5+rng.IntN(10)))
			}
		}
	}
	byVillage := map[int64][]*plannedLesson{}
	for _, p := range plan {
		byVillage[p.village] = append(byVillage[p.village], p)
	}
	for _, ps := range byVillage {
		sort.SliceStable(ps, func(a, b int) bool { return ps[a].start.Before(ps[b].start) })
	}

	// Each village on a clock of its own, its lessons in order.
	return parallel(len(villages), 4, func(i int) error {
		v := villages[i]
		br := logins[branchPhone[v]]
		var now struct {
			sync.Mutex
			t time.Time
		}
		ws := school.NewService(d, s.People, bank.NewService(d, s.People), nil)
		ws.Now = func() time.Time { now.Lock(); defer now.Unlock(); return now.t.UTC().Truncate(time.Microsecond) }
		ws.Bank.Now = ws.Now
		at := func(t time.Time) { now.Lock(); now.t = t; now.Unlock() }
		vrng := rand.New(rand.NewPCG(uint64(seed), uint64(v)))
		for _, p := range byVillage[v] {
			if err := runLesson(ctx, ws, as, at, vrng, p, br.Actor, br.token, office, logins[expertPhone[p.expert]].Actor, member, others[v], loc); err != nil {
				return fmt.Errorf("demo: lesson %s on %s: %w", p.course.Title, clock.Day(p.start), err)
			}
		}
		return nil
	})
}

// hashBusy reports whether a login was refused for want of a free hash slot, which a moment later
// may not be.
func hashBusy(err error) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Key == "auth.busy"
}

// away reports whether a party member comes to none of the year's lessons: one in sixteen, who
// work away from the village or are too frail to come, as the town's list of members not reached
// shows.
func away(residentID int64) bool { return residentID%16 == 3 }

// runLesson makes one lesson of the plan, from its order to the branch's rating.
func runLesson(ctx context.Context, s *school.Service, as *auth.Service, at func(time.Time), rng *rand.Rand, p *plannedLesson,
	br *auth.Actor, token string, office, expert, member *auth.Actor, others []int64, loc *time.Location) error {
	day := clock.Day(p.start)
	place := ""
	if p.mode == "offline" {
		place = "村委会二楼会议室"
	}
	at(p.ordered)
	o, err := s.PlaceOrder(ctx, br, school.OrderInput{CourseID: p.course.ID, Dates: []string{day}, Mode: p.mode, Place: place, Others: p.invited,
		Note: "请结合村里的实际多讲案例"})
	if err != nil {
		return fmt.Errorf("order: %w", err)
	}
	at(p.ordered.AddDate(0, 0, 1).Add(-30 * time.Minute))
	if _, err := s.Act(ctx, office, o.ID, school.OrderAction{Action: "assign", ExpertID: p.expert, Date: day, Start: p.start.Format("15:04")}); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	at(p.ordered.AddDate(0, 0, 2).Add(6 * time.Hour))
	accept := school.OrderAction{Action: "accept"}
	if p.mode == "online" {
		accept.Link = "https://meeting.example.cn/j/lucheng"
	}
	if o, err = s.Act(ctx, expert, o.ID, accept); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	if p.cancel {
		at(p.start.AddDate(0, 0, -2))
		if _, err := s.Act(ctx, br, o.ID, school.OrderAction{Action: "cancel", Reason: "赶上秋收，党员大多在地里，改期再约"}); err != nil {
			return fmt.Errorf("cancel: %w", err)
		}
		return nil
	}
	// The sign-in sheet (签到表) as the lesson ends, before anyone leaves: the others the branch
	// brought along are put on the roll, and the sheet's ticks, most of the branch's party members
	// and those others, are typed back at once. The demo party member comes to most lessons.
	end := p.start.Add(time.Duration(p.course.Minutes) * time.Minute)
	at(end)
	v, err := s.LessonView(ctx, br, o.LessonID)
	if err != nil {
		return err
	}
	var came []int64
	for _, e := range v.Roll {
		switch {
		case member != nil && e.ResidentID == member.ResidentID:
			if rng.IntN(8) != 0 {
				came = append(came, e.ResidentID)
			}
		case away(e.ResidentID):
		case rng.Float64() < p.attend:
			came = append(came, e.ResidentID)
		}
	}
	for _, k := range rng.Perm(len(others))[:min(p.invited, len(others))] {
		if _, err := s.Invite(ctx, br, o.LessonID, others[k]); err != nil {
			return fmt.Errorf("invite: %w", err)
		}
		came = append(came, others[k])
	}
	if len(came) > 0 {
		if _, err := s.SheetTicks(ctx, br, o.LessonID, came); err != nil {
			return fmt.Errorf("sign-in sheet: %w", err)
		}
	}
	// The check-in ends with the lesson, which pays the party members who came.
	at(end.Add(5 * time.Minute))
	if _, err := s.CloseRoll(ctx, br, o.LessonID); err != nil {
		return fmt.Errorf("close roll: %w", err)
	}
	// A few give their rating at the village office, where the branch types it in for them; the
	// demo party member rates with their own login.
	at(end.Add(30 * time.Minute))
	raters := came
	if len(raters) > p.ratings {
		raters = raters[:p.ratings]
	}
	if member != nil && slices.Contains(came, member.ResidentID) && !slices.Contains(raters, member.ResidentID) && rng.IntN(2) == 0 {
		raters = append(raters, member.ResidentID) // the demo party member rates half the lessons they came to
	}
	for _, id := range raters {
		in := school.RatingInput{Rating: 3 + rng.IntN(3), Comment: attendeeComments[rng.IntN(len(attendeeComments))]}
		if rng.IntN(10) == 0 {
			in.Rating = 2
		}
		if member != nil && id == member.ResidentID {
			if _, err := s.Rate(ctx, member, o.LessonID, in); err != nil {
				return fmt.Errorf("rate as %s: %w", member.Name, err)
			}
			continue
		}
		if err := as.StartOffice(ctx, br, id); err != nil {
			return fmt.Errorf("office: %w", err)
		}
		a, err := as.Authenticate(ctx, token)
		if err != nil {
			return err
		}
		if a == nil || a.Self() != id {
			return fmt.Errorf("office: not acting for resident %d", id)
		}
		if _, err := s.Rate(ctx, a, o.LessonID, in); err != nil {
			return fmt.Errorf("rate: %w", err)
		}
	}
	if len(raters) > 0 {
		if err := as.EndOffice(ctx, br); err != nil {
			return err
		}
	}
	if !p.rated {
		return nil
	}
	// 评单, a few days later, most with what the 两委 will apply.
	at(time.Date(p.start.Year(), p.start.Month(), p.start.Day()+2+rng.IntN(3), 16, 0, 0, 0, loc))
	rate := school.OrderAction{Action: "rate", Rating: p.stars, Reason: branchComments[rng.IntN(len(branchComments))]}
	if lines := appliedLines[p.course.Category]; len(lines) > 0 && rng.IntN(5) != 0 {
		rate.Applied = lines[:1+rng.IntN(len(lines))]
	}
	if _, err := s.Act(ctx, br, o.ID, rate); err != nil {
		return fmt.Errorf("rate order: %w", err)
	}
	return nil
}

// parallel runs fn for 0 to n-1, at most width at a time, and returns the first error.
func parallel(n, width int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, width)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
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
