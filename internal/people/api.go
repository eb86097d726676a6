package people

import (
	"net/http"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// Handlers serves the registry's pages and API; both call the same service methods.
type Handlers struct {
	S    *Service
	Auth *auth.Service
	App  *web.App
}

// VillageJSON is a village in the API.
type VillageJSON struct {
	ID        int64  `json:"id"`
	TownID    int64  `json:"town_id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Residents int    `json:"residents"`
}

// VillageCreate is the body of POST /api/v1/villages; town_id defaults to the actor's town.
type VillageCreate struct {
	TownID int64  `json:"town_id,omitempty"`
	Name   string `json:"name"`
	Code   string `json:"code,omitempty"`
}

// ResidentJSON is a resident in the API. IDNumber is masked unless the caller may see it; Phone
// is masked in lists. BirthDate is given only to callers who may see the ID number and to the
// resident themself; Age, in whole years, to everyone.
type ResidentJSON struct {
	ID              int64     `json:"id"`
	VillageID       int64     `json:"village_id"`
	Village         string    `json:"village"`
	HouseholdID     int64     `json:"household_id"`
	HouseholdNumber string    `json:"household_number"`
	Name            string    `json:"name"`
	Gender          Gender    `json:"gender"`
	BirthDate       string    `json:"birth_date,omitempty"`
	Age             int       `json:"age"`
	IDNumber        string    `json:"id_number"`
	Phone           string    `json:"phone"`
	Relation        string    `json:"relation"`
	PartyMember     bool      `json:"party_member"`
	Class           string    `json:"class"`
	CareTags        []CareTag `json:"care_tags"`
	Status          Status    `json:"status"`
	StatusDate      string    `json:"status_date"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// ResidentList is a page of residents.
type ResidentList struct {
	Items []ResidentJSON `json:"items"`
	Total int            `json:"total"`
	Page  int            `json:"page"`
	Pages int            `json:"pages"`
}

func residentJSON(r Resident, today time.Time, list bool) ResidentJSON {
	j := ResidentJSON{ID: r.ID, VillageID: r.VillageID, Village: r.VillageName, HouseholdID: r.HouseholdID, HouseholdNumber: r.HouseholdNumber,
		Name: r.Name, Gender: r.Gender, Age: r.Age(today), IDNumber: r.IDMasked, Phone: r.Phone,
		Relation: r.Relation, PartyMember: r.PartyMember, Class: string(r.Class(today)), CareTags: r.CareTags, Status: r.Status,
		StatusDate: r.StatusDate, UpdatedAt: r.UpdatedAt}
	if r.IDNumber != "" && !list {
		j.IDNumber = r.IDNumber
	}
	if r.BirthShown {
		j.BirthDate = r.BirthDate.Format(clock.DayLayout)
	}
	if list {
		j.Phone = r.MaskedPhone()
	}
	if j.CareTags == nil {
		j.CareTags = []CareTag{}
	}
	return j
}

func (h *Handlers) registerAPI() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/villages", Access: web.LoggedIn, Summary: "villages of a town (town_id, default the caller's)",
		Response: []VillageJSON{}}, h.apiVillages)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/villages", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn, Summary: "create a village",
		Request: VillageCreate{}, Response: VillageJSON{}}, h.apiCreateVillage)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/residents", Access: web.LoggedIn, Summary: "search residents (village_id, q, page, status)",
		Response: ResidentList{}}, h.apiResidents)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/residents", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn, Summary: "register a resident",
		Request: ResidentInput{}, Response: ResidentJSON{}}, h.apiCreateResident)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/residents/{id}", Access: web.LoggedIn, Summary: "one resident",
		Response: ResidentJSON{}}, h.apiResident)
	a.Handle(web.Route{Method: "PATCH", Path: "/api/v1/residents/{id}", Access: web.LoggedIn, Summary: "change some fields of a resident",
		Request: ResidentPatch{}, Response: ResidentJSON{}}, h.apiPatchResident)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/me", Access: web.LoggedIn, Summary: "the caller's own resident record",
		Response: ResidentJSON{}}, h.apiMe)
}

