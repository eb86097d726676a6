package honours_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// wallWorld is the small demo town with 前疃村's and 东堡村's admins, the town's admin, the
// resident and the party member of 前疃村 logged in, a minor of 前疃村 and their guardian (with a
// login made for the test), and the town's categories.
type wallWorld struct {
	env                          *servertest.Env
	town, village, other         *servertest.Client
	resident, party, guardian    *servertest.Client
	residentID, partyID          int64
	minorID, guardianID, strayID int64
	villageID, otherVillageID    int64
	categories                   []honours.Category
	townActor                    *auth.Actor
}

func newWallWorld(t *testing.T, env *servertest.Env) *wallWorld {
	t.Helper()
	ctx := context.Background()
	w := &wallWorld{env: env, town: env.API(demo.PhoneTownAdmin), village: env.API(demo.PhoneVillageAdmin), other: env.API(demo.PhoneVillageAdmin2),
		resident: env.API(demo.PhoneResident), party: env.API(demo.PhonePartyMember)}
	q := env.Sys.DB.Read()
	for phone, id := range map[string]*int64{demo.PhoneResident: &w.residentID, demo.PhonePartyMember: &w.partyID} {
		if err := q.QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE phone = $1`, phone).Scan(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.QueryRowContext(ctx, `SELECT village_id FROM residents WHERE id = $1`, w.residentID).Scan(&w.villageID); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT id FROM villages WHERE town_id = $1 AND name = '东堡村'`, env.Info.TownID).Scan(&w.otherVillageID); err != nil {
		t.Fatal(err)
	}
	// A household of 前疃村 with a father and his son of 13: the father is the son's guardian.
	adult := time.Now().AddDate(-18, 0, -2).Format("2006-01-02")
	w.guardianID = addResident(t, w.village, w.villageID, "王建国", "M", time.Now().AddDate(-40, 0, 0), "户主", "201")
	w.minorID = addResident(t, w.village, w.villageID, "王小明", "M", time.Now().AddDate(-13, 0, 0), "儿子", "203")
	// An adult of 前疃村 outside the minor's household, with no login.
	if err := q.QueryRowContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < $2 AND id NOT IN ($3, $4, $5)
		AND household_id NOT IN (SELECT household_id FROM residents WHERE id IN ($3, $4, $5, $6)) ORDER BY id LIMIT 1`,
		w.villageID, adult, w.residentID, w.partyID, w.guardianID, w.minorID).Scan(&w.strayID); err != nil {
		t.Fatal(err)
	}
	w.guardian = residentLogin(t, env, w.guardianID, "13712340001")
	var wall honours.WallPage
	if st, body := w.village.JSON("GET", fmt.Sprintf("/api/v1/honours/wall?town_id=%d", env.Info.TownID), nil, &wall); st != 200 || len(wall.Categories) != 6 {
		t.Fatalf("categories: %d %s", st, body)
	}
	w.categories = wall.Categories
	var err error
	if w.townActor, err = env.Sys.Auth.Authenticate(ctx, w.town.Token); err != nil {
		t.Fatal(err)
	}
	return w
}

// addResident registers a resident of the village in the household QT-HONOURS, as its staff do.
func addResident(t *testing.T, c *servertest.Client, villageID int64, name, gender string, birth time.Time, relation, seq string) int64 {
	t.Helper()
	first := demo.AreaCode + birth.Format("20060102") + seq
	var r people.ResidentJSON
	if st, body := c.JSON("POST", "/api/v1/residents", map[string]any{"village_id": villageID, "household_number": "QT-HONOURS", "name": name, "gender": gender,
		"birth_date": birth.Format("2006-01-02"), "id_number": first + string(people.IDCheckChar(first)), "relation": relation}, &r); st != 201 {
		t.Fatalf("resident %s: %d %s", name, st, body)
	}
	return r.ID
}

// residentLogin gives a resident a login with the demo password and logs it in through the API.
func residentLogin(t *testing.T, env *servertest.Env, residentID int64, phone string) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	var name, hash string
	var townID, villageID int64
	q := env.Sys.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT name, town_id, village_id FROM residents WHERE id = $1`, residentID).Scan(&name, &townID, &villageID); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT password_hash FROM accounts WHERE phone = $1`, demo.PhoneResident).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	wr := env.Sys.DB.Write()
	var account int64
	if err := wr.QueryRowContext(ctx, `INSERT INTO accounts (phone, name, resident_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		phone, name, residentID, hash, db.Now()).Scan(&account); err != nil {
		t.Fatal(err)
	}
	if _, err := wr.ExecContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, village_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
		account, string(auth.ResidentRole), townID, villageID, db.Now()); err != nil {
		t.Fatal(err)
	}
	return env.API(phone)
}

