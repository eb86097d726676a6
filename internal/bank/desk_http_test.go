package bank_test

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

var (
	rowRE    = regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
	cellRE   = regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	h2RE     = regexp.MustCompile(`(?s)<h2>(.*?)</h2>`)
	// when is a moment as the staff pages write it: 12月3日 周四 下午5:04, with the year when it is
	// not this year's.
	when = regexp.MustCompile(`^(\d{4}年)?\d{1,2}月\d{1,2}日 周[一二三四五六日] \S*\d{1,2}:\d{2}$`)
)

// text is what a person reads of a piece of a page: no tags, so neither a link's address nor a
// hidden field's value, with its spaces collapsed.
func text(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(s, " "))), " ")
}

// tableRows are the rows of a page's tables as a person reads them, cell by cell.
func tableRows(body string) [][]string {
	var out [][]string
	for _, row := range rowRE.FindAllStringSubmatch(body, -1) {
		var cells []string
		for _, c := range cellRE.FindAllStringSubmatch(row[1], -1) {
			cells = append(cells, text(c[1]))
		}
		out = append(out, cells)
	}
	return out
}

// hidden is the form a confirmation page posts back: its hidden fields.
func hidden(body string) url.Values {
	f := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		f.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return f
}

// villager is a resident as the card desk shows them: the register's name, 户号 and masked
// 身份证号, and their card's number and status ("" without one).
type villager struct {
	id                    int64
	name, household, mask string
	card, status          string
}

