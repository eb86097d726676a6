package honours

import (
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// ---- the landing pages

// mayStaff shows a part to the town's and the villages' staff.
var mayStaff = web.MayAny(PermManage, PermVillage)

// adminParts are the parts the staff's landing page (/admin/honours) opens, in order.
var adminParts = []web.Part{
	{Path: "/admin/honours/nominations", Key: "honours.part.nominations", Show: mayStaff},
	{Path: "/admin/honours/wall", Key: "honours.part.wall", Show: mayStaff},
	{Path: "/admin/honours/notices", Key: "honours.part.notices", Show: mayStaff},
	{Path: "/admin/honours/rounds", Key: "honours.part.rounds", Show: mayStaff},
	{Path: "/admin/honours/contests", Key: "honours.part.contests", Show: mayStaff},
	{Path: "/admin/honours/flags", Key: "honours.part.flags", Show: mayManage},
	{Path: "/admin/honours/households", Key: "honours.part.households", Show: mayManage},
	{Path: "/admin/honours/media", Key: "honours.part.media", Show: mayManage},
	{Path: "/admin/honours/actions", Key: "honours.part.actions", Show: mayStaff},
	{Path: "/admin/honours/calendar", Key: "honours.part.calendar", Show: mayStaff},
}

// residentParts are the parts a resident's page (/honours) opens, in order.
var residentParts = []web.Part{
	{Path: "/honours/wall", Key: "honours.part.my_wall", Show: web.MayAny(PermJoin)},
	{Path: "/honours/nominate", Key: "honours.part.my_nominate", Show: web.MayAny(PermJoin)},
	{Path: "/honours/nominations", Key: "honours.part.my_nominations", Show: web.MayAny(PermJoin)},
	{Path: "/honours/notices", Key: "honours.part.my_notices"},
	{Path: "/honours/rounds", Key: "honours.part.my_rounds"},
	{Path: "/honours/contests", Key: "honours.part.my_contests", Show: web.MayAny(PermJoin)},
	{Path: "/honours/flags", Key: "honours.part.my_flags"},
	{Path: "/honours/households", Key: "honours.part.my_households"},
	{Path: "/honours/actions", Key: "honours.part.my_actions", Show: web.MayAny(PermJoin)},
	{Path: "/honours/calendar", Key: "honours.part.my_calendar"},
}

// registerHome adds the two doors into the public side, a resident's (/honours) and the staff's
// (/admin/honours), each offering the parts the person may use, and the part's photos.
func (h *Handlers) registerHome() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/honours", Access: web.LoggedIn, Summary: "the bank's public side for a resident: the 名录墙, evaluation rounds, notices, actions, contests and the 流动红旗"}, h.home)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours", Access: web.Staff, Summary: "the bank's public side for the town's and villages' staff: the parts each may use"}, h.adminHome)
	a.Handle(web.Route{Method: "GET", Path: "/honours/photos/{id}", Access: web.Public, Summary: "a photo of the public side the caller may see: a name's on the public wall to anyone, the rest by their record"}, a.PhotoByID(h.S.Photo))
}

// homeView is a door: the parts the person may use, and the town's current 流动红旗.
type homeView struct {
	Parts []web.PartLink
	Flag  *Flag
}

func (h *Handlers) home(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	h.App.RenderForm(w, r, "honours_home.html", "honours.title", homeView{Parts: web.PartsFor(residentParts, a), Flag: h.S.currentFlag(r.Context(), a)}, nil, nil)
}

func (h *Handlers) adminHome(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	h.App.RenderForm(w, r, "admin_honours_home.html", "honours.admin.title", homeView{Parts: web.PartsFor(adminParts, a), Flag: h.S.currentFlag(r.Context(), a)}, nil, nil)
}
