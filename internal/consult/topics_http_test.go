package consult_test

import (
	"bytes"
	"context"
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

	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// world is the demo town with 前疃村 (the party member's village) and 东堡村, and logins of their
// admins; residents gives more residents of a village logins of their own.
type world struct {
	env              *servertest.Env
	qt, db           int64 // 前疃村, 东堡村
	party, resident  *servertest.Client
	qtAdmin, dbAdmin *servertest.Client
	town             *servertest.Client
	category         int64
	phones           int
}

func newWorld(t *testing.T, d *db.DB, residents int) *world {
	t.Helper()
	env := servertest.NewWith(t, d, demo.Options{Seed: 1, Residents: residents})
	w := &world{env: env, party: env.API(demo.PhonePartyMember), resident: env.API(demo.PhoneResident),
		qtAdmin: env.API(demo.PhoneVillageAdmin), dbAdmin: env.API(demo.PhoneVillageAdmin2), town: env.API(demo.PhoneTownAdmin)}
	var me people.ResidentJSON
	if st, body := w.party.JSON("GET", "/api/v1/me", nil, &me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	w.qt = me.VillageID
	if err := d.Read().QueryRow(`SELECT id FROM villages WHERE town_id = $1 AND name = '东堡村'`, env.Info.TownID).Scan(&w.db); err != nil {
		t.Fatal(err)
	}
	var cats []consult.Category
	if st, body := w.party.JSON("GET", "/api/v1/consult/categories", nil, &cats); st != 200 || len(cats) != len(consult.CategoryCodes) {
		t.Fatalf("categories: %d %s", st, body)
	}
	w.category = cats[1].ID
	return w
}

// residents gives n active residents of a village, other than the demo logins' own, logins of
// their own, and returns their API clients and resident ids.
func (w *world) residents(t *testing.T, village int64, n int) ([]*servertest.Client, []int64) {
	t.Helper()
	ctx := context.Background()
	rows, err := w.env.Sys.DB.Read().QueryContext(ctx, `SELECT r.id, r.name FROM residents r WHERE r.village_id = $1 AND r.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = r.id) ORDER BY r.id LIMIT $2`, village, n)
	if err != nil {
		t.Fatal(err)
	}
	type res struct {
		id   int64
		name string
	}
	var list []res
	for rows.Next() {
		var r res
		if err := rows.Scan(&r.id, &r.name); err != nil {
			t.Fatal(err)
		}
		list = append(list, r)
	}
	rows.Close()
	if len(list) < n {
		t.Fatalf("village %d has %d residents without a login, want %d", village, len(list), n)
	}
	var clients []*servertest.Client
	var ids []int64
	for _, r := range list {
		w.phones++
		phone := fmt.Sprintf("1375555%04d", w.phones)
		if _, err := w.env.Sys.Auth.CreateAccount(ctx, auth.System("test"), auth.AccountInput{Phone: phone, Name: r.name, ResidentID: r.id, Password: demo.DemoPassword}); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, w.env.API(phone))
		ids = append(ids, r.id)
	}
	return clients, ids
}

// propose files a topic for a village through the API as c.
func (w *world) propose(t *testing.T, c *servertest.Client, village int64, title string) consult.Topic {
	t.Helper()
	var tp consult.Topic
	if st, body := c.JSON("POST", "/api/v1/consult/topics", map[string]any{"village_id": village, "category_id": w.category, "title": title, "description": "村东坑塘常年积水，夏天有异味"}, &tp); st != 201 {
		t.Fatalf("propose %s: %d %s", title, st, body)
	}
	return tp
}

func (w *world) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.env.Sys.DB.Read().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTopicSupports: fifty residents of 前疃村 support one topic at once, and one of them again and
// again while they do: the count is fifty, one row each. A resident of 东堡村 does not find it.
func TestTopicSupports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, 1000)
		tp := w.propose(t, w.party, w.qt, "村东坑塘治理")
		clients, _ := w.residents(t, w.qt, 50)
		path := fmt.Sprintf("/api/v1/consult/topics/%d/supports", tp.ID)
		status := make([]int, len(clients)+10)
		var wg sync.WaitGroup
		for i := range status {
			wg.Go(func() {
				c := clients[i%len(clients)] // the first ten support twice, concurrently
				status[i], _ = c.JSON("POST", path, nil, nil)
			})
		}
		wg.Wait()
		for i, st := range status {
			if st != 200 {
				t.Errorf("support %d: %d", i, st)
			}
		}
		var got consult.Topic
		if st, body := w.party.JSON("GET", fmt.Sprintf("/api/v1/consult/topics/%d", tp.ID), nil, &got); st != 200 || got.Supports != 50 {
			t.Fatalf("after 60 supports by 50 residents: %d supports (%d %s)", got.Supports, st, body)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM consult_supports WHERE topic_id = $1`, tp.ID); n != 50 {
			t.Errorf("%d support rows, want 50", n)
		}
		// Withdrawing twice takes one away.
		for range 2 {
			if st, body := clients[0].JSON("DELETE", path, nil, &got); st != 200 || got.Supports != 49 || got.Supported {
				t.Fatalf("withdraw: %d supports, supported %v (%d %s)", got.Supports, got.Supported, st, body)
			}
		}
		// 东堡村: its residents and its admin learn nothing of 前疃村's topic.
		others, _ := w.residents(t, w.db, 1)
		for _, c := range []*servertest.Client{others[0], w.dbAdmin} {
			if st, _ := c.JSON("POST", path, nil, nil); st != 404 {
				t.Errorf("东堡村 supports 前疃村's topic: %d, want 404", st)
			}
			if st, _ := c.JSON("GET", fmt.Sprintf("/api/v1/consult/topics/%d", tp.ID), nil, nil); st != 404 {
				t.Errorf("东堡村 reads 前疃村's topic: %d, want 404", st)
			}
		}
		// A topic for the whole town: 东堡村's resident may support it.
		whole := w.propose(t, w.party, 0, "镇里的公交站")
		if st, body := others[0].JSON("POST", fmt.Sprintf("/api/v1/consult/topics/%d/supports", whole.ID), nil, &got); st != 200 || got.Supports != 1 {
			t.Errorf("东堡村 supports the town's topic: %d %s", st, body)
		}
	})
}

// TestTopicHosts: 东堡村's admin neither reads nor decides on 前疃村's topic (404, like a missing
// one); 前疃村's admin declines it only with a reason, which the proposer is told; merging keeps
// every supporter once.
func TestTopicHosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, 80)
		a := w.propose(t, w.party, w.qt, "村口路灯不亮")
		b := w.propose(t, w.resident, w.qt, "村口缺路灯")
		act := func(c *servertest.Client, id int64, body map[string]any) (int, string) {
			return c.JSON("POST", fmt.Sprintf("/api/v1/consult/topics/%d/actions", id), body, nil)
		}
		for _, body := range []map[string]any{{"action": "decline", "reason": "不归我管"}, {"action": "merge", "into_id": b.ID}} {
			if st, _ := act(w.dbAdmin, a.ID, body); st != 404 {
				t.Errorf("东堡村's admin %v: %d, want 404", body["action"], st)
			}
		}
		if st, _ := w.dbAdmin.JSON("GET", fmt.Sprintf("/api/v1/consult/topics/%d", a.ID), nil, nil); st != 404 {
			t.Errorf("东堡村's admin reads it: %d", st)
		}
		if st, _ := w.dbAdmin.JSON("POST", "/api/v1/consult/topics", map[string]any{"village_id": w.qt, "category_id": w.category, "title": "代提", "description": "代提"}, nil); st != 404 {
			t.Errorf("东堡村's admin raises a topic for 前疃村: %d, want 404", st)
		}
		var list []consult.Topic
		if st, _ := w.dbAdmin.JSON("GET", fmt.Sprintf("/api/v1/consult/topics?village_id=%d", w.qt), nil, &list); st != 404 {
			t.Errorf("東堡村's admin lists 前疃村's topics: %d", st)
		}
		audits := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'consult.topic.%'`)
		if st, body := act(w.qtAdmin, a.ID, map[string]any{"action": "decline"}); st != 422 || !strings.Contains(body, `"reason"`) {
			t.Errorf("decline without a reason: %d %s", st, body)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'consult.topic.%'`); n != audits {
			t.Errorf("a refused decline wrote %d audit entries", n-audits)
		}
		// Supporters of both, one of them of both: merged, three supporters once each.
		clients, _ := w.residents(t, w.qt, 3)
		for i, c := range clients {
			for _, id := range [][]int64{{a.ID}, {a.ID, b.ID}, {b.ID}}[i] {
				if st, body := c.JSON("POST", fmt.Sprintf("/api/v1/consult/topics/%d/supports", id), nil, nil); st != 200 {
					t.Fatalf("support: %d %s", st, body)
				}
			}
		}
		var merged consult.Topic
		if st, body := w.qtAdmin.JSON("POST", fmt.Sprintf("/api/v1/consult/topics/%d/actions", a.ID), map[string]any{"action": "merge", "into_id": b.ID}, &merged); st != 200 || merged.Status != consult.TopicMerged || merged.MergedInto != b.ID {
			t.Fatalf("merge: %d %s", st, body)
		}
		var into consult.Topic
		w.qtAdmin.JSON("GET", fmt.Sprintf("/api/v1/consult/topics/%d", b.ID), nil, &into)
		if into.Supports != 3 || w.count(t, `SELECT COUNT(*) FROM consult_supports WHERE topic_id = $1`, b.ID) != 3 || w.count(t, `SELECT COUNT(*) FROM consult_supports WHERE topic_id = $1`, a.ID) != 0 {
			t.Errorf("after the merge: %d supports of the one kept", into.Supports)
		}
		told := func(text string) int {
			return w.count(t, `SELECT COUNT(*) FROM notifications n JOIN accounts a ON a.resident_id = n.resident_id WHERE a.phone = $1 AND n.body LIKE $2`, demo.PhonePartyMember, "%"+text+"%")
		}
		if told("村口路灯不亮") != 1 {
			t.Error("the proposer of the merged topic was not told")
		}
		var declined consult.Topic
		if st, body := act(w.qtAdmin, b.ID, map[string]any{"action": "decline", "reason": "已列入镇里明年的路灯改造"}); st != 200 {
			t.Fatalf("decline: %d %s", st, body)
		}
		w.resident.JSON("GET", fmt.Sprintf("/api/v1/consult/topics/%d", b.ID), nil, &declined)
		if declined.Status != consult.TopicDeclined || declined.Reason != "已列入镇里明年的路灯改造" {
			t.Errorf("declined: %+v", declined)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM notifications n JOIN accounts a ON a.resident_id = n.resident_id WHERE a.phone = $1 AND n.body LIKE '%已列入镇里明年的路灯改造%'`, demo.PhoneResident); n != 1 {
			t.Errorf("the proposer was told the reason %d times", n)
		}
		// The town's admin hosts every village's topics.
		if st, _ := w.town.JSON("GET", fmt.Sprintf("/api/v1/consult/topics?village_id=%d&sort=age", w.qt), nil, &list); st != 200 || len(list) != 2 {
			t.Errorf("the town lists %d of 前疃村's topics (%d)", len(list), st)
		}
	})
}

