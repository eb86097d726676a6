package honours

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// registerContests adds the pages and API of the contests judged by panels: the organisers' and
// villages' pages (/admin/honours/contests), a judge's (/admin/judging), a resident's
// (/honours/contests), and /api/v1/contests.
func (h *Handlers) registerContests() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/contests", Access: web.Staff, Summary: "the town's contests judged by panels (评比), and the form that starts one"}, h.contestsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/contests", Access: web.Staff, Summary: "start a contest: kind, criteria and weights, how many go to the town round, winners and their rule"}, h.contestCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/contests/{id}", Access: web.Staff, Summary: "a contest for its organisers and the villages' staff: panel and progress, hidden entries, entrants, outliers, results"}, h.contestPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/contests/{id}/judges", Access: web.Staff, Summary: "name a judge login of the town to a round of the contest's panel, in a capacity"}, h.contestJudge)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/contests/{id}/entries", Access: web.Staff, Summary: "enter a household of the village in the contest, with photos"}, h.contestEnterStaff)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/contests/{id}/close", Access: web.Staff, Summary: "close the round under way (asks first, keeps the reason): unseal its scores, rank, send the top to the town round or put the winners on notice"}, h.contestClose)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/contests/{id}/certificates", Access: web.Staff, Summary: "the printable certificates of a contest's published winners"}, h.contestCertificates)
	a.Handle(web.Route{Method: "GET", Path: "/admin/judging", Access: web.Staff, Summary: "a judge's entries to score (我的评审), contest by contest"}, h.judgingPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/judging/{id}", Access: web.Staff, Summary: "a judge's score sheet of an entry assigned to them, with their earlier marks"}, h.judgingEntry)
	a.Handle(web.Route{Method: "POST", Path: "/admin/judging/{id}", Access: web.Staff, Summary: "score an entry assigned to the judge on each criterion, with photos at the door"}, h.judgingScore)
	a.Handle(web.Route{Method: "GET", Path: "/honours/contests", Access: web.LoggedIn, Summary: "the town's contests for a resident: enter, my entry, results"}, h.myContests)
	a.Handle(web.Route{Method: "GET", Path: "/honours/contests/{id}", Access: web.LoggedIn, Summary: "a contest for a resident: the form to enter their household, their entry, the results of closed rounds"}, h.myContest)
	a.Handle(web.Route{Method: "POST", Path: "/honours/contests/{id}/entries", Access: web.LoggedIn, Summary: "enter the resident's own household in a contest, with photos"}, h.myContestEnter)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/contests", Access: web.LoggedIn, API: true,
		Summary: "the town's contests (a judge's: those on whose panel they sit)", Response: []Contest{}}, h.apiContests)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/contests", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "start a contest (the town's bank; 201)", Request: ContestInput{}, Response: Contest{}}, h.apiContestCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/contests/{id}", Access: web.LoggedIn, API: true,
		Summary: "a contest with its criteria", Response: Contest{}}, h.apiContest)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/contests/{id}/panel", Access: web.LoggedIn, API: true,
		Summary: "the contest's panel for its organisers: each judge's progress, the entries hidden from them, the outliers of closed rounds", Response: Report{}}, h.apiContestPanel)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/contests/{id}/judges", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "name a judge login of the town to a round of the panel (201)", Request: JudgeInput{}, Response: Judge{}}, h.apiContestJudge)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/contests/{id}/entries", Access: web.LoggedIn, API: true,
		Summary: "the entries the caller may see, with results once a round is closed", Response: []Entry{}}, h.apiEntries)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/contests/{id}/entries", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "enter a household: a resident their own (no resident_id), a village's staff a resident's of their village (201)", Request: EntryInput{}, Response: Entry{}}, h.apiEnter)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/contests/{id}/scores", Access: web.LoggedIn, API: true,
		Summary: "score sheets: a judge's own; the organisers' every judge's of a closed round (sealed before)", Response: []Sheet{}}, h.apiSheets)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/contests/{id}/scores", Access: web.LoggedIn, API: true,
		Summary: "a judge scores an entry assigned to them on every criterion; a change keeps the earlier marks", Request: ScoreInput{}, Response: Sheet{}}, h.apiScore)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/contests/{id}/close", Access: web.LoggedIn, API: true,
		Summary: "close the round under way, with a reason: results, the top to the town round, or the winners on notice", Request: CloseInput{}, Response: Contest{}}, h.apiContestClose)
}

