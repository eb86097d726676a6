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

// referralWorld is a town ready for referrals: three departments of its directory (水务所 and 城管科
// handle water, 文化站 culture), each with a login, 水务所's head login being a resident's so what
// it is told can be read; a topic of 前疃村 that the demo resident proposed and a referral of it,
// urgent, to 水务所 and 城管科. The consult clock is fixed and can be moved.
type referralWorld struct {
	env                *servertest.Env
	town, village      *servertest.Client // API clients of the town's and 前疃村's admins
	other              *servertest.Client // 东堡村's admin
	resident           *servertest.Client // the topic's proposer
	water, city, cultu *servertest.Client // the departments' logins
	waterID, cityID    int64
	cultureID          int64
	headResident       int64 // the resident whose login is 水务所's head
	villageID          int64
	topicID            int64
	referral           consult.Referral
	mu                 sync.Mutex
	now                time.Time
}

// referralAdvance moves the consult clock on.
func (w *referralWorld) referralAdvance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// referralLogin makes a login holding the dept_responder role of the town (for a resident when
// residentID is not 0) and links it to the department through the directory's page.
func referralLogin(t *testing.T, env *servertest.Env, townAdmin *servertest.Client, phone string, residentID, deptID int64, head bool) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := env.Sys.Auth.InsertAccount(ctx, tx, phone, "部门答复人"+phone[7:], residentID, auth.HashPassword(demo.DemoPassword), false)
		if err != nil {
			return err
		}
		return env.Sys.Auth.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.DeptResponder, TownID: env.Info.TownID})
	})
	if err != nil {
		t.Fatal(err)
	}
	f := url.Values{"phone": {phone}}
	if head {
		f.Set("head", "1")
	}
	if st, loc := townAdmin.Submit(fmt.Sprintf("/admin/consult/departments/%d/accounts", deptID), f); st != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
		t.Fatalf("link login: %d %s", st, loc)
	}
	return env.API(phone)
}

func newReferralWorld(t *testing.T, d *db.DB) *referralWorld {
	t.Helper()
	env := servertest.New(t, d)
	w := &referralWorld{env: env, now: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)}
	env.Sys.Consult.Now = func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
	w.town, w.village, w.other, w.resident = env.API(demo.PhoneTownAdmin), env.API(demo.PhoneVillageAdmin), env.API(demo.PhoneVillageAdmin2), env.API(demo.PhoneResident)
	ctx := context.Background()
	var me people.ResidentJSON
	if st, body := w.resident.JSON("GET", "/api/v1/me", nil, &me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	w.villageID = me.VillageID
	var water, culture int64
	q := env.Sys.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT id FROM consult_categories WHERE code = 'water'`).Scan(&water); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT id FROM consult_categories WHERE code = 'culture'`).Scan(&culture); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		name, level string
		cat         int64
		id          *int64
	}{{"水务所", "town", water, &w.waterID}, {"城管科", "district", water, &w.cityID}, {"文化站", "town", culture, &w.cultureID}} {
		var dep consult.Department
		if st, body := w.town.JSON("POST", "/api/v1/consult/departments", map[string]any{"name": x.name, "level": x.level, "category_ids": []int64{x.cat},
			"contact_name": "联系人", "contact_phone": "010-69541234", "head_name": "负责人", "head_phone": "13811119999"}, &dep); st != 201 {
			t.Fatalf("department: %d %s", st, body)
		}
		*x.id = dep.ID
	}
	if err := q.QueryRowContext(ctx, `SELECT r.id FROM residents r WHERE r.town_id = $1 AND r.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = r.id) ORDER BY r.id LIMIT 1`, env.Info.TownID).Scan(&w.headResident); err != nil {
		t.Fatal(err)
	}
	browser := env.Browser(demo.PhoneTownAdmin)
	w.water = referralLogin(t, env, browser, "13900000501", w.headResident, w.waterID, true)
	w.city = referralLogin(t, env, browser, "13900000502", 0, w.cityID, true)
	w.cultu = referralLogin(t, env, browser, "13900000503", 0, w.cultureID, true)
	if err := env.Sys.DB.Write().QueryRowContext(ctx, `INSERT INTO consult_topics (town_id, village_id, category_id, title, description, status, source, proposer_resident, proposer_name, created_at, updated_at)
		VALUES ($1, $2, $3, '村西头水管漏水', '水管漏了一个月，路面结冰', 'open', 'resident', $4, '提议人甲', $5, $5) RETURNING id`,
		env.Info.TownID, w.villageID, water, me.ID, w.now).Scan(&w.topicID); err != nil {
		t.Fatal(err)
	}
	if st, body := w.village.JSON("POST", "/api/v1/consult/referrals", map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.waterID, w.cityID},
		"urgency": "urgent", "finish_days": 7}, &w.referral); st != 201 {
		t.Fatalf("referral: %d %s", st, body)
	}
	return w
}

