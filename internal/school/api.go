package school

import (
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/web"
)

func (h *Handlers) registerAPI() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/categories", Access: web.LoggedIn,
		Summary: "the course categories of a town (town_id; the caller's when absent): the nine of every town, then its own", Response: []Category{}}, h.apiCategories)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/experts", Access: web.LoggedIn,
		Summary: "a town's experts (town_id, q, retired=1): staff get the whole record, the menu's readers no contact details, an expert their own record", Response: []Expert{}}, h.apiExperts)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/experts", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "add an expert to the pool (the town's party-building staff and admins; 201); the photo is uploaded on the expert's page", Request: ExpertInput{}, Response: Expert{}}, h.apiCreateExpert)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/courses", Access: web.LoggedIn,
		Summary: "a town's courses (town_id, status, category_id): staff any status, the menu's readers the offered ones, an expert those they teach", Response: []Course{}}, h.apiCourses)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/courses", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "add a draft course (staff; 201); materials as a link here, a PDF on the course's page", Request: CourseInput{}, Response: Course{}}, h.apiCreateCourse)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/courses/{id}", Access: web.LoggedIn,
		Summary: "a course with its experts", Response: Course{}}, h.apiCourse)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/courses/{id}/status", Access: web.LoggedIn,
		Summary: "offer a course on the menu, or withdraw it (staff; 200)", Request: StatusInput{}, Response: Course{}}, h.apiSetStatus)
}

func (h *Handlers) apiCategories(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Categories(r.Context(), auth.From(r.Context()), web.QueryInt(r, "town_id"))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiExperts(w http.ResponseWriter, r *http.Request) {
	f := ExpertFilter{TownID: web.QueryInt(r, "town_id"), Q: r.URL.Query().Get("q"), Retired: r.URL.Query().Get("retired") == "1"}
	list, err := h.S.Experts(r.Context(), auth.From(r.Context()), f)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateExpert(w http.ResponseWriter, r *http.Request) {
	var in ExpertInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	e, err := h.S.CreateExpert(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, e, err)
}

func (h *Handlers) apiCourses(w http.ResponseWriter, r *http.Request) {
	f := CourseFilter{TownID: web.QueryInt(r, "town_id"), Status: r.URL.Query().Get("status"), CategoryID: web.QueryInt(r, "category_id")}
	list, err := h.S.Courses(r.Context(), auth.From(r.Context()), f)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateCourse(w http.ResponseWriter, r *http.Request) {
	var in CourseInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.CreateCourse(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, c, err)
}

func (h *Handlers) apiCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	c, err := h.S.Course(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, c, err)
}

func (h *Handlers) apiSetStatus(w http.ResponseWriter, r *http.Request) {
	var in StatusInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.SetStatus(r.Context(), auth.From(r.Context()), id, in.Status)
	h.App.Reply(w, r, http.StatusOK, c, err)
}
