package school_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
)

// lessonOf takes an order of the world's course through 派单 and 接单: 李文博 on Thursday
// 2026-12-10, 09:00–11:00, at the branch's place, and returns the lesson's view as the town sees it.
func (w *orderWorld) lesson(t *testing.T) school.LessonView {
	t.Helper()
	adoptLessonRule(t, w.env)
	o := w.order(t)
	act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
	got, _ := act(t, w.expert, o.ID, map[string]any{"action": "accept"}, 200)
	var lv school.LessonView
	if st, body := w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/lessons/%d", got.LessonID), nil, &lv); st != 200 {
		t.Fatalf("lesson: %d %s", st, body)
	}
	return lv
}

// adoptLessonRule gives the town's party members the 党员 rule set's 微党校学习 (3 points, at most
// four a month), as the demo's bank step does, once.
func adoptLessonRule(t *testing.T, env *servertest.Env) {
	t.Helper()
	ctx := context.Background()
	var n int
	env.Sys.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM bank_rules WHERE code = 'lesson'`).Scan(&n)
	if n > 0 {
		return
	}
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := env.Sys.Bank.InsertVersion(ctx, tx, bank.VersionInput{TownID: env.Info.TownID, Class: people.PartyMember, AdoptedBy: "村民代表大会",
			AdoptedOn: "2026-01-01", Resolution: "测试", EffectiveFrom: "2026-01-01",
			Rules: []bank.RuleInput{{Code: "lesson", Name: "微党校学习", Category: "党建引领", Points: 3, CapPeriod: "month", CapCount: 4}}}, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loginAs gives a resident a login and an API session without a password check (the tests need
// dozens of them; hashing a password each time would be most of the test's time).
func loginAs(t *testing.T, env *servertest.Env, residentID int64) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	d := env.Sys.DB
	var hash string
	var villageID, townID int64
	if err := d.Read().QueryRowContext(ctx, `SELECT password_hash FROM accounts WHERE phone = $1`, demo.PhoneResident).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if err := d.Read().QueryRowContext(ctx, `SELECT r.village_id, v.town_id FROM residents r JOIN villages v ON v.id = r.village_id WHERE r.id = $1`, residentID).Scan(&villageID, &townID); err != nil {
		t.Fatal(err)
	}
	var account int64
	err := d.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE resident_id = $1`, residentID).Scan(&account)
	if db.IsNoRows(err) {
		err = d.Write().QueryRowContext(ctx, `INSERT INTO accounts (phone, name, resident_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			fmt.Sprintf("1370000%04d", residentID%10000), "党员", residentID, hash, db.Now()).Scan(&account)
		if err == nil {
			_, err = d.Write().ExecContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, village_id, created_at) VALUES ($1, 'resident', $2, $3, $4)`,
				account, townID, villageID, db.Now())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	if _, err := d.Write().ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, 'api', $3, $4, $5)`,
		hex.EncodeToString(sum[:]), account, tok, db.Now(), db.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := env.Anonymous()
	c.Token = tok
	return c
}

// partyPaid counts the lesson's payments in the ledger, by their key.
func lessonPayments(t *testing.T, env *servertest.Env, lessonID int64) (n int, points int64) {
	t.Helper()
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM bank_transactions WHERE idem_key LIKE $1`,
		fmt.Sprintf("school:lesson:%d:resident:%%", lessonID)).Scan(&n, &points); err != nil {
		t.Fatal(err)
	}
	return n, points
}

