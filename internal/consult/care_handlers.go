package consult

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// registerCare adds the care team's pages and API: the team and its intervals (the town), the
// visit book and the care schedule (members and the town), a resident's contact card and ratings.
func (h *Handlers) registerCare() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/care", Access: web.Staff, Summary: "the care team (贴心服务队): members, their villages and households, visit intervals"}, h.careTeam)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/care/members", Access: web.Staff, Summary: "add a login holding the care_team role to the team"}, h.careAdd)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/care/members/{id}", Access: web.Staff, Summary: "a member's card and assignments, with a household picker (q)"}, h.careMemberPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/care/members/{id}", Access: web.Staff, Summary: "change a member's card, photo, villages and households"}, h.careSave)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/care/members/{id}/deactivate", Access: web.Staff, Summary: "take a member off the team, asking first, with a reason"}, h.careDeactivate)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/care/intervals", Access: web.Staff, Summary: "change how often each care tag is visited, in days"}, h.careSetIntervals)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/care/schedule", Access: web.Staff, Summary: "the care schedule: tagged residents, last visit, due date, status (village_id, member_id, status)"}, h.careSchedulePage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/visits", Access: web.Staff, Summary: "the visit book: a member's own, the town's for its managers (village_id, member_id, from, to)"}, h.careVisits)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/visits/new", Access: web.Staff, Summary: "log a visit: pick a household (q), then the form (household)"}, h.careNewVisit)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/visits", Access: web.Staff, Summary: "write a visit in the book, with photos and needs found"}, h.careLogVisit)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/visits/{id}", Access: web.Staff, Summary: "a visit, what it found and where that went"}, h.careVisitPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/visits/{id}/topic", Access: web.Staff, Summary: "raise a topic from what a visit found"}, h.carePromote)
	a.Handle(web.Route{Method: "GET", Path: "/consult/care", Access: web.LoggedIn, Summary: "我的联系干部: a resident's contact cadres and the visits to their household"}, h.careCard)
	a.Handle(web.Route{Method: "POST", Path: "/consult/visits/{id}/rating", Access: web.LoggedIn, Summary: "rate a visit to one's household, once"}, h.careRate)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/visits", API: true, Access: web.LoggedIn,
		Summary: "the visit book: a member's own visits, the town's for its managers (village_id, member_id, from, to)", Response: []Visit{}}, h.apiVisits)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/visits", API: true, Access: web.LoggedIn, Statuses: []int{http.StatusCreated},
		Summary: "write a visit in the book (a member, for a household of theirs; 201); needs found become 微志愿 needs", Request: VisitInput{}, Response: Visit{}}, h.apiLogVisit)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/care/schedule", API: true, Access: web.LoggedIn,
		Summary: "the care schedule: a member's households, the town's for its managers (village_id, member_id, status)", Response: []ScheduleRow{}}, h.apiSchedule)
}

// careTeamView is the team page.
type careTeamView struct {
	Members   []Member
	Logins    []CareLogin
	Intervals []Interval
}

func (h *Handlers) careTeam(w http.ResponseWriter, r *http.Request) {
	h.careTeamForm(w, r, nil, nil)
}

