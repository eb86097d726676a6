package consult

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerMeetings adds the pages and API of meetings (协商议事会): the staff's list, form and
// conduct page, a resident's list and meeting page with registration, and the API.
func (h *Handlers) registerMeetings() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/meetings", Access: web.Staff, Summary: "the meetings the caller hosts, upcoming and past, by village"}, h.adminMeetings)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/meetings/new", Access: web.Staff, Summary: "the form to plan a meeting"}, h.newMeeting)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings", Access: web.Staff, Summary: "plan a meeting"}, h.createMeeting)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/meetings/{id}", Access: web.Staff, Summary: "conduct a meeting: agenda, participants, registrations, roll, notes, opinions, decisions"}, h.adminMeeting)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}", Access: web.Staff, Summary: "edit a planned meeting"}, h.updateMeeting)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/participants", Access: web.Staff, Summary: "add a participant: a resident found by name, or a contact from outside"}, h.addParticipant)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/opinions", Access: web.Staff, Summary: "record what a participant said"}, h.addOpinion)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/decisions", Access: web.Staff, Summary: "record a decision (协商成果)"}, h.addDecision)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/site-notes", Access: web.Staff, Summary: "save the site-visit notes"}, h.saveSiteNotes)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/minutes", Access: web.Staff, Summary: "save the minutes"}, h.saveMinutes)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/checkins", Access: web.Staff, Summary: "check residents in on the roll and mark outside participants present"}, h.meetingCheckin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/close", Access: web.Staff, Summary: "close the meeting and publish its minutes (asks first)"}, h.closeMeeting)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/meetings/{id}/cancel", Access: web.Staff, Summary: "cancel a planned meeting with a reason (asks first)"}, h.cancelMeeting)

	a.Handle(web.Route{Method: "GET", Path: "/consult/meetings", Access: web.LoggedIn, Summary: "a resident's meetings: upcoming in the village and town, past with minutes"}, h.myMeetings)
	a.Handle(web.Route{Method: "GET", Path: "/consult/meetings/{id}", Access: web.LoggedIn, Summary: "a meeting for a resident: agenda, registration, and after closing its minutes"}, h.meetingPage)
	a.Handle(web.Route{Method: "POST", Path: "/consult/meetings/{id}/registrations", Access: web.LoggedIn, Summary: "register for an open meeting, or join its waiting list"}, h.register)
	a.Handle(web.Route{Method: "POST", Path: "/consult/meetings/{id}/registrations/cancel", Access: web.LoggedIn, Summary: "cancel one's registration"}, h.unregister)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/meetings", Access: web.LoggedIn, API: true,
		Summary: "the meetings the caller hosts (town_id, village_id), or for a resident their village's and town's", Response: []Meeting{}}, h.apiMeetings)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/meetings", Access: web.LoggedIn, API: true,
		Summary: "plan a meeting (its hosts); times are the town's wall time", Request: MeetingInput{}, Response: MeetingDetail{}, Statuses: []int{http.StatusCreated}}, h.apiCreateMeeting)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/meetings/{id}", Access: web.LoggedIn, API: true,
		Summary: "a meeting as the caller may see it", Response: MeetingDetail{}}, h.apiMeeting)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/meetings/{id}/registrations", Access: web.LoggedIn, API: true,
		Summary: "register the caller (a resident of the scope) for an open meeting, or put them on its waiting list", Response: MeetingDetail{}}, h.apiRegister)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/meetings/{id}/opinions", Access: web.LoggedIn, API: true,
		Summary: "record what a participant said (its hosts)", Request: OpinionInput{}, Response: Opinion{}, Statuses: []int{http.StatusCreated}}, h.apiOpinion)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/meetings/{id}/decisions", Access: web.LoggedIn, API: true,
		Summary: "record a decision, optionally for an agenda topic (its hosts)", Request: DecisionInput{}, Response: Decision{}, Statuses: []int{http.StatusCreated}}, h.apiDecision)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/meetings/{id}/close", Access: web.LoggedIn, API: true,
		Summary: "close the meeting: minutes, attendance and a decision or no_decision are required", Request: CloseInput{}, Response: MeetingDetail{}}, h.apiClose)
}

// meetingVillage is a village to choose, by name.
type meetingVillage struct {
	ID   int64
	Name string
}

