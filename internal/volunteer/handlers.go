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

func parseID(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

func formInt(form url.Values, k string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(form.Get(k)))
	return n
}

// hubView is the resident's home of the pillar.
type hubView struct {
	Me      *Volunteer
	Posts   []Post
	Kinds   []TeamKind
	Kind    string
	Village int64
}

func (h *Handlers) hub(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if a.Self() == 0 {
		if a.IsStaff() {
			http.Redirect(w, r, "/admin/volunteer", http.StatusSeeOther)
		} else {
			h.App.Error(w, r, errs.New(errs.NotFound, "people.no_resident_record"))
		}
		return
	}
	v := hubView{Kinds: Kinds, Kind: r.URL.Query().Get("kind")}
	if me, err := h.S.Me(r.Context(), a); err == nil {
		v.Me = &me
	}
	res, err := h.S.selfResident(r.Context(), a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Village = res.VillageID
	if v.Posts, err = h.S.Posts(r.Context(), asResident(a), PostFilter{Kind: v.Kind}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer.html", "volunteer.title", v, nil, nil)
}

// registerView is the registration form with the village's teams.
type registerView struct {
	Me     *Volunteer
	Teams  []Team
	Skills []string
	Child  bool
}

func (h *Handlers) registerForm(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	a := auth.From(r.Context())
	res, err := h.S.selfResident(r.Context(), a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := registerView{Skills: Skills}
	if me, err := h.S.Me(r.Context(), a); err == nil {
		v.Me = &me
		if form == nil {
			form = url.Values{"skills": me.Skills, "availability": {me.Availability}, "guardian_name": {me.GuardianName}, "guardian_relation": {me.GuardianRelation}}
			for _, t := range me.Teams {
				form.Add("teams", fmt.Sprint(t))
			}
		}
	}
	if v.Teams, err = h.S.Teams(r.Context(), auth.System("volunteer"), res.VillageID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	t, _ := h.S.People.Town(r.Context(), res.TownID)
	v.Child = age(res.BirthDate, t.Today(h.S.Now())) < 14
	h.App.RenderForm(w, r, "volunteer_register.html", "volunteer.register.title", v, form, ferr)
}

func (h *Handlers) registerPage(w http.ResponseWriter, r *http.Request) {
	h.registerForm(w, r, nil, nil)
}

func (h *Handlers) register(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.App.Error(w, r, errs.New(errs.Invalid, "error.invalid"))
		return
	}
	in := RegisterInput{Skills: r.PostForm["skills"], Availability: r.PostFormValue("availability"), Consent: r.PostFormValue("consent") == "1",
		GuardianName: r.PostFormValue("guardian_name"), GuardianRelation: r.PostFormValue("guardian_relation"), GuardianConsent: r.PostFormValue("guardian_consent") == "1"}
	for _, t := range r.PostForm["teams"] {
		in.Teams = append(in.Teams, parseID(t))
	}
	if _, err := h.S.Register(r.Context(), auth.From(r.Context()), in); err != nil {
		h.registerForm(w, r, r.PostForm, err)
		return
	}
	web.Redirect(w, r, "/volunteer?flash=flash.volunteer_registered")
}

// postView is a post with its shifts to come.
type postView struct {
	Post       Post
	Shifts     []Shift
	Registered bool
}

func (h *Handlers) postPage(w http.ResponseWriter, r *http.Request) { h.renderPost(w, r, nil) }

func (h *Handlers) renderPost(w http.ResponseWriter, r *http.Request, ferr error) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	a := auth.From(r.Context())
	self := asResident(a)
	p, err := h.S.Post(r.Context(), self, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	shifts, err := h.S.UpcomingShifts(r.Context(), self, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	_, merr := h.S.Me(r.Context(), a)
	h.App.RenderForm(w, r, "volunteer_post.html", "volunteer.post.title", postView{Post: p, Shifts: shifts, Registered: merr == nil}, nil, ferr)
}

// shiftPost finds the post of a shift for redirects.
func (h *Handlers) shiftPost(r *http.Request, shiftID int64) int64 {
	var id int64
	h.S.DB.Read().QueryRowContext(r.Context(), `SELECT post_id FROM volunteer_shifts WHERE id = $1`, shiftID).Scan(&id)
	return id
}

func (h *Handlers) signUp(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		su, err := h.S.SignUp(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.afterShift(w, r, id, err)
			return
		}
		flash := "flash.volunteer_signed_up"
		if su.Status == Waiting {
			flash = "flash.volunteer_waiting"
		}
		web.Redirect(w, r, fmt.Sprintf("/volunteer/posts/%d?flash=%s", h.shiftPost(r, id), flash))
	})
}

func (h *Handlers) cancel(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if err := h.S.Cancel(r.Context(), auth.From(r.Context()), id); err != nil {
			h.afterShift(w, r, id, err)
			return
		}
		web.Redirect(w, r, fmt.Sprintf("/volunteer/posts/%d?flash=flash.volunteer_cancelled", h.shiftPost(r, id)))
	})
}

// afterShift shows a refused sign-up or cancellation on the post's page.
func (h *Handlers) afterShift(w http.ResponseWriter, r *http.Request, shiftID int64, err error) {
	if _, ok := errs.As(err); !ok || errs.Is(err, errs.NotFound) {
		h.App.Error(w, r, err)
		return
	}
	r.SetPathValue("id", fmt.Sprint(h.shiftPost(r, shiftID)))
	h.renderPost(w, r, err)
}

