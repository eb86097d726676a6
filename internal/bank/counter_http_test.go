package bank_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// counterFixture is the bank fixture with the resident's card opened, points to spend, and, in
// 前疃村's store, a dear item, a last piece of soap and pencils.
type counterFixture struct {
	*bankFixture
	name, card string // the resident's name and card number
	dear, soap int64  // 电饭煲 (100 points, 5 in stock), 香皂 (1 point, 1 in stock)
	pencil     int64  // 铅笔 (1 point, 5 in stock)
	admin      *servertest.Client
}

func newCounterFixture(t *testing.T, d *db.DB) *counterFixture {
	t.Helper()
	ctx := context.Background()
	f := &counterFixture{bankFixture: newBankFixture(t, d)}
	f.one(t, `SELECT name FROM residents WHERE id = $1`, []any{f.resident}, &f.name)
	c, err := f.env.Sys.Bank.IssueCard(ctx, login(t, f.env, demo.PhoneVillageAdmin), f.resident)
	if err != nil {
		t.Fatal(err)
	}
	f.card = c.Number
	f.award(t, f.resident, "clean", "打扫村道", "http:counter:a1")
	f.award(t, f.resident, "help", "帮邻居收玉米", "http:counter:a2") // 8 points
	town := login(t, f.env, demo.PhoneTownAdmin)
	for _, x := range []struct {
		id    *int64
		name  string
		price int64
		stock int
	}{{&f.dear, "电饭煲", 100, 5}, {&f.soap, "香皂", 1, 1}, {&f.pencil, "铅笔", 1, 5}} {
		it, err := f.env.Sys.Bank.CreateItem(ctx, town, f.town, bank.ItemInput{Kind: "goods", Name: x.name, Price: x.price})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.env.Sys.Bank.StockIn(ctx, town, bank.StockInput{ItemID: it.ID, VillageID: f.qiantuan, Quantity: x.stock, Source: "purchase"}); err != nil {
			t.Fatal(err)
		}
		*x.id = it.ID
	}
	f.admin = f.env.Browser(demo.PhoneVillageAdmin)
	return f
}

// sale is 兑换并领取's form for the card.
func (f *counterFixture) sale(card string, item int64, qty int, key string) url.Values {
	return url.Values{"card": {card}, "item_id": {fmt.Sprint(item)}, "quantity": {fmt.Sprint(qty)}, "idempotency_key": {key}}
}

// stored is what a counter sale writes, for checking that a refused one wrote nothing.
func (f *counterFixture) stored(t *testing.T) string {
	t.Helper()
	var stock, balance int
	f.one(t, `SELECT COALESCE(SUM(quantity), 0) FROM bank_stock`, nil, &stock)
	f.one(t, `SELECT COALESCE(SUM(balance), 0) FROM bank_accounts WHERE kind = 'resident'`, nil, &balance)
	return fmt.Sprintf("orders %d, transactions %d, stock moves %d, audit %d, messages %d, stock %d, balances %d", f.count(t, "bank_redemptions"),
		f.count(t, "bank_transactions"), f.count(t, "bank_stock_moves"), f.count(t, "audit_log"), f.count(t, "notifications"), stock, balance)
}

