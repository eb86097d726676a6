package bank

import (
	"net/http"
	"net/url"
	"strconv"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// The card pages: a resident's own card with its QR code, the village office's card desk (开卡,
// 挂失, 补卡, print sheets, figures).
func (h *Handlers) registerCards() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/bank/card", Access: web.LoggedIn, Summary: "my card with its QR code"}, h.card)
	a.Handle(web.Route{Method: "GET", Path: "/bank/card.png", Access: web.LoggedIn, Summary: "my card's QR code as a PNG"}, h.cardPNG)
	a.Handle(web.Route{Method: "POST", Path: "/bank/card/lost", Access: web.LoggedIn, Summary: "report my card lost"}, h.reportMyCardLost)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/cards", Access: web.Staff, Summary: "a village's residents with their cards, and card figures"}, h.adminCards)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/cards", Access: web.Staff, Summary: "open a card for a resident"}, h.issueCard)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/cards/bulk", Access: web.Staff,
		Summary: "open cards for a village's residents who have none (批量开卡), after a question naming the village and how many"}, h.issueVillageCards)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/cards/{id}/lost", Access: web.Staff, Summary: "report a card lost"}, h.adminCardLost)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/cards/{id}/reissue", Access: web.Staff, Summary: "reissue a lost card"}, h.reissueCard)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/cards/print", Access: web.Staff, Summary: "a village's cards as an A4 print sheet"}, h.printCards)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/plaques/print", Access: web.Staff, Summary: "a village's household plaques (一户一码) as an A4 print sheet"}, h.printPlaques)
}

// hasKey reports whether err is a refusal with the message key.
func hasKey(err error, key string) bool {
	e, ok := errs.As(err)
	return ok && e.Key == key
}

// ---- the resident's card

// cardView is a resident's card, or nil when they have none yet.
type cardView struct {
	R    people.Resident
	Card *Card
}

func (h *Handlers) card(w http.ResponseWriter, r *http.Request) {
	h.renderCard(w, r, nil)
}

func (h *Handlers) renderCard(w http.ResponseWriter, r *http.Request, ferr error) {
	res, _, ok := h.me(w, r)
	if !ok {
		return
	}
	v := cardView{R: res}
	c, err := h.S.CardOf(r.Context(), auth.From(r.Context()), res.ID)
	switch {
	case err == nil:
		v.Card = &c
	case !hasKey(err, "bank.card_none"):
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "bank.nav.card", v)
	if v.Card != nil {
		p.Flashed("flash.card_lost", v.Card.ResidentName, v.Card.Number, p.T("bank.card_status."+v.Card.Status))
	}
	h.App.RenderPage(w, r, "card.html", p, ferr)
}

