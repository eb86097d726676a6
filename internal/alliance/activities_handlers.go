package alliance

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerActivities adds the pages and API of alliance activities (联盟活动): the staff's list,
// form and page (roll, check-ins, closing, photos), a resident's list and page with registration
// and check-in, and the API.
func (h *Handlers) registerActivities() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/activities", Access: web.Staff, Summary: "the activities the caller sees, upcoming and past, with the year's person-times"}, h.adminActivities)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/activities/new", Access: web.Staff, Summary: "the form to plan an activity"}, h.newActivity)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/activities", Access: web.Staff, Summary: "plan an activity"}, h.createActivity)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/activities/{id}", Access: web.Staff, Summary: "an activity: its roll, check-ins, person-times and photos"}, h.adminActivity)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/activities/{id}", Access: web.Staff, Summary: "change a planned activity (those registered are told)"}, h.updateActivity)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/activities/{id}/checkins", Access: web.Staff, Summary: "check residents in: a roll call or a sign-in sheet typed back"}, h.activityCheckin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/activities/{id}/close", Access: web.Staff, Summary: "close the roll with the people served who were not registered, and pay attendees (asks first)"}, h.closeActivity)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/activities/{id}/cancel", Access: web.Staff, Summary: "cancel a planned activity with a reason (asks first)"}, h.cancelActivity)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/activities/{id}/photos", Access: web.Staff, Summary: "add photos of the activity"}, h.activityPhotos)

	a.Handle(web.Route{Method: "GET", Path: "/alliance/activities", Access: web.LoggedIn, Summary: "a resident's activities: those for their village, upcoming and past"}, h.myActivities)
	a.Handle(web.Route{Method: "GET", Path: "/alliance/activities/{id}", Access: web.LoggedIn, Summary: "an activity for a resident: registration, and check-in with the QR's token"}, h.activityPage)
	a.Handle(web.Route{Method: "POST", Path: "/alliance/activities/{id}/registrations", Access: web.LoggedIn, Summary: "register for an activity"}, h.registerActivity)
	a.Handle(web.Route{Method: "POST", Path: "/alliance/activities/{id}/registrations/cancel", Access: web.LoggedIn, Summary: "cancel one's registration"}, h.unregisterActivity)
	a.Handle(web.Route{Method: "POST", Path: "/alliance/activities/{id}/checkins", Access: web.LoggedIn, Summary: "check oneself in with the activity's QR token"}, h.selfCheckin)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/activities", Access: web.LoggedIn, API: true,
		Summary: "the activities the caller sees as staff or liaison (town_id, village_id, kind), or for a resident their village's", Response: []Activity{}}, h.apiActivities)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/activities", Access: web.LoggedIn, API: true,
		Summary: "plan an activity (the town's alliance staff); times are the town's wall time", Request: ActivityInput{}, Response: ActivityDetail{}, Statuses: []int{http.StatusCreated}}, h.apiCreateActivity)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/activities/person-times", Access: web.LoggedIn, API: true,
		Summary: "activities and person-times (check-ins plus the unregistered served) of a period of months (from, to: 2026-01), by kind", Response: PersonTimes{}}, h.apiPersonTimes)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/activities/{id}", Access: web.LoggedIn, API: true,
		Summary: "an activity as the caller may see it", Response: ActivityDetail{}}, h.apiActivity)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/activities/{id}", Access: web.LoggedIn, API: true,
		Summary: "change a planned activity (the town's alliance staff)", Request: ActivityInput{}, Response: ActivityDetail{}}, h.apiUpdateActivity)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/activities/{id}/checkins", Access: web.LoggedIn, API: true,
		Summary: "check in: staff name residents (method roll or sheet); a resident sends the QR's token", Request: ActivityCheckin{}, Response: ActivityDetail{}}, h.apiCheckin)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/activities/{id}/registrations", Access: web.LoggedIn, API: true,
		Summary: "register the caller, a resident of its villages", Response: ActivityDetail{}}, h.apiRegister)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/activities/{id}/close", Access: web.LoggedIn, API: true,
		Summary: "close the roll with the people served who were not registered and how they were counted; pays attendees once (again: a retry)", Request: ActivityClose{}, Response: ActivityDetail{}}, h.apiClose)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/activities/{id}/cancel", Access: web.LoggedIn, API: true,
		Summary: "cancel a planned activity with a reason; those registered are told", Request: ActivityCancel{}, Response: ActivityDetail{}}, h.apiCancel)
}

// ActivityCancel is the reason an activity is cancelled.
type ActivityCancel struct {
	Reason string `json:"reason"`
}

