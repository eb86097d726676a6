package bank_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// bankFixture is the whole server on the demo town with rules adopted for every class and a
// stocked item in 前疃村's store.
type bankFixture struct {
	env      *servertest.Env
	town     int64
	qiantuan int64
	resident int64  // the demo resident of 前疃村 (13900000011)
	item     int64  // 洗衣液, 3 points, 10 in 前疃村's store
	approver string // the name 前疃村's admin signs awards with
}

func login(t *testing.T, env *servertest.Env, phone string) *auth.Actor {
	t.Helper()
	ctx := context.Background()
	s, err := env.Sys.Auth.Login(ctx, phone, demo.DemoPassword, "127.0.0.1", "api")
	if err != nil {
		t.Fatal(err)
	}
	a, err := env.Sys.Auth.Authenticate(ctx, s.Token)
	if err != nil || a == nil {
		t.Fatalf("authenticate %s: %v", phone, err)
	}
	return a
}

func newBankFixture(t *testing.T, d *db.DB) *bankFixture {
	t.Helper()
	ctx := context.Background()
	env := servertest.New(t, d)
	f := &bankFixture{env: env, town: env.Info.TownID}
	admin := login(t, env, demo.PhoneTownAdmin)
	f.approver = login(t, env, demo.PhoneVillageAdmin).Name
	for _, class := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
		if _, err := env.Sys.Bank.AdoptVersion(ctx, admin, bank.VersionInput{TownID: f.town, Class: class, AdoptedBy: "村民代表大会",
			AdoptedOn: "2026-01-05", Resolution: "潞决〔2026〕1号", EffectiveFrom: "2026-01-10", Rules: []bank.RuleInput{
				{Code: "clean", Name: "门前三包", Category: "环境", Points: 5},
				{Code: "help", Name: "邻里互助", Category: "互助", Points: 3, CapPeriod: "day", CapCount: 5},
				{Code: "brave", Name: "见义勇为", Category: "公益", Points: 50, NoticeRequired: true},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	qt, err := env.Sys.People.VillageByName(ctx, f.town, "前疃村")
	if err != nil {
		t.Fatal(err)
	}
	f.qiantuan = qt.ID
	it, err := env.Sys.Bank.CreateItem(ctx, admin, f.town, bank.ItemInput{Kind: "goods", Name: "洗衣液", Price: 3, LowStock: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.item = it.ID
	if err := env.Sys.Bank.StockIn(ctx, admin, bank.StockInput{ItemID: it.ID, VillageID: qt.ID, Quantity: 10, Source: "donation", Note: "爱心企业"}); err != nil {
		t.Fatal(err)
	}
	var me people.ResidentJSON
	if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &me); st != 200 {
		t.Fatalf("me: %d %s", st, body)
	}
	f.resident = me.ID
	return f
}

// award posts an award through the API as 前疃村's admin and returns the answer.
func (f *bankFixture) award(t *testing.T, resident int64, rule, reason, key string) bank.AwardResponse {
	t.Helper()
	var out bank.AwardResponse
	st, body := f.env.API(demo.PhoneVillageAdmin).JSON("POST", "/api/v1/bank/awards",
		map[string]any{"resident_id": resident, "rule_code": rule, "reason": reason, "idempotency_key": key}, &out)
	if st != http.StatusCreated {
		t.Fatalf("award %s to %d: %d %s", rule, resident, st, body)
	}
	return out
}

func (f *bankFixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// escaped is s as html/template writes it into a page.
func escaped(t *testing.T, s string) string {
	var b strings.Builder
	if err := template.Must(template.New("").Parse("{{.}}")).Execute(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func problem(body string) web.Problem {
	var p web.Problem
	json.Unmarshal([]byte(body), &p)
	return p
}

func TestAwardThroughTheAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		admin := f.env.API(demo.PhoneVillageAdmin)
		body := map[string]any{"resident_id": f.resident, "rule_code": "clean", "reason": "打扫村道", "idempotency_key": "http:award:1"}
		var first bank.AwardResponse
		if st, raw := admin.JSON("POST", "/api/v1/bank/awards", body, &first); st != 201 || first.Balance != 5 || first.Status != "posted" || first.Replayed || first.TransactionID == 0 {
			t.Fatalf("award: %d %s", st, raw)
		}
		var again bank.AwardResponse
		if st, raw := admin.JSON("POST", "/api/v1/bank/awards", body, &again); st != 200 || again.TransactionID != first.TransactionID || !again.Replayed || again.Balance != 5 {
			t.Fatalf("replay: %d %s", st, raw)
		}
		other := map[string]any{"resident_id": f.resident, "rule_code": "clean", "reason": "另一件事", "idempotency_key": "http:award:1"}
		st, raw := admin.JSON("POST", "/api/v1/bank/awards", other, nil)
		if p := problem(raw); st != 409 || len(p.Errors) != 1 || p.Errors[0].Field != "idempotency_key" || p.Errors[0].Code != "bank.key_reused" {
			t.Fatalf("same key, other content: %d %s", st, raw)
		}
		fresh := map[string]any{"resident_id": f.resident, "rule_code": "clean", "reason": "打扫村道", "idempotency_key": "http:award:2"}
		if st, raw := f.env.API(demo.PhoneVillageAdmin2).JSON("POST", "/api/v1/bank/awards", fresh, nil); st != 404 {
			t.Errorf("another village's admin: %d %s", st, raw)
		}
		if st, raw := f.env.API(demo.PhoneResident).JSON("POST", "/api/v1/bank/awards", fresh, nil); st != 403 && st != 404 {
			t.Errorf("a resident: %d %s", st, raw)
		}
		if st, _ := f.env.Anonymous().JSON("POST", "/api/v1/bank/awards", fresh, nil); st != 401 {
			t.Errorf("anonymous: %d", st)
		}
		if n := f.count(t, "bank_transactions"); n != 1 {
			t.Fatalf("%d transactions, want 1: refused awards stored something", n)
		}

		// A rule that needs a public notice puts the award on the board: 202 and no points yet.
		var pending bank.AwardResponse
		st, raw = admin.JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": f.resident, "rule_code": "brave", "reason": "救起落水儿童",
			"idempotency_key": "http:award:3"}, &pending)
		if st != 202 || pending.Status != "pending" || pending.Pending == nil || pending.TransactionID != 0 {
			t.Errorf("notice rule: %d %s", st, raw)
		}

		// The resident reads their account and statement; another village's admin may not.
		res := f.env.API(demo.PhoneResident)
		var b bank.Balance
		if st, raw := res.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", f.resident), nil, &b); st != 200 || b.Balance != 5 || b.Earned != 5 {
			t.Fatalf("account: %d %s", st, raw)
		}
		if st, _ := f.env.API(demo.PhoneVillageAdmin2).JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d", f.resident), nil, nil); st != 404 {
			t.Errorf("another village's admin reads the account: %d", st)
		}
		var lines []bank.Line
		if st, raw := res.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d/entries?from=2026-01-01", f.resident), nil, &lines); st != 200 ||
			len(lines) != 1 || lines[0].Amount != 5 || lines[0].RuleName != "门前三包" || lines[0].Reason != "打扫村道" || lines[0].Balance != 5 {
			t.Fatalf("entries: %d %s", st, raw)
		}
		if st, raw := res.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d/entries?to=2020-01-01", f.resident), nil, &lines); st != 200 || len(lines) != 0 {
			t.Errorf("entries before any: %d %s", st, raw)
		}
		st, raw = res.JSON("GET", fmt.Sprintf("/api/v1/bank/accounts/%d/entries?from=yesterday", f.resident), nil, nil)
		if p := problem(raw); st != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "from" {
			t.Errorf("bad date: %d %s", st, raw)
		}

		// The rules of the resident's class; a resident cannot ask for a neighbour's.
		var rules []bank.Rule
		if st, raw := res.JSON("GET", "/api/v1/bank/rules", nil, &rules); st != 200 || len(rules) != 3 {
			t.Errorf("rules: %d %s", st, raw)
		}
		if st, _ := res.JSON("GET", fmt.Sprintf("/api/v1/bank/rules?resident_id=%d", f.resident+1), nil, nil); st != 404 {
			t.Errorf("a neighbour's rules: %d", st)
		}

		// Only the town admin reverses; a replayed reversal answers the first.
		rev := map[string]any{"transaction_id": first.TransactionID, "reason": "录入错误"}
		if st, _ := admin.JSON("POST", "/api/v1/bank/reversals", rev, nil); st != 404 {
			t.Errorf("village admin reverses: %d", st)
		}
		town := f.env.API(demo.PhoneTownAdmin)
		var p1, p2 bank.Posted
		if st, raw := town.JSON("POST", "/api/v1/bank/reversals", rev, &p1); st != 201 || p1.Balance != 0 {
			t.Fatalf("reverse: %d %s", st, raw)
		}
		if st, raw := town.JSON("POST", "/api/v1/bank/reversals", rev, &p2); st != 200 || p2.TransactionID != p1.TransactionID {
			t.Errorf("reverse again: %d %s", st, raw)
		}
		var figs []bank.Figures
		if st, raw := town.JSON("GET", "/api/v1/bank/figures", nil, &figs); st != 200 || len(figs) == 0 {
			t.Fatalf("figures: %d %s", st, raw)
		}
		if st, _ := res.JSON("GET", "/api/v1/bank/figures", nil, nil); st != 403 {
			t.Errorf("a resident reads the figures: %d", st)
		}
	})
}

func TestRedeemAndCancelThroughTheAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		f.award(t, f.resident, "clean", "打扫村道", "http:redeem:award")
		res := f.env.API(demo.PhoneResident)
		order := map[string]any{"item_id": f.item, "quantity": 1, "idempotency_key": "http:redeem:1"}
		var red, again bank.Redemption
		if st, raw := res.JSON("POST", "/api/v1/bank/redemptions", order, &red); st != 201 || red.Balance != 2 || red.Status != "reserved" || red.Points != 3 {
			t.Fatalf("redeem: %d %s", st, raw)
		}
		if st, raw := res.JSON("POST", "/api/v1/bank/redemptions", order, &again); st != 200 || again.ID != red.ID || !again.Replayed || again.Balance != 2 {
			t.Fatalf("replayed redeem: %d %s", st, raw)
		}
		// The same key for another quantity is refused, and orders nothing.
		if st, raw := res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 2, "idempotency_key": "http:redeem:1"}, nil); st != 409 || !strings.Contains(raw, "idempotency_key") {
			t.Fatalf("key reused for another quantity: %d %s", st, raw)
		}
		var items []bank.Item
		if st, raw := res.JSON("GET", "/api/v1/bank/items", nil, &items); st != 200 || len(items) != 1 || items[0].Stock != 9 {
			t.Fatalf("items: %d %s", st, raw)
		}
		if st, _ := f.env.API(demo.PhoneVillageAdmin2).JSON("POST", fmt.Sprintf("/api/v1/bank/redemptions/%d/fulfil", red.ID), nil, nil); st != 404 {
			t.Errorf("another village's admin fulfils: %d", st)
		}
		var cancelled bank.Redemption
		if st, raw := res.JSON("POST", fmt.Sprintf("/api/v1/bank/redemptions/%d/cancel", red.ID), nil, &cancelled); st != 200 ||
			cancelled.Status != "cancelled" || cancelled.Balance != 5 {
			t.Fatalf("cancel: %d %s", st, raw)
		}
		// Cancelling again answers the first cancellation and refunds nothing more.
		if st, raw := res.JSON("POST", fmt.Sprintf("/api/v1/bank/redemptions/%d/cancel", red.ID), nil, &cancelled); st != 200 || cancelled.Balance != 5 {
			t.Errorf("cancel twice: %d %s", st, raw)
		}
		// A second order is handed over at the counter.
		var second, done bank.Redemption
		res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 1, "idempotency_key": "http:redeem:2"}, &second)
		if st, raw := f.env.API(demo.PhoneVillageAdmin).JSON("POST", fmt.Sprintf("/api/v1/bank/redemptions/%d/fulfil", second.ID), nil, &done); st != 200 || done.Status != "fulfilled" {
			t.Fatalf("fulfil: %d %s", st, raw)
		}
		// More than the balance is refused and changes nothing.
		st, raw := res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 5, "idempotency_key": "http:redeem:3"}, nil)
		if st != 409 || problem(raw).Code != "conflict" {
			t.Fatalf("overdraw: %d %s", st, raw)
		}
		if n := f.count(t, "bank_redemptions"); n != 2 {
			t.Fatalf("%d orders, want 2", n)
		}
	})
}

