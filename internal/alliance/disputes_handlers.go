package alliance

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerDisputes adds the dispute centre's pages and API: its staff's intake and cases under
// /admin/disputes and /api/v1/disputes, and the residents' page to book a consultation.
func (h *Handlers) registerDisputes() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/disputes", Access: web.Staff, Summary: "the dispute centre: bookings waiting, overdue cases and the counts (the centre's staff only)"}, h.disputesHome)
	a.Handle(web.Route{Method: "GET", Path: "/admin/disputes/consultations", Access: web.Staff, Summary: "the centre's intake: bookings to answer, consultations, and the form to record one (?q finds a resident)"}, h.consultationsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/disputes/consultations", Access: web.Staff, Summary: "record a consultation, or answer a booking (id)"}, h.consultationSave)
	a.Handle(web.Route{Method: "GET", Path: "/admin/disputes/cases", Access: web.Staff, Summary: "the centre's cases (status, overdue=1)"}, h.casesPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/disputes/cases/new", Access: web.Staff, Summary: "the form to open a case (?q finds residents for the parties, ?consultation links an intake)"}, h.caseNew)
	a.Handle(web.Route{Method: "POST", Path: "/admin/disputes/cases", Access: web.Staff, Summary: "open a case with its parties and mediation team"}, h.caseCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/disputes/cases/{id}", Access: web.Staff, Summary: "a case: parties, team, sessions with photos, timeline and the steps to take"}, h.casePage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/disputes/cases/{id}/sessions", Access: web.Staff, Summary: "record a mediation session with photos (multipart)"}, h.sessionAdd)
	a.Handle(web.Route{Method: "POST", Path: "/admin/disputes/cases/{id}/actions", Access: web.Staff, Summary: "extend, settle, record a first understanding, file or end a case (ending asks first)"}, h.caseAct)
	a.Handle(web.Route{Method: "GET", Path: "/alliance/disputes", Access: web.LoggedIn, Summary: "the dispute centre for residents: contact, address, hours, how to book, the booking form and my bookings"}, h.residentDisputes)
	a.Handle(web.Route{Method: "POST", Path: "/alliance/disputes/bookings", Access: web.LoggedIn, Summary: "book a consultation (matter, preferred day)"}, h.bookingCreate)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/disputes/consultations", Access: web.LoggedIn, API: true,
		Summary: "the centre's intake (booked=1, q), for its staff only", Response: []Consultation{}}, h.apiConsultations)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/disputes/consultations", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "record a consultation (resident_id, or name and phone), or answer a booking (id); 201", Request: ConsultationInput{}, Response: Consultation{}}, h.apiConsultationSave)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/disputes/cases", Access: web.LoggedIn, API: true,
		Summary: "the centre's cases (status, overdue=1), for its staff only", Response: []Case{}}, h.apiCases)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/disputes/cases", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "open a case with its parties (applicant and respondent) and team; 30 days to mediate; 201", Request: CaseInput{}, Response: Case{}}, h.apiCaseCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/disputes/cases/{id}", Access: web.LoggedIn, API: true,
		Summary: "a case with its parties, team, sessions, timeline and actions", Response: Case{}}, h.apiCase)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/disputes/cases/{id}/sessions", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "record a mediation session (day, place visit or centre, attendees, work: boundary, law, policy; notes); 201", Request: SessionInput{}, Response: Case{}}, h.apiSessionAdd)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/disputes/cases/{id}/actions", Access: web.LoggedIn, API: true,
		Summary: "extend (days, reason), settle (agreement, confirmed), understand, file (court_number) or end (reason) a case", Request: CaseAction{}, Response: Case{}}, h.apiCaseAct)
}

// ---- the centre's landing

type disputesHomeView struct {
	Counts  DisputeCounts
	Booked  []Consultation
	Overdue []Case
}

