package honours

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerNotices adds the 公示栏's pages and API: a resident reads the lists on notice for their
// village and town and objects to an item; the town's staff decide each objection, publish a list
// whose notice is over, pay again what failed, or withdraw a list with a reason.
func (h *Handlers) registerNotices() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/honours/notices", Access: web.LoggedIn, Summary: "the 公示栏: the lists on notice for my village and town, and those published lately"}, h.noticeBoard)
	a.Handle(web.Route{Method: "GET", Path: "/honours/notices/{id}", Access: web.LoggedIn, Summary: "a list on notice, with the form to object to an item"}, h.noticePage)
	a.Handle(web.Route{Method: "POST", Path: "/honours/notices/{id}/objections", Access: web.LoggedIn, Summary: "object to an item of a list on notice (item_id, reason)"}, h.noticeObject)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/notices", Access: web.Staff, Summary: "the lists on notice and lately published, with their objections"}, h.adminNoticeBoard)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/notices/{id}", Access: web.Staff, Summary: "a list on notice: its objections to decide, publish, pay again or withdraw"}, h.adminNoticePage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/notices/{id}/publish", Access: web.Staff, Summary: "publish a list whose notice is over (asks first)"}, h.noticePublish)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/notices/{id}/pay", Access: web.Staff, Summary: "pay again the points of a published list the bank has not answered"}, h.noticePay)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/notices/{id}/withdraw", Access: web.Staff, Summary: "withdraw a list on notice with a reason (asks first)"}, h.noticeWithdraw)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/objections/{id}", Access: web.Staff, Summary: "decide an objection: uphold (the item is struck, asks first) or dismiss, with the decision"}, h.objectionDecide)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/notices", Access: web.LoggedIn, API: true,
		Summary: "the lists on notice and lately published the caller may see", Response: []Notice{}}, h.apiNotices)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/notices/{id}", Access: web.LoggedIn, API: true,
		Summary: "a list on notice with its items (and its objections: all for staff, a resident's own)", Response: Notice{}}, h.apiNotice)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/notices/{id}/objections", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "object to an item of a list on notice, once per item; 201", Request: ObjectionInput{}, Response: Objection{}}, h.apiObject)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/objections/{id}", Access: web.LoggedIn, API: true,
		Summary: "decide an objection (uphold strikes the item), the town's staff only", Request: DecisionInput{}, Response: Notice{}}, h.apiDecide)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/notices/{id}/publish", Access: web.LoggedIn, API: true,
		Summary: "publish a list whose notice is over and has no objection open, then pay its points", Response: Notice{}}, h.apiPublish)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/notices/{id}/pay", Access: web.LoggedIn, API: true,
		Summary: "pay again the points of a published list the bank has not answered", Response: Notice{}}, h.apiPay)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/notices/{id}/withdraw", Access: web.LoggedIn, API: true,
		Summary: "withdraw a list on notice with a reason", Request: ReasonInput{}, Response: Notice{}}, h.apiWithdraw)
}

// ObjectionInput is an objection to an item of a list on notice.
type ObjectionInput struct {
	ItemID int64  `json:"item_id"`
	Reason string `json:"reason"`
}

// DecisionInput decides an objection: uphold strikes the item, with the decision as the reason.
type DecisionInput struct {
	Uphold   bool   `json:"uphold"`
	Decision string `json:"decision"`
}

// ReasonInput is the reason of an action that cannot be undone.
type ReasonInput struct {
	Reason string `json:"reason"`
}

// ---- pages

type noticeBoardView struct {
	List  []Notice
	Staff bool
}

func (h *Handlers) noticeBoard(w http.ResponseWriter, r *http.Request) {
	h.renderBoard(w, r, false)
}

func (h *Handlers) adminNoticeBoard(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	h.renderBoard(w, r, true)
}

func (h *Handlers) renderBoard(w http.ResponseWriter, r *http.Request, staff bool) {
	list, err := h.S.NoticeBoard(r.Context(), auth.From(r.Context()), 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	title := "honours.notices.title"
	if staff {
		title = "honours.notices.admin_title"
	}
	p := h.App.NewPage(r, title, noticeBoardView{List: list, Staff: staff})
	for _, n := range list {
		if n.ID == p.FlashID() {
			p.Flashed("flash.honours_notice_withdrawn", n.Title)
		}
	}
	h.App.RenderPage(w, r, "honours_notices.html", p, nil)
}

type noticeView struct {
	N     Notice
	Staff bool
	// Manage is true for the town's staff, who decide objections, publish, pay and withdraw.
	Manage bool
	// Item is the item whose form was refused, so that its form opens with the error.
	Item int64
}

func (h *Handlers) noticePage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderNotice(w, r, id, false, nil, nil)
}

func (h *Handlers) adminNoticePage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderNotice(w, r, id, true, nil, nil)
}

