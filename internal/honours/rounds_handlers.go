package honours

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// registerRounds adds the pages and API of evaluation rounds (群众评议): the town's list, form and
// round page (opening, panel scores, anomalies beside the result, voiding, closing), a resident's
// list and voting page (in office mode, a villager's at the office), and the API.
func (h *Handlers) registerRounds() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/rounds", Access: web.Staff, Summary: "the evaluation rounds the caller sees as staff, with voters and open anomalies"}, h.adminRounds)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/rounds/new", Access: web.Staff, Summary: "the form to make an evaluation round of admitted nominations (the town's staff)"}, h.newRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/rounds", Access: web.Staff, Summary: "make an evaluation round (a draft)"}, h.createRound)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/rounds/{id}", Access: web.Staff, Summary: "a round for staff: nominees, turnout, the tally once voting is over, anomalies beside it, and a flag's votes"}, h.adminRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/rounds/{id}/open", Access: web.Staff, Summary: "open a draft round for votes"}, h.openRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/rounds/{id}/cancel", Access: web.Staff, Summary: "cancel a round with a reason (asks first)"}, h.cancelRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/rounds/{id}/close", Access: web.Staff, Summary: "close a round whose period is over: count, choose, put the chosen on notice (asks first)"}, h.closeRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/rounds/{id}/check", Access: web.Staff, Summary: "run the anomaly rules over a round's votes now"}, h.checkRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/rounds/{id}/scores", Access: web.Staff, Summary: "the caller's panel scores of a round's nominees (rule panel_votes)"}, h.scoreRound)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/anomalies/{id}/review", Access: web.Staff, Summary: "review an anomaly with a note"}, h.reviewFlag)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/votes/{id}/void", Access: web.Staff, Summary: "void a vote with a reason; the voter is told (asks first)"}, h.voidVote)

	a.Handle(web.Route{Method: "GET", Path: "/honours/rounds", Access: web.LoggedIn, Summary: "a resident's evaluation rounds: open for votes, and results on notice"}, h.myRounds)
	a.Handle(web.Route{Method: "GET", Path: "/honours/rounds/{id}", Access: web.LoggedIn, Summary: "a round's voting page on a phone: the nominees, one's votes, and the result once on notice"}, h.roundPage)
	a.Handle(web.Route{Method: "POST", Path: "/honours/rounds/{id}/votes", Access: web.LoggedIn, Summary: "vote for a nominee (in office mode, for the villager at the office)"}, h.vote)
	a.Handle(web.Route{Method: "POST", Path: "/honours/rounds/{id}/votes/{nomination}/withdraw", Access: web.LoggedIn, Summary: "take back one's vote for a nominee while the round takes votes"}, h.withdraw)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/rounds", Access: web.LoggedIn, API: true,
		Summary: "the rounds the caller sees as staff (status), or for a resident those open to them and on notice", Response: []Round{}}, h.apiRounds)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds", Access: web.LoggedIn, API: true,
		Summary: "make an evaluation round of admitted nominations (the town's staff); days are the town's calendar", Request: RoundInput{}, Response: RoundDetail{}, Statuses: []int{http.StatusCreated}}, h.apiCreateRound)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/rounds/{id}", Access: web.LoggedIn, API: true,
		Summary: "a round as the caller may see it (the tally only once voting is over)", Response: RoundDetail{}}, h.apiRound)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds/{id}/open", Access: web.LoggedIn, API: true,
		Summary: "open a draft round for votes", Response: RoundDetail{}}, h.apiOpenRound)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds/{id}/cancel", Access: web.LoggedIn, API: true,
		Summary: "cancel a round with a reason", Request: RoundReason{}, Response: RoundDetail{}}, h.apiCancelRound)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds/{id}/close", Access: web.LoggedIn, API: true,
		Summary: "close a round whose period is over and no anomaly is open: count, choose, and put the chosen on notice", Response: RoundDetail{}}, h.apiCloseRound)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds/{id}/check", Access: web.LoggedIn, API: true,
		Summary: "run the anomaly rules over a round's votes now; answers its flags", Response: []VoteFlag{}}, h.apiCheckRound)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds/{id}/scores", Access: web.LoggedIn, API: true,
		Summary: "the caller's panel scores (0–100) of a round's nominees", Request: ScoresInput{}, Response: RoundDetail{}}, h.apiScores)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/rounds/{id}/votes", Access: web.LoggedIn, API: true,
		Summary: "a round's votes for the town's staff, or those an anomaly concerns (flag_id)", Response: []Vote{}}, h.apiVotes)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/rounds/{id}/votes", Access: web.LoggedIn, API: true,
		Summary: "vote for a nominee; the same vote again answers the first (200)", Request: VoteInput{}, Response: VoteAnswer{}, Statuses: []int{http.StatusCreated, http.StatusOK}}, h.apiVote)
	a.Handle(web.Route{Method: "DELETE", Path: "/api/v1/honours/rounds/{id}/votes/{nomination}", Access: web.LoggedIn, API: true,
		Summary: "take back one's vote for a nominee while the round takes votes", Response: VoteAnswer{}}, h.apiWithdrawVote)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/anomalies/{id}/review", Access: web.LoggedIn, API: true,
		Summary: "review an anomaly with a note", Request: FlagNote{}, Response: VoteFlag{}}, h.apiReviewFlag)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/votes/{id}/void", Access: web.LoggedIn, API: true,
		Summary: "void a vote of an open round with a reason; it stays, no longer counted, and the voter is told", Request: RoundReason{}, Response: Vote{}}, h.apiVoidVote)
}