var keyRE = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

func TestResidentPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		f.award(t, f.resident, "clean", "打扫村道", "http:page:1")
		f.award(t, f.resident, "help", "帮邻居收玉米", "http:page:2")
		browser := f.env.Browser(demo.PhoneResident)

		// The shop's form carries a key per render: the same form posted twice is one order.
		st, body := browser.Get("/bank/shop")
		m := keyRE.FindStringSubmatch(body)
		if st != 200 || m == nil || !strings.Contains(body, "洗衣液") {
			t.Fatalf("shop: %d %.300s", st, body)
		}
		form := url.Values{"item_id": {fmt.Sprint(f.item)}, "quantity": {"1"}, "idempotency_key": {m[1]}, "confirmed": {"1"}}
		for i := 0; i < 2; i++ {
			if st, body := browser.PostForm("/bank/shop", form); st != http.StatusSeeOther {
				t.Fatalf("redeem %d: %d %.300s", i, st, body)
			}
		}
		if n := f.count(t, "bank_redemptions"); n != 1 {
			t.Fatalf("a double submit made %d orders", n)
		}
		// A refused order shows the page again with the error under the item.
		st, body = browser.PostForm("/bank/shop", url.Values{"item_id": {fmt.Sprint(f.item)}, "quantity": {"0"}, "idempotency_key": {"web-x"}})
		if st != 422 || !strings.Contains(body, `class="err"`) {
			t.Errorf("refused order: %d", st)
		}

		// The statement: oldest first, each line with its amount and running balance first (what a
		// phone shows without scrolling), then its rule, reason and approver.
		st, body = browser.Get("/bank/statement")
		if st != 200 {
			t.Fatalf("statement: %d", st)
		}
		order := []string{`<td class="num">5</td>`, "门前三包", "打扫村道", `<td class="num">8</td>`, "邻里互助", "帮邻居收玉米", `<td class="num">5</td>`, "洗衣液"}
		at := 0
		for _, s := range order {
			i := strings.Index(body[at:], s)
			if i < 0 {
				t.Fatalf("statement: %q missing or out of order", s)
			}
			at += i + len(s)
		}
		if !strings.Contains(body, ">"+escaped(t, f.approver)+"<") {
			t.Errorf("statement does not say who approved")
		}
		if st, body := browser.Get("/bank/statement?period=2020-01"); st != 200 || strings.Contains(body, "打扫村道") {
			t.Errorf("a month without lines: %d", st)
		}
		if st, _ := browser.Get("/bank/statement?period=November"); st != 422 {
			t.Errorf("bad month: %d", st)
		}
		for path, want := range map[string]string{"/bank": `<div class="balance">5</div>`, "/bank/rules": "门前三包", "/bank/orders": "洗衣液",
			"/bank/rankings?by=household&range=year": `<table class="board">`} {
			if st, body := browser.Get(path); st != 200 || !strings.Contains(body, want) {
				t.Errorf("%s: %d, want %q", path, st, want)
			}
		}
		// The order is cancelled from the orders page.
		var id int64
		f.env.Sys.DB.Read().QueryRow(`SELECT id FROM bank_redemptions`).Scan(&id)
		if st, _ := browser.PostForm(fmt.Sprintf("/bank/orders/%d/cancel", id), nil); st != http.StatusSeeOther {
			t.Errorf("cancel from page: %d", st)
		}
		if st, body := browser.Get("/bank"); st != 200 || !strings.Contains(body, `<div class="balance">8</div>`) {
			t.Errorf("balance after cancel: %d", st)
		}
	})
}