// villagers are the residents on the register of a village, by id, as the desk shows them.
func (f *bankFixture) villagers(t *testing.T, village int64) []villager {
	t.Helper()
	rows, err := f.env.Sys.DB.Read().Query(`SELECT r.id, r.name, h.number, r.id_masked, COALESCE(c.number, ''), COALESCE(c.status, '')
		FROM residents r JOIN households h ON h.id = r.household_id LEFT JOIN bank_cards c ON c.resident_id = r.id
		WHERE r.village_id = $1 AND r.status = 'active' ORDER BY r.id`, village)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []villager
	for rows.Next() {
		var v villager
		if err := rows.Scan(&v.id, &v.name, &v.household, &v.mask, &v.card, &v.status); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// uncarded are the ids of a village's residents on the register without a card.
func (f *bankFixture) uncarded(t *testing.T, village int64) []int64 {
	t.Helper()
	var out []int64
	for _, v := range f.villagers(t, village) {
		if v.card == "" {
			out = append(out, v.id)
		}
	}
	return out
}

// addStaff gives the demo town an account with one role in a village.
func addStaff(t *testing.T, env *servertest.Env, phone, name string, role auth.Role, village int64) {
	t.Helper()
	ctx := context.Background()
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := env.Sys.Auth.InsertAccount(ctx, tx, phone, name, 0, auth.HashPassword(demo.DemoPassword), false)
		if err != nil {
			return err
		}
		return env.Sys.Auth.InsertGrant(ctx, tx, id, auth.Grant{Role: role, TownID: env.Info.TownID, VillageID: village})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStaffPagesShowNoDatabaseIDs: the card desk, the ledger's search and page, and the open
// orders show residents and orders by what a clerk reads — name, 户号, masked 身份证号, card; item,
// quantity, points, when ordered and status — and no database id. Ids stay where a form or a link
// needs them (hidden fields, addresses), which nobody reads: each row is checked cell by cell as
// the page reads, so a column of ids, or an id beside a name, fails.
func TestStaffPagesShowNoDatabaseIDs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		admin := f.env.Browser(demo.PhoneVillageAdmin)
		desk := fmt.Sprintf("/admin/bank/cards?village_id=%d", f.qiantuan)
		if st, to := admin.Submit("/admin/bank/cards", url.Values{"village_id": {fmt.Sprint(f.qiantuan)}, "resident_id": {fmt.Sprint(f.resident)}}); st != http.StatusSeeOther {
			t.Fatalf("open a card: %d → %s", st, to)
		}

		// The desk: a row per resident of the village, as the register names them.
		st, body := admin.Get(desk)
		if st != 200 || strings.Contains(body, "居民编号") {
			t.Fatalf("card desk: %d, or it still heads a column 居民编号", st)
		}
		var got, want [][]string
		for _, row := range tableRows(body) {
			if len(row) == 6 && row[0] != zhText(t, "field.name") {
				got = append(got, row)
			}
		}
		carded := 0
		for _, v := range f.villagers(t, f.qiantuan) {
			status, button := zhText(t, "bank.card_status.none"), zhText(t, "bank.card_issue")
			if v.card != "" {
				status, button = zhText(t, "bank.card_status."+v.status), zhText(t, "bank.card_report_lost")
				carded++
			}
			want = append(want, []string{v.name, v.household, v.mask, v.card, status, button})
		}
		if carded != 1 || len(want) < 5 || len(want) > 50 {
			t.Fatalf("%d residents of 前疃村 on one page of the desk, %d with a card", len(want), carded)
		}
		slices.SortFunc(got, slices.Compare)
		slices.SortFunc(want, slices.Compare)
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("the desk's rows:\n%q\nwant, as the register names them:\n%q", got, want)
		}

		// The ledger: found by name, then the resident's own page.
		var name, village, household, mask string
		f.one(t, `SELECT r.name, v.name, h.number, r.id_masked FROM residents r JOIN villages v ON v.id = r.village_id
			JOIN households h ON h.id = r.household_id WHERE r.id = $1`, []any{f.resident}, &name, &village, &household, &mask)
		_, body = admin.Get("/admin/bank/ledger?q=" + url.QueryEscape(name))
		if strings.Contains(body, "居民编号") || !slices.ContainsFunc(tableRows(body), func(row []string) bool {
			return slices.Equal(row, []string{name, village, household, mask, zhText(t, "bank.ledger.title")})
		}) {
			t.Errorf("the ledger's search does not list %s as %q, or shows 居民编号: %q", name, []string{name, village, household, mask}, tableRows(body))
		}
		_, body = admin.Get(fmt.Sprintf("/admin/bank/ledger?resident_id=%d", f.resident))
		if heads := h2RE.FindStringSubmatch(body); heads == nil || text(heads[1]) != name+" "+village+" "+household+" · "+mask {
			t.Errorf("the ledger is headed %q, want %q", heads, name+" "+village+" "+household+" · "+mask)
		}

		// The open orders: who, what, how many, the points, when and the status; no 单号.
		f.award(t, f.resident, "clean", "打扫村道", "desk:ids:clean")
		f.award(t, f.resident, "help", "帮邻居收玉米", "desk:ids:help") // 8 points
		resident := f.env.API(demo.PhoneResident)
		if st, raw := resident.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 2, "idempotency_key": "desk:ids:order"}, nil); st != http.StatusCreated {
			t.Fatalf("order: %d %s", st, raw)
		}
		st, body = admin.Get(fmt.Sprintf("/admin/bank/orders?village_id=%d", f.qiantuan))
		if st != 200 || strings.Contains(body, "单号") {
			t.Fatalf("orders: %d, or a column 单号", st)
		}
		var orders [][]string
		for _, row := range tableRows(body)[1:] {
			orders = append(orders, row)
			if len(row) != 7 || !when.MatchString(row[4]) {
				t.Errorf("an order reads %q: want 7 cells, the fifth when it was ordered", row)
				continue
			}
			row[4] = "when"
		}
		wantOrders := [][]string{{name, "洗衣液", "2", "6", "when", zhText(t, "bank.status.reserved"), zhText(t, "bank.fulfil") + " " + zhText(t, "bank.cancel_order")}}
		if !slices.EqualFunc(orders, wantOrders, slices.Equal) {
			t.Errorf("the open orders read\n%q\nwant\n%q", orders, wantOrders)
		}
	})
}