// meetingVillages are the villages of the town the actor hosts.
func (s *Service) meetingVillages(ctx context.Context, a *auth.Actor) ([]meetingVillage, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY name, id`, a.TownID)
	if err != nil {
		return nil, fmt.Errorf("consult: villages: %w", err)
	}
	defer rows.Close()
	var out []meetingVillage
	for rows.Next() {
		var v meetingVillage
		if err := rows.Scan(&v.ID, &v.Name); err != nil {
			return nil, err
		}
		if hosts(a, a.TownID, v.ID) {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// meetingsView is the staff's list.
type meetingsView struct {
	Upcoming  []Meeting
	Past      []Meeting
	Villages  []meetingVillage
	VillageID int64
}

func (h *Handlers) adminMeetings(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	vid := web.QueryInt(r, "village_id")
	list, err := h.S.Meetings(ctx, a, 0, vid)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, err := h.S.meetingVillages(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := meetingsView{Villages: vs, VillageID: vid}
	for _, m := range list {
		if m.Status == MeetingPlanned && m.EndsAt.After(h.S.Now()) {
			v.Upcoming = append(v.Upcoming, m)
		} else {
			v.Past = append(v.Past, m)
		}
	}
	h.App.RenderForm(w, r, "admin_consult_meetings.html", "consult.meeting.list_title", v, nil, nil)
}

// meetingFormView is the form to plan or edit a meeting.
type meetingFormView struct {
	Villages []meetingVillage
	Levels   []string
	Town     bool // the actor hosts the town's meetings
}

func (h *Handlers) meetingForm(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if all, vs := hostScope(a, a.TownID); !all && len(vs) == 0 {
		h.App.Error(w, r, auth.Refuse(a, PermHost))
		return
	}
	vs, err := h.S.meetingVillages(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = url.Values{"level": {"village"}, "host": {a.Name}}
	}
	h.App.RenderForm(w, r, "admin_consult_meeting_form.html", "consult.meeting.new_title", meetingFormView{Villages: vs, Levels: MeetingLevels, Town: hosts(a, a.TownID, 0)}, f, ferr)
}

func (h *Handlers) newMeeting(w http.ResponseWriter, r *http.Request) { h.meetingForm(w, r, nil, nil) }

// meetingInputOf reads a meeting's form.
func meetingInputOf(f url.Values) MeetingInput {
	return MeetingInput{VillageID: web.FormID(f.Get("village_id")), Level: f.Get("level"), Title: f.Get("title"), StartsAt: f.Get("starts_at"),
		EndsAt: f.Get("ends_at"), Place: f.Get("place"), SiteVisit: f.Get("site_visit"), Host: f.Get("host"), Open: f.Get("open") == "1", Capacity: web.FormInt(f.Get("capacity"))}
}

func (h *Handlers) createMeeting(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	m, err := h.S.CreateMeeting(r.Context(), auth.From(r.Context()), meetingInputOf(f))
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code != errs.NotFound && e.Code != errs.Forbidden && e.Code != errs.Unauthorized {
			h.meetingForm(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/meetings/%d", m.ID), "flash.consult_meeting_created", 0))
}

// meetingPageView is the conduct page: the meeting, the residents found to add, and the choices.
type meetingPageView struct {
	MeetingDetail
	Q     string
	Found []ResidentChoice
	Kinds []string
	Past  bool // its time has come: check-ins and closing are offered
}

func (h *Handlers) adminMeeting(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderMeeting(w, r, id, nil, nil)
}

func (h *Handlers) renderMeeting(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.MeetingDetail(ctx, a, id)
	if err == nil && !d.Hosts {
		err = auth.Refuse(a, PermHost)
		if a != nil && a.Self() != 0 {
			err = errs.New(errs.Forbidden, "error.forbidden")
		}
	}
	if err != nil {
		if _, ok := errs.As(err); ok && ferr != nil {
			err = ferr
		}
		h.App.Error(w, r, err)
		return
	}
	v := meetingPageView{MeetingDetail: d, Kinds: ParticipantKinds, Q: strings.TrimSpace(r.URL.Query().Get("q")), Past: !h.S.Now().Before(d.StartsAt.Add(-30 * time.Minute))}
	if v.Q != "" && d.Status == MeetingPlanned {
		if v.Found, err = h.S.FindResidents(ctx, a, id, v.Q); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "consult.meeting.title", v)
	p.Title = d.Title
	p.Form = f
	if p.Form == nil {
		p.Form = url.Values{"minutes": {d.Minutes}, "site_notes": {d.SiteNotes}, "title": {d.Title}, "place": {d.Place}, "site_visit": {d.SiteVisit}, "host": {d.Host},
			"capacity": {fmt.Sprint(d.Capacity)}, "starts_at": {h.S.meetingWall(ctx, d.Meeting, d.StartsAt)}, "ends_at": {h.S.meetingWall(ctx, d.Meeting, d.EndsAt)}}
		if d.Open {
			p.Form.Set("open", "1")
		}
	}
	if pid := p.FlashID(); pid != 0 {
		for _, x := range d.Participants {
			if x.ID == pid {
				p.Flashed("flash.consult_meeting_participant", x.Name)
			}
		}
	}
	p.Flashed("flash.consult_meeting_closed", d.Title)
	p.Flashed("flash.consult_meeting_cancelled", d.Title)
	p.Flashed("flash.consult_meeting_checked", d.Checked)
	h.App.RenderPage(w, r, "admin_consult_meeting.html", p, ferr)
}

// meetingWall writes a moment as the town's wall time, for a datetime-local field.
func (s *Service) meetingWall(ctx context.Context, m Meeting, t time.Time) string {
	loc, err := s.People.Zone(ctx, m.TownID)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

// meetingPost reads a conduct page's form and its meeting's id; ok false when the answer was sent.
func (h *Handlers) meetingPost(w http.ResponseWriter, r *http.Request) (int64, url.Values, bool) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return 0, nil, false
	}
	f, ok := h.App.Form(w, r)
	return id, f, ok
}

// meetingDone redirects to the conduct page with the outcome, or shows the page with the refusal.
func (h *Handlers) meetingDone(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error, anchor, key string, flashID int64) {
	if err != nil {
		if e, ok := errs.As(err); ok && (e.Code == errs.NotFound || e.Code == errs.Forbidden || e.Code == errs.Unauthorized) {
			h.App.Error(w, r, err)
			return
		}
		h.renderMeeting(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/meetings/%d", id)+anchor, key, flashID))
}

func (h *Handlers) updateMeeting(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.UpdateMeeting(r.Context(), auth.From(r.Context()), id, meetingInputOf(f))
	h.meetingDone(w, r, id, f, err, "", "flash.consult_meeting_saved", 0)
}

func (h *Handlers) addParticipant(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	p, err := h.S.AddParticipant(r.Context(), auth.From(r.Context()), id, ParticipantInput{Kind: f.Get("kind"), ResidentID: web.FormID(f.Get("resident_id")),
		Name: f.Get("name"), Unit: f.Get("unit"), Phone: f.Get("phone")})
	h.meetingDone(w, r, id, f, err, "#participants", "flash.consult_meeting_participant", p.ID)
}

func (h *Handlers) addOpinion(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.AddOpinion(r.Context(), auth.From(r.Context()), id, OpinionInput{ParticipantID: web.FormID(f.Get("participant_id")), TopicID: web.FormID(f.Get("topic_id")), Body: f.Get("body")})
	h.meetingDone(w, r, id, f, err, "#opinions", "flash.consult_meeting_opinion", 0)
}

func (h *Handlers) addDecision(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.AddDecision(r.Context(), auth.From(r.Context()), id, DecisionInput{TopicID: web.FormID(f.Get("topic_id")), Body: f.Get("decision")})
	if e, ok := errs.As(err); ok {
		for i := range e.Fields {
			if e.Fields[i].Field == "body" {
				e.Fields[i].Field = "decision"
			}
		}
	}
	h.meetingDone(w, r, id, f, err, "#decisions", "flash.consult_meeting_decision", 0)
}

func (h *Handlers) saveSiteNotes(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.SaveNotes(r.Context(), auth.From(r.Context()), id, "site_notes", f.Get("site_notes"))
	h.meetingDone(w, r, id, f, err, "#site", "flash.consult_meeting_site_notes", 0)
}

func (h *Handlers) saveMinutes(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.SaveNotes(r.Context(), auth.From(r.Context()), id, "minutes", f.Get("minutes"))
	h.meetingDone(w, r, id, f, err, "#minutes", "flash.consult_meeting_minutes", 0)
}

// meetingIDs reads a form's list of ids.
func meetingIDs(vals []string) []int64 {
	var out []int64
	for _, s := range vals {
		if n := web.FormID(s); n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func (h *Handlers) meetingCheckin(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, CheckinInput{ResidentIDs: meetingIDs(f["resident_ids"]), ParticipantIDs: meetingIDs(f["participant_ids"])})
	h.meetingDone(w, r, id, f, err, "#roll", "flash.consult_meeting_checked", 0)
}

func (h *Handlers) closeMeeting(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	m, err := h.S.meetingHosted(ctx, h.S.DB.Read(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	in := CloseInput{Minutes: f.Get("minutes"), Attendance: web.FormInt(f.Get("attendance")), NoDecision: f.Get("no_decision") == "1"}
	if f.Get("confirmed") != "1" {
		// Check first, so that a meeting that cannot close says why before asking.
		if err := h.S.closeCheck(ctx, a, id, in); err != nil {
			h.renderMeeting(w, r, id, f, err)
			return
		}
	}
	if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "consult.meeting.close_title", What: "consult.meeting.close_what", Args: []any{m.Title},
		Back: fmt.Sprintf("/admin/consult/meetings/%d", id), NoReason: true}); !ok {
		return
	}
	_, err = h.S.CloseMeeting(ctx, a, id, in)
	h.meetingDone(w, r, id, f, err, "", "flash.consult_meeting_closed", 0)
}

func (h *Handlers) cancelMeeting(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	m, err := h.S.meetingPlanned(ctx, h.S.DB.Read(), a, id)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.Conflict {
			h.renderMeeting(w, r, id, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "consult.meeting.cancel_title", What: "consult.meeting.cancel_what", Args: []any{m.Title, m.Registered + m.Waiting},
		Back: fmt.Sprintf("/admin/consult/meetings/%d", id)})
	if !ok {
		return
	}
	_, err = h.S.CancelMeeting(ctx, a, id, reason)
	h.meetingDone(w, r, id, f, err, "", "flash.consult_meeting_cancelled", 0)
}

// ---- a resident's pages

func (h *Handlers) myMeetings(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.MyMeetings(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "consult_meetings.html", "consult.meeting.my_title", list, nil, nil)
}

func (h *Handlers) meetingPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderMeetingPage(w, r, id, nil)
}

func (h *Handlers) renderMeetingPage(w http.ResponseWriter, r *http.Request, id int64, ferr error) {
	d, err := h.S.MeetingDetail(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	d.Participants, d.Registrations, d.Roll = nil, nil, nil
	if d.Hosts && d.Status == MeetingClosed {
		// The public page shows what residents see, whoever looks.
		d2 := d
		if d2.Opinions, err = h.S.meetingOpinions(r.Context(), h.S.DB.Read(), id, false); err != nil {
			h.App.Error(w, r, err)
			return
		}
		d = d2
	}
	p := h.App.NewPage(r, "consult.meeting.title", d)
	p.Title = d.Title
	p.Flashed("flash.consult_meeting_registered", d.Title)
	p.Flashed("flash.consult_meeting_waiting", d.Title)
	p.Flashed("flash.consult_meeting_unregistered", d.Title)
	h.App.RenderPage(w, r, "consult_meeting.html", p, ferr)
}

func (h *Handlers) register(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	d, err := h.S.Register(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.Conflict {
			h.renderMeetingPage(w, r, id, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	key := "flash.consult_meeting_registered"
	if d.Mine == RegWaiting {
		key = "flash.consult_meeting_waiting"
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/consult/meetings/%d", id), key, 0))
}

func (h *Handlers) unregister(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.meetingPost(w, r)
	if !ok {
		return
	}
	if _, err := h.S.CancelRegistration(r.Context(), auth.From(r.Context()), id); err != nil {
		if e, ok := errs.As(err); ok && e.Code == errs.Conflict {
			h.renderMeetingPage(w, r, id, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/consult/meetings/%d", id), "flash.consult_meeting_unregistered", 0))
}

// ---- the API

func (h *Handlers) apiMeetings(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	town := web.QueryInt(r, "town_id")
	if town == 0 {
		town = a.TownID
	}
	if all, vs := hostScope(a, town); all || len(vs) > 0 {
		list, err := h.S.Meetings(ctx, a, town, web.QueryInt(r, "village_id"))
		h.App.Reply(w, r, http.StatusOK, list, err)
		return
	}
	list, err := h.S.MyMeetings(ctx, a)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateMeeting(w http.ResponseWriter, r *http.Request) {
	var in MeetingInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CreateMeeting(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, d, err)
}

func (h *Handlers) apiMeeting(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.MeetingDetail(r.Context(), auth.From(r.Context()), id)
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

func (h *Handlers) apiOpinion(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in OpinionInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	o, err := h.S.AddOpinion(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusCreated, o, err)
}

func (h *Handlers) apiDecision(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in DecisionInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.AddDecision(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusCreated, d, err)
}

func (h *Handlers) apiClose(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in CloseInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CloseMeeting(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, d, err)
}
