package honours_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// publishedRound runs a round of 前疃村 to its end as the rounds part would: the nominations are
// admitted to it, the chosen put on notice, the notice's time is over, and the town publishes.
func (w *wallWorld) publishedRound(t *testing.T, rule string, chosen, others []honours.Nomination) (roundID int64, n honours.Notice) {
	t.Helper()
	ctx := context.Background()
	env := w.env
	now := db.Now()
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_rounds (town_id, village_id, title, year, opens_at, closes_at, seats, votes_per_voter, rule, rule_code, status,
			created_by, created_at, updated_at) VALUES ($1, $2, '前疃村2026年身边好人评议', 2026, $3, $4, $5, 3, 'votes', $6, 'notice', $7, $3, $3) RETURNING id`,
			env.Info.TownID, w.villageID, now.Add(-72*time.Hour), now.Add(-24*time.Hour), len(chosen), rule, w.townActor.AccountID).Scan(&roundID); err != nil {
			return err
		}
		for _, x := range append(append([]honours.Nomination{}, chosen...), others...) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_round_nominees (round_id, nomination_id) VALUES ($1, $2)`, roundID, x.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var items []honours.NoticeItem
	for i, x := range chosen {
		label := x.Name
		if x.Minor {
			label = bank.MaskMinor(label)
		}
		items = append(items, honours.NoticeItem{ItemID: x.ID, Rank: i + 1, ResidentID: x.ResidentID, VillageID: x.VillageID, Label: label, Detail: x.Category})
	}
	n, err = env.Sys.Honours.OpenNotice(ctx, w.townActor, honours.Notice{TownID: env.Info.TownID, VillageID: w.villageID, Kind: honours.NoticeRound, RefID: roundID,
		Title: "前疃村2026年身边好人评议"}, items)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Sys.DB.Write().ExecContext(ctx, `UPDATE honours_notices SET notice_until = $1 WHERE id = $2`, now.Add(-time.Minute), n.ID); err != nil {
		t.Fatal(err)
	}
	if n, err = env.Sys.Honours.Publish(ctx, w.townActor, n.ID); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return roundID, n
}

// admitted nominates and admits a consented nomination of 前疃村's admin.
func (w *wallWorld) admitted(t *testing.T, c *servertest.Client, residentID int64, cat int, story string, photos ...[]byte) honours.Nomination {
	t.Helper()
	x := w.nominate(t, c, residentID, cat, story, photos...)
	if x.Consent != "given" {
		t.Fatalf("nomination without consent: %+v", x)
	}
	if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/honours/nominations/%d/admit", x.ID), nil, &x); st != 200 {
		t.Fatalf("admit: %d %s", st, body)
	}
	return x
}

