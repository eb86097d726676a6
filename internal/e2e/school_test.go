package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"siwei/internal/attend"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/school"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// TestSchoolJourney is 微党校 from 点单 to 评价, in four browsers: 前疃村's branch secretary at a
// desktop orders a course for two days from tomorrow (a day in the past is refused first); the
// town's party-building office assigns 李文博 at 19:00, is refused by name because he is not
// available then, adds that evening to his availability on his page and assigns again; 李文博
// accepts. The lesson's day then comes (see shiftLesson): the secretary opens the roll and shows
// the rotating QR, a party member on a phone scans it, checks in and rates the lesson, and the
// secretary ends the check-in, which pays the member's points. The member finds the lesson in 我的党课
// and the study record, and the town sees the branch on the coverage page.
func TestSchoolJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	member := login(t, s, demo.PhonePartyMember)
	m := whoami(t, member)
	office := login(t, s, demo.PhoneSchoolAdmin)
	course := schoolCourse(t, office, "乡村振兴政策解读")
	expert := schoolExpert(t, office, demo.ExpertName)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	day := func(n int) string { return now.AddDate(0, 0, n).Format("2006-01-02") }
	// 19:00 is outside every hour 李文博 states (Thursdays 9–12 and 14–17:30), on any weekday.
	const start = "19:00"
	end := fmt.Sprintf("%d:00", 19+course.Minutes/60)
	if course.Minutes%60 != 0 {
		end = fmt.Sprintf("%d:%02d", 19+course.Minutes/60, course.Minutes%60)
	}
	note := fmt.Sprintf("请结合村里修订村规民约多讲案例 %d", time.Now().UnixNano()%100000)

	// 点单: the branch secretary orders the course from the menu.
	sec := schoolBrowser(t, s, false)
	sec.login(demo.PhoneVillageAdmin, demo.DemoPassword, sec.T("dashboard.title"))
	sec.visit("/school", course.Title)
	sec.click(fmt.Sprintf(`a[href="/school/courses/%d"]`, course.ID))
	sec.see(course.Title, demo.ExpertName, sec.T("school.order.action"))
	sec.click(fmt.Sprintf(`a[href="/school/courses/%d/order"]`, course.ID))
	sec.see(sec.T("school.order.title"), sec.T("school.order.submit"))
	form := `form[action="/school/orders"]`
	sec.set(form+` input[name=dates]:nth-of-type(1)`, day(0)) // today: refused, a lesson needs notice
	sec.set(form+` input[name=dates]:nth-of-type(2)`, day(2))
	sec.click(form + ` input[name=mode][value=offline]`)
	sec.fill(form+` input[name=place]`, "村委会二楼会议室")
	sec.set(form+` input[name=others]`, "3")
	sec.fill(form+` textarea[name=note]`, note)
	sec.click(form + ` button.primary`)
	sec.see(sec.T("school.order.date_not_future", day(0)))
	sec.set(form+` input[name=dates]:nth-of-type(1)`, day(1))
	sec.shot("school-order-form")
	sec.click(form + ` button.primary`)
	sec.see(sec.T("flash.school_order_placed", course.Title, m.Village), sec.T("school.order_status.ordered"), note)
	order := pathID(sec, "/school/orders/")

	// 派单: the town assigns 李文博 tomorrow evening; he has not said he is free then.
	town := schoolBrowser(t, s, false)
	town.login(demo.PhoneSchoolAdmin, demo.DemoPassword, town.T("dashboard.title"))
	town.visit("/admin/school/orders", course.Title, m.Village)
	town.visit(fmt.Sprintf("/school/orders/%d", order), course.Title, note, town.T("school.order.assign"))
	assign := fmt.Sprintf(`form[action="/school/orders/%d/actions"]:has(input[name=action][value=assign])`, order)
	town.set(assign+` select[name=expert_id]`, fmt.Sprint(expert.ID))
	town.set(assign+` select[name=date]`, day(1))
	town.set(assign+` input[name=start]`, start)
	town.click(assign + ` button.primary`)
	town.see(town.T("school.order.expert_unavailable", demo.ExpertName, day(1), start+"–"+end))
	town.shot("staff-school-order-unavailable")
	// The town adds the evening to his availability, as he agreed on the phone.
	town.visit(fmt.Sprintf("/admin/school/experts/%d", expert.ID), demo.ExpertName, town.T("school.availability"))
	added, err := eval[bool](town, fmt.Sprintf(`(() => {
		const row = [...document.querySelectorAll(".sch-slots")].find(r => !r.querySelector("input[name=avail_start]").value);
		if (!row) return false;
		row.querySelector("input[name=avail_from]").value = %q;
		row.querySelector("input[name=avail_to]").value = %q;
		row.querySelector("input[name=avail_start]").value = "18:30";
		row.querySelector("input[name=avail_end]").value = "21:30";
		return true })()`, day(1), day(1)))
	if err != nil || !added {
		town.fail("no blank row of availability on the expert's page (%v)", err)
	}
	town.click(fmt.Sprintf(`form[action="/admin/school/experts/%d"] button.primary`, expert.ID))
	town.see(town.T("flash.school_expert_saved", demo.ExpertName))
	town.visit(fmt.Sprintf("/school/orders/%d", order), course.Title, town.T("school.order.assign"))
	town.set(assign+` select[name=expert_id]`, fmt.Sprint(expert.ID))
	town.set(assign+` select[name=date]`, day(1))
	town.set(assign+` input[name=start]`, start)
	town.click(assign + ` button.primary`)
	town.see(town.T("flash.school_order_assigned", course.Title, demo.ExpertName), town.T("school.order_status.assigned"), demo.ExpertName)
	town.shot("staff-school-order-assign")

	// 接单: 李文博 finds the order among his and accepts it; it becomes a lesson.
	exp := schoolBrowser(t, s, false)
	exp.login(demo.PhoneExpert, demo.DemoPassword, exp.T("dashboard.title"))
	exp.visit("/admin/school/orders", course.Title, m.Village)
	exp.visit(fmt.Sprintf("/school/orders/%d", order), course.Title, note, exp.T("school.order.accept"))
	exp.click(fmt.Sprintf(`form[action="/school/orders/%d/actions"]:has(input[name=action][value=accept]) button.primary`, order))
	exp.see(exp.T("flash.school_order_accepted", course.Title, m.Village), exp.T("school.order_status.accepted"), exp.T("school.lesson.open"))
	exp.shot("expert-school-order-accept")
	var o struct {
		LessonID int64 `json:"lesson_id"`
	}
	office.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/school/orders/%d", order), nil, &o)
	if o.LessonID == 0 {
		t.Fatalf("order %d accepted without a lesson", order)
	}
	lesson := o.LessonID

	// The lesson's day comes.
	s = shiftLesson(t, s, lesson, course.Minutes)
	member = member.on(s)
	secAPI := login(t, s, demo.PhoneVillageAdmin)
	before := balance(t, member, m.ID)

	// The secretary opens the roll: the member is on it, a party member, not checked in.
	sec = schoolBrowser(t, s, false)
	sec.login(demo.PhoneVillageAdmin, demo.DemoPassword, sec.T("dashboard.title"))
	sec.visit(fmt.Sprintf("/school/orders/%d", order), course.Title, sec.T("school.lesson.open"))
	sec.click(fmt.Sprintf(`a[href="/school/lessons/%d"]`, lesson))
	sec.see(course.Title, sec.T("school.lesson.taught_by", demo.ExpertName), sec.T("school.lesson.show_qr"), sec.T("school.lesson.close"))
	sec.row(m.Name, sec.T("school.lesson.party"), sec.T("school.lesson.roll_call"))
	sec.shot("staff-school-lesson-roll")
	sec.click(fmt.Sprintf(`a[href="/school/lessons/%d/qr"]`, lesson))
	sec.see(course.Title, sec.T("school.lesson.qr_say"))
	sec.imageShown(fmt.Sprintf(`img[src="/school/lessons/%d/qr.png"]`, lesson))
	sec.shot("staff-school-lesson-qr")

	// The member scans the QR on the phone: the address it carries, checked against the code the
	// screen shows.
	link := scanLessonQR(t, s, secAPI, lesson)
	ph := schoolBrowser(t, s, true)
	ph.login(demo.PhonePartyMember, demo.DemoPassword, m.Name)
	ph.visit("/school/lessons", ph.T("school.lessons.my_title"), course.Title)
	ph.visit(link, ph.T("school.checkin.hint"))
	ph.shot("resident-school-checkin")
	ph.click(`form[action="/school/checkin"] button.primary`)
	ph.see(ph.T("flash.school_self_checked_in", course.Title), ph.T("school.lesson.rate_title"))
	ph.path(fmt.Sprintf("/school/lessons/%d", lesson))
	// A rating without stars is refused; then five stars and a comment.
	ph.fill(`textarea[name=comment]`, "讲得很实在，村规民约修订的案例很有用")
	ph.click(fmt.Sprintf(`form[action="/school/lessons/%d/ratings"] button.primary`, lesson))
	ph.see(ph.T("flow.rating_invalid"))
	ph.click(`input[name=rating][value="5"]`)
	ph.click(fmt.Sprintf(`form[action="/school/lessons/%d/ratings"] button.primary`, lesson))
	ph.see(ph.T("flash.school_rated", course.Title, 5), ph.T("school.lesson.rate_again"), ph.T("attend.method.qr"))
	ph.shot("resident-school-lesson")

	// The secretary sees the check-in on the roll and ends the check-in, which asks first.
	sec.visit(fmt.Sprintf("/school/lessons/%d", lesson), course.Title)
	sec.row(m.Name, ph.T("attend.method.qr"))
	var lv struct {
		Counts attend.Counts `json:"counts"`
	}
	secAPI.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/school/lessons/%d", lesson), nil, &lv)
	if lv.Counts.Checked != 1 {
		t.Errorf("after one check-in the lesson counts %+v", lv.Counts)
	}
	sec.click(fmt.Sprintf(`form[action="/school/lessons/%d/close"] button`, lesson))
	sec.see(sec.T("school.confirm_close_roll"))
	sec.click(`form:has(input[name=confirmed]) button.primary`)
	sec.see(sec.T("flash.school_roll_closed", course.Title, 1), sec.T("school.lesson.paid_short"))
	sec.shot("staff-school-lesson-closed")
	var mine []struct {
		ID     int64 `json:"id"`
		Rating int   `json:"rating"`
		Points int64 `json:"points"`
	}
	member.must(t, http.StatusOK, "GET", "/api/v1/school/lessons", nil, &mine)
	var points int64
	for _, l := range mine {
		if l.ID == lesson {
			points = l.Points
			if l.Rating != 5 {
				t.Errorf("my lessons: rating %d, want 5", l.Rating)
			}
		}
	}
	if points <= 0 {
		t.Fatalf("the member was not paid for lesson %d: %+v", lesson, mine)
	}
	if after := balance(t, member, m.ID); after != before+points {
		t.Errorf("balance %d after the lesson, want %d + %d", after, before, points)
	}

	// The member's lesson, lessons and study record.
	ph.visit(fmt.Sprintf("/school/lessons/%d", lesson), ph.T("school.lesson.paid"))
	ph.visit("/school/lessons", ph.T("school.lessons.my_title"), course.Title)
	ph.shot("resident-school-lessons")
	ph.visit("/school/record", ph.T("school.record.title"), course.Title)
	ph.shot("resident-school-record")
	ph.visit("/school/record?print=1", ph.T("school.certificate.title"), m.Name, course.Title)
	ph.shot("resident-school-certificate")

	// The town's coverage names the branch.
	town = schoolBrowser(t, s, false)
	town.login(demo.PhoneSchoolAdmin, demo.DemoPassword, town.T("dashboard.title"))
	town.visit("/admin/school/coverage", town.T("school.coverage.title"), m.Village)
	town.shot("staff-school-coverage")
}

