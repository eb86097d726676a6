package volunteer

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// villages are the villages the actor leads, and the one chosen (?village_id= or the first).
func (h *Handlers) villages(r *http.Request, form url.Values) ([]people.Village, int64, error) {
	a := auth.From(r.Context())
	all, err := h.S.People.Villages(r.Context(), a, a.TownID)
	if err != nil {
		return nil, 0, err
	}
	var vs []people.Village
	for _, v := range all {
		if lead(a, v.TownID, v.ID) == nil {
			vs = append(vs, v)
		}
	}
	id := web.QueryInt(r, "village_id")
	if id == 0 && form != nil {
		id = parseID(form.Get("village_id"))
	}
	if id == 0 && len(vs) > 0 {
		id = vs[0].ID
	}
	if id != 0 && !slices.ContainsFunc(vs, func(v people.Village) bool { return v.ID == id }) {
		return nil, 0, notFound
	}
	return vs, id, nil
}

// teamsView is a village's teams with the staff who could lead them.
type teamsView struct {
	Villages   []people.Village
	Village    int64
	Teams      []Team
	Candidates []Candidate
}

func (h *Handlers) adminTeams(w http.ResponseWriter, r *http.Request) { h.renderTeams(w, r, nil) }

func (h *Handlers) renderTeams(w http.ResponseWriter, r *http.Request, ferr error) {
	vs, vid, err := h.villages(r, r.PostForm)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := teamsView{Villages: vs, Village: vid}
	if vid != 0 {
		a := auth.From(r.Context())
		if v.Teams, err = h.S.Teams(r.Context(), a, vid); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Candidates, err = h.S.LeaderCandidates(r.Context(), a, vid); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.RenderForm(w, r, "admin_volunteer.html", "volunteer.admin.title", v, r.PostForm, ferr)
}

func (h *Handlers) setLeader(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		on := r.PostFormValue("op") != "remove"
		if err := h.S.SetLeader(r.Context(), auth.From(r.Context()), id, parseID(r.PostFormValue("account_id")), on); err != nil {
			h.renderTeams(w, r, err)
			return
		}
		web.Redirect(w, r, "/admin/volunteer?flash=flash.saved&village_id="+r.PostFormValue("village_id"))
	})
}

// postsView is the posts of a village and the form to publish one.
type postsView struct {
	Villages []people.Village
	Village  int64
	Teams    []Team
	Posts    []Post
	Skills   []string
	Rules    []string
	Weekdays []int
}

func (h *Handlers) adminPosts(w http.ResponseWriter, r *http.Request) { h.renderPosts(w, r, nil, nil) }

func (h *Handlers) renderPosts(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	a := auth.From(r.Context())
	vs, vid, err := h.villages(r, form)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := postsView{Villages: vs, Village: vid, Skills: Skills, Weekdays: []int{1, 2, 3, 4, 5, 6, 7}}
	if vid != 0 {
		if v.Teams, err = h.S.Teams(r.Context(), a, vid); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Posts, err = h.S.Posts(r.Context(), a, PostFilter{VillageID: vid}); err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Rules = h.S.ruleCodes(r, vid)
	}
	if form == nil {
		form = url.Values{"open_to": {"village"}, "capacity": {"5"}, "rule_code": {"volunteer"}}
	}
	h.App.RenderForm(w, r, "admin_volunteer_posts.html", "volunteer.admin_posts.title", v, form, ferr)
}

// postForm reads the publish form: one shift, or a weekly pattern when weekdays are ticked.
func postForm(f url.Values) PostInput {
	in := PostInput{TeamID: parseID(f.Get("team_id")), Title: f.Get("title"), Description: f.Get("description"), Place: f.Get("place"),
		Skills: f["skills"], OpenTo: f.Get("open_to"), RuleCode: f.Get("rule_code")}
	if days := f["weekdays"]; len(days) > 0 {
		rep := &Repeat{Start: f.Get("start"), End: f.Get("end"), From: f.Get("date"), Until: f.Get("until"), Capacity: formInt(f, "capacity")}
		for _, d := range days {
			rep.Weekdays = append(rep.Weekdays, int(parseID(d)))
		}
		in.Repeat = rep
	} else {
		in.Shifts = []ShiftInput{{Date: f.Get("date"), Start: f.Get("start"), End: f.Get("end"), Capacity: formInt(f, "capacity")}}
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
	if err := r.ParseForm(); err != nil {
		h.App.Error(w, r, errs.New(errs.Invalid, "error.invalid"))
		return
	}
	p, err := h.S.CreatePost(r.Context(), auth.From(r.Context()), postForm(r.PostForm))
	if err != nil {
		h.renderPosts(w, r, r.PostForm, formErr(err))
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/volunteer/posts/%d?flash=flash.saved", p.ID))
}

// rosterView is a post's roster: its shifts, the coming ones first unless all are asked for.
type rosterView struct {
	Post   Post
	Shifts []Shift
	All    bool
	Hidden int
}

func (h *Handlers) adminPost(w http.ResponseWriter, r *http.Request) { h.renderRoster(w, r, nil, nil) }

func (h *Handlers) renderRoster(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	h.withID(w, r, func(id int64) {
		p, shifts, err := h.S.Roster(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v := rosterView{Post: p, All: r.URL.Query().Get("all") == "1"}
		if v.All || len(shifts) <= 60 {
			v.Shifts = shifts
		} else {
			// The recent past and what is coming: a long-running post has thousands of shifts.
			now := h.S.Now()
			for _, sh := range shifts {
				if sh.EndsAt.After(now.AddDate(0, 0, -14)) && len(v.Shifts) < 60 {
					v.Shifts = append(v.Shifts, sh)
				}
			}
			v.Hidden = len(shifts) - len(v.Shifts)
		}
		if form == nil {
			form = url.Values{"capacity": {"5"}}
		}
		h.App.RenderForm(w, r, "admin_volunteer_post.html", "volunteer.roster.title", v, form, ferr)
	})
}

func (h *Handlers) addShifts(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if err := r.ParseForm(); err != nil {
			h.App.Error(w, r, errs.New(errs.Invalid, "error.invalid"))
			return
		}
		in := postForm(r.PostForm)
		if _, err := h.S.AddShifts(r.Context(), auth.From(r.Context()), id, in.Shifts, in.Repeat); err != nil {
			h.renderRoster(w, r, r.PostForm, formErr(err))
			return
		}
		web.Redirect(w, r, fmt.Sprintf("/admin/volunteer/posts/%d?flash=flash.saved", id))
	})
}

func (h *Handlers) closePost(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if _, err := h.S.ClosePost(r.Context(), auth.From(r.Context()), id); err != nil {
			h.App.Error(w, r, err)
			return
		}
		web.Redirect(w, r, fmt.Sprintf("/admin/volunteer/posts/%d?flash=flash.saved", id))
	})
}