// TestCounterRedeemsAndHandsOver: a walk-in without a phone at the counter. The card finds them,
// named masked, with their balance and what they may take; 兑换并领取 takes the points and the
// stock and hands the item over in one step, recorded as the staff member acting for them, and
// tells them; the flash names what changed. The same form sent twice is one order.
func TestCounterRedeemsAndHandsOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newCounterFixture(t, d)
		masked := bank.MaskMinor(f.name)
		page := "/admin/bank/counter?card=" + url.QueryEscape(f.card)
		st, body := f.admin.Get(page)
		if st != 200 || !strings.Contains(body, escaped(t, masked)) || strings.Contains(body, escaped(t, f.name)) {
			t.Fatalf("counter: %d, want %q and not the full name %q: %.300s", st, masked, f.name, body)
		}
		if !strings.Contains(body, `<strong class="stat">8</strong>`) {
			t.Errorf("the counter does not show the balance of 8")
		}
		// The dear item is offered pressed-out, with the points missing; the others can be taken.
		formOf := func(item int64) string {
			i := strings.Index(body, fmt.Sprintf(`name="item_id" value="%d"`, item))
			if i < 0 {
				t.Fatalf("item %d is not offered at the counter", item)
			}
			j := strings.Index(body[i:], "</li>")
			return body[i : i+j]
		}
		if dear := formOf(f.dear); !strings.Contains(dear, "disabled") || !strings.Contains(dear, zh(t, "bank.short_by", 92)) {
			t.Errorf("the dear item is not shown disabled with 92 points missing: %s", dear)
		}
		detergent := formOf(f.item)
		if strings.Contains(detergent, "disabled") || !strings.Contains(detergent, zh(t, "bank.counter.redeem")) {
			t.Errorf("洗衣液 cannot be taken: %s", detergent)
		}
		m := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(detergent)
		if m == nil {
			t.Fatal("the counter's form has no idempotency key")
		}

		told := inbox(t, f.env)

		// 兑换并领取 two 洗衣液 (3 points each), twice with the same form: one order.
		sale := f.sale(f.card, f.item, 2, m[1])
		var first string
		for i := 0; i < 2; i++ {
			st, to := f.admin.Submit("/admin/bank/counter", sale)
			if st != http.StatusSeeOther || !strings.HasPrefix(to, "/admin/bank/counter?") || !strings.Contains(to, "flash=flash.counter_redeemed") {
				t.Fatalf("兑换并领取 %d: %d → %q", i, st, to)
			}
			if i == 0 {
				first = to
			} else if to != first {
				t.Errorf("the same form sent again went to %q, the first to %q", to, first)
			}
		}
		if n := f.count(t, "bank_redemptions"); n != 1 {
			t.Fatalf("a double submit made %d orders", n)
		}
		var order, closedBy, txID int64
		var status string
		f.one(t, `SELECT id, status, COALESCE(closed_by, 0), transaction_id FROM bank_redemptions`, nil, &order, &status, &closedBy, &txID)
		admin := login(t, f.env, demo.PhoneVillageAdmin)
		if status != "fulfilled" || closedBy != admin.AccountID {
			t.Errorf("the order is %s, closed by %d; want fulfilled by %d", status, closedBy, admin.AccountID)
		}
		var kind string
		var amount, actor, forID int64
		f.one(t, `SELECT kind, amount, COALESCE(actor_id, 0), COALESCE(for_resident_id, 0) FROM bank_transactions WHERE id = $1`, []any{txID}, &kind, &amount, &actor, &forID)
		if kind != "redeem" || amount != -6 || actor != admin.AccountID || forID != f.resident {
			t.Errorf("ledger: %s %d by %d for %d; want redeem -6 by %d for %d (office mode)", kind, amount, actor, forID, admin.AccountID, f.resident)
		}
		var b bank.Balance
		if st, raw := f.env.API(demo.PhoneResident).JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", f.resident), nil, &b); st != 200 || b.Balance != 2 {
			t.Errorf("balance after: %d %s, want 2", st, raw)
		}
		var stock int
		f.one(t, `SELECT quantity FROM bank_stock WHERE item_id = $1 AND village_id = $2`, []any{f.item, f.qiantuan}, &stock)
		if stock != 8 {
			t.Errorf("stock after: %d, want 8", stock)
		}
		// The audit log says who, for whom and what.
		var who, forName, summary string
		var auditFor int64
		f.one(t, `SELECT actor_name, COALESCE(for_resident_id, 0), for_name, summary FROM audit_log WHERE action = 'bank.counter.redeem' AND entity_id = $1`,
			[]any{order}, &who, &auditFor, &forName, &summary)
		if who != admin.Name || auditFor != f.resident || forName != f.name || !strings.Contains(summary, "洗衣液") || !strings.Contains(summary, `"quantity":2`) {
			t.Errorf("audit: %s for %d %s: %s", who, auditFor, forName, summary)
		}
		if n := f.count(t, "audit_log WHERE action = 'bank.counter.redeem'"); n != 1 {
			t.Errorf("%d audit entries for one sale", n)
		}
		sentence := fmt.Sprintf("%s 在柜台为 %s 兑换并领取 洗衣液 × 2，扣 6 分", admin.Name, f.name)
		if st, body := f.env.Browser(demo.PhoneTownAdmin).Get("/admin/audit"); st != 200 || !strings.Contains(body, escaped(t, sentence)) {
			t.Errorf("the audit page does not say %q: %d", sentence, st)
		}
		// The resident is told, once, what was taken in their name and by whom.
		box := inbox(t, f.env)
		if len(box) != len(told)+1 {
			t.Fatalf("the resident was told %d things, want 1", len(box)-len(told))
		}
		if got, want := box[0].Body, zhText(t, "bank.outcome.order_counter", "洗衣液", 2, "前疃村", 6, 2, admin.Name); got != want || box[0].Title != zhText(t, "bank.outcome.order_fulfilled_title") {
			t.Errorf("the resident is told %q: %q, want %q", box[0].Title, got, want)
		}
		// The page it was sent to names what changed.
		st, body = f.admin.Get(first)
		if want := zh(t, "flash.counter_redeemed", masked, "洗衣液", 2, 6, 2); st != 200 || !strings.Contains(body, want) {
			t.Errorf("after 兑换并领取: %d, want the flash %q: %.300s", st, want, body)
		}
		// An order handed over otherwise is not named as one taken at the counter.
		var plain bank.Redemption
		if st, raw := f.env.API(demo.PhoneResident).JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.pencil, "quantity": 1, "idempotency_key": "http:counter:own"}, &plain); st != 201 {
			t.Fatalf("the resident's own order: %d %s", st, raw)
		}
		if _, err := f.env.Sys.Bank.Fulfil(context.Background(), admin, plain.ID); err != nil {
			t.Fatal(err)
		}
		if st, body := f.admin.Get(fmt.Sprintf("%s&flash=flash.counter_redeemed&flash_id=%d", page, plain.ID)); st != 200 || strings.Contains(body, `class="flash"`) {
			t.Errorf("an order handed over at 领取 is named as 兑换并领取: %d", st)
		}
		// The API does the same, and answers a replayed key with the first order.
		in := map[string]any{"card": f.card, "item_id": f.pencil, "quantity": 1, "idempotency_key": "http:counter:api"}
		var red, again bank.Redemption
		api := f.env.API(demo.PhoneVillageAdmin)
		if st, raw := api.JSON("POST", "/api/v1/bank/counter/redemptions", in, &red); st != 201 || red.Status != "fulfilled" || red.Balance != 0 || red.ResidentID != f.resident {
			t.Fatalf("API: %d %s", st, raw)
		}
		if st, raw := api.JSON("POST", "/api/v1/bank/counter/redemptions", in, &again); st != 200 || again.ID != red.ID || !again.Replayed {
			t.Fatalf("API replayed: %d %s", st, raw)
		}
		if n := f.count(t, "bank_redemptions"); n != 3 {
			t.Fatalf("%d orders, want 3", n)
		}
	})
}

