package school_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
)

// orderWorld is a town ready for lesson orders: the party member of 前疃村 is also its branch
// secretary (a village admin whose login is a resident's, so that what the branch is told can be
// read), 李文博 is the demo expert login (no resident record), 周立群's login is the 前疃村 resident's
// (so that what an expert is told can be read), and both teach an offered course of 120 minutes.
// The school's clock is fixed on Wednesday 2026-12-02 10:00 in Beijing and can be moved.
type orderWorld struct {
	env                      *servertest.Env
	secretary, admin, expert *servertest.Client // API clients
	other                    *servertest.Client // 周立群's login
	course                   school.Course
	wen, zhou                school.Expert
	village                  int64
	loc                      *time.Location
	mu                       sync.Mutex
	now                      time.Time
}

// CourseTitle is the world's course.
const courseTitle = "学习党的二十大精神"

func newOrderWorld(t *testing.T, d *db.DB, o demo.Options) *orderWorld {
	t.Helper()
	env := servertest.NewWith(t, d, o)
	w := &orderWorld{env: env, loc: time.FixedZone("CST", 8*3600)}
	w.now = time.Date(2026, 12, 2, 10, 0, 0, 0, w.loc)
	env.Sys.School.Now = func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now.UTC() }
	ctx := context.Background()
	var me people.ResidentJSON
	if st, body := env.API(demo.PhonePartyMember).JSON("GET", "/api/v1/me", nil, &me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	w.village = me.VillageID
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := env.Sys.Auth.InsertGrant(ctx, tx, accountID(t, env, demo.PhonePartyMember), auth.Grant{Role: auth.VillageAdmin, TownID: env.Info.TownID, VillageID: me.VillageID}); err != nil {
			return err
		}
		return env.Sys.Auth.InsertGrant(ctx, tx, accountID(t, env, demo.PhoneResident), auth.Grant{Role: auth.Expert, TownID: env.Info.TownID})
	})
	if err != nil {
		t.Fatal(err)
	}
	w.secretary, w.admin, w.expert, w.other = env.API(demo.PhonePartyMember), env.API(demo.PhoneSchoolAdmin), env.API(demo.PhoneExpert), env.API(demo.PhoneResident)
	// 李文博 teaches on Thursday mornings and Friday afternoons; 周立群 on Thursdays all day.
	if st, body := w.admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": demo.ExpertName, "affiliation": "中共北京市委党校",
		"account_id": accountID(t, env, demo.PhoneExpert), "availability": []map[string]any{{"weekday": 4, "start": "09:00", "end": "12:00"}, {"weekday": 5, "start": "14:00", "end": "17:00"}}}, &w.wen); st != 201 {
		t.Fatalf("expert: %d %s", st, body)
	}
	if st, body := w.admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "周立群", "affiliation": "中共中央党校",
		"account_id": accountID(t, env, demo.PhoneResident), "availability": []map[string]any{{"weekday": 4, "start": "08:00", "end": "18:00"}}}, &w.zhou); st != 201 {
		t.Fatalf("expert: %d %s", st, body)
	}
	if st, body := w.admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": courseTitle, "category_id": firstCategory(t, w.admin), "minutes": 120,
		"format": "both", "expert_ids": []int64{w.wen.ID, w.zhou.ID}}, &w.course); st != 201 {
		t.Fatalf("course: %d %s", st, body)
	}
	if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", w.course.ID), map[string]any{"status": "offered"}, nil); st != 200 {
		t.Fatalf("offer: %d %s", st, body)
	}
	return w
}

// at moves the school's clock.
func (w *orderWorld) at(t time.Time) { w.mu.Lock(); w.now = t; w.mu.Unlock() }

// order places an order of the course through the API as the secretary.
func (w *orderWorld) order(t *testing.T) school.Order {
	t.Helper()
	var o school.Order
	if st, body := w.secretary.JSON("POST", "/api/v1/school/orders", map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-11", "2026-12-10"},
		"mode": "offline", "place": "村委会二楼", "others": 5, "note": "请结合村里的实际讲"}, &o); st != 201 {
		t.Fatalf("order: %d %s", st, body)
	}
	return o
}

