package bank

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"

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