// TestCounterRefusesAndStoresNothing: what the shop would refuse the resident, the counter
// refuses too, on the field and in Chinese, with the screen shown again and nothing stored; a
// card of another village, or at another village's counter, is not found; a lost card is refused.
func TestCounterRefusesAndStoresNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newCounterFixture(t, d)
		ctx := context.Background()
		before := f.stored(t)
		unchanged := func(what string) {
			t.Helper()
			if now := f.stored(t); now != before {
				t.Errorf("%s stored something: %s, was %s", what, now, before)
			}
		}
		// Too few points: the quantity's error says how many are missing.
		st, body := f.admin.PostForm("/admin/bank/counter", f.sale(f.card, f.dear, 1, "http:counter:dear"))
		if st != http.StatusConflict || !strings.Contains(body, zh(t, "bank.insufficient_by", 92)) || !strings.Contains(body, escaped(t, bank.MaskMinor(f.name))) {
			t.Errorf("too few points: %d %.300s", st, body)
		}
		unchanged("an order the balance does not pay for")
		for _, c := range []struct {
			name string
			form url.Values
			st   int
			key  string
		}{
			{"quantity 0", f.sale(f.card, f.item, 0, "http:counter:q0"), 422, "bank.quantity_invalid"},
			{"more than in stock", f.sale(f.card, f.soap, 2, "http:counter:q2"), 409, "bank.out_of_stock"},
			{"an unknown item", f.sale(f.card, 999999, 1, "http:counter:x"), 422, "bank.item_unknown"},
			{"no key", f.sale(f.card, f.item, 1, ""), 422, "bank.key_invalid"},
			{"a made-up card", f.sale("110112-999999", f.item, 1, "http:counter:c"), 404, "bank.card_unknown"},
		} {
			if st, body := f.admin.PostForm("/admin/bank/counter", c.form); st != c.st || !strings.Contains(body, zh(t, c.key)) {
				t.Errorf("%s: %d, want %d %q: %.300s", c.name, st, c.st, c.key, body)
			}
			unchanged(c.name)
		}

		// 东堡村's admin does not find 前疃村's card, by the page or the API.
		other := f.env.Browser(demo.PhoneVillageAdmin2)
		if st, body := other.Get("/admin/bank/counter?card=" + f.card); st != 404 || strings.Contains(body, escaped(t, bank.MaskMinor(f.name))) {
			t.Errorf("another village's counter finds the card: %d", st)
		}
		if st, _ := other.PostForm("/admin/bank/counter", f.sale(f.card, f.item, 1, "http:counter:other")); st != 404 {
			t.Errorf("another village's counter redeems: %d", st)
		}
		if st, raw := f.env.API(demo.PhoneVillageAdmin2).JSON("POST", "/api/v1/bank/counter/redemptions",
			map[string]any{"card": f.card, "item_id": f.item, "quantity": 1, "idempotency_key": "http:counter:other"}, nil); st != 404 {
			t.Errorf("another village's counter redeems through the API: %d %s", st, raw)
		}
		// 前疃村's admin does not find a 东堡村 resident's card.
		dongbao, err := f.env.Sys.People.VillageByName(ctx, f.town, "东堡村")
		if err != nil {
			t.Fatal(err)
		}
		var list people.ResidentList
		if st, raw := f.env.API(demo.PhoneTownAdmin).JSON("GET", fmt.Sprintf("/api/v1/residents?village_id=%d", dongbao.ID), nil, &list); st != 200 || len(list.Items) == 0 {
			t.Fatalf("东堡村's residents: %d %.200s", st, raw)
		}
		theirs, err := f.env.Sys.Bank.IssueCard(ctx, login(t, f.env, demo.PhoneTownAdmin), list.Items[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		before = f.stored(t)
		if st, body := f.admin.PostForm("/admin/bank/counter", f.sale(theirs.Number, f.item, 1, "http:counter:theirs")); st != 404 || !strings.Contains(body, zh(t, "bank.card_unknown")) {
			t.Errorf("a 东堡村 card at 前疃村's counter: %d", st)
		}
		// A resident may not use the counter at all.
		if st, _ := f.env.Browser(demo.PhoneResident).PostForm("/admin/bank/counter", f.sale(f.card, f.item, 1, "http:counter:self")); st != 403 {
			t.Errorf("a resident at the counter: %d", st)
		}
		unchanged("another village's card or staff")

		// A card reported lost is refused until it is reissued.
		if _, err := f.env.Sys.Bank.ReportLost(ctx, login(t, f.env, demo.PhoneResident), mustCardID(t, f), "丢了"); err != nil {
			t.Fatal(err)
		}
		before = f.stored(t)
		if st, body := f.admin.PostForm("/admin/bank/counter", f.sale(f.card, f.item, 1, "http:counter:lost")); st != 409 || !strings.Contains(body, zh(t, "bank.card_lost")) {
			t.Errorf("a lost card: %d", st)
		}
		unchanged("a lost card")
	})
}