// referralPath is the API path of the world's referral.
func (w *referralWorld) referralPath(tail string) string {
	return fmt.Sprintf("/api/v1/consult/referrals/%d%s", w.referral.ID, tail)
}

func TestReferralCreateAndRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		r := w.referral
		if r.Status != consult.ReferralReferred || len(r.Targets) != 2 || r.Urgency != "urgent" || !r.RespondBy.Equal(w.now.Add(2*time.Hour)) || !r.FinishBy.Equal(w.now.AddDate(0, 0, 7)) {
			t.Fatalf("referral: %+v", r)
		}
		// Each target department's login is told; 水务所's is a resident's.
		var n int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE resident_id = $1`, w.headResident).Scan(&n); err != nil || n != 1 {
			t.Fatalf("department told %d times (%v)", n, err)
		}
		before := referralCount(t, d)
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"topic_id": w.topicID, "urgency": "urgent", "finish_days": 7}, "department_ids"},
			{map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.waterID}, "urgency": "soon", "finish_days": 7}, "urgency"},
			{map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.waterID}, "urgency": "normal", "finish_days": 9}, "finish_days"},
			{map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.waterID}, "urgency": "normal", "finish_on": "2026-12-01"}, "finish_on"},
			{map[string]any{"urgency": "normal", "finish_days": 7, "department_ids": []int64{w.waterID}}, "source"},
		} {
			st, body := w.village.JSON("POST", "/api/v1/consult/referrals", c.body, nil)
			if st != http.StatusUnprocessableEntity || !strings.Contains(body, `"`+c.field+`"`) {
				t.Errorf("%v: %d %s", c.body, st, body)
			}
		}
		// Another village's staff cannot refer 前疃村's topic, nor a resident.
		if st, _ := w.other.JSON("POST", "/api/v1/consult/referrals", map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.waterID}, "urgency": "normal", "finish_days": 7}, nil); st != 404 {
			t.Errorf("东堡村 admin refers: %d", st)
		}
		if st, _ := w.resident.JSON("POST", "/api/v1/consult/referrals", map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.waterID}, "urgency": "normal", "finish_days": 7}, nil); st != 403 {
			t.Errorf("resident refers: %d", st)
		}
		if after := referralCount(t, d); after != before {
			t.Errorf("refused referrals stored: %d → %d", before, after)
		}
		// The form page offers the departments by name, those handling water first.
		st, body := w.env.Browser(demo.PhoneVillageAdmin).Get(fmt.Sprintf("/admin/consult/referrals/new?topic=%d", w.topicID))
		if st != 200 || !strings.Contains(body, "水务所") || strings.Index(body, "城管科") > strings.Index(body, "文化站") {
			t.Errorf("new referral form: %d %.2000s", st, body)
		}
	})
}

// referralCount is how many referrals there are.
func referralCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM consult_referrals`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReferralVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		for name, c := range map[string]*servertest.Client{"文化站 (not a target)": w.cultu, "东堡村 admin": w.other, "the party member": w.env.API(demo.PhonePartyMember)} {
			if st, _ := c.JSON("GET", w.referralPath(""), nil, nil); st != 404 {
				t.Errorf("%s reads the referral: %d", name, st)
			}
			if st, _ := c.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, nil); st != 404 {
				t.Errorf("%s accepts the referral: %d", name, st)
			}
		}
		if st, _ := w.env.Browser("13900000503").Get(fmt.Sprintf("/admin/consult/referrals/%d", w.referral.ID)); st != 404 {
			t.Errorf("文化站's page of another department's referral: %d", st)
		}
		var list []consult.Referral
		if st, _ := w.cultu.JSON("GET", "/api/v1/consult/referrals", nil, &list); st != 200 || len(list) != 0 {
			t.Errorf("文化站's list: %d %d", st, len(list))
		}
		for name, c := range map[string]*servertest.Client{"水务所": w.water, "前疃村 admin": w.village, "town admin": w.town, "proposer": w.resident} {
			var r consult.Referral
			if st, body := c.JSON("GET", w.referralPath(""), nil, &r); st != 200 || r.ID != w.referral.ID {
				t.Errorf("%s reads the referral: %d %s", name, st, body)
			}
		}
		if st, body := w.env.Browser(demo.PhoneResident).Get(fmt.Sprintf("/consult/referrals/%d", w.referral.ID)); st != 200 {
			t.Errorf("proposer's page: %d %.2000s", st, body)
		}
		// The department's board lists it with a countdown.
		st, body := w.env.Browser("13900000501").Get("/admin/consult/referrals")
		if st != 200 || !strings.Contains(body, "村西头水管漏水") || !strings.Contains(body, "还剩2小时") {
			t.Errorf("水务所's board: %d", st)
		}
	})
}

