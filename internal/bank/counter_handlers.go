package bank

import (
	"net/http"
	"net/url"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// The counter (柜台) of a village shop: a card scanned or typed finds its holder, their balance and
// orders to hand over, and the items they may redeem and take at once (兑换并领取), for a walk-in
// without a phone in one screen.
func (h *Handlers) registerCounter() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/counter", Access: web.Staff,
		Summary: "find a card's holder by scan or number, with their balance, orders to hand over and the items they may redeem"}, h.counterPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/counter", Access: web.Staff,
		Summary: "redeem an item for a card's holder and hand it over at once (兑换并领取)"}, h.counterRedeem)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/cards/lookup", Access: web.Staff,
		Summary: "the active card a scanned token or typed number names (card), for the shop counter", Response: Card{}}, h.apiLookupCard)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/counter/redemptions", Statuses: []int{http.StatusCreated, http.StatusOK}, Access: web.Staff,
		Summary: "redeem an item for a card's holder and hand it over at once (兑换并领取; 201, 200 when replayed)", Request: CounterInput{}, Response: Redemption{}}, h.apiCounterRedeem)
}

// counterView is the counter's page: nil Counter until a card is found; Items are its items with
// their forms' keys and the points the holder lacks for one.
type counterView struct {
	Counter *Counter
	Items   []shopItem
}

func (h *Handlers) counterPage(w http.ResponseWriter, r *http.Request) {
	h.renderCounter(w, r, r.URL.Query().Get("card"), nil, nil)
}

// renderCounter shows the counter for a card: after 兑换并领取, 领取 or 取消兑换 with the order it
// names (the redirect's flash_id) said in the flash, the holder named as the counter shows them, or
// with a refused form's values and why.
func (h *Handlers) renderCounter(w http.ResponseWriter, r *http.Request, card string, form url.Values, ferr error) {
	card = strings.TrimSpace(card)
	if form == nil {
		form = url.Values{"card": {card}}
	}
	var v counterView
	p := h.App.NewPage(r, "bank.counter.title", &v)
	p.Form = form
	if card != "" {
		c, err := h.S.Counter(r.Context(), auth.From(r.Context()), card, p.FlashID())
		if err != nil {
			ferr = err // the card itself is refused: nothing else can be shown
		} else {
			v.Counter = &c
			for _, it := range c.Items {
				v.Items = append(v.Items, offer(it, c.Balance))
			}
			switch d := c.Done; {
			case d == nil:
			case c.Redeemed:
				p.Flashed("flash.counter_redeemed", c.Name, d.ItemName, d.Quantity, d.Points, d.Balance)
			case d.Status == "fulfilled":
				p.Flashed("flash.fulfilled", c.Name, d.ItemName, d.Quantity)
			case d.Status == "cancelled":
				p.Flashed("flash.order_cancelled_for", c.Name, d.ItemName, d.Quantity, d.Points)
			}
		}
	}
	h.App.RenderPage(w, r, "admin_counter.html", p, ferr)
}

func (h *Handlers) counterRedeem(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	in := CounterInput{Card: f.Get("card"), ItemID: web.FormID(f.Get("item_id")), Quantity: web.FormInt(f.Get("quantity")), IdempotencyKey: f.Get("idempotency_key")}
	red, err := h.S.RedeemAtCounter(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderCounter(w, r, in.Card, f, err)
		return
	}
	back := "/admin/bank/counter?" + url.Values{"card": {strings.TrimSpace(in.Card)}}.Encode()
	web.Redirect(w, r, web.FlashURL(back, "flash.counter_redeemed", red.ID))
}

func (h *Handlers) apiLookupCard(w http.ResponseWriter, r *http.Request) {
	c, err := h.S.LookupCard(r.Context(), auth.From(r.Context()), r.URL.Query().Get("card"))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, c)
}

func (h *Handlers) apiCounterRedeem(w http.ResponseWriter, r *http.Request) {
	var in CounterInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	red, err := h.S.RedeemAtCounter(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	// A replayed key answers the first record, with 200.
	web.JSON(w, web.Created(red.Replayed), red)
}
