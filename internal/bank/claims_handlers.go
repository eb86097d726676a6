package bank

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// The claim pages and API: a resident claims points with photos (申报), the village's residents
// read its notice board (公示栏) and object, staff review claims and decide objections.
func (h *Handlers) registerClaims() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/bank/claims", Access: web.LoggedIn, Summary: "my claims and their status"}, h.myClaims)
	a.Handle(web.Route{Method: "GET", Path: "/bank/claims/new", Access: web.LoggedIn, Summary: "claim points form"}, h.claimForm)
	a.Handle(web.Route{Method: "POST", Path: "/bank/claims", Access: web.LoggedIn, Summary: "claim points under a rule, with photos (multipart)"}, h.claim)
	a.Handle(web.Route{Method: "GET", Path: "/bank/claims/{id}/photos/{n}", Access: web.LoggedIn, Summary: "a photo of a claim the caller may see"}, h.claimPhoto)
	a.Handle(web.Route{Method: "POST", Path: "/bank/claims/{id}/objections", Access: web.LoggedIn, Summary: "object to a claim on my village's notice board"}, h.object)
	a.Handle(web.Route{Method: "GET", Path: "/bank/notices", Access: web.LoggedIn, Summary: "my village's notice board"}, h.notices)
	a.Handle(web.Route{Method: "GET", Path: "/admin/bank/claims", Access: web.Staff, Summary: "claims to review, by status and village, with their objections"}, h.adminClaims)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/claims/{id}/review", Access: web.Staff, Summary: "approve or reject a claim"}, h.review)
	a.Handle(web.Route{Method: "POST", Path: "/admin/bank/objections/{id}", Access: web.Staff, Summary: "uphold or dismiss an objection"}, h.decideObjection)

	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/claims", Statuses: []int{http.StatusCreated, http.StatusOK}, Access: web.LoggedIn,
		Summary: "claim points under a rule as the caller, photos as base64 JPEG or PNG (body up to 22 MiB); 201, or 200 with the first claim for a resent idempotency_key", Request: ClaimInput{}, Response: Claim{}}, h.apiClaim)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/claims", Access: web.LoggedIn,
		Summary: "the caller's claims, newest first", Response: []Claim{}}, h.apiMyClaims)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/notices", Access: web.LoggedIn,
		Summary: "the notice board of the caller's village (staff: village_id)", Response: []Claim{}}, h.apiNotices)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/claims/{id}/objections", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "object to a claim on the caller's village's notice board", Request: ObjectionInput{}, Response: Objection{}}, h.apiObject)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/claims/{id}/review", Access: web.LoggedIn,
		Summary: "approve or reject a pending claim (reviewers; answers 200)", Request: ClaimReview{}, Response: Claim{}}, h.apiReview)
}

// ClaimReview is a reviewer's decision on a pending claim; a rejection needs a reason.
type ClaimReview struct {
	Approve bool   `json:"approve"`
	Reason  string `json:"reason"`
}

// ObjectionInput is a resident's objection (异议) to a claim on notice.
type ObjectionInput struct {
	Reason string `json:"reason"`
}

// ---- resident pages

// claimFormView is the claim form with the rules in force for the resident's class.
type claimFormView struct {
	R         people.Resident
	Class     people.MemberClass
	Rules     []Rule
	Today     string
	MaxPhotos int
}

func (h *Handlers) claimForm(w http.ResponseWriter, r *http.Request) {
	h.renderClaimForm(w, r, nil, nil)
}