func (h *Handlers) disputesHome(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	var v disputesHomeView
	var err error
	if v.Booked, err = h.S.Consultations(ctx, a, ConsultationFilter{Booked: true}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Overdue, err = h.S.Cases(ctx, a, CaseFilter{Overdue: true}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Counts, err = h.S.DisputeCounts(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderPage(w, r, "disputes.html", h.App.NewPage(r, "alliance.dispute.title", v), nil)
}

// ---- intake

type consultationsView struct {
	Q       string
	Found   []ResidentChoice
	List    []Consultation
	Booked  bool
	Answer  int64 // the booking being answered, 0 for a new consultation
	Today   string
	Current Consultation
}

func (h *Handlers) consultationsPage(w http.ResponseWriter, r *http.Request) {
	h.renderConsultations(w, r, url.Values{}, nil)
}

func (h *Handlers) renderConsultations(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	v := consultationsView{Q: strings.TrimSpace(q.Get("q")), Booked: q.Get("booked") == "1", Answer: web.FormID(q.Get("answer"))}
	if ferr != nil {
		v.Answer = web.FormID(f.Get("id"))
	}
	var err error
	if v.List, err = h.S.Consultations(ctx, a, ConsultationFilter{Booked: v.Booked}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Found, err = h.S.FindParties(ctx, a, 0, v.Q); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Answer != 0 {
		if v.Current, err = h.S.Consultation(ctx, a, v.Answer); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "alliance.dispute.consultations_title", v)
	p.Form = f
	p.Flashed("flash.dispute_consultation_saved")
	h.App.RenderPage(w, r, "disputes_consultations.html", p, ferr)
}

func consultationInput(f url.Values) ConsultationInput {
	return ConsultationInput{ID: web.FormID(f.Get("id")), Day: f.Get("day"), ResidentID: web.FormID(f.Get("resident_id")), Name: f.Get("name"), Phone: f.Get("phone"),
		Matter: f.Get("matter"), Advice: f.Get("advice"), BecameCase: f.Get("became_case") == "1"}
}

func (h *Handlers) consultationSave(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	_, err := h.S.SaveConsultation(r.Context(), auth.From(r.Context()), consultationInput(f))
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderConsultations(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/disputes/consultations", "flash.dispute_consultation_saved", 0))
}

// ---- cases

type casesView struct {
	List     []Case
	Status   string
	Statuses []string
	Overdue  bool
}

func (h *Handlers) casesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := casesView{Status: q.Get("status"), Statuses: CaseStatuses, Overdue: q.Get("overdue") == "1"}
	var err error
	if v.List, err = h.S.Cases(r.Context(), auth.From(r.Context()), CaseFilter{Status: v.Status, Overdue: v.Overdue}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderPage(w, r, "disputes_cases.html", h.App.NewPage(r, "alliance.dispute.cases_title", v), nil)
}

// partyRow and teamRow are the rows of the new-case form, as typed.
type partyRow struct {
	I          int
	Role       string
	Name       string
	Phone      string
	ResidentID int64
}

type teamRow struct {
	I                int
	Role, Name, Unit string
}

type caseNewView struct {
	Q            string
	Found        []ResidentChoice
	Villages     []Named
	Parties      []partyRow
	Team         []teamRow
	Kinds        []string
	Sources      []string
	PartyRoles   []string
	TeamRoles    []string
	Consultation int64
}

const caseFormParties, caseFormTeam = 4, 5

func caseInput(f url.Values) CaseInput {
	in := CaseInput{VillageID: web.FormID(f.Get("village_id")), Title: f.Get("title"), Kind: f.Get("kind"), Source: f.Get("source"), Summary: f.Get("summary"),
		ConsultationID: web.FormID(f.Get("consultation_id"))}
	at := func(k string, i int) string {
		if v := f[k]; i < len(v) {
			return v[i]
		}
		return ""
	}
	for i := range caseFormParties {
		in.Parties = append(in.Parties, CaseParty{Role: at("party_role", i), Name: at("party_name", i), Phone: at("party_phone", i), ResidentID: web.FormID(at("party_resident", i))})
	}
	for i := range caseFormTeam {
		in.Team = append(in.Team, TeamMember{Role: at("team_role", i), Name: at("team_name", i), Unit: at("team_unit", i)})
	}
	return in
}

func (h *Handlers) caseNew(w http.ResponseWriter, r *http.Request) {
	h.renderCaseNew(w, r, r.URL.Query(), nil)
}

func (h *Handlers) renderCaseNew(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	townID, err := disputeTown(a, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	in := caseInput(f)
	v := caseNewView{Q: strings.TrimSpace(r.URL.Query().Get("q")), Kinds: CaseKinds, Sources: CaseSources, PartyRoles: PartyRoles, TeamRoles: TeamRoles,
		Consultation: web.FormID(f.Get("consultation"))}
	if v.Consultation == 0 {
		v.Consultation = in.ConsultationID
	}
	if v.Found, err = h.S.FindParties(ctx, a, townID, v.Q); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Villages, err = h.S.townVillages(ctx, townID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	for i, p := range in.Parties {
		if i < 2 && p.Role == "" {
			p.Role = PartyRoles[i]
		}
		v.Parties = append(v.Parties, partyRow{I: i, Role: p.Role, Name: p.Name, Phone: p.Phone, ResidentID: p.ResidentID})
	}
	for i, m := range in.Team {
		if m.Role == "" {
			m.Role = TeamRoles[i%len(TeamRoles)]
		}
		v.Team = append(v.Team, teamRow{I: i, Role: m.Role, Name: m.Name, Unit: m.Unit})
	}
	p := h.App.NewPage(r, "alliance.dispute.case_new_title", v)
	p.Form = f
	h.App.RenderPage(w, r, "disputes_case_new.html", p, ferr)
}

func (h *Handlers) caseCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	c, err := h.S.CreateCase(r.Context(), auth.From(r.Context()), caseInput(f))
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderCaseNew(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/disputes/cases/%d", c.ID), "flash.dispute_case_opened", 0))
}

type caseView struct {
	Case   Case
	Can    map[string]bool
	Places []string
	Work   []string
	Today  string
}

func (h *Handlers) casePage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderCase(w, r, id, nil, nil)
}

func (h *Handlers) renderCase(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	c, err := h.S.Case(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := caseView{Case: c, Can: map[string]bool{}, Places: SessionPlaces, Work: SessionWork}
	for _, n := range c.Actions {
		v.Can[n] = true
	}
	if v.Today, err = h.S.townToday(ctx, c.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "alliance.dispute.case_title", v)
	p.Title = c.Title
	p.Form = f
	p.Flashed("flash.dispute_case_opened", c.Title)
	p.Flashed("flash.dispute_session_added", c.Title)
	for _, n := range []string{"extend", "settle", "understand", "file", "end"} {
		p.Flashed("flash.dispute_case."+n, c.Title)
	}
	h.App.RenderPage(w, r, "disputes_case.html", p, ferr)
}

func (h *Handlers) sessionAdd(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, photos, err := web.ReadPhotoForm(w, r, maxSessionPhotos, bank.MaxPhotoBytes)
	if err != nil {
		h.renderCase(w, r, id, f, err)
		return
	}
	in := SessionInput{Day: f.Get("day"), Place: f.Get("place"), Attendees: f.Get("attendees"), Work: f["work"], Notes: f.Get("notes"), Photos: photos}
	if _, err := h.S.AddSession(r.Context(), auth.From(r.Context()), id, in); err != nil {
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Unauthorized) {
			h.App.Error(w, r, err)
			return
		}
		h.renderCase(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/disputes/cases/%d", id), "flash.dispute_session_added", 0))
}

// outcomeQuestions are what the page asks before a case's outcome, which closes it: its title and
// the line that says what will happen.
var outcomeQuestions = map[string][2]string{
	"end":    {"alliance.dispute.confirm_end", "alliance.dispute.confirm_end_what"},
	"settle": {"alliance.dispute.confirm_settle", "alliance.dispute.confirm_settle_what"},
	"file":   {"alliance.dispute.confirm_file", "alliance.dispute.confirm_file_what"},
}

func (h *Handlers) caseAct(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	days, _ := strconv.Atoi(strings.TrimSpace(f.Get("days")))
	in := CaseAction{Action: f.Get("action"), Reason: f.Get("reason"), Days: days, Agreement: f.Get("agreement"), Confirmed: f.Get("judicial") == "1",
		CourtNumber: f.Get("court_number")}
	back := fmt.Sprintf("/admin/disputes/cases/%d", id)
	if q, asks := outcomeQuestions[in.Action]; asks {
		// An outcome closes the case and cannot be undone: asked first, of the case's staff only;
		// ending keeps its reason.
		c, err := h.S.Case(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: q[0], What: q[1], Args: []any{c.Title}, Back: back, NoReason: in.Action != "end"})
		if !ok {
			return
		}
		if in.Action == "end" {
			in.Reason = reason
		}
	}
	if _, err := h.S.ActCase(ctx, a, id, in); err != nil {
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Unauthorized) {
			h.App.Error(w, r, err)
			return
		}
		h.renderCase(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(back, "flash.dispute_case."+in.Action, 0))
}

// ---- residents

type residentDisputesView struct {
	Bookings []Booking
	Resident bool
}

func (h *Handlers) residentDisputes(w http.ResponseWriter, r *http.Request) {
	h.renderResidentDisputes(w, r, nil, nil)
}

func (h *Handlers) renderResidentDisputes(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.MyBookings(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "alliance.dispute.resident_title", residentDisputesView{Bookings: list, Resident: a.Self() != 0})
	p.Form = f
	p.Flashed("flash.dispute_booked")
	h.App.RenderPage(w, r, "alliance_disputes_resident.html", p, ferr)
}

func (h *Handlers) bookingCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Book(r.Context(), auth.From(r.Context()), BookingInput{Matter: f.Get("matter"), PreferredDay: f.Get("preferred_day")}); err != nil {
		if e, ok := errs.As(err); ok && (len(e.Fields) > 0 || e.Code == errs.Conflict) {
			h.renderResidentDisputes(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/alliance/disputes", "flash.dispute_booked", 0))
}

// ---- API

func (h *Handlers) apiConsultations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.S.Consultations(r.Context(), auth.From(r.Context()), ConsultationFilter{Booked: q.Get("booked") == "1", Q: q.Get("q")})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiConsultationSave(w http.ResponseWriter, r *http.Request) {
	var in ConsultationInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.SaveConsultation(r.Context(), auth.From(r.Context()), in)
	status := http.StatusCreated
	if in.ID != 0 {
		status = http.StatusOK
	}
	h.App.Reply(w, r, status, c, err)
}

func (h *Handlers) apiCases(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.S.Cases(r.Context(), auth.From(r.Context()), CaseFilter{Status: q.Get("status"), Overdue: q.Get("overdue") == "1"})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCaseCreate(w http.ResponseWriter, r *http.Request) {
	var in CaseInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.CreateCase(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, c, err)
}

func (h *Handlers) apiCase(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	c, err := h.S.Case(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, c, err)
}

func (h *Handlers) apiSessionAdd(w http.ResponseWriter, r *http.Request) {
	var in SessionInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.AddSession(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusCreated, c, err)
}

func (h *Handlers) apiCaseAct(w http.ResponseWriter, r *http.Request) {
	var in CaseAction
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.ActCase(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, c, err)
}