// schoolBrowser is a browser whose catalog has 微党校's messages too.
func schoolBrowser(t *testing.T, s *server, phone bool) *browser {
	t.Helper()
	b := newBrowser(t, s, phone)
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, volunteer.Messages, school.Messages)
	if err != nil {
		t.Fatal(err)
	}
	b.cat = cat
	return b
}

// pathID is the id at the end of the address, under prefix.
func pathID(b *browser, prefix string) int64 {
	b.t.Helper()
	p, err := eval[string](b, `location.pathname`)
	var id int64
	if err == nil && strings.HasPrefix(p, prefix) {
		_, err = fmt.Sscan(strings.TrimPrefix(p, prefix), &id)
	}
	if err != nil || id == 0 {
		b.fail("the address %q is not under %s (%v)", p, prefix, err)
	}
	return id
}

type schoolCourseInfo struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	Minutes int    `json:"minutes"`
}

// schoolCourse finds an offered course by title.
func schoolCourse(t *testing.T, c *client, title string) schoolCourseInfo {
	t.Helper()
	var list []schoolCourseInfo
	c.must(t, http.StatusOK, "GET", "/api/v1/school/courses?status=offered", nil, &list)
	for _, x := range list {
		if x.Title == title {
			return x
		}
	}
	t.Fatalf("no offered course %s in %+v", title, list)
	return schoolCourseInfo{}
}