func (h *Handlers) cardPNG(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if a.Self() == 0 {
		h.App.Error(w, r, errs.New(errs.NotFound, "people.no_resident_record"))
		return
	}
	c, err := h.S.CardOf(r.Context(), a, a.Self())
	if err == nil && c.Status != CardActive {
		err = errs.New(errs.Conflict, "bank.card_lost")
	}
	var png []byte
	if err == nil {
		png, err = h.S.CardQR(c)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	// The code changes when the card is reissued: the browser keeps it but asks again each time.
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Write(png)
}

func (h *Handlers) reportMyCardLost(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	c, err := h.S.CardOf(r.Context(), a, a.Self())
	if err != nil {
		h.renderCard(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "bank.confirm_lost", What: "bank.confirm_lost_what", Args: []any{c.ResidentName, c.Number}, Back: "/bank/card"})
	if !ok {
		return
	}
	if _, err = h.S.ReportLost(r.Context(), a, c.ID, reason); err != nil {
		h.renderCard(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/bank/card", "flash.card_lost", 0))
}

// ---- the card desk

// cardsAdminView is the card desk: a village's residents with their cards and the town's card
// figures.
type cardsAdminView struct {
	Villages  []people.Village
	VillageID int64
	Q         string
	Residents people.ResidentPage
	Cards     map[int64]Card
	Figures   []CardFigure
	// Uncarded is how many of the village's residents on the register have no card, for staff who
	// may open cards there (批量开卡's button); 0 for anyone else.
	Uncarded int
	Bulk     *VillageCards // what 批量开卡 just came to
}

func (h *Handlers) adminCards(w http.ResponseWriter, r *http.Request) {
	h.renderAdminCards(w, r, nil, nil)
}

func (h *Handlers) renderAdminCards(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	h.renderDesk(w, r, form, ferr, nil)
}

// renderDesk is the card desk, with what 批量开卡 came to when bulk is not nil.
func (h *Handlers) renderDesk(w http.ResponseWriter, r *http.Request, form url.Values, ferr error, bulk *VillageCards) {
	ctx, a := r.Context(), auth.From(r.Context())
	vs, vid, err := h.village(r, form, auth.VillageRead)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := cardsAdminView{Villages: vs, VillageID: vid, Q: r.URL.Query().Get("q"), Cards: map[int64]Card{}, Bulk: bulk}
	page := int(web.QueryInt(r, "page"))
	if form != nil {
		v.Q, page = form.Get("q"), web.FormInt(form.Get("page"))
	}
	if vid != 0 {
		if v.Residents, err = h.S.People.Search(ctx, a, people.Filter{VillageID: vid, Q: v.Q, Page: page}); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Cards, err = h.S.CardsOfVillage(ctx, a, vid); err != nil {
			h.App.Error(w, r, err)
			return
		}
		// 批量开卡 is offered to those who may open cards in the village, who alone find it.
		_, un, err := h.S.Uncarded(ctx, a, vid)
		switch {
		case err == nil:
			v.Uncarded = len(un)
		case !errs.Is(err, errs.NotFound):
			h.App.Error(w, r, err)
			return
		}
	}
	// Staff who may not read the ledger still keep the desk, without the figures.
	if v.Figures, err = h.S.CardFigures(ctx, a, townOf(r)); err != nil && !errs.Is(err, errs.Forbidden) {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "bank.admin_cards.title", v)
	p.Form = form
	// The card the flash speaks of is the resident's as the desk now shows it.
	if c, ok := v.Cards[p.FlashID()]; ok {
		for _, key := range []string{"flash.card_issued", "flash.card_lost", "flash.card_reissued"} {
			p.Flashed(key, c.ResidentName, c.Number, p.T("bank.card_status."+c.Status))
		}
	}
	h.App.RenderPage(w, r, "admin_cards.html", p, ferr)
}

// backToDesk is the card desk a form came from, with the flash of what was done to a resident's
// card.
func backToDesk(f url.Values, flash string, residentID int64) string {
	return web.FlashURL(back("/admin/bank/cards", f, flash, "village_id", "q", "page"), flash, residentID)
}

func (h *Handlers) issueCard(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	c, err := h.S.IssueCard(r.Context(), auth.From(r.Context()), web.FormID(f.Get("resident_id")))
	if err != nil {
		h.renderAdminCards(w, r, f, err)
		return
	}
	web.Redirect(w, r, backToDesk(f, "flash.card_issued", c.ResidentID))
}

func (h *Handlers) adminCardLost(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	c, err := h.S.Card(r.Context(), a, id)
	if err != nil {
		h.renderAdminCards(w, r, f, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "bank.confirm_lost", What: "bank.confirm_lost_what", Args: []any{c.ResidentName, c.Number},
		Back: back("/admin/bank/cards", f, "", "village_id", "q", "page")})
	if !ok {
		return
	}
	if _, err := h.S.ReportLost(r.Context(), a, id, reason); err != nil {
		h.renderAdminCards(w, r, f, err)
		return
	}
	web.Redirect(w, r, backToDesk(f, "flash.card_lost", c.ResidentID))
}

func (h *Handlers) reissueCard(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	c, err := h.S.Reissue(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.renderAdminCards(w, r, f, err)
		return
	}
	web.Redirect(w, r, backToDesk(f, "flash.card_reissued", c.ResidentID))
}

// maxCardsForm bounds 批量开卡's form, which carries the residents its question counted.
const maxCardsForm = 32 * MaxVillageCards

// issueVillageCards is 批量开卡: the question names the village and how many of its residents on
// the register have no card, and carries them; confirmed, those are opened, and the desk says how
// many and names whoever was refused, with why.
func (h *Handlers) issueVillageCards(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCardsForm)
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	vid := web.FormID(f.Get("village_id"))
	v, un, err := h.S.Uncarded(ctx, a, vid)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f.Get("confirmed") != "1" {
		if len(un) == 0 {
			h.renderAdminCards(w, r, f, errs.New(errs.Conflict, "bank.cards_bulk_none"))
			return
		}
		// The question carries whom it counts: they are opened, nobody registered meanwhile.
		f["resident_id"] = nil
		for _, p := range un {
			f.Add("resident_id", strconv.FormatInt(p.ID, 10))
		}
	}
	n := len(f["resident_id"])
	if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "bank.confirm_cards", TitleArgs: []any{v.Name, n}, What: "bank.confirm_cards_what",
		Args: []any{v.Name, n}, Back: back("/admin/bank/cards", f, "", "village_id", "q", "page"), NoReason: true}); !ok {
		return
	}
	ids := make([]int64, n)
	for i, id := range f["resident_id"] {
		ids[i] = web.FormID(id)
	}
	f.Del("resident_id") // the desk's rows are not what the outcome is about
	out, err := h.S.IssueVillageCards(ctx, a, vid, ids)
	if err != nil {
		h.renderAdminCards(w, r, f, err)
		return
	}
	h.renderDesk(w, r, f, nil, &out)
}

// printVillage is the village a print sheet is for and its name.
func (h *Handlers) printVillage(r *http.Request) (int64, string, error) {
	vs, vid, err := h.village(r, nil, auth.VillageRead)
	if err != nil {
		return 0, "", err
	}
	for _, v := range vs {
		if v.ID == vid {
			return vid, v.Name, nil
		}
	}
	return 0, "", errs.New(errs.NotFound, "error.not_found")
}

func (h *Handlers) printCards(w http.ResponseWriter, r *http.Request) {
	vid, name, err := h.printVillage(r)
	var cards []PrintCard
	if err == nil {
		cards, err = h.S.CardSheet(r.Context(), auth.From(r.Context()), vid)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "cards_print.html", "card.print_title", NewCardSheet(name, cards), nil, nil)
}

func (h *Handlers) printPlaques(w http.ResponseWriter, r *http.Request) {
	vid, name, err := h.printVillage(r)
	var plaques []PrintPlaque
	if err == nil {
		plaques, err = h.S.PlaqueSheet(r.Context(), auth.From(r.Context()), vid)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "cards_print.html", "card.plaque_title", NewPlaqueSheet(name, plaques), nil, nil)
}