func TestStatementDownloadsAsXLSX(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		f.award(t, f.resident, "clean", "打扫村道", "http:xlsx:1")
		period := time.Now().In(people.Town{}.Location()).Format("2006-01")
		req, _ := http.NewRequest("GET", f.env.URL+"/bank/statement.xlsx?period="+period, nil)
		req.Header.Set("Authorization", "Bearer "+f.env.API(demo.PhoneResident).Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
		}
		x, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		rows, err := x.GetRows(x.GetSheetName(0))
		if err != nil || len(rows) != 3 {
			t.Fatalf("rows: %v %q", err, rows)
		}
		if got := strings.Join(rows[2], "|"); !strings.Contains(got, "门前三包|打扫村道|"+f.approver+"|5||5|") {
			t.Errorf("line: %s", got)
		}
	})
}

func TestRankingsMaskMinors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		var minor people.ResidentJSON
		var list people.ResidentList
		town := f.env.API(demo.PhoneTownAdmin)
		for page := 1; minor.ID == 0; page++ {
			if st, body := town.JSON("GET", fmt.Sprintf("/api/v1/residents?page=%d", page), nil, &list); st != 200 || len(list.Items) == 0 {
				t.Fatalf("no minor in the demo town: %d %.200s", st, body)
			}
			for _, r := range list.Items {
				if r.Class == string(people.Minor) && len([]rune(r.Name)) > 1 {
					minor = r
					break
				}
			}
		}
		var award bank.AwardResponse
		if st, body := town.JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": minor.ID, "rule_code": "clean", "reason": "捡到钱包交公",
			"idempotency_key": "http:minor:1"}, &award); st != 201 {
			t.Fatalf("award a minor: %d %s", st, body)
		}
		var board bank.RankingsResponse
		if st, body := f.env.API(demo.PhoneResident).JSON("GET", "/api/v1/bank/rankings?by=resident", nil, &board); st != 200 || len(board.Items) != 1 {
			t.Fatalf("rankings: %d %s", st, body)
		}
		got := board.Items[0]
		if got.ID != minor.ID || got.Name != bank.MaskMinor(minor.Name) || got.Name == minor.Name || got.Points != 5 || got.Rank != 1 {
			t.Fatalf("a minor on the board: %+v (name %s)", got, minor.Name)
		}
		if st, body := f.env.Browser(demo.PhoneResident).Get("/bank/rankings"); st != 200 || strings.Contains(body, minor.Name) || !strings.Contains(body, got.Name) {
			t.Errorf("rankings page shows a minor's name: %d", st)
		}
		if st, _ := f.env.API(demo.PhoneResident).JSON("GET", "/api/v1/bank/rankings?by=street", nil, nil); st != 422 {
			t.Errorf("unknown board: %d", st)
		}
	})
}

func TestAdminPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		admin := f.env.Browser(demo.PhoneVillageAdmin)
		st, body := admin.Get(fmt.Sprintf("/admin/bank/award?resident_id=%d", f.resident))
		m := keyRE.FindStringSubmatch(body)
		if st != 200 || m == nil || !strings.Contains(body, "门前三包") {
			t.Fatalf("award page: %d", st)
		}
		single := url.Values{"resident_id": {fmt.Sprint(f.resident)}, "rule_code": {"clean"}, "reason": {"打扫村道"}, "idempotency_key": {m[1]}}
		for i := 0; i < 2; i++ {
			if st, body := admin.PostForm("/admin/bank/award", single); st != http.StatusSeeOther {
				t.Fatalf("award form %d: %d %.300s", i, st, body)
			}
		}
		if n := f.count(t, "bank_transactions"); n != 1 {
			t.Fatalf("a double submit made %d awards", n)
		}
		// Bulk: typed ids, one of them of another village; each stands on its own.
		db2, err := f.env.Sys.People.VillageByName(context.Background(), f.town, "东堡村")
		if err != nil {
			t.Fatal(err)
		}
		var other people.ResidentList
		if st, body := f.env.API(demo.PhoneTownAdmin).JSON("GET", fmt.Sprintf("/api/v1/residents?village_id=%d", db2.ID), nil, &other); st != 200 || len(other.Items) == 0 {
			t.Fatalf("东堡村: %d %.200s", st, body)
		}
		dongbao := other.Items[0].ID
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range map[string]string{"resident_ids": fmt.Sprintf("%d，%d", f.resident, dongbao), "rule_code": "help", "reason": "秋收互助", "idempotency_key": "bulk-1"} {
			mw.WriteField(k, v)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", f.env.URL+"/admin/bank/award/bulk", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		st, body = admin.Do(req)
		// The outcome names people, never ids: one paid, and 东堡村's resident, whom this admin may
		// not award, refused without a name.
		if st != 200 || !strings.Contains(body, escaped(t, "已入账 1 人，共 2 人")) || !strings.Contains(body, "<td>—</td>") {
			t.Fatalf("bulk: %d %.300s", st, body)
		}
		if n := f.count(t, "bank_transactions"); n != 2 {
			t.Fatalf("bulk posted %d transactions, want 1 more", n-1)
		}
		st, body = admin.PostForm("/admin/bank/award/bulk", url.Values{"resident_ids": {"12 abc"}, "rule_code": {"help"}, "reason": {"x"}, "idempotency_key": {"bulk-2"}})
		if st != 422 || !strings.Contains(body, `class="err"`) {
			t.Errorf("bulk with a bad id: %d", st)
		}
		for _, p := range []string{"/admin/bank", "/admin/bank/rules", "/admin/bank/shop", "/admin/bank/orders", fmt.Sprintf("/admin/bank/ledger?resident_id=%d", f.resident)} {
			if st, body := admin.Get(p); st != 200 || strings.Contains(body, "error.internal") {
				t.Errorf("%s: %d", p, st)
			}
		}
		if st, _ := f.env.Browser(demo.PhoneVillageAdmin2).Get(fmt.Sprintf("/admin/bank/ledger?resident_id=%d", f.resident)); st != 404 {
			t.Errorf("another village's ledger: %d", st)
		}
		res := f.env.Browser(demo.PhoneResident)
		for _, p := range []string{"/admin/bank", "/admin/bank/award", "/admin/bank/ledger"} {
			if st, _ := res.Get(p); st != 403 {
				t.Errorf("resident GET %s: %d", p, st)
			}
		}
	})
}

