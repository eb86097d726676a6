package volunteer

import (
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/people"
	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves 微志愿's pages and API; both call the same service methods.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the resident pages, the staff console pages and the API.
func (h *Handlers) Register() {
	a := h.App
	a.Templates(templates, "templates/*.html")
	a.Handle(web.Route{Method: "GET", Path: "/volunteer", Access: web.LoggedIn, Summary: "posts near me and my volunteering"}, h.hub)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/register", Access: web.LoggedIn, Summary: "register as a volunteer"}, h.registerPage)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/register", Access: web.LoggedIn, Summary: "register as a volunteer"}, h.register)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/posts/{id}", Access: web.LoggedIn, Summary: "a post and its shifts to come"}, h.postPage)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/shifts/{id}/signup", Access: web.LoggedIn, Summary: "sign up for a shift"}, h.signUp)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/shifts/{id}/cancel", Access: web.LoggedIn, Summary: "cancel my sign-up"}, h.cancel)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/shifts", Access: web.LoggedIn, Summary: "my shifts"}, h.myShifts)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/scan", Access: web.LoggedIn, Summary: "scan a shift's QR at the site"}, h.scanPage)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/scan", Access: web.LoggedIn, Summary: "record my arrival or departure"}, h.scan)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/record", Access: web.LoggedIn, Summary: "my hours and certificates"}, h.recordPage)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/certificates", Access: web.LoggedIn, Summary: "issue a service certificate"}, h.issue)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/certificates/{id}", Access: web.LoggedIn, Summary: "a service certificate, printable"}, h.certificate)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/needs", Access: web.LoggedIn, Summary: "my needs, and those my teams can take"}, h.myNeeds)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/needs", Access: web.LoggedIn, Summary: "file a need"}, h.fileNeed)
	a.Handle(web.Route{Method: "GET", Path: "/volunteer/needs/{id}", Access: web.LoggedIn, Summary: "a need"}, h.needPage)
	a.Handle(web.Route{Method: "POST", Path: "/volunteer/needs/{id}", Access: web.LoggedIn, Summary: "take, finish, send back or rate a need"}, h.act)
	h.registerAdmin()
	h.registerAPI()
}

// hubView is the resident's home of the pillar.
type hubView struct {
	Me    *Volunteer
	Posts []Post
	Kinds []TeamKind
	Kind  string
}