func TestWallPublisher(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newWallWorld(t, env)
		ctx := context.Background()
		// Every class earns 20 points for being chosen.
		if err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
			for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
				if _, err := env.Sys.Bank.InsertVersion(ctx, tx, bank.VersionInput{TownID: env.Info.TownID, Class: class, AdoptedBy: "村民代表大会", AdoptedOn: "2026-01-01",
					Resolution: "测试", EffectiveFrom: "2026-01-01", Rules: []bank.RuleInput{{Code: "honour", Name: "评为身边好人", Points: 20}}}, 0); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		self := w.admitted(t, w.resident, w.residentID, 0, "每天义务打扫村口的公厕", pngBytes(t))
		child := w.admitted(t, w.guardian, w.minorID, 1, "捡到钱包交还失主")
		party := w.admitted(t, w.party, w.partyID, 2, "带头清理河道")
		roundID, n := w.publishedRound(t, "honour", []honours.Nomination{self, child}, []honours.Nomination{party})
		if n.Status != honours.NoticePublished {
			t.Fatalf("notice: %+v", n)
		}
		status := func(id int64) string {
			var s string
			if err := env.Sys.DB.Read().QueryRowContext(ctx, `SELECT status FROM honours_nominations WHERE id = $1`, id).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		if status(self.ID) != "chosen" || status(child.ID) != "chosen" || status(party.ID) != "not_chosen" {
			t.Errorf("statuses: %s %s %s", status(self.ID), status(child.ID), status(party.ID))
		}
		if count(t, env, `SELECT COUNT(*) FROM honours_rounds WHERE id = $1 AND status = 'published'`, roundID) != 1 {
			t.Error("the round is not published")
		}
		if count(t, env, `SELECT COUNT(*) FROM honours_wall WHERE round_id = $1 AND year = 2026`, roundID) != 2 {
			t.Fatal("the chosen are not on the wall")
		}
		// Paid once each, under the round's rule; paying again pays nothing.
		if err := env.Sys.Honours.PayNotice(ctx, w.townActor, n.ID); err != nil {
			t.Fatal(err)
		}
		if k := count(t, env, `SELECT COUNT(*) FROM bank_transactions WHERE idem_key LIKE 'honours:wall:%'`); k != 2 {
			t.Errorf("transactions: %d, want 2", k)
		}
		if k := count(t, env, `SELECT COUNT(*) FROM honours_wall WHERE round_id = $1 AND transaction_id IS NOT NULL`, roundID); k != 2 {
			t.Errorf("payments kept on the wall: %d", k)
		}
		if told(t, env, w.residentID, "你上了名录墙") != 1 {
			t.Error("the chosen was not told")
		}

		// The public wall: anyone sees the names, the minor's masked, and the photo kept with consent.
		var page honours.WallPage
		if st, body := env.Anonymous().JSON("GET", fmt.Sprintf("/api/v1/honours/wall?town_id=%d&year=2026", env.Info.TownID), nil, &page); st != 200 || page.Total != 2 {
			t.Fatalf("public wall: %d %s", st, body)
		}
		var photo int64
		for _, e := range page.Entries {
			switch e.Name {
			case self.Name:
				if len(e.Photos) != 1 {
					t.Errorf("the chosen's photo is not on the wall: %+v", e)
				} else {
					photo = e.Photos[0]
				}
			case "王＊":
			default:
				t.Errorf("wall name %q", e.Name)
			}
		}
		if st, _ := env.Anonymous().Get(fmt.Sprintf("/honours/photos/%d", photo)); st != 200 {
			t.Errorf("a wall photo to anyone: %d", st)
		}
		st, body := env.Anonymous().Get("/wall/" + demo.TownCode + "?year=2026")
		if st != 200 || !strings.Contains(body, self.Name) || !strings.Contains(body, "王＊") || strings.Contains(body, "王小明") || strings.Contains(body, party.Name) {
			t.Errorf("public page: %d %.500s", st, body)
		}
		if !strings.Contains(body, `href="/wall/`+demo.TownCode+`/001"`) {
			t.Error("the town's wall does not link to its villages' walls")
		}
		if st, body := env.Anonymous().Get("/wall/" + demo.TownCode + "/002"); st != 200 || strings.Contains(body, self.Name) {
			t.Errorf("another village's page: %d", st)
		}
		if st, _ := env.Anonymous().Get("/wall/999999999"); st != 404 {
			t.Errorf("unknown town: %d", st)
		}
	})
}