// act takes an action on an order through the API and wants the status.
func act(t *testing.T, c *servertest.Client, id int64, body map[string]any, want int) (school.Order, string) {
	t.Helper()
	var o school.Order
	st, raw := c.JSON("POST", fmt.Sprintf("/api/v1/school/orders/%d/actions", id), body, &o)
	if st != want {
		t.Fatalf("%v: %d %s, want %d", body, st, raw, want)
	}
	return o, raw
}

// inbox is what a client's resident was told, newest first, as "title：body".
func inbox(t *testing.T, c *servertest.Client) []string {
	t.Helper()
	var in struct {
		Messages []struct{ Title, Body string }
	}
	if st, body := c.JSON("GET", "/api/v1/notifications", nil, &in); st != 200 {
		t.Fatalf("inbox: %d %s", st, body)
	}
	var out []string
	for _, m := range in.Messages {
		out = append(out, m.Title+"："+m.Body)
	}
	return out
}

// told reports whether the inbox holds the message.
func told(list []string, msg string) bool {
	for _, m := range list {
		if m == msg {
			return true
		}
	}
	return false
}

// steps counts an order's steps in the flow's timeline.
func steps(t *testing.T, env *servertest.Env, id int64) int {
	t.Helper()
	var n int
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM flow_steps WHERE flow = 'school.order' AND order_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLessonOrderFlow: a branch secretary orders a course (from the course page and the API),
// the town assigns an expert at a time of a preferred day, the expert accepts, and the order is a
// lesson at the branch's place; each step is on the timeline, and the branch is told each outcome.
func TestLessonOrderFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		env := w.env
		page := env.Browser(demo.PhonePartyMember)
		st, body := page.Get(fmt.Sprintf("/school/courses/%d", w.course.ID))
		if st != 200 || !strings.Contains(body, fmt.Sprintf(`href="/school/courses/%d/order"`, w.course.ID)) {
			t.Fatalf("the course page offers the secretary no 点单 (%d)", st)
		}
		if _, body := env.Browser(demo.PhoneResident).Get(fmt.Sprintf("/school/courses/%d", w.course.ID)); strings.Contains(body, "/order\"") {
			t.Error("the course page offers a resident 点单")
		}
		var members int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM residents WHERE village_id = $1 AND party_member AND status = 'active'`, w.village).Scan(&members); err != nil {
			t.Fatal(err)
		}
		if st, body := page.Get(fmt.Sprintf("/school/courses/%d/order", w.course.ID)); st != 200 || !strings.Contains(body, fmt.Sprintf("本支部党员 %d 人", members)) {
			t.Errorf("the order form does not count the branch's %d party members (%d): %.400s", members, st, body)
		}

		// 点单 through the form: the page it lands on names the order.
		st, _ = page.PostForm("/school/orders", url.Values{"course_id": {fmt.Sprint(w.course.ID)}, "dates": {"2026-12-10", "", "2026-12-11"}, "mode": {"offline"},
			"place": {"村委会二楼"}, "others": {"5"}})
		if st != 303 {
			t.Fatalf("order form: %d", st)
		}
		var list []school.Order
		if st, body := w.secretary.JSON("GET", "/api/v1/school/orders", nil, &list); st != 200 || len(list) != 1 {
			t.Fatalf("the branch's orders: %d %s", st, body)
		}
		o := list[0]
		if o.Status != "ordered" || o.Members != members || o.Others != 5 || o.Audience() != members+5 || strings.Join(o.Dates, ",") != "2026-12-10,2026-12-11" ||
			o.VillageID != w.village || strings.Join(o.Actions, ",") != "cancel" {
			t.Errorf("the order: %+v", o)
		}
		if _, body := page.Get(fmt.Sprintf("/school/orders/%d?flash=flash.school_order_placed", o.ID)); flashOf(body) != "已点单：《"+courseTitle+"》 · "+o.VillageName+"党支部 · 等待镇里派单" {
			t.Errorf("flash after ordering: %q", flashOf(body))
		}
		// Due in 3 working days: Wednesday 10:00 → Monday 10:00.
		if want := time.Date(2026, 12, 7, 10, 0, 0, 0, w.loc); !o.Due.Equal(want) || o.Overdue {
			t.Errorf("due %v (overdue %v), want %v", o.Due, o.Overdue, want)
		}

		// 派单: the town sees it with assign among its actions, and assigns 李文博 on Thursday 9:00.
		var got school.Order
		if st, body := w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/orders/%d", o.ID), nil, &got); st != 200 || strings.Join(got.Actions, ",") != "assign,cancel" {
			t.Fatalf("the town's order: %d %s", st, body)
		}
		if st, body := env.Browser(demo.PhoneSchoolAdmin).Get(fmt.Sprintf("/school/orders/%d", o.ID)); st != 200 || !strings.Contains(body, `<option value="`+fmt.Sprint(w.wen.ID)+`">李文博</option>`) {
			t.Errorf("the assign form does not offer the course's experts by name (%d)", st)
		}
		got, _ = act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		if got.Status != "assigned" || got.ExpertName != "李文博" || !got.StartsAt.Equal(time.Date(2026, 12, 10, 9, 0, 0, 0, w.loc)) ||
			!got.EndsAt.Equal(time.Date(2026, 12, 10, 11, 0, 0, 0, w.loc)) || !got.Due.Equal(time.Date(2026, 12, 4, 10, 0, 0, 0, w.loc)) {
			t.Errorf("assigned: %+v", got)
		}
		want := "党课已派单：您点的党课《" + courseTitle + "》已派给 李文博，时间 2026-12-10 9:00–11:00，等待专家接单。"
		if !told(inbox(t, w.secretary), want) {
			t.Errorf("the branch was not told %q: %v", want, inbox(t, w.secretary))
		}

		// 接单: the expert sees it among their orders and accepts; it is a lesson at the place.
		var mine []school.Order
		if st, body := w.expert.JSON("GET", "/api/v1/school/orders", nil, &mine); st != 200 || len(mine) != 1 || strings.Join(mine[0].Actions, ",") != "accept,decline" {
			t.Fatalf("the expert's orders: %d %s", st, body)
		}
		got, _ = act(t, w.expert, o.ID, map[string]any{"action": "accept"}, 200)
		if got.Status != "accepted" || got.LessonID == 0 || len(got.Actions) != 0 {
			t.Fatalf("accepted: %+v", got)
		}
		var l school.Lesson
		if st, body := w.secretary.JSON("GET", fmt.Sprintf("/api/v1/school/lessons/%d", got.LessonID), nil, &l); st != 200 || l.Place != "村委会二楼" || l.Status != "scheduled" ||
			l.ExpertName != "李文博" || !l.StartsAt.Equal(got.StartsAt) {
			t.Errorf("the lesson: %d %s", st, body)
		}
		want = "专家已接单：李文博 已接下党课《" + courseTitle + "》：2026-12-10 9:00–11:00，地点：村委会二楼。"
		if !told(inbox(t, w.secretary), want) {
			t.Errorf("the branch was not told %q: %v", want, inbox(t, w.secretary))
		}
		var actions []string
		for _, e := range got.Events {
			actions = append(actions, e.Action+":"+e.ActorName)
		}
		if strings.Join(actions, ",") != "open:"+o.OrderedByName+",assign:潞城镇党建办,accept:李文博" {
			t.Errorf("timeline: %v", actions)
		}
		rates, err := env.Sys.School.Rates(context.Background(), auth.System("test"), env.Info.TownID, w.now.AddDate(0, 0, -1), w.now.AddDate(0, 0, 1))
		if err != nil || rates.Opened != 1 || rates.Responded != 1 || rates.Response() != 1 {
			t.Errorf("rates: %+v %v", rates, err)
		}
		if st, body := page.Get("/school"); st != 200 || !strings.Contains(body, `href="/school/orders"`) {
			t.Errorf("the menu does not lead the branch to its orders (%d)", st)
		}
		expertPage := env.Browser(demo.PhoneExpert)
		for _, p := range []string{"/admin/school/orders", "/admin/school/me/lessons"} {
			if st, body := expertPage.Get(p); st != 200 || !strings.Contains(body, courseTitle) || strings.Contains(body, "?status=ordered") {
				t.Errorf("%s: %d", p, st)
			}
		}
		var n int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action IN ('school.order.open', 'school.order.assign', 'school.order.accept') AND entity_id = $1`, o.ID).Scan(&n); err != nil || n != 3 {
			t.Errorf("audit rows: %d %v", n, err)
		}
	})
}

