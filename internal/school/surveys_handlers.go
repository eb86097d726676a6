package school

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerSurveys adds the pages and API of demand surveys (问需): the town's staff open, read
// and close them in the console, a branch answers on its phone pages.
func (h *Handlers) registerSurveys() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/school/surveys", Access: web.LoggedIn, Summary: "the demand surveys a branch has to answer (问需), phone-first"}, h.branchSurveys)
	a.Handle(web.Route{Method: "GET", Path: "/school/surveys/{id}", Access: web.LoggedIn, Summary: "a survey and the branch's answer form"}, h.branchSurvey)
	a.Handle(web.Route{Method: "POST", Path: "/school/surveys/{id}/answers", Access: web.LoggedIn, Summary: "a branch answers a survey, or edits its answer"}, h.answer)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/surveys", Access: web.Staff, Summary: "the town's demand surveys, and the form to open one"}, h.adminSurveys)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/surveys", Access: web.Staff, Summary: "open a demand survey of the branches"}, h.createSurvey)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/surveys/{id}", Access: web.Staff, Summary: "a survey's answers tallied by category and topic, and the branches yet to answer"}, h.adminSurvey)
	a.Handle(web.Route{Method: "POST", Path: "/admin/school/surveys/{id}/close", Access: web.Staff, Summary: "close a survey to answers, asking first and keeping the reason"}, h.closeSurvey)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/surveys", Access: web.LoggedIn,
		Summary: "demand surveys: all of the town's for its staff, the open ones sent to a branch for its village admins", Response: []Survey{}}, h.apiSurveys)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/surveys", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "open a demand survey of the branches of the town's villages (staff; 201); their village admins are told", Request: SurveyInput{}, Response: Survey{}}, h.apiCreateSurvey)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/surveys/{id}", Access: web.LoggedIn,
		Summary: "a survey: for staff every answer, the tally by category and topic and the branches yet to answer; for a branch its own answer", Response: Survey{}}, h.apiSurvey)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/surveys/{id}/answers", Access: web.LoggedIn,
		Summary: "a branch answers a survey, or replaces its answer, until the deadline or the close (village admins; 200)", Request: AnswerInput{}, Response: Survey{}}, h.apiAnswer)
}

// surveysView is a list of surveys: the town's with the form to open one, or a branch's.
type surveysView struct {
	Surveys  []Survey
	Villages []Branch // the form's choices, for staff
	Branch   bool
}

func (h *Handlers) branchSurveys(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if h.S.MayManage(a, 0) == nil {
		http.Redirect(w, r, "/admin/school/surveys", http.StatusSeeOther) // the town reads them in the console
		return
	}
	list, err := h.S.Surveys(r.Context(), a)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_school_surveys.html", "school.surveys.branch_title", surveysView{Surveys: list, Branch: true}, nil, nil)
}

func (h *Handlers) adminSurveys(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if err := h.S.MayManage(a, 0); err != nil {
		if h.S.MayOrder(a, 0) {
			http.Redirect(w, r, "/school/surveys", http.StatusSeeOther) // a branch answers on its phone pages
			return
		}
		h.App.Error(w, r, err)
		return
	}
	h.renderSurveys(w, r, nil, nil)
}

