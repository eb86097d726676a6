package consult

import (
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// ---- the landing pages

// registerHome adds the two doors into 微协商: a resident's (/consult) and the staff's
// (/admin/consult), each offering only the parts the person may use.
func (h *Handlers) registerHome() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/consult", Access: web.LoggedIn, Summary: "微协商 for a resident: topics, meetings, my referrals, my contact cadre"}, h.home)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult", Access: web.Staff, Summary: "微协商 for staff, a department and the care team: the parts each may use"}, h.adminHome)
	a.Handle(web.Route{Method: "GET", Path: "/consult/photos/{id}", Access: web.LoggedIn, Summary: "a photo of a topic, a reply, a visit or a care-team member the caller may see"}, a.PhotoByID(h.S.Photo))
}

// homeView is a resident's door: where they live, for the village's progress page.
type homeView struct {
	VillageID   int64
	VillageName string
}

func (h *Handlers) home(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	var v homeView
	m, ok, err := h.S.me(ctx, h.S.DB.Read(), a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if ok {
		v.VillageID = m.VillageID
		if v.VillageName, err = h.S.villageName(ctx, h.S.DB.Read(), m.VillageID); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.RenderForm(w, r, "consult_home.html", "consult.title", v, nil, nil)
}

func (h *Handlers) adminHome(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if !web.MayAny(PermManage, PermHost, PermRespond, PermCare)(a) {
		h.App.Error(w, r, auth.Refuse(a, PermHost))
		return
	}
	h.App.RenderForm(w, r, "admin_consult_home.html", "consult.admin.title", nil, nil, nil)
}
