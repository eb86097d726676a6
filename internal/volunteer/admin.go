package volunteer

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

func (h *Handlers) registerAdmin() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer", Access: web.Staff, Summary: "a village's six teams, leaders and volunteers"}, h.adminTeams)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/teams/{id}/leaders", Access: web.Staff, Summary: "add or remove a team leader"}, h.setLeader)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/posts", Access: web.Staff, Summary: "posts, and the form to publish one"}, h.adminPosts)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/posts", Access: web.Staff, Summary: "publish a post"}, h.createPost)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/posts/{id}", Access: web.Staff, Summary: "a post's roster"}, h.adminPost)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/posts/{id}/shifts", Access: web.Staff, Summary: "add shifts to a post"}, h.addShifts)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/posts/{id}/close", Access: web.Staff, Summary: "close a post"}, h.closePost)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/shifts/{id}", Access: web.Staff, Summary: "a shift: sign-ups, check-in and out, completion, messages"}, h.adminShift)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/shifts/{id}/qr.png", Access: web.Staff, Summary: "the QR code to post at a shift's site"}, h.shiftQR)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/shifts/{id}/checkin", Access: web.Staff, Summary: "check a volunteer in or out"}, h.checkin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/shifts/{id}/complete", Access: web.Staff, Summary: "confirm a shift complete and pay its volunteers"}, h.complete)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/shifts/{id}/message", Access: web.Staff, Summary: "message everyone on a shift"}, h.message)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/needs", Access: web.Staff, Summary: "the needs queue, and the form for a visit"}, h.adminNeeds)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/needs", Access: web.Staff, Summary: "record a need found at the door"}, h.recordNeed)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/needs/{id}", Access: web.Staff, Summary: "a need: suggest, assign, refuse"}, h.needPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/volunteer/needs/{id}", Access: web.Staff, Summary: "move a need on"}, h.act)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/volunteers", Access: web.Staff, Summary: "a village's volunteers by skill"}, h.adminVolunteers)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/volunteers/{id}", Access: web.Staff, Summary: "a volunteer's service record"}, h.adminRecord)
	a.Handle(web.Route{Method: "GET", Path: "/admin/volunteer/figures", Access: web.Staff, Summary: "figures by village and team kind"}, h.adminFigures)
}

// villageAsked is the village a console page is asked for: ?village_id=, or the refused form's.
func villageAsked(r *http.Request, f url.Values) int64 {
	if id := web.QueryInt(r, "village_id"); id != 0 || f == nil {
		return id
	}
	return web.FormID(f.Get("village_id"))
}

// teamsView is a village's teams with the staff who could lead them.
type teamsView struct {
	Villages   []people.Village
	Village    int64
	Teams      []Team
	Candidates []Candidate
}

func (h *Handlers) adminTeams(w http.ResponseWriter, r *http.Request) { h.renderTeams(w, r, nil, nil) }

