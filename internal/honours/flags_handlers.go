package honours

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// ---- the 流动红旗, the 文明大户 lists and the media kit

// registerFlags adds the flags' public board and the town's award page with their API, the
// 文明大户 lists' board and the page that puts a month's list on notice, and the media kit.
func (h *Handlers) registerFlags() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/honours/flags", Access: web.LoggedIn,
		Summary: "the town's 流动红旗 (month: 2026-11, last month when absent): the formula, the current holders, the history of holders and the month's table of every village's inputs and score"}, h.flagsPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/flags", Access: web.Staff,
		Summary: "the town's award page of the 流动红旗: a month's table computed now, the award with its reason, and the formula's weights"}, h.adminFlagsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/flags", Access: web.Staff,
		Summary: "award a finished month's 流动红旗 to the village or villages ranked first, confirmed with a reason; once a month"}, h.awardFlag)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/flags/weights", Access: web.Staff,
		Summary: "set the weights of the 流动红旗's formula, from the next award on"}, h.setWeights)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/flags", Access: web.LoggedIn, API: true,
		Summary: "the town's 流动红旗 (town_id; month: 2026-11, last month when absent): the formula, the current holders, the history and the month's table", Response: FlagBoard{}}, h.apiFlags)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/flags", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "award a finished month's 流动红旗 with a reason (the town's staff; 409 when the month is awarded or nobody scored; 201)", Request: FlagInput{}, Response: Flag{}}, h.apiAwardFlag)

	a.Handle(web.Route{Method: "GET", Path: "/honours/households", Access: web.LoggedIn,
		Summary: "the town's published 文明大户 lists by month (month: 2026-11, the latest when absent)"}, h.householdsPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/households", Access: web.Staff,
		Summary: "a month's 文明大户 list for the town's staff: the households it would name now, or the list on notice or published"}, h.adminHouseholdsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/households", Access: web.Staff,
		Summary: "put a finished month's 文明大户 list on notice (公示) for the town's residents to object to"}, h.openHouseholds)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/households", Access: web.LoggedIn, API: true,
		Summary: "the town's published 文明大户 lists (town_id; month: 2026-11, the latest when absent)", Response: HouseholdBoard{}}, h.apiHouseholds)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/households", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusAccepted},
		Summary: "put a finished month's 文明大户 list on notice (the town's staff; 409 when the month has one; 202)", Request: HouseholdsInput{}, Response: Notice{}}, h.apiOpenHouseholds)

	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/media", Access: web.Staff,
		Summary: "the stories marked for the 融媒 joint report, and the wall's names to mark"}, h.mediaPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/media", Access: web.Staff,
		Summary: "mark a story for the media: a name on the 名录墙 (kind wall, ref_id), with a note"}, h.markStory)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/media/{id}/remove", Access: web.Staff,
		Summary: "take a story out of the media kit"}, h.unmarkStory)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/media/kit", Access: web.Staff,
		Summary: "the media kit (融媒素材包) as a zip: each story's text and photos shown with consent, and the figures of the flags and the 文明大户 list"}, h.mediaKit)
}

// mayManage shows the town's parts to its public side's staff.
var mayManage = web.MayAny(PermManage)

// refusal reports whether err is one the page says on itself (a field, or a conflict), rather
// than an error page.
func refusal(err error) bool {
	e, ok := errs.As(err)
	return ok && (len(e.Fields) > 0 || e.Code == errs.Conflict)
}

// ---- flags

