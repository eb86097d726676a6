package alliance

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerUnits adds the pages and API of the member units (成员单位).
func (h *Handlers) registerUnits() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/units", Access: web.Staff, Summary: "the town's member units, by kind or a word of the name (a liaison sees their own unit)"}, h.unitsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/units", Access: web.Staff, Summary: "add a member unit to the town's 协调委员会"}, h.unitCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/units/{id}", Access: web.Staff, Summary: "a member unit: its details and logins"}, h.unitPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/units/{id}", Access: web.Staff, Summary: "edit a member unit, or deactivate it (asks first, keeps the reason) or activate it again"}, h.unitSave)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/units/{id}/accounts", Access: web.Staff, Summary: "give a unit a liaison login (an existing unit_liaison login of the town, or a new one shown once)"}, h.unitAccount)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/units", Access: web.LoggedIn, API: true,
		Summary: "the town's member units (?kind=, ?q=, ?inactive=1); a liaison gets their own unit", Response: []Unit{}}, h.apiUnits)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/units", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "add a member unit (the town's alliance staff; 201)", Request: UnitInput{}, Response: Unit{}}, h.apiUnitCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/units/{id}", Access: web.LoggedIn, API: true,
		Summary: "a member unit (its logins for those who manage it)", Response: Unit{}}, h.apiUnit)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/units/{id}", Access: web.LoggedIn, API: true,
		Summary: "edit a member unit (the town's alliance staff)", Request: UnitInput{}, Response: Unit{}}, h.apiUnitSave)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/units/{id}/accounts", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "give a unit a liaison login; a new login's one-time password is answered once (201)", Request: UnitAccountInput{}, Response: UnitAccountResult{}}, h.apiUnitAccount)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/units/{id}/active", Access: web.LoggedIn, API: true,
		Summary: "take a unit off the committee (a reason is required) or put it back", Request: UnitActiveInput{}, Response: Unit{}}, h.apiUnitActive)
}

// UnitActiveInput deactivates a unit, with the reason, or activates it again.
type UnitActiveInput struct {
	Active bool   `json:"active"`
	Reason string `json:"reason"`
}

// unitsView is the units page: the units found, the filter, and whether the reader may add one.
type unitsView struct {
	Units    []Unit
	Kinds    []string
	Kind     string
	Q        string
	Inactive bool
	Manage   bool
}

// unitFilter reads the list's filter from the query; an unknown kind is ignored.
func unitFilter(q url.Values) UnitFilter {
	f := UnitFilter{Kind: q.Get("kind"), Q: q.Get("q"), Inactive: q.Get("inactive") == "1"}
	if !slices.Contains(UnitKinds, f.Kind) {
		f.Kind = ""
	}
	return f
}

func (h *Handlers) unitsPage(w http.ResponseWriter, r *http.Request) {
	h.renderUnits(w, r, nil, nil)
}

func (h *Handlers) renderUnits(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	filter := unitFilter(r.URL.Query())
	v := unitsView{Kinds: UnitKinds, Kind: filter.Kind, Q: filter.Q, Inactive: filter.Inactive, Manage: manages(a, a.TownID)}
	var err error
	if v.Units, err = h.S.Units(ctx, a, a.TownID, filter); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "alliance.unit.list_title", v)
	p.Form = f
	if id := p.FlashID(); id != 0 {
		for _, u := range v.Units {
			if u.ID == id {
				p.Flashed("flash.alliance_unit_created", u.Name)
			}
		}
	}
	h.App.RenderPage(w, r, "alliance_units.html", p, ferr)
}

// unitInput reads the unit form.
func unitInput(f url.Values) UnitInput {
	return UnitInput{Name: f.Get("name"), Kind: f.Get("kind"), PartyOrg: f.Get("party_org"), LiaisonName: f.Get("liaison_name"),
		LiaisonPhone: f.Get("liaison_phone"), Contacts: f.Get("contacts"), JoinedOn: f.Get("joined_on")}
}

func (h *Handlers) unitCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	u, err := h.S.SaveUnit(r.Context(), auth.From(r.Context()), 0, unitInput(f))
	if err != nil {
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
			h.App.Error(w, r, err)
			return
		}
		h.renderUnits(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/alliance/units", "flash.alliance_unit_created", u.ID))
}

// unitView is a unit's page: its details and logins, the kinds the edit form offers, whether the
// reader manages it, and a new login's activation, shown once.
type unitView struct {
	Unit       Unit
	Kinds      []string
	Manage     bool
	Activation *auth.Activation
}