func (h *Handlers) renderClaimForm(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	res, town, ok := h.me(w, r)
	if !ok {
		return
	}
	_, class, rules, err := h.rulesFor(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	today := town.Clock(h.S.Now).Day()
	if form == nil {
		form = url.Values{"happened_on": {today}}
	}
	if form.Get("idempotency_key") == "" {
		form.Set("idempotency_key", newKey())
	}
	p := h.App.NewPage(r, "bank.claim_new.title", claimFormView{R: res, Class: class, Rules: rules, Today: today, MaxPhotos: MaxPhotos})
	p.Form = form
	status := http.StatusOK
	if ferr != nil {
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
		photoErrors(p)
	}
	h.App.Render(w, r, status, "claim_new.html", p)
}

var photoField = regexp.MustCompile(`^photos\[(\d+)\]$`)

// photoErrors gathers the service's errors on photos[i] under the form's one photo field, each
// naming the photo by its place among those sent.
func photoErrors(p *web.Page) {
	type photoErr struct {
		n   int
		msg string
	}
	var found []photoErr
	for k, msg := range p.Errors {
		if m := photoField.FindStringSubmatch(k); m != nil {
			found = append(found, photoErr{web.FormInt(m[1]) + 1, msg})
		}
	}
	slices.SortFunc(found, func(a, b photoErr) int { return a.n - b.n })
	var msgs []string
	if m := p.Errors["photos"]; m != "" {
		msgs = append(msgs, m)
	}
	for _, e := range found {
		msgs = append(msgs, p.T("bank.photo_n", e.n)+e.msg)
	}
	if len(msgs) > 0 {
		p.Errors["photos"] = strings.Join(msgs, "；")
	}
}

// maxClaimForm bounds a claim form: MaxPhotos photos at their limit and the text fields.
const maxClaimForm = MaxPhotos*MaxPhotoBytes + 1<<20

// maxClaimField bounds one text field of the claim form.
const maxClaimField = 64 << 10

func (h *Handlers) claim(w http.ResponseWriter, r *http.Request) {
	form, in, err := readClaimForm(w, r)
	var c Claim
	if err == nil {
		c, err = h.S.Claim(r.Context(), auth.From(r.Context()), in)
	}
	if err != nil {
		h.renderClaimForm(w, r, form, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/bank/claims", "flash.claimed", c.ID))
}

// readClaimForm reads a claim form part by part, so that each photo is read once into memory and
// no more than maxClaimForm is read in all. Empty file inputs are skipped; the service checks
// how many photos there are and what they are.
func readClaimForm(w http.ResponseWriter, r *http.Request) (url.Values, ClaimInput, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxClaimForm)
	form := url.Values{}
	var in ClaimInput
	mr, err := r.MultipartReader()
	if err != nil {
		// Not multipart: a form without photos.
		if err := r.ParseForm(); err != nil {
			return form, in, claimBodyError(err)
		}
		form = r.PostForm
	}
	for mr != nil {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return form, in, claimBodyError(err)
		}
		name := part.FormName()
		switch {
		case name == "photos":
			b, err := io.ReadAll(io.LimitReader(part, MaxPhotoBytes+1))
			if err != nil {
				return form, in, claimBodyError(err)
			}
			if len(b) > 0 {
				in.Photos = append(in.Photos, b)
			}
		case part.FileName() == "" && name != "":
			b, err := io.ReadAll(io.LimitReader(part, maxClaimField))
			if err != nil {
				return form, in, claimBodyError(err)
			}
			form.Add(name, string(b))
		}
	}
	in.RuleCode, in.Description, in.HappenedOn, in.IdempotencyKey = form.Get("rule_code"), form.Get("description"), form.Get("happened_on"), form.Get("idempotency_key")
	in.ConfirmDuplicate = form.Get(errs.ConfirmDuplicate) == "1"
	return form, in, nil
}

// claimBodyError is the refusal of a claim body that could not be read: too large, or broken.
func claimBodyError(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &errs.Error{Code: errs.TooLarge, Key: "bank.photos_too_large", Fields: []errs.FieldError{{Field: "photos", Key: "bank.photos_too_large"}}}
	}
	return errs.Field("photos", "bank.photo_invalid")
}

func (h *Handlers) myClaims(w http.ResponseWriter, r *http.Request) {
	res, _, ok := h.me(w, r)
	if !ok {
		return
	}
	list, err := h.S.MyClaims(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "bank.claims.title", map[string]any{"R": res, "Claims": list})
	// The claim the flash speaks of is among the resident's own, as it now stands.
	for _, c := range list {
		if c.ID == p.FlashID() {
			p.Flashed("flash.claimed", c.RuleName, c.Points, p.T("bank.claim_status."+c.Status))
		}
	}
	h.App.RenderPage(w, r, "claims.html", p, nil)
}

func (h *Handlers) claimPhoto(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		h.App.Error(w, r, errs.New(errs.NotFound, "error.not_found"))
		return
	}
	mime, data, err := h.S.ClaimPhoto(r.Context(), auth.From(r.Context()), id, n)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.WritePhoto(w, mime, data)
}

// noticeItem is a claim on the board with what the viewer may do about it.
type noticeItem struct {
	Claim
	Own      bool // the viewer's own claim: no objection form
	Objected bool // the viewer has objected already
}

// noticesView is a village's notice board as one of its residents sees it.
type noticesView struct {
	R     people.Resident
	Items []noticeItem
}