func TestWallEntries(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		w := newWallWorld(t, env)
		year := time.Now().Year()
		in := map[string]any{"year": 2021, "village_id": w.villageID, "name": "张秀兰", "category_id": w.categories[0].ID, "story": "照顾瘫痪的婆婆二十年"}

		// Refused entries store nothing.
		for _, c := range []struct {
			name  string
			by    *servertest.Client
			patch map[string]any
			want  int
			field string
		}{
			{"ErrVillageAdmin", w.village, nil, 403, ""},
			{"ErrThisYear", w.town, map[string]any{"year": year}, 422, `"year"`},
			{"ErrName", w.town, map[string]any{"name": ""}, 422, `"name"`},
			{"ErrPhotoConsent", w.town, map[string]any{"photos": [][]byte{pngBytes(t)}}, 422, `"photo_consent"`},
			{"ErrVillage", w.town, map[string]any{"village_id": w.villageID + 999}, 404, `"village_id"`},
		} {
			body := map[string]any{}
			for k, v := range in {
				body[k] = v
			}
			for k, v := range c.patch {
				body[k] = v
			}
			if st, out := c.by.JSON("POST", "/api/v1/honours/wall", body, nil); st != c.want || !strings.Contains(out, c.field) {
				t.Errorf("%s: %d %s", c.name, st, out)
			}
		}
		if n := count(t, env, `SELECT COUNT(*) FROM honours_wall`); n != 0 {
			t.Fatalf("refused entries stored %d", n)
		}
		in["photos"], in["photo_consent"] = [][]byte{pngBytes(t)}, true
		var e honours.WallEntry
		if st, body := w.town.JSON("POST", "/api/v1/honours/wall", in, &e); st != 201 || e.Year != 2021 || len(e.Photos) != 1 || e.Village != "前疃村" {
			t.Fatalf("entry: %d %s", st, body)
		}
		// By the staff's form too.
		b := env.Browser(demo.PhoneTownAdmin)
		st, _ := b.PostForm("/admin/honours/wall", map[string][]string{"year": {"2021"}, "village_id": {fmt.Sprint(w.otherVillageID)}, "name": {"李福来"},
			"category_id": {fmt.Sprint(w.categories[2].ID)}, "story": {"跳进河里救起落水儿童"}})
		if st != 303 {
			t.Fatalf("entry form: %d", st)
		}
		if st, body := b.Get("/admin/honours/wall?year=2021"); st != 200 || !strings.Contains(body, "李福来") || !strings.Contains(body, "张秀兰") {
			t.Errorf("staff page: %d %.300s", st, body)
		}
		// 前疃村's staff export their village's names only.
		a := env.Browser(demo.PhoneVillageAdmin)
		st, body := a.Get("/admin/honours/wall.xlsx?year=2021")
		if st != 200 {
			t.Fatalf("xlsx: %d %.300s", st, body)
		}
		x, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows(x.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[1][2] != "张秀兰" || rows[1][1] != "前疃村" || rows[1][0] != "2021" {
			t.Errorf("xlsx rows: %q", rows)
		}
		if st, body := b.Get("/admin/honours/wall/certificates?year=2021"); st != 200 || !strings.Contains(body, "李福来") || !strings.Contains(body, "2021年度") {
			t.Errorf("certificates: %d %.300s", st, body)
		}
		// Public, paged, filtered by village and category.
		var page honours.WallPage
		if st, body := env.Anonymous().JSON("GET", fmt.Sprintf("/api/v1/honours/wall?town_id=%d&village_id=%d", env.Info.TownID, w.otherVillageID), nil, &page); st != 200 || page.Total != 1 || page.Entries[0].Name != "李福来" {
			t.Errorf("village filter: %d %s", st, body)
		}
		if st, body := env.Anonymous().JSON("GET", fmt.Sprintf("/api/v1/honours/wall?town_id=%d&category_id=%d", env.Info.TownID, w.categories[0].ID), nil, &page); st != 200 || page.Total != 1 || page.Entries[0].Name != "张秀兰" {
			t.Errorf("category filter: %d %s", st, body)
		}
		if st, _ := env.Anonymous().JSON("GET", "/api/v1/honours/wall", nil, nil); st != 422 {
			t.Errorf("no town: %d", st)
		}
		if st, _ := env.Anonymous().Get(fmt.Sprintf("/honours/photos/%d", e.Photos[0])); st != 200 {
			t.Errorf("an entered photo to anyone: %d", st)
		}
	})
}
