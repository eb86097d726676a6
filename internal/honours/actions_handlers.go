package honours

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// registerActions adds the pages and API of the town's featured and brand actions: the staff's
// list, form and page (participants, roll call, contributions, deeds to review, counts by
// village), a resident's list and page (register, report a deed), the year's calendar of every
// pillar's activities, and the API.
func (h *Handlers) registerActions() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/actions", Access: web.Staff, Summary: "the town's featured and brand actions of a year the caller sees as staff"}, h.adminActions)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/actions/new", Access: web.Staff, Summary: "the form to publish an action"}, h.newAction)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/actions", Access: web.Staff, Summary: "publish an action, with its poster"}, h.createAction)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/actions/{id}", Access: web.Staff, Summary: "an action: participants, roll, contributions, deeds to review, counts by village"}, h.adminAction)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/actions/{id}", Access: web.Staff, Summary: "change an action"}, h.updateAction)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/actions/{id}/checkins", Access: web.Staff, Summary: "check residents in by a roll call; they are paid under the action's rule"}, h.actionCheckin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/actions/{id}/contributions", Access: web.Staff, Summary: "count a household's contribution; it is paid under the action's rule"}, h.actionContribution)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/actions/{id}/deeds/{deed}", Access: web.Staff, Summary: "approve a deed (paid under the action's rule) or reject it with a reason"}, h.reviewDeed)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/calendar", Access: web.Staff, Summary: "the town's year of activities of every pillar, each counted once, by month"}, h.adminCalendar)

	a.Handle(web.Route{Method: "GET", Path: "/honours/actions", Access: web.LoggedIn, Summary: "a resident's actions: their village's this month and this year, and what they took part in"}, h.myActions)
	a.Handle(web.Route{Method: "GET", Path: "/honours/actions/{id}", Access: web.LoggedIn, Summary: "an action for a resident: participants, deeds and photos with consent, counts by village, and taking part"}, h.actionPage)
	a.Handle(web.Route{Method: "POST", Path: "/honours/actions/{id}/registrations", Access: web.LoggedIn, Summary: "register to attend an action"}, h.registerForAction)
	a.Handle(web.Route{Method: "POST", Path: "/honours/actions/{id}/deeds", Access: web.LoggedIn, Summary: "report a deed for an action with a photo"}, h.reportDeed)
	a.Handle(web.Route{Method: "GET", Path: "/honours/calendar", Access: web.LoggedIn, Summary: "the town's year of activities, by month"}, h.calendar)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/actions", Access: web.LoggedIn, API: true,
		Summary: "the actions of a year (year; 0 this year) the caller sees as staff, or for a resident their village's", Response: []Action{}}, h.apiActions)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/actions", Access: web.LoggedIn, API: true,
		Summary: "publish an action (the town's bank); poster as base64", Request: ActionInput{}, Response: ActionDetail{}, Statuses: []int{http.StatusCreated}}, h.apiCreateAction)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/actions/{id}", Access: web.LoggedIn, API: true,
		Summary: "an action as the caller may see it", Response: ActionDetail{}}, h.apiAction)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/actions/{id}", Access: web.LoggedIn, API: true,
		Summary: "change an action (the town's bank); ways and rule stay once someone took part", Request: ActionInput{}, Response: ActionDetail{}}, h.apiUpdateAction)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/actions/{id}/participations", Access: web.LoggedIn, API: true,
		Summary: "an action's roll, deeds and contributions: staff those of their villages, a resident their own", Response: Participations{}}, h.apiParticipations)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/actions/{id}/participations", Access: web.LoggedIn, API: true,
		Summary: "take part: way register (a resident), attend (staff name resident_ids), deed (a resident, with photos), contribution (staff: household_id or resident_id, amount)",
		Request: Participation{}, Response: ActionDetail{}, Statuses: []int{http.StatusCreated, http.StatusOK}}, h.apiParticipate)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/actions/{id}/deeds/{deed}", Access: web.LoggedIn, API: true,
		Summary: "approve a deed (paid under the action's rule) or reject it with a reason (the village's staff)", Request: DeedReview{}, Response: Deed{}}, h.apiReviewDeed)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/calendar", Access: web.LoggedIn, API: true,
		Summary: "the town's year (year) of activities of every pillar, each counted once, by month", Response: Calendar{}}, h.apiCalendar)
}

