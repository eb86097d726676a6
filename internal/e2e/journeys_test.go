package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the town's today, on machines without a zoneinfo database

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"siwei/internal/bank"
	"siwei/internal/demo"
	"siwei/internal/people"
)

// TestResidentJourney is a resident on a phone: log in, see the card and the balance, claim
// points with a photo, find the claim on the village's notice board once staff approve it, be
// refused an order beyond the balance and place one within it, and see both the claim's points
// and the order on the statement.
func TestResidentJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true, Env: []string{"SIWEI_NOTICE_PERIOD=8s", "SIWEI_SCHEDULER_EVERY=200ms"}})
	api := login(t, s, demo.PhoneResident) // the same resident through the API, to look things up
	m := whoami(t, api)
	// The demo's claims went on notice with the short period too: once the scheduler has posted
	// the resident's, the balance moves only by what this journey does.
	waitUntil(t, 20*time.Second, "the demo's claims are posted", func() bool { return !hasClaimOnNotice(t, api) })
	start := balance(t, api, m.ID)
	towel := goods(t, api, "毛巾")
	filial := rulePoints(t, api, "filial")
	staff := login(t, s, demo.PhoneVillageAdmin)
	b := newBrowser(t, s, true)

	b.login(demo.PhoneResident, demo.DemoPassword, b.T("home.hello", m.Name), m.Village)
	b.shot("resident-home")
	// 大字模式: the same home, larger, with balance, card and messages first; then back.
	b.click(`form[action="/settings/large-text"] button`)
	b.see(b.T("flash.large_text_on"), b.T("home.large_text_off"), b.T("home.my_details"))
	b.shot("resident-home-large")
	b.click(`form[action="/settings/large-text"] button`)
	b.see(b.T("flash.large_text_off"), b.T("home.large_text_on"))
	b.visit("/bank", m.Name, m.Village, b.T("bank.balance"))
	b.exactly(".balance", fmt.Sprint(start))
	b.shot("resident-bank")
	b.visit("/bank/card", b.T("card.number"), m.Name, m.Village, b.T("bank.card_status.active"), b.T("bank.card_qr_hint"))
	b.imageShown(`img[src="/bank/card.png"]`)
	b.shot("resident-card")

	// A claim with a photo.
	what := fmt.Sprintf("帮邻居王奶奶买药送到家 %d", time.Now().UnixNano()%100000)
	b.visit("/bank/claims/new", b.T("bank.claim_submit"), "孝老爱亲")
	b.set(`select[name=rule_code]`, "filial")
	b.fill(`textarea[name=description]`, what)
	b.set(`input[name=happened_on]`, today())
	b.upload(`input[name=photos]`, photoFile(t))
	b.shot("resident-claim-form")
	b.click(`form[action="/bank/claims"] button.primary`)
	b.see(b.T("flash.claimed", "孝老爱亲", filial, b.T("bank.claim_status.pending")))
	b.row(what, b.T("bank.claim_status.pending"))
	b.shot("resident-claims")

	// Staff approve it; it goes on the notice board with its photo.
	id := myClaim(t, api, what).ID
	staff.must(t, http.StatusOK, "POST", fmt.Sprintf("/api/v1/bank/claims/%d/review", id), map[string]any{"approve": true}, nil)
	b.visit("/bank/notices", b.T("bank.nav.notices"))
	b.row(what, m.Name, "孝老爱亲", b.T("bank.points", filial), b.T("bank.notice_own"))
	b.imageShown(fmt.Sprintf(`img[src="/bank/claims/%d/photos/1"]`, id))
	b.shot("resident-notices")

	// When the notice ends the scheduler posts the claim's points.
	waitUntil(t, 40*time.Second, "the claim is posted after its notice", func() bool { return myClaim(t, api, what).Status == "posted" })
	b.visit("/bank", b.T("bank.balance"))
	b.exactly(".balance", fmt.Sprint(start+filial))

	// An order in the shop; then both are on the statement.
	b.visit("/bank/shop", b.T("bank.shop.title"), towel.Name, b.T("bank.places_left.month", 15))
	b.shot("resident-shop")
	// More towels than the points pay for are refused with a message; then one.
	towelForm := fmt.Sprintf(`form[action="/bank/shop"]:has(input[name=item_id][value="%d"])`, towel.ID)
	b.set(towelForm+` input[name=quantity]`, fmt.Sprint((start+filial)/towel.Price+1))
	b.click(towelForm + ` button`)
	b.see(b.T("bank.insufficient"))
	b.path("/bank/shop")
	b.set(towelForm+` input[name=quantity]`, "1")
	b.click(towelForm + ` button`)
	// The shop asks first, naming the points and the item; the order is placed when confirmed.
	b.see(b.T("bank.confirm_redeem", towel.Price, towel.Name))
	b.path("/bank/shop")
	b.click(`form:has(input[name=confirmed]) button.primary`)
	b.see(b.T("flash.redeemed", towel.Name, 1, towel.Price))
	b.row(towel.Name+" × 1", b.T("bank.points", towel.Price))
	b.shot("resident-orders")

	b.visit("/bank/statement", b.T("bank.statement.title"), m.Name)
	b.row(b.T("bank.kind.claim"), "孝老爱亲", fmt.Sprintf("+%d", filial))
	b.row(b.T("bank.kind.redeem"), towel.Name, fmt.Sprintf("-%d", towel.Price))
	b.shot("resident-statement")
	b.visit("/bank", b.T("bank.balance"))
	b.exactly(".balance", fmt.Sprint(start+filial-towel.Price))

	// The month's board counts what was earned, with when its sums were read; the household
	// board names the resident's village.
	asOf := strings.TrimSpace(strings.Split(b.T("bank.rankings_as_of", "|"), "|")[0])
	b.visit("/bank/rankings", b.T("bank.rankings.title"), b.T("bank.by.household"), m.Name, asOf)
	b.visit("/bank/rankings?by=household&range=month", b.T("bank.rankings.title"), m.Village, asOf)
	b.shot("resident-rankings")
}

