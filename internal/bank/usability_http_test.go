package bank_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
)

// townResidents lists the demo town's residents in the register, as its town admin reads them.
func (f *bankFixture) townResidents(t *testing.T) []people.ResidentJSON {
	t.Helper()
	var out []people.ResidentJSON
	town := f.env.API(demo.PhoneTownAdmin)
	for page := 1; ; page++ {
		var list people.ResidentList
		if st, body := town.JSON("GET", fmt.Sprintf("/api/v1/residents?page=%d", page), nil, &list); st != 200 {
			t.Fatalf("residents page %d: %d %.200s", page, st, body)
		}
		for _, r := range list.Items {
			if r.Status == people.Active {
				out = append(out, r)
			}
		}
		if page >= list.Pages {
			return out
		}
	}
}

// board reads a ranking board of this month through the API.
func (f *bankFixture) board(t *testing.T, by string) []bank.Ranked {
	t.Helper()
	var b bank.RankingsResponse
	if st, body := f.env.API(demo.PhoneTownAdmin).JSON("GET", "/api/v1/bank/rankings?limit=500&by="+by, nil, &b); st != 200 {
		t.Fatalf("%s board: %d %.200s", by, st, body)
	}
	return b.Items
}

// Every resident of the town but the demo resident earns 门前三包 (5), one of 东堡村 also 邻里互助
// (3), and the demo resident only 邻里互助 (3): level places share a rank (1, 2, 2, …, n), the
// resident is told their own rank and their household's though they are far below the top fifty
// the page lists, the villages are ranked by their exact points per head shown to two decimals,
// and 前疃村's admin sees the town's top ten with links only to 前疃村's ledgers (issue 14).
func TestBoardsShareRanksAndShowTheResidentsOwn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		all := f.townResidents(t)
		var me people.ResidentJSON
		var ids []int64
		heads := map[int64]int64{} // village → residents in the register
		var star int64             // a resident of 东堡村 who earns twice
		for _, r := range all {
			heads[r.VillageID]++
			if r.ID == f.resident {
				me = r
				continue
			}
			ids = append(ids, r.ID)
			if star == 0 && r.Village == "东堡村" {
				star = r.ID
			}
		}
		if me.ID == 0 || star == 0 || len(ids) < 60 {
			t.Fatalf("the demo town: me %d, a 东堡村 resident %d, %d others", me.ID, star, len(ids))
		}
		results, err := f.env.Sys.Bank.BulkAward(t.Context(), login(t, f.env, demo.PhoneTownAdmin), bank.BulkInput{ResidentIDs: ids, RuleCode: "clean", Reason: "村道大扫除", IdempotencyKey: "ties-bulk"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Error != "" {
				t.Fatalf("bulk award: %+v", r)
			}
		}
		if n := f.count(t, "bank_transactions"); n != len(ids) {
			t.Fatalf("the bulk award posted %d of %d", n, len(ids))
		}
		if st, body := f.env.API(demo.PhoneTownAdmin).JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": star, "rule_code": "help",
			"reason": "帮邻居收玉米", "idempotency_key": "ties-star"}, nil); st != 201 {
			t.Fatalf("award the star: %d %s", st, body)
		}
		f.award(t, f.resident, "help", "帮邻居收玉米", "ties-me")

		// Competition ranking: the star first, the level 5s second together, the demo resident
		// after all of them.
		residents := f.board(t, "resident")
		if len(residents) != len(all) {
			t.Fatalf("%d on the board, want %d", len(residents), len(all))
		}
		for i, x := range residents {
			var want int
			switch {
			case x.ID == star:
				want = 1
			case x.ID == f.resident:
				want = len(all)
			default:
				want = 2
			}
			if x.Rank != want || (i == 0) != (x.ID == star) {
				t.Fatalf("place %d: %+v, want rank %d", i, x, want)
			}
		}

		// The page lists fifty; the resident is not among them and is told where they stand, and
		// where their household stands, as the household board ranks it.
		var myHousehold bank.Ranked
		for _, x := range f.board(t, "household") {
			if x.ID == me.HouseholdID {
				myHousehold = x
			}
		}
		if myHousehold.Rank == 0 {
			t.Fatalf("the resident's household %d is not on the board", me.HouseholdID)
		}
		res := f.env.Browser(demo.PhoneResident)
		st, body := res.Get("/bank/rankings")
		if st != 200 {
			t.Fatalf("rankings page: %d", st)
		}
		if n := strings.Count(body, "<tr>") + strings.Count(body, `<tr class="me">`); n != 51 { // the header and fifty places
			t.Errorf("the page lists %d rows", n)
		}
		if strings.Contains(body, `class="me"`) {
			t.Error("the resident is marked on a list they are not on")
		}
		if want := zh(t, "bank.standing.me", len(all), 3); !strings.Contains(body, want) {
			t.Errorf("the page does not say %q", want)
		}
		if want := zh(t, "bank.standing.household", me.HouseholdNumber, myHousehold.Rank, myHousehold.Points); !strings.Contains(body, want) {
			t.Errorf("the page does not say %q", want)
		}
		if !strings.Contains(body, `<td>2</td>`) || strings.Contains(body, `<td>3</td>`) {
			t.Error("the page numbers level places one by one")
		}
		// A resident on the list sees their own row marked and their rank said level.
		st, body = f.env.Browser(demo.PhonePartyMember).Get("/bank/rankings")
		if st != 200 || !strings.Contains(body, zh(t, "bank.standing.me", 2, 5)+zh(t, "bank.tied")) {
			t.Errorf("a level resident's standing: %d", st)
		}

		// Villages by exact points per head: 东堡村 (5 + 3/n) first; those where everyone earned
		// 5 level at 5.00; 前疃村 (5 − 2/n) last.
		villages := f.board(t, "village")
		for i, v := range villages {
			n := heads[v.ID]
			var want, perHead string
			switch v.Name {
			case "东堡村":
				want, perHead = "1", fmt.Sprintf("%.2f", float64(5*n+3)/float64(n))
			case "前疃村":
				want, perHead = fmt.Sprint(len(villages)), fmt.Sprintf("%.2f", float64(5*n-2)/float64(n))
			default:
				want, perHead = "2", "5.00"
			}
			if fmt.Sprint(v.Rank) != want || fmt.Sprintf("%.2f", v.PerHead) != perHead {
				t.Errorf("village place %d: %+v, want rank %s, %s per head", i, v, want, perHead)
			}
		}
		if len(villages) < 4 {
			t.Fatalf("%d villages: no two level", len(villages))
		}
		st, body = res.Get("/bank/rankings?by=village")
		if st != 200 || !strings.Contains(body, `<td class="num">5.00</td>`) || !strings.Contains(body, `class="me"`) {
			t.Errorf("the village board page: %d", st)
		}

		// 前疃村's admin: the town's top ten link only to 前疃村's ledgers; the rest are names.
		village := map[int64]int64{}
		for _, r := range all {
			village[r.ID] = r.VillageID
		}
		st, body = f.env.Browser(demo.PhoneVillageAdmin).Get("/admin/bank")
		if st != 200 {
			t.Fatalf("/admin/bank: %d", st)
		}
		top := residents[:10]
		for _, x := range top {
			link := fmt.Sprintf(`/admin/bank/ledger?resident_id=%d"`, x.ID)
			if own := village[x.ID] == f.qiantuan; own != strings.Contains(body, link) {
				t.Errorf("%s of village %d: linked %v", x.Name, village[x.ID], !own)
			}
			if !strings.Contains(body, ">"+escaped(t, x.Name)+"<") {
				t.Errorf("%s is not in the top ten", x.Name)
			}
		}
		for _, m := range regexp.MustCompile(`/admin/bank/ledger\?resident_id=(\d+)`).FindAllStringSubmatch(body, -1) {
			var id int64
			fmt.Sscan(m[1], &id)
			if village[id] != f.qiantuan {
				t.Errorf("a link to the ledger of %d, of village %d", id, village[id])
			}
		}
		if !strings.Contains(body, ">"+zh(t, "bank.per_head")+"</th>") || !strings.Contains(body, `<td class="num">5.00</td>`) {
			t.Error("the village card has no headers or no two decimals")
		}
		// The town admin may open every one of them.
		_, body = f.env.Browser(demo.PhoneTownAdmin).Get("/admin/bank")
		for _, x := range top {
			if !strings.Contains(body, fmt.Sprintf(`/admin/bank/ledger?resident_id=%d"`, x.ID)) {
				t.Errorf("the town admin has no link to %s", x.Name)
			}
		}
	})
}