// TestTopicForm: a resident on a phone proposes a topic with a photo through the page's form;
// the photo shows to residents of 前疃村 and to nobody of 东堡村. Five photos are refused by name,
// and nothing is kept.
func TestTopicForm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, 80)
		browser := w.env.Browser(demo.PhonePartyMember)
		fields := url.Values{"village_id": {fmt.Sprint(w.qt)}, "category_id": {fmt.Sprint(w.category)}, "title": {"文化广场缺座椅"}, "description": {"晚上跳舞的老人没地方歇脚"}}
		topics := w.count(t, `SELECT COUNT(*) FROM consult_topics`)
		st, body := postPhotos(t, w.env, browser, "/consult/topics", fields, 5)
		if st != 422 || !strings.Contains(body, "最多上传 4 张照片") {
			t.Errorf("five photos: %d %.300s", st, body)
		}
		if w.count(t, `SELECT COUNT(*) FROM consult_topics`) != topics || w.count(t, `SELECT COUNT(*) FROM consult_photos`) != 0 {
			t.Error("a refused topic was kept")
		}
		bad := url.Values{"village_id": {fmt.Sprint(w.qt)}, "category_id": {fmt.Sprint(w.category)}, "title": {""}, "description": {"x"}}
		if st, body := postPhotos(t, w.env, browser, "/consult/topics", bad, 0); st != 422 || !strings.Contains(body, "必填") && !strings.Contains(body, "请填写") {
			t.Errorf("no title: %d %.400s", st, body)
		}
		st, body = postPhotos(t, w.env, browser, "/consult/topics", fields, 1)
		if st != 303 {
			t.Fatalf("propose: %d %.300s", st, body)
		}
		var id, photo int64
		if err := d.Read().QueryRow(`SELECT t.id, p.id FROM consult_topics t JOIN consult_photos p ON p.owner = 'topic' AND p.owner_id = t.id WHERE t.title = '文化广场缺座椅'`).Scan(&id, &photo); err != nil {
			t.Fatal(err)
		}
		if st, page := browser.Get(fmt.Sprintf("/consult/topics/%d?flash=flash.consult_topic_proposed&flash_id=%d", id, id)); st != 200 || !strings.Contains(page, "已提交议题：文化广场缺座椅") || !strings.Contains(page, fmt.Sprintf("/consult/photos/%d", photo)) {
			t.Errorf("the topic's page: %d %.400s", st, page)
		}
		others, _ := w.residents(t, w.db, 1)
		for who, c := range map[string]*servertest.Client{"前疃村's resident": w.resident, "东堡村's resident": others[0], "东堡村's admin": w.dbAdmin, "the town's admin": w.town} {
			st, _ := c.Get(fmt.Sprintf("/consult/photos/%d", photo))
			want := 200
			if strings.HasPrefix(who, "东堡村") {
				want = 404
			}
			if st != want {
				t.Errorf("%s reads the photo: %d, want %d", who, st, want)
			}
		}
		// The resident's list shows it with its support button, and the whole town's topics as
		// the town's; the host's list by age.
		w.propose(t, w.party, 0, "镇里通公交")
		if st, page := w.env.Browser(demo.PhoneResident).Get("/consult/topics"); st != 200 || !strings.Contains(page, "文化广场缺座椅") || !strings.Contains(page, "全镇") || !strings.Contains(page, fmt.Sprintf(`action="/consult/topics/%d/support"`, id)) {
			t.Errorf("the resident's list: %d", st)
		}
		if st, page := w.env.Browser(demo.PhoneVillageAdmin).Get("/admin/consult/topics?sort=age"); st != 200 || !strings.Contains(page, "文化广场缺座椅") {
			t.Errorf("the host's list: %d", st)
		}
	})
}

// postPhotos posts a form with n small PNG photos as a browser does.
func postPhotos(t *testing.T, env *servertest.Env, c *servertest.Client, path string, fields url.Values, n int) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	pic := pngPhoto(t)
	for i := range n {
		fw, err := mw.CreateFormFile("photos", fmt.Sprintf("p%d.png", i))
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(pic)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", env.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Do(req)
}

// pngPhoto is a small photo.
func pngPhoto(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 80, 60))
	for x := range 80 {
		for y := range 60 {
			img.Set(x, y, color.RGBA{uint8(x * 3), uint8(y * 4), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
