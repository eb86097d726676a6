package bank

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves the bank's pages and API; both call the same service methods.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the bank's resident pages, its admin console pages and its API to the app.
func (h *Handlers) Register() {
	a := h.App
	a.Templates(templates, "templates/*.html")
	a.Handle(web.Route{Method: "GET", Path: "/bank", Access: web.LoggedIn, Summary: "my card and balance"}, h.hub)
	a.Handle(web.Route{Method: "GET", Path: "/bank/statement", Access: web.LoggedIn, Summary: "my statement (善行簿), by month"}, h.statement)
	a.Handle(web.Route{Method: "GET", Path: "/bank/statement.xlsx", Access: web.LoggedIn, Summary: "my statement as .xlsx"}, h.statementXLSX)
	a.Handle(web.Route{Method: "GET", Path: "/bank/rules", Access: web.LoggedIn, Summary: "the rules of my class"}, h.rules)
	a.Handle(web.Route{Method: "GET", Path: "/bank/shop", Access: web.LoggedIn, Summary: "the shop of my village"}, h.shop)
	a.Handle(web.Route{Method: "POST", Path: "/bank/shop", Access: web.LoggedIn, Summary: "redeem points for an item"}, h.redeem)
	a.Handle(web.Route{Method: "GET", Path: "/bank/orders", Access: web.LoggedIn, Summary: "my orders"}, h.orders)
	a.Handle(web.Route{Method: "POST", Path: "/bank/orders/{id}/cancel", Access: web.LoggedIn, Summary: "cancel my order"}, h.cancelOrder)
	a.Handle(web.Route{Method: "GET", Path: "/bank/rankings", Access: web.LoggedIn, Summary: "rankings of my town"}, h.rankings)
	h.registerAdmin()
	h.registerAPI()
	h.registerClaims()
	h.registerCards()
}

// newKey is a fresh idempotency key for a form: rendered once into a hidden field, so that a
// double submit of the same form is one order or one award.
func newKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "web-" + hex.EncodeToString(b)
}

// me is the caller's own resident record and town for the resident pages. Staff without a record
// are sent to the console; anyone else is told their account has no record.
func (h *Handlers) me(w http.ResponseWriter, r *http.Request) (people.Resident, people.Town, bool) {
	a := auth.From(r.Context())
	if a.Self() == 0 {
		if a.IsStaff() {
			http.Redirect(w, r, "/admin/bank", http.StatusSeeOther)
		} else {
			h.App.Error(w, r, errs.New(errs.NotFound, "people.no_resident_record"))
		}
		return people.Resident{}, people.Town{}, false
	}
	res, err := h.S.People.Resident(r.Context(), a, a.Self())
	if err != nil {
		h.App.Error(w, r, err)
		return res, people.Town{}, false
	}
	return res, h.town(r.Context(), res.TownID), true
}

// hubLink is an entry of the bank's hub.
type hubLink struct{ Path, Key string }

// hubLater are hub entries for pages built elsewhere in the bank; each shows once its route exists.
var hubLater = []hubLink{{"/bank/card", "bank.nav.card"}, {"/bank/claims", "bank.nav.claims"}, {"/bank/notices", "bank.nav.notices"}}

// hubView is the bank's resident home: the card and balance, and where to go from there.
type hubView struct {
	R       people.Resident
	Class   people.MemberClass
	Balance Balance
	More    []hubLink
}

func (h *Handlers) hub(w http.ResponseWriter, r *http.Request) {
	res, town, ok := h.me(w, r)
	if !ok {
		return
	}
	b, err := h.S.Account(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := hubView{R: res, Class: res.Class(town.Today(h.S.Now())), Balance: b}
	for _, l := range hubLater {
		if slices.ContainsFunc(h.App.Routes(), func(rt web.Route) bool { return rt.Method == "GET" && rt.Path == l.Path }) {
			v.More = append(v.More, l)
		}
	}
	h.App.RenderForm(w, r, "bank.html", "bank.title", v, nil, nil)
}

// statementView is a page of the 善行簿, oldest line first, like a passbook.
type statementView struct {
	R       people.Resident
	Town    people.Town
	Balance Balance
	Lines   []Line
	Period  string
	Months  []string
	Older   int64 // the entry number to ask for older lines with, 0 when there are none
	Printed time.Time
}

// lines reads the statement lines a request asks for, newest first: a month (?period=2026-11) or
// everything, a page of limit lines before the entry number before (0: the newest).
func (h *Handlers) lines(r *http.Request, residentID int64, loc *time.Location, before int64, limit int) ([]Line, error) {
	f := StatementFilter{Before: before, Limit: limit}
	if p := r.URL.Query().Get("period"); p != "" {
		var err error
		if f.From, f.To, err = monthBounds(p, loc); err != nil {
			return nil, err
		}
	}
	return h.S.Statement(r.Context(), auth.From(r.Context()), residentID, f)
}

// months lists the twelve months up to today's, newest first.
func lastMonths(today time.Time) []string {
	out := make([]string, 12)
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = first.AddDate(0, -i, 0).Format("2006-01")
	}
	return out
}

