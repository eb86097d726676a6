package consult

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerReferrals adds the pages and API of referrals to departments (接诉即办) and of the
// department directory.
func (h *Handlers) registerReferrals() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/referrals", Access: web.Staff, Summary: "the referrals board: a host's scope, or a department's own by deadline with countdowns"}, h.referralsBoard)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/referrals/new", Access: web.Staff, Summary: "the form to refer a decision, a topic or a care visit (?decision, ?topic, ?visit) to departments"}, h.referralNew)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/referrals", Access: web.Staff, Summary: "refer a decision, a topic or a care visit to departments"}, h.referralCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/referrals/{id}", Access: web.Staff, Summary: "a referral: timeline, replies with photos, and what the viewer may do"}, h.referralStaffPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/referrals/{id}/actions", Access: web.Staff, Summary: "accept, transfer, reply (with photos, multipart), finish or rate a referral"}, h.referralAct)
	a.Handle(web.Route{Method: "GET", Path: "/consult/referrals", Access: web.LoggedIn, Summary: "a resident's referrals: of topics they proposed or support, and of visits to their household"}, h.myReferrals)
	a.Handle(web.Route{Method: "GET", Path: "/consult/referrals/{id}", Access: web.LoggedIn, Summary: "a referral for a resident: progress, replies and the rating form"}, h.referralResidentPage)
	a.Handle(web.Route{Method: "POST", Path: "/consult/referrals/{id}/actions", Access: web.LoggedIn, Summary: "rate a referral that is done (满意, 基本满意, 不满意; the first 不满意 reopens it)"}, h.referralAct)
	a.Handle(web.Route{Method: "GET", Path: "/consult/progress/{id}", Access: web.Public, Summary: "a village's public 有事好商量 · 办理进度: referrals, departments, states and replies, with no personal data"}, h.progressPage)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/referrals", Access: web.LoggedIn, API: true,
		Summary: "the referrals the caller may act on or follow (status, overdue=1)", Response: []Referral{}}, h.apiReferrals)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/referrals", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "refer a decision, a topic or a care visit to departments (urgency urgent or normal; finish_days 7 or 15, or finish_on; 201)", Request: ReferralInput{}, Response: Referral{}}, h.apiReferralCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/referrals/{id}", Access: web.LoggedIn, API: true,
		Summary: "a referral with its replies, timeline and the caller's actions", Response: Referral{}}, h.apiReferral)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/referrals/{id}/actions", Access: web.LoggedIn, API: true,
		Summary: "accept (the first target department owns it; later ones 409), transfer (department_id, reason), reply (body), finish (body) or rate (satisfaction) a referral",
		Request: ReferralAction{}, Response: Referral{}}, h.apiReferralAct)
	h.registerDepartments()
}

// referralRow is a referral on a board, with its countdown to the present deadline.
type referralRow struct {
	Referral
	Countdown string
}

// referralsView is the board: the rows, the status filter, and whether the viewer is a
// department (its own referrals, by deadline) or a resident.
type referralsView struct {
	Rows       []referralRow
	Status     string
	Statuses   []string
	Overdue    bool
	Department bool
}

// referralCountdown says how long is left to the deadline ("还剩3小时") or how long it is past
// ("已超期2天").
func referralCountdown(p *web.Page, r Referral, now time.Time) string {
	if r.Due.IsZero() {
		return ""
	}
	d := r.Due.Sub(now)
	keys := [3]string{"consult.referral.left_days", "consult.referral.left_hours", "consult.referral.left_minutes"}
	if d < 0 {
		keys, d = [3]string{"consult.referral.late_days", "consult.referral.late_hours", "consult.referral.late_minutes"}, -d
	}
	switch {
	case d >= 24*time.Hour:
		return p.T(keys[0], int(d/(24*time.Hour)))
	case d >= time.Hour:
		return p.T(keys[1], int(d/time.Hour))
	default:
		return p.T(keys[2], max(1, int(d/time.Minute)))
	}
}

