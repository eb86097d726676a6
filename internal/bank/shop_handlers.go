package bank

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// shopItem is an item with its own order form's idempotency key and what the resident lacks to
// order one.
type shopItem struct {
	Item
	Key string
	// Short is the points missing to redeem one (0: the balance pays for it).
	Short int64
}

// offer is an item as a form offers it to someone with the balance: a fresh key, and the points
// missing to redeem one.
func offer(it Item, balance int64) shopItem {
	return shopItem{Item: it, Key: newKey(), Short: max(0, it.Price-balance)}
}

// Single reports whether one is all a resident may order at a time (a haircut once a month), so
// that the form asks for no quantity.
func (it shopItem) Single() bool { return it.LimitCount == 1 }

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
	res, town, b, ok := h.myAccount(w, r)
	if !ok {
		return
	}
	items, err := h.S.Items(r.Context(), res.TownID, res.VillageID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := shopView{R: res, Balance: b}
	class := res.Class(town.Clock(h.S.Now).Today())
	for _, it := range items {
		if it.OfferedTo(class, res.VillageID) {
			v.Items = append(v.Items, offer(it, b.Balance))
		}
	}
	h.App.RenderForm(w, r, "bank_shop.html", "bank.shop.title", v, form, ferr)
}

func (h *Handlers) redeem(w http.ResponseWriter, r *http.Request) {
	res, _, b, ok := h.myAccount(w, r)
	if !ok {
		return
	}
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	in := RedeemInput{ItemID: web.FormID(f.Get("item_id")), Quantity: web.FormInt(f.Get("quantity")), IdempotencyKey: f.Get("idempotency_key")}
	// The question names the item and the points; an order Redeem would refuse on what is read
	// now (an item not offered, a quantity out of range, too few points) is refused at once
	// rather than asked about. Redeem decides again when confirmed.
	items, err := h.S.Items(r.Context(), res.TownID, res.VillageID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	i := slices.IndexFunc(items, func(it Item) bool { return it.ID == in.ItemID })
	var refusal error
	switch {
	case i < 0:
		refusal = &errs.Error{Code: errs.Invalid, Key: "bank.item_unknown", Fields: []errs.FieldError{{Field: "item_id", Key: "bank.item_unknown"}}}
	case in.Quantity <= 0 || in.Quantity > 100:
		refusal = errs.Field("quantity", "bank.quantity_invalid")
	case items[i].Price*int64(in.Quantity) > b.Balance:
		short := items[i].Price*int64(in.Quantity) - b.Balance
		refusal = &errs.Error{Code: errs.Conflict, Key: "bank.insufficient_by", Args: []any{short},
			Fields: []errs.FieldError{{Field: "quantity", Key: "bank.insufficient_by", Args: []any{short}}}}
	}
	if refusal != nil {
		h.renderShop(w, r, f, refusal)
		return
	}
	points := items[i].Price * int64(in.Quantity)
	if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "bank.confirm_redeem", TitleArgs: []any{points, items[i].Name},
		What: "bank.confirm_redeem_what", Args: []any{items[i].Name, in.Quantity, points, b.Balance - points}, Back: "/bank/shop", NoReason: true}); !ok {
		return
	}
	red, err := h.S.Redeem(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderShop(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/bank/orders", "flash.redeemed", red.ID))
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
	p := h.App.NewPage(r, "bank.orders.title", map[string]any{"R": res, "Orders": list})
	if err := h.orderDone(r, p); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderPage(w, r, "bank_orders.html", p, ferr)
}

// orderDone says on an orders page what was done to the order of the redirect's flash, as the
// order now stands: looked up for those who may see it (Service.Order), so another village's
// order is named to nobody.
func (h *Handlers) orderDone(r *http.Request, p *web.Page) error {
	if p.FlashID() == 0 {
		return nil
	}
	o, err := h.S.Order(r.Context(), auth.From(r.Context()), p.FlashID())
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
		return nil
	}
	if err != nil {
		return err
	}
	switch o.Status {
	case "reserved":
		p.Flashed("flash.redeemed", o.ItemName, o.Quantity, o.Points)
	case "fulfilled":
		p.Flashed("flash.fulfilled", o.ResidentName, o.ItemName, o.Quantity)
	case "cancelled":
		p.Flashed("flash.order_cancelled", o.ItemName, o.Quantity, o.Points)
		p.Flashed("flash.order_cancelled_for", o.ResidentName, o.ItemName, o.Quantity, o.Points)
	}
	return nil
}

