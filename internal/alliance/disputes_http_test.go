package alliance_test

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

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// disputeLogin makes a login holding dispute_staff of a town.
func disputeLogin(t *testing.T, env *servertest.Env, phone string, townID int64) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := env.Sys.Auth.InsertAccount(ctx, tx, phone, "解纷员"+phone[7:], 0, auth.HashPassword(demo.DemoPassword), false)
		if err != nil {
			return err
		}
		return env.Sys.Auth.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.DisputeStaff, TownID: townID})
	})
	if err != nil {
		t.Fatal(err)
	}
	return env.API(phone)
}

// count reads one number.
func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Read().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDisputeCentre runs the centre through HTTP on both engines, in one small world (the demo
// town of 80 residents and 西集镇): a resident books, the centre answers; a case of two
// residents is opened, read by nobody outside the centre, given a session with what was done,
// extended, and reaches an outcome; ending asks first and keeps the reason.
func TestDisputeCentre(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		env := servertest.NewWith(t, d, demo.Options{Seed: 1, Residents: 80, SecondTown: true})
		var mu sync.Mutex
		now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
		env.Sys.Alliance.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(dd time.Duration) { mu.Lock(); now = now.Add(dd); mu.Unlock() }
		staff := disputeLogin(t, env, "13900000518", env.Info.TownID)
		otherStaff := disputeLogin(t, env, "13900000519", env.Info.SecondTownID)
		resident := env.API(demo.PhoneResident)
		var me people.ResidentJSON
		if st, body := resident.JSON("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d %s", st, body)
		}
		var neighbour int64
		if err := d.Read().QueryRowContext(context.Background(), `SELECT id FROM residents WHERE village_id = $1 AND id <> $2 AND status = 'active' ORDER BY id LIMIT 1`,
			me.VillageID, me.ID).Scan(&neighbour); err != nil {
			t.Fatal(err)
		}
		outsiders := map[string]*servertest.Client{
			"village admin": env.API(demo.PhoneVillageAdmin), "town admin": env.API(demo.PhoneTownAdmin),
			"district admin": env.API(demo.PhoneDistrictAdmin), "other town's dispute staff": otherStaff, "resident": resident,
		}

		var booking int64
		t.Run("booking", func(t *testing.T) {
			browser := env.Browser(demo.PhoneResident)
			if st, body := browser.Get("/alliance/disputes"); st != 200 || !strings.Contains(body, "预约咨询") {
				t.Fatalf("resident page: %d", st)
			}
			if st, _ := browser.PostForm("/alliance/disputes/bookings", url.Values{"matter": {"宅基地边界"}, "preferred_day": {"2026-13-01"}}); st != http.StatusUnprocessableEntity {
				t.Fatalf("bad day: %d", st)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM dispute_consultations`); n != 0 {
				t.Fatalf("a refused booking stored %d rows", n)
			}
			if st, loc := browser.Submit("/alliance/disputes/bookings", url.Values{"matter": {"宅基地边界和邻居有争议"}, "preferred_day": {"2026-12-05"}}); st != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
				t.Fatalf("book: %d %s", st, loc)
			}
			var list []alliance.Consultation
			if st, body := staff.JSON("GET", "/api/v1/disputes/consultations?booked=1", nil, &list); st != 200 || len(list) != 1 || list[0].Status != "booked" || list[0].ResidentID != me.ID {
				t.Fatalf("intake: %d %s", st, body)
			}
			for who, c := range outsiders {
				var theirs []alliance.Consultation
				if st, _ := c.JSON("GET", "/api/v1/disputes/consultations", nil, &theirs); (c == otherStaff && (st != 200 || len(theirs) != 0)) || (c != otherStaff && st != http.StatusNotFound) {
					t.Errorf("%s read the intake: %d %d", who, st, len(theirs))
				}
			}
			booking = list[0].ID
			var ans alliance.Consultation
			if st, body := staff.JSON("POST", "/api/v1/disputes/consultations", map[string]any{"id": list[0].ID, "advice": ""}, nil); st != http.StatusUnprocessableEntity {
				t.Fatalf("answer without advice: %d %s", st, body)
			}
			if st, body := otherStaff.JSON("POST", "/api/v1/disputes/consultations", map[string]any{"id": list[0].ID, "advice": "x"}, nil); st != http.StatusNotFound {
				t.Fatalf("other town answered: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", "/api/v1/disputes/consultations", map[string]any{"id": list[0].ID, "advice": "建议申请调解", "became_case": true}, &ans); st != 200 || ans.Status != "answered" {
				t.Fatalf("answer: %d %s", st, body)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND link = '/alliance/disputes'`, me.ID); n != 1 {
				t.Fatalf("the resident was told %d times", n)
			}
			if st, body := staff.JSON("POST", "/api/v1/disputes/consultations", map[string]any{"name": "", "matter": "x", "advice": "y"}, nil); st != http.StatusUnprocessableEntity {
				t.Fatalf("walk-in without a name: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", "/api/v1/disputes/consultations", map[string]any{"name": "外村人", "phone": "13812345678", "matter": "劳务费", "advice": "可到法院起诉",
				"day": "2026-12-01"}, nil); st != http.StatusCreated {
				t.Fatalf("walk-in: %d %s", st, body)
			}
		})

		var c alliance.Case
		t.Run("case", func(t *testing.T) {
			in := map[string]any{"village_id": me.VillageID, "title": "宅基地边界纠纷", "kind": "land", "source": "window", "consultation_id": booking,
				"parties": []map[string]any{{"resident_id": me.ID, "role": "applicant"}}}
			if st, body := staff.JSON("POST", "/api/v1/disputes/cases", in, nil); st != http.StatusUnprocessableEntity || !strings.Contains(body, "parties") {
				t.Fatalf("one side only: %d %s", st, body)
			}
			in["parties"] = []map[string]any{{"resident_id": me.ID, "role": "applicant"}, {"resident_id": me.ID, "role": "respondent"}}
			if st, body := staff.JSON("POST", "/api/v1/disputes/cases", in, nil); st != http.StatusUnprocessableEntity || !strings.Contains(body, "party_1_resident") {
				t.Fatalf("one person on both sides: %d %s", st, body)
			}
			in["parties"] = []map[string]any{{"resident_id": me.ID, "role": "applicant"}, {"resident_id": neighbour, "role": "respondent"}}
			in["team"] = []map[string]any{{"role": "judge", "name": "周法官", "unit": "区法院"}, {"role": "elder", "name": "朱老", "unit": ""}}
			for who, c := range outsiders {
				// Another town's staff are told the village is not found, on its field.
				if st, _ := c.JSON("POST", "/api/v1/disputes/cases", in, nil); st != http.StatusNotFound && !(c == otherStaff && st == http.StatusUnprocessableEntity) {
					t.Errorf("%s opened a case: %d", who, st)
				}
			}
			if n := count(t, d, `SELECT COUNT(*) FROM dispute_cases`); n != 0 {
				t.Fatalf("refused cases stored %d", n)
			}
			if st, body := staff.JSON("POST", "/api/v1/disputes/cases", in, &c); st != http.StatusCreated || c.Status != "mediating" || len(c.Parties) != 2 || len(c.Team) != 2 {
				t.Fatalf("open: %d %s", st, body)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM dispute_consultations WHERE id = $1 AND case_id = $2 AND became_case`, booking, c.ID); n != 1 {
				t.Fatal("the booking is not linked to its case")
			}
			if !c.Due.Equal(now.Add(30 * 24 * time.Hour)) {
				t.Fatalf("due %v", c.Due)
			}
			for who, cl := range outsiders {
				if st, _ := cl.JSON("GET", fmt.Sprintf("/api/v1/disputes/cases/%d", c.ID), nil, nil); st != http.StatusNotFound {
					t.Errorf("%s read the case: %d", who, st)
				}
				var theirs []alliance.Case
				if st, _ := cl.JSON("GET", "/api/v1/disputes/cases", nil, &theirs); (cl == otherStaff && (st != 200 || len(theirs) != 0)) || (cl != otherStaff && st != http.StatusNotFound) {
					t.Errorf("%s read the cases: %d %d", who, st, len(theirs))
				}
				if st, _ := cl.JSON("POST", fmt.Sprintf("/api/v1/disputes/cases/%d/actions", c.ID), map[string]any{"action": "settle", "agreement": "x"}, nil); st != http.StatusNotFound {
					t.Errorf("%s acted: %d", who, st)
				}
			}
			for _, phone := range []string{demo.PhoneVillageAdmin, demo.PhoneTownAdmin, demo.PhoneDistrictAdmin} {
				if st, _ := env.Browser(phone).Get(fmt.Sprintf("/admin/disputes/cases/%d", c.ID)); st != http.StatusNotFound {
					t.Errorf("%s's page: %d", phone, st)
				}
			}
			if st, body := env.Browser("13900000518").Get(fmt.Sprintf("/admin/disputes/cases/%d", c.ID)); st != 200 || !strings.Contains(body, "宅基地边界纠纷") {
				t.Fatalf("staff page: %d", st)
			}
		})

		t.Run("session and outcome", func(t *testing.T) {
			path := fmt.Sprintf("/api/v1/disputes/cases/%d", c.ID)
			if st, body := staff.JSON("POST", path+"/sessions", map[string]any{"day": "2026-12-09", "place": "visit", "attendees": "双方", "work": []string{"boundary"}}, nil); st != http.StatusUnprocessableEntity {
				t.Fatalf("future session: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", path+"/sessions", map[string]any{"day": "2026-12-02", "place": "home", "attendees": "双方", "work": []string{"dance"}}, nil); st != http.StatusUnprocessableEntity ||
				!strings.Contains(body, "place") || !strings.Contains(body, "work") {
				t.Fatalf("bad place and work: %d %s", st, body)
			}
			var after alliance.Case
			if st, body := staff.JSON("POST", path+"/sessions", map[string]any{"day": "2026-12-02", "place": "visit", "attendees": "法官、调解员、规划科、村委会、乡贤和两户",
				"work": []string{"policy", "boundary", "law"}, "notes": "现场确认了边界"}, &after); st != http.StatusCreated || len(after.Sessions) != 1 ||
				strings.Join(after.Sessions[0].Work, ",") != "boundary,law,policy" {
				t.Fatalf("session: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", path+"/actions", map[string]any{"action": "extend", "days": 10}, nil); st != http.StatusUnprocessableEntity || !strings.Contains(body, "reason") {
				t.Fatalf("extend without consent: %d %s", st, body)
			}
			advance(31 * 24 * time.Hour)
			var over []alliance.Case
			if st, body := staff.JSON("GET", "/api/v1/disputes/cases?overdue=1", nil, &over); st != 200 || len(over) != 1 {
				t.Fatalf("overdue: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", path+"/actions", map[string]any{"action": "extend", "days": 10, "reason": "双方同意延长"}, &after); st != 200 || after.Overdue ||
				!after.Due.Equal(c.Due.AddDate(0, 0, 10)) {
				t.Fatalf("extend: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", path+"/actions", map[string]any{"action": "understand"}, &after); st != 200 || after.Status != "understood" {
				t.Fatalf("understand: %d %s", st, body)
			}
			if st, body := staff.JSON("POST", path+"/actions", map[string]any{"action": "extend", "days": 5, "reason": "x"}, nil); st != http.StatusConflict {
				t.Fatalf("extend after: %d %s", st, body)
			}
			// Ending asks first, and keeps the reason.
			browser := env.Browser("13900000518")
			page := fmt.Sprintf("/admin/disputes/cases/%d", c.ID)
			if st, body := browser.PostForm(page+"/actions", url.Values{"action": {"end"}}); st != 200 || !strings.Contains(body, "confirmed") {
				t.Fatalf("end asks: %d", st)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM dispute_cases WHERE status = 'ended'`); n != 0 {
				t.Fatal("ended without asking")
			}
			if st, loc := browser.Submit(page+"/actions", url.Values{"action": {"end"}, "confirmed": {"1"}, "reason": {"申请人撤回"}}); st != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
				t.Fatalf("end: %d %s", st, loc)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM flow_steps WHERE flow = 'alliance.dispute_case' AND order_id = $1 AND action = 'end' AND reason = '申请人撤回'`, c.ID); n != 1 {
				t.Fatal("the reason was not kept")
			}
			// Each step reached both parties: opened, session, extend, understand, end.
			for _, r := range []int64{me.ID, neighbour} {
				if n := count(t, d, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND link = '/alliance/disputes'`, r); n < 5 {
					t.Errorf("resident %d was told %d steps", r, n)
				}
			}
			// A session with a photo through the form: the centre's staff see the photo, nobody else.
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range map[string]string{"day": "2026-12-02", "place": "centre", "attendees": "双方", "work": "law"} {
				if err := mw.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
			fw, err := mw.CreateFormFile("photos", "a.png")
			if err != nil {
				t.Fatal(err)
			}
			img := image.NewRGBA(image.Rect(0, 0, 8, 8))
			img.Set(1, 1, color.RGBA{200, 0, 0, 255})
			if err := png.Encode(fw, img); err != nil {
				t.Fatal(err)
			}
			mw.Close()
			var second alliance.Case
			if st, body := staff.JSON("POST", "/api/v1/disputes/cases", map[string]any{"village_id": me.VillageID, "title": "相邻通行纠纷", "kind": "neighbour", "source": "hotline",
				"parties": []map[string]any{{"name": "甲", "role": "applicant"}, {"name": "乙", "role": "respondent"}}}, &second); st != http.StatusCreated {
				t.Fatalf("second case: %d %s", st, body)
			}
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/admin/disputes/cases/%d/sessions", env.URL, second.ID), &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			if st, _ := browser.Do(req); st != http.StatusSeeOther {
				t.Fatalf("session form: %d", st)
			}
			var photo int64
			if err := d.Read().QueryRowContext(context.Background(), `SELECT id FROM alliance_photos WHERE owner = 'session'`).Scan(&photo); err != nil {
				t.Fatal(err)
			}
			if st, _ := browser.Get(fmt.Sprintf("/alliance/photos/%d", photo)); st != 200 {
				t.Fatalf("staff photo: %d", st)
			}
			for _, phone := range []string{demo.PhoneTownAdmin, demo.PhoneDistrictAdmin} {
				if st, _ := env.Browser(phone).Get(fmt.Sprintf("/alliance/photos/%d", photo)); st != http.StatusNotFound {
					t.Errorf("%s saw the photo: %d", phone, st)
				}
			}
			// The centre's pages draw for its staff; a refused form re-shows with its fields.
			for _, pg := range []string{"/admin/disputes", "/admin/disputes/consultations?q=" + url.QueryEscape(me.Name[:3]), "/admin/disputes/consultations?booked=1",
				"/admin/disputes/cases", "/admin/disputes/cases?overdue=1", "/admin/disputes/cases/new?q=" + url.QueryEscape(me.Name[:3]), fmt.Sprintf("/admin/disputes/cases/%d", second.ID)} {
				if st, _ := browser.Get(pg); st != 200 {
					t.Errorf("%s: %d", pg, st)
				}
			}
			if st, body := browser.PostForm("/admin/disputes/cases", url.Values{"title": {"表单案件"}, "kind": {"land"}, "source": {"window"}, "village_id": {fmt.Sprint(me.VillageID)},
				"party_role": {"applicant", "respondent"}, "party_name": {"甲", ""}, "party_resident": {"", fmt.Sprint(neighbour)}, "team_role": {"judge"}, "team_name": {""}, "team_unit": {"法院"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "表单案件") {
				t.Fatalf("case form without a team member's name: %d", st)
			}
			if st, loc := browser.Submit("/admin/disputes/cases", url.Values{"title": {"表单案件"}, "kind": {"land"}, "source": {"window"}, "village_id": {fmt.Sprint(me.VillageID)},
				"party_role": {"applicant", "respondent"}, "party_name": {"甲", ""}, "party_resident": {"", fmt.Sprint(neighbour)}}); st != http.StatusSeeOther || !strings.Contains(loc, "flash=") {
				t.Fatalf("case form: %d %s", st, loc)
			}
			var counts alliance.DisputeCounts
			if counts, _ = env.Sys.Alliance.DisputeCounts(context.Background(), nil, env.Info.TownID); counts.Cases != 0 {
				t.Fatal("counts for nobody")
			}
		})
	})
}

