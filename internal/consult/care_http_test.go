package consult_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// careWorld is a demo town whose 微协商 clock the test moves, with a care-team member assigned 前疃村
// and the demo resident's household, the resident tagged 独居.
type careWorld struct {
	env       *servertest.Env
	mu        sync.Mutex
	now       time.Time
	me        people.ResidentJSON
	memberID  int64
	member    *servertest.Client
	town      *servertest.Client
	resident  *servertest.Client
	otherHome int64 // a household of 东堡村
}

// careMemberPhone is the care-team member's login.
const careMemberPhone = "13700000099"

// setNow moves the clock.
func (w *careWorld) setNow(t time.Time) { w.mu.Lock(); w.now = t; w.mu.Unlock() }

// today is the clock's day in the town (UTC+8).
func (w *careWorld) today() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
}

// careCount is how many rows a table holds.
func careCount(t *testing.T, env *servertest.Env, table string) int {
	t.Helper()
	var n int
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// careLastID is the id at the end of a redirect's path: /x/12?flash=… → 12.
func careLastID(t *testing.T, loc string) int64 {
	t.Helper()
	p, _, _ := strings.Cut(loc, "?")
	var id int64
	if _, err := fmt.Sscan(p[strings.LastIndex(p, "/")+1:], &id); err != nil {
		t.Fatalf("no id in %q", loc)
	}
	return id
}

func newCareWorld(t *testing.T, d *db.DB) *careWorld {
	t.Helper()
	env := servertest.New(t, d)
	w := &careWorld{env: env, now: time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)}
	env.Sys.Consult.Now = func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
	ctx := context.Background()
	w.resident = env.Browser(demo.PhoneResident)
	if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &w.me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET care_tags = '' WHERE town_id = $1`, env.Info.TownID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET care_tags = ',alone,' WHERE id = $1`, w.me.ID); err != nil {
			return err
		}
		id, err := env.Sys.Auth.InsertAccount(ctx, tx, careMemberPhone, "贴心队员甲", 0, auth.HashPassword(demo.DemoPassword), false)
		if err != nil {
			return err
		}
		if err := env.Sys.Auth.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.CareTeam, TownID: env.Info.TownID}); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT h.id FROM households h JOIN villages v ON v.id = h.village_id WHERE v.name = '东堡村' ORDER BY h.id LIMIT 1`).Scan(&w.otherHome)
	})
	if err != nil {
		t.Fatal(err)
	}
	w.town = env.Browser(demo.PhoneTownAdmin)
	var account int64
	if err := d.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, careMemberPhone).Scan(&account); err != nil {
		t.Fatal(err)
	}
	st, loc := w.town.Submit("/admin/consult/care/members", url.Values{"account_id": {fmt.Sprint(account)}, "title": {"镇民政科"}})
	if st != http.StatusSeeOther {
		t.Fatalf("add member: %d %s", st, loc)
	}
	w.memberID = careLastID(t, loc)
	st, loc = w.town.Submit(fmt.Sprintf("/admin/consult/care/members/%d", w.memberID), url.Values{"title": {"镇民政科"}, "phone": {"010-61234567"},
		"village_ids": {fmt.Sprint(w.me.VillageID)}, "household_ids": {fmt.Sprint(w.me.HouseholdID)}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "flash.consult_care_member_saved") && !strings.Contains(loc, "flash=flash.consult_care_member_saved") {
		t.Fatalf("assign: %d %s", st, loc)
	}
	w.member = env.Browser(careMemberPhone)
	return w
}

// schedule is the resident's row on the member's schedule.
func (w *careWorld) schedule(t *testing.T) consult.ScheduleRow {
	t.Helper()
	var rows []consult.ScheduleRow
	if st, body := w.env.API(careMemberPhone).JSON("GET", "/api/v1/consult/care/schedule", nil, &rows); st != 200 {
		t.Fatalf("schedule: %d %s", st, body)
	}
	for _, r := range rows {
		if r.ResidentID == w.me.ID {
			return r
		}
	}
	t.Fatalf("the resident is not on the member's schedule: %+v", rows)
	return consult.ScheduleRow{}
}

// logVisit writes a visit to a household as the member through the form.
func (w *careWorld) logVisit(t *testing.T, c *servertest.Client, household int64, day string, extra url.Values) (int, string) {
	t.Helper()
	form := url.Values{"household_id": {fmt.Sprint(household)}, "visited_on": {day}, "met": {"本人"}, "notes": {"老人身体还好，院门坏了"}}
	for k, v := range extra {
		form[k] = v
	}
	return c.Submit("/admin/consult/visits", form)
}

func TestCareSchedule(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newCareWorld(t, d)
		if r := w.schedule(t); r.Status != consult.CareOverdue || r.LastVisit != "" || r.Interval != 14 {
			t.Fatalf("before any visit: %+v", r)
		}
		// A visit in the future is refused by name and stores nothing.
		before := careCount(t, w.env, "consult_visits")
		if st, body := w.member.PostForm("/admin/consult/visits", url.Values{"household_id": {fmt.Sprint(w.me.HouseholdID)}, "visited_on": {"2026-12-05"}, "notes": {"x"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "走访日期不能晚于今天") {
			t.Fatalf("future visit: %d %.2000s", st, body)
		}
		if careCount(t, w.env, "consult_visits") != before {
			t.Fatal("a refused visit was stored")
		}
		needs := careCount(t, w.env, "volunteer_needs")
		st, loc := w.logVisit(t, w.member, w.me.HouseholdID, w.today(), url.Values{"need_category": {"repair"}, "need_description": {"院门合页坏了，需要修"}, "need_urgency": {"normal"}})
		if st != http.StatusSeeOther {
			t.Fatalf("visit: %d %s", st, loc)
		}
		visit := careLastID(t, loc)
		if careCount(t, w.env, "volunteer_needs") != needs+1 {
			t.Fatal("the need found was not filed")
		}
		// The need is in 微志愿's needs of the village, for its staff.
		if st, body := w.env.API(demo.PhoneVillageAdmin).JSON("GET", "/api/v1/volunteer/needs", nil, nil); st != 200 || !strings.Contains(body, "院门合页坏了") {
			t.Fatalf("needs of 前疃村: %d %.300s", st, body)
		}
		if st, body := w.member.Get(fmt.Sprintf("/admin/consult/visits/%d", visit)); st != 200 || !strings.Contains(body, "院门合页坏了") {
			t.Fatalf("visit page: %d %.300s", st, body)
		}
		if r := w.schedule(t); r.Status != consult.CareOK || r.LastVisit != w.today() {
			t.Fatalf("after the visit: %+v", r)
		}
		// The town's figures of the month: one visit, the one tagged person covered, a need per visit.
		if st, body := w.town.Get("/admin/consult/care/schedule"); st != 200 || !strings.Contains(body, "本月走访 1 次，重点人群 1 人中按期走访 1 人、超期 0 人，每次走访发现需求 1.0 项") {
			t.Fatalf("the town's figures: %d", st)
		}
		// Fifteen days on the 14-day interval has passed.
		w.setNow(time.Date(2026, 12, 19, 2, 0, 0, 0, time.UTC))
		if r := w.schedule(t); r.Status != consult.CareOverdue || r.Due != "2026-12-18" {
			t.Fatalf("after 15 days: %+v", r)
		}
		if st, body := w.member.Get("/admin"); st != 200 || !strings.Contains(body, "走访已超期") {
			t.Fatalf("the member's to-do: %d", st)
		}
		// The town visits 独居 monthly now: the resident is back on time.
		if st, loc := w.town.Submit("/admin/consult/care/intervals", url.Values{"days_alone": {"30"}}); st != http.StatusSeeOther {
			t.Fatalf("intervals: %d %s", st, loc)
		}
		if r := w.schedule(t); r.Status != consult.CareOK || r.Interval != 30 {
			t.Fatalf("on 30 days: %+v", r)
		}
		if st, _ := w.town.Submit("/admin/consult/care/intervals", url.Values{"days_alone": {"0"}}); st != http.StatusUnprocessableEntity {
			t.Fatalf("interval 0: %d", st)
		}
		if st, _ := w.town.Submit("/admin/consult/care/intervals", url.Values{"days_alone": {"14"}}); st != http.StatusSeeOther {
			t.Fatal("intervals back")
		}
		if r := w.schedule(t); r.Status != consult.CareOverdue {
			t.Fatalf("back on 14 days: %+v", r)
		}
		// A new visit puts them back on time.
		if st, loc := w.logVisit(t, w.member, w.me.HouseholdID, w.today(), nil); st != http.StatusSeeOther {
			t.Fatalf("second visit: %d %s", st, loc)
		}
		if r := w.schedule(t); r.Status != consult.CareOK || r.LastVisit != "2026-12-19" {
			t.Fatalf("after the second visit: %+v", r)
		}
	})
}

// logVisit is a visit to the resident's household on a day.
func logVisit(t *testing.T, w *careWorld, day string) (int, string) {
	t.Helper()
	return w.logVisit(t, w.member, w.me.HouseholdID, day, nil)
}

func TestCareVisitScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newCareWorld(t, d)
		st, loc := logVisit(t, w, w.today())
		if st != http.StatusSeeOther {
			t.Fatalf("visit: %d %s", st, loc)
		}
		visit := careLastID(t, loc)
		before := careCount(t, w.env, "consult_visits")
		// A household the member is not assigned: NotFound, nothing stored, through the form and the API.
		if st, _ := w.logVisit(t, w.member, w.otherHome, w.today(), nil); st != http.StatusNotFound {
			t.Fatalf("another village's household: %d", st)
		}
		if st, _ := w.env.API(careMemberPhone).JSON("POST", "/api/v1/consult/visits", map[string]any{"household_id": w.otherHome, "visited_on": w.today(), "notes": "x"}, nil); st != http.StatusNotFound {
			t.Fatalf("another village's household through the API: %d", st)
		}
		if st, _ := w.member.Get(fmt.Sprintf("/admin/consult/visits/new?household=%d", w.otherHome)); st != http.StatusNotFound {
			t.Fatalf("the form for another village's household: %d", st)
		}
		if careCount(t, w.env, "consult_visits") != before {
			t.Fatal("a refused visit was stored")
		}
		// Village staff are not the care team: the visit is hidden from both villages' admins.
		for _, ph := range []string{demo.PhoneVillageAdmin, demo.PhoneVillageAdmin2} {
			if st, _ := w.env.Browser(ph).Get(fmt.Sprintf("/admin/consult/visits/%d", visit)); st != http.StatusNotFound {
				t.Fatalf("%s sees the visit: %d", ph, st)
			}
		}
		// The town admin sees everyone's visits.
		if st, body := w.town.Get("/admin/consult/visits"); st != 200 || !strings.Contains(body, fmt.Sprintf("/admin/consult/visits/%d", visit)) {
			t.Fatalf("the town's book: %d", st)
		}
		// The resident sees their contact cadre and the visit, and rates it once.
		if st, body := w.resident.Get("/consult/care"); st != 200 || !strings.Contains(body, "贴心队员甲") || !strings.Contains(body, "010-61234567") || !strings.Contains(body, fmt.Sprintf("/consult/visits/%d/rating", visit)) {
			t.Fatalf("the card: %d %.500s", st, body)
		}
		if st, _ := w.resident.Submit(fmt.Sprintf("/consult/visits/%d/rating", visit), url.Values{"rating": {"9"}}); st != http.StatusUnprocessableEntity {
			t.Fatalf("rating 9: %d", st)
		}
		// Someone of another household may not rate it.
		var party people.ResidentJSON
		w.env.API(demo.PhonePartyMember).JSON("GET", "/api/v1/me", nil, &party)
		if party.HouseholdID == w.me.HouseholdID {
			t.Fatal("the demo's two residents share a household")
		}
		if st, _ := w.env.Browser(demo.PhonePartyMember).Submit(fmt.Sprintf("/consult/visits/%d/rating", visit), url.Values{"rating": {"1"}}); st != http.StatusNotFound {
			t.Fatalf("another household rates: %d", st)
		}
		if st, loc := w.resident.Submit(fmt.Sprintf("/consult/visits/%d/rating", visit), url.Values{"rating": {"5"}, "comment": {"很及时"}}); st != http.StatusSeeOther {
			t.Fatalf("rate: %d %s", st, loc)
		}
		if st, _ := w.resident.Submit(fmt.Sprintf("/consult/visits/%d/rating", visit), url.Values{"rating": {"1"}}); st != http.StatusConflict {
			t.Fatalf("second rating: %d", st)
		}
		var rating int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT rating FROM consult_visits WHERE id = $1`, visit).Scan(&rating); err != nil || rating != 5 {
			t.Fatalf("rating %d %v", rating, err)
		}
		// The card shows nothing of another household's visits.
		if st, body := w.env.Browser(demo.PhonePartyMember).Get("/consult/care"); st != 200 || strings.Contains(body, fmt.Sprintf("/consult/visits/%d/rating", visit)) || strings.Contains(body, "老人身体还好") {
			t.Fatalf("another household's card: %d", st)
		}
		// What the visit found becomes a topic of the village, linked from the visit; village staff
		// may not raise one from it.
		var cat int64
		if err := d.Read().QueryRowContext(context.Background(), `SELECT id FROM consult_categories WHERE town_id IS NULL ORDER BY id LIMIT 1`).Scan(&cat); err != nil {
			t.Fatal(err)
		}
		topic := url.Values{"category_id": {fmt.Sprint(cat)}, "title": {"村里老人吃饭难"}, "description": {"走访发现独居老人做饭不便，建议办老年餐桌"}}
		topics := careCount(t, w.env, "consult_topics")
		if st, _ := w.env.Browser(demo.PhoneVillageAdmin).Submit(fmt.Sprintf("/admin/consult/visits/%d/topic", visit), topic); st != http.StatusNotFound {
			t.Fatalf("village staff raise a topic from the visit: %d", st)
		}
		if st, _ := w.member.Submit(fmt.Sprintf("/admin/consult/visits/%d/topic", visit), url.Values{"category_id": {fmt.Sprint(cat)}}); st != http.StatusUnprocessableEntity {
			t.Fatalf("a topic without a title: %d", st)
		}
		if careCount(t, w.env, "consult_topics") != topics {
			t.Fatal("a refused topic was stored")
		}
		if st, loc := w.member.Submit(fmt.Sprintf("/admin/consult/visits/%d/topic", visit), topic); st != http.StatusSeeOther {
			t.Fatalf("topic: %d %s", st, loc)
		}
		var source string
		var sourceID, village int64
		if err := d.Read().QueryRowContext(context.Background(), `SELECT source, source_id, village_id FROM consult_topics ORDER BY id DESC LIMIT 1`).Scan(&source, &sourceID, &village); err != nil ||
			source != "visit" || sourceID != visit || village != w.me.VillageID {
			t.Fatalf("topic %s %d %d %v", source, sourceID, village, err)
		}
		if st, body := w.member.Get(fmt.Sprintf("/admin/consult/visits/%d", visit)); st != 200 || !strings.Contains(body, "村里老人吃饭难") {
			t.Fatalf("the visit does not link its topic: %d", st)
		}
		// Taking the member off the team asks first and keeps a reason.
		path := fmt.Sprintf("/admin/consult/care/members/%d/deactivate", w.memberID)
		if st, _ := w.town.Submit(path, url.Values{}); st != http.StatusOK {
			t.Fatalf("deactivate without confirming: %d", st)
		}
		if st, _ := w.town.Submit(path, url.Values{"confirmed": {"1"}, "reason": {"调离本镇"}}); st != http.StatusSeeOther {
			t.Fatalf("deactivate: %d", st)
		}
		if st, _ := logVisit(t, w, w.today()); st != http.StatusNotFound {
			t.Fatalf("a member off the team logs a visit: %d", st)
		}
	})
}

