package school

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/web"
)

func (h *Handlers) registerAdmin() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/school", Access: web.Staff, Summary: "微党校: the courses by status and category (staff); an expert's own page; the menu for branches"}, h.adminCourses)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/categories", Access: web.Staff, Summary: "add a course category"}, h.addCategory)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/courses/new", Access: web.Staff, Summary: "the form for a new course"}, h.newCourse)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/courses", Access: web.Staff, Summary: "create a course (multipart, with a PDF)"}, h.createCourse)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/courses/{id}", Access: web.Staff, Summary: "a course: edit, offer, withdraw"}, h.editCourse)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/courses/{id}", Access: web.Staff, Summary: "save a course (multipart, with a PDF)"}, h.saveCourse)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/courses/{id}/status", Access: web.Staff, Summary: "offer or withdraw a course"}, h.setStatus)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/experts", Access: web.Staff, Summary: "the expert pool, searched"}, h.adminExperts)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/experts/new", Access: web.Staff, Summary: "the form for a new expert"}, h.newExpert)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/experts", Access: web.Staff, Summary: "add an expert (multipart, with a photo)"}, h.createExpert)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/experts/{id}", Access: web.Staff, Summary: "an expert: edit, retire"}, h.editExpert)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/experts/{id}", Access: web.Staff, Summary: "save an expert (multipart, with a photo)"}, h.saveExpert)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/experts/{id}/retire", Access: web.Staff, Summary: "retire an expert, asking first and keeping the reason"}, h.retire)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/me", Access: web.Staff, Summary: "an expert's own profile, availability and courses"}, h.mePage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/me", Access: web.Staff, Summary: "an expert saves their own profile (multipart, with a photo)"}, h.saveMe)
}

// ---- courses

// coursesView is the staff's list of a town's courses, and the form to add a category.
type coursesView struct {
	Status     string
	Statuses   []Status
	Categories []Category
	Category   int64
	Courses    []Course
}

func (h *Handlers) adminCourses(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if err := h.S.MayManage(a, 0); err != nil {
		// The console's one entry leads each to their part: a branch to the menu, an expert to their page.
		switch {
		case h.S.Reads(a, 0):
			http.Redirect(w, r, "/school", http.StatusSeeOther)
		case a.Has(auth.Expert):
			http.Redirect(w, r, "/admin/school/me", http.StatusSeeOther)
		default:
			h.App.Error(w, r, err)
		}
		return
	}
	h.renderCourses(w, r, nil, nil)
}