// itemOf is the shop page's list item for one item.
func itemOf(t *testing.T, body, name string) string {
	t.Helper()
	for _, li := range strings.Split(body, "<li>")[1:] {
		if strings.Contains(li, "<strong>"+name+"</strong>") {
			return li[:strings.Index(li, "</li>")]
		}
	}
	t.Fatalf("the shop has no %s", name)
	return ""
}

// The shop says what the balance does not pay for and by how much, asks no quantity for a service
// taken once a period, and a redeem over the balance is refused with the shortfall and stores
// nothing, on the page and in the API (issue 14).
func TestShopStatesTheShortfall(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		admin := login(t, f.env, demo.PhoneTownAdmin)
		bs := f.env.Sys.Bank
		at := time.Date(2026, 11, 28, 9, 0, 0, 0, clock.Zone(""))
		bs.Now = func() time.Time { return at }
		cooker, err := bs.CreateItem(t.Context(), admin, f.town, bank.ItemInput{Kind: "goods", Name: "电饭煲", Price: 8})
		if err != nil {
			t.Fatal(err)
		}
		if err := bs.StockIn(t.Context(), admin, bank.StockInput{ItemID: cooker.ID, VillageID: f.qiantuan, Quantity: 2, Source: "purchase"}); err != nil {
			t.Fatal(err)
		}
		if _, err := bs.CreateItem(t.Context(), admin, f.town, bank.ItemInput{Kind: "service", Name: "上门理发", Price: 2, LimitCount: 1, LimitPeriod: "month",
			Capacity: 5, CapacityPeriod: "month"}); err != nil {
			t.Fatal(err)
		}
		f.award(t, f.resident, "clean", "打扫村道", "short:award") // 5 points
		res := f.env.Browser(demo.PhoneResident)
		st, body := res.Get("/bank/shop")
		if st != 200 {
			t.Fatalf("shop: %d", st)
		}
		if li := itemOf(t, body, "电饭煲"); !strings.Contains(li, "disabled>") || !strings.Contains(li, zh(t, "bank.short_by", 3)) {
			t.Errorf("an item the balance does not pay for: %s", li)
		}
		if li := itemOf(t, body, "洗衣液"); strings.Contains(li, "disabled") || strings.Contains(li, `class="hint short"`) || !strings.Contains(li, `type="number"`) {
			t.Errorf("an item the balance pays for: %s", li)
		}
		if li := itemOf(t, body, "上门理发"); strings.Contains(li, `type="number"`) || !strings.Contains(li, `<input type="hidden" name="quantity" value="1">`) {
			t.Errorf("a service once a month asks for a quantity: %s", li)
		}

		// Two 洗衣液 (6) on a balance of 5: refused with the point missing, under the item.
		m := keyRE.FindStringSubmatch(itemOf(t, body, "洗衣液"))
		st, body = res.PostForm("/bank/shop", url.Values{"item_id": {fmt.Sprint(f.item)}, "quantity": {"2"}, "idempotency_key": {m[1]}})
		if st != http.StatusConflict || !strings.Contains(itemOf(t, body, "洗衣液"), `<span class="err">`+zh(t, "bank.insufficient_by", 1)+`</span>`) {
			t.Errorf("over the balance on the page: %d", st)
		}
		var p struct {
			Detail string
			Errors []struct{ Field, Code, Message string }
		}
		st, raw := f.env.API(demo.PhoneResident).JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": cooker.ID, "quantity": 1, "idempotency_key": "short:api"}, nil)
		problemInto(t, raw, &p)
		if st != http.StatusConflict || p.Detail != zhText(t, "bank.insufficient_by", 3) || len(p.Errors) != 1 || p.Errors[0].Field != "quantity" || p.Errors[0].Code != "bank.insufficient_by" {
			t.Errorf("over the balance in the API: %d %s", st, raw)
		}
		if n := f.count(t, "bank_redemptions"); n != 0 {
			t.Errorf("refused orders stored %d", n)
		}
		if n := f.count(t, "bank_transactions"); n != 1 {
			t.Errorf("refused orders posted: %d transactions", n)
		}
		// One is paid for; the orders page says when, with the weekday.
		if st, _ := res.PostForm("/bank/shop", url.Values{"item_id": {fmt.Sprint(f.item)}, "quantity": {"1"}, "idempotency_key": {"short:one"}, "confirmed": {"1"}}); st != http.StatusSeeOther {
			t.Fatalf("one: %d", st)
		}
		if st, body := res.Get("/bank/orders"); st != 200 || !strings.Contains(body, "11月28日 周六 上午9:00") {
			t.Errorf("the order's time: %d", st)
		}

		// The rules: a category and a cap joined by a dot, a rule with no cap without one.
		st, body = res.Get("/bank/rules")
		if st != 200 || !strings.Contains(body, `<div class="hint">环境</div>`) || !strings.Contains(body, `<div class="hint">互助 · `+zh(t, "bank.cap.day", 5)+`</div>`) ||
			regexp.MustCompile(`·\s*</div>`).MatchString(body) {
			t.Errorf("rules page: %d", st)
		}
	})
}