// today is the calendar day of a town, for ages and member classes; a town that does not exist
// (0, for district staff) has the default zone's calendar.
func (h *Handlers) today(r *http.Request, townID int64) (time.Time, error) {
	t, err := h.S.Town(r.Context(), townID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return time.Time{}, err
	}
	return t.Clock(h.S.Now).Today(), nil
}

// writeResident answers with one resident, its age and class on its town's calendar.
func (h *Handlers) writeResident(w http.ResponseWriter, r *http.Request, status int, res Resident) {
	today, err := h.today(r, res.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, status, residentJSON(res, today, false))
}

func townOf(r *http.Request) int64 {
	if id := web.QueryInt(r, "town_id"); id != 0 {
		return id
	}
	return auth.From(r.Context()).TownID
}

func (h *Handlers) apiVillages(w http.ResponseWriter, r *http.Request) {
	vs, err := h.S.Villages(r.Context(), auth.From(r.Context()), townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	out := []VillageJSON{}
	for _, v := range vs {
		out = append(out, VillageJSON{ID: v.ID, TownID: v.TownID, Code: v.Code, Name: v.Name, Residents: v.Residents})
	}
	web.JSON(w, http.StatusOK, out)
}

func (h *Handlers) apiCreateVillage(w http.ResponseWriter, r *http.Request) {
	var in VillageCreate
	if err := web.Decode(r, &in); err != nil {
		h.App.Error(w, r, err)
		return
	}
	a := auth.From(r.Context())
	if in.TownID == 0 {
		in.TownID = a.TownID
	}
	v, err := h.S.CreateVillage(r.Context(), a, in.TownID, VillageInput{Name: in.Name, Code: in.Code})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, VillageJSON{ID: v.ID, TownID: v.TownID, Code: v.Code, Name: v.Name})
}

func (h *Handlers) apiResidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := h.S.Search(r.Context(), auth.From(r.Context()), Filter{TownID: townOf(r), VillageID: web.QueryInt(r, "village_id"),
		Q: q.Get("q"), Status: Status(q.Get("status")), Page: int(web.QueryInt(r, "page"))})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	today, err := h.today(r, townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	out := ResidentList{Items: []ResidentJSON{}, Total: page.Total, Page: page.Page, Pages: page.Pages}
	for _, res := range page.Items {
		out.Items = append(out.Items, residentJSON(res, today, true))
	}
	web.JSON(w, http.StatusOK, out)
}

func (h *Handlers) apiCreateResident(w http.ResponseWriter, r *http.Request) {
	var in ResidentInput
	if err := web.Decode(r, &in); err != nil {
		h.App.Error(w, r, err)
		return
	}
	res, err := h.S.CreateResident(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	res, err = h.S.Resident(r.Context(), auth.From(r.Context()), res.ID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.writeResident(w, r, http.StatusCreated, res)
}

func (h *Handlers) apiResident(w http.ResponseWriter, r *http.Request) {
	id, err := web.ID(r, "id")
	if err == nil {
		var res Resident
		if res, err = h.S.Resident(r.Context(), auth.From(r.Context()), id); err == nil {
			h.writeResident(w, r, http.StatusOK, res)
			return
		}
	}
	h.App.Error(w, r, err)
}

func (h *Handlers) apiPatchResident(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var p ResidentPatch
	if err := web.Decode(r, &p); err != nil {
		h.App.Error(w, r, err)
		return
	}
	res, err := h.S.PatchResident(r.Context(), auth.From(r.Context()), id, p)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.writeResident(w, r, http.StatusOK, res)
}

func (h *Handlers) apiMe(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	res, err := h.S.Resident(r.Context(), a, a.Self())
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.writeResident(w, r, http.StatusOK, res)
}