func (h *Handlers) notices(w http.ResponseWriter, r *http.Request) {
	h.renderNotices(w, r, nil, nil)
}

func (h *Handlers) renderNotices(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	res, _, ok := h.me(w, r)
	if !ok {
		return
	}
	list, err := h.S.NoticeBoard(r.Context(), auth.From(r.Context()), res.VillageID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := noticesView{R: res}
	for _, c := range list {
		it := noticeItem{Claim: c, Own: c.ResidentID == res.ID}
		it.Objected = slices.ContainsFunc(c.Objections, func(o Objection) bool { return o.ResidentID == res.ID })
		v.Items = append(v.Items, it)
	}
	p := h.App.NewPage(r, "bank.nav.notices", v)
	p.Form = form
	// The claim objected to is on the board, as the board names it, with the viewer's objection.
	for _, it := range v.Items {
		if it.ID == p.FlashID() && it.Objected {
			p.Flashed("flash.objected", it.ResidentName, it.RuleName, it.Points)
		}
	}
	h.App.RenderPage(w, r, "notices.html", p, ferr)
}

func (h *Handlers) object(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Object(r.Context(), auth.From(r.Context()), id, f.Get("reason")); err != nil {
		f.Set("claim_id", strconv.FormatInt(id, 10))
		h.renderNotices(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/bank/notices", "flash.objected", id))
}

// ---- the staff queue

// claimStatusTabs are the queue's filters in the order staff work through them; "all" is no filter.
var claimStatusTabs = []string{ClaimPending, ClaimNotice, ClaimPosted, ClaimRejected, ClaimWithdrawn, "all"}

// claimsAdminView is the review queue: one status, one village or all the actor reviews.
type claimsAdminView struct {
	Villages  []people.Village
	VillageID int64
	Status    string
	Tabs      []string
	Page      int
	More      bool
	Claims    []Claim
	Village   map[int64]string
}

func (h *Handlers) adminClaims(w http.ResponseWriter, r *http.Request) {
	h.renderAdminClaims(w, r, nil, nil)
}

// renderAdminClaims shows the queue for ?status=&village_id=&page=, or for the same fields of a
// refused form.
func (h *Handlers) renderAdminClaims(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	get := func(k string) string {
		if v := r.URL.Query().Get(k); v != "" || form == nil {
			return v
		}
		return form.Get(k)
	}
	v := claimsAdminView{Status: get("status"), Tabs: claimStatusTabs, VillageID: web.FormID(get("village_id")), Page: max(web.FormInt(get("page")), 1),
		Village: map[int64]string{}}
	if v.Status == "" {
		v.Status = ClaimPending
	}
	filter := v.Status
	if filter == "all" {
		filter = ""
	}
	var err error
	if v.Villages, err = h.S.Villages(ctx, a, townOf(r), PermReview, v.VillageID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, vl := range v.Villages {
		v.Village[vl.ID] = vl.Name
	}
	if v.Claims, err = h.S.Claims(ctx, a, ClaimFilter{TownID: townOf(r), VillageID: v.VillageID, Status: filter, Page: v.Page}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.More = len(v.Claims) == ClaimPageSize
	p := h.App.NewPage(r, "bank.admin_claims.title", v)
	p.Form = form
	if err := h.claimDone(r, p, v); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderPage(w, r, "admin_claims.html", p, ferr)
}

// claimDone says on the queue what the review or the objection decided of the redirect's flash
// did to its claim, as the claim now stands (it has often left the tab shown): looked up for
// those who may see it (Service.ClaimByID) and named only in a village the viewer reviews, so
// another village's claim is named to nobody.
func (h *Handlers) claimDone(r *http.Request, p *web.Page, v claimsAdminView) error {
	if p.FlashID() == 0 {
		return nil
	}
	c, err := h.S.ClaimByID(r.Context(), auth.From(r.Context()), p.FlashID())
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := v.Village[c.VillageID]; !ok {
		return nil
	}
	status := p.T("bank.claim_status." + c.Status)
	switch c.Status {
	case ClaimRejected:
		p.Flashed("flash.claim_rejected", c.ResidentName, c.RuleName, c.Points, status)
		p.Flashed("flash.objection_upheld", c.ResidentName, c.RuleName, c.Points, status)
	case ClaimNotice:
		p.Flashed("flash.claim_on_notice", c.ResidentName, c.RuleName, c.Points, status)
		p.Flashed("flash.objection_dismissed", c.ResidentName, c.RuleName, c.Points, status)
	case ClaimPosted:
		p.Flashed("flash.claim_posted", c.ResidentName, c.RuleName, c.Points, status)
	}
	return nil
}

// backToQueue is the queue a form came from, with the flash of what was done to a claim.
func backToQueue(f url.Values, flash string, claimID int64) string {
	return web.FlashURL(back("/admin/bank/claims", f, flash, "status", "village_id", "page"), flash, claimID)
}

func (h *Handlers) review(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	c, err := h.S.Review(r.Context(), auth.From(r.Context()), id, f.Get("approve") == "1", f.Get("reason"))
	if err != nil {
		f.Set("claim_id", strconv.FormatInt(id, 10))
		h.renderAdminClaims(w, r, f, err)
		return
	}
	flash := "flash.claim_rejected"
	switch c.Status {
	case ClaimNotice:
		flash = "flash.claim_on_notice"
	case ClaimPosted:
		flash = "flash.claim_posted"
	}
	web.Redirect(w, r, backToQueue(f, flash, c.ID))
}

func (h *Handlers) decideObjection(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.idForm(w, r)
	if !ok {
		return
	}
	uphold := f.Get("uphold") == "1"
	c, err := h.S.DecideObjection(r.Context(), auth.From(r.Context()), id, uphold, f.Get("decision"))
	if err != nil {
		f.Set("objection_id", strconv.FormatInt(id, 10))
		h.renderAdminClaims(w, r, f, err)
		return
	}
	flash := "flash.objection_dismissed"
	if uphold {
		flash = "flash.objection_upheld"
	}
	web.Redirect(w, r, backToQueue(f, flash, c.ID))
}

// ---- API

// maxClaimJSON bounds a claim sent as JSON: the photos in base64 are a third larger than the form.
const maxClaimJSON = 22 << 20

// decodeClaim reads a claim's JSON body as web.Decode does, with room for its photos.
func decodeClaim(w http.ResponseWriter, r *http.Request, v *ClaimInput) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxClaimJSON))
	dec.DisallowUnknownFields()
	bad := func(field, key string) error {
		return &errs.Error{Code: errs.Invalid, Key: "error.bad_json", Fields: []errs.FieldError{{Field: field, Key: key}}}
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		var ce base64.CorruptInputError
		switch {
		case errors.As(err, &mbe):
			return &errs.Error{Code: errs.TooLarge, Key: "bank.photos_too_large", Fields: []errs.FieldError{{Field: "photos", Key: "bank.photos_too_large"}}}
		case errors.As(err, &ce):
			return bad("photos", "bank.photo_invalid")
		case errors.As(err, &te):
			return bad(te.Field, "field.wrong_type")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return bad(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "field.unknown")
		}
		return errs.New(errs.Invalid, "error.bad_json")
	}
	// Nothing but space may follow the value: More would let a stray "]" or "}" through.
	if _, err := dec.Token(); err != io.EOF {
		return errs.New(errs.Invalid, "error.bad_json")
	}
	return nil
}

func (h *Handlers) apiClaim(w http.ResponseWriter, r *http.Request) {
	var in ClaimInput
	if err := decodeClaim(w, r, &in); err != nil {
		h.App.Error(w, r, err)
		return
	}
	c, err := h.S.Claim(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	// A replayed key answers the first record, with 200.
	web.JSON(w, web.Created(c.Replayed), c)
}

func (h *Handlers) apiMyClaims(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.MyClaims(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, nonNil(list))
}

func (h *Handlers) apiNotices(w http.ResponseWriter, r *http.Request) {
	village, err := h.storeOf(r)
	if err == nil && village == 0 {
		err = errs.Field("village_id", "field.required")
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	list, err := h.S.NoticeBoard(r.Context(), auth.From(r.Context()), village)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, nonNil(list))
}

func (h *Handlers) apiObject(w http.ResponseWriter, r *http.Request) {
	var in ObjectionInput
	id, ok := h.idBody(w, r, &in)
	if !ok {
		return
	}
	o, err := h.S.Object(r.Context(), auth.From(r.Context()), id, in.Reason)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, o)
}

func (h *Handlers) apiReview(w http.ResponseWriter, r *http.Request) {
	var in ClaimReview
	id, ok := h.idBody(w, r, &in)
	if !ok {
		return
	}
	c, err := h.S.Review(r.Context(), auth.From(r.Context()), id, in.Approve, in.Reason)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, c)
}
