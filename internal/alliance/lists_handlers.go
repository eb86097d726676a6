package alliance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/web"
)

// registerLists adds the pages and API of the three lists (三单对接): resources, needs, the
// matching board and projects.
func (h *Handlers) registerLists() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/resources", Access: web.Staff, Summary: "the resources list (资源清单): a town's for staff and villages, a unit's own for its liaison, and the form to offer one"}, h.resourcesPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/resources", Access: web.Staff, Summary: "offer a resource of a unit (its liaison, or the town's alliance staff)"}, h.resourceCreate)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/resources/{id}/withdraw", Access: web.Staff, Summary: "withdraw a resource, with a reason (asks first)"}, h.resourceWithdraw)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/needs", Access: web.Staff, Summary: "the needs list (需求清单) of the caller's villages, and the form to post one"}, h.needsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/needs", Access: web.Staff, Summary: "post a village's need, typed or from a 微志愿 need, a decision or a care visit"}, h.needCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/match", Access: web.Staff, Summary: "unmatched needs and unused resources side by side, with the resources that fit each need"}, h.matchPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/projects", Access: web.Staff, Summary: "the projects list (项目清单) with its response, completion and satisfaction rates"}, h.projectsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/projects", Access: web.Staff, Summary: "match a need to a resource: a new project"}, h.projectCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/projects/{id}", Access: web.Staff, Summary: "a project: milestones with photos, timeline, and what the viewer may do"}, h.projectPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/projects/{id}/actions", Access: web.Staff, Summary: "agree, decline (asks first), finish, rate a project, or add a milestone with photos (multipart)"}, h.projectAct)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/resources", Access: web.LoggedIn, API: true,
		Summary: "the resources the caller may see (kind, unit_id, withdrawn=1)", Response: []Resource{}}, h.apiResources)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/resources", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "offer a resource (201)", Request: ResourceInput{}, Response: Resource{}}, h.apiResourceCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/needs", Access: web.LoggedIn, API: true,
		Summary: "the needs the caller may see (kind, village_id, unmatched=1)", Response: []Need{}}, h.apiNeeds)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/needs", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "post a village's need (source typed, volunteer, decision or visit with source_id; 201)", Request: NeedInput{}, Response: Need{}}, h.apiNeedCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/projects", Access: web.LoggedIn, API: true,
		Summary: "the projects the caller takes part in (status)", Response: []Project{}}, h.apiProjects)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/projects", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "match a need to a resource (201)", Request: ProjectInput{}, Response: Project{}}, h.apiProjectCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/projects/{id}", Access: web.LoggedIn, API: true,
		Summary: "a project with its milestones, timeline and the caller's actions", Response: Project{}}, h.apiProject)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/projects/{id}/actions", Access: web.LoggedIn, API: true,
		Summary: "unit_agree, village_agree, decline (reason), finish, rate (rating 1–5) or milestone (body) on a project", Request: ProjectAction{}, Response: Project{}}, h.apiProjectAct)
}

// listsView is what the lists' pages share: the kinds, the villages and units to pick from, and
// whether the viewer manages the town or is a unit.
type listsView struct {
	Kinds     []string
	Villages  []Named
	Units     []Unit
	Manages   bool
	MyUnit    int64
	Resources []Resource
	Needs     []Need
	Sources   []string
	Match     MatchBoard
	Projects  []Project
	Statuses  []string
	Status    string
	Rates     flow.Rates
	RatePct   [3]string // response, completion, satisfaction, as percentages
	From, To  string
	CanPost   bool
	ShowNeeds bool
	Withdrawn bool
}

func (h *Handlers) listsView(r *http.Request) (listsView, error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := listsView{Kinds: ListKinds, Sources: NeedSources, Statuses: ProjectStatuses, Manages: manages(a, a.TownID)}
	var err error
	if v.MyUnit, err = h.S.myUnit(ctx, h.S.DB.Read(), a); err != nil {
		return v, err
	}
	all, villages := villageScope(a, a.TownID)
	v.CanPost = all || len(villages) > 0
	vs, err := h.S.townVillages(ctx, a.TownID)
	if err != nil {
		return v, err
	}
	for _, x := range vs {
		if all || v.MyUnit != 0 || slices.Contains(villages, x.ID) {
			v.Villages = append(v.Villages, x)
		}
	}
	if v.Manages {
		if v.Units, err = h.S.Units(ctx, a, a.TownID, UnitFilter{}); err != nil {
			return v, err
		}
	}
	return v, nil
}

// ---- resources

func resourceInput(f url.Values) ResourceInput {
	in := ResourceInput{UnitID: web.FormID(f.Get("unit_id")), Kind: f.Get("kind"), Description: f.Get("description"), Amount: f.Get("amount"), From: f.Get("from"), To: f.Get("to")}
	for _, s := range f["village_ids"] {
		if id := web.FormID(s); id != 0 {
			in.VillageIDs = append(in.VillageIDs, id)
		}
	}
	return in
}