// TestOrderClashIsRefusedByName: an assignment outside the expert's stated availability, or over
// another of their lessons, is refused naming the expert and what clashes, and changes nothing; a
// day the branch did not ask for and an expert who does not teach the course are refused too.
func TestOrderClashIsRefusedByName(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		first := w.order(t)
		act(t, w.admin, first.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		act(t, w.expert, first.ID, map[string]any{"action": "accept"}, 200)

		second := w.order(t)
		var other school.Expert
		if st, body := w.admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "郭淑芬", "affiliation": "通州区民政局",
			"availability": []map[string]any{{"weekday": 4, "start": "08:00", "end": "18:00"}}}, &other); st != 201 {
			t.Fatalf("expert: %d %s", st, body)
		}
		before := steps(t, w.env, second.ID)
		for _, c := range []struct {
			body   map[string]any
			status int
			field  string
			says   string
		}{
			{map[string]any{"expert_id": w.wen.ID, "date": "2026-12-10", "start": "10:00"}, 409, "expert_id",
				"李文博 那天已有课：《" + courseTitle + "》，" + first.VillageName + "，9:00–11:00"},
			{map[string]any{"expert_id": w.wen.ID, "date": "2026-12-11", "start": "09:00"}, 422, "expert_id", "李文博 在 2026-12-11 9:00–11:00 不在可授课时间内"},
			{map[string]any{"expert_id": w.wen.ID, "date": "2026-12-10", "start": "11:00"}, 422, "expert_id", "李文博 在 2026-12-10 11:00–13:00 不在可授课时间内"},
			{map[string]any{"expert_id": w.wen.ID, "date": "2026-12-09", "start": "09:00"}, 422, "date", "请从支部希望的日期中选择"},
			{map[string]any{"expert_id": w.wen.ID, "date": "2026-12-10", "start": "9点"}, 422, "start", "时间"},
			{map[string]any{"expert_id": other.ID, "date": "2026-12-10", "start": "09:00"}, 422, "expert_id", "请从讲授《" + courseTitle + "》的在库专家中选择"},
			{map[string]any{"date": "2026-12-10", "start": "09:00"}, 422, "expert_id", "必填"},
		} {
			c.body["action"] = "assign"
			_, raw := act(t, w.admin, second.ID, c.body, c.status)
			if !strings.Contains(raw, `"`+c.field+`"`) || !strings.Contains(raw, c.says) {
				t.Errorf("%v: %s, want %q at %s", c.body, raw, c.says, c.field)
			}
		}
		var o school.Order
		w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/orders/%d", second.ID), nil, &o)
		if o.Status != "ordered" || o.ExpertID != 0 || steps(t, w.env, second.ID) != before {
			t.Errorf("a refused assignment changed the order: %+v", o)
		}
		// The page says it in Chinese by name, and keeps the form.
		st, body := w.env.Browser(demo.PhoneSchoolAdmin).PostForm(fmt.Sprintf("/school/orders/%d/actions", second.ID),
			url.Values{"action": {"assign"}, "expert_id": {fmt.Sprint(w.wen.ID)}, "date": {"2026-12-10"}, "start": {"09:30"}})
		if st != 409 || !strings.Contains(body, "李文博 那天已有课") {
			t.Errorf("the page's refusal: %d %.300s", st, body)
		}
		// Friday afternoon is free; a third order at that time is refused while the second waits
		// for 李文博's answer.
		act(t, w.admin, second.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-11", "start": "14:30"}, 200)
		third := w.order(t)
		_, raw := act(t, w.admin, third.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-11", "start": "15:00"}, 409)
		if want := "李文博 那天已有待答复的派单：《" + courseTitle + "》，" + first.VillageName + "，14:30–16:30"; !strings.Contains(raw, want) || !strings.Contains(raw, `"expert_id"`) {
			t.Errorf("a clash with a pending assignment: %s, want %q", raw, want)
		}
	})
}