// RoundReason is the reason of an irreversible action.
type RoundReason struct {
	Reason string `json:"reason"`
}

// FlagNote is the town's note on an anomaly.
type FlagNote struct {
	Note string `json:"note"`
}

// ScoresInput are a panel member's scores by nomination.
type ScoresInput struct {
	Scores map[int64]int `json:"scores"`
}

// hidden reports whether an error is one a page shows as such rather than on its form.
func roundHidden(err error) bool {
	e, ok := errs.As(err)
	return !ok || e.Code == errs.NotFound || e.Code == errs.Forbidden || e.Code == errs.Unauthorized
}

// ---- the staff's pages

// roundsView is the staff's list of rounds.
type roundsView struct {
	Rounds   []Round
	Manages  bool
	Status   string
	Statuses []string
}

func (h *Handlers) adminRounds(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	f := RoundFilter{Status: r.URL.Query().Get("status")}
	list, err := h.S.Rounds(r.Context(), a, 0, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_honours_rounds.html", "honours.round.list_title", roundsView{Rounds: list, Manages: manages(a, a.TownID), Status: f.Status, Statuses: RoundStatuses}, nil, nil)
}

// roundFormView is the form of a new round with its pickers.
type roundFormView struct {
	Villages    []Named
	Nominations []Admissible
	Rules       []string
	Found       []people.Choice
	PayRules    []bank.RuleChoice
	Picked      []int64
	Voters      []int64
}

func (h *Handlers) roundForm(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	ns, err := h.S.AdmissibleNominations(ctx, a, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, err := h.S.townVillages(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if f == nil {
		year := h.S.Now().Year()
		f = url.Values{"rule": {RuleVotes}, "seats": {"3"}, "votes_per_voter": {"3"}, "year": {fmt.Sprint(year)}}
	}
	v := roundFormView{Villages: vs, Nominations: ns, Rules: RoundRules, Picked: roundFormIDs(f["nomination_ids"]), Voters: roundFormIDs(f["voter_ids"])}
	if v.PayRules, err = h.S.Bank.RulesOffered(ctx, a.TownID, web.FormID(f.Get("village_id")), h.S.Now().Format("2006-01-02")); err != nil {
		h.App.Error(w, r, err)
		return
	}
	// The representatives' picker: those already picked stay listed beside what the search finds.
	if village := web.FormID(f.Get("village_id")); village != 0 {
		if word := strings.TrimSpace(f.Get("voter_q")); word != "" {
			if v.Found, err = h.S.findResidents(ctx, h.S.DB.Read(), a.TownID, []int64{village}, word); err != nil {
				h.App.Error(w, r, err)
				return
			}
		}
		for _, id := range v.Voters {
			if !slices.ContainsFunc(v.Found, func(c people.Choice) bool { return c.ID == id }) {
				var c people.Choice
				if err := h.S.DB.Read().QueryRowContext(ctx, `SELECT id, name FROM residents WHERE id = $1 AND village_id = $2`, id, village).Scan(&c.ID, &c.Name); err == nil {
					v.Found = append(v.Found, c)
				}
			}
		}
	}
	h.App.RenderForm(w, r, "admin_honours_round_form.html", "honours.round.new_title", v, f, ferr)
}

func (h *Handlers) newRound(w http.ResponseWriter, r *http.Request) {
	var f url.Values
	if r.URL.Query().Has("title") { // the representatives' search sends the form back here
		f = r.URL.Query()
	}
	h.roundForm(w, r, f, nil)
}

func roundFormIDs(vals []string) []int64 {
	var out []int64
	for _, v := range vals {
		if id := web.FormID(v); id > 0 {
			out = append(out, id)
		}
	}
	return out
}

// roundInputOf reads a round's form.
func roundInputOf(f url.Values) RoundInput {
	return RoundInput{VillageID: web.FormID(f.Get("village_id")), Title: f.Get("title"), Year: web.FormInt(f.Get("year")), OpensOn: f.Get("opens_on"), ClosesOn: f.Get("closes_on"),
		NominationIDs: roundFormIDs(f["nomination_ids"]), Seats: web.FormInt(f.Get("seats")), VotesPerVoter: web.FormInt(f.Get("votes_per_voter")), Rule: f.Get("rule"),
		PanelWeight: web.FormInt(f.Get("panel_weight")), VoterIDs: roundFormIDs(f["voter_ids"]), RuleCode: f.Get("rule_code")}
}

func (h *Handlers) createRound(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	d, err := h.S.CreateRound(r.Context(), auth.From(r.Context()), roundInputOf(f))
	if err != nil {
		if !roundHidden(err) || errs.Is(err, errs.NotFound) && len(roundErr(err).Fields) > 0 {
			h.roundForm(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/rounds/%d", d.ID), "flash.honours_round_created", 0))
}

func roundErr(err error) *errs.Error {
	e, _ := errs.As(err)
	if e == nil {
		return &errs.Error{}
	}
	return e
}

// roundPageView is the staff's page of a round.
type roundPageView struct {
	RoundDetail
	Flag  VoteFlag
	Votes []Vote
	Rules []string
}

func (h *Handlers) adminRound(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderRound(w, r, id, web.QueryInt(r, "flag"), nil, nil)
}

func (h *Handlers) renderRound(w http.ResponseWriter, r *http.Request, id, flagID int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.RoundDetail(ctx, a, id)
	if err == nil && !d.Staff {
		err = errs.New(errs.Forbidden, "error.forbidden") // a resident has their own page
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := roundPageView{RoundDetail: d, Rules: FlagRules}
	if flagID != 0 && d.Manages {
		for _, g := range d.Flags {
			if g.ID == flagID {
				v.Flag = g
			}
		}
		if v.Flag.ID != 0 {
			if v.Votes, err = h.S.RoundVotes(ctx, a, id, flagID); err != nil {
				h.App.Error(w, r, err)
				return
			}
		}
	}
	p := h.App.NewPage(r, "honours.round.title", v)
	p.Title = d.Title
	p.Form = f
	p.Flashed("flash.honours_round_created", d.Title)
	p.Flashed("flash.honours_round_opened", d.Title)
	p.Flashed("flash.honours_round_cancelled", d.Title)
	p.Flashed("flash.honours_round_closed", d.Title)
	p.Flashed("flash.honours_round_checked", d.OpenFlags)
	p.Flashed("flash.honours_round_scored", d.Title)
	p.Flashed("flash.honours_anomaly_reviewed")
	p.Flashed("flash.honours_vote_voided")
	h.App.RenderPage(w, r, "admin_honours_round.html", p, ferr)
}

// roundPost reads a staff page's form and its record's id; ok false when the answer was sent.
func (h *Handlers) roundPost(w http.ResponseWriter, r *http.Request) (int64, url.Values, bool) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return 0, nil, false
	}
	f, ok := h.App.Form(w, r)
	return id, f, ok
}

// roundDone redirects to the staff page of a round with the outcome, or shows it with the refusal.
func (h *Handlers) roundDone(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error, anchor, key string) {
	if err != nil {
		if roundHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderRound(w, r, id, web.FormID(f.Get("flag")), f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/rounds/%d", id)+anchor, key, 0))
}

func (h *Handlers) openRound(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.OpenRound(r.Context(), auth.From(r.Context()), id)
	h.roundDone(w, r, id, f, err, "", "flash.honours_round_opened")
}

func (h *Handlers) cancelRound(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	rd, err := h.S.managedRound(ctx, h.S.DB.Read(), a, id, "")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.round.cancel_title", What: "honours.round.cancel_what", Args: []any{rd.Title},
		Back: fmt.Sprintf("/admin/honours/rounds/%d", id)})
	if !ok {
		return
	}
	_, err = h.S.CancelRound(ctx, a, id, reason)
	h.roundDone(w, r, id, f, err, "", "flash.honours_round_cancelled")
}

func (h *Handlers) closeRound(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	rd, err := h.S.managedRound(ctx, h.S.DB.Read(), a, id, "")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if _, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.round.close_title", What: "honours.round.close_what", Args: []any{rd.Title, rd.Seats},
		Back: fmt.Sprintf("/admin/honours/rounds/%d", id), NoReason: true}); !ok {
		return
	}
	_, err = h.S.CloseRound(ctx, a, id)
	h.roundDone(w, r, id, f, err, "", "flash.honours_round_closed")
}

func (h *Handlers) checkRound(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.CheckRound(r.Context(), auth.From(r.Context()), id)
	h.roundDone(w, r, id, f, err, "#flags", "flash.honours_round_checked")
}

func (h *Handlers) scoreRound(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	scores := map[int64]int{}
	for k, vals := range f {
		if nid := web.FormID(strings.TrimPrefix(k, "score_")); strings.HasPrefix(k, "score_") && nid > 0 && len(vals) > 0 && strings.TrimSpace(vals[0]) != "" {
			scores[nid] = web.FormInt(vals[0])
			if strings.TrimSpace(vals[0]) != fmt.Sprint(scores[nid]) {
				scores[nid] = -1 // refused on its field
			}
		}
	}
	_, err := h.S.SetPanelScores(r.Context(), auth.From(r.Context()), id, scores)
	h.roundDone(w, r, id, f, err, "#panel", "flash.honours_round_scored")
}

// flagRound is the round of an anomaly, for the pages that act on it.
func (h *Handlers) flagRound(r *http.Request, flagID int64) int64 {
	var id int64
	h.S.DB.Read().QueryRowContext(r.Context(), `SELECT round_id FROM honours_vote_flags WHERE id = $1`, flagID).Scan(&id)
	return id
}

func (h *Handlers) reviewFlag(w http.ResponseWriter, r *http.Request) {
	flagID, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.ReviewFlag(r.Context(), auth.From(r.Context()), flagID, f.Get("note"))
	id := h.flagRound(r, flagID)
	if id == 0 && err == nil {
		err = notFound
	}
	f.Set("flag", fmt.Sprint(flagID))
	h.roundDone(w, r, id, f, err, "#flags", "flash.honours_anomaly_reviewed")
}

func (h *Handlers) voidVote(w http.ResponseWriter, r *http.Request) {
	voteID, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	var roundID int64
	var voter, nominee string
	err := h.S.DB.Read().QueryRowContext(ctx, `SELECT x.round_id, vp.name, np.name FROM honours_votes x JOIN residents vp ON vp.id = x.voter_id
		JOIN honours_nominations n ON n.id = x.nomination_id JOIN residents np ON np.id = n.resident_id WHERE x.id = $1`, voteID).Scan(&roundID, &voter, &nominee)
	if err != nil {
		roundID = 0
	}
	if _, err := h.S.managedRound(ctx, h.S.DB.Read(), a, roundID, ""); err != nil {
		h.App.Error(w, r, err)
		return
	}
	back := fmt.Sprintf("/admin/honours/rounds/%d", roundID)
	if flag := web.FormID(f.Get("flag")); flag != 0 {
		back += fmt.Sprintf("?flag=%d", flag)
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "honours.vote.void_title", What: "honours.vote.void_what", Args: []any{voter, nominee}, Back: back})
	if !ok {
		return
	}
	_, err = h.S.VoidVote(ctx, a, voteID, reason)
	anchor := "#flags"
	if flag := web.FormID(f.Get("flag")); flag != 0 && err == nil {
		web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/rounds/%d?flag=%d", roundID, flag), "flash.honours_vote_voided", 0))
		return
	}
	h.roundDone(w, r, roundID, f, err, anchor, "flash.honours_vote_voided")
}

// ---- a resident's pages

// voteCookie is the vote pages' long-lived device cookie: a random id the browser keeps, of which
// the votes keep a keyed hash only, for the anomaly rules.
const voteCookie = "siwei_vote_device"

// deviceOf is the browser's vote device id, given to it now when it has none.
func (h *Handlers) deviceOf(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(voteCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	if auth.From(r.Context()).API {
		return "" // an API client keeps no cookie: its votes carry the address only
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: voteCookie, Value: id, Path: "/honours/rounds", Expires: time.Now().AddDate(2, 0, 0), HttpOnly: true,
		Secure: h.App.HTTPS(r), SameSite: http.SameSiteLaxMode})
	return id
}

func (h *Handlers) clientOf(w http.ResponseWriter, r *http.Request) VoteClient {
	return VoteClient{Device: h.deviceOf(w, r), Addr: web.ClientAddr(r, web.TrustProxy)}
}

func (h *Handlers) myRounds(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.MyRounds(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_rounds.html", "honours.round.my_title", list, nil, nil)
}

func (h *Handlers) roundPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.deviceOf(w, r)
	h.renderRoundPage(w, r, id, nil)
}

func (h *Handlers) renderRoundPage(w http.ResponseWriter, r *http.Request, id int64, ferr error) {
	d, err := h.S.RoundDetail(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "honours.round.title", d)
	p.Title = d.Title
	p.Flashed("flash.honours_voted", d.VotesLeft)
	p.Flashed("flash.honours_vote_withdrawn", d.VotesLeft)
	h.App.RenderPage(w, r, "honours_round.html", p, ferr)
}

// voteDone redirects to the voting page with the outcome, or shows it with the refusal.
func (h *Handlers) voteDone(w http.ResponseWriter, r *http.Request, id int64, err error, key string) {
	if err != nil {
		if roundHidden(err) {
			h.App.Error(w, r, err)
			return
		}
		h.renderRoundPage(w, r, id, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/honours/rounds/%d", id), key, 0))
}

func (h *Handlers) vote(w http.ResponseWriter, r *http.Request) {
	id, f, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	_, err := h.S.CastVote(r.Context(), auth.From(r.Context()), id, VoteInput{NominationID: web.FormID(f.Get("nomination_id"))}, h.clientOf(w, r))
	h.voteDone(w, r, id, err, "flash.honours_voted")
}

func (h *Handlers) withdraw(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.roundPost(w, r)
	if !ok {
		return
	}
	nom, err := web.ID(r, "nomination")
	if err == nil {
		_, err = h.S.WithdrawVote(r.Context(), auth.From(r.Context()), id, nom)
	}
	h.voteDone(w, r, id, err, "flash.honours_vote_withdrawn")
}

// ---- the API

func (h *Handlers) apiRounds(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	town := townOf(a, web.QueryInt(r, "town_id"))
	if all, vs := villageScope(a, town); (all || len(vs) > 0) && a.ActingFor == nil {
		list, err := h.S.Rounds(ctx, a, town, RoundFilter{Status: r.URL.Query().Get("status")})
		h.App.Reply(w, r, http.StatusOK, list, err)
		return
	}
	list, err := h.S.MyRounds(ctx, a)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateRound(w http.ResponseWriter, r *http.Request) {
	var in RoundInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CreateRound(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, d, err)
}

func (h *Handlers) apiRound(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.RoundDetail(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiOpenRound(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.OpenRound(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiCancelRound(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in RoundReason
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CancelRound(r.Context(), auth.From(r.Context()), id, in.Reason)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiCloseRound(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.CloseRound(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiCheckRound(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	fs, err := h.S.CheckRound(r.Context(), auth.From(r.Context()), id)
	if fs == nil {
		fs = []VoteFlag{}
	}
	h.App.Reply(w, r, http.StatusOK, fs, err)
}

func (h *Handlers) apiScores(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in ScoresInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.SetPanelScores(r.Context(), auth.From(r.Context()), id, in.Scores)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiVotes(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	vs, err := h.S.RoundVotes(r.Context(), auth.From(r.Context()), id, web.QueryInt(r, "flag_id"))
	h.App.Reply(w, r, http.StatusOK, vs, err)
}

func (h *Handlers) apiVote(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in VoteInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	ans, err := h.S.CastVote(r.Context(), auth.From(r.Context()), id, in, h.clientOf(w, r))
	h.App.Reply(w, r, web.Created(ans.Replayed), ans, err)
}

func (h *Handlers) apiWithdrawVote(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	nom, err := web.ID(r, "nomination")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	ans, err := h.S.WithdrawVote(r.Context(), auth.From(r.Context()), id, nom)
	h.App.Reply(w, r, http.StatusOK, ans, err)
}

func (h *Handlers) apiReviewFlag(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in FlagNote
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	f, err := h.S.ReviewFlag(r.Context(), auth.From(r.Context()), id, in.Note)
	h.App.Reply(w, r, http.StatusOK, f, err)
}

func (h *Handlers) apiVoidVote(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in RoundReason
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	v, err := h.S.VoidVote(r.Context(), auth.From(r.Context()), id, in.Reason)
	h.App.Reply(w, r, http.StatusOK, v, err)
}