// todo is the count of the caller's to-do of the public side under a key, 0 for none.
func (w *wallWorld) todo(t *testing.T, c *servertest.Client, key string) int {
	t.Helper()
	a, err := w.env.Sys.Auth.Authenticate(context.Background(), c.Token)
	if err != nil {
		t.Fatal(err)
	}
	todos, err := w.env.Sys.Honours.Todos(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range todos {
		if x.Key == key {
			return x.Count
		}
	}
	return 0
}

// told counts the messages a resident was sent under a title.
func told(t *testing.T, env *servertest.Env, residentID int64, title string) int {
	return count(t, env, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND title = $2`, residentID, title)
}

// pngBytes is a small photo.
func pngBytes(t *testing.T) []byte {
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

func (w *wallWorld) nominate(t *testing.T, c *servertest.Client, residentID int64, cat int, story string, photos ...[]byte) honours.Nomination {
	t.Helper()
	var x honours.Nomination
	if st, body := c.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": residentID, "category_id": w.categories[cat].ID, "story": story, "photos": photos}, &x); st != 201 {
		t.Fatalf("nominate %d: %d %s", residentID, st, body)
	}
	return x
}

func TestNominations(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newWallWorld(t, env)
		const consentTitle = "有人推荐了身边好人，请你答复"

		t.Run("ErrFields", func(t *testing.T) {
			st, body := w.resident.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": 0, "category_id": 0, "story": " "}, nil)
			for _, f := range []string{`"resident_id"`, `"category_id"`, `"story"`} {
				if st != 422 || !strings.Contains(body, f) {
					t.Errorf("empty nomination: %d %s (want %s)", st, body, f)
				}
			}
			st, body = w.resident.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": w.partyID, "category_id": w.categories[0].ID + 999, "story": "好事"}, nil)
			if st != 404 || !strings.Contains(body, `"category_id"`) {
				t.Errorf("unknown category: %d %s", st, body)
			}
			st, body = w.resident.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": w.partyID, "category_id": w.categories[0].ID, "story": "好事",
				"photos": [][]byte{[]byte("not a photo")}}, nil)
			if st != 422 || !strings.Contains(body, `"photos"`) {
				t.Errorf("broken photo: %d %s", st, body)
			}
			// 东堡村's admin does not nominate a resident of 前疃村: 404, like a missing one.
			if st, body := w.other.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": w.partyID, "category_id": w.categories[0].ID, "story": "好事"}, nil); st != 404 {
				t.Errorf("another village's staff nominates: %d %s", st, body)
			}
			if n := count(t, env, `SELECT COUNT(*) FROM honours_nominations`); n != 0 {
				t.Fatalf("refused nominations stored %d", n)
			}
			if n := count(t, env, `SELECT COUNT(*) FROM honours_photos`); n != 0 {
				t.Fatalf("refused nominations stored %d photos", n)
			}
		})

		t.Run("Self", func(t *testing.T) {
			x := w.nominate(t, w.resident, w.residentID, 1, "每天义务打扫村口的公厕")
			if x.Consent != "given" || x.ConsentBy != "self" || x.Status != honours.NominationOpen || x.ByStaff || x.MayDecide {
				t.Fatalf("self nomination: %+v", x)
			}
			// Once per resident and category while it is live.
			st, body := w.party.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": w.residentID, "category_id": w.categories[1].ID, "story": "又一次"}, nil)
			if st != 409 || !strings.Contains(body, "honours.nomination.duplicate") && !strings.Contains(body, `"resident_id"`) {
				t.Errorf("duplicate: %d %s", st, body)
			}
			var got honours.Nomination
			if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/admit", x.ID), nil, &got); st != 200 || got.Status != honours.NominationAdmitted {
				t.Fatalf("admit: %d %s", st, body)
			}
			if told(t, env, w.residentID, "推荐已纳入评议") != 1 {
				t.Error("the nominee was not told of the admission")
			}
		})

		t.Run("Neighbour", func(t *testing.T) {
			x := w.nominate(t, w.resident, w.partyID, 0, "照顾瘫痪在床的婆婆十年", pngBytes(t))
			if x.Consent != "asked" || len(x.Photos) != 1 || x.ByName == "" {
				t.Fatalf("neighbour nomination: %+v", x)
			}
			if told(t, env, w.partyID, consentTitle) != 1 {
				t.Fatal("the nominee was not asked")
			}
			// Staff admit only with consent given.
			if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/admit", x.ID), nil, nil); st != 409 || !strings.Contains(body, "被推荐人还没有同意") {
				t.Errorf("admit without consent: %d %s", st, body)
			}
			// The nominator does not answer for the nominee; 东堡村's admin does not see it.
			if st, _ := w.resident.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/consent", x.ID), map[string]any{"consent": true}, nil); st != 403 {
				t.Errorf("nominator consents: %d", st)
			}
			for _, path := range []string{"", "/admit"} {
				method := "GET"
				if path != "" {
					method = "POST"
				}
				if st, _ := w.other.JSON(method, fmt.Sprintf("/api/v1/honours/nominations/%d%s", x.ID, path), nil, nil); st != 404 {
					t.Errorf("东堡村's admin %s %s: %d", method, path, st)
				}
			}
			if st, _ := w.other.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/decline", x.ID), map[string]any{"reason": "不认识"}, nil); st != 404 {
				t.Errorf("东堡村's admin declines: %d", st)
			}
			var others []honours.Nomination
			if st, body := w.other.JSON("GET", "/api/v1/honours/nominations", nil, &others); st != 200 || len(others) != 0 {
				t.Errorf("东堡村's admin lists: %d %s", st, body)
			}
			// The nominee sees it with the question, and the photo.
			var mine []honours.Nomination
			if st, body := w.party.JSON("GET", "/api/v1/honours/nominations", nil, &mine); st != 200 || len(mine) != 1 || !mine[0].MayConsent {
				t.Fatalf("nominee's list: %d %s", st, body)
			}
			if st, _ := w.party.Get(fmt.Sprintf("/honours/photos/%d", x.Photos[0])); st != 200 {
				t.Errorf("nominee's photo: %d", st)
			}
			if st, _ := env.Anonymous().Get(fmt.Sprintf("/honours/photos/%d", x.Photos[0])); st != 404 {
				t.Errorf("a nomination's photo to anyone: %d", st)
			}
			if st, _ := w.other.Get(fmt.Sprintf("/honours/photos/%d", x.Photos[0])); st != 404 {
				t.Errorf("a nomination's photo to another village's staff: %d", st)
			}
			if n := w.todo(t, w.party, "honours.todo.consent"); n != 1 {
				t.Errorf("the nominee's consents to give: %d", n)
			}
			admits := w.todo(t, w.village, "honours.todo.admit")
			var got honours.Nomination
			if st, body := w.party.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/consent", x.ID), map[string]any{"consent": true}, &got); st != 200 || got.Consent != "given" || got.ConsentBy != "self" {
				t.Fatalf("consent: %d %s", st, body)
			}
			if st, _ := w.party.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/consent", x.ID), map[string]any{"consent": true}, nil); st != 409 {
				t.Errorf("consent twice: %d", st)
			}
			if n := w.todo(t, w.party, "honours.todo.consent"); n != 0 {
				t.Errorf("the nominee's consents to give after answering: %d", n)
			}
			if n := w.todo(t, w.village, "honours.todo.admit"); n != admits+1 {
				t.Errorf("nominations to admit: %d, want %d", n, admits+1)
			}
			if n := w.todo(t, w.other, "honours.todo.admit"); n != 0 {
				t.Errorf("another village's staff have %d to admit", n)
			}
			// Declined with a reason: none refused, one told each.
			if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/decline", x.ID), map[string]any{"reason": " "}, nil); st != 422 || !strings.Contains(body, `"reason"`) {
				t.Errorf("decline without a reason: %d %s", st, body)
			}
			if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/decline", x.ID), map[string]any{"reason": "事迹需要村里核实后再推荐"}, &got); st != 200 || got.Status != honours.NominationDeclined {
				t.Fatalf("decline: %d %s", st, body)
			}
			if told(t, env, w.residentID, "推荐未纳入评议") != 1 || told(t, env, w.partyID, "推荐未纳入评议") != 1 {
				t.Error("nominator and nominee not told of the decline")
			}
		})

		t.Run("Staff", func(t *testing.T) {
			x := w.nominate(t, w.village, w.strayID, 2, "冬天跳进冰窟窿救起落水儿童")
			if !x.ByStaff || x.Consent != "asked" || !x.MayDecide {
				t.Fatalf("staff nomination: %+v", x)
			}
			// The nominee has no login: they answer at the office, staff acting for them.
			if told(t, env, w.strayID, consentTitle) != 1 {
				t.Error("the nominee was not asked")
			}
			// The town's staff see every village's.
			var all []honours.Nomination
			if st, body := w.town.JSON("GET", "/api/v1/honours/nominations?status=open", nil, &all); st != 200 || len(all) == 0 {
				t.Fatalf("town's list: %d %s", st, body)
			}
			if st, _ := w.town.JSON("GET", "/api/v1/honours/nominations?status=whatever", nil, nil); st != 422 {
				t.Errorf("unknown status: %d", st)
			}
		})

		t.Run("Minor", func(t *testing.T) {
			x := w.nominate(t, w.resident, w.minorID, 3, "捡到钱包交还失主")
			if !x.Minor || x.Consent != "asked" {
				t.Fatalf("minor's nomination: %+v", x)
			}
			if told(t, env, w.guardianID, consentTitle) != 1 {
				t.Fatal("the guardian was not asked")
			}
			// Someone outside the household does not answer, nor see it.
			if st, _ := w.party.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/consent", x.ID), map[string]any{"consent": true}, nil); st != 404 && st != 403 {
				t.Errorf("a stranger consents for a minor: %d", st)
			}
			var got honours.Nomination
			if st, body := w.guardian.JSON("GET", fmt.Sprintf("/api/v1/honours/nominations/%d", x.ID), nil, &got); st != 200 || !got.MayConsent {
				t.Fatalf("guardian reads: %d %s", st, body)
			}
			if st, body := w.guardian.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/consent", x.ID), map[string]any{"consent": true}, &got); st != 200 || got.ConsentBy != "guardian" || got.Consent != "given" {
				t.Fatalf("guardian consents: %d %s", st, body)
			}
			// A guardian who nominates their child consents by nominating.
			y := w.nominate(t, w.guardian, w.minorID, 4, "带动同学垃圾分类")
			if y.Consent != "given" || y.ConsentBy != "guardian" {
				t.Fatalf("guardian's nomination: %+v", y)
			}
		})

		t.Run("Refused", func(t *testing.T) {
			x := w.nominate(t, w.resident, w.partyID, 5, "义务清理河道垃圾")
			// On the page, refusing asks first and does nothing until confirmed.
			b := env.Browser(demo.PhonePartyMember)
			st, body := b.PostForm(fmt.Sprintf("/honours/nominations/%d/consent", x.ID), map[string][]string{"consent": {"0"}})
			if st != 200 || !strings.Contains(body, "不同意这次推荐") {
				t.Fatalf("refuse asks first: %d %.300s", st, body)
			}
			if n := count(t, env, `SELECT COUNT(*) FROM honours_nominations WHERE id = $1 AND consent = 'asked'`, x.ID); n != 1 {
				t.Fatal("refusal done before confirming")
			}
			st, _ = b.PostForm(fmt.Sprintf("/honours/nominations/%d/consent", x.ID), map[string][]string{"consent": {"0"}, "confirmed": {"1"}})
			if st != 303 {
				t.Fatalf("refuse: %d", st)
			}
			var got honours.Nomination
			if st, body := w.resident.JSON("GET", fmt.Sprintf("/api/v1/honours/nominations/%d", x.ID), nil, &got); st != 200 || got.Status != honours.NominationWithdrawn || got.Consent != "refused" {
				t.Fatalf("after refusal: %d %s", st, body)
			}
			if told(t, env, w.residentID, "推荐没有得到同意") != 1 {
				t.Error("the nominator was not told")
			}
		})

		t.Run("Pages", func(t *testing.T) {
			b := env.Browser(demo.PhoneResident)
			if st, body := b.Get("/honours/nominate?q=" + "王"); st != 200 || !strings.Contains(body, `name="story"`) {
				t.Fatalf("form: %d %.300s", st, body)
			}
			// A refused form shows what is wrong by field and stores nothing.
			before := count(t, env, `SELECT COUNT(*) FROM honours_nominations`)
			st, body := b.PostForm("/honours/nominate", map[string][]string{"resident_id": {""}, "category_id": {""}, "story": {""}})
			if st != 422 || !strings.Contains(body, "请选择被推荐人") {
				t.Errorf("refused form: %d %.300s", st, body)
			}
			if count(t, env, `SELECT COUNT(*) FROM honours_nominations`) != before {
				t.Error("a refused form stored a nomination")
			}
			st, _ = b.PostForm("/honours/nominate", map[string][]string{"resident_id": {fmt.Sprint(w.strayID)}, "category_id": {fmt.Sprint(w.categories[5].ID)}, "story": {"帮孤寡老人挑水"}})
			if st != 303 {
				t.Fatalf("nominate by form: %d", st)
			}
			if st, body := b.Get("/honours/nominations"); st != 200 || !strings.Contains(body, "待本人同意") {
				t.Errorf("my nominations: %d %.300s", st, body)
			}
			a := env.Browser(demo.PhoneVillageAdmin)
			if st, body := a.Get("/admin/honours/nominations"); st != 200 || !strings.Contains(body, "纳入评议") {
				t.Errorf("staff list: %d %.300s", st, body)
			}
			if st, body := a.Get("/admin/honours"); st != 200 || !strings.Contains(body, "/admin/honours/nominations") {
				t.Errorf("staff home: %d %.300s", st, body)
			}
		})
	})
}