// hidden reports whether an error is one a page shows as such rather than on its form.
func hidden(err error) bool {
	e, ok := errs.As(err)
	return !ok || e.Code == errs.NotFound || e.Code == errs.Forbidden || e.Code == errs.Unauthorized
}

// activitiesView is the staff's list.
type activitiesView struct {
	Upcoming  []Activity
	Past      []Activity
	Villages  []Named
	VillageID int64
	Kinds     []string
	Kind      string
	Year      PersonTimes
	Manages   bool
}

func (h *Handlers) adminActivities(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	f := ActivityFilter{VillageID: web.QueryInt(r, "village_id"), Kind: r.URL.Query().Get("kind")}
	list, err := h.S.Activities(ctx, a, 0, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	year, err := h.S.ActivityPersonTimes(ctx, a, 0, "", "")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	_, vs, err := h.S.activityChoices(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if !manages(a, a.TownID) {
		all, mine := villageScope(a, a.TownID)
		if !all {
			vs = slices.DeleteFunc(vs, func(v Named) bool { return !slices.Contains(mine, v.ID) })
		}
	}
	v := activitiesView{Villages: vs, VillageID: f.VillageID, Kinds: ActivityKinds, Kind: f.Kind, Year: year, Manages: manages(a, a.TownID)}
	now := h.S.Now()
	for _, x := range list {
		if x.Status == ActivityPlanned && x.EndsAt.After(now) {
			v.Upcoming = append(v.Upcoming, x)
		} else {
			v.Past = append(v.Past, x)
		}
	}
	slices.Reverse(v.Upcoming)
	h.App.RenderForm(w, r, "alliance_activities.html", "alliance.activity.list_title", v, nil, nil)
}

// Choice is a unit or village of a form, and whether it is chosen.
type Choice struct {
	ID      int64
	Name    string
	Checked bool
}

// activityFormView is the form to plan or change an activity.
type activityFormView struct {
	ID       int64
	Units    []Choice
	Villages []Choice
	Kinds    []string
	Rules    []bank.RuleChoice
}

func choices(list []Named, picked []string) []Choice {
	out := make([]Choice, len(list))
	for i, n := range list {
		out[i] = Choice{ID: n.ID, Name: n.Name, Checked: slices.Contains(picked, fmt.Sprint(n.ID))}
	}
	return out
}

func (h *Handlers) activityForm(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !manages(a, a.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	us, vs, err := h.S.activityChoices(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	rules, err := h.S.ruleChoices(ctx, a.TownID, vs)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = url.Values{"kind": {"service_day"}, "capacity": {"0"}}
	}
	v := activityFormView{ID: id, Units: choices(us, f["unit_ids"]), Villages: choices(vs, f["village_ids"]), Kinds: ActivityKinds, Rules: rules}
	title := "alliance.activity.new_title"
	if id != 0 {
		title = "alliance.activity.edit_title"
	}
	h.App.RenderForm(w, r, "alliance_activity_form.html", title, v, f, ferr)
}

func (h *Handlers) newActivity(w http.ResponseWriter, r *http.Request) {
	h.activityForm(w, r, 0, nil, nil)
}

func formIDs(vals []string) []int64 {
	var out []int64
	for _, v := range vals {
		if id := web.FormID(v); id > 0 {
			out = append(out, id)
		}
	}
	return out
}

// activityInputOf reads an activity's form.
func activityInputOf(f url.Values) ActivityInput {
	return ActivityInput{Kind: f.Get("kind"), Title: f.Get("title"), Place: f.Get("place"), Description: f.Get("description"), StartsAt: f.Get("starts_at"),
		EndsAt: f.Get("ends_at"), Capacity: web.FormInt(f.Get("capacity")), RuleCode: f.Get("rule_code"), UnitIDs: formIDs(f["unit_ids"]), VillageIDs: formIDs(f["village_ids"])}
}

func (h *Handlers) createActivity(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	d, err := h.S.CreateActivity(r.Context(), auth.From(r.Context()), activityInputOf(f))
	if err != nil {
		if !hidden(err) {
			h.activityForm(w, r, 0, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/activities/%d", d.ID), "flash.alliance_activity_created", 0))
}

// activityPageView is the staff's page of an activity.
type activityPageView struct {
	ActivityDetail
	Q           string
	Found       []ResidentChoice
	Started     bool   // check-ins and closing are offered
	CheckinLink string // the QR's link at this moment
	StartsWall  string
	EndsWall    string
}

func (h *Handlers) adminActivity(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("edit") == "1" {
		d, err := h.S.ActivityDetail(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		h.activityForm(w, r, id, h.activityValues(r, d), nil)
		return
	}
	h.renderActivity(w, r, id, nil, nil)
}

// activityValues fills the form of an activity with its fields.
func (h *Handlers) activityValues(r *http.Request, d ActivityDetail) url.Values {
	f := url.Values{"kind": {d.Kind}, "title": {d.Title}, "place": {d.Place}, "description": {d.Description}, "capacity": {fmt.Sprint(d.Capacity)},
		"rule_code": {d.RuleCode}, "starts_at": {h.wall(r, d.Activity, d.StartsAt)}, "ends_at": {h.wall(r, d.Activity, d.EndsAt)}}
	for _, u := range d.Units {
		f.Add("unit_ids", fmt.Sprint(u.ID))
	}
	for _, v := range d.Villages {
		f.Add("village_ids", fmt.Sprint(v.ID))
	}
	return f
}

func (h *Handlers) wall(r *http.Request, x Activity, t time.Time) string {
	loc, err := h.S.People.Zone(r.Context(), x.TownID)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

func (h *Handlers) renderActivity(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.ActivityDetail(ctx, a, id)
	if err == nil && !d.Staff && !d.Unit {
		err = errs.New(errs.Forbidden, "error.forbidden") // a resident has their own page
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := activityPageView{ActivityDetail: d, Q: strings.TrimSpace(r.URL.Query().Get("q")), Started: !h.S.Now().Before(d.StartsAt.Add(-30 * time.Minute)),
		StartsWall: h.wall(r, d.Activity, d.StartsAt), EndsWall: h.wall(r, d.Activity, d.EndsAt)}
	if d.Staff && d.Status == ActivityPlanned {
		v.CheckinLink = h.S.CheckinLink(d)
		if v.Q != "" {
			if v.Found, err = h.S.FindResidents(ctx, a, id, v.Q); err != nil {
				h.App.Error(w, r, err)
				return
			}
		}
	}
	p := h.App.NewPage(r, "alliance.activity.title", v)
	p.Title = d.Title
	p.Form = f
	p.Flashed("flash.alliance_activity_created", d.Title)
	p.Flashed("flash.alliance_activity_updated", d.Title)
	p.Flashed("flash.alliance_activity_closed", d.Title, d.PersonTimes)
	p.Flashed("flash.alliance_activity_cancelled", d.Title)
	p.Flashed("flash.alliance_activity_checked", d.CheckedIn)
	p.Flashed("flash.alliance_activity_photos", len(d.Photos))
	h.App.RenderPage(w, r, "alliance_activity.html", p, ferr)
}

// activityPost reads a staff page's form and its activity's id; ok false when the answer was sent.
func (h *Handlers) activityPost(w http.ResponseWriter, r *http.Request) (int64, url.Values, bool) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return 0, nil, false
	}
	f, ok := h.App.Form(w, r)
	return id, f, ok
}

// activityDone redirects to the staff page with the outcome, or shows it with the refusal.
func (h *Handlers) activityDone(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error, anchor, key string) {
	if err != nil {
		if hidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderActivity(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/activities/%d", id)+anchor, key, 0))
}

func (h *Handlers) updateActivity(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.UpdateActivity(r.Context(), auth.From(r.Context()), id, activityInputOf(f))
	if err != nil && !hidden(err) {
		if e, _ := errs.As(err); e.Code == errs.Conflict {
			h.renderActivity(w, r, id, nil, err)
			return
		}
		h.activityForm(w, r, id, f, err)
		return
	}
	h.activityDone(w, r, id, f, err, "", "flash.alliance_activity_updated")
}

func (h *Handlers) activityCheckin(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, ActivityCheckin{ResidentIDs: formIDs(f["resident_ids"]), Method: f.Get("method")})
	h.activityDone(w, r, id, f, err, "#roll", "flash.alliance_activity_checked")
}

func (h *Handlers) closeActivity(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.ActivityDetail(ctx, a, id)
	if err == nil && !d.Staff {
		err = errs.New(errs.Forbidden, "error.forbidden")
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	in := ActivityClose{Served: web.FormInt(f.Get("served")), ServedMethod: f.Get("served_method")}
	if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "alliance.activity.close_title", What: "alliance.activity.close_what", Args: []any{d.Title, d.CheckedIn, in.Served},
		Back: fmt.Sprintf("/admin/alliance/activities/%d", id), NoReason: true}); !ok {
		return
	}
	_, err = h.S.CloseActivity(ctx, a, id, in)
	h.activityDone(w, r, id, f, err, "", "flash.alliance_activity_closed")
}

func (h *Handlers) cancelActivity(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	x, err := h.S.plannedFor(ctx, h.S.DB.Read(), a, id)
	if err != nil {
		if !hidden(err) {
			h.renderActivity(w, r, id, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "alliance.activity.cancel_title", What: "alliance.activity.cancel_what", Args: []any{x.Title, x.Registered},
		Back: fmt.Sprintf("/admin/alliance/activities/%d", id)})
	if !ok {
		return
	}
	_, err = h.S.CancelActivity(ctx, a, id, reason)
	h.activityDone(w, r, id, f, err, "", "flash.alliance_activity_cancelled")
}

func (h *Handlers) activityPhotos(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if err := h.S.activityStaff(r.Context(), h.S.DB.Read(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	f, raw, err := web.ReadPhotoForm(w, r, maxActivityPhoto, bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.AddActivityPhotos(r.Context(), auth.From(r.Context()), id, raw)
	}
	h.activityDone(w, r, id, f, err, "#photos", "flash.alliance_activity_photos")
}

// ---- a resident's pages

func (h *Handlers) myActivities(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.MyActivities(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "alliance_my_activities.html", "alliance.activity.my_title", list, nil, nil)
}

// myActivityView is a resident's page of an activity, with the token of the QR they scanned.
type myActivityView struct {
	ActivityDetail
	Token string
}

func (h *Handlers) activityPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderActivityPage(w, r, id, r.URL.Query().Get("token"), nil)
}

func (h *Handlers) renderActivityPage(w http.ResponseWriter, r *http.Request, id int64, token string, ferr error) {
	d, err := h.S.ActivityDetail(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	d.Roll = nil
	if len(token) > 100 {
		token = ""
	}
	p := h.App.NewPage(r, "alliance.activity.title", myActivityView{ActivityDetail: d, Token: token})
	p.Title = d.Title
	p.Flashed("flash.alliance_activity_registered", d.Title)
	p.Flashed("flash.alliance_activity_unregistered", d.Title)
	p.Flashed("flash.alliance_activity_self_checked", d.Title)
	h.App.RenderPage(w, r, "alliance_my_activity.html", p, ferr)
}

// residentDone redirects to the resident's page with the outcome, or shows it with the refusal.
func (h *Handlers) residentDone(w http.ResponseWriter, r *http.Request, id int64, token string, err error, key string) {
	if err != nil {
		if hidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderActivityPage(w, r, id, token, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/alliance/activities/%d", id), key, 0))
}

func (h *Handlers) registerActivity(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Register(r.Context(), auth.From(r.Context()), id)
	h.residentDone(w, r, id, "", err, "flash.alliance_activity_registered")
}

func (h *Handlers) unregisterActivity(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Unregister(r.Context(), auth.From(r.Context()), id)
	h.residentDone(w, r, id, "", err, "flash.alliance_activity_unregistered")
}

func (h *Handlers) selfCheckin(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.activityPost(w, r)
	if !ok {
		return
	}
	token := f.Get("token")
	if strings.TrimSpace(token) == "" {
		token = "-" // refused as a token not made here, once the activity is known to be the caller's
	}
	_, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, ActivityCheckin{Token: token})
	h.residentDone(w, r, id, token, err, "flash.alliance_activity_self_checked")
}

// ---- the API

func (h *Handlers) apiActivities(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	town := townOf(a, web.QueryInt(r, "town_id"))
	list, err := h.S.Activities(ctx, a, town, ActivityFilter{VillageID: web.QueryInt(r, "village_id"), Kind: r.URL.Query().Get("kind")})
	if e, ok := errs.As(err); ok && (e.Code == errs.Forbidden || e.Code == errs.NotFound) && a != nil && a.Self() != 0 {
		list, err = h.S.MyActivities(ctx, a)
	}
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateActivity(w http.ResponseWriter, r *http.Request) {
	var in ActivityInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CreateActivity(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, d, err)
}

func (h *Handlers) apiPersonTimes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pt, err := h.S.ActivityPersonTimes(r.Context(), auth.From(r.Context()), web.QueryInt(r, "town_id"), q.Get("from"), q.Get("to"))
	h.App.Reply(w, r, http.StatusOK, pt, err)
}

func (h *Handlers) apiActivity(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.ActivityDetail(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiUpdateActivity(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ActivityInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.UpdateActivity(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiCheckin(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ActivityCheckin
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	if _, err := h.S.Checkin(ctx, a, id, in); err != nil {
		h.App.Error(w, r, err)
		return
	}
	d, err := h.S.ActivityDetail(ctx, a, id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiRegister(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.Register(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiClose(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ActivityClose
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CloseActivity(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ActivityCancel
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CancelActivity(r.Context(), auth.From(r.Context()), id, in.Reason)
	h.App.Reply(w, r, http.StatusOK, d, err)
}