func (h *Handlers) renderCourses(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := coursesView{Status: r.URL.Query().Get("status"), Statuses: Statuses, Category: web.QueryInt(r, "category_id")}
	var err error
	if v.Categories, err = h.S.Categories(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Courses, err = h.S.Courses(ctx, a, CourseFilter{Status: v.Status, CategoryID: v.Category}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "school.admin.title", v)
	p.Form = f
	for _, c := range v.Categories {
		if c.ID == p.FlashID() {
			p.Flashed("flash.school_category_added", c.Name)
		}
	}
	h.App.RenderPage(w, r, "admin_school.html", p, ferr)
}

func (h *Handlers) addCategory(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	c, err := h.S.AddCategory(r.Context(), auth.From(r.Context()), CategoryInput{Name: f.Get("name")})
	if err != nil {
		h.renderCourses(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/school", "flash.school_category_added", c.ID))
}

// courseView is the form of a course, with the choices it offers by name.
type courseView struct {
	Course     Course // zero for a new one
	Categories []Category
	Experts    []Expert
	Formats    []Format
	CategoryID int64 // chosen in the form
	MaxPDF     int
}

func (h *Handlers) newCourse(w http.ResponseWriter, r *http.Request) {
	// A topic a survey's branches asked for comes as a draft's title and category (转为课程草稿).
	q := r.URL.Query()
	h.renderCourse(w, r, 0, url.Values{"minutes": {"90"}, "format": {string(Both)}, "title": {q.Get("title")}, "category_id": {q.Get("category_id")}}, nil)
}

func (h *Handlers) editCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderCourse(w, r, id, nil, nil)
}

func (h *Handlers) renderCourse(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := courseView{Formats: Formats, MaxPDF: MaxMaterialBytes >> 20}
	var err error
	if id != 0 {
		if v.Course, err = h.S.Course(ctx, a, id); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if err := h.S.MayManage(a, v.Course.TownID); err != nil {
			h.App.Error(w, r, err) // the menu's readers and an expert read the course on the menu
			return
		}
	}
	if v.Categories, err = h.S.Categories(ctx, a, v.Course.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Experts, err = h.S.ExpertChoices(ctx, a, v.Course.TownID, id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		c := v.Course
		f = url.Values{"title": {c.Title}, "category_id": {strconv.FormatInt(c.CategoryID, 10)}, "outline": {c.Outline},
			"minutes": {strconv.Itoa(c.Minutes)}, "format": {string(c.Format)}, "material_url": {c.MaterialURL}}
		for _, t := range c.Experts {
			f.Add("expert_ids", strconv.FormatInt(t.ID, 10))
		}
	}
	v.CategoryID = web.FormID(f.Get("category_id"))
	title := "school.course_new.title"
	if id != 0 {
		title = "school.course_edit.title"
	}
	p := h.App.NewPage(r, title, v)
	p.Form = f
	p.Flashed("flash.school_course_saved", v.Course.Title)
	p.Flashed("flash.school_course_offered", v.Course.Title)
	p.Flashed("flash.school_course_withdrawn", v.Course.Title)
	h.App.RenderPage(w, r, "admin_school_course.html", p, ferr)
}

// courseForm reads the course form; the PDF comes with it.
func courseForm(f url.Values, pdf []byte, name string) CourseInput {
	in := CourseInput{CategoryID: web.FormID(f.Get("category_id")), Title: f.Get("title"), Outline: f.Get("outline"),
		Minutes: web.FormInt(f.Get("minutes")), Format: f.Get("format"), MaterialURL: f.Get("material_url"),
		PDF: pdf, PDFName: name, RemovePDF: f.Get("remove_pdf") == "1"}
	for _, s := range f["expert_ids"] {
		in.ExpertIDs = append(in.ExpertIDs, web.FormID(s))
	}
	return in
}

func (h *Handlers) createCourse(w http.ResponseWriter, r *http.Request) {
	f, pdf, name, err := readUpload(w, r, "material", MaxMaterialBytes)
	var c Course
	if err == nil {
		c, err = h.S.CreateCourse(r.Context(), auth.From(r.Context()), courseForm(f, pdf, name))
	}
	if err != nil {
		h.renderCourse(w, r, 0, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/school/courses/%d", c.ID), "flash.school_course_saved", 0))
}

func (h *Handlers) saveCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, pdf, name, err := readUpload(w, r, "material", MaxMaterialBytes)
	if err == nil {
		_, err = h.S.SaveCourse(r.Context(), auth.From(r.Context()), id, courseForm(f, pdf, name))
	}
	if err != nil {
		h.renderCourse(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/school/courses/%d", id), "flash.school_course_saved", 0))
}

func (h *Handlers) setStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	c, err := h.S.SetStatus(r.Context(), auth.From(r.Context()), id, f.Get("status"))
	if err != nil {
		h.renderCourse(w, r, id, nil, err)
		return
	}
	flash := "flash.school_course_offered"
	if c.Status == Withdrawn {
		flash = "flash.school_course_withdrawn"
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/school/courses/%d", id), flash, 0))
}

// ---- experts

// expertsView is the pool, searched, or its retired experts.
type expertsView struct {
	Q       string
	Retired bool
	Experts []Expert
}

func (h *Handlers) adminExperts(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	v := expertsView{Q: r.URL.Query().Get("q"), Retired: r.URL.Query().Get("retired") == "1"}
	if err := h.S.MayManage(a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	var err error
	if v.Experts, err = h.S.Experts(r.Context(), a, ExpertFilter{Q: v.Q, Retired: v.Retired}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_school_experts.html", "school.experts.title", v, nil, nil)
}

// expertView is the form of an expert: the staff's, or the expert's own (Self), with the rows
// of when they can teach.
type expertView struct {
	Expert   Expert // zero for a new one
	Self     bool
	Logins   []Login
	Rows     []Slot
	Weekdays []int
	Courses  []Course // on the expert's own page: what they teach
	MaxPhoto int
}

// slotForm reads the rows of when an expert can teach: one of each input per row, blank rows
// included, so that an error names the row it is in.
func slotForm(f url.Values) []Slot {
	var out []Slot
	for i := range f["avail_start"] {
		at := func(k string) string {
			if vs := f[k]; i < len(vs) {
				return vs[i]
			}
			return ""
		}
		out = append(out, Slot{Weekday: web.FormInt(at("avail_weekday")), From: at("avail_from"), To: at("avail_to"), Start: at("avail_start"), End: at("avail_end")})
	}
	return out
}

// slotRows are the rows the form draws: those sent or kept, and a blank one or two to add more.
func slotRows(slots []Slot) []Slot {
	rows := append([]Slot{}, slots...)
	for blank := 0; len(rows) < MaxSlots && (blank < 2 || len(rows) < 3); blank++ {
		if len(rows) > 0 && rows[len(rows)-1].empty() && blank > 0 {
			break
		}
		rows = append(rows, Slot{})
	}
	return rows
}

// expertForm reads the expert form; the photo comes with it.
func expertForm(f url.Values, photo []byte) ExpertInput {
	return ExpertInput{Name: f.Get("name"), Affiliation: f.Get("affiliation"), Title: f.Get("title"), Fields: []string{f.Get("fields")},
		Bio: f.Get("bio"), Phone: f.Get("phone"), Email: f.Get("email"), AccountID: web.FormID(f.Get("account_id")),
		Availability: slotForm(f), Photo: photo, RemovePhoto: f.Get("remove_photo") == "1"}
}

// expertValues fill the form of an expert from their record.
func expertValues(e Expert) url.Values {
	f := url.Values{"name": {e.Name}, "affiliation": {e.Affiliation}, "title": {e.Title}, "fields": {strings.Join(e.Fields, "、")},
		"bio": {e.Bio}, "phone": {e.Phone}, "email": {e.Email}, "account_id": {strconv.FormatInt(e.AccountID, 10)}}
	for _, sl := range e.Availability {
		f.Add("avail_weekday", strconv.Itoa(sl.Weekday))
		f.Add("avail_from", sl.From)
		f.Add("avail_to", sl.To)
		f.Add("avail_start", sl.Start)
		f.Add("avail_end", sl.End)
	}
	return f
}

func (h *Handlers) newExpert(w http.ResponseWriter, r *http.Request) {
	h.renderExpert(w, r, 0, url.Values{}, nil)
}

func (h *Handlers) editExpert(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderExpert(w, r, id, nil, nil)
}

func (h *Handlers) renderExpert(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := expertView{Weekdays: []int{1, 2, 3, 4, 5, 6, 7}, MaxPhoto: bank.MaxPhotoBytes >> 20}
	var err error
	if id != 0 {
		if v.Expert, err = h.S.Expert(ctx, a, id); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if v.Logins, err = h.S.ExpertLogins(ctx, a, v.Expert.TownID, id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = expertValues(v.Expert)
	}
	v.Rows = slotRows(slotForm(f))
	title := "school.expert_new.title"
	if id != 0 {
		title = "school.expert_edit.title"
	}
	p := h.App.NewPage(r, title, v)
	p.Form = f
	p.Flashed("flash.school_expert_saved", v.Expert.Name)
	p.Flashed("flash.school_expert_retired", v.Expert.Name, v.Expert.RetiredReason)
	h.App.RenderPage(w, r, "admin_school_expert.html", p, ferr)
}

func (h *Handlers) createExpert(w http.ResponseWriter, r *http.Request) {
	f, photo, _, err := readUpload(w, r, "photo", bank.MaxPhotoBytes)
	var e Expert
	if err == nil {
		e, err = h.S.CreateExpert(r.Context(), auth.From(r.Context()), expertForm(f, photo))
	}
	if err != nil {
		h.renderExpert(w, r, 0, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/school/experts/%d", e.ID), "flash.school_expert_saved", 0))
}

func (h *Handlers) saveExpert(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, photo, _, err := readUpload(w, r, "photo", bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.SaveExpert(r.Context(), auth.From(r.Context()), id, expertForm(f, photo))
	}
	if err != nil {
		h.renderExpert(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/school/experts/%d", id), "flash.school_expert_saved", 0))
}

func (h *Handlers) retire(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	// The question names the expert; it is asked only of those who may retire them.
	e, err := h.S.Expert(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if err := h.S.MayManage(a, e.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	back := fmt.Sprintf("/admin/school/experts/%d", id)
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "school.confirm_retire", What: "school.confirm_retire_what", Args: []any{e.Name, e.Affiliation}, Back: back})
	if !ok {
		return
	}
	if _, err := h.S.Retire(ctx, a, id, reason); err != nil {
		h.renderExpert(w, r, id, nil, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(back, "flash.school_expert_retired", 0))
}

func (h *Handlers) mePage(w http.ResponseWriter, r *http.Request) { h.renderMe(w, r, nil, nil) }

func (h *Handlers) renderMe(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := expertView{Self: true, Weekdays: []int{1, 2, 3, 4, 5, 6, 7}, MaxPhoto: bank.MaxPhotoBytes >> 20}
	var err error
	if v.Expert, err = h.S.Me(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Courses, err = h.S.Courses(ctx, a, CourseFilter{TownID: v.Expert.TownID}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = expertValues(v.Expert)
	}
	v.Rows = slotRows(slotForm(f))
	p := h.App.NewPage(r, "school.me.title", v)
	p.Form = f
	h.App.RenderPage(w, r, "admin_school_expert.html", p, ferr) // flash.school_profile_saved names nobody: said as it is
}

func (h *Handlers) saveMe(w http.ResponseWriter, r *http.Request) {
	f, photo, _, err := readUpload(w, r, "photo", bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.SaveProfile(r.Context(), auth.From(r.Context()), expertForm(f, photo))
	}
	if err != nil {
		h.renderMe(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/school/me", "flash.school_profile_saved", 0))
}
