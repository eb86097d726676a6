package bank

import (
	"fmt"
	"net/http"
	"net/url"

	"siwei/internal/auth"
	"siwei/internal/people"
	"siwei/internal/web"
)

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
	Residents []topResident
	Villages  []Ranked
}

// topResident is a place on the town's board of the admin page: its name links to the resident's
// ledger only when the viewer may open it (a village's staff see the town's top ten, and may
// open their own village's ledgers only).
type topResident struct {
	Ranked
	Ledger bool
}

func (h *Handlers) adminHome(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	var v figuresView
	var err error
	if v.Figures, err = h.S.TownFigures(ctx, a, townOf(r)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Town, err = h.town(ctx, townOf(r)); err != nil {
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
	v.Period = v.Town.Clock(h.S.Now).Month()
	var top []Ranked
	if top, _, err = h.S.Board(ctx, townOf(r), "resident", v.Period, 10); err == nil {
		v.Villages, _, err = h.S.Board(ctx, townOf(r), "village", v.Period, 100)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, x := range top {
		ledger := auth.Can(a, PermLedger, auth.Scope{TownID: v.Town.ID, VillageID: x.VillageID}) == nil
		v.Residents = append(v.Residents, topResident{Ranked: x, Ledger: ledger})
	}
	h.App.RenderForm(w, r, "admin_bank.html", "bank.admin.title", v, nil, nil)
}

// search finds the residents of the town whose name or number is ?q=, for the pages that start
// from a resident: the first page of them, none when q is empty.
func (h *Handlers) search(r *http.Request) (string, []people.Resident, error) {
	q := r.URL.Query().Get("q")
	if q == "" {
		return q, nil, nil
	}
	page, err := h.S.People.Search(r.Context(), auth.From(r.Context()), people.Filter{TownID: townOf(r), Q: q, Page: 1})
	return q, page.Items, err
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
	v := ledgerView{Reversed: map[int64]bool{}}
	var err error
	if v.Q, v.Found, err = h.search(r); err != nil {
		h.App.Error(w, r, err)
		return
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
	p := h.App.NewPage(r, "bank.ledger.title", v)
	p.Form = form
	for _, l := range v.Lines {
		if l.TransactionID == p.FlashID() && v.Reversed[l.TransactionID] {
			p.Flashed("flash.reversed", v.R.Name, l.RuleName, l.Amount, v.Balance.Balance)
		}
	}
	h.App.RenderPage(w, r, "admin_ledger.html", p, ferr)
}

func (h *Handlers) reverse(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	a, rid, tid := auth.From(r.Context()), web.FormID(f.Get("resident_id")), web.FormID(f.Get("transaction_id"))
	x, err := h.S.ToReverse(r.Context(), a, tid)
	if err != nil {
		h.renderLedger(w, r, rid, f, err)
		return
	}
	back := fmt.Sprintf("/admin/bank/ledger?resident_id=%d", rid)
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "bank.confirm_reverse", What: "bank.confirm_reverse_what", Args: []any{x.ResidentName, x.RuleName, x.Points, -x.Points}, Back: back})
	if !ok {
		return
	}
	if _, err := h.S.Reverse(r.Context(), a, ReverseInput{TransactionID: tid, Reason: reason}); err != nil {
		h.renderLedger(w, r, rid, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/bank/ledger?resident_id=%d", rid), "flash.reversed", tid))
}