func (h *Handlers) renderNotice(w http.ResponseWriter, r *http.Request, id int64, staff bool, f url.Values, ferr error) {
	a := auth.From(r.Context())
	n, err := h.S.NoticeByID(r.Context(), a, id)
	if err == nil && staff && !manages(a, n.TownID) && !(n.VillageID != 0 && servesVillage(a, n.TownID, n.VillageID)) {
		// A village's staff read the town's own lists (文明大户) as the board lists them to them.
		if all, vs := villageScope(a, n.TownID); n.VillageID != 0 || (!all && len(vs) == 0) {
			err = auth.Refuse(a, PermVillage)
		}
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := noticeView{N: n, Staff: staff, Manage: staff && manages(a, n.TownID)}
	if f != nil {
		v.Item = web.FormID(f.Get("item_id"))
	}
	p := h.App.NewPage(r, "honours.notices.notice_title", v)
	p.Title = n.Title
	p.Form = f
	label := func(item int64) string {
		for _, it := range n.Items {
			if it.ItemID == item {
				return it.Label
			}
		}
		return ""
	}
	p.Flashed("flash.honours_objected", label(p.FlashID()))
	p.Flashed("flash.honours_objection_upheld", label(p.FlashID()))
	p.Flashed("flash.honours_objection_dismissed", label(p.FlashID()))
	kept := 0
	for _, it := range n.Items {
		if !it.Struck {
			kept++
		}
	}
	p.Flashed("flash.honours_notice_published", n.Title, kept)
	p.Flashed("flash.honours_notice_paid", n.Title)
	h.App.RenderPage(w, r, "honours_notice.html", p, ferr)
}

// fieldOrConflict is a refusal a form shows on its page (a field's, or a conflict with the
// record's state); anything else is answered by Error.
func fieldOrConflict(err error) bool {
	e, ok := errs.As(err)
	return ok && (len(e.Fields) > 0 || e.Code == errs.Conflict)
}

func (h *Handlers) noticeObject(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	item := web.FormID(f.Get("item_id"))
	if _, err := h.S.Object(r.Context(), auth.From(r.Context()), id, item, f.Get("reason")); err != nil {
		if fieldOrConflict(err) {
			h.renderNotice(w, r, id, false, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/honours/notices/%d", id), "flash.honours_objected", item))
}

func (h *Handlers) objectionDecide(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	n, o, err := h.S.objectionNotice(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	back := fmt.Sprintf("/admin/honours/notices/%d", n.ID)
	uphold := f.Get("uphold") == "1"
	label := ""
	for _, it := range n.Items {
		if it.ItemID == o.ItemID {
			label = it.Label
		}
	}
	if uphold {
		// Upholding strikes a person from the list, which cannot be undone: asked first; the
		// decision is its reason, kept with the objection.
		if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.notices.confirm_uphold", What: "honours.notices.confirm_uphold_what", Args: []any{label, n.Title}, Back: back, NoReason: true}); !ok {
			return
		}
	}
	if _, err := h.S.DecideObjection(ctx, a, id, uphold, f.Get("decision")); err != nil {
		if fieldOrConflict(err) {
			f.Set("objection_id", strconv.FormatInt(id, 10))
			h.renderNotice(w, r, n.ID, true, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	key := "flash.honours_objection_dismissed"
	if uphold {
		key = "flash.honours_objection_upheld"
	}
	web.Redirect(w, r, web.FlashURL(back, key, o.ItemID))
}

func (h *Handlers) noticePublish(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	n, err := h.S.NoticeByID(ctx, a, id)
	if err == nil && !manages(a, n.TownID) {
		err = auth.Refuse(a, PermManage)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	back := fmt.Sprintf("/admin/honours/notices/%d", id)
	// Publishing the list after its notice is routine work that is its own reason, but it cannot
	// be undone and pays points: asked first.
	if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.notices.confirm_publish", What: "honours.notices.confirm_publish_what", Args: []any{n.Title}, Back: back, NoReason: true}); !ok {
		return
	}
	if _, err := h.S.Publish(ctx, a, id); err != nil {
		if fieldOrConflict(err) {
			h.renderNotice(w, r, id, true, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(back, "flash.honours_notice_published", id))
}

func (h *Handlers) noticePay(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	if _, err := h.S.NoticeByID(ctx, a, id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if err := h.S.PayNotice(ctx, a, id); err != nil {
		if fieldOrConflict(err) {
			h.renderNotice(w, r, id, true, nil, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/notices/%d", id), "flash.honours_notice_paid", id))
}

func (h *Handlers) noticeWithdraw(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	n, err := h.S.NoticeByID(ctx, a, id)
	if err == nil && !manages(a, n.TownID) {
		err = auth.Refuse(a, PermManage)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.notices.confirm_withdraw", What: "honours.notices.confirm_withdraw_what", Args: []any{n.Title}, Back: fmt.Sprintf("/admin/honours/notices/%d", id)})
	if !ok {
		return
	}
	if _, err := h.S.Withdraw(ctx, a, id, reason); err != nil {
		if fieldOrConflict(err) {
			h.renderNotice(w, r, id, true, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/notices", "flash.honours_notice_withdrawn", id))
}

// ---- API

func (h *Handlers) apiNotices(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.NoticeBoard(r.Context(), auth.From(r.Context()), 0)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiNotice(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	n, err := h.S.NoticeByID(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, n, err)
}

func (h *Handlers) apiObject(w http.ResponseWriter, r *http.Request) {
	var in ObjectionInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	o, err := h.S.Object(r.Context(), auth.From(r.Context()), id, in.ItemID, in.Reason)
	h.App.Reply(w, r, http.StatusCreated, o, err)
}

func (h *Handlers) apiDecide(w http.ResponseWriter, r *http.Request) {
	var in DecisionInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.DecideObjection(r.Context(), auth.From(r.Context()), id, in.Uphold, in.Decision)
	h.App.Reply(w, r, http.StatusOK, n, err)
}

func (h *Handlers) apiPublish(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	n, err := h.S.Publish(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, n, err)
}

func (h *Handlers) apiPay(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	err := h.S.PayNotice(ctx, a, id)
	var n Notice
	if err == nil {
		n, err = h.S.NoticeByID(ctx, a, id)
	}
	h.App.Reply(w, r, http.StatusOK, n, err)
}

func (h *Handlers) apiWithdraw(w http.ResponseWriter, r *http.Request) {
	var in ReasonInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.Withdraw(r.Context(), auth.From(r.Context()), id, in.Reason)
	h.App.Reply(w, r, http.StatusOK, n, err)
}
