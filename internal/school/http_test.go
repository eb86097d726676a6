package school_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/demo"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// count is how many rows a table holds, for proving that a refused request stored nothing.
func count(t *testing.T, env *servertest.Env, table string) int {
	t.Helper()
	var n int
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// accountID is the id of the login with a phone.
func accountID(t *testing.T, env *servertest.Env, phone string) int64 {
	t.Helper()
	var id int64
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT id FROM accounts WHERE phone = $1`, phone).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// upload posts a multipart form as a browser does, with one file when name is not empty.
func upload(t *testing.T, env *servertest.Env, c *servertest.Client, path string, fields url.Values, field, name string, data []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if name != "" {
		w, err := mw.CreateFormFile(field, name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", env.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Do(req)
}

// pngPhoto is a small photo.
func pngPhoto(t *testing.T) []byte {
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

// hugePNG is a few bytes whose header claims w×h pixels: decoding it would take gigabytes.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

var flashLine = regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`)

// flashOf is what a page's flash line says, "" when it has none.
func flashOf(body string) string {
	if m := flashLine.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// pdf is a small PDF file.
var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// expertFields is a valid expert form.
func expertFields(name string) url.Values {
	return url.Values{"name": {name}, "affiliation": {"中共北京市委党校"}, "title": {"教授"}, "fields": {"基层治理、接诉即办"},
		"bio": {"研究基层治理。"}, "phone": {"13812345678"}, "email": {"expert@example.cn"},
		"avail_weekday": {"2", "0"}, "avail_from": {"", ""}, "avail_to": {"", ""}, "avail_start": {"09:00", ""}, "avail_end": {"12:00", ""}}
}

// findExpert is the expert of the school admin's town with a name, through the API.
func findExpert(t *testing.T, c *servertest.Client, name string, retired bool) school.Expert {
	t.Helper()
	var list []school.Expert
	path := "/api/v1/school/experts?q=" + url.QueryEscape(name)
	if retired {
		path += "&retired=1"
	}
	if st, body := c.JSON("GET", path, nil, &list); st != 200 {
		t.Fatalf("experts: %d %s", st, body)
	}
	for _, e := range list {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no expert %s among %+v", name, list)
	return school.Expert{}
}

// TestExpertsOverHTTP: the town's party-building staff add, edit and retire experts through the
// pages and the API; wrong input is refused naming its fields and stores nothing; residents read
// the pool without contact details and cannot write; another town's staff find nothing.
func TestExpertsOverHTTP(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		admin, page := env.API(demo.PhoneSchoolAdmin), env.Browser(demo.PhoneSchoolAdmin)
		resident, village, other := env.API(demo.PhoneResident), env.API(demo.PhoneVillageAdmin2), env.API(demo.PhoneTownAdmin2)

		// Wrong input through the API: every field named, nothing stored.
		before := count(t, env, "school_experts")
		bad := map[string]any{"name": "", "affiliation": strings.Repeat("长", 61), "phone": "123", "email": "not-an-address",
			"fields": []string{"一、二、三、四、五、六、七、八、九"}, "availability": []map[string]any{{"weekday": 0, "start": "9点", "end": ""}}}
		st, body := admin.JSON("POST", "/api/v1/school/experts", bad, nil)
		for _, field := range []string{`"name"`, `"affiliation"`, `"phone"`, `"email"`, `"fields"`, `"availability[0].weekday"`, `"availability[0].start"`} {
			if !strings.Contains(body, field) {
				t.Errorf("bad expert: %s not named in %d %s", field, st, body)
			}
		}
		if st != 422 || !strings.Contains(body, "电话应为") || count(t, env, "school_experts") != before {
			t.Errorf("bad expert: %d %s; stored %d", st, body, count(t, env, "school_experts")-before)
		}
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "张", "affiliation": "x", "photo": "AAAA"}, nil); st != 422 || !strings.Contains(body, `"photo"`) {
			t.Errorf("a photo through the API: %d %s", st, body)
		}

		// The form refuses the same way, keeps what was typed, and says it in Chinese.
		f := expertFields("")
		f.Set("phone", "12345")
		st, body = upload(t, env, page, "/admin/school/experts", f, "photo", "", nil)
		if st != 422 || !strings.Contains(body, "必填") || !strings.Contains(body, "电话应为") || !strings.Contains(body, "中共北京市委党校") || count(t, env, "school_experts") != before {
			t.Errorf("bad form: %d, stored %d: %.300s", st, count(t, env, "school_experts")-before, body)
		}
		// A photo whose header claims 2.5 billion pixels is refused before it is decoded; a file
		// that is no image is refused; neither stores the expert.
		st, body = upload(t, env, page, "/admin/school/experts", expertFields("高大山"), "photo", "big.png", hugePNG(50000, 50000))
		if st != 413 || !strings.Contains(body, "照片像素太多") || count(t, env, "school_experts") != before {
			t.Errorf("huge photo: %d, stored %d: %.300s", st, count(t, env, "school_experts")-before, body)
		}
		st, body = upload(t, env, page, "/admin/school/experts", expertFields("高大山"), "photo", "cv.pdf", pdf)
		if st != 422 || !strings.Contains(body, "照片不是 JPEG 或 PNG 图片") || count(t, env, "school_experts") != before {
			t.Errorf("not a photo: %d, stored %d: %.300s", st, count(t, env, "school_experts")-before, body)
		}
		st, body = upload(t, env, page, "/admin/school/experts", expertFields("高大山"), "photo", "big.jpg", bytes.Repeat([]byte{0xff}, 5<<20+1))
		if st != 413 || !strings.Contains(body, "文件不能超过 5 MB") || count(t, env, "school_experts") != before {
			t.Errorf("photo over 5 MB: %d, stored %d: %.300s", st, count(t, env, "school_experts")-before, body)
		}

		// Created with a photo; the page says so by name.
		if st, body := upload(t, env, page, "/admin/school/experts", expertFields("高大山"), "photo", "me.png", pngPhoto(t)); st != 303 {
			t.Fatalf("create: %d %.300s", st, body)
		}
		e := findExpert(t, admin, "高大山", false)
		if !e.Photo || e.Phone != "13812345678" || len(e.Availability) != 1 || e.Availability[0].Weekday != 2 || strings.Join(e.Fields, "|") != "基层治理|接诉即办" {
			t.Errorf("created: %+v", e)
		}
		// Edited through the form: the phone changes, the photo stays, and the page it lands on
		// says whose record was saved.
		f = expertFields("高大山")
		f.Set("phone", "010-87654321")
		st, to := page.Submit(fmt.Sprintf("/admin/school/experts/%d", e.ID), f)
		if st != 303 {
			t.Fatalf("edit: %d", st)
		}
		if st, body := page.Get(to); st != 200 || flashOf(body) != "已保存专家 高大山 的资料" {
			t.Errorf("the page the edit lands on says %q (%d)", flashOf(body), st)
		}
		if e = findExpert(t, admin, "高大山", false); e.Phone != "010-87654321" || !e.Photo {
			t.Errorf("edited: %+v", e)
		}

		// Residents and village staff read the pool, never the contact details; they cannot write.
		for who, c := range map[string]*servertest.Client{"resident": resident, "东堡村 admin": village} {
			st, body := c.JSON("GET", "/api/v1/school/experts", nil, nil)
			if st != 200 || !strings.Contains(body, "高大山") || strings.Contains(body, "87654321") || strings.Contains(body, "expert@example.cn") || strings.Contains(body, `"phone"`) {
				t.Errorf("%s reads the pool: %d %s", who, st, body)
			}
			if st, _ := c.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "李四", "affiliation": "某单位"}, nil); st != 403 {
				t.Errorf("%s adds an expert: %d, want 403", who, st)
			}
		}
		if st, _ := env.Browser(demo.PhoneResident).Get(fmt.Sprintf("/school/experts/%d/photo", e.ID)); st != 200 {
			t.Errorf("a resident cannot see the photo: %d", st)
		}
		if st, _ := upload(t, env, env.Browser(demo.PhoneResident), fmt.Sprintf("/admin/school/experts/%d", e.ID), expertFields("改名"), "", "", nil); st != 403 {
			t.Errorf("a resident posts the staff form: %d", st)
		}
		if st, _ := upload(t, env, env.Browser(demo.PhoneVillageAdmin), fmt.Sprintf("/admin/school/experts/%d", e.ID), expertFields("改名"), "", "", nil); st != 403 {
			t.Errorf("a village admin posts the staff form: %d", st)
		}

		// Another town's staff: the expert is not there, whatever they try.
		otherPage := env.Browser(demo.PhoneTownAdmin2)
		for _, p := range []string{fmt.Sprintf("/admin/school/experts/%d", e.ID), fmt.Sprintf("/school/experts/%d/photo", e.ID)} {
			if st, _ := otherPage.Get(p); st != 404 {
				t.Errorf("西集镇 admin GET %s: %d, want 404", p, st)
			}
		}
		if st, _ := upload(t, env, otherPage, fmt.Sprintf("/admin/school/experts/%d", e.ID), expertFields("改名"), "", "", nil); st != 404 {
			t.Errorf("西集镇 admin edits: %d, want 404", st)
		}
		if st, _ := otherPage.PostForm(fmt.Sprintf("/admin/school/experts/%d/retire", e.ID), url.Values{"confirmed": {"1"}, "reason": {"x"}}); st != 404 {
			t.Errorf("西集镇 admin retires: %d, want 404", st)
		}
		if st, _ := other.JSON("GET", fmt.Sprintf("/api/v1/school/experts?town_id=%d", env.Info.TownID), nil, nil); st != 404 {
			t.Errorf("西集镇 admin lists 潞城镇's experts: %d, want 404", st)
		}
		var own []school.Expert
		if st, _ := other.JSON("GET", "/api/v1/school/experts", nil, &own); st != 200 || len(own) != 0 {
			t.Errorf("西集镇 admin's own pool: %d %+v", st, own)
		}
		if e2 := findExpert(t, admin, "高大山", false); e2.Name != "高大山" || e2.Phone != "010-87654321" {
			t.Errorf("refused edits changed the expert: %+v", e2)
		}

		// Retiring asks first, naming the expert, and keeps the reason.
		retire := fmt.Sprintf("/admin/school/experts/%d/retire", e.ID)
		if st, body := page.PostForm(retire, nil); st != 200 || !strings.Contains(body, "高大山（中共北京市委党校）将退出专家库") {
			t.Errorf("retire asks: %d %.300s", st, body)
		}
		if st, _ := page.PostForm(retire, url.Values{"confirmed": {"1"}}); st != 422 {
			t.Errorf("retire without a reason: %d", st)
		}
		if findExpert(t, admin, "高大山", false).Retired {
			t.Fatal("retired before the question was answered")
		}
		st, to = page.Submit(retire, url.Values{"confirmed": {"1"}, "reason": {"调往外地工作"}})
		if st != 303 {
			t.Fatalf("retire: %d", st)
		}
		if st, body := page.Get(to); st != 200 || flashOf(body) != "高大山 已退出专家库 · 原因：调往外地工作" {
			t.Errorf("the page retiring lands on says %q (%d)", flashOf(body), st)
		}
		r := findExpert(t, admin, "高大山", true)
		if !r.Retired || r.RetiredReason != "调往外地工作" || r.RetiredAt == nil {
			t.Errorf("retired: %+v", r)
		}
		var pool []school.Expert
		if admin.JSON("GET", "/api/v1/school/experts", nil, &pool); len(pool) != 0 {
			t.Errorf("the pool still lists the retired expert: %+v", pool)
		}
		if st, _ := page.PostForm(retire, url.Values{"confirmed": {"1"}, "reason": {"再来一次"}}); st != 409 {
			t.Errorf("retire twice: %d, want 409", st)
		}
		if st, _ := upload(t, env, page, fmt.Sprintf("/admin/school/experts/%d", e.ID), expertFields("高大山"), "", "", nil); st != 409 {
			t.Errorf("edit a retired expert: %d, want 409", st)
		}
		// Out of the pool, out of the residents' sight.
		if st, _ := env.Browser(demo.PhoneResident).Get(fmt.Sprintf("/school/experts/%d/photo", e.ID)); st != 404 {
			t.Errorf("a resident sees a retired expert's photo: %d", st)
		}
	})
}

