package alliance

import (
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// ---- the landing pages

// mayAlliance shows a part to the town's alliance staff, the villages' staff and the units'
// liaisons: everyone the staff's landing page is for.
var mayAlliance = web.MayAny(PermManage, PermVillage, PermUnit)

// adminParts are the parts the staff's landing page (/admin/alliance) opens, in order.
var adminParts = []web.Part{
	{Path: "/admin/alliance/units", Key: "alliance.part.units", Show: mayAlliance},
	{Path: "/admin/alliance/resources", Key: "alliance.part.resources", Show: mayAlliance},
	{Path: "/admin/alliance/needs", Key: "alliance.part.needs", Show: mayAlliance},
	{Path: "/admin/alliance/match", Key: "alliance.part.match", Show: web.MayAny(PermManage, PermUnit)},
	{Path: "/admin/alliance/projects", Key: "alliance.part.projects", Show: mayAlliance},
	{Path: "/admin/alliance/activities", Key: "alliance.part.activities", Show: mayAlliance},
	{Path: "/admin/alliance/donations", Key: "alliance.part.donations", Show: mayAlliance},
	{Path: "/admin/alliance/figures", Key: "alliance.part.figures", Show: web.MayAny(PermManage, PermUnit)},
}

// residentParts are the parts a resident's page (/alliance) opens, in order.
var residentParts = []web.Part{
	{Path: "/alliance/activities", Key: "alliance.part.my_activities", Show: web.MayAny(PermJoin)},
	{Path: "/alliance/donations", Key: "alliance.part.my_donations", Show: web.MayAny(PermJoin)},
	{Path: "/alliance/disputes", Key: "alliance.part.disputes", Show: web.MayAny(PermJoin)},
}

// registerHome adds the two doors into 微联盟, a resident's (/alliance) and the staff's
// (/admin/alliance), each offering the parts the person may use, and the pillar's photos.
func (h *Handlers) registerHome() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/alliance", Access: web.LoggedIn, Summary: "微联盟 for a resident: the town's member units, and the parts a resident uses"}, h.home)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance", Access: web.Staff, Summary: "微联盟 for the town's and villages' staff and the units' liaisons: the parts each may use"}, h.adminHome)
	a.Handle(web.Route{Method: "GET", Path: "/alliance/photos/{id}", Access: web.LoggedIn, Summary: "a photo of a milestone, an activity, a donation, a handover or a dispute session the caller may see"}, a.PhotoByID(h.S.Photo))
}

// homeView is a resident's door: the parts they use and the town's member units, by kind.
type homeView struct {
	Parts   []web.PartLink
	Members []Member
	Kinds   []kindCount
}

// kindCount is how many of the town's active units are of a kind.
type kindCount struct {
	Kind  string
	Count int
}

func (h *Handlers) home(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := homeView{Parts: web.PartsFor(residentParts, a)}
	var err error
	if v.Members, err = h.S.Members(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, k := range UnitKinds {
		n := 0
		for _, m := range v.Members {
			if m.Kind == k {
				n++
			}
		}
		if n > 0 {
			v.Kinds = append(v.Kinds, kindCount{k, n})
		}
	}
	h.App.RenderForm(w, r, "alliance_home.html", "alliance.title", v, nil, nil)
}

// adminHomeView is the staff's door: the parts they may use, the town's units counted (for those
// who see the list), and a liaison's own unit.
type adminHomeView struct {
	Parts  []web.PartLink
	Units  int
	Active int
	Mine   *Unit
}

func (h *Handlers) adminHome(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !mayAlliance(a) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	v := adminHomeView{Parts: web.PartsFor(adminParts, a)}
	units, err := h.S.Units(ctx, a, a.TownID, UnitFilter{Inactive: true})
	if errs.Is(err, errs.Forbidden) {
		err = nil // a liaison's login not yet given to a unit: nothing to count
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Units = len(units)
	for _, u := range units {
		if u.Active {
			v.Active++
		}
	}
	if !manages(a, a.TownID) && !mayVillage(a) && len(units) == 1 {
		v.Mine = &units[0]
	}
	h.App.RenderForm(w, r, "admin_alliance_home.html", "alliance.admin.title", v, nil, nil)
}

// mayVillage reports whether the actor takes some village's side.
func mayVillage(a *auth.Actor) bool {
	return web.MayAny(PermVillage)(a)
}