// schoolExpert finds an expert of the pool by name.
func schoolExpert(t *testing.T, c *client, name string) struct{ ID int64 } {
	t.Helper()
	var list []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	c.must(t, http.StatusOK, "GET", "/api/v1/school/experts?q="+url.QueryEscape(name), nil, &list)
	for _, x := range list {
		if x.Name == name {
			return struct{ ID int64 }{x.ID}
		}
	}
	t.Fatalf("no expert %s in %+v", name, list)
	return struct{ ID int64 }{}
}

// shiftLesson stands in for the days until the lesson: the server runs on the real clock and an
// order is for tomorrow at the earliest, so the lesson could not be attended while the test runs.
// With the server stopped, the lesson (its order, and its attendance event) is moved to have
// started five minutes ago, or at midnight if that is later, keeping its length; then the server
// is started again on the same data. Everything after is the server's own doing on its own clock.
func shiftLesson(t *testing.T, s *server, lesson int64, minutes int) *server {
	t.Helper()
	s.stop()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	start := now.Add(-5 * time.Minute).Truncate(time.Minute)
	if midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc); start.Before(midnight) {
		start = midnight
	}
	end := start.Add(time.Duration(minutes) * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, s.opts.DB, s.opts.Data)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, q := range []string{
		`UPDATE school_lessons SET starts_at = $1, ends_at = $2 WHERE id = $3`,
		`UPDATE school_orders SET starts_at = $1, ends_at = $2 WHERE id = (SELECT order_id FROM school_lessons WHERE id = $3)`,
		`UPDATE attend_events SET starts_at = $1, ends_at = $2 WHERE kind = 'school.lesson' AND ref_id = $3`,
	} {
		if _, err := d.Write().ExecContext(ctx, q, start.UTC(), end.UTC(), lesson); err != nil {
			t.Fatalf("move lesson %d: %v", lesson, err)
		}
	}
	return s.restart()
}