// TestCarePages renders every care page for the member, the town admin and the resident, with a
// member's photo on the card the resident sees.
func TestCarePages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newCareWorld(t, d)
		st, loc := logVisit(t, w, w.today())
		if st != http.StatusSeeOther {
			t.Fatalf("visit: %d %s", st, loc)
		}
		visit := careLastID(t, loc)
		pages := map[*servertest.Client][]string{
			w.member: {fmt.Sprintf("/admin/consult/visits/new?household=%d", w.me.HouseholdID), "/admin/consult/visits/new?q=" + url.QueryEscape(w.me.Name),
				"/admin/consult/visits", fmt.Sprintf("/admin/consult/visits/%d", visit), "/admin/consult/care/schedule?status=overdue"},
			w.town: {"/admin/consult/care", fmt.Sprintf("/admin/consult/care/members/%d?q=%s", w.memberID, url.QueryEscape(w.me.Name)), "/admin/consult/care/schedule",
				"/admin/consult/visits?member_id=" + fmt.Sprint(w.memberID), fmt.Sprintf("/admin/consult/visits/%d", visit)},
			w.resident: {"/consult/care"},
		}
		for c, list := range pages {
			for _, p := range list {
				if st, body := c.Get(p); st != http.StatusOK {
					t.Errorf("%s: %d %.300s", p, st, body)
				}
			}
		}
		// The member's own page is the town's: the member may not manage the team.
		if st, _ := w.member.Get("/admin/consult/care"); st != http.StatusForbidden {
			t.Fatalf("the member manages the team: %d", st)
		}
		// A card photo, seen by the resident on the card.
		if st, body := careUpload(t, w.env, w.town, fmt.Sprintf("/admin/consult/care/members/%d", w.memberID), url.Values{"title": {"镇民政科"}, "phone": {"010-61234567"},
			"village_ids": {fmt.Sprint(w.me.VillageID)}, "household_ids": {fmt.Sprint(w.me.HouseholdID)}}, carePNG(t)); st != http.StatusSeeOther {
			t.Fatalf("photo: %d %.300s", st, body)
		}
		var photo int64
		if err := d.Read().QueryRowContext(context.Background(), `SELECT id FROM consult_photos WHERE owner = 'member' AND owner_id = $1`, w.memberID).Scan(&photo); err != nil {
			t.Fatal(err)
		}
		if st, body := w.resident.Get("/consult/care"); st != 200 || !strings.Contains(body, fmt.Sprintf("/consult/photos/%d", photo)) {
			t.Fatalf("the card has no photo: %d", st)
		}
		if st, _ := w.resident.Get(fmt.Sprintf("/consult/photos/%d", photo)); st != http.StatusOK {
			t.Fatalf("the resident may not see the card's photo: %d", st)
		}
		if st, _ := w.env.Anonymous().Get(fmt.Sprintf("/consult/photos/%d", photo)); st == http.StatusOK {
			t.Fatal("anyone sees the card's photo")
		}
	})
}

// careUpload posts a multipart form with one photo in the field photos.
func careUpload(t *testing.T, env *servertest.Env, c *servertest.Client, path string, fields url.Values, photo []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("photos", "me.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(photo)
	mw.Close()
	req, _ := http.NewRequest("POST", env.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Do(req)
}

// carePNG is a small photo.
func carePNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