// TestStaffJourney is village staff at a desktop: log in, import residents from .xlsx, approve
// a resident's claim, hand over an order found by card number (after a mistyped one is refused);
// then the town admin reverses an award made by mistake.
func TestStaffJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	res := login(t, s, demo.PhoneResident)
	m := whoami(t, res)
	staffAPI := login(t, s, demo.PhoneVillageAdmin)
	// What waits for staff: a claim to review, an order at the counter, an award to take back.
	what := fmt.Sprintf("帮邻居修好了漏水的水管 %d", time.Now().UnixNano()%100000)
	res.must(t, http.StatusCreated, "POST", "/api/v1/bank/claims",
		map[string]any{"rule_code": "help", "description": what, "happened_on": today(), "photos": [][]byte{pngBytes(t)}}, nil)
	mistake := "误录：当天未参加志愿服务"
	staffAPI.must(t, http.StatusCreated, "POST", "/api/v1/bank/awards",
		map[string]any{"resident_id": m.ID, "rule_code": "volunteer", "reason": "村口义务扫雪", "idempotency_key": "e2e-staff-snow", "confirm_duplicate": true}, nil) // the demo's shifts may have paid this rule within a day
	var award awardReply
	staffAPI.must(t, http.StatusCreated, "POST", "/api/v1/bank/awards",
		map[string]any{"resident_id": m.ID, "rule_code": "volunteer", "reason": mistake, "idempotency_key": "e2e-staff-mistake", "confirm_duplicate": true}, &award)
	towel := goods(t, res, "毛巾")
	var order redemptionReply
	orderBody := map[string]any{"item_id": towel.ID, "quantity": 1, "idempotency_key": "e2e-staff-order"}
	res.must(t, http.StatusCreated, "POST", "/api/v1/bank/redemptions", orderBody, &order)
	card := regexp.MustCompile(`\d{6,12}-\d{6,}X?`).FindString(string(res.must(t, http.StatusOK, "GET", "/bank/card", nil, nil)))
	if card == "" {
		t.Fatal("the demo resident has no card number on /bank/card")
	}

	b := newBrowser(t, s, false)
	b.login(demo.PhoneVillageAdmin, demo.DemoPassword, b.T("dashboard.title"))
	b.shot("staff-dashboard")

	// Import two residents of a new household.
	b.visit("/admin/import", b.T("import.title"))
	b.upload(`input[name=file]`, residentsFile(t, m.Village))
	b.click(`form[action="/admin/import"] button`)
	b.see(b.T("import.done", 2))
	b.shot("staff-import")
	b.visit("/admin/residents?q=901-0001", b.T("residents.title"))
	b.row("王建国", "901-0001")
	b.row("李秀英", "901-0001")

	// Approve the claim: it goes on notice.
	b.visit("/admin/bank/claims", b.T("bank.admin_claims.title"))
	b.row(m.Name, what, b.T("bank.claim_status.pending"))
	b.shot("staff-claims")
	claim := myClaim(t, res, what)
	b.click(fmt.Sprintf(`form[action="/admin/bank/claims/%d/review"]:has(input[name=approve][value="1"]) button`, claim.ID))
	b.see(b.T("flash.claim_on_notice", m.Name, "邻里互助", rulePoints(t, res, "help"), b.T("bank.claim_status.notice")))
	if c := myClaim(t, res, what); c.Status != "notice" {
		t.Errorf("approved claim: status %q, want notice", c.Status)
	}

	// Hand over the order found by card number; a mistyped number is refused with a message.
	b.visit("/admin/bank/counter", b.T("bank.counter.title"))
	// A digit too many makes a number of the new form, whose check character catches it (the
	// digit is chosen so that it is not the check character by chance).
	typo := card + "0"
	for d := '0'; bank.CardCheckOK(typo); d++ {
		typo = card + string(d)
	}
	b.fill(`input[name=card]`, typo)
	b.click(`form[action="/admin/bank/counter"] button`)
	b.see(b.T("bank.card_number_invalid"))
	b.path("/admin/bank/counter")
	b.do("clear the card number", chromedp.Clear(chromedp.CSS(`input[name=card]`)))
	b.fill(`input[name=card]`, card)
	b.click(`form[action="/admin/bank/counter"] button`)
	// The holder is named masked (the screen faces the queue), with the balance.
	masked := bank.MaskMinor(m.Name)
	had := balance(t, res, m.ID)
	b.see(masked, card, fmt.Sprint(had))
	b.row(towel.Name, fmt.Sprint(towel.Price))
	b.shot("staff-counter")
	// 领取 goes back to the counter with the same card, naming what was handed over to whom.
	b.click(fmt.Sprintf(`form[action="/admin/bank/orders/%d/fulfil"] button`, order.ID))
	b.see(b.T("flash.fulfilled", masked, towel.Name, 1))
	b.path("/admin/bank/counter")
	if st := orderStatus(t, res, orderBody, order.ID); st != "fulfilled" {
		t.Errorf("order %d after hand-over: %q, want fulfilled", order.ID, st)
	}

	// A walk-in without a phone: the card, two towels, 兑换并领取, in one screen.
	b.visit("/admin/bank/counter?card="+url.QueryEscape(card), b.T("bank.counter.title"), masked, b.T("bank.counter.shop"))
	sale := fmt.Sprintf(`form[action="/admin/bank/counter"]:has(input[name=item_id][value="%d"])`, towel.ID)
	b.set(sale+` input[name=quantity]`, "2")
	b.click(sale + ` button`)
	b.see(b.T("flash.counter_redeemed", masked, towel.Name, 2, 2*towel.Price, had-2*towel.Price))
	b.path("/admin/bank/counter")
	b.shot("staff-counter-redeem")
	if after := balance(t, res, m.ID); after != had-2*towel.Price {
		t.Errorf("balance after 兑换并领取 of 2 towels at %d: %d, want %d", towel.Price, after, had-2*towel.Price)
	}

	// The shop: goods with their stock, a service with its places left this month.
	b.visit("/admin/bank/shop", b.T("bank.admin_shop.title"))
	b.row("上门理发", b.T("bank.places_per.month", 15))
	b.shot("staff-shop")

	// The town admin reverses the award made by mistake.
	b.click(`form[action="/logout"] button`)
	b.see(b.T("login.title"))
	b.login(demo.PhoneTownAdmin, demo.DemoPassword, b.T("dashboard.title"))
	before := balance(t, res, m.ID)
	b.visit(fmt.Sprintf("/admin/bank/ledger?resident_id=%d", m.ID), b.T("bank.ledger.title"), m.Name)
	b.row(b.T("bank.kind.award"), mistake, "+3")
	reverse := fmt.Sprintf(`form[action="/admin/bank/ledger/reverse"]:has(input[name=transaction_id][value="%d"])`, award.TransactionID)
	b.fill(reverse+` input[name=reason]`, "核实未参加，冲正")
	b.click(reverse + ` button`)
	// The ledger asks first, naming the resident, the rule and the points, with the reason typed.
	b.see(b.T("bank.confirm_reverse"), m.Name)
	b.click(`form:has(input[name=confirmed]) button.primary`)
	b.see(b.T("flash.reversed", m.Name, "志愿服务（每次）", 3, before-3))
	b.row(b.T("bank.kind.reversal"), "-3")
	b.row(mistake, b.T("bank.reversed"))
	b.shot("staff-ledger")
	if after := balance(t, res, m.ID); after != before-3 {
		t.Errorf("balance after the reversal: %d, want %d", after, before-3)
	}

	// The town admin gives the haircut service 20 places a month.
	b.visit("/admin/bank/shop", b.T("bank.admin_shop.title"))
	b.visit(b.itemHref("上门理发"), b.T("bank.item_edit.title"), "上门理发", b.T("bank.capacity_edit_hint"))
	b.do("clear the places", chromedp.Clear(chromedp.CSS(`input[name=capacity]`)))
	b.fill(`input[name=capacity]`, "20")
	b.shot("staff-item-edit")
	b.click(`form[action^="/admin/bank/items/"] button`)
	b.see(b.T("flash.item_saved", "上门理发", b.T("bank.item_on_sale")))
	b.row("上门理发", b.T("bank.places_per.month", 20))

	// Awards pick people by name, the rules are a table, the audit log reads as sentences.
	b.visit("/admin/bank/award?q="+url.QueryEscape(m.Name), b.T("bank.pick_people"), m.Name)
	b.shot("staff-award")
	b.visit("/admin/bank/rules", b.T("bank.admin_rules.title"))
	b.shot("staff-rules")
	b.visit("/admin/audit", b.T("audit.title"), "上门理发")
	b.shot("staff-audit")
}

