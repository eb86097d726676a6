package honours_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// A name on the wall marked for the media goes into the kit with its story and photo and the
// figures; marking it twice is refused; a village's admin may not mark (403), another town's admin
// finds nothing (404).
func TestMediaKit(t *testing.T) {
	servertest.EachWith(t, flagsOptions, false, func(t *testing.T, env *servertest.Env) {
		w := newFlagsWorld(t, env)
		var wall, other int64
		if err := env.Sys.DB.Tx(context.Background(), func(tx *sql.Tx) error {
			now := db.Now()
			var cat int64
			if err := tx.QueryRow(`INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, 'filial', '', 0, TRUE, $2) RETURNING id`,
				env.Info.TownID, now).Scan(&cat); err != nil {
				return err
			}
			if err := tx.QueryRow(`INSERT INTO honours_wall (town_id, village_id, name, category_id, story, year, created_at) VALUES ($1, $2, '王秀英', $3, $4, 2021, $5) RETURNING id`,
				env.Info.TownID, w.villages[0], cat, "照顾瘫痪婆婆二十年如一日。", now).Scan(&wall); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO honours_photos (owner, owner_id, mime, width, height, data, created_at) VALUES ('wall', $1, 'image/jpeg', 1, 1, $2, $3)`,
				wall, []byte("jpeg"), now); err != nil {
				return err
			}
			var cat2 int64
			if err := tx.QueryRow(`INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, 'filial', '', 0, TRUE, $2) RETURNING id`,
				env.Info.SecondTownID, now).Scan(&cat2); err != nil {
				return err
			}
			var v2 int64
			if err := tx.QueryRow(`SELECT id FROM villages WHERE town_id = $1 ORDER BY id LIMIT 1`, env.Info.SecondTownID).Scan(&v2); err != nil {
				return err
			}
			return tx.QueryRow(`INSERT INTO honours_wall (town_id, village_id, name, category_id, story, year, created_at) VALUES ($1, $2, '李四', $3, '', 2021, $4) RETURNING id`,
				env.Info.SecondTownID, v2, cat2, now).Scan(&other)
		}); err != nil {
			t.Fatal(err)
		}
		admin := env.Browser(demo.PhoneTownAdmin)
		mark := url.Values{"kind": {"wall"}, "ref_id": {fmt.Sprint(wall)}, "note": {"可约采访"}}
		if st, body := env.Browser(demo.PhoneVillageAdmin).PostForm("/admin/honours/media", mark); st != http.StatusForbidden {
			t.Errorf("a village's admin marks: %d %.200s", st, body)
		}
		if st, _ := env.Browser(demo.PhoneTownAdmin2).PostForm("/admin/honours/media", url.Values{"kind": {"wall"}, "ref_id": {fmt.Sprint(wall)}}); st != http.StatusNotFound {
			t.Errorf("another town's admin marks this town's wall: %d", st)
		}
		if st, _ := admin.PostForm("/admin/honours/media", url.Values{"kind": {"wall"}, "ref_id": {fmt.Sprint(other)}}); st != http.StatusNotFound {
			t.Errorf("marking another town's wall: %d", st)
		}
		st, to := admin.Submit("/admin/honours/media", mark)
		if st != http.StatusSeeOther || !strings.Contains(to, "flash.honours_media_marked") {
			t.Fatalf("mark: %d %s", st, to)
		}
		if st, page := admin.Get(to); st != 200 || !strings.Contains(page, "已标记为融媒报道素材：王秀英") {
			t.Errorf("the media page after marking: %d", st)
		}
		if st, page := admin.PostForm("/admin/honours/media", mark); st != http.StatusConflict || !strings.Contains(page, "已经标记过了") {
			t.Errorf("marking twice: %d", st)
		}
		// A flag awarded, so that the kit has figures.
		w.award(t, w.residents(t, w.villages[0], true)[0], "clean")
		w.monthOver(t, time.Hour)
		if st, body := w.town.JSON("POST", "/api/v1/flags", map[string]any{"month": w.month, "reason": "月度评定"}, nil); st != http.StatusCreated {
			t.Fatalf("award: %d %s", st, body)
		}
		st, kit := admin.Get("/admin/honours/media/kit")
		if st != 200 {
			t.Fatalf("kit: %d %.300s", st, kit)
		}
		z, err := zip.NewReader(bytes.NewReader([]byte(kit)), int64(len(kit)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range z.File {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			r.Close()
			files[f.Name] = string(b)
		}
		if s := files["stories/01.txt"]; !strings.Contains(s, "王秀英") || !strings.Contains(s, "照顾瘫痪婆婆") || !strings.Contains(s, "可约采访") {
			t.Errorf("the story in the kit: %q", s)
		}
		if files["stories/01-1.jpg"] != "jpeg" {
			t.Errorf("the story's photo is not in the kit: %v", len(files))
		}
		if s := files["figures.txt"]; !strings.Contains(s, "流动红旗") {
			t.Errorf("the kit's figures: %q", s)
		}
		if st, _ := env.Browser(demo.PhoneVillageAdmin).Get("/admin/honours/media/kit"); st != http.StatusForbidden {
			t.Errorf("a village's admin exports the kit: %d", st)
		}
		// Taken out, the story leaves the kit.
		var id int64
		env.Sys.DB.Read().QueryRow(`SELECT id FROM honours_media WHERE kind = 'wall' AND ref_id = $1`, wall).Scan(&id)
		if st, to := admin.Submit(fmt.Sprintf("/admin/honours/media/%d/remove", id), url.Values{}); st != http.StatusSeeOther || !strings.Contains(to, "unmarked") {
			t.Errorf("take out: %d %s", st, to)
		}
		var n int
		env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM honours_media`).Scan(&n)
		if n != 0 {
			t.Errorf("%d stories left", n)
		}
	})
}