// TestOrderDeclinedAndReassigned: the expert declines with a reason (none is refused), the order
// returns to the town and the branch is told why; the declining expert no longer sees it; the town
// assigns another expert, who is told and accepts through the page, which says so by name. An
// expert reading another expert's order finds nothing.
func TestOrderDeclinedAndReassigned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		o := w.order(t)
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		if _, raw := act(t, w.expert, o.ID, map[string]any{"action": "decline"}, 422); !strings.Contains(raw, `"reason"`) {
			t.Errorf("a decline without reason: %s", raw)
		}
		// Declined through the page: the expert lands on their orders, told what they declined.
		page := w.env.Browser(demo.PhoneExpert)
		st, _ := page.PostForm(fmt.Sprintf("/school/orders/%d/actions", o.ID), url.Values{"action": {"decline"}, "reason": {"那天在外地讲课"}})
		if st != 303 {
			t.Fatalf("decline: %d", st)
		}
		if _, body := page.Get(fmt.Sprintf("/admin/school/orders?flash=flash.school_order_declined&flash_id=%d", o.ID)); flashOf(body) != "已婉拒：《"+courseTitle+"》 · "+o.VillageName+" · 已退回镇里重新派单" {
			t.Errorf("flash after declining: %q", flashOf(body))
		}
		var back school.Order
		w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/orders/%d", o.ID), nil, &back)
		if back.Status != "ordered" || back.ExpertID != 0 || back.Reason != "那天在外地讲课" || strings.Join(back.Actions, ",") != "assign,cancel" {
			t.Errorf("declined: %+v", back)
		}
		want := "专家婉拒：李文博 婉拒了党课《" + courseTitle + "》，原因：那天在外地讲课。镇里将重新派单。"
		if !told(inbox(t, w.secretary), want) {
			t.Errorf("the branch was not told %q: %v", want, inbox(t, w.secretary))
		}
		if st, _ := w.expert.JSON("GET", fmt.Sprintf("/api/v1/school/orders/%d", o.ID), nil, nil); st != 404 {
			t.Errorf("the declining expert still reads the order: %d", st)
		}

		// Assigned to 周立群, who does not answer; the town gives it to him again at another hour,
		// then to 李文博 and back to 周立群, who is told each time it is taken from him.
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.zhou.ID, "date": "2026-12-10", "start": "10:00"}, 200)
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 409) // not said to be a reassignment
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "reassign": true, "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		taken := "派单已改派：" + o.VillageName + " 点的党课《" + courseTitle + "》您未按时答复，镇里已改派，不用再答复。"
		if !told(inbox(t, w.other), taken) {
			t.Errorf("the expert it was taken from was not told %q: %v", taken, inbox(t, w.other))
		}
		st, _ = w.env.Browser(demo.PhoneSchoolAdmin).PostForm(fmt.Sprintf("/school/orders/%d/actions", o.ID), url.Values{"action": {"assign"}, "reassign": {"1"},
			"expert_id": {fmt.Sprint(w.zhou.ID)}, "date": {"2026-12-10"}, "start": {"14:00"}})
		if st != 303 {
			t.Fatalf("reassign through the page: %d", st)
		}
		if st, _ := w.expert.JSON("GET", fmt.Sprintf("/api/v1/school/orders/%d", o.ID), nil, nil); st != 404 {
			t.Errorf("the expert it was taken from still reads it: %d", st)
		}
		want = "新的派单：" + o.VillageName + " 点了党课《" + courseTitle + "》，派给您讲授，时间 2026-12-10 14:00–16:00。请在 2026-12-04 10:00 前接单或婉拒。"
		if !told(inbox(t, w.other), want) {
			t.Errorf("the expert was not told %q: %v", want, inbox(t, w.other))
		}
		// 李文博 reads 周立群's order nowhere, and cannot act on it.
		for _, p := range []string{fmt.Sprintf("/api/v1/school/orders/%d", o.ID), fmt.Sprintf("/school/orders/%d", o.ID)} {
			if st, _ := w.expert.JSON("GET", p, nil, nil); st != 404 {
				t.Errorf("another expert reads %s: %d", p, st)
			}
		}
		act(t, w.expert, o.ID, map[string]any{"action": "accept"}, 404)
		page = w.env.Browser(demo.PhoneResident)
		st, _ = page.PostForm(fmt.Sprintf("/school/orders/%d/actions", o.ID), url.Values{"action": {"accept"}})
		if st != 303 {
			t.Fatalf("accept through the page: %d", st)
		}
		if _, body := page.Get(fmt.Sprintf("/school/orders/%d?flash=flash.school_order_accepted", o.ID)); flashOf(body) != "已接单：《"+courseTitle+"》 · "+o.VillageName+" · 已排课" {
			t.Errorf("flash after accepting: %q", flashOf(body))
		}
		if st, _ := w.expert.JSON("GET", fmt.Sprintf("/api/v1/school/lessons/%d", o.ID), nil, nil); st != 404 {
			t.Errorf("another expert reads the lesson: %d", st)
		}
	})
}