func (h *Handlers) resourcesPage(w http.ResponseWriter, r *http.Request) {
	h.renderResources(w, r, nil, nil)
}

func (h *Handlers) renderResources(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	filter := ResourceFilter{Kind: q.Get("kind"), Withdrawn: q.Get("withdrawn") == "1"}
	list, err := h.S.Resources(ctx, a, filter)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v, err := h.listsView(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Resources, v.Withdrawn = list, filter.Withdrawn
	p := h.App.NewPage(r, "alliance.resource.title", v)
	p.Form = f
	p.Flashed("flash.alliance_resource_created")
	p.Flashed("flash.alliance_resource_withdrawn")
	h.App.RenderPage(w, r, "alliance_resources.html", p, ferr)
}

func (h *Handlers) resourceCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	_, err := h.S.SaveResource(r.Context(), auth.From(r.Context()), 0, resourceInput(f))
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderResources(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/alliance/resources", "flash.alliance_resource_created", 0))
}

func (h *Handlers) resourceWithdraw(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	x, err := h.S.Resource(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if ok, err := h.S.editsUnit(ctx, h.S.DB.Read(), a, x.TownID, x.UnitID); err != nil || !ok {
		if err == nil {
			err = errs.New(errs.Forbidden, "error.forbidden")
		}
		h.App.Error(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "alliance.resource.confirm_withdraw", What: "alliance.resource.confirm_withdraw_what",
		Args: []any{x.Unit, x.Description}, Back: "/admin/alliance/resources"})
	if !ok {
		return
	}
	if _, err := h.S.WithdrawResource(ctx, a, id, reason); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/alliance/resources", "flash.alliance_resource_withdrawn", 0))
}

// ---- needs

func needInput(f url.Values) NeedInput {
	return NeedInput{VillageID: web.FormID(f.Get("village_id")), Kind: f.Get("kind"), Description: f.Get("description"), People: web.FormInt(f.Get("people")),
		By: f.Get("by"), Source: f.Get("source"), SourceID: web.FormID(f.Get("source_id"))}
}

func (h *Handlers) needsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f url.Values
	if q.Get("source") != "" {
		// A need posted from 微志愿 or 微协商 opens the form with its source filled in.
		f = url.Values{"source": {q.Get("source")}, "source_id": {q.Get("source_id")}}
	}
	h.renderNeeds(w, r, f, nil)
}

func (h *Handlers) renderNeeds(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	list, err := h.S.Needs(ctx, a, NeedFilter{Kind: q.Get("kind"), VillageID: web.FormID(q.Get("village_id")), Unmatched: q.Get("unmatched") == "1"})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v, err := h.listsView(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Needs = list
	p := h.App.NewPage(r, "alliance.need.title", v)
	p.Form = f
	if id := p.FlashID(); id != 0 {
		for _, n := range list {
			if n.ID == id {
				p.Flashed("flash.alliance_need_posted", n.Village, shortTitle(n.Description))
			}
		}
	}
	h.App.RenderPage(w, r, "alliance_needs.html", p, ferr)
}

func (h *Handlers) needCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	n, err := h.S.PostNeed(r.Context(), auth.From(r.Context()), needInput(f))
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderNeeds(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/alliance/needs", "flash.alliance_need_posted", n.ID))
}

// ---- matching and projects

func (h *Handlers) matchPage(w http.ResponseWriter, r *http.Request) {
	h.renderMatch(w, r, nil, nil)
}

func (h *Handlers) renderMatch(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	b, err := h.S.Match(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v, err := h.listsView(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Match = b
	p := h.App.NewPage(r, "alliance.match.title", v)
	p.Form = f
	h.App.RenderPage(w, r, "alliance_match.html", p, ferr)
}

func (h *Handlers) projectCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := ProjectInput{NeedID: web.FormID(f.Get("need_id")), ResourceID: web.FormID(f.Get("resource_id")), Title: f.Get("title"), Note: f.Get("note")}
	p, err := h.S.CreateProject(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderMatch(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/projects/%d", p.ID), "flash.alliance_project_created", 0))
}

// ratesPeriod is the period of the projects' rates: ?from and ?to (days), by default the year to
// today.
func (h *Handlers) ratesPeriod(ctx context.Context, townID int64, q url.Values) (from, to time.Time, fromDay, toDay string, err error) {
	loc, err := h.S.People.Zone(ctx, townID)
	if err != nil {
		return
	}
	today, err := h.S.townToday(ctx, townID)
	if err != nil {
		return
	}
	end, _ := time.ParseInLocation("2006-01-02", today, loc)
	end = end.AddDate(0, 0, 1)
	start := end.AddDate(0, 0, -defaultRatesPeriodD)
	if t, e := time.ParseInLocation("2006-01-02", q.Get("from"), loc); e == nil {
		start = t
	}
	if t, e := time.ParseInLocation("2006-01-02", q.Get("to"), loc); e == nil {
		end = t.AddDate(0, 0, 1)
	}
	return start, end, start.Format("2006-01-02"), end.AddDate(0, 0, -1).Format("2006-01-02"), nil
}

func (h *Handlers) projectsPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	list, err := h.S.Projects(ctx, a, ProjectFilter{Status: q.Get("status")})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v, err := h.listsView(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Projects, v.Status = list, q.Get("status")
	if v.Manages || v.MyUnit != 0 {
		from, to, fd, td, err := h.ratesPeriod(ctx, a.TownID, q)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Rates, err = h.S.ProjectRates(ctx, a, from, to); err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.From, v.To = fd, td
		v.RatePct = [3]string{pct(v.Rates.Response(), v.Rates.Opened), pct(v.Rates.Resolution(), v.Rates.Opened), pct(v.Rates.Satisfaction(), v.Rates.Rated)}
	}
	p := h.App.NewPage(r, "alliance.project.list_title", v)
	h.App.RenderPage(w, r, "alliance_projects.html", p, nil)
}

// projectView is a project's page: the project, what the viewer may do, and the ratings offered.
type projectView struct {
	Project Project
	Can     map[string]bool
	Ratings []int
}

func (h *Handlers) projectPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderProject(w, r, id, nil, nil)
}

func (h *Handlers) renderProject(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	p, err := h.S.Project(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := projectView{Project: p, Can: map[string]bool{}, Ratings: []int{5, 4, 3, 2, 1}}
	for _, n := range p.Actions {
		v.Can[n] = true
	}
	page := h.App.NewPage(r, "alliance.project.title", v)
	page.Title = p.Title
	page.Form = f
	for _, k := range projectFlash {
		page.Flashed(k, p.Title)
	}
	page.Flashed("flash.alliance_project_created", p.Title)
	h.App.RenderPage(w, r, "alliance_projects_detail.html", page, ferr)
}

// projectFlash names each action as done, for the flash after it.
var projectFlash = map[string]string{"unit_agree": "flash.alliance_project_unit_agreed", "village_agree": "flash.alliance_project_village_agreed",
	"decline": "flash.alliance_project_declined", "finish": "flash.alliance_project_finished", "rate": "flash.alliance_project_rated", "milestone": "flash.alliance_project_milestone"}

func (h *Handlers) projectAct(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, photos, err := web.ReadPhotoForm(w, r, maxMilestonePhotos, bank.MaxPhotoBytes)
	if err != nil {
		h.renderProject(w, r, id, f, err)
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	in := ProjectAction{Action: f.Get("action"), Reason: f.Get("reason"), Rating: web.FormInt(f.Get("rating")), Body: f.Get("body"), Photos: photos}
	back := fmt.Sprintf("/admin/alliance/projects/%d", id)
	if in.Action == "decline" {
		p, err := h.S.Project(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if !containsStr(p.Actions, "decline") {
			h.renderProject(w, r, id, f, errs.New(errs.Forbidden, "flow.not_your_part"))
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "alliance.project.confirm_decline", What: "alliance.project.confirm_decline_what", Args: []any{p.Title}, Back: back})
		if !ok {
			return
		}
		in.Reason = reason
	}
	if _, err := h.S.ActProject(ctx, a, id, in); err != nil {
		if errs.Is(err, errs.NotFound) {
			h.App.Error(w, r, err)
			return
		}
		h.renderProject(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(back, projectFlash[in.Action], 0))
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- API

func (h *Handlers) apiResources(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.S.Resources(r.Context(), auth.From(r.Context()), ResourceFilter{Kind: q.Get("kind"), UnitID: web.FormID(q.Get("unit_id")), Withdrawn: q.Get("withdrawn") == "1"})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiResourceCreate(w http.ResponseWriter, r *http.Request) {
	var in ResourceInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	x, err := h.S.SaveResource(r.Context(), auth.From(r.Context()), 0, in)
	h.App.Reply(w, r, http.StatusCreated, x, err)
}

func (h *Handlers) apiNeeds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.S.Needs(r.Context(), auth.From(r.Context()), NeedFilter{Kind: q.Get("kind"), VillageID: web.FormID(q.Get("village_id")), Unmatched: q.Get("unmatched") == "1"})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiNeedCreate(w http.ResponseWriter, r *http.Request) {
	var in NeedInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	x, err := h.S.PostNeed(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, x, err)
}

func (h *Handlers) apiProjects(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Projects(r.Context(), auth.From(r.Context()), ProjectFilter{Status: r.URL.Query().Get("status")})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiProjectCreate(w http.ResponseWriter, r *http.Request) {
	var in ProjectInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	p, err := h.S.CreateProject(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, p, err)
}

func (h *Handlers) apiProject(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	p, err := h.S.Project(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, p, err)
}

func (h *Handlers) apiProjectAct(w http.ResponseWriter, r *http.Request) {
	var in ProjectAction
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	p, err := h.S.ActProject(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, p, err)
}

// pct writes a rate as a percentage, or a dash when nothing was counted.
func pct(r float64, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", r*100)
}