// inbox is what the demo resident has been told, newest first.
func inbox(t *testing.T, env *servertest.Env) []notify.Message {
	t.Helper()
	var box notify.Inbox
	if st, raw := env.API(demo.PhoneResident).JSON("GET", "/api/v1/notifications?limit=200", nil, &box); st != 200 {
		t.Fatalf("the resident's inbox: %d %s", st, raw)
	}
	return box.Messages
}

func mustCardID(t *testing.T, f *counterFixture) int64 {
	t.Helper()
	var id int64
	f.one(t, `SELECT id FROM bank_cards WHERE number = $1`, []any{f.card}, &id)
	return id
}

// TestCounterLastItemRaced: two counters press 兑换并领取 for the last piece of soap at once, each
// with its own form: one hands it over, the other is told it is gone, and the points are taken
// once.
func TestCounterLastItemRaced(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newCounterFixture(t, d)
		second := f.env.Browser(demo.PhoneVillageAdmin)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []*servertest.Client{f.admin, second} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = c.PostForm("/admin/bank/counter", f.sale(f.card, f.soap, 1, fmt.Sprintf("http:counter:race:%d", i)))
			}()
		}
		wg.Wait()
		won, lost := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusSeeOther:
				won++
			case http.StatusConflict:
				lost++
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("two counters for the last soap: %v, want one 303 and one 409", codes)
		}
		var orders, stock int
		f.one(t, `SELECT COUNT(*) FROM bank_redemptions WHERE item_id = $1 AND status = 'fulfilled'`, []any{f.soap}, &orders)
		f.one(t, `SELECT quantity FROM bank_stock WHERE item_id = $1`, []any{f.soap}, &stock)
		var b bank.Balance
		f.env.API(demo.PhoneResident).JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", f.resident), nil, &b)
		if orders != 1 || stock != 0 || b.Balance != 7 || f.count(t, "bank_redemptions") != 1 {
			t.Errorf("after the race: %d handed over, %d left, balance %d; want 1, 0, 7", orders, stock, b.Balance)
		}
	})
}