func (h *Handlers) renderTeams(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	var v teamsView
	var err error
	if v.Villages, v.Village, err = h.S.Villages(ctx, a, villageAsked(r, f)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Village != 0 {
		if v.Teams, err = h.S.Teams(ctx, a, v.Village); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Candidates, err = h.S.LeaderCandidates(ctx, a, v.Village); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "volunteer.admin.title", v)
	p.Form = f
	for _, t := range v.Teams {
		if t.ID == p.FlashID() {
			leaders := p.T("volunteer.no_leader")
			if len(t.Leaders) > 0 {
				leaders = strings.Join(t.Leaders, p.T("volunteer.list_sep"))
			}
			p.Flashed("flash.volunteer_leader_added", p.T("volunteer.kind."+string(t.Kind)), leaders)
			p.Flashed("flash.volunteer_leader_removed", p.T("volunteer.kind."+string(t.Kind)), leaders)
		}
	}
	h.App.RenderPage(w, r, "admin_volunteer.html", p, ferr)
}

func (h *Handlers) setLeader(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	on := f.Get("op") != "remove"
	if err := h.S.SetLeader(r.Context(), auth.From(r.Context()), id, web.FormID(f.Get("account_id")), on); err != nil {
		h.renderTeams(w, r, f, err)
		return
	}
	flash := "flash.volunteer_leader_added"
	if !on {
		flash = "flash.volunteer_leader_removed"
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer?village_id=%d", web.FormID(f.Get("village_id"))), flash, id))
}

// postsView is the posts of a village and the form to publish one.
type postsView struct {
	Villages []people.Village
	Village  int64
	Teams    []Team
	Posts    []Post
	Skills   []string
	Rules    []PostRule
	Weekdays []int
}

func (h *Handlers) adminPosts(w http.ResponseWriter, r *http.Request) { h.renderPosts(w, r, nil, nil) }

func (h *Handlers) renderPosts(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := postsView{Skills: Skills, Weekdays: []int{1, 2, 3, 4, 5, 6, 7}}
	var err error
	if v.Villages, v.Village, err = h.S.Villages(ctx, a, villageAsked(r, f)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Village != 0 {
		if v.Teams, err = h.S.Teams(ctx, a, v.Village); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Posts, err = h.S.Posts(ctx, a, PostFilter{VillageID: v.Village}); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Rules, err = h.S.Rules(ctx, a, v.Village); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if f == nil {
		f = url.Values{"open_to": {"village"}, "capacity": {"5"}, "rule_code": {"volunteer"}}
	}
	h.App.RenderForm(w, r, "admin_volunteer_posts.html", "volunteer.admin_posts.title", v, f, ferr)
}

// postForm reads the publish form: one shift, or a weekly pattern when weekdays are ticked.
func postForm(f url.Values) PostInput {
	in := PostInput{TeamID: web.FormID(f.Get("team_id")), Title: f.Get("title"), Description: f.Get("description"), Place: f.Get("place"),
		Skills: f["skills"], OpenTo: f.Get("open_to"), RuleCode: f.Get("rule_code")}
	if days := f["weekdays"]; len(days) > 0 {
		rep := &Repeat{Start: f.Get("start"), End: f.Get("end"), From: f.Get("date"), Until: f.Get("until"), Capacity: web.FormInt(f.Get("capacity"))}
		for _, d := range days {
			rep.Weekdays = append(rep.Weekdays, web.FormInt(d))
		}
		in.Repeat = rep
	} else {
		in.Shifts = []ShiftInput{{Date: f.Get("date"), Start: f.Get("start"), End: f.Get("end"), Capacity: web.FormInt(f.Get("capacity"))}}
	}
	return in
}

// formErr renames a service's field errors to the form's names (shifts[0].date is date).
func formErr(err error) error {
	e, ok := errs.As(err)
	if !ok {
		return err
	}
	c := *e
	c.Fields = nil
	for _, f := range e.Fields {
		f.Field = strings.TrimPrefix(strings.TrimPrefix(f.Field, "shifts[0]."), "repeat.")
		if f.Field == "from" {
			f.Field = "date"
		}
		c.Fields = append(c.Fields, f)
	}
	return &c
}

func (h *Handlers) createPost(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	p, err := h.S.CreatePost(r.Context(), auth.From(r.Context()), postForm(f))
	if err != nil {
		h.renderPosts(w, r, f, formErr(err))
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/posts/%d", p.ID), "flash.volunteer_post_published", 0))
}

// rosterView is a post's roster: its shifts, the coming ones first unless all are asked for.
type rosterView struct {
	Post   Post
	Rule   PostRule
	RuleOK bool // the post's rule is still in force
	Shifts []Shift
	All    bool
	Hidden int
}

func (h *Handlers) adminPost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderRoster(w, r, id, nil, nil)
}

func (h *Handlers) renderRoster(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	p, shifts, err := h.S.Roster(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := rosterView{Post: p, All: r.URL.Query().Get("all") == "1"}
	if v.Rule, v.RuleOK, err = h.S.RuleOf(r.Context(), auth.From(r.Context()), p); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.All || len(shifts) <= 60 {
		v.Shifts = shifts
	} else {
		// The recent past and what is coming: a long-running post has thousands of shifts.
		since := h.S.Now().AddDate(0, 0, -14)
		for _, sh := range shifts {
			if sh.EndsAt.After(since) && len(v.Shifts) < 60 {
				v.Shifts = append(v.Shifts, sh)
			}
		}
		v.Hidden = len(shifts) - len(v.Shifts)
	}
	if f == nil {
		f = url.Values{"capacity": {"5"}}
	}
	page := h.App.NewPage(r, "volunteer.roster.title", v)
	page.Form = f
	page.Flashed("flash.volunteer_post_published", p.Title, len(shifts))
	page.Flashed("flash.volunteer_shifts_added", p.Title, len(shifts))
	page.Flashed("flash.volunteer_post_closed", p.Title, page.T("volunteer.post_status."+p.Status))
	h.App.RenderPage(w, r, "admin_volunteer_post.html", page, ferr)
}

func (h *Handlers) addShifts(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := postForm(f)
	if _, err := h.S.AddShifts(r.Context(), auth.From(r.Context()), id, in.Shifts, in.Repeat); err != nil {
		h.renderRoster(w, r, id, f, formErr(err))
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/posts/%d", id), "flash.volunteer_shifts_added", 0))
}

func (h *Handlers) closePost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	p, _, err := h.S.Roster(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	back := fmt.Sprintf("/admin/volunteer/posts/%d", id)
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "volunteer.confirm_close", What: "volunteer.confirm_close_what", Args: []any{p.Title}, Back: back})
	if !ok {
		return
	}
	if _, err := h.S.ClosePost(r.Context(), a, id, reason); err != nil {
		h.renderRoster(w, r, id, nil, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/posts/%d", id), "flash.volunteer_post_closed", 0))
}

// shiftView is a shift at the site: its sign-ups and what the leader can do.
type shiftView struct {
	Shift   Shift
	Post    Post
	ScanURL string
}

func (h *Handlers) adminShift(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderShift(w, r, id, nil, nil)
}

func (h *Handlers) renderShift(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	sh, p, err := h.S.ShiftRoster(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := shiftView{Shift: sh, Post: p, ScanURL: "/volunteer/scan?t=" + url.QueryEscape(h.S.ShiftToken(id))}
	page := h.App.NewPage(r, "volunteer.shift.title", v)
	page.Form = f
	shift := page.Span(sh.StartsAt, sh.EndsAt)
	for _, su := range sh.Signups {
		if su.ResidentID == page.FlashID() {
			page.Flashed("flash.volunteer_checked_in", su.Name, page.TimeOfDay(su.CheckedInAt))
			page.Flashed("flash.volunteer_checked_out", su.Name, page.TimeOfDay(su.CheckedOutAt))
			page.Flashed("flash.volunteer_scan_confirmed", su.Name, page.TimesOfDay(su.CheckedInAt, su.CheckedOutAt))
		}
	}
	page.Flashed("flash.volunteer_completed", p.Title, shift)
	page.Flashed("flash.volunteer_message_sent", p.Title, shift)
	h.App.RenderPage(w, r, "admin_volunteer_shift.html", page, ferr)
}

func (h *Handlers) shiftQR(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	tok, err := h.S.SiteToken(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	png, err := qrPNG(scheme + "://" + r.Host + "/volunteer/scan?t=" + url.QueryEscape(tok))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func (h *Handlers) checkin(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := CheckinInput{ResidentID: web.FormID(f.Get("resident_id")), VolunteerNumber: f.Get("volunteer_number"), Action: f.Get("action"), At: f.Get("at")}
	su, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, in)
	if err != nil {
		h.renderShift(w, r, id, f, err)
		return
	}
	// The flash says what the button did, for whom; it said the shift was complete and paid.
	flash := map[string]string{"in": "flash.volunteer_checked_in", "out": "flash.volunteer_checked_out", "confirm": "flash.volunteer_scan_confirmed"}[in.Action]
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/shifts/%d", id), flash, su.ResidentID))
}

func (h *Handlers) complete(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Complete(r.Context(), auth.From(r.Context()), id); err != nil {
		h.renderShift(w, r, id, nil, err)
		return
	}
	// The roster shows each volunteer's payment: paid, pending on notice, or refused and why.
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/shifts/%d", id), "flash.volunteer_completed", 0))
}

func (h *Handlers) message(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Message(r.Context(), auth.From(r.Context()), id, f.Get("title"), f.Get("body")); err != nil {
		h.renderShift(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/shifts/%d", id), "flash.volunteer_message_sent", 0))
}

func (h *Handlers) adminNeeds(w http.ResponseWriter, r *http.Request) {
	h.renderAdminNeeds(w, r, nil, nil)
}

func (h *Handlers) renderAdminNeeds(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := needsView{Categories: CategoryList, Urgencies: Urgencies, Status: r.URL.Query().Get("status")}
	var err error
	if v.Villages, v.Village, err = h.S.Villages(ctx, a, villageAsked(r, f)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	status := cmp.Or(v.Status, "active")
	if status == "all" {
		status = ""
	}
	if v.Village != 0 {
		if v.Needs, err = h.S.Needs(ctx, a, NeedFilter{VillageID: v.Village, Status: status}); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	// The form's 查找 button sends the form back here as a GET, so what was typed stays.
	if q := r.URL.Query(); f == nil && q.Has("for_q") {
		f = q
	}
	if f == nil {
		f = url.Values{"urgency": {"normal"}}
	}
	if v.Q = strings.TrimSpace(f.Get("for_q")); v.Q != "" && v.Village != 0 {
		page, err := h.S.People.Search(ctx, a, people.Filter{VillageID: v.Village, Q: v.Q, Page: 1})
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Found = page.Items
	}
	h.App.RenderForm(w, r, "admin_volunteer_needs.html", "volunteer.admin_needs.title", v, f, ferr)
}

func (h *Handlers) recordNeed(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := NeedInput{VillageID: web.FormID(f.Get("village_id")), Category: f.Get("category"), Description: f.Get("description"),
		ForName: f.Get("for_name"), ForResidentID: web.FormID(f.Get("for_resident_id")), Urgency: f.Get("urgency"),
		IdempotencyKey: f.Get("idempotency_key"), ConfirmDuplicate: f.Get(errs.ConfirmDuplicate) == "1"}
	n, err := h.S.CreateNeed(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderAdminNeeds(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/volunteer/needs/%d", n.ID), "flash.volunteer_need_recorded", 0))
}

// volunteersView is a village's volunteers, by skill.
type volunteersView struct {
	Villages   []people.Village
	Village    int64
	Skill      string
	Skills     []string
	Volunteers []Volunteer
}

func (h *Handlers) adminVolunteers(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := volunteersView{Skill: r.URL.Query().Get("skill"), Skills: Skills}
	var err error
	if v.Villages, v.Village, err = h.S.Villages(ctx, a, villageAsked(r, nil)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Village != 0 {
		if v.Volunteers, err = h.S.Volunteers(ctx, a, v.Village, v.Skill); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.RenderForm(w, r, "admin_volunteer_volunteers.html", "volunteer.volunteers.title", v, nil, nil)
}

func (h *Handlers) adminRecord(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	rec, err := h.S.RecordOf(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_record.html", "volunteer.record.title", rec, nil, nil)
}

func (h *Handlers) adminFigures(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	fs, err := h.S.Figures(r.Context(), a, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_volunteer_figures.html", "volunteer.figures.title", fs, nil, nil)
}