// actionHidden reports whether an error is one a page shows as such rather than on its form.
func actionHidden(err error) bool {
	e, ok := errs.As(err)
	return !ok || e.Code == errs.NotFound || e.Code == errs.Forbidden || e.Code == errs.Unauthorized
}

func actionYear(r *http.Request) int {
	y, _ := strconv.Atoi(r.URL.Query().Get("year"))
	return y
}

// actionsView is the staff's list.
type actionsView struct {
	Year    int
	Actions []Action
	Manages bool
}

func (h *Handlers) adminActions(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	year := actionYear(r)
	list, err := h.S.Actions(ctx, a, 0, year)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if year == 0 {
		m, err := h.S.townMonth(ctx, a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		year, _ = strconv.Atoi(m[:4])
	}
	h.App.RenderForm(w, r, "admin_honours_actions.html", "honours.action.list_title", actionsView{Year: year, Actions: list, Manages: manages(a, a.TownID)}, nil, nil)
}

// VillageChoice is a village of a form, and whether it is chosen.
type VillageChoice struct {
	ID      int64
	Name    string
	Checked bool
}

// actionFormView is the form to publish or change an action.
type actionFormView struct {
	ID       int64
	Villages []VillageChoice
	Kinds    []string
	Ways     []WayChoice
	Rules    []bank.RuleChoice
}

// WayChoice is a way of taking part on the form, and whether it is chosen.
type WayChoice struct {
	Way     string
	Checked bool
}

func (h *Handlers) actionForm(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !manages(a, a.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	vs, err := h.S.townVillages(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	rules, err := h.S.actionRules(ctx, a.TownID, nil)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		m, err := h.S.townMonth(ctx, a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		f = url.Values{"kind": {"featured"}, "month": {m}, "all_villages": {"1"}, "ways": {"attend"}, "pay_per": {PayPerPerson}, "pay_cap": {"1"}}
	}
	v := actionFormView{ID: id, Kinds: ActionKinds, Rules: rules}
	for _, w := range ActionWays {
		v.Ways = append(v.Ways, WayChoice{Way: w, Checked: slices.Contains(f["ways"], w)})
	}
	for _, n := range vs {
		v.Villages = append(v.Villages, VillageChoice{ID: n.ID, Name: n.Name, Checked: slices.Contains(f["village_ids"], fmt.Sprint(n.ID))})
	}
	title := "honours.action.new_title"
	if id != 0 {
		title = "honours.action.edit_title"
	}
	h.App.RenderForm(w, r, "admin_honours_action_form.html", title, v, f, ferr)
}

func (h *Handlers) newAction(w http.ResponseWriter, r *http.Request) {
	h.actionForm(w, r, 0, nil, nil)
}

func actionFormIDs(vals []string) []int64 {
	var out []int64
	for _, v := range vals {
		if id := web.FormID(v); id > 0 {
			out = append(out, id)
		}
	}
	return out
}

// actionInputOf reads an action's form and its poster.
func actionInputOf(f url.Values, raw [][]byte) ActionInput {
	in := ActionInput{Kind: f.Get("kind"), Title: f.Get("title"), Month: f.Get("month"), Description: f.Get("description"), AllVillages: f.Get("all_villages") == "1",
		VillageIDs: actionFormIDs(f["village_ids"]), Ways: f["ways"], Unit: f.Get("unit"), RuleCode: f.Get("rule_code"), PayPer: f.Get("pay_per"), PayCap: web.FormInt(f.Get("pay_cap"))}
	if len(raw) > 0 {
		in.Poster = raw[0]
	}
	return in
}

// posterErr names a refused poster on its own field.
func posterErr(err error) error {
	if e, ok := errs.As(err); ok {
		for i := range e.Fields {
			if e.Fields[i].Field == "photos" {
				e.Fields[i].Field = "poster"
			}
		}
	}
	return err
}

func (h *Handlers) createAction(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !manages(a, a.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	f, raw, err := web.ReadPhotoForm(w, r, 1, bank.MaxPhotoBytes)
	var d ActionDetail
	if err == nil {
		d, err = h.S.CreateAction(ctx, a, actionInputOf(f, raw))
	}
	if err != nil {
		if !actionHidden(err) {
			h.actionForm(w, r, 0, f, posterErr(err))
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/actions/%d", d.ID), "flash.honours_action_created", 0))
}

// actionPageView is the staff's page of an action.
type actionPageView struct {
	ActionDetail
	Q     string
	Found []people.Choice
}

func (h *Handlers) adminAction(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("edit") == "1" {
		d, err := h.S.ActionDetail(r.Context(), auth.From(r.Context()), id)
		if err == nil && !d.Manages {
			err = auth.Refuse(auth.From(r.Context()), PermManage)
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		f := url.Values{"kind": {d.Kind}, "title": {d.Title}, "month": {d.Month}, "description": {d.Description}, "ways": d.Ways, "unit": {d.Unit},
			"rule_code": {d.RuleCode}, "pay_per": {d.PayPer}, "pay_cap": {fmt.Sprint(d.PayCap)}}
		if d.AllVillages {
			f.Set("all_villages", "1")
		} else {
			for _, v := range d.Villages {
				f.Add("village_ids", fmt.Sprint(v.ID))
			}
		}
		h.actionForm(w, r, id, f, nil)
		return
	}
	h.renderAction(w, r, id, nil, nil)
}

func (h *Handlers) renderAction(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.ActionDetail(ctx, a, id)
	if err == nil && !d.Staff {
		err = errs.New(errs.Forbidden, "error.forbidden") // a resident has their own page
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := actionPageView{ActionDetail: d, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if v.Q != "" {
		_, ac, err := h.S.actionFor(ctx, h.S.DB.Read(), a, id)
		if err == nil {
			v.Found, err = h.S.findResidents(ctx, h.S.DB.Read(), d.TownID, ac.villages, v.Q)
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "honours.action.title", v)
	p.Title = d.Title
	p.Form = f
	p.Flashed("flash.honours_action_created", d.Title)
	p.Flashed("flash.honours_action_updated", d.Title)
	p.Flashed("flash.honours_action_checked", d.Counts.Attended)
	p.Flashed("flash.honours_action_contributed", d.Counts.Contributions)
	p.Flashed("flash.honours_deed_approved")
	p.Flashed("flash.honours_deed_rejected")
	h.App.RenderPage(w, r, "admin_honours_action.html", p, ferr)
}

// actionDone redirects to the staff page with the outcome, or shows it with the refusal.
func (h *Handlers) actionDone(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error, anchor, key string) {
	if err != nil {
		if actionHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderAction(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/actions/%d", id)+anchor, key, 0))
}

func (h *Handlers) updateAction(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	f, raw, err := web.ReadPhotoForm(w, r, 1, bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.UpdateAction(ctx, a, id, actionInputOf(f, raw))
	}
	if err != nil && !actionHidden(err) {
		h.actionForm(w, r, id, f, posterErr(err))
		return
	}
	h.actionDone(w, r, id, f, err, "", "flash.honours_action_updated")
}

func (h *Handlers) actionPost(w http.ResponseWriter, r *http.Request) (int64, url.Values, bool) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return 0, nil, false
	}
	f, ok := h.App.Form(w, r)
	return id, f, ok
}

func (h *Handlers) actionCheckin(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.actionPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Participate(r.Context(), auth.From(r.Context()), id, Participation{Way: "attend", ResidentIDs: actionFormIDs(f["resident_ids"])})
	h.actionDone(w, r, id, f, err, "#roll", "flash.honours_action_checked")
}

func (h *Handlers) actionContribution(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.actionPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Participate(r.Context(), auth.From(r.Context()), id, Participation{Way: "contribution", ResidentID: web.FormID(f.Get("resident_id")),
		HouseholdID: web.FormID(f.Get("household_id")), Amount: web.FormInt(f.Get("amount")), Note: f.Get("note")})
	h.actionDone(w, r, id, f, err, "#contributions", "flash.honours_action_contributed")
}

func (h *Handlers) reviewDeed(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.actionPost(w, r)
	if !ok {
		return
	}
	deed, err := web.ID(r, "deed")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	in := DeedReview{Approve: f.Get("decision") == "approve", Reason: f.Get("reason")}
	key := "flash.honours_deed_approved"
	if !in.Approve {
		key = "flash.honours_deed_rejected"
		ctx, a := r.Context(), auth.From(r.Context())
		d, err := h.S.ActionDetail(ctx, a, id)
		if err == nil && !d.Staff {
			err = notFound
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.action.reject_title", What: "honours.action.reject_what", Args: []any{d.Title},
			Back: fmt.Sprintf("/admin/honours/actions/%d#deeds", id)})
		if !ok {
			return
		}
		in.Reason = reason
	}
	_, err = h.S.ReviewDeed(r.Context(), auth.From(r.Context()), id, deed, in)
	h.actionDone(w, r, id, f, err, "#deeds", key)
}

func (h *Handlers) adminCalendar(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	c, err := h.S.Calendar(r.Context(), a, 0, actionYear(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_calendar.html", "honours.calendar.title", calendarView{Calendar: c, Staff: true}, nil, nil)
}

// calendarView is the year's calendar, on the staff's side or a resident's.
type calendarView struct {
	Calendar
	Staff bool
}

// Pillars are the calendar's columns.
func (calendarView) Pillars() []string { return CalendarPillars }

// ---- a resident's pages

// myActionsView is a resident's list: this month's actions, the rest of the year's, and those
// they took part in.
type myActionsView struct {
	Month     string
	ThisMonth []Action
	Year      []Action
	Mine      []Action
}

func (h *Handlers) myActions(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	month, list, err := h.S.MyActions(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := myActionsView{Month: month}
	took, err := h.S.tookPart(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, x := range list {
		if x.Month == month {
			v.ThisMonth = append(v.ThisMonth, x)
		} else {
			v.Year = append(v.Year, x)
		}
		if took[x.ID] {
			v.Mine = append(v.Mine, x)
		}
	}
	h.App.RenderForm(w, r, "honours_actions.html", "honours.action.my_title", v, nil, nil)
}

func (h *Handlers) actionPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderActionPage(w, r, id, nil, nil)
}

func (h *Handlers) renderActionPage(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	d, err := h.S.ActionDetail(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	d.Roll, d.Contributions = nil, nil
	p := h.App.NewPage(r, "honours.action.title", d)
	p.Title = d.Title
	p.Form = f
	p.Flashed("flash.honours_action_registered", d.Title)
	p.Flashed("flash.honours_deed_reported")
	h.App.RenderPage(w, r, "honours_action.html", p, ferr)
}

func (h *Handlers) residentDone(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error, key string) {
	if err != nil {
		if actionHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderActionPage(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/honours/actions/%d", id), key, 0))
}

func (h *Handlers) registerForAction(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.actionPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Participate(r.Context(), auth.From(r.Context()), id, Participation{Way: "register"})
	h.residentDone(w, r, id, f, err, "flash.honours_action_registered")
}

func (h *Handlers) reportDeed(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	if _, _, err := h.S.actionFor(ctx, h.S.DB.Read(), a, id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	f, raw, err := web.ReadPhotoForm(w, r, maxDeedPhotos, bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.Participate(ctx, a, id, Participation{Way: "deed", Story: f.Get("story"), HappenedOn: f.Get("happened_on"), Consent: f.Get("consent") == "1", Photos: raw})
	}
	h.residentDone(w, r, id, f, err, "flash.honours_deed_reported")
}

func (h *Handlers) calendar(w http.ResponseWriter, r *http.Request) {
	c, err := h.S.Calendar(r.Context(), auth.From(r.Context()), 0, actionYear(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_calendar.html", "honours.calendar.title", calendarView{Calendar: c}, nil, nil)
}

// ---- the API

func (h *Handlers) apiActions(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.Actions(ctx, a, web.QueryInt(r, "town_id"), actionYear(r))
	if e, ok := errs.As(err); ok && (e.Code == errs.Forbidden || e.Code == errs.NotFound) && a != nil && a.Self() != 0 {
		_, list, err = h.S.MyActions(ctx, a)
	}
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateAction(w http.ResponseWriter, r *http.Request) {
	var in ActionInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CreateAction(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, d, posterErr(err))
}

func (h *Handlers) apiAction(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.ActionDetail(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiUpdateAction(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ActionInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.UpdateAction(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, d, posterErr(err))
}

func (h *Handlers) apiParticipations(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	p, err := h.S.Participations(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, p, err)
}

func (h *Handlers) apiParticipate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in Participation
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	n, err := h.S.Participate(ctx, a, id, in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	d, err := h.S.ActionDetail(ctx, a, id)
	status := http.StatusCreated
	if n == 0 {
		status = http.StatusOK
	}
	h.App.Reply(w, r, status, d, err)
}

func (h *Handlers) apiReviewDeed(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	deed, err := web.ID(r, "deed")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	var in DeedReview
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.ReviewDeed(r.Context(), auth.From(r.Context()), id, deed, in)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiCalendar(w http.ResponseWriter, r *http.Request) {
	c, err := h.S.Calendar(r.Context(), auth.From(r.Context()), web.QueryInt(r, "town_id"), actionYear(r))
	h.App.Reply(w, r, http.StatusOK, c, err)
}