func (h *Handlers) renderSurveys(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	v := surveysView{}
	var err error
	if v.Villages, err = h.S.SurveyDesk(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Surveys, err = h.S.Surveys(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = url.Values{}
		for _, vil := range v.Villages {
			f.Add("village_ids", strconv.FormatInt(vil.ID, 10)) // every branch, unless staff untick some
		}
	}
	p := h.App.NewPage(r, "school.surveys.title", v)
	p.Form = f
	h.App.RenderPage(w, r, "admin_school_surveys.html", p, ferr)
}

// surveyInput reads the form opening a survey.
func surveyInput(f url.Values) SurveyInput {
	in := SurveyInput{Title: f.Get("title"), Note: f.Get("note"), Deadline: f.Get("deadline")}
	for _, s := range f["village_ids"] {
		in.VillageIDs = append(in.VillageIDs, web.FormID(s))
	}
	return in
}

func (h *Handlers) createSurvey(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	sv, err := h.S.CreateSurvey(r.Context(), auth.From(r.Context()), surveyInput(f))
	if err != nil {
		h.renderSurveys(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/school/surveys/%d", sv.ID), "flash.school_survey_opened", 0))
}

// surveyView is a survey: the staff's tally, or a branch's answer form with its choices.
type surveyView struct {
	Survey     Survey
	Answer     Answer // the branch's answer for the chosen village, when it has one
	VillageID  int64
	Categories []Category
	Months     []Month
}

func (h *Handlers) adminSurvey(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	sv, err := h.S.Survey(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if sv.Tally == nil {
		http.Redirect(w, r, fmt.Sprintf("/school/surveys/%d", id), http.StatusSeeOther) // a branch answers on its phone pages
		return
	}
	p := h.App.NewPage(r, "school.survey.title", surveyView{Survey: sv})
	p.Flashed("flash.school_survey_opened", sv.Title, len(sv.Villages))
	p.Flashed("flash.school_survey_closed", sv.Title, sv.ClosedReason)
	h.App.RenderPage(w, r, "admin_school_survey.html", p, nil)
}

func (h *Handlers) closeSurvey(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	sv, err := h.S.Survey(ctx, a, id)
	if err == nil {
		err = h.S.MayManage(a, sv.TownID) // a branch the survey was sent to answers it, and closes nothing
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	back := fmt.Sprintf("/admin/school/surveys/%d", id)
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "school.confirm_close_survey", What: "school.confirm_close_survey_what",
		Args: []any{sv.Title, len(sv.Unanswered)}, Back: back})
	if !ok {
		return
	}
	if _, err := h.S.CloseSurvey(ctx, a, id, reason); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(back, "flash.school_survey_closed", 0))
}

func (h *Handlers) branchSurvey(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderAnswer(w, r, id, nil, nil)
}

func (h *Handlers) renderAnswer(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	sv, err := h.S.Survey(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if len(sv.MyVillages) == 0 {
		http.Redirect(w, r, fmt.Sprintf("/admin/school/surveys/%d", id), http.StatusSeeOther) // the town reads the tally
		return
	}
	v := surveyView{Survey: sv, VillageID: web.QueryInt(r, "village_id")}
	if f != nil {
		v.VillageID = web.FormID(f.Get("village_id"))
	}
	if v.VillageID == 0 {
		v.VillageID = sv.MyVillages[0].ID
	}
	for _, an := range sv.Answers {
		if an.VillageID == v.VillageID {
			v.Answer = an
		}
	}
	if v.Categories, err = h.S.Categories(ctx, a, sv.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Months, err = h.S.MonthChoices(ctx, sv.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = url.Values{"topics": {strings.Join(v.Answer.Topics, "\n")}, "note": {v.Answer.Note}}
		for _, m := range v.Answer.Months {
			f.Add("months", string(m))
		}
		for _, c := range v.Answer.Categories {
			f.Add("category_ids", strconv.FormatInt(c.ID, 10))
		}
	}
	p := h.App.NewPage(r, "school.survey.answer_title", v)
	p.Form = f
	for _, an := range sv.Answers {
		if an.VillageID == p.FlashID() {
			p.Flashed("flash.school_survey_answered", sv.Title, an.VillageName)
		}
	}
	h.App.RenderPage(w, r, "school_survey.html", p, ferr)
}

// answerInput reads a branch's answer form: topics one a line.
func answerInput(f url.Values) AnswerInput {
	in := AnswerInput{VillageID: web.FormID(f.Get("village_id")), Topics: strings.Split(f.Get("topics"), "\n"), Months: f["months"], Note: f.Get("note")}
	for _, s := range f["category_ids"] {
		in.CategoryIDs = append(in.CategoryIDs, web.FormID(s))
	}
	return in
}

func (h *Handlers) answer(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := answerInput(f)
	sv, err := h.S.AnswerSurvey(r.Context(), auth.From(r.Context()), id, in)
	if errs.Is(err, errs.Invalid) {
		h.renderAnswer(w, r, id, f, err) // the form again, with what was wrong
		return
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	village := in.VillageID
	if village == 0 && len(sv.MyVillages) > 0 {
		village = sv.MyVillages[0].ID
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/school/surveys/%d?village_id=%d", id, village), "flash.school_survey_answered", village))
}

func (h *Handlers) apiSurveys(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Surveys(r.Context(), auth.From(r.Context()))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateSurvey(w http.ResponseWriter, r *http.Request) {
	var in SurveyInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	sv, err := h.S.CreateSurvey(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, sv, err)
}

func (h *Handlers) apiSurvey(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	sv, err := h.S.Survey(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, sv, err)
}

func (h *Handlers) apiAnswer(w http.ResponseWriter, r *http.Request) {
	var in AnswerInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	sv, err := h.S.AnswerSurvey(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, sv, err)
}