// TestOrderCancelledAsksFirstAndTells: the town cancels an accepted order through the page,
// which asks first and keeps the reason; the lesson is cancelled and the branch and the expert
// are told who cancelled it and why.
func TestOrderCancelledAsksFirstAndTells(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		o := w.order(t)
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.zhou.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		accepted, _ := act(t, w.other, o.ID, map[string]any{"action": "accept"}, 200)
		page := w.env.Browser(demo.PhoneSchoolAdmin)
		path := fmt.Sprintf("/school/orders/%d/actions", o.ID)
		st, body := page.PostForm(path, url.Values{"action": {"cancel"}})
		if st != 200 || !strings.Contains(body, "取消这个点单？") || !strings.Contains(body, courseTitle) {
			t.Fatalf("cancel does not ask first: %d %.300s", st, body)
		}
		if st, _ := page.PostForm(path, url.Values{"action": {"cancel"}, "confirmed": {"1"}}); st != 422 {
			t.Errorf("cancel without a reason: %d", st)
		}
		if st, _ := page.PostForm(path, url.Values{"action": {"cancel"}, "confirmed": {"1"}, "reason": {"专家临时出差"}}); st != 303 {
			t.Fatalf("cancel: %d", st)
		}
		var l school.Lesson
		if st, body := w.secretary.JSON("GET", fmt.Sprintf("/api/v1/school/lessons/%d", accepted.LessonID), nil, &l); st != 200 || l.Status != "cancelled" || l.CancelReason != "专家临时出差" {
			t.Errorf("the lesson: %d %s", st, body)
		}
		want := "党课已取消：党课《" + courseTitle + "》（" + o.VillageName + "）已被 潞城镇党建办 取消，原因：专家临时出差。"
		if !told(inbox(t, w.secretary), want) || !told(inbox(t, w.other), want) {
			t.Errorf("not told %q: branch %v, expert %v", want, inbox(t, w.secretary), inbox(t, w.other))
		}
		// Nothing is left to do with it: a second cancel is refused.
		act(t, w.admin, o.ID, map[string]any{"action": "cancel", "reason": "再取消"}, 409)
	})
}