// itemHref is the edit link of the shop item named name on the staff shop page.
func (b *browser) itemHref(name string) string {
	b.t.Helper()
	href, err := eval[string](b, fmt.Sprintf(`([...document.querySelectorAll("table a")].find(a => a.innerText.trim() === %q) || {}).getAttribute?.("href") || ""`, name))
	if err != nil || href == "" {
		b.fail("no edit link for %q (%v)", name, err)
	}
	return href
}

// path checks the address bar's path.
func (b *browser) path(want string) {
	b.t.Helper()
	if got, err := eval[string](b, `location.pathname`); err != nil || got != want {
		b.fail("the address is %q, want %q (%v)", got, want, err)
	}
}

// exactly checks that an element's text is exactly want.
func (b *browser) exactly(sel, want string) {
	b.t.Helper()
	got, err := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: "(none)"}).innerText.trim()`, sel))
	if err != nil || got != want {
		b.fail("%s shows %q, want %q (%v)", sel, got, want, err)
	}
}

// row waits for one table row or list item that shows every text.
func (b *browser) row(texts ...string) {
	b.t.Helper()
	js := fmt.Sprintf(`[...document.querySelectorAll("tr, li, section.card")].some(r => %s.every(t => r.innerText.includes(t)))`, jsStrings(texts))
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ok, err := eval[bool](b, js); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.fail("no row shows all of %q", texts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// imageShown checks that an image has loaded and has pixels.
func (b *browser) imageShown(sel string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const i = document.querySelector(%q); return !!i && i.complete && i.naturalWidth > 0 })()`, sel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ok, err := eval[bool](b, js); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.fail("image %s is not shown", sel)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsStrings(ss []string) string {
	b := []byte("[")
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%q", s)
	}
	return string(append(b, ']'))
}

