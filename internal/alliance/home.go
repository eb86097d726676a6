package alliance

import (
	"net/http"
	"strconv"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// ---- the landing pages

// part is a part of 微联盟 a landing page opens: its page, the message key of its name (Key) and
// of the line under it (Key + "_what"), and who is shown the link. The page itself still refuses
// whoever may not use it.
type part struct {
	Path string
	Key  string
	Show func(*auth.Actor) bool
}

// mayAlliance shows a part to the town's alliance staff, the villages' staff and the units'
// liaisons: everyone the staff's landing page is for.
var mayAlliance = web.MayAny(PermManage, PermVillage, PermUnit)

// adminParts are the parts the staff's landing page (/admin/alliance) opens, in order.
var adminParts = []part{
	{"/admin/alliance/units", "alliance.part.units", mayAlliance},
	{"/admin/alliance/resources", "alliance.part.resources", mayAlliance},
	{"/admin/alliance/needs", "alliance.part.needs", mayAlliance},
	{"/admin/alliance/match", "alliance.part.match", web.MayAny(PermManage, PermUnit)},
	{"/admin/alliance/projects", "alliance.part.projects", mayAlliance},
	{"/admin/alliance/activities", "alliance.part.activities", mayAlliance},
	{"/admin/alliance/donations", "alliance.part.donations", mayAlliance},
	{"/admin/alliance/figures", "alliance.part.figures", web.MayAny(PermManage, PermUnit)},
}

// residentParts are the parts a resident's page (/alliance) opens, in order.
var residentParts = []part{
	{"/alliance/activities", "alliance.part.my_activities", web.MayAny(PermJoin)},
	{"/alliance/donations", "alliance.part.my_donations", web.MayAny(PermJoin)},
	{"/alliance/disputes", "alliance.part.disputes", web.MayAny(PermJoin)},
}

// partLink is a part as a landing page draws it.
type partLink struct {
	Path string
	Key  string
	What string
}

// partsFor are the parts of list the actor is shown.
func partsFor(list []part, a *auth.Actor) []partLink {
	out := []partLink{}
	for _, p := range list {
		if p.Show == nil || p.Show(a) {
			out = append(out, partLink{Path: p.Path, Key: p.Key, What: p.Key + "_what"})
		}
	}
	return out
}

// registerHome adds the two doors into 微联盟, a resident's (/alliance) and the staff's
// (/admin/alliance), each offering the parts the person may use, and the pillar's photos.
func (h *Handlers) registerHome() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/alliance", Access: web.LoggedIn, Summary: "微联盟 for a resident: the town's member units, and the parts a resident uses"}, h.home)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance", Access: web.Staff, Summary: "微联盟 for the town's and villages' staff and the units' liaisons: the parts each may use"}, h.adminHome)
	a.Handle(web.Route{Method: "GET", Path: "/alliance/photos/{id}", Access: web.LoggedIn, Summary: "a photo of a milestone, an activity, a donation, a handover or a dispute session the caller may see"}, h.photo)
}

// homeView is a resident's door: the parts they use and the town's member units, by kind.
type homeView struct {
	Parts   []partLink
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
	v := homeView{Parts: partsFor(residentParts, a)}
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
	Parts  []partLink
	Units  int
	Active int
	Mine   *Unit
}

func (h *Handlers) adminHome(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !mayAlliance(a) {
		h.App.Error(w, r, refuse(a, PermManage))
		return
	}
	v := adminHomeView{Parts: partsFor(adminParts, a)}
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

// photo answers a kept photo to whoever may see its record: kept by the browser only, since who
// may see it can change.
func (h *Handlers) photo(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	mime, data, err := h.S.Photo(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(data)
}