// TestDisputeDemo runs the demo's dispute step alone on a small town: 150 consultations and two
// bookings waiting, a dozen cases filed on the spot, others settled, and 小甘棠村's land case with
// its five-role team, the visit that confirmed the boundary and explained law and policy, and the
// first understanding; the centre's login can read it, and a second run adds nothing.
func TestDisputeDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		env := servertest.NewWith(t, d, demo.Options{Seed: 2, Residents: 200})
		start := time.Now()
		for range 2 {
			if err := demo.AllianceDisputes(ctx, d, env.Sys.People, env.Info, 2); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("the dispute step took %v", time.Since(start))
		if n := count(t, d, `SELECT COUNT(*) FROM dispute_consultations WHERE status = 'answered'`); n != 150 {
			t.Errorf("%d consultations", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM dispute_consultations WHERE status = 'booked'`); n != 2 {
			t.Errorf("%d bookings", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM dispute_cases WHERE status = 'filed'`); n < 10 {
			t.Errorf("%d filed", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM dispute_cases WHERE status = 'settled'`); n < 5 {
			t.Errorf("%d settled", n)
		}
		var list []alliance.Case
		if st, body := env.API(demo.PhoneDisputeStaff).JSON("GET", "/api/v1/disputes/cases?status=understood", nil, &list); st != 200 || len(list) != 1 {
			t.Fatalf("understood: %d %s", st, body)
		}
		var land alliance.Case
		if st, body := env.API(demo.PhoneDisputeStaff).JSON("GET", fmt.Sprintf("/api/v1/disputes/cases/%d", list[0].ID), nil, &land); st != 200 ||
			land.VillageName != "小甘棠村" || land.Kind != "land" || len(land.Team) != 5 || len(land.Sessions) != 1 || land.Sessions[0].Place != "visit" ||
			strings.Join(land.Sessions[0].Work, ",") != "boundary,law,policy" {
			t.Fatalf("小甘棠村: %d %s", st, body)
		}
	})
}
