package alliance_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
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
	"siwei/internal/errs"
	"siwei/internal/server/servertest"
)

// act takes a step on a project through the API as c and returns the status and body.
func act(c *servertest.Client, id int64, in map[string]any, out *alliance.Project) (int, string) {
	return c.JSON("POST", fmt.Sprintf("/api/v1/alliance/projects/%d/actions", id), in, out)
}

func actor(t *testing.T, w *listsWorld, c *servertest.Client) *auth.Actor {
	t.Helper()
	a, err := w.env.Sys.Auth.Authenticate(context.Background(), c.Token)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func told(t *testing.T, d *db.DB, residentID int64) int {
	t.Helper()
	var n int
	if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE resident_id = $1`, residentID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestProjects(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newListsWorld(t, d)
		res := w.resource(t, w.liaisonA, map[string]any{"kind": "funds", "description": "道路硬化专项资金", "amount": "20万元", "from": "2026-12-01", "to": "2027-12-31"})
		milk := w.resource(t, w.liaisonB, map[string]any{"kind": "goods", "description": "牛奶200箱", "from": "2026-12-01", "to": "2026-12-31"})
		road := w.need(t, w.village, map[string]any{"village_id": w.villageID, "kind": "funds", "description": "村西道路硬化", "people": 300, "by": "2027-06-30"})
		var p alliance.Project

		t.Run("refusals", func(t *testing.T) {
			before := countRows(t, d, "alliance_projects")
			// Kind does not fit; a liaison offers another unit's resource; a village admin matches.
			if st, body := w.town.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": road.ID, "resource_id": milk.ID}, nil); st != 422 || !strings.Contains(body, "resource_id") {
				t.Errorf("unfit resource: %d %s", st, body)
			}
			if st, body := w.liaisonB.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": road.ID, "resource_id": res.ID}, nil); st != 404 {
				t.Errorf("liaison matches another unit's resource: %d %s", st, body)
			}
			if st, _ := w.village.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": road.ID, "resource_id": res.ID}, nil); st != 403 {
				t.Errorf("village admin matches: %d", st)
			}
			if n := countRows(t, d, "alliance_projects"); n != before {
				t.Errorf("refused matches stored something")
			}
		})

		t.Run("flow", func(t *testing.T) {
			toldBefore := told(t, d, w.liaisonResident)
			if st, body := w.town.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": road.ID, "resource_id": res.ID}, &p); st != 201 || p.Status != alliance.ProjectProposed || p.Title != "村西道路硬化" {
				t.Fatalf("project: %d %s", st, body)
			}
			if told(t, d, w.liaisonResident) != toldBefore+1 {
				t.Errorf("the unit's liaison was not told of the proposal")
			}
			// It waits for the unit: on its liaison's to-do list, not on the village's yet.
			if todos, err := w.env.Sys.Alliance.ListsTodos(context.Background(), actor(t, w, w.liaisonA)); err != nil || len(todos) != 1 || todos[0].Count != 1 {
				t.Errorf("liaison's to-do: %+v %v", todos, err)
			}
			if todos, err := w.env.Sys.Alliance.ListsTodos(context.Background(), actor(t, w, w.village)); err != nil || len(todos) != 0 {
				t.Errorf("village's to-do: %+v %v", todos, err)
			}
			// The need is in a live project: a second match is refused.
			if st, body := w.town.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": road.ID, "resource_id": res.ID}, nil); (st != 422 && st != 409) || !strings.Contains(body, "need_id") {
				t.Errorf("second match: %d %s", st, body)
			}
			// Another unit's liaison and another village's admin see nothing of it.
			path := fmt.Sprintf("/api/v1/alliance/projects/%d", p.ID)
			for name, c := range map[string]*servertest.Client{"蒙牛's liaison": w.liaisonB, "东堡村's admin": w.other} {
				if st, _ := c.JSON("GET", path, nil, nil); st != 404 {
					t.Errorf("%s reads the project: %d", name, st)
				}
				if st, _ := act(c, p.ID, map[string]any{"action": "unit_agree"}, nil); st != 404 {
					t.Errorf("%s acts on the project: %d", name, st)
				}
			}
			if st, _ := w.env.Browser(liaisonPhoneB).Get(fmt.Sprintf("/admin/alliance/projects/%d", p.ID)); st != 404 {
				t.Errorf("蒙牛's liaison opens the page: %d", st)
			}
			var list []alliance.Project
			if st, body := w.liaisonB.JSON("GET", "/api/v1/alliance/projects", nil, &list); st != 200 || len(list) != 0 {
				t.Errorf("蒙牛's liaison lists projects: %d %s", st, body)
			}
			// Each side in its turn.
			if st, body := act(w.village, p.ID, map[string]any{"action": "village_agree"}, nil); st != 409 {
				t.Errorf("village agrees first: %d %s", st, body)
			}
			if st, body := act(w.village, p.ID, map[string]any{"action": "unit_agree"}, nil); st != 403 {
				t.Errorf("village agrees for the unit: %d %s", st, body)
			}
			if st, body := act(w.liaisonA, p.ID, map[string]any{"action": "unit_agree"}, &p); st != 200 || p.Status != alliance.ProjectUnitAgreed {
				t.Fatalf("unit agrees: %d %s", st, body)
			}
			if st, body := act(w.village, p.ID, map[string]any{"action": "village_agree"}, &p); st != 200 || p.Status != alliance.ProjectInProgress {
				t.Fatalf("village agrees: %d %s", st, body)
			}
			if st, body := act(w.liaisonA, p.ID, map[string]any{"action": "milestone"}, nil); st != 422 || !strings.Contains(body, `"body"`) {
				t.Errorf("empty milestone: %d %s", st, body)
			}
			// A milestone with a photo: seen by the project's parties only.
			var buf bytes.Buffer
			img := image.NewRGBA(image.Rect(0, 0, 32, 32))
			img.Set(1, 1, color.RGBA{200, 0, 0, 255})
			if err := jpeg.Encode(&buf, img, nil); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := w.env.Sys.Alliance.ActProject(ctx, actor(t, w, w.liaisonA), p.ID, alliance.ProjectAction{Action: "milestone", Body: "路基已完成", Photos: [][]byte{buf.Bytes()}}); err != nil {
				t.Fatal(err)
			}
			if st, body := w.village.JSON("GET", path, nil, &p); st != 200 || len(p.Milestones) != 1 || len(p.Milestones[0].Photos) != 1 {
				t.Fatalf("milestones: %d %s", st, body)
			}
			photo := p.Milestones[0].Photos[0]
			if _, _, err := w.env.Sys.Alliance.Photo(ctx, actor(t, w, w.village), photo); err != nil {
				t.Errorf("village reads the photo: %v", err)
			}
			if _, _, err := w.env.Sys.Alliance.Photo(ctx, actor(t, w, w.liaisonB), photo); !errs.Is(err, errs.NotFound) {
				t.Errorf("another unit reads the photo: %v", err)
			}
			if st, body := act(w.village, p.ID, map[string]any{"action": "finish"}, nil); st != 403 {
				t.Errorf("village finishes: %d %s", st, body)
			}
			if st, body := act(w.liaisonA, p.ID, map[string]any{"action": "finish"}, &p); st != 200 || p.Status != alliance.ProjectDone {
				t.Fatalf("finish: %d %s", st, body)
			}
			if st, body := act(w.liaisonA, p.ID, map[string]any{"action": "rate", "rating": 5}, nil); st != 403 {
				t.Errorf("unit rates itself: %d %s", st, body)
			}
			if st, body := act(w.village, p.ID, map[string]any{"action": "rate", "rating": 6}, nil); st != 422 || !strings.Contains(body, `"rating"`) {
				t.Errorf("rating 6: %d %s", st, body)
			}
			toldBefore = told(t, d, w.liaisonResident)
			if st, body := act(w.village, p.ID, map[string]any{"action": "rate", "rating": 5, "reason": "路修得好"}, &p); st != 200 || p.Status != alliance.ProjectRated || p.Rating != 5 {
				t.Fatalf("rate: %d %s", st, body)
			}
			if told(t, d, w.liaisonResident) != toldBefore+1 {
				t.Errorf("the unit was not told of the rating")
			}
			if len(p.Events) != 5 {
				t.Errorf("timeline: %+v", p.Events)
			}
		})

		t.Run("decline", func(t *testing.T) {
			elderly := w.need(t, w.village, map[string]any{"village_id": w.villageID, "kind": "goods", "description": "困难老人冬季慰问", "people": 35, "by": "2026-12-20"})
			var q alliance.Project
			// A unit's own proposal is its agreement.
			if st, body := w.liaisonB.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": elderly.ID, "resource_id": milk.ID}, &q); st != 201 || q.Status != alliance.ProjectUnitAgreed {
				t.Fatalf("unit proposes: %d %s", st, body)
			}
			if st, body := act(w.village, q.ID, map[string]any{"action": "decline"}, nil); st != 422 || !strings.Contains(body, `"reason"`) {
				t.Errorf("decline with no reason: %d %s", st, body)
			}
			// The page asks first.
			b := w.env.Browser(demo.PhoneVillageAdmin)
			page := fmt.Sprintf("/admin/alliance/projects/%d/actions", q.ID)
			if st, body := b.PostForm(page, url.Values{"action": {"decline"}}); st != 200 || !strings.Contains(body, "谢绝这个项目") {
				t.Errorf("decline asks: %d", st)
			}
			if st, loc := b.Submit(page, url.Values{"action": {"decline"}, "confirmed": {"1"}, "reason": {"已有其他单位捐赠"}}); st != 303 || !strings.Contains(loc, "flash=") {
				t.Fatalf("decline: %d %s", st, loc)
			}
			if st, body := w.liaisonB.JSON("GET", fmt.Sprintf("/api/v1/alliance/projects/%d", q.ID), nil, &q); st != 200 || q.Status != alliance.ProjectDeclined || q.Reason != "已有其他单位捐赠" {
				t.Errorf("declined: %d %s", st, body)
			}
			// The need is free again.
			var list []alliance.Need
			if st, _ := w.town.JSON("GET", "/api/v1/alliance/needs?unmatched=1", nil, &list); st != 200 || len(list) != 1 || list[0].ID != elderly.ID {
				t.Errorf("unmatched needs: %+v", list)
			}
		})

		t.Run("rates", func(t *testing.T) {
			ctx := context.Background()
			from, to := w.now.AddDate(0, -1, 0), w.now.Add(time.Hour)
			r, err := w.env.Sys.Alliance.ProjectRates(ctx, actor(t, w, w.town), from, to)
			if err != nil {
				t.Fatal(err)
			}
			if r.Opened != 2 || r.Done != 1 || r.Rated != 1 || r.Satisfied != 1 || r.Responded != 2 {
				t.Errorf("town's rates: %+v", r)
			}
			r, err = w.env.Sys.Alliance.ProjectRates(ctx, actor(t, w, w.liaisonB), from, to)
			if err != nil || r.Opened != 1 || r.Done != 0 {
				t.Errorf("蒙牛's rates: %+v %v", r, err)
			}
			if st, body := w.env.Browser(demo.PhoneTownAdmin).Get("/admin/alliance/projects"); st != 200 || !strings.Contains(body, "满意率") || !strings.Contains(body, "村西道路硬化") {
				t.Errorf("projects page: %d", st)
			}
			if st, body := w.env.Browser(liaisonPhoneA).Get(fmt.Sprintf("/admin/alliance/projects/%d", p.ID)); st != 200 || !strings.Contains(body, "路基已完成") {
				t.Errorf("project page: %d", st)
			}
		})

		t.Run("race", func(t *testing.T) {
			// Staff and the unit match the same need at once: one project, the others refused.
			well := w.need(t, w.village, map[string]any{"village_id": w.villageID, "kind": "funds", "description": "村东机井维修", "people": 120, "by": "2027-03-31"})
			var mu sync.Mutex
			codes := map[int]int{}
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := w.town
					if i%2 == 1 {
						c = w.liaisonA
					}
					st, _ := c.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": well.ID, "resource_id": res.ID}, nil)
					mu.Lock()
					codes[st]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			var live int
			if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM alliance_projects WHERE need_id = $1`, well.ID).Scan(&live); err != nil {
				t.Fatal(err)
			}
			if codes[201] != 1 || codes[201]+codes[409]+codes[422] != 10 || live != 1 {
				t.Errorf("concurrent matches: %v, %d projects", codes, live)
			}
		})
	})
}