// careTeamForm draws the team page, with a refused form's values and errors.
func (h *Handlers) careTeamForm(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	var v careTeamView
	var err error
	if v.Members, err = h.S.Members(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Logins, err = h.S.CareLogins(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Intervals, err = h.S.Intervals(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.care.title", v)
	p.Form = form
	h.App.RenderPage(w, r, "admin_consult_care.html", p, ferr)
}

func (h *Handlers) careAdd(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	form, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	accountID, _ := strconv.ParseInt(form.Get("account_id"), 10, 64)
	m, err := h.S.AddMember(ctx, a, 0, MemberInput{AccountID: accountID, Title: form.Get("title"), Phone: form.Get("phone")})
	if err != nil {
		if _, refused := careRefusal(err); refused {
			h.careTeamForm(w, r, form, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/care/members/%d", m.ID), "flash.consult_care_member_added", m.ID), http.StatusSeeOther)
}

// careRefusal reports whether err is a refusal of the form's values (to draw again) rather than of
// the request.
func careRefusal(err error) (errs.Code, bool) {
	e, ok := errs.As(err)
	if !ok {
		return "", false
	}
	return e.Code, e.Code == errs.Invalid || e.Code == errs.Conflict || e.Code == errs.TooLarge
}

// careMemberView is a member's page.
type careMemberView struct {
	Member   Member
	Villages []CareVillage
	Found    []CareHousehold
	Query    string
}

// Assigned reports whether a household is one of the member's.
func (v careMemberView) Assigned(id int64) bool {
	for _, h := range v.Member.Households {
		if h.ID == id {
			return true
		}
	}
	return false
}

func (h *Handlers) careMemberPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.careMemberForm(w, r, id, nil, nil)
}

// careMemberForm draws a member's page, with a refused form's values and errors.
func (h *Handlers) careMemberForm(w http.ResponseWriter, r *http.Request, id int64, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	m, err := h.S.Member(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := careMemberView{Member: m, Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if v.Villages, err = h.careTownVillages(r, m.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Query != "" {
		if v.Found, err = h.S.CareHouseholdSearch(ctx, a, id, v.Query); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if form == nil {
		form = url.Values{"title": {m.Title}, "phone": {m.Phone}}
	}
	p := h.App.NewPage(r, "consult.care.member_title", v)
	p.Form = form
	p.Flashed("flash.consult_care_member_added", m.Name)
	p.Flashed("flash.consult_care_member_saved", m.Name)
	p.Flashed("flash.consult_care_member_deactivated", m.Name)
	h.App.RenderPage(w, r, "admin_consult_care_member.html", p, ferr)
}

// careTownVillages are a town's villages, for the pickers of the team's pages.
func (h *Handlers) careTownVillages(r *http.Request, townID int64) ([]CareVillage, error) {
	rows, err := h.S.DB.Read().QueryContext(r.Context(), `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY id`, townID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CareVillage
	for rows.Next() {
		var cv CareVillage
		if err := rows.Scan(&cv.ID, &cv.Name); err != nil {
			return nil, err
		}
		out = append(out, cv)
	}
	return out, rows.Err()
}

// careIDs64 reads a form's list of ids.
func careIDs64(vals []string) []int64 {
	var out []int64
	for _, s := range vals {
		if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && id > 0 {
			out = append(out, id)
		}
	}
	return out
}

func (h *Handlers) careSave(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	form, photos, err := web.ReadPhotoForm(w, r, 1, bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.UpdateMember(ctx, a, id, MemberInput{Title: form.Get("title"), Phone: form.Get("phone"),
			VillageIDs: careIDs64(form["village_ids"]), HouseholdIDs: careIDs64(form["household_ids"]), Photo: photos})
	}
	if err != nil {
		if _, refused := careRefusal(err); refused {
			if _, merr := h.S.Member(ctx, a, id); merr != nil {
				h.App.Error(w, r, merr)
				return
			}
			h.careMemberForm(w, r, id, form, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/care/members/%d", id), "flash.consult_care_member_saved", id), http.StatusSeeOther)
}

func (h *Handlers) careDeactivate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	form, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	m, err := h.S.Member(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, form, web.Question{Title: "consult.care.deactivate_title", TitleArgs: []any{m.Name}, What: "consult.care.deactivate_what",
		Args: []any{m.Name, m.HouseholdsN}, Back: fmt.Sprintf("/admin/consult/care/members/%d", id)})
	if !ok {
		return
	}
	if _, err := h.S.DeactivateMember(ctx, a, id, reason); err != nil {
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/care/members/%d", id), "flash.consult_care_member_deactivated", id), http.StatusSeeOther)
}

func (h *Handlers) careSetIntervals(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	form, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	days := map[people.CareTag]int{}
	for _, t := range people.CareTags {
		if s := strings.TrimSpace(form.Get("days_" + string(t))); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				n = -1
			}
			days[t] = n
		}
	}
	if err := h.S.SetIntervals(ctx, a, 0, days); err != nil {
		if _, refused := careRefusal(err); refused {
			h.careTeamForm(w, r, form, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL("/admin/consult/care", "flash.consult_care_intervals", 0), http.StatusSeeOther)
}

// careScheduleView is the schedule page: its rows, the filter and the choices of it.
type careScheduleView struct {
	Rows     []ScheduleRow
	Filter   ScheduleFilter
	Villages []CareVillage
	Members  []CareVillage
	Counts   map[string]int
	Statuses []string
	// Figures are the month's numbers, for the town's managers.
	Figures *CareFigures
}

// careScheduleFilter reads the schedule's filter from the address.
func careScheduleFilter(r *http.Request) ScheduleFilter {
	st := r.URL.Query().Get("status")
	if st != CareOK && st != CareDue && st != CareOverdue {
		st = ""
	}
	return ScheduleFilter{VillageID: web.QueryInt(r, "village_id"), MemberID: web.QueryInt(r, "member_id"), Status: st}
}

func (h *Handlers) careSchedulePage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := careScheduleView{Filter: careScheduleFilter(r), Counts: map[string]int{}, Statuses: []string{CareOverdue, CareDue, CareOK}}
	all, err := h.S.Schedule(ctx, a, ScheduleFilter{})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	seenV, seenM := map[int64]bool{}, map[int64]bool{}
	for _, row := range all {
		if !seenV[row.VillageID] {
			seenV[row.VillageID] = true
			v.Villages = append(v.Villages, CareVillage{row.VillageID, row.VillageName})
		}
		if row.MemberID != 0 && !seenM[row.MemberID] {
			seenM[row.MemberID] = true
			v.Members = append(v.Members, CareVillage{row.MemberID, row.MemberName})
		}
		f := v.Filter
		if (f.VillageID == 0 || row.VillageID == f.VillageID) && (f.MemberID == 0 || row.MemberID == f.MemberID) {
			v.Counts[row.Status]++
			if f.Status == "" || row.Status == f.Status {
				v.Rows = append(v.Rows, row)
			}
		}
	}
	if manages(a, a.TownID) {
		today, err := h.S.careToday(ctx, a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		f, err := h.S.CareFigures(ctx, a, a.TownID, today.Format("2006-01")+"-01", today.Format(time.DateOnly))
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Figures = &f
	}
	h.App.RenderForm(w, r, "admin_consult_care_schedule.html", "consult.care.schedule_title", v, nil, nil)
}

// careVisitsView is the visit book's page.
type careVisitsView struct {
	Visits   []Visit
	Filter   VisitFilter
	Manager  bool
	Members  []Member
	Villages []CareVillage
}

func (h *Handlers) careVisits(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	v := careVisitsView{Filter: VisitFilter{VillageID: web.QueryInt(r, "village_id"), MemberID: web.QueryInt(r, "member_id"), From: q.Get("from"), To: q.Get("to")}}
	var err error
	if v.Visits, err = h.S.Visits(ctx, a, v.Filter); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Manager = manages(a, a.TownID); v.Manager {
		if v.Members, err = h.S.Members(ctx, a, 0); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Villages, err = h.careTownVillages(r, a.TownID); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "consult.visit.list_title", v)
	p.Flashed("flash.consult_visit_logged")
	h.App.RenderPage(w, r, "admin_consult_visits.html", p, nil)
}

// careNewVisitView is the form of a visit: the household picked, or the picker.
type careNewVisitView struct {
	Household  *CareHousehold
	Found      []CareHousehold
	Query      string
	Today      string
	Categories []string
	Urgencies  []string
	NeedRows   []int
}

func (h *Handlers) careNewVisit(w http.ResponseWriter, r *http.Request) {
	h.careVisitForm(w, r, web.QueryInt(r, "household"), nil, nil)
}

// careVisitForm draws the visit form for a household the actor may visit, or the picker.
func (h *Handlers) careVisitForm(w http.ResponseWriter, r *http.Request, householdID int64, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := careNewVisitView{Query: strings.TrimSpace(r.URL.Query().Get("q")), Urgencies: volunteer.Urgencies, NeedRows: []int{0, 1, 2}}
	for c := range volunteer.Categories {
		v.Categories = append(v.Categories, c)
	}
	slices.Sort(v.Categories)
	if householdID > 0 {
		hh, err := h.S.careHouseholdOf(ctx, h.S.DB.Read(), householdID)
		if err != nil {
			h.App.Error(w, r, auth.Refuse(a, PermCare))
			return
		}
		_, ok, err := h.S.careVisits(ctx, h.S.DB.Read(), a, hh)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if !ok {
			h.App.Error(w, r, auth.Refuse(a, PermCare))
			return
		}
		list, err := h.S.careHouseholds(ctx, h.S.DB.Read(), `WHERE h.id = $1`, householdID)
		if err != nil || len(list) == 0 {
			h.App.Error(w, r, auth.Refuse(a, PermCare))
			return
		}
		v.Household = &list[0]
		today, err := h.S.careToday(ctx, hh.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Today = today.Format(time.DateOnly)
	} else {
		var err error
		if v.Found, err = h.S.VisitHouseholds(ctx, a, v.Query); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "consult.visit.new_title", v)
	if form == nil && v.Household != nil {
		form = url.Values{"visited_on": {v.Today}}
	}
	p.Form = form
	h.App.RenderPage(w, r, "admin_consult_visit_new.html", p, ferr)
}

// careVisitInput reads a visit from its form: up to three needs as parallel lists.
func careVisitInput(form url.Values, photos [][]byte) VisitInput {
	hid, _ := strconv.ParseInt(form.Get("household_id"), 10, 64)
	in := VisitInput{HouseholdID: hid, VisitedOn: form.Get("visited_on"), Met: form.Get("met"), Notes: form.Get("notes"), Photos: photos}
	cats, descs, urg := form["need_category"], form["need_description"], form["need_urgency"]
	for i := range descs {
		d := strings.TrimSpace(descs[i])
		c := ""
		if i < len(cats) {
			c = cats[i]
		}
		if d == "" && c == "" {
			continue
		}
		n := VisitNeed{Category: c, Description: d}
		if i < len(urg) {
			n.Urgency = urg[i]
		}
		in.Needs = append(in.Needs, n)
	}
	return in
}

func (h *Handlers) careLogVisit(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	form, photos, err := web.ReadPhotoForm(w, r, maxVisitPhotos, bank.MaxPhotoBytes)
	in := careVisitInput(form, photos)
	var v Visit
	if err == nil {
		v, err = h.S.LogVisit(ctx, a, in)
	}
	if err != nil {
		if _, refused := careRefusal(err); refused && in.HouseholdID > 0 {
			h.careVisitForm(w, r, in.HouseholdID, form, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/visits/%d", v.ID), "flash.consult_visit_logged", v.ID), http.StatusSeeOther)
}

// careVisitView is a visit's page: the visit and what the viewer may do with it.
type careVisitView struct {
	Visit      Visit
	Mine       bool
	Manager    bool
	Categories []Category
}

func (h *Handlers) careVisitPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	vis, err := h.S.Visit(ctx, a, id)
	if err == nil && !manages(a, vis.TownID) && vis.memberAccount != a.AccountID {
		err = auth.Refuse(a, PermCare) // a resident reads their visits on /consult/care
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.careVisitRender(w, r, vis, nil, nil)
}

// careVisitRender draws a visit's page, with a refused topic form's values and errors.
func (h *Handlers) careVisitRender(w http.ResponseWriter, r *http.Request, vis Visit, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := careVisitView{Visit: vis, Mine: vis.memberAccount == a.AccountID, Manager: manages(a, vis.TownID)}
	var err error
	if v.Categories, err = h.S.Categories(ctx, a, vis.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.visit.title", v)
	p.Form = form
	p.Flashed("flash.consult_visit_logged")
	p.Flashed("flash.consult_visit_topic")
	h.App.RenderPage(w, r, "admin_consult_visit.html", p, ferr)
}

func (h *Handlers) carePromote(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	form, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	cat, _ := strconv.ParseInt(form.Get("category_id"), 10, 64)
	_, err := h.S.PromoteVisit(ctx, a, id, TopicInput{CategoryID: cat, Title: strings.TrimSpace(form.Get("title")), Description: strings.TrimSpace(form.Get("description"))})
	if err != nil {
		if _, refused := careRefusal(err); refused {
			if vis, verr := h.S.Visit(ctx, a, id); verr == nil {
				h.careVisitRender(w, r, vis, form, err)
				return
			}
		}
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/visits/%d", id), "flash.consult_visit_topic", id), http.StatusSeeOther)
}

func (h *Handlers) careCard(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	c, err := h.S.MyCare(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.home.my_cadres", c)
	p.Flashed("flash.consult_visit_rated")
	h.App.RenderPage(w, r, "consult_care.html", p, nil)
}

// careRatingWords are the words a resident may rate a visit with, and their ratings.
var careRatingWords = map[string]int{"满意": 5, "基本满意": 3, "不满意": 1}

func (h *Handlers) careRate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	form, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	rating, err := strconv.Atoi(strings.TrimSpace(form.Get("rating")))
	if err != nil {
		rating = careRatingWords[strings.TrimSpace(form.Get("rating"))]
	}
	if _, err := h.S.RateVisit(ctx, a, id, VisitRating{Rating: rating, Comment: form.Get("comment")}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL("/consult/care", "flash.consult_visit_rated", 0), http.StatusSeeOther)
}

func (h *Handlers) apiVisits(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.S.Visits(r.Context(), auth.From(r.Context()), VisitFilter{VillageID: web.QueryInt(r, "village_id"), MemberID: web.QueryInt(r, "member_id"), From: q.Get("from"), To: q.Get("to")})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiLogVisit(w http.ResponseWriter, r *http.Request) {
	var in VisitInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	v, err := h.S.LogVisit(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, v, err)
}

func (h *Handlers) apiSchedule(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Schedule(r.Context(), auth.From(r.Context()), careScheduleFilter(r))
	h.App.Reply(w, r, http.StatusOK, list, err)
}