func (h *Handlers) statement(w http.ResponseWriter, r *http.Request) {
	res, town, ok := h.me(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	const page = 100
	lines, err := h.lines(r, res.ID, town.Location(), web.QueryInt(r, "before"), page)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	b, err := h.S.Account(r.Context(), a, res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := statementView{R: res, Town: town, Balance: b, Period: r.URL.Query().Get("period"), Months: lastMonths(town.Today(h.S.Now())), Printed: h.S.Now()}
	if len(lines) == page {
		v.Older = lines[len(lines)-1].Seq
	}
	slices.Reverse(lines)
	v.Lines = lines
	h.App.RenderForm(w, r, "bank_statement.html", "bank.statement.title", v, nil, nil)
}

// maxExportLines bounds one statement download.
const maxExportLines = 100_000

func (h *Handlers) statementXLSX(w http.ResponseWriter, r *http.Request) {
	res, town, ok := h.me(w, r)
	if !ok {
		return
	}
	var all []Line
	for before := int64(0); ; {
		lines, err := h.lines(r, res.ID, town.Location(), before, 500)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		all = append(all, lines...)
		if len(lines) < 500 || len(all) >= maxExportLines {
			break
		}
		before = lines[len(lines)-1].Seq
	}
	slices.Reverse(all)
	p := h.App.NewPage(r, "bank.statement.title", nil)
	var buf bytes.Buffer
	if err := writeStatement(&buf, p, res, town.Location(), all); err != nil {
		h.App.Error(w, r, err)
		return
	}
	name := p.Title + "-" + res.Name
	if period := r.URL.Query().Get("period"); period != "" {
		name += "-" + period
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="statement.xlsx"; filename*=UTF-8''`+strings.ReplaceAll(url.PathEscape(name+".xlsx"), "'", "%27"))
	buf.WriteTo(w)
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// writeStatement writes a statement as a one-sheet workbook: who it is for, then a header row and
// one row per line, oldest first, amounts as numbers so that they can be summed.
func writeStatement(w io.Writer, p *web.Page, res people.Resident, loc *time.Location, lines []Line) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	widths := []float64{18, 10, 20, 30, 12, 8, 8, 10, 18}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	rows := [][]any{
		{p.Title, res.Name, res.VillageName, res.HouseholdNumber},
		{p.T("bank.col.date"), p.T("bank.col.kind"), p.T("bank.col.rule"), p.T("bank.col.reason"), p.T("bank.col.approved_by"),
			p.T("bank.col.in"), p.T("bank.col.out"), p.T("bank.col.balance"), p.T("bank.col.hash")},
	}
	for _, l := range lines {
		var in, out any
		if l.Amount > 0 {
			in = l.Amount
		} else {
			out = -l.Amount
		}
		rule := l.RuleName
		if rule == "" {
			rule = l.RuleCode
		}
		rows = append(rows, []any{l.At.In(loc).Format("2006-01-02 15:04"), p.T("bank.kind." + l.Kind), rule, l.Reason, l.ApprovedBy, in, out, l.Balance, l.Hash[:min(12, len(l.Hash))]})
	}
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		for j, v := range row {
			if s, ok := v.(string); ok {
				row[j] = people.SafeCell(s) // a reason or a name may be typed as a formula
			}
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := f.SetSheetName(sheet, sheetName(p.Title)); err != nil {
		return err
	}
	return f.Write(w)
}

// sheetName makes a title usable as a sheet name: at most 31 characters, none of : \ / ? * [ ].
func sheetName(s string) string {
	r := []rune(s)
	out := r[:0]
	for _, c := range r {
		if !slices.Contains([]rune(`:\/?*[]`), c) {
			out = append(out, c)
		}
	}
	if len(out) > 31 {
		out = out[:31]
	}
	if len(out) == 0 {
		return "Sheet1"
	}
	return string(out)
}

// rulesView is a class's rules.
type rulesView struct {
	R     people.Resident
	Class people.MemberClass
	Rules []Rule
}

func (h *Handlers) rules(w http.ResponseWriter, r *http.Request) {
	res, _, ok := h.me(w, r)
	if !ok {
		return
	}
	_, class, rules, err := h.rulesFor(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "bank_rules.html", "bank.rules.title", rulesView{R: res, Class: class, Rules: rules}, nil, nil)
}

// shopItem is an item with its own order form's idempotency key.
type shopItem struct {
	Item
	Key string
}

// shopView is the village store as a resident sees it.
type shopView struct {
	R       people.Resident
	Balance Balance
	Items   []shopItem
}

func (h *Handlers) shop(w http.ResponseWriter, r *http.Request) {
	h.renderShop(w, r, nil, nil)
}

func (h *Handlers) renderShop(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	res, town, ok := h.me(w, r)
	if !ok {
		return
	}
	b, err := h.S.Account(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	items, err := h.S.Items(r.Context(), res.TownID, res.VillageID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := shopView{R: res, Balance: b}
	class := string(res.Class(town.Today(h.S.Now())))
	for _, it := range items {
		if len(it.Classes) > 0 && !slices.Contains(it.Classes, class) || !it.ForVillage(res.VillageID) {
			continue // another class's or village's item: Redeem would refuse it, so it is not offered
		}
		v.Items = append(v.Items, shopItem{Item: it, Key: newKey()})
	}
	h.App.RenderForm(w, r, "bank_shop.html", "bank.shop.title", v, form, ferr)
}

func (h *Handlers) redeem(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	qty, _ := strconv.Atoi(r.PostForm.Get("quantity"))
	in := RedeemInput{ItemID: parseID(r.PostForm.Get("item_id")), Quantity: qty, IdempotencyKey: r.PostForm.Get("idempotency_key")}
	if _, err := h.S.Redeem(r.Context(), auth.From(r.Context()), in); err != nil {
		h.renderShop(w, r, r.PostForm, err)
		return
	}
	web.Redirect(w, r, "/bank/orders?flash=flash.redeemed")
}

func (h *Handlers) orders(w http.ResponseWriter, r *http.Request) {
	h.renderOrders(w, r, nil)
}

func (h *Handlers) renderOrders(w http.ResponseWriter, r *http.Request, ferr error) {
	res, _, ok := h.me(w, r)
	if !ok {
		return
	}
	list, err := h.S.Orders(r.Context(), auth.From(r.Context()), res.ID, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "bank_orders.html", "bank.orders.title", map[string]any{"R": res, "Orders": list}, nil, ferr)
}

func (h *Handlers) cancelOrder(w http.ResponseWriter, r *http.Request) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if _, err := h.S.CancelRedemption(r.Context(), auth.From(r.Context()), id); err != nil {
		h.renderOrders(w, r, err)
		return
	}
	web.Redirect(w, r, "/bank/orders?flash=flash.order_cancelled")
}

// rankingsView is a ranking board with its tabs and period choices.
type rankingsView struct {
	By, Range, Period string
	Items             []Ranked
	AsOf              time.Time // when the board's sums were read
}

// rangePeriod is the period of the town's today that a range names: this month, quarter or year.
func rangePeriod(rng string, today time.Time) string {
	switch rng {
	case "quarter":
		return today.Format("2006") + "-Q" + strconv.Itoa((int(today.Month())-1)/3+1)
	case "year":
		return today.Format("2006")
	}
	return today.Format("2006-01")
}

func (h *Handlers) rankings(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	q := r.URL.Query()
	v := rankingsView{By: q.Get("by"), Range: q.Get("range"), Period: q.Get("period")}
	if v.By == "" {
		v.By = "resident"
	}
	if v.Range != "quarter" && v.Range != "year" {
		v.Range = "month"
	}
	if v.Period == "" {
		v.Period = rangePeriod(v.Range, h.town(r.Context(), a.TownID).Today(h.S.Now()))
	}
	var err error
	if v.Items, v.AsOf, err = h.S.Board(r.Context(), a.TownID, v.By, v.Period, 50); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "bank_rankings.html", "bank.rankings.title", v, nil, nil)
}

// The admin console's bank pages: figures, rules, awards, the shop, the counter and the ledger.
func (h *Handlers) registerAdmin() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank", Access: web.Staff, Summary: "bank figures by village and this month's rankings"}, h.adminHome)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/rules", Access: web.Staff, Summary: "rule sets and their versions"}, h.adminRules)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/rules", Access: web.Staff, Summary: "adopt a new version of a rule set"}, h.adoptVersion)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/award", Access: web.Staff, Summary: "award points form"}, h.awardPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/award", Access: web.Staff, Summary: "award points to a resident"}, h.award)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/award/bulk", Access: web.Staff, Summary: "award points to many residents"}, h.bulkAward)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/shop", Access: web.Staff, Summary: "shop items and a village's stock"}, h.adminShop)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/items", Access: web.Staff, Summary: "add a shop item"}, h.createItem)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/items/{id}", Access: web.Staff, Summary: "a shop item's edit form"}, h.itemPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/items/{id}", Access: web.Staff, Summary: "change a shop item, or withdraw it"}, h.updateItem)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/stock", Access: web.Staff, Summary: "stock in (purchase or donation)"}, h.stockIn)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/orders", Access: web.Staff, Summary: "a village's open orders"}, h.adminOrders)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/orders/{id}/fulfil", Access: web.Staff, Summary: "hand over an order"}, h.fulfilOrder)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/orders/{id}/cancel", Access: web.Staff, Summary: "cancel an order at the counter"}, h.adminCancelOrder)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/ledger", Access: web.Staff, Summary: "a resident's ledger"}, h.ledger)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/ledger/reverse", Access: web.Staff, Summary: "reverse a transaction"}, h.reverse)
}

// figuresView is the bank's admin landing page.
type figuresView struct {
	Town      people.Town
	Figures   []Figures
	Total     Figures
	Period    string
	Residents []Ranked
	Villages  []Ranked
}

func (h *Handlers) adminHome(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := figuresView{Town: h.town(ctx, townOf(r))}
	var err error
	if v.Figures, err = h.S.TownFigures(ctx, a, townOf(r)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, f := range v.Figures {
		v.Total.Issued += f.Issued
		v.Total.Redeemed += f.Redeemed
		v.Total.Refunded += f.Refunded
		v.Total.Outstanding += f.Outstanding
		v.Total.Accounts += f.Accounts
	}
	v.Period = Period(h.S.Now(), v.Town.Location())
	if v.Residents, _, err = h.S.Board(ctx, townOf(r), "resident", v.Period, 10); err == nil {
		v.Villages, _, err = h.S.Board(ctx, townOf(r), "village", v.Period, 100)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_bank.html", "bank.admin.title", v, nil, nil)
}

// rulesAdminView is the rule sets page with the adopt form.
type rulesAdminView struct {
	Versions []RuleVersion
	Villages []people.Village
	Classes  []people.MemberClass
}

func (h *Handlers) adminRules(w http.ResponseWriter, r *http.Request) {
	today := h.town(r.Context(), townOf(r)).Today(h.S.Now()).Format("2006-01-02")
	form := url.Values{"adopted_on": {today}, "effective_from": {today}}
	h.renderRules(w, r, form, nil, nil)
}

// renderRules shows the rule sets; ?from=<version id> fills the form with that version, to amend
// and adopt as the next. lines maps a refused form's rules to the lines of its box.
func (h *Handlers) renderRules(w http.ResponseWriter, r *http.Request, form url.Values, lines []int, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	vers, err := h.S.RuleVersions(ctx, a, townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, _ := h.S.People.Villages(ctx, a, townOf(r))
	if from := web.QueryInt(r, "from"); from != 0 && ferr == nil {
		for _, v := range vers {
			if v.ID == from {
				form.Set("class", string(v.Class))
				form.Set("village_id", strconv.FormatInt(v.VillageID, 10))
				form.Set("rules", rulesText(v.Rules))
			}
		}
	}
	p := h.App.NewPage(r, "bank.admin_rules.title", rulesAdminView{Versions: vers, Villages: vs, Classes: classOrder})
	p.Form = form
	status := http.StatusOK
	if ferr != nil {
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
		lineErrors(p, lines)
	}
	h.App.Render(w, r, status, "admin_rules.html", p)
}

func (h *Handlers) adoptVersion(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	rules, lines, err := parseRules(f.Get("rules"))
	if err == nil {
		_, err = h.S.AdoptVersion(r.Context(), auth.From(r.Context()), VersionInput{TownID: townOf(r), VillageID: parseID(f.Get("village_id")),
			Class: people.MemberClass(f.Get("class")), AdoptedBy: f.Get("adopted_by"), AdoptedOn: f.Get("adopted_on"), Resolution: f.Get("resolution"),
			EffectiveFrom: f.Get("effective_from"), Rules: rules})
	}
	if err != nil {
		h.renderRules(w, r, f, lines, err)
		return
	}
	web.Redirect(w, r, "/admin/bank/rules?flash=flash.rules_adopted")
}

// rulesText writes rules as the lines of the adopt form's box.
func rulesText(rules []Rule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "%s,%s,%s,%d,%s,%d,%d,%d\n", r.Code, r.Name, r.Category, r.Points, r.CapPeriod, r.CapCount, ruleBit(r.EvidenceRequired), ruleBit(r.NoticeRequired))
	}
	return b.String()
}

func ruleBit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseRules reads the adopt form's box: a rule a line, written
// code,name,category,points,cap_period,cap_count,evidence(0/1),notice(0/1), of which the last four
// may be left off; blank lines and lines starting with # are skipped, and a Chinese comma counts
// as a comma. It returns the rules and the line each came from; lines that do not read are one
// field error naming them.
func parseRules(text string) ([]RuleInput, []int, error) {
	var out []RuleInput
	var from []int
	var bad []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.ReplaceAll(line, "，", ","))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, ok := parseRule(line)
		if !ok {
			bad = append(bad, strconv.Itoa(i+1))
			continue
		}
		out = append(out, r)
		from = append(from, i+1)
	}
	if len(bad) > 0 {
		return nil, nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid",
			Fields: []errs.FieldError{{Field: "rules", Key: "bank.rule_line_invalid", Args: []any{strings.Join(bad, "、")}}}}
	}
	return out, from, nil
}

func parseRule(line string) (RuleInput, bool) {
	p := strings.Split(line, ",")
	if len(p) < 4 || len(p) > 8 {
		return RuleInput{}, false
	}
	for len(p) < 8 {
		p = append(p, "")
	}
	for i := range p {
		p[i] = strings.TrimSpace(p[i])
	}
	pts, err := strconv.ParseInt(p[3], 10, 64)
	if err != nil {
		return RuleInput{}, false
	}
	r := RuleInput{Code: p[0], Name: p[1], Category: p[2], Points: pts, CapPeriod: p[4]}
	if p[5] != "" {
		if r.CapCount, err = strconv.Atoi(p[5]); err != nil {
			return RuleInput{}, false
		}
	}
	var ok1, ok2 bool
	r.EvidenceRequired, ok1 = ruleFlag(p[6])
	r.NoticeRequired, ok2 = ruleFlag(p[7])
	return r, ok1 && ok2
}

func ruleFlag(s string) (bool, bool) {
	switch s {
	case "", "0":
		return false, true
	case "1":
		return true, true
	}
	return false, false
}

var ruleField = regexp.MustCompile(`^rules\[(\d+)\]\.`)

// lineErrors gathers the service's errors on rules[i].field under the rules box, each naming the
// line of the box the rule came from.
func lineErrors(p *web.Page, lines []int) {
	type lineErr struct {
		line int
		msg  string
	}
	var found []lineErr
	for k, msg := range p.Errors {
		m := ruleField.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		line := i + 1
		if i < len(lines) {
			line = lines[i]
		}
		found = append(found, lineErr{line, msg})
	}
	slices.SortFunc(found, func(a, b lineErr) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.msg, b.msg)) })
	var msgs []string
	if m := p.Errors["rules"]; m != "" {
		msgs = append(msgs, m)
	}
	for _, e := range found {
		msgs = append(msgs, p.T("bank.rule_line_error", e.line, e.msg))
	}
	if len(msgs) > 0 {
		p.Errors["rules"] = strings.Join(msgs, "；")
	}
}

// awardView is the award page: a search for the resident, the single award form with the rules
// of the chosen resident's class, and the bulk form with its outcome per resident.
type awardView struct {
	Q         string
	Found     []people.Resident
	R         *people.Resident
	Class     people.MemberClass
	Balance   Balance
	Rules     []Rule
	TownRules []Rule
	Key       string
	BulkKey   string
	Bulk      []BulkResult
	Posted    int
}

func (h *Handlers) awardPage(w http.ResponseWriter, r *http.Request) {
	h.renderAward(w, r, nil, nil, nil)
}

func (h *Handlers) renderAward(w http.ResponseWriter, r *http.Request, form url.Values, ferr error, bulk []BulkResult) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := awardView{Q: r.URL.Query().Get("q"), Key: newKey(), BulkKey: newKey(), Bulk: bulk}
	for _, b := range bulk {
		if b.Error == "" {
			v.Posted++
		}
	}
	if v.Q != "" {
		page, err := h.S.People.Search(ctx, a, people.Filter{TownID: townOf(r), Q: v.Q, Page: 1})
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Found = page.Items
	}
	rid := web.QueryInt(r, "resident_id")
	if form == nil {
		form = url.Values{}
		if rid != 0 {
			form.Set("resident_id", strconv.FormatInt(rid, 10))
		}
	} else if rid == 0 {
		rid = parseID(form.Get("resident_id"))
	}
	if rid != 0 {
		res, class, rules, err := h.rulesFor(ctx, a, rid)
		switch {
		case err == nil:
			v.R, v.Class, v.Rules = &res, class, rules
			if v.Balance, err = h.S.Account(ctx, a, rid); err != nil {
				h.App.Error(w, r, err)
				return
			}
		case ferr == nil:
			h.App.Error(w, r, err)
			return
		}
	}
	town := h.town(ctx, townOf(r))
	v.TownRules, _ = h.S.RulesInForce(ctx, town.ID, 0, people.Villager, town.Today(h.S.Now()).Format("2006-01-02"))
	h.App.RenderForm(w, r, "admin_award.html", "bank.award.title", v, form, ferr)
}

func (h *Handlers) award(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	in := AwardInput{ResidentID: parseID(f.Get("resident_id")), RuleCode: f.Get("rule_code"), Reason: f.Get("reason"), IdempotencyKey: f.Get("idempotency_key")}
	res, err := h.S.Award(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderAward(w, r, f, err, nil)
		return
	}
	flash := "flash.awarded"
	if res.Pending != nil {
		flash = "flash.award_pending"
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/bank/award?resident_id=%d&flash=%s", in.ResidentID, flash))
}

// maxBulkUpload bounds a bulk award's workbook.
const maxBulkUpload = 10 << 20

// bulkColumn is the heading of the column of resident ids in a bulk award workbook.
const bulkColumn = "居民编号"

func (h *Handlers) bulkAward(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBulkUpload+1<<20)
	ids, err := bulkIDs(r)
	var results []BulkResult
	if err == nil {
		results, err = h.S.BulkAward(r.Context(), auth.From(r.Context()), ids, r.PostForm.Get("rule_code"), r.PostForm.Get("reason"), r.PostForm.Get("idempotency_key"))
	}
	h.renderAward(w, r, r.PostForm, err, results)
}

// fileError is a refusal of an uploaded file.
func fileError(code errs.Code, key string, args ...any) error {
	return &errs.Error{Code: code, Key: key, Args: args, Fields: []errs.FieldError{{Field: "file", Key: key, Args: args}}}
}

// bulkIDs reads the residents of a bulk award, once each: the ids typed into the box, and the
// 居民编号 column of an uploaded workbook.
func bulkIDs(r *http.Request) (ids []int64, err error) {
	// excelize panics on some malformed workbooks; an upload is refused, never a 500.
	defer func() {
		if p := recover(); p != nil {
			ids, err = nil, fileError(errs.Invalid, "import.not_xlsx")
		}
	}()
	var mbe *http.MaxBytesError
	if err := r.ParseMultipartForm(8 << 20); errors.As(err, &mbe) {
		return nil, fileError(errs.TooLarge, "import.too_large")
	} else if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, fileError(errs.Invalid, "import.no_file")
	}
	seen := map[int64]bool{}
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sep := func(c rune) bool { return unicode.IsSpace(c) || strings.ContainsRune(",，、;；", c) }
	for _, tok := range strings.FieldsFunc(r.PostForm.Get("resident_ids"), sep) {
		id, err := strconv.ParseInt(tok, 10, 64)
		if err != nil || id <= 0 {
			return nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "resident_ids", Key: "bank.bulk_bad_id", Args: []any{tok}}}}
		}
		add(id)
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return ids, nil
	}
	defer file.Close()
	if hdr.Size > maxBulkUpload {
		return nil, fileError(errs.TooLarge, "import.too_large")
	}
	b, err := io.ReadAll(file)
	if err != nil {
		return nil, fileError(errs.Invalid, "import.no_file")
	}
	// Within the import's unzip limits, and row by row: a small bomb is refused unread.
	x, err := people.OpenWorkbook(b)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	it, err := x.Rows(x.GetSheetList()[0])
	if err != nil {
		return nil, fileError(errs.Invalid, "import.not_xlsx")
	}
	defer it.Close()
	col, n := -1, 0
	for it.Next() {
		n++
		row, err := it.Columns()
		if err != nil {
			return nil, fileError(errs.Invalid, "import.not_xlsx")
		}
		if n == 1 {
			if col = slices.IndexFunc(row, func(c string) bool { return strings.TrimSpace(c) == bulkColumn }); col < 0 {
				return nil, fileError(errs.Invalid, "bank.bulk_no_column", bulkColumn)
			}
			continue
		}
		if col >= len(row) || strings.TrimSpace(row[col]) == "" {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(row[col]), 10, 64)
		if err != nil || id <= 0 {
			return nil, fileError(errs.Invalid, "bank.bulk_bad_row", n)
		}
		add(id)
	}
	if it.Error() != nil {
		return nil, fileError(errs.Invalid, "import.not_xlsx")
	}
	if col < 0 {
		return nil, fileError(errs.Invalid, "bank.bulk_no_column", bulkColumn)
	}
	return ids, nil
}

// shopAdminView is the shop page: the town's items with one village's stock, low stock flagged.
type shopAdminView struct {
	Villages  []people.Village
	VillageID int64
	Items     []Item // withdrawn ones last
	Low       int
	Classes   []people.MemberClass
	Periods   []string         // for the new-item form (bank-item-fields)
	ItemKind  string           // "": the new-item form lets staff choose the kind
	CanEdit   bool             // the town's shop staff may change items
	Names     map[int64]string // village names, for the items limited to some villages
}

// village is the village a staff page is about: ?village_id=, else the form's, else the first the
// actor may see; one they may not see is not found.
func (h *Handlers) village(r *http.Request, form url.Values) ([]people.Village, int64, error) {
	vs, err := h.S.People.Villages(r.Context(), auth.From(r.Context()), townOf(r))
	if err != nil {
		return nil, 0, err
	}
	id := web.QueryInt(r, "village_id")
	if id == 0 && form != nil {
		id = parseID(form.Get("village_id"))
	}
	if id == 0 && len(vs) > 0 {
		id = vs[0].ID
	}
	if id != 0 && !slices.ContainsFunc(vs, func(v people.Village) bool { return v.ID == id }) {
		return nil, 0, errs.New(errs.NotFound, "error.not_found")
	}
	return vs, id, nil
}

func (h *Handlers) adminShop(w http.ResponseWriter, r *http.Request) {
	h.renderAdminShop(w, r, nil, nil)
}

func (h *Handlers) renderAdminShop(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	if err := h.S.SeesTown(auth.From(r.Context()), townOf(r)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, vid, err := h.village(r, form)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	items, err := h.S.AllItems(r.Context(), townOf(r), vid)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := shopAdminView{Villages: vs, VillageID: vid, Items: items, Classes: classOrder, Periods: itemPeriods,
		CanEdit: auth.Can(auth.From(r.Context()), PermShop, auth.Scope{TownID: townOf(r)}) == nil, Names: map[int64]string{}}
	for _, x := range vs {
		v.Names[x.ID] = x.Name
	}
	for _, it := range items {
		if it.Active && it.Stock <= it.LowStock {
			v.Low++
		}
	}
	h.App.RenderForm(w, r, "admin_shop.html", "bank.admin_shop.title", v, form, ferr)
}

// itemInput reads an item's form; a number left empty or not a number reads as 0, which the
// item's checks refuse where a number is required.
func itemInput(f url.Values) ItemInput {
	num := func(k string) int { n, _ := strconv.Atoi(strings.TrimSpace(f.Get(k))); return n }
	var villages []int64
	for _, v := range f["villages"] {
		villages = append(villages, parseID(v)) // not a number: 0, which the checks refuse
	}
	return ItemInput{Kind: f.Get("kind"), Name: f.Get("name"), Description: f.Get("description"), Price: int64(num("price")),
		LimitCount: num("limit_count"), LimitPeriod: f.Get("limit_period"), Classes: f["classes"], Villages: villages, LowStock: num("low_stock"),
		Capacity: num("capacity"), CapacityPeriod: f.Get("capacity_period")}
}

func (h *Handlers) createItem(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	if _, err := h.S.CreateItem(r.Context(), auth.From(r.Context()), townOf(r), itemInput(f)); err != nil {
		h.renderAdminShop(w, r, f, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/bank/shop?village_id=%d&flash=flash.saved", parseID(f.Get("village_id"))))
}

// itemView is an item's edit page.
type itemView struct {
	Item     Item
	ItemKind string // the kind the form's fields are for (bank-item-fields)
	Classes  []people.MemberClass
	Periods  []string
	Villages []people.Village // the town's, to limit the item to some of them
}

// itemPeriods are the periods an item's limit and a service's places may count over, in the
// order the forms offer them.
var itemPeriods = []string{"day", "week", "month", "year"}

func (h *Handlers) itemPage(w http.ResponseWriter, r *http.Request) {
	h.renderItem(w, r, nil, nil)
}

// renderItem shows the item's edit form: with the item's values, or with what was sent and why
// it was refused.
func (h *Handlers) renderItem(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	it, err := h.S.Item(r.Context(), auth.From(r.Context()), townOf(r), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, err := h.S.People.Villages(r.Context(), auth.From(r.Context()), townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if form == nil {
		form = url.Values{"kind": {it.Kind}, "name": {it.Name}, "description": {it.Description}, "price": {strconv.FormatInt(it.Price, 10)},
			"limit_count": {strconv.Itoa(it.LimitCount)}, "limit_period": {it.LimitPeriod}, "classes": it.Classes,
			"low_stock": {strconv.Itoa(it.LowStock)}, "capacity": {strconv.Itoa(it.Capacity)}, "capacity_period": {it.CapacityPeriod}}
		if it.Active {
			form.Set("active", "1")
		}
		for _, v := range it.Villages {
			form.Add("villages", strconv.FormatInt(v, 10))
		}
	}
	h.App.RenderForm(w, r, "admin_item.html", "bank.item_edit.title", itemView{Item: it, ItemKind: it.Kind, Classes: classOrder, Periods: itemPeriods, Villages: vs}, form, ferr)
}

func (h *Handlers) updateItem(w http.ResponseWriter, r *http.Request) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	r.ParseForm()
	f := r.PostForm
	if _, err := h.S.UpdateItem(r.Context(), auth.From(r.Context()), townOf(r), id, itemInput(f), f.Get("active") == "1"); err != nil {
		h.renderItem(w, r, f, err)
		return
	}
	web.Redirect(w, r, "/admin/bank/shop?flash=flash.saved")
}

func (h *Handlers) stockIn(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	qty, _ := strconv.Atoi(f.Get("quantity"))
	in := StockInput{ItemID: parseID(f.Get("item_id")), VillageID: parseID(f.Get("village_id")), Quantity: qty, Source: f.Get("source"), Note: f.Get("note")}
	if err := h.S.StockIn(r.Context(), auth.From(r.Context()), in); err != nil {
		h.renderAdminShop(w, r, f, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/bank/shop?village_id=%d&flash=flash.stocked", in.VillageID))
}

func (h *Handlers) adminOrders(w http.ResponseWriter, r *http.Request) {
	h.renderAdminOrders(w, r, nil, nil)
}

func (h *Handlers) renderAdminOrders(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	vs, vid, err := h.village(r, form)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	list, err := h.S.Orders(r.Context(), auth.From(r.Context()), 0, vid)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_orders.html", "bank.admin_orders.title", map[string]any{"Villages": vs, "VillageID": vid, "Orders": list}, form, ferr)
}

func (h *Handlers) fulfilOrder(w http.ResponseWriter, r *http.Request) {
	h.counter(w, r, h.S.Fulfil, "flash.fulfilled")
}

func (h *Handlers) adminCancelOrder(w http.ResponseWriter, r *http.Request) {
	h.counter(w, r, h.S.CancelRedemption, "flash.order_cancelled")
}

// counter runs one action on an order at the counter and goes back to the village's orders.
func (h *Handlers) counter(w http.ResponseWriter, r *http.Request, act func(context.Context, *auth.Actor, int64) (Redemption, error), flash string) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	r.ParseForm()
	if _, err := act(r.Context(), auth.From(r.Context()), id); err != nil {
		h.renderAdminOrders(w, r, r.PostForm, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/bank/orders?village_id=%d&flash=%s", parseID(r.PostForm.Get("village_id")), flash))
}

// ledgerView is a resident's ledger for staff, with a reverse form on each award not yet reversed.
type ledgerView struct {
	Q          string
	Found      []people.Resident
	R          *people.Resident
	Balance    Balance
	Lines      []Line
	Reversed   map[int64]bool
	Older      int64
	CanReverse bool
}

func (h *Handlers) ledger(w http.ResponseWriter, r *http.Request) {
	h.renderLedger(w, r, web.QueryInt(r, "resident_id"), nil, nil)
}

func (h *Handlers) renderLedger(w http.ResponseWriter, r *http.Request, rid int64, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := ledgerView{Q: r.URL.Query().Get("q"), Reversed: map[int64]bool{}}
	if v.Q != "" {
		page, err := h.S.People.Search(ctx, a, people.Filter{TownID: townOf(r), Q: v.Q, Page: 1})
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Found = page.Items
	}
	if rid != 0 {
		res, err := h.S.People.Resident(ctx, a, rid)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.R = &res
		if v.Balance, err = h.S.Account(ctx, a, rid); err != nil {
			h.App.Error(w, r, err)
			return
		}
		const page = 100
		if v.Lines, err = h.S.Statement(ctx, a, rid, StatementFilter{Before: web.QueryInt(r, "before"), Limit: page}); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if len(v.Lines) == page {
			v.Older = v.Lines[page-1].Seq
		}
		for _, l := range v.Lines {
			if l.ReversesID != 0 {
				v.Reversed[l.ReversesID] = true
			}
		}
		v.CanReverse = auth.Can(a, PermReverse, auth.Scope{TownID: res.TownID}) == nil
	}
	h.App.RenderForm(w, r, "admin_ledger.html", "bank.ledger.title", v, form, ferr)
}

func (h *Handlers) reverse(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	rid := parseID(f.Get("resident_id"))
	if _, err := h.S.Reverse(r.Context(), auth.From(r.Context()), ReverseInput{TransactionID: parseID(f.Get("transaction_id")), Reason: f.Get("reason")}); err != nil {
		h.renderLedger(w, r, rid, f, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/bank/ledger?resident_id=%d&flash=flash.reversed", rid))
}