// TestBulkCardOpening: 批量开卡 on the card desk. The button counts the village's residents on the
// register without a card and is offered only to staff who may open cards there; pressing it asks
// first, naming the village and the count, and stores nothing; confirmed, it opens those counted,
// names whoever was refused (one given a card at another desk meanwhile) and why, and leaves each
// resident one card. Another village's staff get 404 and change nothing; residents of another
// village slipped into the form are refused unnamed; two openings racing give each resident one
// card between them.
func TestBulkCardOpening(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		admin := f.env.Browser(demo.PhoneVillageAdmin)
		qt := fmt.Sprint(f.qiantuan)
		desk := "/admin/bank/cards?village_id=" + qt
		stored := func() string {
			return fmt.Sprintf("cards %d, audit %d", f.count(t, "bank_cards"), f.count(t, "audit_log"))
		}
		// Someone already has a card: they are not counted.
		if st, to := admin.Submit("/admin/bank/cards", url.Values{"village_id": {qt}, "resident_id": {fmt.Sprint(f.resident)}}); st != http.StatusSeeOther {
			t.Fatalf("open a card: %d → %s", st, to)
		}
		todo := f.uncarded(t, f.qiantuan)
		n := len(todo)
		if n < 3 || slices.Contains(todo, f.resident) {
			t.Fatalf("%d residents of 前疃村 without a card", n)
		}
		button := zh(t, "bank.cards_bulk", n)
		if st, body := admin.Get(desk); st != 200 || !strings.Contains(body, button) || !strings.Contains(body, `action="/admin/bank/cards/bulk"`) {
			t.Fatalf("the desk does not offer %q: %d", button, st)
		}

		// A shopkeeper reads the desk but may not open cards: no button, and 404 if they try.
		addStaff(t, f.env, "13712340031", "王店员", auth.Shopkeeper, f.qiantuan)
		shop := f.env.Browser("13712340031")
		if st, body := shop.Get(desk); st != 200 || strings.Contains(body, "/admin/bank/cards/bulk") {
			t.Errorf("a shopkeeper's desk: %d, offering 批量开卡: %v", st, strings.Contains(body, "/admin/bank/cards/bulk"))
		}
		before := stored()
		all := url.Values{"village_id": {qt}, "confirmed": {"1"}}
		for _, id := range todo {
			all.Add("resident_id", fmt.Sprint(id))
		}
		other := f.env.Browser(demo.PhoneVillageAdmin2)
		for _, c := range []struct {
			who  string
			by   *servertest.Client
			form url.Values
		}{{"shopkeeper", shop, url.Values{"village_id": {qt}}}, {"shopkeeper confirmed", shop, all},
			{"东堡村 admin", other, url.Values{"village_id": {qt}}}, {"东堡村 admin confirmed", other, all}} {
			if st, _ := c.by.PostForm("/admin/bank/cards/bulk", c.form); st != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", c.who, st)
			}
		}
		if after := stored(); after != before {
			t.Fatalf("refused openings stored something: %s, before %s", after, before)
		}

		// The question names the village and the count, carries those counted, and stores nothing.
		st, body := admin.PostForm("/admin/bank/cards/bulk", url.Values{"village_id": {qt}, "q": {""}, "page": {"1"}})
		if st != 200 || !strings.Contains(body, zh(t, "bank.confirm_cards", "前疃村", n)) || !strings.Contains(body, zh(t, "bank.confirm_cards_what", "前疃村", n)) {
			t.Fatalf("the question: %d %.600s", st, body)
		}
		if strings.Contains(body, `name="reason"`) {
			t.Error("the question asks for a reason")
		}
		form := hidden(body)
		var asked []int64
		for _, v := range form["resident_id"] {
			var id int64
			fmt.Sscan(v, &id)
			asked = append(asked, id)
		}
		slices.Sort(asked)
		if !slices.Equal(asked, todo) || form.Get("confirmed") != "1" || form.Get("village_id") != qt {
			t.Fatalf("the question carries %v (confirmed %q, village %q), want %v", asked, form.Get("confirmed"), form.Get("village_id"), todo)
		}
		if after := stored(); after != before {
			t.Fatalf("the question stored something: %s, before %s", after, before)
		}

		// Meanwhile another desk opens a card for one of them: confirmed, the rest are opened and
		// they are named as refused, with why.
		late := villagerOf(t, f, todo[0])
		if st, _ := admin.Submit("/admin/bank/cards", url.Values{"village_id": {qt}, "resident_id": {fmt.Sprint(late.id)}}); st != http.StatusSeeOther {
			t.Fatalf("open %s's card: %d", late.name, st)
		}
		audits := f.count(t, "audit_log")
		st, body = admin.PostForm("/admin/bank/cards/bulk", form)
		if st != 200 || !strings.Contains(body, zh(t, "bank.cards_bulk_done", "前疃村", n-1)) || !strings.Contains(body, zh(t, "bank.cards_bulk_refused", 1)) {
			t.Fatalf("confirmed: %d, want %q and one refused: %.600s", st, zhText(t, "bank.cards_bulk_done", "前疃村", n-1), body)
		}
		if !slices.ContainsFunc(tableRows(body), func(row []string) bool {
			return slices.Equal(row, []string{late.name, late.household, zhText(t, "bank.card_exists")})
		}) {
			t.Errorf("%s, whose card was opened meanwhile, is not named as refused with %q", late.name, zhText(t, "bank.card_exists"))
		}
		if got := f.count(t, "audit_log") - audits; got != n-1 {
			t.Errorf("%d audit entries for %d cards", got, n-1)
		}
		for _, v := range f.villagers(t, f.qiantuan) {
			var cards int
			f.one(t, `SELECT COUNT(*) FROM bank_cards WHERE resident_id = $1`, []any{v.id}, &cards)
			if cards != 1 || v.status != "active" {
				t.Errorf("%s has %d cards (%s)", v.name, cards, v.status)
			}
		}
		// Now everyone has one: no button, and pressing it anyway says so.
		if _, body := admin.Get(desk); strings.Contains(body, "/admin/bank/cards/bulk") {
			t.Error("the desk still offers 批量开卡 when everyone has a card")
		}
		if st, body := admin.PostForm("/admin/bank/cards/bulk", url.Values{"village_id": {qt}}); st != http.StatusConflict || !strings.Contains(body, zh(t, "bank.cards_bulk_none")) {
			t.Errorf("批量开卡 with nobody left: %d", st)
		}

		// 东堡村's admin slips 前疃村's residents into their own village's form: refused, unnamed.
		var dongbao int64
		f.one(t, `SELECT id FROM villages WHERE name = '东堡村'`, nil, &dongbao)
		slipped := url.Values{"village_id": {fmt.Sprint(dongbao)}, "confirmed": {"1"}, "resident_id": form["resident_id"]}
		before = stored()
		st, body = other.PostForm("/admin/bank/cards/bulk", slipped)
		if st != 200 || !strings.Contains(body, zh(t, "bank.cards_bulk_unknown", n)) || !strings.Contains(body, zh(t, "bank.cards_bulk_done", "东堡村", 0)) ||
			strings.Contains(body, zh(t, "bank.cards_bulk_refused", n)) {
			t.Errorf("another village's residents in the form: %d %.600s", st, body)
		}
		if after := stored(); after != before {
			t.Errorf("another village's residents got cards: %s, before %s", after, before)
		}

		// 东堡村's admin and the town admin are both asked about 东堡村, and confirm at once: one
		// card each between them, and whoever one opened the other names as refused.
		race := f.uncarded(t, dongbao)
		if len(race) < 3 {
			t.Fatalf("%d residents of 东堡村 without a card", len(race))
		}
		town := f.env.Browser(demo.PhoneTownAdmin)
		clerks := []*servertest.Client{other, town}
		var questions [2]url.Values
		for i, c := range clerks {
			_, q := c.PostForm("/admin/bank/cards/bulk", url.Values{"village_id": {fmt.Sprint(dongbao)}})
			if questions[i] = hidden(q); len(questions[i]["resident_id"]) != len(race) {
				t.Fatalf("clerk %d is asked about %d residents, want %d", i, len(questions[i]["resident_id"]), len(race))
			}
		}
		var bodies [2]string
		var codes [2]int
		var wg sync.WaitGroup
		for i, c := range clerks {
			wg.Go(func() { codes[i], bodies[i] = c.PostForm("/admin/bank/cards/bulk", questions[i]) })
		}
		wg.Wait()
		opened, refused := 0, 0
		for i, b := range bodies {
			if codes[i] != 200 {
				t.Fatalf("racing opening %d: %d %.300s", i, codes[i], b)
			}
			for k := 0; k <= len(race); k++ {
				if strings.Contains(b, zh(t, "bank.cards_bulk_done", "东堡村", k)) {
					opened += k
				}
				if strings.Contains(b, zh(t, "bank.cards_bulk_refused", k)) {
					refused += k
				}
			}
		}
		if opened != len(race) || refused != len(race) {
			t.Errorf("two racing openings opened %d and refused %d for %d residents", opened, refused, len(race))
		}
		for _, v := range f.villagers(t, dongbao) {
			var cards int
			f.one(t, `SELECT COUNT(*) FROM bank_cards WHERE resident_id = $1`, []any{v.id}, &cards)
			if cards != 1 {
				t.Errorf("%s of 东堡村 has %d cards after two racing openings", v.name, cards)
			}
		}
	})
}

// villagerOf is one resident as the desk shows them.
func villagerOf(t *testing.T, f *bankFixture, id int64) villager {
	t.Helper()
	var v villager
	v.id = id
	f.one(t, `SELECT r.name, h.number, r.id_masked FROM residents r JOIN households h ON h.id = r.household_id WHERE r.id = $1`, []any{id}, &v.name, &v.household, &v.mask)
	return v
}