// TestOrderScope: another village's staff, another town's staff and a resident find another
// branch's order nowhere (404, as a missing one): not its page, its API, its actions or its
// lesson; an order for another village is not found and stores nothing; a resident may not order.
func TestOrderScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80, SecondTown: true})
		o := w.order(t)
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		accepted, _ := act(t, w.expert, o.ID, map[string]any{"action": "accept"}, 200)
		before := count(t, w.env, "flow_steps")
		for _, phone := range []string{demo.PhoneVillageAdmin2, demo.PhoneTownAdmin2, demo.PhoneVillageAdmin3, demo.PhoneResident3} {
			api, page := w.env.API(phone), w.env.Browser(phone)
			for _, p := range []string{fmt.Sprintf("/api/v1/school/orders/%d", o.ID), fmt.Sprintf("/api/v1/school/lessons/%d", accepted.LessonID)} {
				if st, _ := api.JSON("GET", p, nil, nil); st != 404 {
					t.Errorf("%s GET %s: %d", phone, p, st)
				}
			}
			if st, _ := page.Get(fmt.Sprintf("/school/orders/%d", o.ID)); st != 404 {
				t.Errorf("%s order page: %d", phone, st)
			}
			act(t, api, o.ID, map[string]any{"action": "cancel", "reason": "冒充"}, 404)
			if st, _ := page.PostForm(fmt.Sprintf("/school/orders/%d/actions", o.ID), url.Values{"action": {"cancel"}, "confirmed": {"1"}, "reason": {"冒充"}}); st != 404 {
				t.Errorf("%s cancels through the page: %d", phone, st)
			}
			var list []school.Order
			if st, _ := api.JSON("GET", "/api/v1/school/orders", nil, &list); st == 200 && len(list) > 0 {
				t.Errorf("%s lists %d orders", phone, len(list))
			}
		}
		orders := count(t, w.env, "school_orders")
		body := map[string]any{"course_id": w.course.ID, "village_id": w.village, "dates": []string{"2026-12-10"}, "mode": "online"}
		if st, raw := w.env.API(demo.PhoneVillageAdmin2).JSON("POST", "/api/v1/school/orders", body, nil); st != 404 {
			t.Errorf("东堡村's admin orders for 前疃村: %d %s", st, raw)
		}
		if st, raw := w.env.API(demo.PhoneResident3).JSON("POST", "/api/v1/school/orders", body, nil); st != 403 {
			t.Errorf("a resident orders: %d %s", st, raw)
		}
		if count(t, w.env, "school_orders") != orders || count(t, w.env, "flow_steps") != before {
			t.Error("a refused request stored something")
		}
		// The secretary cannot assign: it is not their part.
		act(t, w.secretary, w.order(t).ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 403)
	})
}