func (h *Handlers) unitPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderUnit(w, r, id, nil, nil, nil)
}

func (h *Handlers) renderUnit(w http.ResponseWriter, r *http.Request, id int64, f url.Values, act *auth.Activation, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	u, err := h.S.Unit(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := unitView{Unit: u, Kinds: UnitKinds, Manage: manages(a, u.TownID), Activation: act}
	if f == nil {
		f = url.Values{"name": {u.Name}, "kind": {u.Kind}, "party_org": {u.PartyOrg}, "liaison_name": {u.LiaisonName},
			"liaison_phone": {u.LiaisonPhone}, "contacts": {u.Contacts}, "joined_on": {u.JoinedOn}}
	}
	p := h.App.NewPage(r, "alliance.unit.title", v)
	p.Title = u.Name
	p.Form = f
	p.Flashed("flash.alliance_unit_saved", u.Name)
	p.Flashed("flash.alliance_unit_deactivated", u.Name)
	p.Flashed("flash.alliance_unit_activated", u.Name)
	p.Flashed("flash.alliance_unit_account", u.Name)
	h.App.RenderPage(w, r, "alliance_unit.html", p, ferr)
}

func (h *Handlers) unitSave(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	back := fmt.Sprintf("/admin/alliance/units/%d", id)
	switch f.Get("action") {
	case "deactivate":
		u, err := h.S.Unit(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if !manages(a, u.TownID) {
			h.App.Error(w, r, errs.New(errs.Forbidden, "error.forbidden"))
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "alliance.unit.confirm_deactivate", What: "alliance.unit.confirm_deactivate_what", Args: []any{u.Name}, Back: back})
		if !ok {
			return
		}
		if _, err := h.S.SetUnitActive(ctx, a, id, false, reason); err != nil {
			h.renderUnit(w, r, id, nil, nil, err)
			return
		}
		web.Redirect(w, r, web.FlashURL(back, "flash.alliance_unit_deactivated", 0))
	case "activate":
		if _, err := h.S.SetUnitActive(ctx, a, id, true, ""); err != nil {
			if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
				h.App.Error(w, r, err)
				return
			}
			h.renderUnit(w, r, id, nil, nil, err)
			return
		}
		web.Redirect(w, r, web.FlashURL(back, "flash.alliance_unit_activated", 0))
	default:
		if _, err := h.S.SaveUnit(ctx, a, id, unitInput(f)); err != nil {
			if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
				h.App.Error(w, r, err)
				return
			}
			h.renderUnit(w, r, id, f, nil, err)
			return
		}
		web.Redirect(w, r, web.FlashURL(back, "flash.alliance_unit_saved", 0))
	}
}

func (h *Handlers) unitAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	_, act, err := h.S.AddUnitAccount(r.Context(), auth.From(r.Context()), h.App.Auth, id, UnitAccountInput{Phone: f.Get("phone"), Name: f.Get("name")})
	if err != nil {
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
			h.App.Error(w, r, err)
			return
		}
		h.renderUnit(w, r, id, nil, nil, err)
		return
	}
	if act != nil {
		// A new login: its one-time password is shown on this page once, never put in a link.
		h.renderUnit(w, r, id, nil, act, nil)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/units/%d", id), "flash.alliance_unit_account", 0))
}

// ---- API

func (h *Handlers) apiUnits(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	list, err := h.S.Units(r.Context(), a, web.FormID(r.URL.Query().Get("town_id")), unitFilter(r.URL.Query()))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiUnitCreate(w http.ResponseWriter, r *http.Request) {
	var in UnitInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	u, err := h.S.SaveUnit(r.Context(), auth.From(r.Context()), 0, in)
	h.App.Reply(w, r, http.StatusCreated, u, err)
}

func (h *Handlers) apiUnit(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	u, err := h.S.Unit(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, u, err)
}

func (h *Handlers) apiUnitSave(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in UnitInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	u, err := h.S.SaveUnit(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, u, err)
}

func (h *Handlers) apiUnitAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in UnitAccountInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	u, act, err := h.S.AddUnitAccount(r.Context(), auth.From(r.Context()), h.App.Auth, id, in)
	res := UnitAccountResult{Unit: u}
	if act != nil {
		res.Password = act.Password
	}
	h.App.Reply(w, r, http.StatusCreated, res, err)
}

func (h *Handlers) apiUnitActive(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in UnitActiveInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	u, err := h.S.SetUnitActive(r.Context(), auth.From(r.Context()), id, in.Active, in.Reason)
	h.App.Reply(w, r, http.StatusOK, u, err)
}