// shiftView is a shift at the site: its sign-ups and what the leader can do.
type shiftView struct {
	Shift   Shift
	Post    Post
	ScanURL string
	Result  *CompleteResult
}

func (h *Handlers) adminShift(w http.ResponseWriter, r *http.Request) {
	h.renderShift(w, r, nil, nil, nil)
}

func (h *Handlers) renderShift(w http.ResponseWriter, r *http.Request, form url.Values, ferr error, res *CompleteResult) {
	h.withID(w, r, func(id int64) {
		a := auth.From(r.Context())
		if _, _, err := h.S.shiftFor(r.Context(), a, id); err != nil {
			h.App.Error(w, r, err)
			return
		}
		sh, p, err := h.S.Shift(r.Context(), a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		h.App.RenderForm(w, r, "admin_volunteer_shift.html", "volunteer.shift.title", shiftView{Shift: sh, Post: p, ScanURL: "/volunteer/scan?t=" + h.S.ShiftToken(id), Result: res}, form, ferr)
	})
}

func (h *Handlers) shiftQR(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if _, _, err := h.S.shiftFor(r.Context(), auth.From(r.Context()), id); err != nil {
			h.App.Error(w, r, err)
			return
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		png, err := qrPNG(scheme + "://" + r.Host + "/volunteer/scan?t=" + h.S.ShiftToken(id))
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	})
}

func (h *Handlers) checkin(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		in := CheckinInput{ResidentID: parseID(r.PostFormValue("resident_id")), VolunteerNumber: r.PostFormValue("volunteer_number"), Action: r.PostFormValue("action"), At: r.PostFormValue("at")}
		if _, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, in); err != nil {
			h.renderShift(w, r, r.PostForm, err, nil)
			return
		}
		web.Redirect(w, r, fmt.Sprintf("/admin/volunteer/shifts/%d?flash=flash.saved", id))
	})
}

func (h *Handlers) complete(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		res, err := h.S.Complete(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.renderShift(w, r, nil, err, nil)
			return
		}
		h.renderShift(w, r, nil, nil, &res)
	})
}

func (h *Handlers) message(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if _, err := h.S.Message(r.Context(), auth.From(r.Context()), id, r.PostFormValue("title"), r.PostFormValue("body")); err != nil {
			h.renderShift(w, r, r.PostForm, err, nil)
			return
		}
		web.Redirect(w, r, fmt.Sprintf("/admin/volunteer/shifts/%d?flash=flash.volunteer_message_sent", id))
	})
}

func (h *Handlers) adminNeeds(w http.ResponseWriter, r *http.Request) {
	h.renderAdminNeeds(w, r, nil, nil)
}

func (h *Handlers) renderAdminNeeds(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	vs, vid, err := h.villages(r, form)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "active"
	}
	if status == "all" {
		status = ""
	}
	v := needsView{Villages: vs, Village: vid, Categories: CategoryList, Urgencies: Urgencies, Status: r.URL.Query().Get("status")}
	if vid != 0 {
		if v.Needs, err = h.S.Needs(r.Context(), auth.From(r.Context()), NeedFilter{VillageID: vid, Status: status}); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if form == nil {
		form = url.Values{"urgency": {"normal"}}
	}
	h.App.RenderForm(w, r, "admin_volunteer_needs.html", "volunteer.admin_needs.title", v, form, ferr)
}

func (h *Handlers) recordNeed(w http.ResponseWriter, r *http.Request) {
	in := NeedInput{VillageID: parseID(r.PostFormValue("village_id")), Category: r.PostFormValue("category"), Description: r.PostFormValue("description"),
		ForName: r.PostFormValue("for_name"), ForResidentID: parseID(r.PostFormValue("for_resident_id")), Urgency: r.PostFormValue("urgency")}
	n, err := h.S.CreateNeed(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderAdminNeeds(w, r, r.PostForm, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/admin/volunteer/needs/%d?flash=flash.saved", n.ID))
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
	vs, vid, err := h.villages(r, nil)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := volunteersView{Villages: vs, Village: vid, Skill: r.URL.Query().Get("skill"), Skills: Skills}
	if vid != 0 {
		if v.Volunteers, err = h.S.Volunteers(r.Context(), auth.From(r.Context()), vid, v.Skill); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.RenderForm(w, r, "admin_volunteer_volunteers.html", "volunteer.volunteers.title", v, nil, nil)
}

func (h *Handlers) adminRecord(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		rec, err := h.S.RecordOf(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		h.App.RenderForm(w, r, "volunteer_record.html", "volunteer.record.title", rec, nil, nil)
	})
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