func (h *Handlers) referralsBoard(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !web.MayAny(PermHost, PermRespond, PermManage)(a) {
		h.App.Error(w, r, auth.Refuse(a, PermHost))
		return
	}
	dept, err := h.S.myDepartment(ctx, h.S.DB.Read(), a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := referralsView{Status: r.URL.Query().Get("status"), Statuses: ReferralStatuses, Overdue: r.URL.Query().Get("overdue") == "1", Department: dept != 0}
	h.renderReferrals(w, r, v, "consult.referral.board_title", "admin_consult_referrals.html")
}

func (h *Handlers) renderReferrals(w http.ResponseWriter, r *http.Request, v referralsView, title, tmpl string) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.Referrals(ctx, a, ReferralFilter{Status: v.Status, Overdue: v.Overdue})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, title, nil)
	now := h.S.Now()
	for _, x := range list {
		v.Rows = append(v.Rows, referralRow{Referral: x, Countdown: referralCountdown(p, x, now)})
	}
	p.Data = v
	h.App.RenderPage(w, r, tmpl, p, nil)
}

func (h *Handlers) myReferrals(w http.ResponseWriter, r *http.Request) {
	h.renderReferrals(w, r, referralsView{}, "consult.referral.mine_title", "consult_referrals.html")
}

// referralNewView is the new-referral form: the source, the town's categories and the active
// departments, those handling the source's category first.
type referralNewView struct {
	Source      referralSource
	Categories  []Category
	Departments []Department
	Handling    []int64 // the departments that handle the chosen category
	Chosen      []int64
}

// referralInput reads the new-referral form.
func referralInput(f url.Values) ReferralInput {
	in := ReferralInput{DecisionID: web.FormID(f.Get("decision")), TopicID: web.FormID(f.Get("topic")), VisitID: web.FormID(f.Get("visit")),
		CategoryID: web.FormID(f.Get("category_id")), Title: f.Get("title"), Description: f.Get("description"), Urgency: f.Get("urgency"),
		FinishDays: web.FormInt(f.Get("finish_days")), FinishOn: f.Get("finish_on")}
	if f.Get("finish_days") == "date" {
		in.FinishDays = 0
	} else {
		in.FinishOn = ""
	}
	for _, d := range f["department_ids"] {
		if id := web.FormID(d); id != 0 {
			in.DepartmentIDs = append(in.DepartmentIDs, id)
		}
	}
	return in
}

func (h *Handlers) referralNew(w http.ResponseWriter, r *http.Request) {
	h.renderReferralNew(w, r, r.URL.Query(), nil, true)
}

func (h *Handlers) renderReferralNew(w http.ResponseWriter, r *http.Request, f url.Values, ferr error, fresh bool) {
	ctx, a := r.Context(), auth.From(r.Context())
	in := referralInput(f)
	src, err := h.S.referralSource(ctx, h.S.DB.Read(), a, in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := referralNewView{Source: src, Chosen: in.DepartmentIDs}
	if v.Categories, err = h.S.categories(ctx, h.S.DB.Read(), src.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	all, err := h.S.referralDepartments(ctx, src.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	cat := in.CategoryID
	if cat == 0 {
		cat = src.CategoryID
	}
	for _, d := range all {
		if slices.Contains(d.CategoryIDs, cat) {
			v.Departments = append(v.Departments, d)
			v.Handling = append(v.Handling, d.ID)
		}
	}
	for _, d := range all {
		if !slices.Contains(d.CategoryIDs, cat) {
			v.Departments = append(v.Departments, d)
		}
	}
	if fresh {
		f = url.Values{"decision": {f.Get("decision")}, "topic": {f.Get("topic")}, "visit": {f.Get("visit")}, "title": {src.Title}, "description": {src.Description},
			"category_id": {fmt.Sprint(src.CategoryID)}, "urgency": {"normal"}, "finish_days": {"7"}}
	}
	p := h.App.NewPage(r, "consult.referral.new_title", v)
	p.Form = f
	h.App.RenderPage(w, r, "admin_consult_referral_new.html", p, ferr)
}

func (h *Handlers) referralCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ref, err := h.S.CreateReferral(r.Context(), auth.From(r.Context()), referralInput(f))
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderReferralNew(w, r, f, err, false)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/referrals/%d", ref.ID), "flash.consult_referral_created", 0))
}

// referralView is a referral's page: the referral, what the viewer may do (Can), the departments
// it may be transferred to, and the ratings offered.
type referralView struct {
	Referral      Referral
	Can           map[string]bool
	Transfer      []Department
	Satisfactions []string
	Countdown     string
	Staff         bool
}

func (h *Handlers) referralStaffPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderReferral(w, r, id, true, nil, nil)
}

func (h *Handlers) referralResidentPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderReferral(w, r, id, false, nil, nil)
}

