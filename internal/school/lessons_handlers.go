package school

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"siwei/internal/attend"
	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// registerLessons adds the pages and API of lessons: the roll and its check-ins, ratings, a
// resident's lessons and study record, and the town's coverage.
func (h *Handlers) registerLessons() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/school/lessons", Access: web.LoggedIn, Summary: "a resident's lessons (我的党课), phone-first"}, h.myLessonsPage)
	a.Handle(web.Route{Method: "GET", Path: "/school/lessons/{id}", Access: web.LoggedIn, Summary: "a lesson: an attendee's check-in and rating; the roll for the staff who run it"}, h.lessonPage)
	a.Handle(web.Route{Method: "POST", Path: "/school/lessons/{id}/checkins", Access: web.LoggedIn, Summary: "check in by roll call (staff) or with the online lesson's link (the attendee)"}, h.checkin)
	a.Handle(web.Route{Method: "POST", Path: "/school/lessons/{id}/sheet", Access: web.LoggedIn, Summary: "type back the ticks of the printed sign-in sheet"}, h.sheetTicks)
	a.Handle(web.Route{Method: "POST", Path: "/school/lessons/{id}/invitations", Access: web.LoggedIn, Summary: "put a resident on the roll as invited"}, h.invite)
	a.Handle(web.Route{Method: "POST", Path: "/school/lessons/{id}/ratings", Access: web.LoggedIn, Summary: "an attendee rates the lesson"}, h.rate)
	a.Handle(web.Route{Method: "POST", Path: "/school/lessons/{id}/close", Access: web.LoggedIn, Summary: "end the check-in and pay the party members who attended (asks first)"}, h.closeRoll)
	a.Handle(web.Route{Method: "GET", Path: "/school/lessons/{id}/qr", Access: web.LoggedIn, Summary: "the lesson's rotating QR, full screen, for the room"}, h.qrPage)
	a.Handle(web.Route{Method: "GET", Path: "/school/lessons/{id}/qr.png", Access: web.LoggedIn, Summary: "the lesson's QR as it is now"}, h.qrPNG)
	a.Handle(web.Route{Method: "GET", Path: "/school/lessons/{id}/sheet", Access: web.LoggedIn, Summary: "the printable sign-in sheet (签到表)"}, h.sheetPage)
	a.Handle(web.Route{Method: "GET", Path: "/school/checkin", Access: web.LoggedIn, Summary: "where a lesson's QR or check-in link leads"}, h.checkinPage)
	a.Handle(web.Route{Method: "POST", Path: "/school/checkin", Access: web.LoggedIn, Summary: "check in with the QR or link token"}, h.selfCheckin)
	a.Handle(web.Route{Method: "GET", Path: "/school/record", Access: web.LoggedIn, Summary: "a party member's study record (学习记录), and its printable 学习证明"}, h.recordPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/coverage", Access: web.Staff, Summary: "party members reached by branch, and the period's figures"}, h.coveragePage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/coverage/{id}", Access: web.Staff, Summary: "a branch's members not reached in six months"}, h.notReachedPage)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/lessons", Access: web.LoggedIn,
		Summary: "the lessons on the caller's roll, with their check-in, rating and points", Response: []MyLesson{}}, h.apiMine)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/lessons/{id}/checkins", Access: web.LoggedIn,
		Summary: "check in: the attendee with the QR's or link's token, or staff by resident_id and method (roll, sheet); twice keeps the first (fresh=false)", Request: CheckinInput{}, Response: CheckinResult{}}, h.apiCheckin)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/lessons/{id}/invitations", Access: web.LoggedIn,
		Summary: "put a resident on the roll as invited (staff who run the roll; resident_id)", Request: InviteInput{}, Response: attend.Entry{}}, h.apiInvite)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/lessons/{id}/ratings", Access: web.LoggedIn,
		Summary: "an attendee's rating (1–5) and comment; again changes it", Request: RatingInput{}, Response: Rating{}}, h.apiRate)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/lessons/{id}/close", Access: web.LoggedIn,
		Summary: "end the check-in and pay the party members who attended (staff who run the roll); again pays what is unpaid", Response: LessonView{}}, h.apiClose)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/coverage", Access: web.LoggedIn,
		Summary: "party members reached by branch in a period (from, to: 2026-01; town_id), for the town's school staff and a branch's own", Response: Coverage{}}, h.apiCoverage)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/figures", Access: web.LoggedIn,
		Summary: "the school's figures of a period (from, to; town_id): lessons, person-times, reached, ratings, orders and their rates", Response: Figures{}}, h.apiFigures)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/record", Access: web.LoggedIn,
		Summary: "the caller's study record of a period (from, to)", Response: StudyRecord{}}, h.apiRecord)
}