// TestExpertLoginSeesOnlyItsOwnRecord: the demo expert's login, linked to one expert, sees that
// expert and the courses they teach, edits their own profile, and finds nothing of another.
func TestExpertLoginSeesOnlyItsOwnRecord(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		admin := env.API(demo.PhoneSchoolAdmin)
		login := accountID(t, env, demo.PhoneExpert)

		// Only a login holding the expert role in the town may be linked.
		in := map[string]any{"name": demo.ExpertName, "affiliation": "中共北京市委党校", "phone": "13811112222", "account_id": accountID(t, env, demo.PhoneResident)}
		if st, body := admin.JSON("POST", "/api/v1/school/experts", in, nil); st != 422 || !strings.Contains(body, `"account_id"`) || !strings.Contains(body, "没有本镇") {
			t.Errorf("a resident's login linked: %d %s", st, body)
		}
		in["account_id"] = login
		var mine, theirs school.Expert
		if st, body := admin.JSON("POST", "/api/v1/school/experts", in, &mine); st != 201 || mine.AccountID != login {
			t.Fatalf("create linked: %d %s", st, body)
		}
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "周立群", "affiliation": "中共中央党校", "phone": "13833334444", "account_id": login}, nil); st != 409 || !strings.Contains(body, "已关联另一位专家") {
			t.Errorf("the same login linked twice: %d %s", st, body)
		}
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "周立群", "affiliation": "中共中央党校", "phone": "13833334444"}, &theirs); st != 201 {
			t.Fatalf("create other: %d %s", st, body)
		}
		cat := firstCategory(t, admin)
		var mineCourse, theirCourse school.Course
		admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "基层治理十讲", "category_id": cat, "minutes": 90, "format": "both", "expert_ids": []int64{mine.ID}}, &mineCourse)
		admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "党性修养", "category_id": cat, "minutes": 90, "format": "both", "expert_ids": []int64{theirs.ID}}, &theirCourse)

		api, page := env.API(demo.PhoneExpert), env.Browser(demo.PhoneExpert)
		var list []school.Expert
		if st, body := api.JSON("GET", "/api/v1/school/experts", nil, &list); st != 200 || len(list) != 1 || list[0].ID != mine.ID || list[0].Phone != "13811112222" {
			t.Errorf("the expert lists experts: %d %s", st, body)
		}
		var courses []school.Course
		if st, body := api.JSON("GET", "/api/v1/school/courses", nil, &courses); st != 200 || len(courses) != 1 || courses[0].ID != mineCourse.ID {
			t.Errorf("the expert lists courses: %d %s", st, body)
		}
		if st, _ := api.JSON("GET", fmt.Sprintf("/api/v1/school/courses/%d", mineCourse.ID), nil, nil); st != 200 {
			t.Errorf("the expert reads their course (a draft): %d", st)
		}
		for _, p := range []string{fmt.Sprintf("/api/v1/school/courses/%d", theirCourse.ID)} {
			if st, _ := api.JSON("GET", p, nil, nil); st != 404 {
				t.Errorf("the expert GET %s: %d, want 404", p, st)
			}
		}
		for _, p := range []string{fmt.Sprintf("/admin/school/experts/%d", theirs.ID), fmt.Sprintf("/school/experts/%d/photo", theirs.ID), fmt.Sprintf("/school/courses/%d", theirCourse.ID)} {
			if st, _ := page.Get(p); st != 404 {
				t.Errorf("the expert GET %s: %d, want 404", p, st)
			}
		}
		if st, _ := api.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "冒名", "affiliation": "x"}, nil); st != 403 {
			t.Errorf("the expert adds an expert: %d, want 403", st)
		}
		// The console entry leads the expert to their page, which shows their contact and course.
		if st, _ := page.Get("/admin/school"); st != 303 {
			t.Errorf("/admin/school for an expert: %d, want 303 to their page", st)
		}
		st, body := page.Get("/admin/school/me")
		if st != 200 || !strings.Contains(body, demo.ExpertName) || !strings.Contains(body, "13811112222") || !strings.Contains(body, "基层治理十讲") || strings.Contains(body, "党性修养") || strings.Contains(body, "周立群") {
			t.Errorf("the expert's page: %d", st)
		}
		// They edit their profile: wrong input stores nothing, right input is said.
		f := url.Values{"title": {"教授"}, "fields": {"基层治理"}, "bio": {"第一版简介"}, "phone": {"999"}, "email": {""},
			"avail_weekday": {"4"}, "avail_from": {""}, "avail_to": {""}, "avail_start": {"14:00"}, "avail_end": {"17:00"}}
		if st, body := upload(t, env, page, "/admin/school/me", f, "photo", "", nil); st != 422 || !strings.Contains(body, "电话应为") {
			t.Errorf("bad profile: %d %.200s", st, body)
		}
		if api.JSON("GET", "/api/v1/school/experts", nil, &list); list[0].Bio != "" || len(list[0].Availability) != 0 {
			t.Errorf("a refused profile was stored: %+v", list[0])
		}
		f.Set("phone", "13811112223")
		if st, body := upload(t, env, page, "/admin/school/me", f, "photo", "me.png", pngPhoto(t)); st != 303 {
			t.Fatalf("profile: %d %.200s", st, body)
		}
		f.Set("bio", "新的简介")
		st, to := page.Submit("/admin/school/me", f)
		if st != 303 {
			t.Fatalf("profile again: %d", st)
		}
		if st, body := page.Get(to); st != 200 || flashOf(body) != "已保存您的资料" {
			t.Errorf("the page the profile lands on says %q (%d)", flashOf(body), st)
		}
		if api.JSON("GET", "/api/v1/school/experts", nil, &list); list[0].Bio != "新的简介" || list[0].Phone != "13811112223" || list[0].Name != demo.ExpertName ||
			len(list[0].Availability) != 1 || !list[0].Photo {
			t.Errorf("profile: %+v", list[0])
		}
		// Staff who are not the expert have no page of their own.
		if st, _ := env.Browser(demo.PhoneSchoolAdmin).Get("/admin/school/me"); st != 404 {
			t.Errorf("the school admin's own expert page: %d, want 404", st)
		}
	})
}