// CloseInput closes a contest's round under way, with the organiser's reason.
type CloseInput struct {
	Reason string `json:"reason"`
}

// contestHidden reports whether a refusal must be answered as it is (a page that may not be shown).
func contestHidden(err error) bool {
	return errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) || errs.Is(err, errs.Unauthorized)
}

// contestInputOf reads the contest form: the criteria are rows of criterion_name and
// criterion_weight.
func contestInputOf(f url.Values) ContestInput {
	in := ContestInput{Title: f.Get("title"), Kind: f.Get("kind"), Description: f.Get("description"), RuleCode: f.Get("rule_code"),
		Scale: contestInt(f.Get("scale")), Advance: contestInt(f.Get("advance")), Winners: contestInt(f.Get("winners"))}
	names, weights := f["criterion_name"], f["criterion_weight"]
	for i, n := range names {
		w := 0
		if i < len(weights) {
			w = contestInt(weights[i])
		}
		in.Criteria = append(in.Criteria, CriterionInput{Name: n, Weight: w})
	}
	return in
}

// contestInt reads a whole number typed in a form, -1 for anything else (refused by the service).
func contestInt(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// ---- the organisers' and villages' pages

// contestsView is the staff's list of contests and the form that starts one.
type contestsView struct {
	Contests []Contest
	Kinds    []string
	Rules    []bank.RuleChoice
	Manage   bool
	// Rows are the criteria rows of the form, as typed (six at least).
	Rows []criterionRow
}

// criterionRow is a row of the contest form's criteria, as typed.
type criterionRow struct{ Name, Weight string }

func (h *Handlers) contestsPage(w http.ResponseWriter, r *http.Request) {
	h.renderContests(w, r, nil, nil)
}

func (h *Handlers) renderContests(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	v := contestsView{Kinds: ContestKinds, Manage: manages(a, a.TownID)}
	var err error
	if v.Contests, err = h.S.Contests(ctx, a, a.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Manage {
		day, err := h.S.townToday(ctx, a.TownID)
		if err == nil {
			v.Rules, err = h.S.Bank.RulesOffered(ctx, a.TownID, 0, day)
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if f == nil {
		f = url.Values{"scale": {"10"}, "advance": {"3"}, "winners": {"10"}, "criterion_name": {"整洁", "创意", "绿化", "维护"}, "criterion_weight": {"30", "20", "30", "20"}}
	}
	weights := f["criterion_weight"]
	for i, n := range f["criterion_name"] {
		row := criterionRow{Name: n}
		if i < len(weights) {
			row.Weight = weights[i]
		}
		v.Rows = append(v.Rows, row)
	}
	for len(v.Rows) < 6 {
		v.Rows = append(v.Rows, criterionRow{})
	}
	p := h.App.NewPage(r, "honours.contest.list_title", v)
	p.Form = f
	if id := p.FlashID(); id != 0 {
		for _, c := range v.Contests {
			if c.ID == id {
				p.Flashed("flash.honours_contest_created", c.Title)
			}
		}
	}
	h.App.RenderPage(w, r, "admin_contests.html", p, ferr)
}

func (h *Handlers) contestCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	c, err := h.S.CreateContest(r.Context(), auth.From(r.Context()), 0, contestInputOf(f))
	if err != nil {
		if contestHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderContests(w, r, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/contests/%d", c.ID), "flash.honours_contest_created", 0))
}

// contestView is a contest's staff page: the contest, the entries the reader sees, and for its
// organisers the panel's progress and outliers; the villages a judge may be named for, the
// residents found to enter, and the notice of its winners.
type contestView struct {
	Contest    Contest
	Entries    []Entry
	Manage     bool
	Enter      bool
	Report     Report
	Villages   []Named
	Capacities []string
	Found      []people.Choice
	Q          string
	Notice     *Notice
}

func (h *Handlers) contestPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderContest(w, r, id, nil, nil)
}

func (h *Handlers) renderContest(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if !mayStaff(a) {
		h.App.Error(w, r, auth.Refuse(a, PermVillage))
		return
	}
	c, err := h.S.ContestByID(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := contestView{Contest: c, Manage: manages(a, c.TownID), Capacities: JudgeCapacities, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	all, vs := villageScope(a, c.TownID)
	if !v.Manage && !all && len(vs) == 0 {
		h.App.Error(w, r, notFound)
		return
	}
	v.Enter = c.Status == RoundVillage
	if v.Entries, err = h.S.Entries(ctx, a, id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if v.Manage {
		if v.Report, err = h.S.ContestReport(ctx, a, id); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Villages, err = h.S.People.TownVillages(ctx, c.TownID); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if n, err := h.S.NoticeOf(ctx, a, NoticeContest, c.ID); err == nil {
			v.Notice = &n
		} else if !errs.Is(err, errs.NotFound) {
			h.App.Error(w, r, err)
			return
		}
	}
	if v.Enter && v.Q != "" {
		var villages []int64
		if !all {
			villages = vs
		}
		if v.Found, err = h.S.People.Find(ctx, h.S.DB.Read(), c.TownID, villages, v.Q); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	p := h.App.NewPage(r, "honours.contest.title", v)
	p.Title = c.Title
	p.Form = f
	p.Flashed("flash.honours_contest_created", c.Title)
	p.Flashed("flash.honours_contest_judge", c.Title)
	p.Flashed("flash.honours_contest_entered", c.Title)
	p.Flashed("flash.honours_contest_closed", c.Title)
	h.App.RenderPage(w, r, "admin_contest.html", p, ferr)
}

// contestDone answers a contest page's form: back to the page with the outcome, or the page again
// with the refusal (a hidden record answered as it is).
func (h *Handlers) contestDone(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error, key string) {
	if err != nil {
		if contestHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderContest(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/contests/%d", id), key, 0))
}

func (h *Handlers) contestJudge(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	vid, _ := strconv.ParseInt(f.Get("village_id"), 10, 64)
	_, err := h.S.AddJudge(r.Context(), auth.From(r.Context()), id, JudgeInput{Phone: f.Get("phone"), Capacity: f.Get("capacity"), Round: f.Get("round"), VillageID: vid})
	h.contestDone(w, r, id, f, err, "flash.honours_contest_judge")
}

func (h *Handlers) contestEnterStaff(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, raw, err := web.ReadPhotoForm(w, r, bank.MaxPhotos, bank.MaxPhotoBytes)
	if err == nil {
		rid, _ := strconv.ParseInt(f.Get("resident_id"), 10, 64)
		if rid <= 0 {
			err = errs.Field("resident_id", "field.required")
		} else {
			_, err = h.S.Enter(r.Context(), auth.From(r.Context()), id, EntryInput{ResidentID: rid, Note: f.Get("note"), Photos: raw})
		}
	}
	h.contestDone(w, r, id, f, err, "flash.honours_contest_entered")
}

func (h *Handlers) contestClose(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	c, err := h.S.ContestByID(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if !manages(a, c.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	what := "honours.contest.confirm_close_village"
	if c.Status == RoundTown {
		what = "honours.contest.confirm_close_town"
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.contest.confirm_close", What: what, Args: []any{c.Title}, Back: fmt.Sprintf("/admin/honours/contests/%d", id)})
	if !ok {
		return
	}
	_, err = h.S.CloseContestRound(ctx, a, id, reason)
	h.contestDone(w, r, id, nil, err, "flash.honours_contest_closed")
}

// contestCertsView is the printable certificates page.
type contestCertsView struct {
	Certificates []Certificate
}

func (h *Handlers) contestCertificates(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	certs, err := h.S.ContestCertificates(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "contest_certificates.html", "honours.certificate.title", contestCertsView{Certificates: certs}, nil, nil)
}

// ---- a judge's pages

func (h *Handlers) judgingPage(w http.ResponseWriter, r *http.Request) {
	work, err := h.S.Judging(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_judging.html", "honours.judging.title", work, nil, nil)
}

// judgingEntryView is a judge's score sheet of an entry: the contest, the entry, their sheet.
type judgingEntryView struct {
	Contest Contest
	Entry   Entry
	Sheet   *Sheet
}

// judgingEntryOf finds an entry assigned to the judge in a round under way; anything else is
// NotFound.
func (h *Handlers) judgingEntryOf(r *http.Request, entryID int64) (judgingEntryView, error) {
	work, err := h.S.Judging(r.Context(), auth.From(r.Context()))
	if err != nil {
		return judgingEntryView{}, err
	}
	for _, wk := range work {
		for _, je := range wk.Entries {
			if je.Entry.ID == entryID {
				return judgingEntryView{Contest: wk.Contest, Entry: je.Entry, Sheet: je.Sheet}, nil
			}
		}
	}
	return judgingEntryView{}, notFound
}

func (h *Handlers) judgingEntry(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderJudgingEntry(w, r, id, nil, nil)
}

func (h *Handlers) renderJudgingEntry(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	v, err := h.judgingEntryOf(r, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		f = url.Values{}
		if v.Sheet != nil {
			for _, m := range v.Sheet.Marks {
				f.Set(fmt.Sprintf("c%d", m.CriterionID), strconv.Itoa(m.Score))
			}
			f.Set("note", v.Sheet.Note)
		}
	}
	p := h.App.NewPage(r, "honours.judging.sheet_title", v)
	p.Form = f
	p.Flashed("flash.honours_contest_scored", h.S.entryLabel(v.Entry))
	h.App.RenderPage(w, r, "admin_judging_entry.html", p, ferr)
}

func (h *Handlers) judgingScore(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	v, err := h.judgingEntryOf(r, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	f, raw, err := web.ReadPhotoForm(w, r, bank.MaxPhotos, bank.MaxPhotoBytes)
	if err == nil {
		in := ScoreInput{EntryID: id, Note: f.Get("note"), Photos: raw}
		for _, k := range v.Contest.Criteria {
			in.Marks = append(in.Marks, Mark{CriterionID: k.ID, Score: contestInt(f.Get(fmt.Sprintf("c%d", k.ID)))})
		}
		_, err = h.S.Score(r.Context(), auth.From(r.Context()), v.Contest.ID, in)
	}
	if err != nil {
		if contestHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderJudgingEntry(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/judging/%d", id), "flash.honours_contest_scored", 0))
}

// ---- a resident's pages

func (h *Handlers) myContests(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Contests(r.Context(), auth.From(r.Context()), 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "contests.html", "honours.contest.my_title", list, nil, nil)
}

// myContestView is a resident's page of a contest: the contest, their entry, the entries with
// results once a round is closed.
type myContestView struct {
	Contest  Contest
	Mine     *Entry
	Results  []Entry
	Resident bool
}

func (h *Handlers) myContest(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderMyContest(w, r, id, nil, nil)
}

func (h *Handlers) renderMyContest(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	c, err := h.S.ContestByID(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	entries, err := h.S.Entries(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := myContestView{Contest: c, Resident: auth.MayAnywhere(a, PermJoin) == nil}
	for i, e := range entries {
		if e.Mine {
			v.Mine = &entries[i]
		}
		if len(e.Results) > 0 {
			v.Results = append(v.Results, e)
		}
	}
	p := h.App.NewPage(r, "honours.contest.title", v)
	p.Title = c.Title
	p.Form = f
	p.Flashed("flash.honours_contest_my_entry", c.Title)
	h.App.RenderPage(w, r, "contest.html", p, ferr)
}

func (h *Handlers) myContestEnter(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, raw, err := web.ReadPhotoForm(w, r, bank.MaxPhotos, bank.MaxPhotoBytes)
	if err == nil {
		_, err = h.S.Enter(r.Context(), auth.From(r.Context()), id, EntryInput{Note: f.Get("note"), Photos: raw})
	}
	if err != nil {
		if contestHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderMyContest(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/honours/contests/%d", id), "flash.honours_contest_my_entry", 0))
}

// ---- API

func (h *Handlers) apiContests(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Contests(r.Context(), auth.From(r.Context()), 0)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiContestCreate(w http.ResponseWriter, r *http.Request) {
	var in ContestInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.CreateContest(r.Context(), auth.From(r.Context()), 0, in)
	h.App.Reply(w, r, http.StatusCreated, c, err)
}

func (h *Handlers) apiContest(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	c, err := h.S.ContestByID(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, c, err)
}

func (h *Handlers) apiContestPanel(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	rep, err := h.S.ContestReport(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, rep, err)
}

func (h *Handlers) apiContestJudge(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in JudgeInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	j, err := h.S.AddJudge(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusCreated, j, err)
}

func (h *Handlers) apiEntries(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	list, err := h.S.Entries(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiEnter(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in EntryInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	e, err := h.S.Enter(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusCreated, e, err)
}

func (h *Handlers) apiSheets(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	list, err := h.S.Sheets(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiScore(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ScoreInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	sh, err := h.S.Score(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, sh, err)
}

func (h *Handlers) apiContestClose(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in CloseInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	c, err := h.S.CloseContestRound(r.Context(), auth.From(r.Context()), id, in.Reason)
	h.App.Reply(w, r, http.StatusOK, c, err)
}
