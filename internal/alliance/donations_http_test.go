package alliance_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/alliance"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// donationWorld is the small demo town with two member units (one with a liaison login each), a
// goods item of the points shop, and the staff of 前疃村, 东堡村 and the town logged in.
type donationWorld struct {
	env                                 *servertest.Env
	town, village, other, resident      *servertest.Client
	liaison, otherLiaison               *servertest.Client
	townID, villageID, otherVillage     int64
	unitID, otherUnitID, shopItem, meID int64
	neighbours                          []int64
}

func newDonationWorld(t *testing.T, d *db.DB) *donationWorld {
	t.Helper()
	env := servertest.New(t, d)
	w := &donationWorld{env: env, townID: env.Info.TownID, town: env.API(demo.PhoneTownAdmin), village: env.API(demo.PhoneVillageAdmin),
		other: env.API(demo.PhoneVillageAdmin2), resident: env.API(demo.PhoneResident)}
	ctx := context.Background()
	wr, q := d.Write(), d.Read()
	var me struct {
		ID        int64 `json:"id"`
		VillageID int64 `json:"village_id"`
	}
	if st, body := w.resident.JSON("GET", "/api/v1/me", nil, &me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	w.meID, w.villageID = me.ID, me.VillageID
	if err := q.QueryRowContext(ctx, `SELECT id FROM villages WHERE town_id = $1 AND id <> $2 AND name = '东堡村'`, w.townID, w.villageID).Scan(&w.otherVillage); err != nil {
		t.Fatal(err)
	}
	now := db.Now()
	for _, x := range []struct {
		name string
		id   *int64
	}{{"北京童悦服饰有限公司", &w.unitID}, {"蒙牛乳业", &w.otherUnitID}} {
		if err := wr.QueryRowContext(ctx, `INSERT INTO alliance_units (town_id, name, kind, joined_on, active, created_at, updated_at) VALUES ($1, $2, 'private_enterprise', '2025-01-01', TRUE, $3, $3) RETURNING id`,
			w.townID, x.name, now).Scan(x.id); err != nil {
			t.Fatal(err)
		}
	}
	w.liaison = donationLogin(t, env, "13900000601", w.townID, w.unitID)
	w.otherLiaison = donationLogin(t, env, "13900000602", w.townID, w.otherUnitID)
	if err := wr.QueryRowContext(ctx, `INSERT INTO bank_items (town_id, kind, name, price, created_at) VALUES ($1, 'goods', '儿童绘本', 50, $2) RETURNING id`, w.townID, now).Scan(&w.shopItem); err != nil {
		t.Fatal(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND id <> $2 ORDER BY id LIMIT 3`, w.villageID, w.meID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		w.neighbours = append(w.neighbours, id)
	}
	rows.Close()
	if len(w.neighbours) < 3 {
		t.Fatalf("neighbours: %v", w.neighbours)
	}
	return w
}

// donationLogin gives a unit a liaison login with an API session, without a password.
func donationLogin(t *testing.T, env *servertest.Env, phone string, townID, unitID int64) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	wr := env.Sys.DB.Write()
	var account int64
	if err := wr.QueryRowContext(ctx, `INSERT INTO accounts (phone, name, password_hash, created_at) VALUES ($1, '联络员', 'x', $2) RETURNING id`, phone, db.Now()).Scan(&account); err != nil {
		t.Fatal(err)
	}
	if _, err := wr.ExecContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, created_at) VALUES ($1, 'unit_liaison', $2, $3)`, account, townID, db.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := wr.ExecContext(ctx, `INSERT INTO alliance_unit_accounts (unit_id, account_id) VALUES ($1, $2)`, unitID, account); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	if _, err := wr.ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, 'api', $3, $4, $5)`,
		hex.EncodeToString(sum[:]), account, tok, db.Now(), db.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := env.Anonymous()
	c.Token = tok
	return c
}

func TestDonations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newDonationWorld(t, d)
		ctx := context.Background()
		today := time.Now().Format("2006-01-02")
		const books = 10_000

		// Refused input stores nothing and names each field.
		st, body := w.town.JSON("POST", "/api/v1/alliance/donations", map[string]any{"donor_name": "", "donated_on": "2026-13-01",
			"items": []map[string]any{{"name": "", "measure": "本", "quantity": 0}}}, nil)
		for _, f := range []string{`"donor_name"`, `"donated_on"`, `"items.0.name"`, `"items.0.quantity"`} {
			if st != 422 || !strings.Contains(body, f) {
				t.Errorf("bad donation: %d %s (want %s)", st, body, f)
			}
		}
		if st, _ := w.village.JSON("POST", "/api/v1/alliance/donations", map[string]any{"donor_name": "张三", "donated_on": today, "money_yuan": 100}, nil); st != 403 && st != 404 {
			t.Errorf("village admin records a donation: %d", st)
		}
		if st, _ := w.liaison.JSON("POST", "/api/v1/alliance/donations", map[string]any{"unit_id": w.unitID, "donated_on": today, "money_yuan": 100}, nil); st != 403 && st != 404 {
			t.Errorf("liaison records a donation: %d", st)
		}
		var n int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_donations`).Scan(&n)
		if n != 0 {
			t.Fatalf("refused donations stored %d", n)
		}

		// The books, 300 of them for the points shop's store in 前疃村.
		var don alliance.DonationDetail
		if st, body := w.town.JSON("POST", "/api/v1/alliance/donations", map[string]any{"unit_id": w.unitID, "donated_on": today, "money_yuan": 20000,
			"items": []map[string]any{{"name": "儿童图书", "measure": "本", "quantity": books}, {"name": "儿童绘本", "measure": "本", "quantity": 300, "shop_item_id": w.shopItem, "shop_village_id": w.villageID}}}, &don); st != 201 {
			t.Fatalf("donation: %d %s", st, body)
		}
		if don.DonorName != "北京童悦服饰有限公司" || !strings.HasPrefix(don.ReceiptNo, "JZ-") || len(don.Items) != 2 || don.MoneyYuan != 20000 {
			t.Fatalf("donation: %+v", don)
		}
		bookItem := don.Items[0].ID
		t.Run("shop goods arrive in stock", func(t *testing.T) {
			var qty int
			if err := d.Read().QueryRowContext(ctx, `SELECT quantity FROM bank_stock WHERE item_id = $1 AND village_id = $2`, w.shopItem, w.villageID).Scan(&qty); err != nil || qty != 300 {
				t.Errorf("stock: %d %v", qty, err)
			}
			var src, note string
			if err := d.Read().QueryRowContext(ctx, `SELECT source, note FROM bank_stock_moves WHERE item_id = $1`, w.shopItem).Scan(&src, &note); err != nil || src != "donation" || !strings.Contains(note, don.ReceiptNo) {
				t.Errorf("stock move: %s %q %v", src, note, err)
			}
			if st, body := w.town.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/allocations", don.ID), map[string]any{"item_id": don.Items[1].ID, "village_id": w.villageID, "quantity": 1}, nil); st != 422 || !strings.Contains(body, "item_id") {
				t.Errorf("allocate shop goods: %d %s", st, body)
			}
		})

		alloc := func(c *servertest.Client, village int64, qty int) (int, string, alliance.Allocation) {
			var a alliance.Allocation
			st, body := c.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/allocations", don.ID), map[string]any{"item_id": bookItem, "village_id": village, "quantity": qty}, &a)
			return st, body, a
		}
		if st, body, _ := alloc(w.town, w.villageID, books+1); st != 409 || !strings.Contains(body, "quantity") {
			t.Errorf("allocate beyond received: %d %s", st, body)
		}
		if st, _, _ := alloc(w.village, w.villageID, 5); st != 403 && st != 404 {
			t.Errorf("village admin allocates: %d", st)
		}
		st, body, mine := alloc(w.town, w.villageID, 10)
		if st != 201 {
			t.Fatalf("allocate: %d %s", st, body)
		}
		if st, body, _ := alloc(w.town, w.otherVillage, 6); st != 201 {
			t.Fatalf("allocate other: %d %s", st, body)
		}

		hand := func(c *servertest.Client, resident int64, qty int, confirmed bool) (int, string) {
			return c.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/handovers", don.ID), map[string]any{"allocation_id": mine.ID, "resident_id": resident, "quantity": qty, "confirmed": confirmed}, nil)
		}
		t.Run("refusals", func(t *testing.T) {
			if st, _ := hand(w.other, w.meID, 1, true); st != 404 {
				t.Errorf("东堡村 admin hands out 前疃村's share: %d", st)
			}
			if st, body := hand(w.village, w.meID, 1, false); st != 422 || !strings.Contains(body, "photos") {
				t.Errorf("handover without proof: %d %s", st, body)
			}
			var far int64
			d.Read().QueryRowContext(ctx, `SELECT id FROM residents WHERE village_id = $1 LIMIT 1`, w.otherVillage).Scan(&far)
			if st, body := hand(w.village, far, 1, true); st != 422 || !strings.Contains(body, "resident_id") {
				t.Errorf("handover to another village's resident: %d %s", st, body)
			}
			if st, _ := w.otherLiaison.JSON("GET", fmt.Sprintf("/api/v1/alliance/donations/%d", don.ID), nil, nil); st != 404 {
				t.Errorf("another unit's liaison reads the donation: %d", st)
			}
			if st, _ := w.resident.JSON("GET", fmt.Sprintf("/api/v1/alliance/donations/%d", don.ID), nil, nil); st != 404 && st != 403 {
				t.Errorf("resident reads the donation: %d", st)
			}
		})

		t.Run("20 concurrent handovers against a share of 10", func(t *testing.T) {
			if st, body := hand(w.village, w.meID, 2, true); st != 201 {
				t.Fatalf("handover: %d %s", st, body)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, _ := hand(w.village, w.neighbours[i%3], 1, true)
					mu.Lock()
					codes[st]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if codes[201] != 8 || codes[409] != 12 {
				t.Errorf("answers: %v (want 8 handed, 12 refused)", codes)
			}
			var handed, sum, rows int
			d.Read().QueryRowContext(ctx, `SELECT handed FROM alliance_donation_allocations WHERE id = $1`, mine.ID).Scan(&handed)
			d.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(quantity), 0), COUNT(*) FROM alliance_donation_handovers WHERE allocation_id = $1`, mine.ID).Scan(&sum, &rows)
			if handed != 10 || sum != 10 || rows != 9 {
				t.Errorf("handed %d, sum %d, rows %d", handed, sum, rows)
			}
			if st, body := hand(w.village, w.meID, 1, true); st != 409 || !strings.Contains(body, "quantity") {
				t.Errorf("beyond the share: %d %s", st, body)
			}
		})

		t.Run("a request sent again is recorded once", func(t *testing.T) {
			st, body, more := alloc(w.town, w.villageID, 3)
			if st != 201 {
				t.Fatalf("allocate more: %d %s", st, body)
			}
			send := func() (int, alliance.Handover) {
				var h alliance.Handover
				st, _ := w.village.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/handovers", don.ID), map[string]any{"idempotency_key": "resend-1",
					"allocation_id": more.ID, "resident_id": w.neighbours[2], "quantity": 1, "confirmed": true}, &h)
				return st, h
			}
			st1, first := send()
			var wg sync.WaitGroup
			ids := make([]int64, 5)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if st, h := send(); st == 200 {
						ids[i] = h.ID
					}
				}()
			}
			wg.Wait()
			for _, id := range ids {
				if id != first.ID {
					t.Errorf("resent: %d, first %d (%d)", id, first.ID, st1)
				}
			}
			var handed int
			d.Read().QueryRowContext(ctx, `SELECT handed FROM alliance_donation_allocations WHERE id = $1`, more.ID).Scan(&handed)
			if st1 != 201 || handed != 1 {
				t.Errorf("handed %d after one request sent six times (%d)", handed, st1)
			}
			// The rest of this share, so that the counts below stay those of the first share.
			if st, body := w.village.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/handovers", don.ID), map[string]any{
				"allocation_id": more.ID, "resident_id": w.neighbours[2], "quantity": 2, "confirmed": true}, nil); st != 201 {
				t.Errorf("rest: %d %s", st, body)
			}
		})

		t.Run("what each reader sees", func(t *testing.T) {
			var full alliance.DonationDetail
			if st, body := w.town.JSON("GET", fmt.Sprintf("/api/v1/alliance/donations/%d", don.ID), nil, &full); st != 200 || len(full.Allocations) != 3 || len(full.Handovers) != 11 {
				t.Fatalf("town reads: %d %s", st, body)
			}
			if full.Items[0].Allocated != 19 || full.Items[0].Handed != 13 || full.Items[0].Left != books-19 {
				t.Errorf("counts: %+v", full.Items[0])
			}
			actor, err := w.env.Sys.Auth.Authenticate(ctx, w.town.Token)
			if err != nil {
				t.Fatal(err)
			}
			fig, err := w.env.Sys.Alliance.DonationFigures(ctx, actor, 0, "", "")
			if err != nil || fig.Donations != 1 || fig.Donors != 1 || fig.MoneyYuan != 20000 || fig.Received != books+300 || fig.Allocated != 19+300 || fig.Handed != 13 || fig.Residents != 4 {
				t.Errorf("figures: %+v %v", fig, err)
			}
			if _, err := w.env.Sys.Alliance.DonationFigures(ctx, nil, w.townID, "", ""); err == nil {
				t.Error("figures for nobody")
			}
			var vill alliance.DonationDetail
			if st, _ := w.village.JSON("GET", fmt.Sprintf("/api/v1/alliance/donations/%d", don.ID), nil, &vill); st != 200 || len(vill.Allocations) != 2 || vill.Allocations[0].Left+vill.Allocations[1].Left != 0 {
				t.Errorf("village reads: %d %+v", st, vill.Allocations)
			}
			var donor alliance.DonationDetail
			st, body := w.liaison.JSON("GET", fmt.Sprintf("/api/v1/alliance/donations/%d", don.ID), nil, &donor)
			if st != 200 || len(donor.Allocations) != 3 || donor.Handovers != nil || strings.Contains(body, "resident") || donor.Allocations[0].Households+donor.Allocations[1].Households == 0 {
				t.Errorf("donor reads: %d %s", st, body)
			}
			// The donor's page: villages and counts, nobody's name.
			var someone string
			d.Read().QueryRowContext(ctx, `SELECT name FROM residents WHERE id = $1`, w.neighbours[0]).Scan(&someone)
			if st, body := w.liaison.Get(fmt.Sprintf("/admin/alliance/donations/%d", don.ID)); st != 200 || !strings.Contains(body, "东堡村") || strings.Contains(body, someone) || strings.Contains(body, "发放记录") {
				t.Errorf("donor's page: %d", st)
			}
			var list []alliance.Donation
			if st, _ := w.otherLiaison.JSON("GET", "/api/v1/alliance/donations", nil, &list); st != 200 || len(list) != 0 {
				t.Errorf("another unit's list: %d %d", st, len(list))
			}
			b := w.env.Browser(demo.PhoneTownAdmin)
			if st, body := b.Get(fmt.Sprintf("/admin/alliance/donations/%d/receipt", don.ID)); st != 200 || !strings.Contains(body, "捐赠收据") || !strings.Contains(body, don.ReceiptNo) {
				t.Errorf("receipt: %d", st)
			}
			if st, body := b.Get(fmt.Sprintf("/admin/alliance/donations/%d", don.ID)); st != 200 || !strings.Contains(body, "待发放") {
				t.Errorf("donation page: %d", st)
			}
			if st, _ := w.env.Browser(demo.PhoneVillageAdmin2).Get(fmt.Sprintf("/admin/alliance/donations/%d/receipt", don.ID)); st != 404 {
				t.Errorf("village admin prints the receipt: %d", st)
			}
			rb := w.env.Browser(demo.PhoneResident)
			if st, body := rb.Get("/alliance/donations"); st != 200 || !strings.Contains(body, "儿童图书 2本") {
				t.Errorf("my received: %d", st)
			}
			var inbox struct {
				Messages []struct{ Title, Body string }
			}
			if st, _ := w.resident.JSON("GET", "/api/v1/notifications", nil, &inbox); st != 200 || len(inbox.Messages) == 0 || !strings.Contains(inbox.Messages[0].Body, "儿童图书") {
				t.Errorf("told: %d %+v", st, inbox.Messages)
			}
		})

		t.Run("the pages' forms", func(t *testing.T) {
			b := w.env.Browser(demo.PhoneTownAdmin)
			st, loc := b.Submit("/admin/alliance/donations", url.Values{"donor_name": {"王大爷"}, "donated_on": {today}, "money_yuan": {"500"}})
			if st != 303 || !strings.Contains(loc, "flash=") {
				t.Fatalf("form donation: %d %s", st, loc)
			}
			path := fmt.Sprintf("/admin/alliance/donations/%d", don.ID)
			st, loc = b.Submit(path+"/allocations", url.Values{"item_id": {fmt.Sprint(bookItem)}, "village_id": {fmt.Sprint(w.villageID)}, "quantity": {"1"}})
			if st != 303 {
				t.Fatalf("form allocation: %d", st)
			}
			if st, body := b.Get(loc); st != 200 || !strings.Contains(body, "已把 儿童图书 1本 分配到 前疃村") {
				t.Errorf("allocation said: %d %s", st, loc)
			}
			if st, body := b.PostForm(path+"/allocations", url.Values{"item_id": {fmt.Sprint(bookItem)}, "village_id": {fmt.Sprint(w.otherVillage)}, "quantity": {fmt.Sprint(books)}}); st != 409 || !strings.Contains(body, "超出了待分配数量") {
				t.Errorf("form allocation beyond: %d", st)
			}
			if st, body := b.PostForm("/admin/alliance/donations", url.Values{"donor_name": {"王大爷"}, "donated_on": {today}}); st != 422 || !strings.Contains(body, "请填写捐赠的物品或现金") {
				t.Errorf("empty donation: %d", st)
			}
			// A handover signed on a photo, through the page's form.
			st, body, extra := alloc(w.town, w.villageID, 2)
			if st != 201 {
				t.Fatalf("allocate more: %d %s", st, body)
			}
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("allocation_id", fmt.Sprint(extra.ID))
			mw.WriteField("resident_id", fmt.Sprint(w.neighbours[0]))
			mw.WriteField("quantity", "2")
			fw, _ := mw.CreateFormFile("photos", "sign.png")
			img := image.NewRGBA(image.Rect(0, 0, 8, 8))
			png.Encode(fw, img)
			mw.Close()
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/admin/alliance/donations/%d/handovers", w.env.URL, don.ID), &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			vb := w.env.Browser(demo.PhoneVillageAdmin)
			st, body = vb.Do(req)
			if st != 303 {
				t.Fatalf("signed handover: %d %.300s", st, body)
			}
			var full alliance.DonationDetail
			w.town.JSON("GET", fmt.Sprintf("/api/v1/alliance/donations/%d", don.ID), nil, &full)
			if len(full.Handovers) == 0 || full.Handovers[0].AllocationID != extra.ID || len(full.Handovers[0].PhotoIDs) != 1 || full.Handovers[0].ConfirmedBy != "" {
				t.Errorf("signed handover: %+v", full.Handovers[0])
			}
			var name string
			d.Read().QueryRowContext(ctx, `SELECT name FROM residents WHERE id = $1`, w.neighbours[1]).Scan(&name)
			st, body = vb.Get(fmt.Sprintf("/admin/alliance/donations/%d?q=%s", don.ID, url.QueryEscape(name)))
			if st != 200 || !strings.Contains(body, "登记发放") || !strings.Contains(body, `name="allocation_id"`) || !strings.Contains(body, name) {
				t.Errorf("search page: %d", st)
			}
			// 东堡村's admin, who hands out 东堡村's share, finds nobody of 前疃村.
			if st, body := w.env.Browser(demo.PhoneVillageAdmin2).Get(fmt.Sprintf("/admin/alliance/donations/%d?q=%s", don.ID, url.QueryEscape(name))); st != 200 ||
				strings.Contains(body, fmt.Sprintf(`name="resident_id" value="%d"`, w.neighbours[1])) {
				t.Errorf("东堡村 admin searches 前疃村's residents: %d", st)
			}
		})
		t.Run("a village's shares wait on its overview", func(t *testing.T) {
			if st, body, _ := alloc(w.town, w.villageID, 1); st != 201 {
				t.Fatalf("allocate: %d %s", st, body)
			}
			// Counted as SQL counts them: 前疃村's shares with something left.
			var left int
			if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_donation_allocations WHERE village_id = $1 AND handed < quantity`, w.villageID).Scan(&left); err != nil || left == 0 {
				t.Fatalf("shares left: %d %v", left, err)
			}
			todo := fmt.Sprintf("%d 批捐赠物品待发放到户", left)
			if _, body := w.env.Browser(demo.PhoneVillageAdmin).Get("/admin"); !strings.Contains(body, todo) {
				t.Errorf("the village admin's overview does not say %q", todo)
			}
			// The town, which allocated them, is not told of them as its own work.
			if _, body := w.env.Browser(demo.PhoneTownAdmin).Get("/admin"); strings.Contains(body, "批捐赠物品待发放到户") {
				t.Error("the town admin is told of the villages' shares")
			}
		})
	})
}
