package bank

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"net/http"
	"net/url"

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
	h.registerCounter()
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
	var town people.Town
	if err == nil {
		town, err = h.town(r.Context(), res.TownID)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return res, town, false
	}
	return res, town, true
}

// myAccount is me with the caller's balance, for the resident pages that show it.
func (h *Handlers) myAccount(w http.ResponseWriter, r *http.Request) (people.Resident, people.Town, Balance, bool) {
	res, town, ok := h.me(w, r)
	if !ok {
		return res, town, Balance{}, false
	}
	b, err := h.S.Account(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return res, town, b, false
	}
	return res, town, b, true
}

// form is the posted form. A body that cannot be read is refused as a whole: the answer is sent
// and ok is false.
func (h *Handlers) form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if err := r.ParseForm(); err != nil {
		h.App.Error(w, r, errs.New(errs.Invalid, "error.invalid"))
		return nil, false
	}
	return r.PostForm, true
}

// idForm is the record named by the path's {id} and the posted form about it, for the forms that
// act on one record; ok is false when the answer has been sent.
func (h *Handlers) idForm(w http.ResponseWriter, r *http.Request) (int64, url.Values, bool) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return 0, nil, false
	}
	f, ok := h.form(w, r)
	return id, f, ok
}

// back is the page at path that a form came from: with the form's values of keys that are set (a
// village, a search, a page), and a flash.
func back(path string, f url.Values, flash string, keys ...string) string {
	q := url.Values{}
	for _, k := range keys {
		if v := f.Get(k); v != "" && v != "0" {
			q.Set(k, v)
		}
	}
	q.Set("flash", flash)
	return path + "?" + q.Encode()
}

// village is the village a staff page is about, among those of the town where the actor may take
// act (Service.Villages): ?village_id=, else the form's, else the first of them.
func (h *Handlers) village(r *http.Request, form url.Values, act auth.Action) ([]people.Village, int64, error) {
	id := web.QueryInt(r, "village_id")
	if id == 0 && form != nil {
		id = web.FormID(form.Get("village_id"))
	}
	vs, err := h.S.Villages(r.Context(), auth.From(r.Context()), townOf(r), act, id)
	if err != nil {
		return nil, 0, err
	}
	if id == 0 && len(vs) > 0 {
		id = vs[0].ID
	}
	return vs, id, nil
}