func problemInto(t *testing.T, raw string, p any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), p); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}

// On a phone the statement is one entry a line, newest first, what it was for behind a tap; the
// passbook's table (oldest first) is there for print (issue 14).
func TestStatementListsNewestFirstForPhones(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		f.award(t, f.resident, "clean", "打扫村道", "stmt:1")
		f.award(t, f.resident, "help", "帮邻居收玉米", "stmt:2")
		st, body := f.env.Browser(demo.PhoneResident).Get("/bank/statement")
		if st != 200 {
			t.Fatalf("statement: %d", st)
		}
		i, j := strings.Index(body, `<ul class="stmt-list">`), strings.Index(body, `<div class="table-wrap">`)
		if i < 0 || j < i {
			t.Fatalf("no list before the table")
		}
		items := strings.Split(body[i:j], "<li>")[1:]
		if len(items) != 2 {
			t.Fatalf("%d entries in the list", len(items))
		}
		want := [][]string{
			{"<details><summary>", "邻里互助", `+3</strong> · ` + zh(t, "bank.line_balance", 8) + `</summary>`, "帮邻居收玉米", escaped(t, f.approver)},
			{"门前三包", `+5</strong> · ` + zh(t, "bank.line_balance", 5) + `</summary>`, "打扫村道"},
		}
		for k, li := range items {
			for _, s := range want[k] {
				if !strings.Contains(li, s) {
					t.Errorf("entry %d has no %q: %s", k, s, li)
				}
			}
		}
		// The table keeps the passbook's order, oldest first.
		if a, b := strings.Index(body[j:], "打扫村道"), strings.Index(body[j:], "帮邻居收玉米"); a < 0 || b < a {
			t.Error("the table is not oldest first")
		}
	})
}