func (h *Handlers) flagsPage(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	b, err := h.S.FlagBoard(r.Context(), a, 0, r.URL.Query().Get("month"))
	if errs.Is(err, errs.Invalid) {
		b, err = h.S.FlagBoard(r.Context(), a, 0, "")
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_flags.html", "honours.flag.title", b, url.Values{"month": {b.Month}}, nil)
}

// adminFlagsView is the award page: the board, and whether the actor may award.
type adminFlagsView struct {
	FlagBoard
	Manage bool
}

func (h *Handlers) adminFlagsPage(w http.ResponseWriter, r *http.Request) {
	h.renderAdminFlags(w, r, r.URL.Query().Get("month"), nil, nil)
}

func (h *Handlers) renderAdminFlags(w http.ResponseWriter, r *http.Request, month string, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if err := h.S.mayManageTown(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	b, err := h.S.FlagBoard(ctx, a, 0, month)
	if errs.Is(err, errs.Invalid) {
		if ferr == nil {
			ferr = err
		}
		b, err = h.S.FlagBoard(ctx, a, 0, "")
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "honours.flag.admin_title", adminFlagsView{FlagBoard: b, Manage: true})
	p.Form = f
	if p.Form == nil {
		p.Form = url.Values{"month": {b.Month}, "points": {strconv.Itoa(b.Weights.Points)}, "hours": {strconv.Itoa(b.Weights.Hours)},
			"lessons": {strconv.Itoa(b.Weights.Lessons)}}
	}
	if b.Current != nil && b.Current.ID == p.FlashID() {
		p.Flashed("flash.honours_flag_awarded", b.Current.Year(), b.Current.MonthNum(), b.Current.HolderNames())
	}
	h.App.RenderPage(w, r, "admin_honours_flags.html", p, ferr)
}

func (h *Handlers) awardFlag(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	if err := h.S.mayManageTown(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	month := strings.TrimSpace(f.Get("month"))
	if err := h.S.finishedMonth(ctx, a.TownID, month); err != nil {
		h.renderAdminFlags(w, r, "", f, err)
		return
	}
	y, m := yearMonth(month)
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.flag.confirm_title", TitleArgs: []any{y, m},
		What: "honours.flag.confirm_what", Args: []any{y, m}, Back: "/admin/honours/flags?month=" + month})
	if !ok {
		return
	}
	fl, err := h.S.AwardFlag(ctx, a, FlagInput{Month: month, Reason: reason})
	if err != nil {
		if refusal(err) {
			h.renderAdminFlags(w, r, month, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/flags?month="+fl.Month, "flash.honours_flag_awarded", fl.ID))
}

// weightsInput reads the formula's form: a weight left empty is 0, one not a number is out of range.
func weightsInput(f url.Values) Weights {
	n := func(k string) int {
		s := strings.TrimSpace(f.Get(k))
		if s == "" {
			return 0
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return v
	}
	return Weights{Points: n("points"), Hours: n("hours"), Lessons: n("lessons")}
}

func (h *Handlers) setWeights(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	if _, err := h.S.SetFlagWeights(r.Context(), a, 0, weightsInput(f)); err != nil {
		if refusal(err) {
			h.renderAdminFlags(w, r, f.Get("month"), f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/flags", "flash.honours_flag_weights", 0))
}

func (h *Handlers) apiFlags(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	b, err := h.S.FlagBoard(r.Context(), a, web.QueryInt(r, "town_id"), r.URL.Query().Get("month"))
	h.App.Reply(w, r, http.StatusOK, b, err)
}

func (h *Handlers) apiAwardFlag(w http.ResponseWriter, r *http.Request) {
	var in FlagInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	fl, err := h.S.AwardFlag(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, fl, err)
}

// ---- 文明大户

func (h *Handlers) householdsPage(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	b, err := h.S.HouseholdBoard(r.Context(), a, 0, r.URL.Query().Get("month"))
	if errs.Is(err, errs.Invalid) {
		b, err = h.S.HouseholdBoard(r.Context(), a, 0, "")
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_households.html", "honours.households.title", b, url.Values{"month": {b.Month}}, nil)
}

// adminHouseholdsView is a month's list for the town's staff: the list put up (if any), else the
// households it would name now.
type adminHouseholdsView struct {
	Month   string
	List    *HouseholdList
	Preview []HouseholdRank
	Notice  *Notice
}

// Year is the year of the page's month.
func (v adminHouseholdsView) Year() int { y, _ := yearMonth(v.Month); return y }

// MonthNum is the page's month, 1 to 12.
func (v adminHouseholdsView) MonthNum() int { _, m := yearMonth(v.Month); return m }

func (h *Handlers) adminHouseholdsPage(w http.ResponseWriter, r *http.Request) {
	h.renderAdminHouseholds(w, r, r.URL.Query().Get("month"), nil, nil)
}

func (h *Handlers) renderAdminHouseholds(w http.ResponseWriter, r *http.Request, month string, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if err := h.S.mayManageTown(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	now, err := h.S.townMonth(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	month = strings.TrimSpace(month)
	if !monthRE.MatchString(month) || month >= now {
		month = prevMonth(now)
	}
	v := adminHouseholdsView{Month: month}
	l, err := h.S.HouseholdsOf(ctx, a, 0, month)
	switch {
	case err == nil && l.Status != NoticeWithdrawn:
		v.List = &l
		if n, err := h.S.NoticeByID(ctx, a, l.NoticeID); err == nil {
			v.Notice = &n
		}
	case err == nil || errs.Is(err, errs.NotFound):
		size := defaultHouseholds
		if f != nil {
			if n, err := strconv.Atoi(f.Get("size")); err == nil && n > 0 && n <= maxHouseholds {
				size = n
			}
		}
		if v.Preview, err = h.S.HouseholdsPreview(ctx, a, 0, month, size); err != nil {
			h.App.Error(w, r, err)
			return
		}
	default:
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "honours.households.admin_title", v)
	p.Form = f
	if p.Form == nil {
		p.Form = url.Values{"month": {month}, "size": {strconv.Itoa(defaultHouseholds)}}
	}
	if v.List != nil && v.List.ID == p.FlashID() {
		p.Flashed("flash.honours_households_opened", v.Year(), v.MonthNum(), len(v.List.Items))
	}
	h.App.RenderPage(w, r, "admin_honours_households.html", p, ferr)
}

func (h *Handlers) openHouseholds(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	size, err := strconv.Atoi(strings.TrimSpace(f.Get("size")))
	if err != nil {
		size = -1
	}
	n, err := h.S.OpenHouseholds(r.Context(), a, HouseholdsInput{Month: f.Get("month"), Size: size})
	if err != nil {
		if refusal(err) {
			h.renderAdminHouseholds(w, r, f.Get("month"), f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/households?month=%s", f.Get("month")), "flash.honours_households_opened", n.RefID))
}

func (h *Handlers) apiHouseholds(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	b, err := h.S.HouseholdBoard(r.Context(), a, web.QueryInt(r, "town_id"), r.URL.Query().Get("month"))
	h.App.Reply(w, r, http.StatusOK, b, err)
}

func (h *Handlers) apiOpenHouseholds(w http.ResponseWriter, r *http.Request) {
	var in HouseholdsInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.OpenHouseholds(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusAccepted, n, err)
}

// ---- the media kit

// mediaView is the media page: the stories marked, and the wall's names to mark.
type mediaView struct {
	Stories []MediaStory
	Wall    []WallChoice
}

func (h *Handlers) mediaPage(w http.ResponseWriter, r *http.Request) {
	h.renderMedia(w, r, nil, nil)
}

func (h *Handlers) renderMedia(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	var v mediaView
	var err error
	if v.Stories, err = h.S.MediaStories(ctx, a, 0); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Wall, err = h.S.MediaWallChoices(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "honours.media.title", v)
	p.Form = f
	for _, st := range v.Stories {
		if st.ID == p.FlashID() {
			p.Flashed("flash.honours_media_marked", st.Title)
		}
	}
	h.App.RenderPage(w, r, "admin_honours_media.html", p, ferr)
}

func (h *Handlers) markStory(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	st, err := h.S.MarkStory(r.Context(), auth.From(r.Context()), MediaInput{Kind: f.Get("kind"), RefID: web.FormID(f.Get("ref_id")), Note: f.Get("note")})
	if err != nil {
		if refusal(err) {
			h.renderMedia(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/media", "flash.honours_media_marked", st.ID))
}

func (h *Handlers) unmarkStory(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	if _, err := h.S.UnmarkStory(r.Context(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/honours/media", "flash.honours_media_unmarked", 0))
}

func (h *Handlers) mediaKit(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := h.S.WriteMediaKit(r.Context(), auth.From(r.Context()), &buf); err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="media-kit.zip"`)
	_, _ = buf.WriteTo(w)
}