func (h *Handlers) cancelOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, err := h.S.CancelRedemption(r.Context(), auth.From(r.Context()), id); err != nil {
		h.renderOrders(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/bank/orders", "flash.order_cancelled", id))
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

func (h *Handlers) adminShop(w http.ResponseWriter, r *http.Request) {
	h.renderAdminShop(w, r, nil, nil)
}

func (h *Handlers) renderAdminShop(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	if err := h.S.SeesTown(auth.From(r.Context()), townOf(r)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, vid, err := h.village(r, form, auth.VillageRead)
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
	p := h.App.NewPage(r, "bank.admin_shop.title", v)
	p.Form = form
	for _, it := range items {
		if it.ID == p.FlashID() {
			state := p.T("bank.item_on_sale")
			if !it.Active {
				state = p.T("bank.item_withdrawn")
			}
			p.Flashed("flash.item_created", it.Name, it.Price)
			p.Flashed("flash.item_saved", it.Name, state)
			p.Flashed("flash.stocked", it.Name, v.Names[vid], it.Stock)
		}
	}
	h.App.RenderPage(w, r, "admin_shop.html", p, ferr)
}

// itemInput reads an item's form; a number left empty or not a number reads as 0, which the
// item's checks refuse where a number is required.
func itemInput(f url.Values) ItemInput {
	num := func(k string) int { return web.FormInt(f.Get(k)) }
	var villages []int64
	for _, v := range f["villages"] {
		villages = append(villages, web.FormID(v)) // not a number: 0, which the checks refuse
	}
	return ItemInput{Kind: f.Get("kind"), Name: f.Get("name"), Description: f.Get("description"), Price: int64(num("price")),
		LimitCount: num("limit_count"), LimitPeriod: f.Get("limit_period"), Classes: f["classes"], Villages: villages, LowStock: num("low_stock"),
		Capacity: num("capacity"), CapacityPeriod: f.Get("capacity_period")}
}

func (h *Handlers) createItem(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	it, err := h.S.CreateItem(r.Context(), auth.From(r.Context()), townOf(r), itemInput(f))
	if err != nil {
		h.renderAdminShop(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/bank/shop?village_id=%d", web.FormID(f.Get("village_id"))), "flash.item_created", it.ID))
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
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	it, err := h.S.Item(r.Context(), auth.From(r.Context()), townOf(r), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, err := h.S.Villages(r.Context(), auth.From(r.Context()), townOf(r), auth.VillageRead, 0)
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
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	if _, err := h.S.UpdateItem(r.Context(), auth.From(r.Context()), townOf(r), id, itemInput(f), f.Get("active") == "1"); err != nil {
		h.renderItem(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/bank/shop", "flash.item_saved", id))
}

func (h *Handlers) stockIn(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	in := StockInput{ItemID: web.FormID(f.Get("item_id")), VillageID: web.FormID(f.Get("village_id")), Quantity: web.FormInt(f.Get("quantity")), Source: f.Get("source"), Note: f.Get("note")}
	if err := h.S.StockIn(r.Context(), auth.From(r.Context()), in); err != nil {
		h.renderAdminShop(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/bank/shop?village_id=%d", in.VillageID), "flash.stocked", in.ItemID))
}

func (h *Handlers) adminOrders(w http.ResponseWriter, r *http.Request) {
	h.renderAdminOrders(w, r, nil, nil)
}

func (h *Handlers) renderAdminOrders(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	vs, vid, err := h.village(r, form, auth.VillageRead)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	list, err := h.S.Orders(r.Context(), auth.From(r.Context()), 0, vid)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "bank.admin_orders.title", map[string]any{"Villages": vs, "VillageID": vid, "Orders": list})
	p.Form = form
	if err := h.orderDone(r, p); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderPage(w, r, "admin_orders.html", p, ferr)
}

func (h *Handlers) fulfilOrder(w http.ResponseWriter, r *http.Request) {
	h.counter(w, r, h.S.Fulfil, "flash.fulfilled")
}

func (h *Handlers) adminCancelOrder(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	o, err := h.S.Order(r.Context(), a, id)
	if err != nil {
		h.orderRefused(w, r, f, err)
		return
	}
	who := o.ResidentName
	if atCounter(f) != "" {
		who = MaskMinor(who) // the counter's screen faces the queue
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "bank.confirm_cancel", What: "bank.confirm_cancel_what", Args: []any{who, o.ItemName, o.Quantity, o.Points},
		Back: orderBack(f)})
	if !ok {
		return
	}
	h.counter(w, r, func(ctx context.Context, a *auth.Actor, id int64) (Redemption, error) {
		return h.S.CancelOrder(ctx, a, id, reason)
	}, "flash.order_cancelled_for")
}

// counter runs one action on an order and goes back to the page it was pressed on (orderBack),
// whose flash names the order.
func (h *Handlers) counter(w http.ResponseWriter, r *http.Request, act func(context.Context, *auth.Actor, int64) (Redemption, error), flash string) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	if _, err := act(r.Context(), auth.From(r.Context()), id); err != nil {
		h.orderRefused(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(orderBack(f), flash, id))
}

// atCounter is the card an order's form was sent with from the counter (刷卡领取), "" from the
// village's open orders.
func atCounter(f url.Values) string { return strings.TrimSpace(f.Get("card")) }

// orderBack is the page an order's 领取 or 取消兑换 was pressed on: the counter with the same card,
// or the village's open orders.
func orderBack(f url.Values) string {
	if card := atCounter(f); card != "" {
		return "/admin/bank/counter?" + url.Values{"card": {card}}.Encode()
	}
	return fmt.Sprintf("/admin/bank/orders?village_id=%d", web.FormID(f.Get("village_id")))
}

// orderRefused shows a refused 领取 or 取消兑换 on the page it was pressed on, with why.
func (h *Handlers) orderRefused(w http.ResponseWriter, r *http.Request, f url.Values, err error) {
	if card := atCounter(f); card != "" {
		h.renderCounter(w, r, card, f, err)
		return
	}
	h.renderAdminOrders(w, r, f, err)
}