// TestOrdersGoBackWhereTheyWerePressed: 领取 and 取消兑换 pressed at the counter go back to the
// counter with the same card, whose flash names the item and the holder as the counter shows them
// (masked: the screen faces the queue), and the question before 取消兑换 names them so too; a
// refusal is shown on the counter. Pressed on the open orders, they go back there, naming the
// resident. Another village's staff find no order; a crafted flash says nothing the order does not
// bear out.
func TestOrdersGoBackWhereTheyWerePressed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newCounterFixture(t, d)
		masked := bank.MaskMinor(f.name)
		qt := fmt.Sprint(f.qiantuan)
		counter := "/admin/bank/counter?" + url.Values{"card": {f.card}}.Encode()
		flashRE := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`)
		flash := func(page string) string {
			t.Helper()
			st, body := f.admin.Get(page)
			if st != 200 {
				t.Fatalf("%s: %d", page, st)
			}
			if m := flashRE.FindStringSubmatch(body); m != nil {
				return html.UnescapeString(m[1])
			}
			return ""
		}
		order := func(item int64, qty int, key string) int64 {
			t.Helper()
			var o bank.Redemption
			if st, raw := f.env.API(demo.PhoneResident).JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": item, "quantity": qty, "idempotency_key": key}, &o); st != 201 {
				t.Fatalf("order: %d %s", st, raw)
			}
			return o.ID
		}
		// lands says whether a redirect goes to path with the card (or village) it came with and
		// the flash key.
		lands := func(to, path, key string) bool {
			u, err := url.Parse(to)
			if err != nil || u.Path != path || u.Query().Get("flash") != key {
				return false
			}
			if path == "/admin/bank/counter" {
				return u.Query().Get("card") == f.card
			}
			return u.Query().Get("village_id") == qt
		}
		status := func(id int64) string {
			var s string
			f.one(t, `SELECT status FROM bank_redemptions WHERE id = $1`, []any{id}, &s)
			return s
		}
		towels, pencil := order(f.item, 2, "http:back:towels"), order(f.pencil, 1, "http:back:pencil") // 8 − 6 − 1 = 1 point left

		// The counter's forms carry the card they were found by.
		_, body := f.admin.Get(counter)
		for _, id := range []int64{towels, pencil} {
			for _, act := range []string{"fulfil", "cancel"} {
				form := regexp.MustCompile(fmt.Sprintf(`(?s)<form method="post" action="/admin/bank/orders/%d/%s".*?</form>`, id, act)).FindString(body)
				if !strings.Contains(form, fmt.Sprintf(`name="card" value="%s"`, f.card)) {
					t.Errorf("the counter's %s form of order %d does not carry the card: %s", act, id, form)
				}
			}
		}

		// 领取 at the counter: back to the counter, naming the item and the holder.
		fromCounter := url.Values{"village_id": {qt}, "card": {f.card}}
		st, to := f.admin.Submit(fmt.Sprintf("/admin/bank/orders/%d/fulfil", towels), fromCounter)
		if st != http.StatusSeeOther || !lands(to, "/admin/bank/counter", "flash.fulfilled") {
			t.Fatalf("领取 at the counter: %d → %q, want back to %q", st, to, counter)
		}
		if got, want := flash(to), zhText(t, "flash.fulfilled", masked, "洗衣液", 2); got != want {
			t.Errorf("after 领取 at the counter the flash says %q, want %q", got, want)
		}
		if status(towels) != "fulfilled" {
			t.Errorf("the towels are %s after 领取", status(towels))
		}
		// Pressed again (another counter got there first): refused on the counter, nothing changes.
		before := f.stored(t)
		st, body = f.admin.PostForm(fmt.Sprintf("/admin/bank/orders/%d/fulfil", towels), fromCounter)
		if st != http.StatusConflict || !strings.Contains(body, zh(t, "bank.order_closed")) || !strings.Contains(body, escaped(t, masked)) ||
			!strings.Contains(body, zh(t, "bank.counter.shop")) {
			t.Errorf("领取 of an order handed over: %d, want 409 on the counter: %.300s", st, body)
		}
		if after := f.stored(t); after != before {
			t.Errorf("a refused 领取 stored something: %s, was %s", after, before)
		}

		// 取消兑换 at the counter asks first, naming the holder masked, and goes back to the counter.
		cancel := fmt.Sprintf("/admin/bank/orders/%d/cancel", pencil)
		st, body = f.admin.PostForm(cancel, fromCounter)
		if st != 200 || !strings.Contains(body, zh(t, "bank.confirm_cancel_what", masked, "铅笔", 1, 1)) || strings.Contains(body, escaped(t, f.name)) ||
			!strings.Contains(body, fmt.Sprintf(`href="%s"`, escaped(t, counter))) {
			t.Fatalf("the question before 取消兑换 at the counter: %d %.600s", st, body)
		}
		confirmed := url.Values{"village_id": {qt}, "card": {f.card}, "confirmed": {"1"}, "reason": {"本人改主意了"}}
		st, to = f.admin.Submit(cancel, confirmed)
		if st != http.StatusSeeOther || !lands(to, "/admin/bank/counter", "flash.order_cancelled_for") {
			t.Fatalf("取消兑换 at the counter: %d → %q", st, to)
		}
		if got, want := flash(to), zhText(t, "flash.order_cancelled_for", masked, "铅笔", 1, 1); got != want {
			t.Errorf("after 取消兑换 at the counter the flash says %q, want %q", got, want)
		}
		if status(pencil) != "cancelled" {
			t.Errorf("the pencil is %s after 取消兑换", status(pencil))
		}

		// A crafted flash says nothing the order does not bear out: the cancelled pencil was not
		// handed over, and the towels were not redeemed at the counter.
		for _, c := range []struct {
			key string
			id  int64
		}{{"flash.fulfilled", pencil}, {"flash.counter_redeemed", towels}, {"flash.order_cancelled_for", towels}} {
			if got := flash(fmt.Sprintf("%s&flash=%s&flash_id=%d", counter, c.key, c.id)); got != "" {
				t.Errorf("%s of order %d says %q", c.key, c.id, got)
			}
		}

		// Pressed on the open orders, they go back there, naming the resident in full.
		soap, pencil2 := order(f.soap, 1, "http:back:soap"), order(f.pencil, 1, "http:back:pencil2") // 2 − 1 − 1 = 0 left
		other := f.env.Browser(demo.PhoneVillageAdmin2)
		before = f.stored(t)
		for _, form := range []url.Values{fromCounter, {"village_id": {qt}}} {
			if st, _ := other.PostForm(fmt.Sprintf("/admin/bank/orders/%d/fulfil", soap), form); st != http.StatusNotFound {
				t.Errorf("东堡村's admin hands over 前疃村's order: %d, want 404", st)
			}
		}
		if after := f.stored(t); after != before {
			t.Errorf("another village's 领取 stored something: %s, was %s", after, before)
		}
		st, to = f.admin.Submit(fmt.Sprintf("/admin/bank/orders/%d/fulfil", soap), url.Values{"village_id": {qt}})
		if st != http.StatusSeeOther || !lands(to, "/admin/bank/orders", "flash.fulfilled") {
			t.Fatalf("领取 on the open orders: %d → %q", st, to)
		}
		if got, want := flash(to), zhText(t, "flash.fulfilled", f.name, "香皂", 1); got != want {
			t.Errorf("after 领取 on the open orders the flash says %q, want %q", got, want)
		}
		st, to = f.admin.Submit(fmt.Sprintf("/admin/bank/orders/%d/cancel", pencil2), url.Values{"village_id": {qt}, "confirmed": {"1"}, "reason": {"缺货"}})
		if st != http.StatusSeeOther || !lands(to, "/admin/bank/orders", "flash.order_cancelled_for") {
			t.Fatalf("取消兑换 on the open orders: %d → %q", st, to)
		}
		if got, want := flash(to), zhText(t, "flash.order_cancelled_for", f.name, "铅笔", 1, 1); got != want {
			t.Errorf("after 取消兑换 on the open orders the flash says %q, want %q", got, want)
		}
	})
}