// firstCategory is the id of the town's first category.
func firstCategory(t *testing.T, c *servertest.Client) int64 {
	t.Helper()
	var cats []school.Category
	if st, body := c.JSON("GET", "/api/v1/school/categories", nil, &cats); st != 200 || len(cats) < 9 {
		t.Fatalf("categories: %d %s", st, body)
	}
	return cats[0].ID
}

// errorsOf are the fields a problem names.
func errorsOf(t *testing.T, body string) []string {
	t.Helper()
	var p web.Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// TestExpertIsToldWhatConcernsThem: an expert whose login is also a resident's (a party member of
// the town) is told in their messages when they are given a course, when it is offered and
// withdrawn, and when they leave the pool, with the reason.
func TestExpertIsToldWhatConcernsThem(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		login := accountID(t, env, demo.PhonePartyMember)
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			return env.Sys.Auth.InsertGrant(ctx, tx, login, auth.Grant{Role: auth.Expert, TownID: env.Info.TownID})
		})
		if err != nil {
			t.Fatal(err)
		}
		admin, page, member := env.API(demo.PhoneSchoolAdmin), env.Browser(demo.PhoneSchoolAdmin), env.API(demo.PhonePartyMember)
		inbox := func() []string {
			t.Helper()
			var in struct {
				Messages []struct{ Title, Body string }
			}
			if st, body := member.JSON("GET", "/api/v1/notifications", nil, &in); st != 200 {
				t.Fatalf("inbox: %d %s", st, body)
			}
			var out []string
			for _, m := range in.Messages {
				out = append(out, m.Title+"："+m.Body)
			}
			return out
		}
		before := len(inbox())
		var e school.Expert
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "贾老师", "affiliation": "前疃村党支部", "account_id": login}, &e); st != 201 {
			t.Fatalf("expert: %d %s", st, body)
		}
		var c school.Course
		if st, body := admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "老党员讲初心故事", "category_id": firstCategory(t, admin), "minutes": 60,
			"format": "offline", "expert_ids": []int64{e.ID}}, &c); st != 201 {
			t.Fatalf("course: %d %s", st, body)
		}
		for _, s := range []string{"offered", "withdrawn"} {
			if st, body := admin.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", c.ID), map[string]any{"status": s}, nil); st != 200 {
				t.Fatalf("%s: %d %s", s, st, body)
			}
		}
		if st, _ := page.PostForm(fmt.Sprintf("/admin/school/experts/%d/retire", e.ID), url.Values{"confirmed": {"1"}, "reason": {"年事已高"}}); st != 303 {
			t.Fatalf("retire: %d", st)
		}
		got := inbox()[:len(inbox())-before]
		want := []string{
			"已退出专家库：您已退出微党校专家库，原因：年事已高。您的资料和授课记录仍会保留。",
			"课程已停开：您讲授的课程《老党员讲初心故事》已停开，不再出现在课程菜单上。",
			"课程已开课：您讲授的课程《老党员讲初心故事》已开课，列入微党校课程菜单。",
			"新增授课课程：您已被列为课程《老党员讲初心故事》的授课专家。",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("the expert was told\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestTownAdminGrantsSchoolAdmin: the town admin's account forms offer 微党校管理员, a town role,
// and a login made with it manages the town's school; a village admin's forms do not offer it, and
// the school's staff grant no role.
func TestTownAdminGrantsSchoolAdmin(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		option := `<option value="school_admin">微党校管理员</option>`
		if st, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/accounts"); st != 200 || !strings.Contains(body, option) {
			t.Errorf("the town admin's account forms do not offer the role (%d)", st)
		}
		if st, body := env.Browser(demo.PhoneVillageAdmin).Get("/admin/accounts"); st != 200 || strings.Contains(body, `value="school_admin"`) {
			t.Errorf("a village admin's account forms offer the role (%d)", st)
		}
		if st, _ := env.Browser(demo.PhoneVillageAdmin).PostForm("/admin/accounts", url.Values{"phone": {"13766660001"}, "name": {"冒充"}, "role": {"school_admin"}}); st != 403 && st != 404 {
			t.Errorf("a village admin grants the role: %d", st)
		}
		if st, _ := env.Browser(demo.PhoneSchoolAdmin).PostForm("/admin/accounts", url.Values{"phone": {"13766660002"}, "name": {"冒充"}, "role": {"school_admin"}}); st != 403 {
			t.Errorf("the school admin grants roles: %d", st)
		}
		st, body := env.Browser(demo.PhoneTownAdmin).PostForm("/admin/accounts", url.Values{"phone": {"13766660003"}, "name": {"党建办王干事"}, "role": {"school_admin"}})
		if st != 200 || !strings.Contains(body, "13766660003") {
			t.Fatalf("the town admin creates a school admin: %d %.300s", st, body)
		}
		var town int64
		if err := d.Read().QueryRowContext(context.Background(), `SELECT g.town_id FROM account_roles g JOIN accounts a ON a.id = g.account_id
			WHERE a.phone = '13766660003' AND g.role = 'school_admin'`).Scan(&town); err != nil || town != env.Info.TownID {
			t.Errorf("the grant: town %d, %v", town, err)
		}
		if st, body := env.Browser(demo.PhoneTownAdmin).Get("/admin/accounts?q=" + url.QueryEscape("党建办王干事")); st != 200 || !strings.Contains(body, "微党校管理员") {
			t.Errorf("the accounts list does not name the role (%d)", st)
		}
	})
}
