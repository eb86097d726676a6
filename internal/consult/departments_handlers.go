package consult

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerDepartments adds the pages and API of the department directory (职能部门).
func (h *Handlers) registerDepartments() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/departments", Access: web.Staff, Summary: "the town's department directory with each department's three rates"}, h.departmentsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/departments", Access: web.Staff, Summary: "add a department to the town's directory"}, h.departmentCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/departments/{id}", Access: web.Staff, Summary: "a department: its details, logins and rates by month"}, h.departmentPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/departments/{id}", Access: web.Staff, Summary: "edit a department, or deactivate it (asks first, keeps the reason) or activate it again"}, h.departmentSave)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/departments/{id}/accounts", Access: web.Staff, Summary: "give a department a login (an existing dept_responder login of the town, or a new one), optionally its head contact"}, h.departmentAccount)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/consult/departments", Access: web.LoggedIn, API: true,
		Summary: "the town's department directory (its managers and hosts)", Response: []Department{}}, h.apiDepartments)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/consult/departments", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "add a department to the town's directory (town admin; 201)", Request: DepartmentInput{}, Response: Department{}}, h.apiDepartmentCreate)
}

// departmentsView is the directory page: the departments, their rates this month, and the
// categories and levels the form offers.
type departmentsView struct {
	Departments []Department
	Rates       map[int64]DeptRates
	Categories  []Category
	Levels      []string
}

func (h *Handlers) departmentsPage(w http.ResponseWriter, r *http.Request) {
	h.renderDepartments(w, r, nil, nil)
}

// referralMonth is the start of the month t falls in, in loc, and of the next one.
func referralMonth(t time.Time, loc *time.Location) (time.Time, time.Time) {
	t = t.In(loc)
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 1, 0)
}

