package consult

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerTopics adds the topic pages of a resident (list, propose, support) and of the hosts
// (the list by support and age, a topic's accept, decline and merge, a category), and the API.
func (h *Handlers) registerTopics() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/consult/topics", Access: web.LoggedIn, Summary: "the topics of my village and my town, to support; my own and what became of them"}, h.topicsPage)
	a.Handle(web.Route{Method: "GET", Path: "/consult/topics/new", Access: web.LoggedIn, Summary: "the form to propose a topic"}, h.topicForm)
	a.Handle(web.Route{Method: "POST", Path: "/consult/topics", Access: web.LoggedIn, Summary: "propose a topic for my village or the whole town, with photos (multipart)"}, h.proposeTopic)
	a.Handle(web.Route{Method: "GET", Path: "/consult/topics/{id}", Access: web.LoggedIn, Summary: "a topic of my village or town"}, h.topicPage)
	a.Handle(web.Route{Method: "POST", Path: "/consult/topics/{id}/support", Access: web.LoggedIn, Summary: "support a topic (one resident, one support)"}, h.supportTopic)
	a.Handle(web.Route{Method: "POST", Path: "/consult/topics/{id}/withdraw", Access: web.LoggedIn, Summary: "take back my support of a topic"}, h.withdrawTopic)

	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/topics", Access: web.Staff, Summary: "the topics a host decides on, by support or age"}, h.adminTopics)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/topics/new", Access: web.Staff, Summary: "the form to raise a topic as staff, or from a 微志愿 need (need_id)"}, h.adminTopicForm)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/topics", Access: web.Staff, Summary: "raise a topic as staff, or from a 微志愿 need (need_id), with photos (multipart)"}, h.adminProposeTopic)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/topics/{id}", Access: web.Staff, Summary: "a topic with its host's actions: accept onto a meeting, decline, merge"}, h.adminTopicPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/topics/{id}/actions", Access: web.Staff, Summary: "accept a topic onto a meeting, decline it with a reason, or merge it into another"}, h.adminTopicAct)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/categories", Access: web.Staff, Summary: "add a topic category to the town"}, h.addCategory)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/categories", Access: web.LoggedIn,
		Summary: "a town's topic categories (town_id; the caller's when absent): the six of every town, then its own", Response: []Category{}}, h.apiCategories)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/categories", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "add a topic category to a town (its admins; 201)", Request: CategoryInput{}, Response: Category{}}, h.apiAddCategory)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/topics", Access: web.LoggedIn,
		Summary: "topics: a host's (town_id, status, village_id, category_id, sort=support|age); a resident's village and town (mine=1, or anyone who hosts nothing)", Response: []Topic{}}, h.apiTopics)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/topics", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "propose a topic (a resident for their village or town, staff for what they host; 201); photos on the page's form", Request: TopicInput{}, Response: Topic{}}, h.apiPropose)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/topics/{id}", Access: web.LoggedIn, Summary: "a topic", Response: Topic{}}, h.apiTopic)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/topics/{id}/supports", Access: web.LoggedIn,
		Summary: "support a topic as the caller (a resident of its scope; again changes nothing)", Response: Topic{}}, h.apiSupport)
	a.Handle(web.Route{Method: "DELETE", Path: "/api/v1/consult/topics/{id}/supports", Access: web.LoggedIn,
		Summary: "take back the caller's support of a topic", Response: Topic{}}, h.apiWithdraw)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/topics/{id}/actions", Access: web.LoggedIn,
		Summary: "a host's decision: accept (meeting_id), decline (reason) or merge (into_id)", Request: TopicAction{}, Response: Topic{}}, h.apiAct)
}

// ---- a resident's pages

// topicsView is a resident's topics: their village's and town's, and whether they may propose.
type topicsView struct {
	Topics   []Topic
	Mine     []Topic // the ones they proposed
	Village  string
	Resident bool
}