func (h *Handlers) renderReferral(w http.ResponseWriter, r *http.Request, id int64, staff bool, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	ref, err := h.S.Referral(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := referralView{Referral: ref, Can: map[string]bool{}, Satisfactions: Satisfactions, Staff: staff}
	for _, n := range ref.Actions {
		v.Can[n] = true
	}
	if v.Can["transfer"] {
		all, err := h.S.referralDepartments(ctx, ref.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		for _, d := range all {
			if !slices.Contains(ref.targetIDs, d.ID) {
				v.Transfer = append(v.Transfer, d)
			}
		}
	}
	tmpl := "consult_referral.html"
	if staff {
		tmpl = "admin_consult_referral.html"
	}
	p := h.App.NewPage(r, "consult.referral.title", v)
	p.Title = ref.Title
	v.Countdown = referralCountdown(p, ref, h.S.Now())
	p.Data = v
	p.Form = f
	dept := ref.Department
	p.Flashed("flash.consult_referral_created", ref.Title)
	p.Flashed("flash.consult_referral_accepted", ref.Title, dept)
	p.Flashed("flash.consult_referral_replied", ref.Title)
	p.Flashed("flash.consult_referral_finished", ref.Title)
	p.Flashed("flash.consult_referral_rated", ref.Title)
	p.Flashed("flash.consult_referral_reopened", ref.Title)
	h.App.RenderPage(w, r, tmpl, p, ferr)
}

// referralFlash names each action as done, for the flash after it.
var referralFlash = map[string]string{"accept": "flash.consult_referral_accepted", "transfer": "flash.consult_referral_transferred",
	"reply": "flash.consult_referral_replied", "finish": "flash.consult_referral_finished", "rate": "flash.consult_referral_rated", "reopen": "flash.consult_referral_reopened"}

func (h *Handlers) referralAct(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	staff := r.URL.Path == fmt.Sprintf("/admin/consult/referrals/%d/actions", id)
	f, photos, err := web.ReadPhotoForm(w, r, maxReplyPhotos, bank.MaxPhotoBytes)
	if err != nil {
		h.renderReferral(w, r, id, staff, f, err)
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	in := ReferralAction{Action: f.Get("action"), DepartmentID: web.FormID(f.Get("department_id")), Reason: f.Get("reason"), Body: f.Get("body"),
		Satisfaction: f.Get("satisfaction"), Photos: photos}
	back := fmt.Sprintf("/consult/referrals/%d", id)
	if staff {
		back = fmt.Sprintf("/admin/consult/referrals/%d", id)
	}
	if in.Action == "transfer" {
		// The question names the referral; it is asked only of a department that may transfer it.
		ref, err := h.S.Referral(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if !slices.Contains(ref.Actions, "transfer") {
			h.renderReferral(w, r, id, staff, f, errs.New(errs.Forbidden, "flow.not_your_part"))
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "consult.referral.confirm_transfer", What: "consult.referral.confirm_transfer_what", Args: []any{ref.Title}, Back: back})
		if !ok {
			return
		}
		in.Reason = reason
	}
	after, err := h.S.ActReferral(ctx, a, id, in)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			h.App.Error(w, r, err)
			return
		}
		h.renderReferral(w, r, id, staff, f, err)
		return
	}
	key := referralFlash[in.Action]
	if in.Action == "rate" && after.Status == ReferralAccepted {
		key = referralFlash["reopen"]
	}
	if in.Action == "transfer" {
		// The referral is no longer the department's: it lands on its board.
		web.Redirect(w, r, web.FlashURL("/admin/consult/referrals", key, 0))
		return
	}
	web.Redirect(w, r, web.FlashURL(back, key, 0))
}

func (h *Handlers) progressPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	p, err := h.S.VillageProgress(r.Context(), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	page := h.App.NewPage(r, "consult.progress.title", p)
	h.App.RenderPage(w, r, "consult_progress.html", page, nil)
}

// ---- API

func (h *Handlers) apiReferrals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.S.Referrals(r.Context(), auth.From(r.Context()), ReferralFilter{Status: q.Get("status"), Overdue: q.Get("overdue") == "1"})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiReferralCreate(w http.ResponseWriter, r *http.Request) {
	var in ReferralInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	ref, err := h.S.CreateReferral(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, ref, err)
}

func (h *Handlers) apiReferral(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ref, err := h.S.Referral(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, ref, err)
}

func (h *Handlers) apiReferralAct(w http.ResponseWriter, r *http.Request) {
	var in ReferralAction
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	ref, err := h.S.ActReferral(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, ref, err)
}