// today is the demo town's date, as a date input takes it.
func today() string {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return time.Now().In(loc).Format("2006-01-02")
}

// rulePoints is the points of a rule in force for the caller.
func rulePoints(t testing.TB, c *client, code string) int64 {
	t.Helper()
	var rules []struct {
		Code   string `json:"code"`
		Points int64  `json:"points"`
	}
	c.must(t, http.StatusOK, "GET", "/api/v1/bank/rules", nil, &rules)
	for _, r := range rules {
		if r.Code == code {
			return r.Points
		}
	}
	t.Fatalf("no rule %s in %+v", code, rules)
	return 0
}

type claimInfo struct {
	ID          int64  `json:"id"`
	Description string `json:"description"`
	Status      string `json:"status"`
}

// myClaim finds the caller's claim by its description.
func myClaim(t testing.TB, c *client, description string) claimInfo {
	t.Helper()
	var cs []claimInfo
	c.must(t, http.StatusOK, "GET", "/api/v1/bank/claims", nil, &cs)
	for _, x := range cs {
		if x.Description == description {
			return x
		}
	}
	t.Fatalf("no claim %q among %+v", description, cs)
	return claimInfo{}
}

// hasClaimOnNotice says whether any of the caller's claims is on notice.
func hasClaimOnNotice(t testing.TB, c *client) bool {
	t.Helper()
	var cs []claimInfo
	c.must(t, http.StatusOK, "GET", "/api/v1/bank/claims", nil, &cs)
	for _, x := range cs {
		if x.Status == "notice" {
			return true
		}
	}
	return false
}