func (h *Handlers) hub(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if a.Self() == 0 {
		if a.IsStaff() {
			http.Redirect(w, r, "/admin/volunteer", http.StatusSeeOther)
		} else {
			h.App.Error(w, r, errs.New(errs.NotFound, "people.no_resident_record"))
		}
		return
	}
	v := hubView{Kinds: Kinds, Kind: r.URL.Query().Get("kind")}
	var err error
	if v.Me, err = h.S.Registered(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Posts, err = h.S.Posts(ctx, asResident(a), PostFilter{Kind: v.Kind}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "volunteer.title", v)
	if v.Me != nil {
		p.Flashed("flash.volunteer_registered", v.Me.Name, v.Me.Number)
	}
	h.App.RenderPage(w, r, "volunteer.html", p, nil)
}

// registerView is the registration form with the village's teams.
type registerView struct {
	Me     *Volunteer
	Teams  []Team
	Skills []string
	Child  bool
}

func (h *Handlers) registerPage(w http.ResponseWriter, r *http.Request) {
	h.renderRegister(w, r, nil, nil)
}

func (h *Handlers) renderRegister(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := registerView{Skills: Skills}
	var err error
	if v.Teams, v.Child, err = h.S.Joining(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Me, err = h.S.Registered(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil && v.Me != nil {
		f = url.Values{"skills": v.Me.Skills, "availability": {v.Me.Availability}, "guardian_name": {v.Me.GuardianName}, "guardian_relation": {v.Me.GuardianRelation}}
		for _, t := range v.Me.Teams {
			f.Add("teams", strconv.FormatInt(t, 10))
		}
	}
	h.App.RenderForm(w, r, "volunteer_register.html", "volunteer.register.title", v, f, ferr)
}

func (h *Handlers) register(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := RegisterInput{Skills: f["skills"], Availability: f.Get("availability"), Consent: f.Get("consent") == "1",
		GuardianName: f.Get("guardian_name"), GuardianRelation: f.Get("guardian_relation"), GuardianConsent: f.Get("guardian_consent") == "1"}
	for _, t := range f["teams"] {
		in.Teams = append(in.Teams, web.FormID(t))
	}
	if _, err := h.S.Register(r.Context(), auth.From(r.Context()), in); err != nil {
		h.renderRegister(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/volunteer", "flash.volunteer_registered", 0))
}

// postView is a post with its shifts to come.
type postView struct {
	Post       Post
	Shifts     []Shift
	Registered bool
}

func (h *Handlers) postPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderPost(w, r, id, nil)
}

func (h *Handlers) renderPost(w http.ResponseWriter, r *http.Request, id int64, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	self := asResident(a)
	p, err := h.S.Post(ctx, self, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	shifts, err := h.S.UpcomingShifts(ctx, self, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	me, err := h.S.Registered(ctx, a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	page := h.App.NewPage(r, "volunteer.post.title", postView{Post: p, Shifts: shifts, Registered: me != nil})
	// The sign-up the flash speaks of is the one the shift shows: held, in line, or gone.
	for _, sh := range shifts {
		if sh.ID != page.FlashID() {
			continue
		}
		when := page.Span(sh.StartsAt, sh.EndsAt)
		switch {
		case sh.Mine == nil || sh.Mine.Status == Cancelled:
			page.Flashed("flash.volunteer_cancelled", p.Title, when)
		case sh.Mine.Status == Waiting:
			page.Flashed("flash.volunteer_waiting", p.Title, when, sh.Mine.Position)
		default:
			page.Flashed("flash.volunteer_signed_up", p.Title, when)
		}
	}
	h.App.RenderPage(w, r, "volunteer_post.html", page, ferr)
}

func (h *Handlers) signUp(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	su, err := h.S.SignUp(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.shiftRefused(w, r, id, err)
		return
	}
	flash := "flash.volunteer_signed_up"
	if su.Status == Waiting {
		flash = "flash.volunteer_waiting"
	}
	h.backToPost(w, r, id, flash)
}

func (h *Handlers) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if err := h.S.Cancel(r.Context(), auth.From(r.Context()), id); err != nil {
		h.shiftRefused(w, r, id, err)
		return
	}
	h.backToPost(w, r, id, "flash.volunteer_cancelled")
}

// backToPost sends the resident back to the page of a shift's post, with a flash.
func (h *Handlers) backToPost(w http.ResponseWriter, r *http.Request, shiftID int64, flash string) {
	post, err := h.S.PostOf(r.Context(), shiftID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/volunteer/posts/%d", post), flash, shiftID))
}

// shiftRefused shows a refused sign-up or cancellation on the page of the shift's post.
func (h *Handlers) shiftRefused(w http.ResponseWriter, r *http.Request, shiftID int64, ferr error) {
	post, err := h.S.PostOf(r.Context(), shiftID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.renderPost(w, r, post, ferr)
}

func (h *Handlers) myShifts(w http.ResponseWriter, r *http.Request) {
	shifts, err := h.S.MyShifts(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_shifts.html", "volunteer.shifts.title", shifts, nil, nil)
}

// scanView is the page a volunteer reaches from the QR at the site: the shift, and their own scans.
type scanView struct {
	Token string
	Shift Shift
	Done  *Signup
}

func (h *Handlers) scanPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	id, err := h.S.ParseShiftToken(tok)
	if err != nil {
		h.App.RenderForm(w, r, "volunteer_scan.html", "volunteer.scan.title", scanView{}, nil, err)
		return
	}
	a := auth.From(r.Context())
	if a.Self() != 0 {
		a = asResident(a) // a leader who serves on the shift sees their own scans, not the roster
	}
	sh, _, err := h.S.Shift(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := scanView{Token: tok, Shift: sh}
	if sh.Mine != nil && !sh.Mine.ScannedInAt.IsZero() {
		v.Done = sh.Mine
	}
	p := h.App.NewPage(r, "volunteer.scan.title", v)
	if v.Done != nil {
		p.Flashed("flash.volunteer_scanned_in", sh.PostTitle, p.TimeOfDay(v.Done.ScannedInAt))
		p.Flashed("flash.volunteer_scanned_out", sh.PostTitle, p.TimeOfDay(v.Done.ScannedOutAt))
	}
	h.App.RenderPage(w, r, "volunteer_scan.html", p, nil)
}

func (h *Handlers) scan(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	tok := f.Get("t")
	su, err := h.S.Checkin(r.Context(), auth.From(r.Context()), 0, CheckinInput{Token: tok})
	if err != nil {
		h.App.RenderForm(w, r, "volunteer_scan.html", "volunteer.scan.title", scanView{Token: tok}, f, err)
		return
	}
	flash := "flash.volunteer_scanned_in"
	if !su.ScannedOutAt.IsZero() {
		flash = "flash.volunteer_scanned_out"
	}
	web.Redirect(w, r, web.FlashURL("/volunteer/scan?"+url.Values{"t": {tok}}.Encode(), flash, 0))
}

func (h *Handlers) recordPage(w http.ResponseWriter, r *http.Request) {
	h.renderRecord(w, r, nil)
}

func (h *Handlers) renderRecord(w http.ResponseWriter, r *http.Request, ferr error) {
	rec, err := h.S.MyRecord(r.Context(), auth.From(r.Context()))
	if errors.Is(err, notFound) && ferr == nil {
		// Someone not registered has no record yet: the page to register is where to go.
		http.Redirect(w, r, "/volunteer/register", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_record.html", "volunteer.record.title", rec, nil, ferr)
}

func (h *Handlers) issue(w http.ResponseWriter, r *http.Request) {
	c, err := h.S.IssueCertificate(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.renderRecord(w, r, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/volunteer/certificates/%d", c.ID))
}

func (h *Handlers) certificate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	c, err := h.S.Certificate(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_certificate.html", "volunteer.certificate.title", c, nil, nil)
}

// needsView lists needs with the form to file one.
type needsView struct {
	Needs      []Need
	Raised     []Need // the resident's page: needs raised for them
	Serving    []Need // the resident's page: needs they serve or their team may take
	Categories []string
	Urgencies  []string
	Villages   []people.Village
	Village    int64
	Status     string
	// The staff form's search for the person a need is for (by name, phone or 户号): people are
	// picked, never typed by id.
	Q     string
	Found []people.Resident
}

func (h *Handlers) myNeeds(w http.ResponseWriter, r *http.Request) { h.renderMyNeeds(w, r, nil, nil) }

func (h *Handlers) renderMyNeeds(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	raised, serving, err := h.S.MyNeeds(r.Context(), asResident(auth.From(r.Context())))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "volunteer.needs.title", needsView{Raised: raised, Serving: serving, Categories: CategoryList, Urgencies: Urgencies})
	p.Form = f
	for _, n := range raised {
		if n.ID == p.FlashID() {
			p.Flashed("flash.volunteer_need_filed", p.T("volunteer.category."+n.Category), p.T("volunteer.need_status."+n.Status))
		}
	}
	h.App.RenderPage(w, r, "volunteer_needs.html", p, ferr)
}

func (h *Handlers) fileNeed(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := NeedInput{Category: f.Get("category"), Description: f.Get("description"), Urgency: f.Get("urgency"),
		IdempotencyKey: f.Get("idempotency_key"), ConfirmDuplicate: f.Get(errs.ConfirmDuplicate) == "1"}
	n, err := h.S.CreateNeed(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.renderMyNeeds(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/volunteer/needs", "flash.volunteer_need_filed", n.ID))
}

// needView is a need with what the viewer may do with it: Can holds the actions NeedFlow allows
// them now, from which the page draws its buttons.
type needView struct {
	Need        Need
	Can         map[string]bool
	Suggestions []Suggestion
	Volunteers  []Volunteer
	Lead        bool
	Admin       bool
}

func (h *Handlers) needPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderNeed(w, r, id, nil, nil)
}

func (h *Handlers) renderNeed(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	admin := strings.HasPrefix(r.URL.Path, "/admin/")
	// The resident pages show the person's part as a resident; staff dispatch in the console.
	d, err := h.S.NeedDesk(ctx, a, id, admin)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := needView{Need: d.Need, Can: NeedFlow.Can(d.Need.Status, d.Parties), Lead: d.Parties.Has(flow.Dispatcher), Admin: admin,
		Suggestions: d.Suggestions, Volunteers: d.Volunteers}
	p := h.App.NewPage(r, "volunteer.need.title", v)
	p.Form = f
	if did := r.URL.Query().Get("did"); did != "" && ferr == nil {
		p.Flash = needFlash(p, did, d.Need)
	}
	p.Flashed("flash.volunteer_need_recorded", d.Need.ForName, p.T("volunteer.category."+d.Need.Category), p.T("volunteer.need_status."+d.Need.Status))
	status := http.StatusOK
	if ferr != nil {
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.Render(w, r, status, "volunteer_need.html", p)
}

// needDid names each of NeedFlow's actions as done, for the flash after it.
var needDid = map[string]string{"assign": "volunteer.did.assign", "take": "volunteer.did.take", "done": "volunteer.did.done",
	"rate": "volunteer.did.rate", "send_back": "volunteer.did.send_back", "refuse": "volunteer.did.refuse"}

// needFlash says what an action on a need did and where it now stands: "已派单：民生帮扶队 · 状态
// 已派单". The action is one the need page redirected with (did=); anything else says nothing.
func needFlash(p *web.Page, action string, n Need) string {
	did, ok := needDid[action]
	if !ok {
		return ""
	}
	what := ""
	switch action {
	case "assign":
		if n.TeamKind != "" {
			what = p.T("volunteer.kind." + string(n.TeamKind))
		}
	case "take":
		what = n.VolunteerName
	case "rate":
		if n.Rating > 0 {
			what = p.T("volunteer.rated", n.Rating)
		}
	}
	done := p.T(did)
	if what != "" {
		done = p.T("volunteer.did_what", done, what)
	}
	return p.T("volunteer.did", done, p.T("volunteer.need_status."+n.Status))
}

func (h *Handlers) act(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := NeedAction{Action: f.Get("action"), TeamID: web.FormID(f.Get("team_id")), VolunteerID: web.FormID(f.Get("volunteer_id")),
		Reason: f.Get("reason"), Rating: web.FormInt(f.Get("rating")), Comment: f.Get("comment")}
	if _, err := h.S.Act(r.Context(), auth.From(r.Context()), id, in); err != nil {
		h.renderNeed(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, r.URL.Path+"?"+url.Values{"did": {in.Action}}.Encode())
}

// qrPNG is a QR code of a shift's check-in address.
func qrPNG(content string) ([]byte, error) { return qrcode.Encode(content, qrcode.Medium, 320) }

// awardNote is how a sign-up's payment reads on the roster.
func awardNote(su Signup) string {
	switch {
	case su.TransactionID != 0:
		return "paid"
	case su.AwardError == "volunteer.award_pending":
		return "pending"
	case su.AwardError != "":
		return "refused"
	}
	return ""
}

// asResident is the actor as the resident pages see them: staff who are residents too see the
// resident's view of posts and needs there, not their console's.
func asResident(a *auth.Actor) *auth.Actor {
	return &auth.Actor{AccountID: a.AccountID, Name: a.Name, ResidentID: a.Self(), TownID: a.TownID}
}