// scanLessonQR is the address a phone reads from the lesson's QR as the room's screen shows it:
// the check-in address with the token of the moment, made with the server's key, and checked to
// be exactly what the QR image of the screen encodes (the code rotates, so a period boundary
// between the two is tried again).
func scanLessonQR(t *testing.T, s *server, staff *client, lesson int64) string {
	t.Helper()
	var lv struct {
		Event struct {
			ID int64 `json:"id"`
		} `json:"event"`
	}
	staff.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/school/lessons/%d", lesson), nil, &lv)
	secret, err := people.LoadSecret(s.opts.Data)
	if err != nil {
		t.Fatal(err)
	}
	cipher, err := people.NewCipher(secret)
	if err != nil {
		t.Fatal(err)
	}
	at := attend.New(nil, cipher.Derive("school attendance tokens"))
	for try := 0; try < 3; try++ {
		path := "/school/checkin?" + url.Values{"t": {at.QRToken(lv.Event.ID, time.Now())}}.Encode()
		want, err := qrcode.Encode(s.URL+path, qrcode.Medium, 480)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/school/lessons/%d/qr.png", s.URL, lesson), nil)
		req.Header.Set("Authorization", "Bearer "+staff.Token)
		resp, err := staff.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET qr.png: %d %v", resp.StatusCode, err)
		}
		if bytes.Equal(got, want) {
			return path
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("the QR of lesson %d does not carry the check-in address of its token", lesson)
	return ""
}