// The town's shop staff change an item through its page: a bad price is refused by name and
// stores nothing, the kind cannot change, a new price is what residents pay, a service's new
// capacity moves this period's places left by the difference, and a withdrawn item is neither
// listed nor redeemable, while staff still see it. Village staff may not edit the town's items.
func TestItemsAreEditedAndWithdrawn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newBankFixture(t, d)
		ctx := context.Background()
		town := f.env.Browser(demo.PhoneTownAdmin)
		edit := fmt.Sprintf("/admin/bank/items/%d", f.item)
		st, body := town.Get(edit)
		if st != 200 || !strings.Contains(body, `value="洗衣液"`) || !strings.Contains(body, `name="price" type="number" min="1" value="3"`) {
			t.Fatalf("edit page: %d %.300s", st, body)
		}
		form := url.Values{"kind": {"goods"}, "name": {"洗衣液 2kg"}, "price": {"0"}, "low_stock": {"2"}, "active": {"1"}}
		if st, body := town.PostForm(edit, form); st != 422 || !strings.Contains(body, `class="err"`) || !strings.Contains(body, `value="洗衣液 2kg"`) {
			t.Fatalf("price 0: %d %.300s", st, body)
		}
		form.Set("price", "4")
		form.Set("kind", "service")
		if st, body := town.PostForm(edit, form); st != 422 || !strings.Contains(body, "物品类型不能修改") {
			t.Fatalf("kind changed: %d %.300s", st, body)
		}
		var price int64
		d.Read().QueryRow(`SELECT price FROM bank_items WHERE id = $1`, f.item).Scan(&price)
		if price != 3 {
			t.Fatalf("a refused edit stored price %d", price)
		}
		if st, _ := f.env.Browser(demo.PhoneVillageAdmin).PostForm(edit, url.Values{"kind": {"goods"}, "name": {"洗衣液"}, "price": {"1"}, "active": {"1"}}); st != 403 {
			t.Fatalf("village staff edit the town's item: %d", st)
		}
		form.Set("kind", "goods")
		if st, body := town.PostForm(edit, form); st != http.StatusSeeOther {
			t.Fatalf("edit: %d %.300s", st, body)
		}
		f.award(t, f.resident, "clean", "打扫村道", "http:items:award") // 5 points
		res := f.env.API(demo.PhoneResident)
		var red bank.Redemption
		if st, raw := res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 1, "idempotency_key": "http:items:1"}, &red); st != 201 || red.Points != 4 || red.ItemName != "洗衣液 2kg" {
			t.Fatalf("redeem at the new price: %d %s", st, raw)
		}

		// A service with 3 places a month: one taken, then 5 places a month leaves 4.
		admin := login(t, f.env, demo.PhoneTownAdmin)
		svc, err := f.env.Sys.Bank.CreateItem(ctx, admin, f.town, bank.ItemInput{Kind: "service", Name: "上门理发", Price: 1, Capacity: 3, CapacityPeriod: "month"})
		if err != nil {
			t.Fatal(err)
		}
		if st, raw := res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": svc.ID, "quantity": 1, "idempotency_key": "http:items:2"}, nil); st != 201 {
			t.Fatalf("book the service: %d %s", st, raw)
		}
		svcForm := url.Values{"kind": {"service"}, "name": {"上门理发"}, "price": {"1"}, "capacity": {"5"}, "capacity_period": {"month"}, "active": {"1"}}
		if st, body := town.PostForm(fmt.Sprintf("/admin/bank/items/%d", svc.ID), svcForm); st != http.StatusSeeOther {
			t.Fatalf("service edit: %d %.300s", st, body)
		}
		places := func() map[int64]int {
			var items []bank.Item
			if st, raw := res.JSON("GET", "/api/v1/bank/items", nil, &items); st != 200 {
				t.Fatalf("items: %d %s", st, raw)
			}
			out := map[int64]int{}
			for _, it := range items {
				out[it.ID] = it.Stock
			}
			return out
		}
		if got := places()[svc.ID]; got != 4 {
			t.Fatalf("places left after 3 → 5 with one taken: %d, want 4", got)
		}

		// For 东堡村 only: 前疃村's resident is not offered it, and may not order it.
		dongbao, err := f.env.Sys.People.VillageByName(ctx, f.town, "东堡村")
		if err != nil {
			t.Fatal(err)
		}
		form.Set("villages", fmt.Sprint(dongbao.ID))
		if st, body := town.PostForm(edit, form); st != http.StatusSeeOther {
			t.Fatalf("limit to 东堡村: %d %.300s", st, body)
		}
		if st, body := f.env.Browser(demo.PhoneResident).Get("/bank/shop"); st != 200 || strings.Contains(body, "洗衣液 2kg") || !strings.Contains(body, "上门理发") {
			t.Fatalf("前疃村's shop page offers 东堡村's item: %d", st)
		}
		if st, raw := res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 1, "idempotency_key": "http:items:v"}, nil); st != 403 || !strings.Contains(raw, "item_id") {
			t.Fatalf("order 东堡村's item from 前疃村: %d %s", st, raw)
		}
		form.Set("villages", "东堡村") // not an id
		if st, _ := town.PostForm(edit, form); st != 422 {
			t.Fatalf("a village that is not an id: %d", st)
		}
		form.Del("villages")

		// Withdrawn: gone from the shop, refused by name, still on the staff page.
		form.Del("active")
		if st, body := town.PostForm(edit, form); st != http.StatusSeeOther {
			t.Fatalf("withdraw: %d %.300s", st, body)
		}
		if _, listed := places()[f.item]; listed {
			t.Fatal("a withdrawn item is still listed to residents")
		}
		st, raw := res.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": f.item, "quantity": 1, "idempotency_key": "http:items:3"}, nil)
		if st != 422 || !strings.Contains(raw, "item_id") {
			t.Fatalf("redeem a withdrawn item: %d %s", st, raw)
		}
		if st, body := town.Get("/admin/bank/shop"); st != 200 || !strings.Contains(body, "洗衣液 2kg") || !strings.Contains(body, "已下架") {
			t.Fatalf("staff shop page: %d", st)
		}
		if n := f.count(t, "bank_redemptions"); n != 2 {
			t.Fatalf("%d orders, want 2", n)
		}
	})
}