// orderStatus is the status of the caller's order, read back by sending the order again with its
// key: a replay answers the order as it is now and orders nothing.
func orderStatus(t testing.TB, c *client, body map[string]any, id int64) string {
	t.Helper()
	var out redemptionReply
	c.must(t, http.StatusOK, "POST", "/api/v1/bank/redemptions", body, &out)
	if out.ID != id || !out.Replayed {
		t.Fatalf("order replay: %+v, want order %d", out, id)
	}
	return out.Status
}

// pngBytes is a small photo: a red square on white.
func pngBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			c := color.RGBA{255, 255, 255, 255}
			if x > 16 && x < 48 && y > 8 && y < 40 {
				c = color.RGBA{183, 28, 28, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func photoFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(path, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// residentsFile is an .xlsx with the import template's columns: a new household of two in the
// village, with valid synthetic ID numbers.
func residentsFile(t testing.TB, village string) string {
	t.Helper()
	id := func(birth string, seq int) string {
		s := fmt.Sprintf("110112%s%03d", birth, seq)
		return s + string(people.IDCheckChar(s))
	}
	rows := []map[string]string{
		{"姓名": "王建国", "性别": "男", "身份证号": id("19750312", 17), "手机号": "13812345678", "村": village, "户号": "901-0001",
			"住址": village + "东街9号", "与户主关系": "户主", "政治面貌": "群众"},
		{"姓名": "李秀英", "性别": "女", "身份证号": id("19770805", 26), "村": village, "户号": "901-0001",
			"住址": village + "东街9号", "与户主关系": "配偶", "政治面貌": "中共党员"},
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	for c, h := range people.ImportHeaders {
		cell, _ := excelize.CoordinatesToCellName(c+1, 1)
		f.SetCellStr(sheet, cell, h)
		for r, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+2)
			f.SetCellStr(sheet, cell, row[h])
		}
	}
	path := filepath.Join(t.TempDir(), "居民.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}
