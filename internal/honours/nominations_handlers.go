package honours

import (
	"fmt"
	"net/http"
	"net/url"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// registerNominations adds the nominations' pages and API: a resident's (and staff's) form with
// the resident picker, the nominations a person may see, the nominee's (or guardian's) consent,
// and the staff's list where they admit or decline.
func (h *Handlers) registerNominations() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/honours/nominate", Access: web.LoggedIn, Summary: "the nomination form: find the resident by name or phone, the category, the story and photos"}, h.nominateForm)
	a.Handle(web.Route{Method: "POST", Path: "/honours/nominate", Access: web.LoggedIn, Summary: "nominate a neighbour, oneself, or (staff) a resident of the village; the nominee is asked for consent"}, h.nominatePost)
	a.Handle(web.Route{Method: "GET", Path: "/honours/nominations", Access: web.LoggedIn, Summary: "a resident's nominations: those they made, those naming them or a minor they consent for"}, h.nominationsMine)
	a.Handle(web.Route{Method: "GET", Path: "/honours/nominations/{id}", Access: web.LoggedIn, Summary: "a nomination: its story, consent and status; the nominee (a minor's guardian) answers here, staff admit or decline"}, h.nominationPage)
	a.Handle(web.Route{Method: "POST", Path: "/honours/nominations/{id}/consent", Access: web.LoggedIn, Summary: "the nominee's (or a minor's guardian's) consent: given, or refused after confirming"}, h.consentPost)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/nominations", Access: web.Staff, Summary: "the nominations of the staff's villages, by status, to admit or decline"}, h.nominationsAdmin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/nominations/{id}/admit", Access: web.Staff, Summary: "admit a nomination the nominee consented to, for a round"}, h.admitPost)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/nominations/{id}/decline", Access: web.Staff, Summary: "decline a nomination with a reason, after confirming; the nominator and nominee are told"}, h.declinePost)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/nominations", Access: web.LoggedIn, Summary: "the nominations the caller may see (status, village_id for staff)", Response: []Nomination{}}, h.apiNominations)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/nominations", Access: web.LoggedIn, Statuses: []int{http.StatusCreated},
		Summary: "nominate a resident with a story and photos as base64 JPEG or PNG (201)", Request: NominationInput{}, Response: Nomination{}}, h.apiNominate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/nominations/{id}", Access: web.LoggedIn, Summary: "a nomination the caller may see", Response: Nomination{}}, h.apiNomination)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/nominations/{id}/consent", Access: web.LoggedIn,
		Summary: "the nominee's (or a minor's guardian's) answer: consent true or false", Request: ConsentInput{}, Response: Nomination{}}, h.apiConsent)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/nominations/{id}/admit", Access: web.LoggedIn, Summary: "admit a consented nomination (the village's staff)", Response: Nomination{}}, h.apiAdmit)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/nominations/{id}/decline", Access: web.LoggedIn,
		Summary: "decline a nomination with a reason (the village's staff)", Request: DeclineInput{}, Response: Nomination{}}, h.apiDecline)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/nominees", Access: web.LoggedIn, Summary: "residents the caller may nominate, found by name or phone (q)", Response: []people.Choice{}}, h.apiNominees)
}

// ConsentInput is the nominee's answer.
type ConsentInput struct {
	Consent bool `json:"consent"`
}

// DeclineInput is the staff's reason for declining a nomination.
type DeclineInput struct {
	Reason string `json:"reason"`
}

// nominateView is the nomination form: the residents found, the categories.
type nominateView struct {
	Q          string
	Found      []people.Choice
	Categories []Category
	MaxPhotos  int
	Staff      bool
}

func (h *Handlers) nominateForm(w http.ResponseWriter, r *http.Request) {
	h.renderNominate(w, r, nil, nil)
}