// lessonPageView is a lesson's page: the view, the QR's and link's addresses, the people found to
// invite.
type lessonPageView struct {
	LessonView
	CheckinLink string
	LinkToken   string
	Found       []Invitee
	Q           string
	Now         bool // check-in is open now
}

func (h *Handlers) lessonPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderLesson(w, r, id, nil, nil)
}

func (h *Handlers) renderLesson(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	lv, err := h.S.LessonView(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := lessonPageView{LessonView: lv, Now: lv.Event.Open(h.S.Now()), Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if lv.Me != nil || lv.Runs {
		v.CheckinLink = h.S.CheckinLink(lv)
		if v.CheckinLink != "" {
			v.LinkToken = h.S.Attend.LinkToken(lv.Event.ID)
		}
	}
	if lv.Runs && v.Q != "" {
		if v.Found, err = h.S.FindInvitees(ctx, a, id, v.Q); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "school.lesson.title", v)
	p.Form = f
	if p.Form == nil && lv.Rating != nil {
		p.Form = url.Values{"rating": {strconv.Itoa(lv.Rating.Rating)}, "comment": {lv.Rating.Comment}}
	}
	if rid := p.FlashID(); rid != 0 {
		for _, e := range lv.Roll {
			if e.ResidentID == rid {
				p.Flashed("flash.school_checked_in", e.Name, p.T("attend.method."+e.Method))
				p.Flashed("flash.school_invited", e.Name)
			}
		}
	}
	if lv.Me != nil {
		p.Flashed("flash.school_self_checked_in", lv.CourseTitle)
		if lv.Rating != nil {
			p.Flashed("flash.school_rated", lv.CourseTitle, lv.Rating.Rating)
		}
	}
	if lv.Runs {
		p.Flashed("flash.school_sheet_typed", lv.Counts.Checked)
		p.Flashed("flash.school_roll_closed", lv.CourseTitle, lv.Counts.Checked)
	}
	h.App.RenderPage(w, r, "school_lesson.html", p, ferr)
}

func (h *Handlers) checkin(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	in := CheckinInput{Token: f.Get("t"), ResidentID: web.FormID(f.Get("resident_id")), Method: f.Get("method")}
	res, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, in)
	if err != nil {
		h.renderLesson(w, r, id, f, err)
		return
	}
	back := fmt.Sprintf("/school/lessons/%d", id)
	if in.Token != "" {
		web.Redirect(w, r, web.FlashURL(back, "flash.school_self_checked_in", 0))
		return
	}
	web.Redirect(w, r, web.FlashURL(back+"#roll", "flash.school_checked_in", res.Entry.ResidentID))
}

func (h *Handlers) sheetTicks(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	var ids []int64
	for _, s := range f["resident_ids"] {
		if n := web.FormID(s); n > 0 {
			ids = append(ids, n)
		}
	}
	if _, err := h.S.SheetTicks(r.Context(), auth.From(r.Context()), id, ids); err != nil {
		h.renderLesson(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/school/lessons/%d#roll", id), "flash.school_sheet_typed", 0))
}

func (h *Handlers) invite(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	e, err := h.S.Invite(r.Context(), auth.From(r.Context()), id, web.FormID(f.Get("resident_id")))
	if err != nil {
		h.renderLesson(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/school/lessons/%d#roll", id), "flash.school_invited", e.ResidentID))
}

func (h *Handlers) rate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	if _, err := h.S.Rate(r.Context(), auth.From(r.Context()), id, RatingInput{Rating: web.FormInt(f.Get("rating")), Comment: f.Get("comment")}); err != nil {
		h.renderLesson(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/school/lessons/%d", id), "flash.school_rated", 0))
}

func (h *Handlers) closeRoll(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	lv, err := h.S.LessonView(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if !lv.Runs {
		h.App.Error(w, r, errs.New(errs.Forbidden, "error.forbidden"))
		return
	}
	back := fmt.Sprintf("/school/lessons/%d", id)
	if lv.Event.ClosedAt.IsZero() {
		// Ending the check-in pays the points and cannot be undone: it asks first.
		if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "school.confirm_close_roll", What: "school.confirm_close_roll_what",
			Args: []any{lv.CourseTitle, lv.Counts.Checked, lv.Counts.Roll}, Back: back, NoReason: true}); !ok {
			return
		}
	}
	if _, err := h.S.CloseRoll(ctx, a, id); err != nil {
		h.renderLesson(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(back, "flash.school_roll_closed", 0))
}

// qrView is the full-screen QR page: the lesson, and the address that draws its code.
type qrView struct {
	LessonView
	Image string
}

func (h *Handlers) qrPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	_, lv, err := h.S.QRToken(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "school_lesson_qr.html", "school.lesson.qr_title", qrView{LessonView: lv, Image: fmt.Sprintf("/school/lessons/%d/qr.png", id)}, nil, nil)
}

func (h *Handlers) qrPNG(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	tok, _, err := h.S.QRToken(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	png, err := qrcode.Encode(scheme+"://"+r.Host+"/school/checkin?"+url.Values{"t": {tok}}.Encode(), qrcode.Medium, 480)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(png)
}

func (h *Handlers) sheetPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	lv, err := h.S.LessonView(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if !lv.Runs {
		h.App.Error(w, r, errs.New(errs.Forbidden, "error.forbidden"))
		return
	}
	h.App.RenderForm(w, r, "school_lesson_sheet.html", "school.lesson.sheet_title", lv, nil, nil)
}

// checkinView is where a QR or link leads: the lesson it names, and the token to post.
type checkinView struct {
	Token   string
	Lesson  *LessonView
	Preview *Lesson // the lesson the token names, before the person confirms
}

func (h *Handlers) checkinPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	tok := r.URL.Query().Get("t")
	v := checkinView{Token: tok}
	var ferr error
	if tok != "" {
		l, err := h.S.TokenLesson(ctx, a, tok)
		if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) {
			ferr, v.Token = err, ""
		} else if err != nil {
			h.App.Error(w, r, err)
			return
		} else {
			v.Preview = &l
		}
	}
	p := h.App.NewPage(r, "school.checkin.title", v)
	if id := web.FormID(r.URL.Query().Get("lesson")); id != 0 {
		// After a check-in: the lesson, named within what the person may see.
		if lv, err := h.S.LessonView(ctx, a, id); err == nil && lv.Me != nil && lv.Me.Checked() {
			v.Lesson = &lv
			p.Data = v
			p.Flashed("flash.school_self_checked_in", lv.CourseTitle)
		}
	}
	h.App.RenderPage(w, r, "school_checkin.html", p, ferr)
}

func (h *Handlers) selfCheckin(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	res, err := h.S.Checkin(r.Context(), auth.From(r.Context()), 0, CheckinInput{Token: f.Get("t")})
	if err != nil {
		p := h.App.NewPage(r, "school.checkin.title", checkinView{})
		p.Form = f
		h.App.RenderPage(w, r, "school_checkin.html", p, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/school/lessons/%d", res.LessonID), "flash.school_self_checked_in", 0))
}

func (h *Handlers) myLessonsPage(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Mine(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	now := h.S.Now()
	v := struct{ Coming, Past []MyLesson }{Coming: []MyLesson{}, Past: []MyLesson{}}
	for _, l := range list { // the newest first
		if l.EndsAt.After(now) && l.Status != "cancelled" {
			l.Now = !l.StartsAt.After(now)
			v.Coming = append([]MyLesson{l}, v.Coming...) // the nearest first
		} else {
			v.Past = append(v.Past, l)
		}
	}
	h.App.RenderForm(w, r, "school_lessons.html", "school.lessons.my_title", v, nil, nil)
}

func (h *Handlers) recordPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rec, err := h.S.StudyRecord(r.Context(), auth.From(r.Context()), q.Get("from"), q.Get("to"))
	if errs.Is(err, errs.Invalid) {
		ferr := err
		if rec, err = h.S.StudyRecord(r.Context(), auth.From(r.Context()), "", ""); err != nil {
			h.App.Error(w, r, err)
			return
		}
		err = ferr
		p := h.App.NewPage(r, "school.record.title", rec)
		p.Form = url.Values(q)
		h.App.RenderPage(w, r, "school_record.html", p, err)
		return
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	page := "school_record.html"
	title := "school.record.title"
	if q.Get("print") == "1" {
		page, title = "school_certificate.html", "school.certificate.title"
	}
	p := h.App.NewPage(r, title, rec)
	p.Form = url.Values{"from": {rec.Period.From}, "to": {rec.Period.To}}
	h.App.RenderPage(w, r, page, p, nil)
}

// coverageView is the coverage page: the branches' coverage and, for the town's staff, the
// period's figures.
type coverageView struct {
	Coverage Coverage
	Figures  *Figures
}

func (h *Handlers) coveragePage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	q := r.URL.Query()
	p, err := h.period(r, q.Get("from"), q.Get("to"))
	form := url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}}
	var ferr error
	if errs.Is(err, errs.Invalid) {
		ferr = err
		p, err = h.period(r, "", "")
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	c, err := h.S.Coverage(ctx, a, 0, p)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := coverageView{Coverage: c}
	if h.S.MayManage(a, 0) == nil {
		f, err := h.S.PeriodFigures(ctx, a, 0, p)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Figures = &f
	}
	if ferr == nil {
		form = url.Values{"from": {p.From}, "to": {p.To}}
	}
	page := h.App.NewPage(r, "school.coverage.title", v)
	page.Form = form
	h.App.RenderPage(w, r, "admin_school_coverage.html", page, ferr)
}

// period reads a period in the actor's town's zone.
func (h *Handlers) period(r *http.Request, from, to string) (Period, error) {
	a := auth.From(r.Context())
	loc, err := h.S.People.Zone(r.Context(), a.TownID)
	if err != nil {
		return Period{}, err
	}
	return ParsePeriod(from, to, h.S.Now(), loc)
}

func (h *Handlers) notReachedPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	list, err := h.S.NotReached(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v, _ := h.S.village(r.Context(), id)
	h.App.RenderForm(w, r, "admin_school_not_reached.html", "school.coverage.not_reached_title", struct {
		Village string
		Members []Member
	}{v.Name, list}, nil, nil)
}

// ---- API

func (h *Handlers) apiMine(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Mine(r.Context(), auth.From(r.Context()))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCheckin(w http.ResponseWriter, r *http.Request) {
	var in CheckinInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	res, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, res, err)
}

// InviteInput names the resident to invite to a lesson.
type InviteInput struct {
	ResidentID int64 `json:"resident_id"`
}

func (h *Handlers) apiInvite(w http.ResponseWriter, r *http.Request) {
	var in InviteInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	e, err := h.S.Invite(r.Context(), auth.From(r.Context()), id, in.ResidentID)
	h.App.Reply(w, r, http.StatusOK, e, err)
}

func (h *Handlers) apiRate(w http.ResponseWriter, r *http.Request) {
	var in RatingInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	res, err := h.S.Rate(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, res, err)
}

func (h *Handlers) apiClose(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	lv, err := h.S.CloseRoll(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, lv, err)
}

func (h *Handlers) apiPeriod(w http.ResponseWriter, r *http.Request) (Period, int64, bool) {
	a := auth.From(r.Context())
	q := r.URL.Query()
	townID := townOf(a, web.QueryInt(r, "town_id"))
	loc, err := h.S.People.Zone(r.Context(), townID)
	if err != nil {
		h.App.Reply(w, r, http.StatusOK, nil, notFound)
		return Period{}, 0, false
	}
	p, err := ParsePeriod(q.Get("from"), q.Get("to"), h.S.Now(), loc)
	if err != nil {
		h.App.Reply(w, r, http.StatusOK, nil, err)
		return Period{}, 0, false
	}
	return p, townID, true
}

func (h *Handlers) apiCoverage(w http.ResponseWriter, r *http.Request) {
	p, townID, ok := h.apiPeriod(w, r)
	if !ok {
		return
	}
	c, err := h.S.Coverage(r.Context(), auth.From(r.Context()), townID, p)
	h.App.Reply(w, r, http.StatusOK, c, err)
}

func (h *Handlers) apiFigures(w http.ResponseWriter, r *http.Request) {
	p, townID, ok := h.apiPeriod(w, r)
	if !ok {
		return
	}
	f, err := h.S.PeriodFigures(r.Context(), auth.From(r.Context()), townID, p)
	h.App.Reply(w, r, http.StatusOK, f, err)
}

func (h *Handlers) apiRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rec, err := h.S.StudyRecord(r.Context(), auth.From(r.Context()), q.Get("from"), q.Get("to"))
	h.App.Reply(w, r, http.StatusOK, rec, err)
}