func TestReferralFirstAcceptWins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		var wg sync.WaitGroup
		sts := make([]int, 2)
		bodies := make([]string, 2)
		for i, c := range []*servertest.Client{w.water, w.city} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sts[i], bodies[i] = c.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, nil)
			}()
		}
		wg.Wait()
		wins, lost := 0, 0
		for i, st := range sts {
			switch st {
			case 200:
				wins++
			case 409:
				lost++
				if !strings.Contains(bodies[i], "首接负责") {
					t.Errorf("the later accept's message: %s", bodies[i])
				}
			default:
				t.Errorf("accept: %d %s", st, bodies[i])
			}
		}
		if wins != 1 || lost != 1 {
			t.Fatalf("accepts: %v", sts)
		}
		var r consult.Referral
		w.town.JSON("GET", w.referralPath(""), nil, &r)
		var steps int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM flow_steps WHERE flow = 'consult.referral' AND order_id = $1 AND action = 'accept'`, r.ID).Scan(&steps); err != nil || steps != 1 {
			t.Errorf("accept steps: %d (%v)", steps, err)
		}
		if r.Status != consult.ReferralAccepted || (r.DepartmentID != w.waterID && r.DepartmentID != w.cityID) {
			t.Fatalf("after the race: %+v", r)
		}
		// The other target still sees it, with nothing to do, and a later accept is told who owns it.
		loser := w.city
		if r.DepartmentID == w.cityID {
			loser = w.water
		}
		var seen consult.Referral
		if st, _ := loser.JSON("GET", w.referralPath(""), nil, &seen); st != 200 || len(seen.Actions) != 0 {
			t.Errorf("the other target reads an accepted referral: %d %v", st, seen.Actions)
		}
		if st, body := loser.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, nil); st != 409 || !strings.Contains(body, "首接负责") {
			t.Errorf("a later accept: %d %s", st, body)
		}
	})
}

func TestReferralTransfer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		if st, body := w.city.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "transfer", "department_id": w.cultureID}, nil); st != 422 || !strings.Contains(body, `"reason"`) {
			t.Errorf("transfer without a reason: %d %s", st, body)
		}
		if st, body := w.city.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "transfer", "department_id": w.waterID, "reason": "不归我们管"}, nil); st != 422 || !strings.Contains(body, `"department_id"`) {
			t.Errorf("transfer to a target: %d %s", st, body)
		}
		if st, body := w.city.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "transfer", "department_id": w.cultureID, "reason": "不归我们管"}, nil); st != 200 {
			t.Fatalf("transfer: %d %s", st, body)
		}
		if st, _ := w.city.JSON("GET", w.referralPath(""), nil, nil); st != 404 {
			t.Errorf("the department that transferred still reads it: %d", st)
		}
		var r consult.Referral
		if st, body := w.cultu.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, &r); st != 200 || r.DepartmentID != w.cultureID {
			t.Errorf("the new target accepts: %d %s", st, body)
		}
	})
}

func TestReferralEscalate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		ctx := context.Background()
		told := func() int {
			var n int
			if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND title LIKE '%超期%'`, w.headResident).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n, err := w.env.Sys.Consult.Escalate(ctx); err != nil || n != 0 {
			t.Fatalf("escalate in time: %d %v", n, err)
		}
		if st, body := w.env.Browser(demo.PhoneTownAdmin).Get("/admin"); st != 200 || strings.Contains(body, "件转办事项已超期") {
			t.Errorf("the to-do before the deadline: %d", st)
		}
		w.referralAdvance(3 * time.Hour) // urgent: 2 hours to respond
		if n, err := w.env.Sys.Consult.Escalate(ctx); err != nil || n != 1 {
			t.Fatalf("escalate: %d %v", n, err)
		}
		if n, err := w.env.Sys.Consult.Escalate(ctx); err != nil || n != 0 {
			t.Fatalf("escalate again: %d %v", n, err)
		}
		if n := told(); n != 1 {
			t.Errorf("the head was told %d times", n)
		}
		var r consult.Referral
		w.town.JSON("GET", w.referralPath(""), nil, &r)
		if r.EscalatedAt.IsZero() || !r.Overdue {
			t.Errorf("escalated: %+v", r)
		}
		if st, body := w.env.Browser(demo.PhoneTownAdmin).Get("/admin"); st != 200 || !strings.Contains(body, "1 件转办事项已超期") {
			t.Errorf("the town's to-do: %d", st)
		}
		if st, body := w.env.Browser("13900000501").Get("/admin/consult/referrals"); st != 200 || !strings.Contains(body, "已超期1小时") {
			t.Errorf("the department's board: %d", st)
		}
		// Accepted late, the finish deadline escalates once more.
		if st, body := w.water.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, nil); st != 200 {
			t.Fatalf("accept: %d %s", st, body)
		}
		w.referralAdvance(8 * 24 * time.Hour)
		if n, err := w.env.Sys.Consult.Escalate(ctx); err != nil || n != 1 {
			t.Fatalf("escalate the finish: %d %v", n, err)
		}
		if n := told(); n != 2 {
			t.Errorf("the head was told %d times", n)
		}
	})
}

func TestReferralReopenOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		act := func(c *servertest.Client, body map[string]any, want int) consult.Referral {
			t.Helper()
			var r consult.Referral
			if st, b := c.JSON("POST", w.referralPath("/actions"), body, &r); st != want {
				t.Fatalf("%v: %d %s", body, st, b)
			}
			return r
		}
		act(w.water, map[string]any{"action": "accept"}, 200)
		act(w.resident, map[string]any{"action": "rate", "satisfaction": "unsatisfied"}, 409) // not done yet
		act(w.water, map[string]any{"action": "reply", "body": ""}, 422)
		act(w.water, map[string]any{"action": "reply", "body": "已派人查看，明天换管"}, 200)
		act(w.water, map[string]any{"action": "finish", "body": "水管已更换"}, 200)
		act(w.water, map[string]any{"action": "rate", "satisfaction": "satisfied"}, 403) // nobody rates their own work
		act(w.resident, map[string]any{"action": "rate", "satisfaction": "so-so"}, 422)
		r := act(w.resident, map[string]any{"action": "rate", "satisfaction": "unsatisfied"}, 200)
		if r.Status != consult.ReferralAccepted || !r.Reopened {
			t.Fatalf("first 不满意: %+v", r)
		}
		act(w.water, map[string]any{"action": "finish", "body": "重新铺了路面"}, 200)
		r = act(w.resident, map[string]any{"action": "rate", "satisfaction": "unsatisfied"}, 200)
		if r.Status != consult.ReferralRated || r.Rating != 1 {
			t.Fatalf("second 不满意: %+v", r)
		}
		if len(r.Replies) != 3 {
			t.Errorf("replies: %d", len(r.Replies))
		}
		// The proposer was told of the reply and of each finish.
		var me people.ResidentJSON
		w.resident.JSON("GET", "/api/v1/me", nil, &me)
		var n int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND link = $2`, me.ID,
			fmt.Sprintf("/consult/referrals/%d", r.ID)).Scan(&n); err != nil || n != 3 {
			t.Errorf("proposer told %d times (%v)", n, err)
		}
		// The rates count it done and not satisfied.
		st, body := w.env.Browser(demo.PhoneTownAdmin).Get(fmt.Sprintf("/admin/consult/departments/%d", w.waterID))
		if st != 200 || !strings.Contains(body, "100%") || !strings.Contains(body, "0%") {
			t.Errorf("department page: %d %.2000s", st, body)
		}
	})
}

func TestReferralProgressPublic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		if st, body := w.water.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, nil); st != 200 {
			t.Fatalf("accept: %d %s", st, body)
		}
		if st, body := w.water.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "reply", "body": "已派人查看"}, nil); st != 200 {
			t.Fatalf("reply: %d %s", st, body)
		}
		st, body := w.env.Anonymous().Get(fmt.Sprintf("/consult/progress/%d", w.villageID))
		if st != 200 || !strings.Contains(body, "村西头水管漏水") || !strings.Contains(body, "水务所") || !strings.Contains(body, "已派人查看") {
			t.Fatalf("progress: %d %s", st, body)
		}
		for _, secret := range []string{"提议人甲", "13811119999", "010-69541234", "部门答复人", "13900000501"} {
			if strings.Contains(body, secret) {
				t.Errorf("the public page shows %q", secret)
			}
		}
		if st, _ := w.env.Anonymous().Get("/consult/progress/999999"); st != 404 {
			t.Errorf("progress of no village: %d", st)
		}
	})
}

// referralPNG is a small photo as a phone would send it.
func referralPNG(t *testing.T) []byte {
	t.Helper()
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

func TestReferralReplyPhotos(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		if st, body := w.water.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "accept"}, nil); st != 200 {
			t.Fatalf("accept: %d %s", st, body)
		}
		path := fmt.Sprintf("/admin/consult/referrals/%d/actions", w.referral.ID)
		send := func(photos int) (int, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("action", "reply")
			mw.WriteField("body", "管子换好了，见照片")
			for range photos {
				fw, _ := mw.CreateFormFile("photos", "p.png")
				fw.Write(referralPNG(t))
			}
			mw.Close()
			req, _ := http.NewRequest("POST", w.env.URL+path, &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return w.env.Browser("13900000501").Do(req)
		}
		if st, body := send(5); st != 422 || !strings.Contains(body, "photos") {
			t.Errorf("five photos: %d", st)
		}
		if st, _ := send(2); st != 303 {
			t.Fatalf("reply with photos: %d", st)
		}
		var r consult.Referral
		w.town.JSON("GET", w.referralPath(""), nil, &r)
		if len(r.Replies) != 1 || len(r.Replies[0].Photos) != 2 {
			t.Fatalf("replies: %+v", r.Replies)
		}
		photo := fmt.Sprintf("/consult/photos/%d", r.Replies[0].Photos[0])
		for name, c := range map[string]*servertest.Client{"水务所": w.env.Browser("13900000501"), "proposer": w.env.Browser(demo.PhoneResident), "town admin": w.env.Browser(demo.PhoneTownAdmin)} {
			if st, _ := c.Get(photo); st != 200 {
				t.Errorf("%s sees the reply's photo: %d", name, st)
			}
		}
		for name, c := range map[string]*servertest.Client{"文化站": w.env.Browser("13900000503"), "东堡村 admin": w.env.Browser(demo.PhoneVillageAdmin2), "party member": w.env.Browser(demo.PhonePartyMember)} {
			if st, _ := c.Get(photo); st != 404 {
				t.Errorf("%s sees the reply's photo: %d", name, st)
			}
		}
		// The proposer's page shows the reply and, once done, the rating form.
		if st, body := w.water.JSON("POST", w.referralPath("/actions"), map[string]any{"action": "finish", "body": "已办结"}, nil); st != 200 {
			t.Fatalf("finish: %d %s", st, body)
		}
		st, body := w.env.Browser(demo.PhoneResident).Get(fmt.Sprintf("/consult/referrals/%d", w.referral.ID))
		if st != 200 || !strings.Contains(body, "管子换好了") || !strings.Contains(body, `name="satisfaction"`) {
			t.Errorf("proposer's page: %d", st)
		}
		if st, loc := w.env.Browser(demo.PhoneResident).Submit(fmt.Sprintf("/consult/referrals/%d/actions", w.referral.ID), url.Values{"action": {"rate"}, "satisfaction": {"basic"}}); st != 303 || !strings.Contains(loc, "flash=flash.consult_referral_rated") {
			t.Errorf("rate by form: %d %s", st, loc)
		}
	})
}

func TestReferralFromDecisionAndVisit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		ctx := context.Background()
		var me people.ResidentJSON
		w.resident.JSON("GET", "/api/v1/me", nil, &me)
		var roads, meeting, decision, member, visit int64
		if err := d.Read().QueryRowContext(ctx, `SELECT id FROM consult_categories WHERE code = 'roads'`).Scan(&roads); err != nil {
			t.Fatal(err)
		}
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var admin int64
			if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin).Scan(&admin); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO consult_meetings (town_id, village_id, level, title, starts_at, ends_at, place, host, status, created_by, created_at, updated_at)
				VALUES ($1, $2, 'village', '村级议事会', $3, $4, '村委会', '村书记', 'closed', $5, $3, $3) RETURNING id`, w.env.Info.TownID, w.villageID, w.now, w.now.Add(time.Hour), admin).Scan(&meeting); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO consult_decisions (meeting_id, body, created_at) VALUES ($1, '修缮村东道路，请区公路分局支持', $2) RETURNING id`, meeting, w.now).Scan(&decision); err != nil {
				return err
			}
			acc, err := w.env.Sys.Auth.InsertAccount(ctx, tx, "13900000601", "服务队员", 0, auth.HashPassword(demo.DemoPassword), false)
			if err != nil {
				return err
			}
			if err := w.env.Sys.Auth.InsertGrant(ctx, tx, acc, auth.Grant{Role: auth.CareTeam, TownID: w.env.Info.TownID}); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO consult_care_members (town_id, account_id, name, phone, created_at, updated_at) VALUES ($1, $2, '服务队员', '13900000601', $3, $3) RETURNING id`,
				w.env.Info.TownID, acc, w.now).Scan(&member); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `INSERT INTO consult_visits (town_id, village_id, household_id, member_id, visited_on, notes, created_at) VALUES ($1, $2, $3, $4, '2026-12-01', '院墙有裂缝', $5) RETURNING id`,
				w.env.Info.TownID, w.villageID, me.HouseholdID, member, w.now).Scan(&visit)
		})
		if err != nil {
			t.Fatal(err)
		}
		// A decision with no topic takes the category the host chooses.
		if st, body := w.village.JSON("POST", "/api/v1/consult/referrals", map[string]any{"decision_id": decision, "department_ids": []int64{w.cityID}, "urgency": "normal", "finish_days": 15}, nil); st != 422 || !strings.Contains(body, "category_id") {
			t.Errorf("decision without a category: %d %s", st, body)
		}
		var r consult.Referral
		if st, body := w.village.JSON("POST", "/api/v1/consult/referrals", map[string]any{"decision_id": decision, "category_id": roads, "department_ids": []int64{w.cityID}, "urgency": "normal", "finish_on": "2026-12-20"}, &r); st != 201 || r.Source != "decision" || r.Title == "" {
			t.Fatalf("decision referral: %d %s", st, body)
		}
		if st, _ := w.other.JSON("POST", "/api/v1/consult/referrals", map[string]any{"decision_id": decision, "category_id": roads, "department_ids": []int64{w.cityID}, "urgency": "normal", "finish_days": 7}, nil); st != 404 {
			t.Errorf("东堡村 admin refers 前疃村's decision: %d", st)
		}
		// The care member who made the visit refers it; the household sees and rates it.
		care := w.env.API("13900000601")
		if st, body := care.JSON("POST", "/api/v1/consult/referrals", map[string]any{"visit_id": visit, "category_id": roads, "department_ids": []int64{w.waterID}, "urgency": "urgent", "finish_days": 7}, &r); st != 201 || r.Source != "visit" {
			t.Fatalf("visit referral: %d %s", st, body)
		}
		var mine []consult.Referral
		if st, _ := w.resident.JSON("GET", "/api/v1/consult/referrals", nil, &mine); st != 200 || len(mine) != 2 {
			t.Errorf("the resident's referrals: %d %d", st, len(mine))
		}
		if st, _ := w.env.API(demo.PhonePartyMember).JSON("GET", fmt.Sprintf("/api/v1/consult/referrals/%d", r.ID), nil, nil); st != 404 {
			t.Errorf("another household reads the visit's referral: %d", st)
		}
		if st, _ := care.JSON("GET", fmt.Sprintf("/api/v1/consult/referrals/%d", r.ID), nil, nil); st != 200 {
			t.Errorf("the care member reads the referral: %d", st)
		}
	})
}