func (h *Handlers) renderNominate(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := nominateView{Q: r.URL.Query().Get("q"), MaxPhotos: bank.MaxPhotos, Staff: mayStaff(a) && a.ActingFor == nil}
	if f != nil && f.Get("q") != "" {
		v.Q = f.Get("q")
	}
	var err error
	if v.Found, err = h.S.NomineeChoices(ctx, a, v.Q); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Categories, err = h.S.Categories(ctx, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_nominate.html", "honours.nomination.new_title", v, f, ferr)
}

func (h *Handlers) nominatePost(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	f, photos, err := web.ReadPhotoForm(w, r, bank.MaxPhotos, bank.MaxPhotoBytes)
	var x Nomination
	if err == nil {
		x, err = h.S.Nominate(ctx, a, NominationInput{ResidentID: web.FormID(f.Get("resident_id")), CategoryID: web.FormID(f.Get("category_id")), Story: f.Get("story"), Photos: photos})
	}
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderNominate(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/honours/nominations/%d", x.ID), "flash.honours_nominated", x.ID))
}

// nominationsView lists nominations with the filters staff use.
type nominationsView struct {
	Nominations []Nomination
	Status      string
	Statuses    []string
	VillageID   int64
	Villages    []Named
}

func (h *Handlers) nominationsMine(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.Nominations(ctx, a, NominationFilter{})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_nominations.html", "honours.nomination.mine_title", nominationsView{Nominations: list}, nil, nil)
}

func (h *Handlers) nominationsAdmin(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	v := nominationsView{Status: r.URL.Query().Get("status"), VillageID: web.QueryInt(r, "village_id"),
		Statuses: []string{NominationOpen, NominationAdmitted, NominationDeclined, NominationChosen, NominationNotChosen, NominationWithdrawn}}
	var err error
	if v.Nominations, err = h.S.Nominations(ctx, a, NominationFilter{VillageID: v.VillageID, Status: v.Status}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	all, vs := villageScope(a, a.TownID)
	villages, err := h.S.townVillages(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, x := range villages {
		if all || containsID(vs, x.ID) {
			v.Villages = append(v.Villages, x)
		}
	}
	p := h.App.NewPage(r, "honours.nomination.admin_title", v)
	if id := p.FlashID(); id != 0 {
		for _, x := range v.Nominations {
			if x.ID == id {
				p.Flashed("flash.honours_admitted", x.Name)
				p.Flashed("flash.honours_declined", x.Name)
			}
		}
	}
	h.App.RenderPage(w, r, "admin_honours_nominations.html", p, nil)
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (h *Handlers) nominationPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	x, err := h.S.NominationByID(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "honours.nomination.title", x)
	p.Flashed("flash.honours_nominated", x.Name)
	p.Flashed("flash.honours_consented", x.Name)
	p.Flashed("flash.honours_refused", x.Name)
	p.Flashed("flash.honours_admitted", x.Name)
	p.Flashed("flash.honours_declined", x.Name)
	h.App.RenderPage(w, r, "honours_nomination.html", p, nil)
}

func (h *Handlers) consentPost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	give := f.Get("consent") == "1"
	if !give {
		x, err := h.S.NominationByID(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if !x.MayConsent {
			_, err := h.S.Consent(ctx, a, id, false) // refused: not theirs to answer, or answered
			h.App.Error(w, r, err)
			return
		}
		if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.nomination.refuse_title", What: "honours.nomination.refuse_what", Args: []any{x.Name, x.Category},
			Back: fmt.Sprintf("/honours/nominations/%d", id), NoReason: true}); !ok {
			return
		}
	}
	if _, err := h.S.Consent(ctx, a, id, give); err != nil {
		h.App.Error(w, r, err)
		return
	}
	key := "flash.honours_consented"
	if !give {
		key = "flash.honours_refused"
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/honours/nominations/%d", id), key, id))
}

func (h *Handlers) admitPost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	if _, err := h.S.Admit(r.Context(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/nominations", "flash.honours_admitted", id))
}

func (h *Handlers) declinePost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	x, err := h.S.NominationByID(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if !x.MayDecide {
		refusal := errs.New(errs.Forbidden, "error.forbidden")
		if actsAsStaff(a, x.TownID, x.VillageID) {
			refusal = errs.New(errs.Conflict, "honours.nomination.decided")
		}
		h.App.Error(w, r, refusal)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.nomination.decline_title", What: "honours.nomination.decline_what", Args: []any{x.Name, x.Category},
		Back: fmt.Sprintf("/honours/nominations/%d", id)})
	if !ok {
		return
	}
	if _, err := h.S.Decline(ctx, a, id, reason); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/nominations", "flash.honours_declined", id))
}

func (h *Handlers) apiNominations(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Nominations(r.Context(), auth.From(r.Context()), NominationFilter{VillageID: web.QueryInt(r, "village_id"), Status: r.URL.Query().Get("status")})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiNominate(w http.ResponseWriter, r *http.Request) {
	var in NominationInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	x, err := h.S.Nominate(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, x, err)
}

func (h *Handlers) apiNomination(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	x, err := h.S.NominationByID(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, x, err)
}

func (h *Handlers) apiConsent(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ConsentInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	x, err := h.S.Consent(r.Context(), auth.From(r.Context()), id, in.Consent)
	h.App.Reply(w, r, http.StatusOK, x, err)
}

func (h *Handlers) apiAdmit(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	x, err := h.S.Admit(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, x, err)
}

func (h *Handlers) apiDecline(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in DeclineInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	x, err := h.S.Decline(r.Context(), auth.From(r.Context()), id, in.Reason)
	h.App.Reply(w, r, http.StatusOK, x, err)
}

func (h *Handlers) apiNominees(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.NomineeChoices(r.Context(), auth.From(r.Context()), r.URL.Query().Get("q"))
	h.App.Reply(w, r, http.StatusOK, list, err)
}
