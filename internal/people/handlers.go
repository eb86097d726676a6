package people

import (
	"embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/errs"
	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Register adds the registry's pages and API to the app.
func (h *Handlers) Register() {
	a := h.App
	a.Templates(templates, "templates/*.html")
	a.Handle(web.Route{Method: "GET", Path: "/{$}", Access: web.LoggedIn, Summary: "resident home"}, h.home)
	a.Handle(web.Route{Method: "GET", Path: "/admin", Access: web.Staff, Summary: "admin dashboard"}, h.dashboard)
	a.Handle(web.Route{Method: "GET", Path: "/admin/villages", Access: web.Staff, Summary: "villages"}, h.villages)
	a.Handle(web.Route{Method: "POST", Path: "/admin/villages", Access: web.Staff, Summary: "create a village"}, h.createVillage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/villages/{id}", Access: web.Staff, Summary: "a village's households"}, h.village)
	a.Handle(web.Route{Method: "GET", Path: "/admin/households/{id}", Access: web.Staff, Summary: "a household"}, h.household)
	a.Handle(web.Route{Method: "POST", Path: "/admin/households/{id}", Access: web.Staff, Summary: "edit a household"}, h.updateHousehold)
	a.Handle(web.Route{Method: "GET", Path: "/admin/residents", Access: web.Staff, Summary: "search residents"}, h.residents)
	a.Handle(web.Route{Method: "GET", Path: "/admin/residents/new", Access: web.Staff, Summary: "new resident form"}, h.newResident)
	a.Handle(web.Route{Method: "POST", Path: "/admin/residents", Access: web.Staff, Summary: "register a resident"}, h.createResident)
	a.Handle(web.Route{Method: "GET", Path: "/admin/residents/{id}", Access: web.Staff, Summary: "a resident"}, h.resident)
	a.Handle(web.Route{Method: "POST", Path: "/admin/residents/{id}", Access: web.Staff, Summary: "edit a resident"}, h.updateResident)
	a.Handle(web.Route{Method: "POST", Path: "/admin/residents/{id}/move", Access: web.Staff, Summary: "move a resident"}, h.moveResident)
	a.Handle(web.Route{Method: "POST", Path: "/admin/residents/{id}/status", Access: web.Staff, Summary: "change a resident's status"}, h.statusResident)
	h.registerAccounts()
	h.registerExcel()
	h.registerAPI()
}

// residentView is what the resident pages show.
type residentView struct {
	R       Resident
	Class   MemberClass
	Age     int
	Town    Town
	History []Residence
	Can     map[string]bool
	Options formOptions
	Account *auth.Account
}

// formOptions fill the selects of resident forms; VillageID is the village chosen in a new
// resident's form.
type formOptions struct {
	Villages  []Village
	VillageID int64
	Relations []string
	CareTags  []CareTag
}

func (h *Handlers) options(r *http.Request) (formOptions, error) {
	a := auth.From(r.Context())
	vs, _, err := h.S.VillagesFor(r.Context(), a, a.TownID, 0)
	return formOptions{Villages: vs, Relations: Relations, CareTags: CareTags}, err
}

func (h *Handlers) home(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if a.Self() == 0 {
		if a.IsStaff() {
			// The console says what the redirect to the home said (密码已修改).
			to := "/admin"
			if key := r.URL.Query().Get("flash"); strings.HasPrefix(key, "flash.") {
				to = web.FlashURL(to, key, 0)
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		h.App.Error(w, r, errs.New(errs.NotFound, "people.no_resident_record"))
		return
	}
	res, err := h.S.Resident(r.Context(), a, a.Self())
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	town, err := h.S.Town(r.Context(), res.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	today := town.Clock(h.S.Now).Today()
	v := residentView{R: res, Class: res.Class(today), Age: res.Age(today), Town: town}
	p := h.App.NewPage(r, "home.title", v)
	h.App.Render(w, r, http.StatusOK, "home.html", p)
}

// dashboardData is the admin landing page.
type dashboardData struct {
	Towns    []Town
	Town     Town
	Villages []Village
	Total    int
}

func (h *Handlers) dashboard(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	d := dashboardData{}
	var err error
	if d.Towns, err = h.S.Towns(r.Context(), a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	townID := townOf(r)
	if townID == 0 && len(d.Towns) > 0 {
		townID = d.Towns[0].ID
	}
	// A town that does not exist shows an empty dashboard, as for staff of no town.
	if d.Town, err = h.S.Town(r.Context(), townID); err != nil && !errs.Is(err, errs.NotFound) {
		h.App.Error(w, r, err)
		return
	}
	if d.Villages, _, err = h.S.VillagesFor(r.Context(), a, townID, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, v := range d.Villages {
		d.Total += v.Residents
	}
	h.App.Render(w, r, http.StatusOK, "dashboard.html", h.App.NewPage(r, "dashboard.title", d))
}

func (h *Handlers) villages(w http.ResponseWriter, r *http.Request) {
	h.renderVillages(w, r, http.StatusOK, nil, nil)
}

func (h *Handlers) renderVillages(w http.ResponseWriter, r *http.Request, status int, form url.Values, ferr error) {
	a := auth.From(r.Context())
	vs, err := h.S.Villages(r.Context(), a, townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "villages.title", map[string]any{"Villages": vs, "CanCreate": auth.Can(a, auth.TownManage, auth.Scope{TownID: townOf(r)}) == nil})
	p.Form = form
	for _, v := range vs {
		if v.ID == p.FlashID() {
			p.Flashed("flash.village_created", v.Name)
		}
	}
	if ferr != nil {
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.Render(w, r, status, "villages.html", p)
}

func (h *Handlers) createVillage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	v, err := h.S.CreateVillage(r.Context(), auth.From(r.Context()), townOf(r), VillageInput{Name: r.PostForm.Get("name"), Code: r.PostForm.Get("code")})
	if err != nil {
		h.renderVillages(w, r, 0, r.PostForm, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/villages", "flash.village_created", v.ID))
}

func (h *Handlers) village(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	v, err := h.S.Village(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	page := max(int(web.QueryInt(r, "page")), 1)
	hs, total, err := h.S.Households(r.Context(), a, id, r.URL.Query().Get("q"), page)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "village.title", map[string]any{"Village": v, "Households": hs, "Total": total, "Page": page,
		"Pages": (total + PageSize - 1) / PageSize, "Q": r.URL.Query().Get("q")})
	p.Title = v.Name
	h.App.Render(w, r, http.StatusOK, "village.html", p)
}

func (h *Handlers) household(w http.ResponseWriter, r *http.Request) {
	h.renderHousehold(w, r, http.StatusOK, nil)
}

func (h *Handlers) renderHousehold(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	hh, members, err := h.S.Household(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	town := townOf(r)
	if len(members) > 0 {
		town = members[0].TownID
	}
	today, err := h.today(r, town)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "household.title", map[string]any{"H": hh, "Members": members, "Today": today})
	p.Title = hh.VillageName + " " + hh.Number
	head := p.T("household.no_head")
	for _, m := range members {
		if m.ID == hh.HeadResidentID {
			head = m.Name
		}
	}
	p.Flashed("flash.household_saved", hh.VillageName, hh.Number, head)
	if ferr != nil {
		p.Form = r.PostForm
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.Render(w, r, status, "household.html", p)
}

func (h *Handlers) updateHousehold(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	in := HouseholdInput{Address: r.PostForm.Get("address"), HeadResidentID: web.FormID(r.PostForm.Get("head_resident_id"))}
	if _, err := h.S.UpdateHousehold(r.Context(), auth.From(r.Context()), id, in); err != nil {
		h.renderHousehold(w, r, 0, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/households/"+strconv.FormatInt(id, 10), "flash.household_saved", 0))
}

func (h *Handlers) residents(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	q := r.URL.Query()
	f := Filter{TownID: townOf(r), VillageID: web.QueryInt(r, "village_id"), Q: q.Get("q"), Status: Status(q.Get("status")), Page: int(web.QueryInt(r, "page"))}
	page, err := h.S.Search(r.Context(), a, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	opts, err := h.options(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	today, err := h.today(r, f.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "residents.title", map[string]any{"Page": page, "F": f, "Options": opts, "Today": today})
	h.App.Render(w, r, http.StatusOK, "residents.html", p)
}

func (h *Handlers) newResident(w http.ResponseWriter, r *http.Request) {
	opts, err := h.options(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	opts.VillageID = web.FormID(r.URL.Query().Get("village_id"))
	p := h.App.NewPage(r, "resident.new", residentView{Options: opts})
	p.Form = r.URL.Query()
	h.App.Render(w, r, http.StatusOK, "resident_new.html", p)
}

// inputFromForm reads a resident form.
func inputFromForm(f url.Values) ResidentInput {
	return ResidentInput{VillageID: web.FormID(f.Get("village_id")), HouseholdNumber: f.Get("household_number"), HouseholdAddress: f.Get("household_address"),
		Name: f.Get("name"), Gender: Gender(f.Get("gender")), BirthDate: f.Get("birth_date"), IDNumber: f.Get("id_number"),
		Phone: f.Get("phone"), Relation: f.Get("relation"), PartyMember: f.Get("party_member") == "on", CareTags: f["care_tags"]}
}

func (h *Handlers) createResident(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	res, err := h.S.CreateResident(r.Context(), auth.From(r.Context()), inputFromForm(r.PostForm))
	if err != nil {
		opts, oerr := h.options(r)
		if oerr != nil {
			h.App.Error(w, r, oerr)
			return
		}
		opts.VillageID = web.FormID(r.PostForm.Get("village_id"))
		h.App.RenderForm(w, r, "resident_new.html", "resident.new", residentView{Options: opts}, r.PostForm, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/residents/"+strconv.FormatInt(res.ID, 10), "flash.resident_created", 0))
}

func (h *Handlers) resident(w http.ResponseWriter, r *http.Request) {
	h.renderResident(w, r, http.StatusOK, nil)
}

// renderResident shows a resident's detail page, with a refused form's errors if ferr is set.
func (h *Handlers) renderResident(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	res, err := h.S.Resident(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	hist, err := h.S.History(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	town, err := h.S.Town(r.Context(), res.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	opts, err := h.options(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	today := town.Clock(h.S.Now).Today()
	sc := auth.Scope{TownID: res.TownID, VillageID: res.VillageID}
	v := residentView{R: res, Class: res.Class(today), Age: res.Age(today), Town: town, History: hist, Options: opts,
		Can: map[string]bool{"write": auth.Can(a, auth.ResidentWrite, sc) == nil, "office": auth.Can(a, auth.OfficeAct, sc) == nil,
			"account": auth.Can(a, auth.AccountManage, sc) == nil}}
	if v.Account, err = h.accountOf(r, res.ID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "resident.title", v)
	p.Title = res.Name
	p.Flashed("flash.resident_created", res.Name, res.VillageName, res.HouseholdNumber)
	p.Flashed("flash.resident_saved", res.Name)
	p.Flashed("flash.resident_moved", res.Name, res.VillageName, res.HouseholdNumber)
	p.Flashed("flash.resident_status", res.Name, p.T("status."+string(res.Status)))
	p.Form = formOf(res, today)
	if ferr != nil {
		if _, ok := h.App.Form(w, r); !ok {
			return
		}
		for k, vals := range r.PostForm {
			p.Form[k] = vals
		}
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.Render(w, r, status, "resident.html", p)
}

// formOf fills the edit form with a resident's current values.
func formOf(r Resident, today time.Time) url.Values {
	in := InputOf(r)
	if !r.BirthShown {
		in.BirthDate = ""
	}
	f := url.Values{"name": {in.Name}, "gender": {string(in.Gender)}, "birth_date": {in.BirthDate}, "id_number": {in.IDNumber},
		"phone": {in.Phone}, "relation": {in.Relation}, "care_tags": in.CareTags, "status_date": {clock.Day(today)}}
	if in.PartyMember {
		f.Set("party_member", "on")
	}
	return f
}

func (h *Handlers) updateResident(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	if _, err := h.S.UpdateResident(r.Context(), auth.From(r.Context()), id, inputFromForm(r.PostForm)); err != nil {
		h.renderResident(w, r, 0, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/residents/"+strconv.FormatInt(id, 10), "flash.resident_saved", 0))
}

func (h *Handlers) moveResident(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	in := MoveInput{VillageID: web.FormID(r.PostForm.Get("to_village_id")), HouseholdNumber: r.PostForm.Get("to_household_number"), Reason: r.PostForm.Get("reason")}
	if _, err := h.S.Move(r.Context(), auth.From(r.Context()), id, in); err != nil {
		h.renderResident(w, r, 0, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/residents/"+strconv.FormatInt(id, 10), "flash.resident_moved", 0))
}

func (h *Handlers) statusResident(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	a, st, reason := auth.From(r.Context()), Status(f.Get("status")), ""
	if st == Deceased {
		// Only recording a death asks first, after the resident is found for someone who may
		// change them: anyone else is answered as SetStatus would answer them.
		res, err := h.S.Resident(r.Context(), a, id)
		if err == nil {
			err = auth.Hide(auth.Can(a, auth.ResidentWrite, auth.Scope{TownID: res.TownID, VillageID: res.VillageID}))
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		if res.Status != Deceased { // a death already recorded is refused by SetStatus, not asked about
			if reason, ok = h.App.Confirmed(w, r, f, web.Question{Title: "people.confirm_deceased", What: "people.confirm_deceased_what",
				Args: []any{res.Name, res.VillageName, res.HouseholdNumber, f.Get("status_date")}, Back: "/admin/residents/" + strconv.FormatInt(id, 10)}); !ok {
				return
			}
		}
	}
	if _, err := h.S.SetStatus(r.Context(), a, id, st, f.Get("status_date"), reason); err != nil {
		h.renderResident(w, r, 0, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/residents/"+strconv.FormatInt(id, 10), "flash.resident_status", 0))
}
