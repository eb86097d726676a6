package school

import (
	"embed"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves 微党校's pages and API; both call the same service methods.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the menu pages, the staff console pages and the API.
func (h *Handlers) Register() {
	a := h.App
	a.Templates(templates, "templates/*.html")
	a.Handle(web.Route{Method: "GET", Path: "/school", Access: web.LoggedIn, Summary: "the course menu of my town, by category"}, h.menu)
	a.Handle(web.Route{Method: "GET", Path: "/school/courses/{id}", Access: web.LoggedIn, Summary: "a course of the menu with its experts"}, h.coursePage)
	a.Handle(web.Route{Method: "GET", Path: "/school/courses/{id}/material", Access: web.LoggedIn, Summary: "a course's PDF"}, h.material)
	a.Handle(web.Route{Method: "GET", Path: "/school/experts/{id}/photo", Access: web.LoggedIn, Summary: "an expert's photo"}, h.photo)
	h.registerAdmin()
	h.registerAPI()
	h.registerOrders()
	h.registerLessons()
	h.registerSurveys()
}

// menuView is the menu a resident or a branch reads: the offered courses of a category.
type menuView struct {
	Categories []Category
	Category   int64
	Courses    []Course
	MayOrder   bool // a branch's staff: the menu leads to their orders
}

func (h *Handlers) menu(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := menuView{Category: web.QueryInt(r, "category_id"), MayOrder: h.S.MayOrder(a, 0)}
	var err error
	if v.Categories, err = h.S.Categories(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Courses, err = h.S.Courses(ctx, a, CourseFilter{Status: string(Offered), CategoryID: v.Category}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "school_menu.html", "school.title", v, nil, nil)
}

// coursePageView is a course of the menu, and whether the reader orders it for a branch (点单).
type coursePageView struct {
	Course
	MayOrder bool
	Applied  []Applied // what the branches' 两委 took from its lessons (学后转化)
}

func (h *Handlers) coursePage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	c, err := h.S.Course(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	applied, err := h.S.AppliedOf(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "school_course.html", "school.course.title", coursePageView{Course: c.public(), MayOrder: c.Status == Offered && h.S.MayOrder(a, c.TownID), Applied: applied}, nil, nil)
}

func (h *Handlers) material(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	name, data, err := h.S.MaterialPDF(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Content-Disposition", `inline; filename="material.pdf"; filename*=UTF-8''`+strings.ReplaceAll(url.PathEscape(name), "'", "%27"))
	// A PDF opened from the site runs nothing of the site's: no script, no form, no same origin.
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(data)
}

func (h *Handlers) photo(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	mime, data, err := h.S.ExpertPhoto(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	// A photo changes when it is replaced, and who may see it with the expert: kept by the browser only, briefly.
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(data)
}

// maxField bounds one text field of an upload form.
const maxField = 64 << 10

// readUpload reads a form that may carry one file in the field named file, of at most max bytes:
// part by part, so that the file is read once into memory and nothing beyond max (and the text
// fields) is read at all. A form that is not multipart is read as an ordinary one. The file's
// name is returned with it; an empty file input gives no file.
func readUpload(w http.ResponseWriter, r *http.Request, file string, max int64) (form url.Values, data []byte, name string, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, max+1<<20)
	form = url.Values{}
	tooLarge := &errs.Error{Code: errs.TooLarge, Key: "error.invalid", Fields: []errs.FieldError{{Field: file, Key: "school.upload_too_large", Args: []any{max >> 20}}}}
	mr, err := r.MultipartReader()
	if err != nil {
		if err := r.ParseForm(); err != nil {
			return form, nil, "", errs.New(errs.Invalid, "error.invalid")
		}
		return r.PostForm, nil, "", nil
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, data, name, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return form, nil, "", tooLarge
			}
			return form, nil, "", errs.New(errs.Invalid, "error.invalid")
		}
		switch {
		case part.FormName() == file && part.FileName() != "":
			b, err := io.ReadAll(io.LimitReader(part, max+1))
			if err != nil {
				return form, nil, "", errs.New(errs.Invalid, "error.invalid")
			}
			if int64(len(b)) > max {
				return form, nil, "", tooLarge // refused here: the rest is never read
			}
			if len(b) > 0 {
				data, name = b, part.FileName()
			}
		case part.FileName() == "" && part.FormName() != "":
			b, err := io.ReadAll(io.LimitReader(part, maxField+1))
			if err != nil || len(b) > maxField {
				return form, nil, "", errs.New(errs.Invalid, "error.invalid")
			}
			form.Add(part.FormName(), string(b))
		}
	}
}