func (h *Handlers) renderDepartments(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !manages(a, a.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	v := departmentsView{Levels: DepartmentLevels, Rates: map[int64]DeptRates{}}
	var err error
	if v.Departments, err = h.S.Departments(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Categories, err = h.S.Categories(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	loc, err := h.S.People.Zone(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	from, to := referralMonth(h.S.Now(), loc)
	rates, err := h.S.DepartmentRates(ctx, a, a.TownID, from, to)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	for _, x := range rates {
		v.Rates[x.DepartmentID] = x
	}
	p := h.App.NewPage(r, "consult.department.list_title", v)
	if f == nil {
		f = url.Values{"level": {"town"}}
	}
	p.Form = f
	if id := p.FlashID(); id != 0 {
		for _, d := range v.Departments {
			if d.ID == id {
				p.Flashed("flash.consult_department_created", d.Name)
			}
		}
	}
	h.App.RenderPage(w, r, "admin_consult_departments.html", p, ferr)
}

// departmentInput reads the department form.
func departmentInput(f url.Values) DepartmentInput {
	in := DepartmentInput{Level: f.Get("level"), Name: f.Get("name"), ContactName: f.Get("contact_name"), ContactPhone: f.Get("contact_phone"),
		HeadName: f.Get("head_name"), HeadPhone: f.Get("head_phone")}
	for _, c := range f["category_ids"] {
		if id := web.FormID(c); id != 0 {
			in.CategoryIDs = append(in.CategoryIDs, id)
		}
	}
	return in
}

func (h *Handlers) departmentCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	d, err := h.S.SaveDepartment(r.Context(), auth.From(r.Context()), 0, departmentInput(f))
	if err != nil {
		h.renderDepartments(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/consult/departments", "flash.consult_department_created", d.ID))
}

// departmentView is a department's page: its details, logins, rates of the last six months, and
// a new login's activation, shown once.
type departmentView struct {
	Department Department
	Categories []Category
	Levels     []string
	Months     []referralMonthRates
	Activation *auth.Activation
}

// referralMonthRates are a department's rates in one month.
type referralMonthRates struct {
	Month string // "2026年12月"
	Rates DeptRates
}

func (h *Handlers) departmentPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderDepartment(w, r, id, nil, nil, nil)
}

func (h *Handlers) renderDepartment(w http.ResponseWriter, r *http.Request, id int64, f url.Values, act *auth.Activation, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.Department(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := departmentView{Department: d, Levels: DepartmentLevels, Activation: act}
	if v.Categories, err = h.S.Categories(ctx, a, d.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	loc, err := h.S.People.Zone(ctx, d.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	from, to := referralMonth(h.S.Now(), loc)
	words := h.App.NewPage(r, "", nil) // for the months' names in the viewer's language
	for range 6 {
		rates, err := h.S.DepartmentRates(ctx, a, d.TownID, from, to)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		m := referralMonthRates{Month: words.T("consult.department.month_label", from.Year(), int(from.Month()))}
		for _, x := range rates {
			if x.DepartmentID == id {
				m.Rates = x
			}
		}
		v.Months = append(v.Months, m)
		from, to = from.AddDate(0, -1, 0), from
	}
	if f == nil {
		f = url.Values{"level": {d.Level}, "name": {d.Name}, "contact_name": {d.ContactName}, "contact_phone": {d.ContactPhone},
			"head_name": {d.HeadName}, "head_phone": {d.HeadPhone}}
		for _, c := range d.CategoryIDs {
			f.Add("category_ids", fmt.Sprint(c))
		}
	}
	p := h.App.NewPage(r, "consult.department.title", v)
	p.Title = d.Name
	p.Form = f
	p.Flashed("flash.consult_department_saved", d.Name)
	p.Flashed("flash.consult_department_deactivated", d.Name)
	p.Flashed("flash.consult_department_activated", d.Name)
	p.Flashed("flash.consult_department_account", d.Name)
	h.App.RenderPage(w, r, "admin_consult_department.html", p, ferr)
}

func (h *Handlers) departmentSave(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	back := fmt.Sprintf("/admin/consult/departments/%d", id)
	switch f.Get("action") {
	case "deactivate":
		d, err := h.S.Department(ctx, a, id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "consult.department.confirm_deactivate", What: "consult.department.confirm_deactivate_what", Args: []any{d.Name}, Back: back})
		if !ok {
			return
		}
		if _, err := h.S.SetDepartmentActive(ctx, a, id, false, reason); err != nil {
			h.renderDepartment(w, r, id, nil, nil, err)
			return
		}
		web.Redirect(w, r, web.FlashURL(back, "flash.consult_department_deactivated", 0))
	case "activate":
		if _, err := h.S.SetDepartmentActive(ctx, a, id, true, ""); err != nil {
			h.renderDepartment(w, r, id, nil, nil, err)
			return
		}
		web.Redirect(w, r, web.FlashURL(back, "flash.consult_department_activated", 0))
	default:
		if _, err := h.S.SaveDepartment(ctx, a, id, departmentInput(f)); err != nil {
			if errs.Is(err, errs.NotFound) {
				h.App.Error(w, r, err)
				return
			}
			h.renderDepartment(w, r, id, f, nil, err)
			return
		}
		web.Redirect(w, r, web.FlashURL(back, "flash.consult_department_saved", 0))
	}
}

func (h *Handlers) departmentAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	_, act, err := h.S.AddDepartmentAccount(r.Context(), auth.From(r.Context()), h.App.Auth, id, DeptAccountInput{Phone: f.Get("phone"), Name: f.Get("name"), Head: f.Get("head") == "1"})
	if err != nil {
		h.renderDepartment(w, r, id, nil, nil, err)
		return
	}
	if act != nil {
		// A new login: its one-time password is shown on this page once, never put in a link.
		h.renderDepartment(w, r, id, nil, act, nil)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/consult/departments/%d", id), "flash.consult_department_account", 0))
}

// ---- API

func (h *Handlers) apiDepartments(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	list, err := h.S.Departments(r.Context(), a, web.FormID(r.URL.Query().Get("town_id")))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiDepartmentCreate(w http.ResponseWriter, r *http.Request) {
	var in DepartmentInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.SaveDepartment(r.Context(), auth.From(r.Context()), 0, in)
	h.App.Reply(w, r, http.StatusCreated, d, err)
}