// TestOrderAssignedTwiceAtOnce: the town admin and the school's staff assign the same order at
// the same moment; one wins, the other is told the order has moved on, and the timeline holds one
// assignment.
func TestOrderAssignedTwiceAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		o := w.order(t)
		clients := []*servertest.Client{w.admin, w.env.API(demo.PhoneTownAdmin)}
		experts := []int64{w.wen.ID, w.zhou.ID}
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = clients[i].JSON("POST", fmt.Sprintf("/api/v1/school/orders/%d/actions", o.ID),
					map[string]any{"action": "assign", "expert_id": experts[i], "date": "2026-12-10", "start": "09:00"}, nil)
			}()
		}
		wg.Wait()
		if !(statuses[0] == 200 && statuses[1] == 409) && !(statuses[0] == 409 && statuses[1] == 200) {
			t.Errorf("two assignments: %v", statuses)
		}
		var n int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM flow_steps WHERE flow = 'school.order' AND order_id = $1 AND action = 'assign'`, o.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("assign steps: %d %v", n, err)
		}
	})
}

// TestWrongOrderStoresNothing: every wrong field of an order is named, in Chinese, and nothing
// is stored; the form keeps what was typed.
func TestWrongOrderStoresNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		var draft school.Course
		if st, body := w.admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "草稿课", "category_id": firstCategory(t, w.admin), "minutes": 60,
			"format": "offline", "expert_ids": []int64{w.wen.ID}}, &draft); st != 201 {
			t.Fatalf("draft: %d %s", st, body)
		}
		orders, flows := count(t, w.env, "school_orders"), count(t, w.env, "flow_steps")
		for _, c := range []struct {
			body  map[string]any
			field string
			says  string
		}{
			{map[string]any{"course_id": w.course.ID, "dates": []string{}, "mode": "offline", "place": "村委会"}, "dates", "请至少填一个希望的日期"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-02"}, "mode": "offline", "place": "村委会"}, "dates", "2026-12-02 不是今天以后的日期"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10", "2026-12-11", "2026-12-12", "2026-12-13"}, "mode": "online"}, "dates", "最多填 3 个"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"12月10日"}, "mode": "online"}, "dates", "日期格式应为"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2027-12-10"}, "mode": "online"}, "dates", "不能在 180 天以后"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10"}, "mode": "tv"}, "mode", "请选择线下或线上"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10"}, "mode": "offline"}, "place", "必填"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10"}, "mode": "online", "others": -1}, "others", "0 到 500"},
			{map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10"}, "mode": "online", "note": strings.Repeat("长", 501)}, "note", ""},
			{map[string]any{"course_id": draft.ID, "dates": []string{"2026-12-10"}, "mode": "online"}, "course_id", "《草稿课》目前不在课程菜单上"},
			{map[string]any{"course_id": 999999, "dates": []string{"2026-12-10"}, "mode": "online"}, "course_id", "请从本镇的课程菜单中选择课程"},
		} {
			st, raw := w.secretary.JSON("POST", "/api/v1/school/orders", c.body, nil)
			if st != 422 || !strings.Contains(raw, `"`+c.field+`"`) || !strings.Contains(raw, c.says) {
				t.Errorf("%v: %d %s, want %q at %s", c.body, st, raw, c.says, c.field)
			}
		}
		st, body := w.env.Browser(demo.PhonePartyMember).PostForm("/school/orders", url.Values{"course_id": {fmt.Sprint(w.course.ID)}, "mode": {"offline"}, "place": {"老年活动站"}})
		if st != 422 || !strings.Contains(body, "请至少填一个希望的日期") || !strings.Contains(body, "老年活动站") {
			t.Errorf("the form's refusal: %d %.300s", st, body)
		}
		if count(t, w.env, "school_orders") != orders || count(t, w.env, "flow_steps") != flows {
			t.Error("a refused order stored something")
		}
		// An online link that is no link is refused when accepting an online order.
		var o school.Order
		if st, raw := w.secretary.JSON("POST", "/api/v1/school/orders", map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10"}, "mode": "online"}, &o); st != 201 {
			t.Fatalf("online order: %d %s", st, raw)
		}
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		for _, link := range []string{"", "javascript:alert(1)"} {
			if _, raw := act(t, w.expert, o.ID, map[string]any{"action": "accept", "link": link}, 422); !strings.Contains(raw, `"link"`) {
				t.Errorf("link %q: %s", link, raw)
			}
		}
		if count(t, w.env, "school_lessons") != 0 {
			t.Error("a refused acceptance made a lesson")
		}
		// Once the lesson's time has passed it can no longer be accepted.
		w.at(time.Date(2026, 12, 10, 9, 0, 0, 0, w.loc))
		if _, raw := act(t, w.expert, o.ID, map[string]any{"action": "accept", "link": "https://meeting.example.cn/j/123"}, 409); !strings.Contains(raw, "时间已经过了") {
			t.Errorf("accepting a lesson whose time has passed: %s", raw)
		}
		w.at(time.Date(2026, 12, 10, 8, 59, 0, 0, w.loc))
		act(t, w.expert, o.ID, map[string]any{"action": "accept", "link": "https://meeting.example.cn/j/123"}, 200)
	})
}

// TestOverdueOrdersOnTheTownsToDo: with a fixed clock, an order not assigned within 3 working
// days shows on the town's to-do and in red with words on the orders list, overdue first; an
// assignment not answered within 2 working days does too; before the deadline neither does.
func TestOverdueOrdersOnTheTownsToDo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		late := w.order(t) // Wednesday 10:00: due Monday 10:00
		page := w.env.Browser(demo.PhoneSchoolAdmin)
		w.at(time.Date(2026, 12, 7, 9, 59, 0, 0, w.loc))
		fresh := w.order(t) // Monday 9:59: due Thursday 9:59
		if _, body := page.Get("/admin"); strings.Contains(body, "个党课点单已超期") {
			t.Error("the to-do shows an overdue order before the deadline")
		}
		w.at(time.Date(2026, 12, 7, 10, 1, 0, 0, w.loc))
		if st, body := page.Get("/admin"); st != 200 || !strings.Contains(body, "1 个党课点单已超期") {
			t.Errorf("the to-do does not show the overdue order (%d)", st)
		}
		st, body := page.Get("/admin/school/orders")
		if st != 200 || strings.Count(body, "已超期：未按时派单") != 1 || strings.Index(body, fmt.Sprintf("/school/orders/%d\"", late.ID)) > strings.Index(body, fmt.Sprintf("/school/orders/%d\"", fresh.ID)) {
			t.Errorf("the list does not put the overdue order first, in words (%d)", st)
		}
		var list []school.Order
		w.admin.JSON("GET", "/api/v1/school/orders", nil, &list)
		if len(list) != 2 || list[0].ID != late.ID || !list[0].Overdue || list[1].Overdue {
			t.Errorf("the API's list: %+v", list)
		}
		// Assigned now (Monday 10:01), the expert has until Wednesday 10:01; late after.
		act(t, w.admin, late.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		if _, body := page.Get("/admin"); strings.Contains(body, "个党课点单已超期") {
			t.Error("an assigned order in time shows as overdue")
		}
		w.at(time.Date(2026, 12, 9, 10, 2, 0, 0, w.loc))
		if _, body := page.Get("/admin"); !strings.Contains(body, "1 个党课点单已超期") {
			t.Error("an unanswered assignment past its deadline is not on the to-do")
		}
		if _, body := page.Get(fmt.Sprintf("/school/orders/%d", late.ID)); !strings.Contains(body, "已超期：专家未按时答复") {
			t.Error("the order page does not say the expert is late")
		}
		w.at(time.Date(2026, 12, 10, 10, 2, 0, 0, w.loc))
		if _, body := page.Get("/admin"); !strings.Contains(body, "2 个党课点单已超期") {
			t.Error("the second order past its deadline is not counted")
		}
	})
}