// TestLessonAttendanceFlow: an accepted order is a lesson whose roll is the branch's party
// members, each told of it; during the lesson a member checks in with the QR, another is called by
// the staff, a third is typed back from the sheet; a photo of an old QR and a second check-in
// change nothing; the town ends the check-in, which pays each party member who came once under
// the 党员 rule set's 微党校学习 (closing again pays nothing more); attendees rate it, the branch
// rates the order (评单) with its 学后转化, and the course counts the lesson and its rating.
func TestLessonAttendanceFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		env, ctx := w.env, context.Background()
		// A few more of the village's adults are party members, so that the roll has several.
		if _, err := d.Write().ExecContext(ctx, `UPDATE residents SET party_member = TRUE WHERE id IN (
			SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < '1990-01-01' AND phone NOT LIKE '139000000%' ORDER BY id LIMIT 6)`, w.village); err != nil {
			t.Fatal(err)
		}
		lv := w.lesson(t)
		var members int
		if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE village_id = $1 AND party_member AND status = 'active'`, w.village).Scan(&members); err != nil {
			t.Fatal(err)
		}
		if members < 3 || len(lv.Roll) != members || !lv.Runs || lv.Counts.Roll != members || lv.Counts.Checked != 0 {
			t.Fatalf("the roll: %d of %d members, runs %v, counts %+v", len(lv.Roll), members, lv.Runs, lv.Counts)
		}
		// The party member's login (the secretary) is told of the lesson.
		if !told(inbox(t, w.secretary), "党课通知："+lv.VillageName+"党支部的党课《"+courseTitle+"》定在 2026-12-10 9:00–11:00，地点：村委会二楼，主讲 李文博。请准时参加，到场扫码签到。") {
			t.Errorf("the member was not told of the lesson: %q", inbox(t, w.secretary))
		}
		// Three attendees with logins of their own, none of them staff.
		var others []int64
		var secretaryID int64
		for _, e := range lv.Roll {
			var phone string
			d.Read().QueryRowContext(ctx, `SELECT phone FROM residents WHERE id = $1`, e.ResidentID).Scan(&phone)
			if phone == demo.PhonePartyMember {
				secretaryID = e.ResidentID
			} else if len(others) < 4 {
				others = append(others, e.ResidentID)
			}
		}
		if len(others) < 4 || secretaryID == 0 {
			t.Fatalf("the roll has too few members: %+v", lv.Roll)
		}
		a, b, c := loginAs(t, env, others[0]), loginAs(t, env, others[1]), others[2]
		path := fmt.Sprintf("/api/v1/school/lessons/%d", lv.ID)

		// Before the lesson: the QR is shown, but too early to take.
		w.at(time.Date(2026, 12, 10, 8, 0, 0, 0, w.loc))
		tok := env.Sys.School.Attend.QRToken(lv.Event.ID, env.Sys.School.Now())
		if st, body := a.JSON("POST", path+"/checkins", map[string]any{"token": tok}, nil); st != 422 || !strings.Contains(body, "还没到签到时间") {
			t.Errorf("a check-in an hour early: %d %s", st, body)
		}
		// During it: the QR of now checks in; a photo of the code of two minutes ago does not.
		w.at(time.Date(2026, 12, 10, 9, 5, 0, 0, w.loc))
		old := env.Sys.School.Attend.QRToken(lv.Event.ID, env.Sys.School.Now().Add(-2*time.Minute))
		if st, body := b.JSON("POST", path+"/checkins", map[string]any{"token": old}, nil); st != 422 || !strings.Contains(body, "签到码已过期") {
			t.Errorf("a photo of an old QR: %d %s", st, body)
		}
		tok = env.Sys.School.Attend.QRToken(lv.Event.ID, env.Sys.School.Now())
		var res school.CheckinResult
		if st, body := a.JSON("POST", path+"/checkins", map[string]any{"token": tok}, &res); st != 200 || !res.Fresh || res.Entry.Method != "qr" {
			t.Fatalf("QR check-in: %d %s", st, body)
		}
		if st, body := a.JSON("POST", path+"/checkins", map[string]any{"token": tok}, &res); st != 200 || res.Fresh || res.Entry.Method != "qr" {
			t.Errorf("a second check-in changes nothing: %d %s", st, body)
		}
		// A forged token, a token of this lesson posted to another, and a resident off the roll.
		if st, _ := a.JSON("POST", path+"/checkins", map[string]any{"token": tok + "x"}, nil); st != 422 {
			t.Errorf("a forged token: %d", st)
		}
		if st, body := w.other.JSON("POST", path+"/checkins", map[string]any{"token": tok}, nil); st != 409 || !strings.Contains(body, "不在这次的名单上") {
			t.Errorf("a resident off the roll: %d %s", st, body)
		}
		// An attendee cannot call the roll.
		if st, _ := a.JSON("POST", path+"/checkins", map[string]any{"resident_id": others[1], "method": "roll"}, nil); st != 422 && st != 403 {
			t.Errorf("an attendee calling the roll: %d", st)
		}
		// Roll call by the branch's secretary, on the page: the flash names who was checked in.
		page := env.Browser(demo.PhonePartyMember)
		st, _ := page.PostForm(fmt.Sprintf("/school/lessons/%d/checkins", lv.ID), url.Values{"resident_id": {fmt.Sprint(others[1])}, "method": {"roll"}})
		if st != 303 {
			t.Fatalf("roll call: %d", st)
		}
		var name string
		d.Read().QueryRowContext(ctx, `SELECT name FROM residents WHERE id = $1`, others[1]).Scan(&name)
		if _, body := page.Get(fmt.Sprintf("/school/lessons/%d?flash=flash.school_checked_in&flash_id=%d", lv.ID, others[1])); flashOf(body) != name+" 已签到（点名）" {
			t.Errorf("roll call flash: %q", flashOf(body))
		}
		// The sheet typed back: the third, and the secretary himself.
		if st, body := page.PostForm(fmt.Sprintf("/school/lessons/%d/sheet", lv.ID), url.Values{"resident_ids": {fmt.Sprint(c), fmt.Sprint(secretaryID)}}); st != 303 {
			t.Fatalf("sheet: %d %s", st, body)
		}
		// A tick of someone not on the printed roll is refused, and stores nothing.
		before := count(t, env, "attend_entries")
		if st, _ := page.PostForm(fmt.Sprintf("/school/lessons/%d/sheet", lv.ID), url.Values{"resident_ids": {fmt.Sprint(c), "999999"}}); st != 422 {
			t.Errorf("a tick off the roll: %d", st)
		}
		if count(t, env, "attend_entries") != before {
			t.Error("a refused sheet stored something")
		}
		if n, _ := lessonPayments(t, env, lv.ID); n != 0 {
			t.Errorf("paid before the roll was closed: %d", n)
		}
		// Cancelling a lesson is still possible now; the town ends the check-in instead, asked first.
		adminPage := env.Browser(demo.PhoneSchoolAdmin)
		if st, body := adminPage.PostForm(fmt.Sprintf("/school/lessons/%d/close", lv.ID), url.Values{}); st != 200 || !strings.Contains(body, "结束签到并发放积分？") {
			t.Fatalf("closing does not ask first: %d", st)
		}
		if n, _ := lessonPayments(t, env, lv.ID); n != 0 {
			t.Errorf("the question paid: %d", n)
		}
		w.at(time.Date(2026, 12, 10, 11, 10, 0, 0, w.loc))
		// Over, with the check-in open: on the town's and the branch's to-do lists.
		if _, body := adminPage.Get("/admin"); !strings.Contains(body, "1 节党课已结束，还没结束签到、发放积分") {
			t.Error("the town's to-do does not list the lesson whose roll is open")
		}
		if _, body := page.Get("/admin"); !strings.Contains(body, "1 节党课已结束，还没结束签到、发放积分") || !strings.Contains(body, "1 节党课已上完，等支部评单") {
			t.Error("the branch's to-do does not list the lesson to close and to rate")
		}
		if st, _ := adminPage.PostForm(fmt.Sprintf("/school/lessons/%d/close", lv.ID), url.Values{"confirmed": {"1"}}); st != 303 {
			t.Fatalf("close: %d", st)
		}
		n, points := lessonPayments(t, env, lv.ID)
		if n != 4 || points != 4*3 {
			var lv school.LessonView
			w.admin.JSON("GET", path, nil, &lv)
			t.Errorf("paid %d members %d points, want 4 members 12 points: %+v", n, points, lv.Roll)
		}
		var closed school.LessonView
		if st, body := w.admin.JSON("POST", path+"/close", nil, &closed); st != 200 || closed.Counts.Checked != 4 || closed.Event.ClosedAt.IsZero() {
			t.Errorf("closing again: %d %s", st, body)
		}
		if n2, _ := lessonPayments(t, env, lv.ID); n2 != 4 {
			t.Errorf("closing again paid more: %d", n2)
		}
		// After the close, the QR takes nobody, and the order cannot be cancelled.
		tok = env.Sys.School.Attend.QRToken(lv.Event.ID, env.Sys.School.Now())
		if st, body := b.JSON("POST", path+"/checkins", map[string]any{"token": tok}, nil); st != 409 || !strings.Contains(body, "已结束签到") {
			t.Errorf("a QR after the close: %d %s", st, body)
		}
		if _, body := act(t, w.secretary, lv.OrderID, map[string]any{"action": "cancel", "reason": "下雨"}, 409); !strings.Contains(body, "不能再取消") {
			t.Errorf("cancelling a paid lesson: %s", body)
		}
		// Ratings: an attendee rates 5 then changes to 4; one who did not come cannot.
		var r school.Rating
		if st, body := a.JSON("POST", path+"/ratings", map[string]any{"rating": 5, "comment": "讲得透"}, &r); st != 200 || r.Rating != 5 {
			t.Fatalf("rating: %d %s", st, body)
		}
		a.JSON("POST", path+"/ratings", map[string]any{"rating": 4}, nil)
		if st, _ := a.JSON("POST", path+"/ratings", map[string]any{"rating": 6}, nil); st != 422 {
			t.Errorf("a rating of 6: %d", st)
		}
		if st, body := loginAs(t, env, others[3]).JSON("POST", path+"/ratings", map[string]any{"rating": 1}, nil); st != 409 || !strings.Contains(body, "签到后才能评价") {
			t.Errorf("a member who did not come rates: %d %s", st, body)
		}
		if _, body := adminPage.Get("/admin"); strings.Contains(body, "节党课已结束，还没结束签到") {
			t.Error("the closed roll stays on the town's to-do")
		}
		// The secretary attended too: his home asks him to rate it.
		if st, body := page.Get("/"); !strings.Contains(body, "1 节党课等您评价") {
			t.Logf("%d %.2000s", st, body)
			t.Error("the attendee's home does not ask for a rating")
		}
		// 评单: the secretary rates the order with two lines of 学后转化; the order is done.
		o, _ := act(t, w.secretary, lv.OrderID, map[string]any{"action": "rate", "rating": 5, "reason": "很实用", "applied": []string{"把议事规则写进村规民约", "  ", "每月开一次议事会"}}, 200)
		if o.Status != "rated" || len(o.Actions) != 0 {
			t.Errorf("rated order: %+v", o)
		}
		var course school.Course
		w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/courses/%d", w.course.ID), nil, &course)
		if course.TimesTaught != 1 || course.Ratings != 1 || course.Rating != 4 {
			t.Errorf("the course: taught %d, %d ratings of %v", course.TimesTaught, course.Ratings, course.Rating)
		}
		var after school.LessonView
		w.admin.JSON("GET", path, nil, &after)
		if after.BranchRating != 5 || strings.Join(after.Applied, "|") != "把议事规则写进村规民约|每月开一次议事会" {
			t.Errorf("the lesson after 评单: %+v", after.Lesson)
		}
		// The member's record and lessons.
		var mine []school.MyLesson
		if st, body := a.JSON("GET", "/api/v1/school/lessons", nil, &mine); st != 200 || len(mine) != 1 || mine[0].Rating != 4 || mine[0].Points != 3 || mine[0].CheckedInAt.IsZero() {
			t.Errorf("my lessons: %d %s", st, body)
		}
		var rec school.StudyRecord
		if st, body := a.JSON("GET", "/api/v1/school/record?from=2026-12&to=2026-12", nil, &rec); st != 200 || len(rec.Lessons) != 1 || rec.Hours() != "2.0" {
			t.Errorf("study record: %d %s", st, body)
		}
		if st, body := a.JSON("GET", "/api/v1/school/record?from=2026-13", nil, nil); st != 422 || !strings.Contains(body, "from") {
			t.Errorf("a wrong month: %d %s", st, body)
		}

		// Coverage and figures of December, against what happened: 4 of the branch's members came.
		var cov school.Coverage
		if st, body := w.admin.JSON("GET", "/api/v1/school/coverage?from=2026-12&to=2026-12", nil, &cov); st != 200 {
			t.Fatalf("coverage: %d %s", st, body)
		}
		for _, v := range cov.Villages {
			if v.VillageID == w.village && (v.Reached != 4 || v.Members != members) {
				t.Errorf("the branch's coverage: %+v, want 4 of %d", v, members)
			}
			if v.VillageID != w.village && v.Reached != 0 {
				t.Errorf("another branch reached: %+v", v)
			}
		}
		if cov.Reached != 4 {
			t.Errorf("the town's coverage: %d", cov.Reached)
		}
		if st, _ := w.admin.JSON("GET", "/api/v1/school/coverage?from=2026-11&to=2026-11", nil, &cov); st != 200 || cov.Reached != 0 {
			t.Errorf("November's coverage: %d", cov.Reached)
		}
		var fig school.Figures
		if st, body := w.admin.JSON("GET", "/api/v1/school/figures?from=2026-12&to=2026-12", nil, &fig); st != 200 || fig.Lessons != 1 || fig.Offline != 1 ||
			fig.PersonTimes != 4 || fig.Reached != 4 || fig.Ratings != 1 || fig.RatingSum != 4 || fig.Orders["rated"] != 1 || fig.Rates.Done != 1 {
			t.Errorf("figures: %d %s", st, body)
		}
		// The pages: each renders, in Chinese, for whom it is.
		lp := fmt.Sprintf("/school/lessons/%d", lv.ID)
		for _, c := range []struct {
			who   *servertest.Client
			path  string
			wants []string
		}{
			{page, lp, []string{"名单（", "已签到 4 / ", "点名", "签到表", "扫码"}},
			{page, lp + "/sheet", []string{"微党校党课签到表", "本人签名", name}},
			{page, lp + "/qr", []string{"请用手机扫码签到", "每 30 秒自动更新"}},
			{page, "/school/lessons", []string{"我的党课", "《" + courseTitle + "》"}},
			{page, "/school/record?from=2026-12&to=2026-12", []string{"参加党课 1 次，共 2.0 小时", "学习证明"}},
			{page, "/school/record?from=2026-12&to=2026-12&print=1", []string{"兹证明", "微党校党课 1 次，累计学习 2.0 小时"}},
			{page, "/school/record?from=2026-99", []string{"月份格式应为 2026-01"}},
			{adminPage, "/admin/school/coverage?from=2026-12&to=2026-12", []string{"参加过党课的党员", lv.VillageName, "签到人次", "满意率"}},
			{adminPage, fmt.Sprintf("/admin/school/coverage/%d", w.village), []string{"近 6 个月未参加党课的党员", "从未参加"}},
			{adminPage, fmt.Sprintf("/school/courses/%d", w.course.ID), []string{"各村学后转化", "把议事规则写进村规民约"}},
		} {
			st, body := c.who.Get(c.path)
			for _, want := range c.wants {
				if !strings.Contains(body, want) {
					t.Errorf("%s (%d) does not say %q", c.path, st, want)
				}
			}
		}
		req, _ := http.NewRequest("GET", env.URL+lp+"/qr.png", nil)
		if st, body := adminPage.Do(req); st != 200 || !strings.HasPrefix(body, "\x89PNG") {
			t.Errorf("the QR image: %d", st)
		}
	})
}

// TestLessonCheckinsRacing: fifty members scan the QR at once, some twice; each is checked in
// once, and closing the roll twice at once pays each exactly once.
func TestLessonCheckinsRacing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 240})
		env, ctx := w.env, context.Background()
		// Fifty of the village's adults are party members before the lesson is fixed.
		// Fifty adults of the town are party members; those of other villages are invited.
		if _, err := d.Write().ExecContext(ctx, `UPDATE residents SET party_member = TRUE WHERE id IN (
			SELECT id FROM residents WHERE status = 'active' AND birth_date < '2000-01-01' AND phone NOT LIKE '139000000%' ORDER BY village_id <> $1, id LIMIT 50)`, w.village); err != nil {
			t.Fatal(err)
		}
		lv := w.lesson(t)
		rows, err := d.Read().QueryContext(ctx, `SELECT id FROM residents WHERE party_member AND village_id <> $1`, w.village)
		if err != nil {
			t.Fatal(err)
		}
		var invite []int64
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			invite = append(invite, id)
		}
		rows.Close()
		for _, id := range invite {
			if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/school/lessons/%d/invitations", lv.ID), map[string]any{"resident_id": id}, nil); st != 200 {
				t.Fatalf("invite: %d %s", st, body)
			}
		}
		w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/lessons/%d", lv.ID), nil, &lv)
		if len(lv.Roll) < 50 {
			t.Fatalf("roll of %d", len(lv.Roll))
		}
		var clients []*servertest.Client
		for _, e := range lv.Roll[:50] {
			clients = append(clients, loginAs(t, env, e.ResidentID))
		}
		w.at(time.Date(2026, 12, 10, 9, 1, 0, 0, w.loc))
		tok := env.Sys.School.Attend.QRToken(lv.Event.ID, env.Sys.School.Now())
		path := fmt.Sprintf("/api/v1/school/lessons/%d", lv.ID)
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh, codes := 0, map[int]int{}
		for i, c := range clients {
			for range 1 + i%2 { // every other member scans twice
				wg.Add(1)
				go func() {
					defer wg.Done()
					var res school.CheckinResult
					st, _ := c.JSON("POST", path+"/checkins", map[string]any{"token": tok}, &res)
					mu.Lock()
					codes[st]++
					if st == 200 && res.Fresh {
						fresh++
					}
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		if fresh != 50 || codes[200] != 75 {
			t.Fatalf("%d fresh check-ins, statuses %v; want 50 fresh of 75", fresh, codes)
		}
		w.at(time.Date(2026, 12, 10, 11, 5, 0, 0, w.loc))
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); w.admin.JSON("POST", path+"/close", nil, nil) }()
		}
		wg.Wait()
		w.admin.JSON("POST", path+"/close", nil, nil)
		var n, distinct int
		if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT resident_id) FROM bank_transactions WHERE idem_key LIKE $1`,
			fmt.Sprintf("school:lesson:%d:resident:%%", lv.ID)).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != 50 || distinct != 50 {
			t.Errorf("%d payments to %d members, want 50 to 50", n, distinct)
		}
	})
}