func (h *Handlers) topicsPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.MyTopics(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := topicsView{Topics: []Topic{}}
	m, ok, err := h.S.me(ctx, h.S.DB.Read(), a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Resident = ok && m.Active
	if ok {
		if v.Village, err = h.S.villageName(ctx, h.S.DB.Read(), m.VillageID); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	for _, t := range list {
		if ok && t.proposer == m.ID {
			v.Mine = append(v.Mine, t)
		} else {
			v.Topics = append(v.Topics, t)
		}
	}
	p := h.App.NewPage(r, "consult.topics.title", v)
	for _, t := range list {
		if t.ID == p.FlashID() {
			p.Flashed("flash.consult_supported", t.Title, t.Supports)
			p.Flashed("flash.consult_withdrawn", t.Title)
		}
	}
	h.App.RenderPage(w, r, "consult_topics.html", p, nil)
}

// topicFormView is the form to propose a topic: the scopes the proposer may choose (a
// resident's village and the whole town; a host's villages) and the categories.
type topicFormView struct {
	Action     string
	Scopes     []web.Option
	Categories []Category
	NeedID     int64
	Need       string // the need's words, when one is promoted
	Back       string
}

// topicScopes are the places the actor may raise a topic for: a resident's village and town, or
// what a host hosts. Option 0 is the whole town.
func (h *Handlers) topicScopes(r *http.Request, p *web.Page) ([]web.Option, error) {
	ctx, a := r.Context(), auth.From(r.Context())
	whole := web.Option{ID: 0, Name: p.T("consult.topic.whole_town")}
	if m, ok, err := h.S.me(ctx, h.S.DB.Read(), a); err != nil {
		return nil, err
	} else if ok && !hostsAny(a) {
		name, err := h.S.villageName(ctx, h.S.DB.Read(), m.VillageID)
		if err != nil {
			return nil, err
		}
		return []web.Option{{ID: m.VillageID, Name: name}, whole}, nil
	}
	vs, err := h.S.People.Villages(ctx, a, a.TownID)
	if err != nil {
		return nil, err
	}
	var out []web.Option
	for _, v := range vs {
		if hosts(a, a.TownID, v.ID) {
			out = append(out, web.Option{ID: v.ID, Name: v.Name})
		}
	}
	if hosts(a, a.TownID, 0) {
		out = append(out, whole)
	}
	return out, nil
}

// hostsAny reports whether the actor hosts topics anywhere.
func hostsAny(a *auth.Actor) bool {
	if a == nil {
		return false
	}
	all, villages := auth.Visible(a, PermHost, a.TownID)
	return all || len(villages) > 0
}

func (h *Handlers) renderTopicForm(w http.ResponseWriter, r *http.Request, v topicFormView, form url.Values, ferr error) {
	a := auth.From(r.Context())
	p := h.App.NewPage(r, "consult.topic.new", nil)
	var err error
	if v.Scopes, err = h.topicScopes(r, p); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Categories, err = h.S.Categories(r.Context(), a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if form == nil && len(v.Scopes) > 0 {
		form = url.Values{"village_id": {strconv.FormatInt(v.Scopes[0].ID, 10)}}
	}
	p.Data, p.Form = v, form
	h.App.RenderPage(w, r, "consult_topic_form.html", p, ferr)
}

func (h *Handlers) topicForm(w http.ResponseWriter, r *http.Request) {
	h.renderTopicForm(w, r, topicFormView{Action: "/consult/topics", Back: "/consult/topics"}, nil, nil)
}

// topicInput reads a topic's fields from a form.
func topicInput(f url.Values, photos [][]byte) TopicInput {
	return TopicInput{VillageID: formInt(f, "village_id"), CategoryID: formInt(f, "category_id"),
		Title: f.Get("title"), Description: f.Get("description"), Photos: photos}
}

// formInt reads a form's number; anything else is 0, which the service refuses by name where it
// is required.
func formInt(f url.Values, name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(f.Get(name)), 10, 64)
	return n
}

func (h *Handlers) proposeTopic(w http.ResponseWriter, r *http.Request) {
	form, photos, err := web.ReadPhotoForm(w, r, maxTopicPhotos, bank.MaxPhotoBytes)
	v := topicFormView{Action: "/consult/topics", Back: "/consult/topics"}
	if err != nil {
		h.renderTopicForm(w, r, v, form, err)
		return
	}
	t, err := h.S.ProposeTopic(r.Context(), auth.From(r.Context()), topicInput(form, photos))
	if err != nil {
		h.renderTopicForm(w, r, v, form, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/consult/topics/"+strconv.FormatInt(t.ID, 10), "flash.consult_topic_proposed", t.ID))
}

func (h *Handlers) topicPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	t, err := h.S.Topic(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.topic.title", t)
	if t.ID == p.FlashID() {
		p.Flashed("flash.consult_topic_proposed", t.Title)
		p.Flashed("flash.consult_supported", t.Title, t.Supports)
		p.Flashed("flash.consult_withdrawn", t.Title)
	}
	h.App.RenderPage(w, r, "consult_topic.html", p, nil)
}

// back is where a resident's support returns to: the topic's page or the list, as the form says.
func topicBack(r *http.Request, id int64) string {
	if r.PostFormValue("from") == "list" {
		return "/consult/topics"
	}
	return "/consult/topics/" + strconv.FormatInt(id, 10)
}

func (h *Handlers) supportTopic(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Support(r.Context(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(topicBack(r, id), "flash.consult_supported", id))
}

func (h *Handlers) withdrawTopic(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Withdraw(r.Context(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(topicBack(r, id), "flash.consult_withdrawn", id))
}

// ---- the hosts' pages

// adminTopicsView is a host's list with its filters.
type adminTopicsView struct {
	Topics     []Topic
	Villages   []web.Option
	Categories []Category
	Statuses   []string
	Manages    bool // the town's admin: may add a category
}

func (h *Handlers) adminTopics(w http.ResponseWriter, r *http.Request) {
	h.renderAdminTopics(w, r, nil, nil)
}

// renderAdminTopics draws a host's list, filtered by the address's query, with the category
// form's fields and error when it was refused.
func (h *Handlers) renderAdminTopics(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	f := TopicFilter{TownID: a.TownID, Status: q.Get("status"), VillageID: web.QueryInt(r, "village_id"), CategoryID: web.QueryInt(r, "category_id"), Sort: q.Get("sort")}
	list, err := h.S.Topics(ctx, a, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := adminTopicsView{Topics: list, Statuses: []string{TopicOpen, TopicAccepted, TopicDecided, TopicDeclined, TopicMerged}, Manages: manages(a, a.TownID)}
	vs, err := h.S.People.Villages(ctx, a, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, vl := range vs {
		if hosts(a, a.TownID, vl.ID) {
			v.Villages = append(v.Villages, web.Option{ID: vl.ID, Name: vl.Name})
		}
	}
	if v.Categories, err = h.S.Categories(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.topics.admin_title", v)
	p.Form = q
	for k, vals := range form {
		p.Form[k] = vals
	}
	for _, c := range v.Categories {
		if c.ID == p.FlashID() {
			p.Flashed("flash.consult_category_added", c.Name)
		}
	}
	h.App.RenderPage(w, r, "admin_consult_topics.html", p, ferr)
}

func (h *Handlers) adminTopicForm(w http.ResponseWriter, r *http.Request) {
	if a := auth.From(r.Context()); !hostsAny(a) {
		h.App.Error(w, r, auth.Refuse(a, PermHost))
		return
	}
	v := topicFormView{Action: "/admin/consult/topics", Back: "/admin/consult/topics"}
	var form url.Values
	if needID := web.QueryInt(r, "need_id"); needID != 0 {
		n, err := h.S.Volunteer.Need(r.Context(), auth.From(r.Context()), needID)
		if err != nil || !hosts(auth.From(r.Context()), n.TownID, n.VillageID) {
			h.App.Error(w, r, notFound)
			return
		}
		v.NeedID, v.Need = needID, n.Description
		form = url.Values{"village_id": {strconv.FormatInt(n.VillageID, 10)}, "description": {n.Description}}
	}
	h.renderTopicForm(w, r, v, form, nil)
}

func (h *Handlers) adminProposeTopic(w http.ResponseWriter, r *http.Request) {
	form, photos, err := web.ReadPhotoForm(w, r, maxTopicPhotos, bank.MaxPhotoBytes)
	v := topicFormView{Action: "/admin/consult/topics", Back: "/admin/consult/topics", NeedID: formInt(form, "need_id")}
	if err != nil {
		h.renderTopicForm(w, r, v, form, err)
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	var t Topic
	if v.NeedID != 0 {
		t, err = h.S.PromoteNeed(ctx, a, v.NeedID, topicInput(form, photos))
	} else {
		t, err = h.S.ProposeTopic(ctx, a, topicInput(form, photos))
	}
	if err != nil {
		h.renderTopicForm(w, r, v, form, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/consult/topics/"+strconv.FormatInt(t.ID, 10), "flash.consult_topic_proposed", t.ID))
}

// adminTopicView is a topic with what its host may do: the planned meetings it may go on, and
// the topics found to merge it into.
type adminTopicView struct {
	Topic
	Meetings []MeetingChoice
	Q        string
	Similar  []Topic
}

func (h *Handlers) renderAdminTopic(w http.ResponseWriter, r *http.Request, id int64, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	t, err := h.S.hostedRead(ctx, a, id)
	if err == nil {
		t, err = h.S.Topic(ctx, a, id)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := adminTopicView{Topic: t, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if form != nil && v.Q == "" {
		v.Q = form.Get("q")
	}
	if v.Meetings, err = h.S.meetingChoices(ctx, a, t); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Similar, err = h.S.mergeChoices(ctx, a, t, v.Q); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.topic.title", v)
	p.Form = form
	if t.ID == p.FlashID() {
		p.Flashed("flash.consult_topic_proposed", t.Title)
		p.Flashed("flash.consult_topic_accepted", t.Title, t.MeetingTitle)
		p.Flashed("flash.consult_topic_declined", t.Title)
		p.Flashed("flash.consult_topic_merged", t.Title, t.MergedTitle)
	}
	h.App.RenderPage(w, r, "admin_consult_topic.html", p, ferr)
}

func (h *Handlers) adminTopicPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderAdminTopic(w, r, id, nil, nil)
}

func (h *Handlers) adminTopicAct(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.App.Error(w, r, err)
		return
	}
	ctx, a, f := r.Context(), auth.From(r.Context()), r.PostForm
	in := TopicAction{Action: f.Get("action"), MeetingID: formInt(f, "meeting_id"), IntoID: formInt(f, "into_id")}
	if in.Action == "decline" || in.Action == "merge" {
		// Declining and merging cannot be undone: asked first, on a topic the host may decide.
		t, err := h.S.hostedRead(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		back := "/admin/consult/topics/" + strconv.FormatInt(id, 10)
		q := web.Question{Title: "consult.topic.confirm_decline", What: "consult.topic.confirm_decline_what", Args: []any{t.Title}, Back: back}
		if in.Action == "merge" {
			into, err := h.S.hostedRead(ctx, a, in.IntoID)
			if err != nil || in.IntoID == 0 {
				h.renderAdminTopic(w, r, id, f, errs.Field("into_id", "consult.topic.merge_not_found"))
				return
			}
			q = web.Question{Title: "consult.topic.confirm_merge", What: "consult.topic.confirm_merge_what", Args: []any{t.Title, into.Title}, Back: back, NoReason: true}
		}
		reason, ok := h.App.Confirmed(w, r, f, q)
		if !ok {
			return
		}
		in.Reason = reason
	}
	t, err := h.S.Act(ctx, a, id, in)
	if err != nil {
		h.renderAdminTopic(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/consult/topics/"+strconv.FormatInt(t.ID, 10), actedFlash[in.Action], t.ID))
}

// actedFlash is the outcome each host's action on a topic redirects with.
var actedFlash = map[string]string{"accept": "flash.consult_topic_accepted", "decline": "flash.consult_topic_declined", "merge": "flash.consult_topic_merged"}

func (h *Handlers) addCategory(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	c, err := h.S.AddCategory(r.Context(), a, CategoryInput{Name: r.PostFormValue("name")})
	if err != nil {
		h.renderAdminTopics(w, r, r.PostForm, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/consult/topics", "flash.consult_category_added", c.ID))
}

// ---- the API

func (h *Handlers) apiCategories(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Categories(r.Context(), auth.From(r.Context()), web.QueryInt(r, "town_id"))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiAddCategory(w http.ResponseWriter, r *http.Request) {
	var in CategoryInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.AddCategory(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, c, err)
}

func (h *Handlers) apiTopics(w http.ResponseWriter, r *http.Request) {
	ctx, a, q := r.Context(), auth.From(r.Context()), r.URL.Query()
	if q.Get("mine") == "1" || !hostsAny(a) {
		list, err := h.S.MyTopics(ctx, a)
		h.App.Reply(w, r, http.StatusOK, list, err)
		return
	}
	f := TopicFilter{TownID: web.QueryInt(r, "town_id"), Status: q.Get("status"), VillageID: web.QueryInt(r, "village_id"), CategoryID: web.QueryInt(r, "category_id"), Sort: q.Get("sort")}
	list, err := h.S.Topics(ctx, a, f)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiPropose(w http.ResponseWriter, r *http.Request) {
	var in TopicInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	in.Photos = nil
	t, err := h.S.ProposeTopic(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, t, err)
}

func (h *Handlers) apiTopic(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	t, err := h.S.Topic(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, t, err)
}

func (h *Handlers) apiSupport(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	t, err := h.S.Support(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, t, err)
}

func (h *Handlers) apiWithdraw(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	t, err := h.S.Withdraw(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, t, err)
}

func (h *Handlers) apiAct(w http.ResponseWriter, r *http.Request) {
	var in TopicAction
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	t, err := h.S.Act(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, t, err)
}