func (h *Handlers) myShifts(w http.ResponseWriter, r *http.Request) {
	shifts, err := h.S.MyShifts(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_shifts.html", "volunteer.shifts.title", shifts, nil, nil)
}

// scanView is the page a volunteer reaches from the QR at the site.
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
	sh, _, err := h.S.Shift(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_scan.html", "volunteer.scan.title", scanView{Token: tok, Shift: sh}, nil, nil)
}

func (h *Handlers) scan(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("t")
	su, err := h.S.Checkin(r.Context(), auth.From(r.Context()), 0, CheckinInput{Token: tok})
	v := scanView{Token: tok}
	if err == nil {
		v.Done = &su
		v.Shift, _, _ = h.S.Shift(r.Context(), auth.From(r.Context()), su.ShiftID)
	}
	h.App.RenderForm(w, r, "volunteer_scan.html", "volunteer.scan.title", v, nil, err)
}

func (h *Handlers) recordPage(w http.ResponseWriter, r *http.Request) {
	rec, err := h.S.MyRecord(r.Context(), auth.From(r.Context()))
	if errors.Is(err, notFound) {
		http.Redirect(w, r, "/volunteer/register", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_record.html", "volunteer.record.title", rec, nil, nil)
}

func (h *Handlers) issue(w http.ResponseWriter, r *http.Request) {
	c, err := h.S.IssueCertificate(r.Context(), auth.From(r.Context()))
	if err != nil {
		rec, rerr := h.S.MyRecord(r.Context(), auth.From(r.Context()))
		if rerr != nil {
			h.App.Error(w, r, rerr)
			return
		}
		h.App.RenderForm(w, r, "volunteer_record.html", "volunteer.record.title", rec, nil, err)
		return
	}
	web.Redirect(w, r, fmt.Sprintf("/volunteer/certificates/%d", c.ID))
}

func (h *Handlers) certificate(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		c, err := h.S.Certificate(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		h.App.RenderForm(w, r, "volunteer_certificate.html", "volunteer.certificate.title", c, nil, nil)
	})
}

// needsView lists needs with the form to file one.
type needsView struct {
	Needs      []Need
	Categories []string
	Urgencies  []string
	Villages   []people.Village
	Village    int64
	Status     string
}

func (h *Handlers) myNeeds(w http.ResponseWriter, r *http.Request) { h.renderMyNeeds(w, r, nil, nil) }

func (h *Handlers) renderMyNeeds(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	a := auth.From(r.Context())
	self := asResident(a)
	ns, err := h.S.Needs(r.Context(), self, NeedFilter{})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "volunteer_needs.html", "volunteer.needs.title", needsView{Needs: ns, Categories: CategoryList, Urgencies: Urgencies}, form, ferr)
}

func (h *Handlers) fileNeed(w http.ResponseWriter, r *http.Request) {
	in := NeedInput{Category: r.PostFormValue("category"), Description: r.PostFormValue("description"), Urgency: r.PostFormValue("urgency")}
	if _, err := h.S.CreateNeed(r.Context(), auth.From(r.Context()), in); err != nil {
		h.renderMyNeeds(w, r, r.PostForm, err)
		return
	}
	web.Redirect(w, r, "/volunteer/needs?flash=flash.volunteer_need_filed")
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

func (h *Handlers) needPage(w http.ResponseWriter, r *http.Request) { h.renderNeed(w, r, nil, nil) }

func (h *Handlers) renderNeed(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	h.withID(w, r, func(id int64) {
		a := auth.From(r.Context())
		n, p, err := h.S.needFor(r.Context(), a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		admin := strings.HasPrefix(r.URL.Path, "/admin/")
		if !admin {
			// The resident pages show the person's part as a resident; staff dispatch in the console.
			p &^= flow.Dispatcher
		}
		v := needView{Need: n, Can: NeedFlow.Can(n.Status, p), Lead: p.Has(flow.Dispatcher), Admin: admin}
		if v.Lead {
			if v.Suggestions, err = h.S.Suggest(r.Context(), a, id); err != nil {
				h.App.Error(w, r, err)
				return
			}
			if v.Can["take"] {
				// Volunteers listed the village's volunteers without their teams, so this form never showed.
				if v.Volunteers, err = h.S.givenTo(r.Context(), n); err != nil {
					h.App.Error(w, r, err)
					return
				}
			}
		}
		h.App.RenderForm(w, r, "volunteer_need.html", "volunteer.need.title", v, form, ferr)
	})
}

func (h *Handlers) act(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		in := NeedAction{Action: r.PostFormValue("action"), TeamID: parseID(r.PostFormValue("team_id")), VolunteerID: parseID(r.PostFormValue("volunteer_id")),
			Reason: r.PostFormValue("reason"), Rating: formInt(r.PostForm, "rating"), Comment: r.PostFormValue("comment")}
		if _, err := h.S.Act(r.Context(), auth.From(r.Context()), id, in); err != nil {
			h.renderNeed(w, r, r.PostForm, err)
			return
		}
		web.Redirect(w, r, fmt.Sprintf("%s?flash=flash.saved", r.URL.Path))
	})
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