// TestCancelledLessonPaysNothing: a lesson cancelled by the branch takes no check-in and pays
// nothing; each on its roll is told; an online lesson's link works only while it runs.
func TestCancelledLessonPaysNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		env := w.env
		// An online lesson: its link checks in only during it.
		var o school.Order
		if st, body := w.secretary.JSON("POST", "/api/v1/school/orders", map[string]any{"course_id": w.course.ID, "dates": []string{"2026-12-10"}, "mode": "online"}, &o); st != 201 {
			t.Fatalf("order: %d %s", st, body)
		}
		act(t, w.admin, o.ID, map[string]any{"action": "assign", "expert_id": w.wen.ID, "date": "2026-12-10", "start": "09:00"}, 200)
		got, _ := act(t, w.expert, o.ID, map[string]any{"action": "accept", "link": "https://meeting.example.cn/j/123"}, 200)
		var lv school.LessonView
		w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/lessons/%d", got.LessonID), nil, &lv)
		var member int64
		for _, e := range lv.Roll {
			var phone string
			env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT phone FROM residents WHERE id = $1`, e.ResidentID).Scan(&phone)
			if phone != demo.PhonePartyMember {
				member = e.ResidentID
				break
			}
		}
		m := loginAs(t, env, member)
		link := env.Sys.School.Attend.LinkToken(lv.Event.ID)
		path := fmt.Sprintf("/api/v1/school/lessons/%d", lv.ID)
		w.at(time.Date(2026, 12, 10, 11, 30, 0, 0, w.loc))
		if st, body := m.JSON("POST", path+"/checkins", map[string]any{"token": link}, nil); st != 422 || !strings.Contains(body, "签到时间已过") {
			t.Errorf("the link after the lesson: %d %s", st, body)
		}
		w.at(time.Date(2026, 12, 10, 9, 30, 0, 0, w.loc))
		if st, body := m.JSON("POST", path+"/checkins", map[string]any{"token": link}, nil); st != 200 {
			t.Errorf("the link during the lesson: %d %s", st, body)
		}
		// The branch cancels it: nothing is paid, the link takes nobody, and the members are told.
		act(t, w.secretary, o.ID, map[string]any{"action": "cancel", "reason": "专家临时生病"}, 200)
		if st, _ := w.admin.JSON("POST", path+"/close", nil, nil); st != 409 {
			t.Errorf("closing a cancelled lesson: %d", st)
		}
		if st, _ := w.secretary.JSON("POST", path+"/checkins", map[string]any{"resident_id": member, "method": "roll"}, nil); st != 409 {
			t.Errorf("roll call on a cancelled lesson: %d", st)
		}
		if n, _ := lessonPayments(t, env, lv.ID); n != 0 {
			t.Errorf("a cancelled lesson paid %d", n)
		}
		// Its check-in counts for nothing: nobody is reached, no person-time is left.
		var cov school.Coverage
		var fig school.Figures
		w.admin.JSON("GET", "/api/v1/school/coverage?from=2026-12&to=2026-12", nil, &cov)
		w.admin.JSON("GET", "/api/v1/school/figures?from=2026-12&to=2026-12", nil, &fig)
		if cov.Reached != 0 || fig.Reached != 0 || fig.PersonTimes != 0 || fig.Cancelled != 1 || fig.Lessons != 0 {
			t.Errorf("after the cancellation: reached %d/%d, figures %+v", cov.Reached, fig.Reached, fig)
		}
		if !told(inbox(t, m), "党课取消：党课《"+courseTitle+"》（2026-12-10 9:00–11:00）已取消，原因：专家临时生病。") {
			t.Errorf("the member was not told: %q", inbox(t, m))
		}
	})
}

// TestLessonScope: another village's staff and another expert read a lesson as missing, and a
// resident off the roll too; the expert who teaches it sees it without the roll.
func TestLessonScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		env := w.env
		lv := w.lesson(t)
		path := fmt.Sprintf("/api/v1/school/lessons/%d", lv.ID)
		for _, c := range []*servertest.Client{env.API(demo.PhoneVillageAdmin2), w.other, env.API(demo.PhoneResident)} {
			if st, _ := c.JSON("GET", path, nil, nil); st != 404 {
				t.Errorf("a stranger reads the lesson: %d", st)
			}
			if st, _ := c.JSON("POST", path+"/checkins", map[string]any{"resident_id": lv.Roll[0].ResidentID, "method": "roll"}, nil); st != 404 {
				t.Errorf("a stranger calls the roll: %d", st)
			}
			if st, _ := c.JSON("POST", path+"/close", nil, nil); st != 404 {
				t.Errorf("a stranger closes the roll: %d", st)
			}
		}
		var seen school.LessonView
		if st, body := w.expert.JSON("GET", path, nil, &seen); st != 200 || !seen.Teaches || seen.Runs || len(seen.Roll) != 0 {
			t.Errorf("the expert's view: %d %s", st, body)
		}
		// 东堡村's resident cannot be put on 前疃村's roll by its secretary (404 like nobody).
		var stranger int64
		d.Read().QueryRowContext(context.Background(), `SELECT r.id FROM residents r JOIN villages v ON v.id = r.village_id WHERE v.name = '东堡村' LIMIT 1`).Scan(&stranger)
		before := count(t, env, "attend_entries")
		if st, _ := w.secretary.JSON("POST", path+"/checkins", map[string]any{"resident_id": stranger, "method": "roll"}, nil); st != 404 {
			t.Errorf("the secretary checks in another village's resident: %d", st)
		}
		if count(t, env, "attend_entries") != before {
			t.Error("a refused check-in stored something")
		}
		// Coverage: the town sees every branch; a branch its own; a resident nothing.
		var cov school.Coverage
		if st, body := w.admin.JSON("GET", "/api/v1/school/coverage?from=2026-01&to=2026-12", nil, &cov); st != 200 || len(cov.Villages) < 2 {
			t.Errorf("the town's coverage: %d %s", st, body)
		}
		if st, body := w.secretary.JSON("GET", "/api/v1/school/coverage", nil, &cov); st != 200 || len(cov.Villages) != 1 || cov.Villages[0].VillageID != w.village {
			t.Errorf("the branch's coverage: %d %s", st, body)
		}
		if st, _ := w.other.JSON("GET", "/api/v1/school/coverage", nil, nil); st != 403 {
			t.Errorf("a resident's coverage: %d", st)
		}
	})
}
