package bank

import (
	"context"
	"net/http"
	"siwei/internal/clock"
	"time"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// AwardResponse is an award as the API answers it: posted (201, or 200 for a replayed key), or
// put on public notice first (202) with the pending claim.
type AwardResponse struct {
	TransactionID int64  `json:"transaction_id"`
	Balance       int64  `json:"balance"`
	Replayed      bool   `json:"replayed"`
	Status        string `json:"status"` // posted or pending
	Pending       *Claim `json:"pending,omitempty"`
}

// RankingsResponse is a ranking board: by resident, household or village, for a period written as
// 2026-11, 2026-Q4 or 2026.
type RankingsResponse struct {
	By     string    `json:"by"`
	Period string    `json:"period"`
	AsOf   time.Time `json:"as_of"` // when the sums were read (at most BoardFreshness ago)
	Items  []Ranked  `json:"items"`
}

func (h *Handlers) registerAPI() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/rules", Access: web.LoggedIn,
		Summary: "rules in force for the caller's class and village (staff: resident_id)", Response: []Rule{}}, h.apiRules)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/items", Access: web.LoggedIn,
		Summary: "shop items with the stock of the caller's village store (staff: village_id)", Response: []Item{}}, h.apiItems)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/accounts/{resident_id}", Access: web.LoggedIn,
		Summary: "a resident's balance and lifetime earnings", Response: Balance{}}, h.apiAccount)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/accounts/{resident_id}/entries", Access: web.LoggedIn,
		Summary: "a resident's statement, newest first (before, from, to as YYYY-MM-DD in the town's zone, limit)", Response: []Line{}}, h.apiEntries)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/awards", Statuses: []int{http.StatusCreated, http.StatusAccepted, http.StatusOK}, Access: web.LoggedIn,
		Summary: "award points under a rule: 201 posted, 202 put on public notice, 200 a replayed key; 409 when the resident was awarded under the rule in the last 24 hours, unless confirm_duplicate", Request: AwardInput{}, Response: AwardResponse{}}, h.apiAward)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/redemptions", Statuses: []int{http.StatusCreated, http.StatusOK}, Access: web.LoggedIn,
		Summary: "redeem points for a shop item (the caller's own points)", Request: RedeemInput{}, Response: Redemption{}}, h.apiRedeem)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/redemptions/{id}/cancel", Access: web.LoggedIn,
		Summary: "cancel an order not yet handed over and refund its points (answers 200)", Response: Redemption{}}, h.apiCancel)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/redemptions/{id}/fulfil", Access: web.LoggedIn,
		Summary: "hand over an order at the counter (shop staff; answers 200)", Response: Redemption{}}, h.apiFulfil)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/bank/reversals", Statuses: []int{http.StatusCreated, http.StatusOK}, Access: web.LoggedIn,
		Summary: "reverse a transaction with a reason (201; 200 when replayed)", Request: ReverseInput{}, Response: Posted{}}, h.apiReverse)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/rankings", Access: web.LoggedIn,
		Summary: "rankings of the caller's town (by=resident|household|village, period=2026-11|2026-Q4|2026)", Response: RankingsResponse{}}, h.apiRankings)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/bank/figures", Access: web.Staff,
		Summary: "points issued, redeemed, refunded and outstanding per village (town_id)", Response: []Figures{}}, h.apiFigures)
}

// townOf is the town a request is about: ?town_id= or the caller's own.
func townOf(r *http.Request) int64 {
	if id := web.QueryInt(r, "town_id"); id != 0 {
		return id
	}
	return auth.From(r.Context()).TownID
}

// town is a town record for its zone and calendar. An unknown town (a district admin has none of
// their own) is a town in the default zone, so that its pages still have a calendar.
func (h *Handlers) town(ctx context.Context, id int64) (people.Town, error) {
	t, err := h.S.People.Town(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return people.Town{}, nil
	}
	return t, err
}

// subject is the resident a request is about: ?resident_id= (checked by the registry's own
// permission rule), or the caller themself.
func subject(r *http.Request) (int64, error) {
	if id := web.QueryInt(r, "resident_id"); id != 0 {
		return id, nil
	}
	if self := auth.From(r.Context()).Self(); self != 0 {
		return self, nil
	}
	return 0, errs.New(errs.NotFound, "people.no_resident_record")
}

// rulesFor lists the rules in force today for a resident the actor may see, with the resident and
// their class.
func (h *Handlers) rulesFor(ctx context.Context, a *auth.Actor, residentID int64) (people.Resident, people.MemberClass, []Rule, error) {
	res, err := h.S.People.Resident(ctx, a, residentID)
	if err != nil {
		return res, "", nil, err
	}
	town, err := h.town(ctx, res.TownID)
	if err != nil {
		return res, "", nil, err
	}
	today := town.Clock(h.S.Now).Today()
	class := res.Class(today)
	rules, err := h.S.RulesInForce(ctx, res.TownID, res.VillageID, class, clock.Day(today))
	return res, class, rules, err
}

// storeOf is the village whose store a request asks about: ?village_id= for staff who may see
// that village, else the caller's own village, else the first village of a village-scoped grant.
func (h *Handlers) storeOf(r *http.Request) (int64, error) {
	ctx, a := r.Context(), auth.From(r.Context())
	if id := web.QueryInt(r, "village_id"); id != 0 {
		_, err := h.S.Villages(ctx, a, web.QueryInt(r, "town_id"), auth.VillageRead, id)
		return id, err
	}
	if self := a.Self(); self != 0 {
		res, err := h.S.People.Resident(ctx, a, self)
		return res.VillageID, err
	}
	for _, g := range a.Grants {
		if g.Role.VillageScoped() && g.VillageID != 0 {
			return g.VillageID, nil
		}
	}
	return 0, nil
}

func (h *Handlers) apiRules(w http.ResponseWriter, r *http.Request) {
	id, err := subject(r)
	if err == nil {
		var rules []Rule
		if _, _, rules, err = h.rulesFor(r.Context(), auth.From(r.Context()), id); err == nil {
			web.JSON(w, http.StatusOK, nonNil(rules))
			return
		}
	}
	h.App.Error(w, r, err)
}

func (h *Handlers) apiItems(w http.ResponseWriter, r *http.Request) {
	if err := h.S.SeesTown(auth.From(r.Context()), townOf(r)); err != nil {
		h.App.Error(w, r, err)
		return
	}
	village, err := h.storeOf(r)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	items, err := h.S.Items(r.Context(), townOf(r), village)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, nonNil(items))
}

func (h *Handlers) apiAccount(w http.ResponseWriter, r *http.Request) {
	id, err := web.ID(r, "resident_id")
	if err == nil {
		var b Balance
		if b, err = h.S.Account(r.Context(), auth.From(r.Context()), id); err == nil {
			web.JSON(w, http.StatusOK, b)
			return
		}
	}
	h.App.Error(w, r, err)
}

func (h *Handlers) apiEntries(w http.ResponseWriter, r *http.Request) {
	id, err := web.ID(r, "resident_id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	a := auth.From(r.Context())
	town, err := h.town(r.Context(), a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	loc := town.Location()
	q := r.URL.Query()
	f := StatementFilter{Before: web.QueryInt(r, "before"), Limit: int(web.QueryInt(r, "limit"))}
	var ferr errs.Fields
	var ok bool
	if f.From, ok = clock.ParseDay(q.Get("from"), loc); !ok {
		ferr.Add("from", "people.date_invalid")
	}
	if f.To, ok = clock.ParseDay(q.Get("to"), loc); !ok {
		ferr.Add("to", "people.date_invalid")
	} else if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // to is inclusive
	}
	if err := ferr.Err(); err != nil {
		h.App.Error(w, r, err)
		return
	}
	lines, err := h.S.Statement(r.Context(), a, id, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, nonNil(lines))
}

func (h *Handlers) apiAward(w http.ResponseWriter, r *http.Request) {
	var in AwardInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	res, err := h.S.Award(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	out := AwardResponse{TransactionID: res.TransactionID, Balance: res.Balance, Replayed: res.Replayed, Status: "posted", Pending: res.Pending}
	switch {
	case res.Pending != nil:
		out.Status = "pending"
		web.JSON(w, http.StatusAccepted, out)
	case res.Replayed:
		web.JSON(w, http.StatusOK, out)
	default:
		web.JSON(w, http.StatusCreated, out)
	}
}

func (h *Handlers) apiRedeem(w http.ResponseWriter, r *http.Request) {
	var in RedeemInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	red, err := h.S.Redeem(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	// A replayed key answers the first record, with 200.
	web.JSON(w, web.Created(red.Replayed), red)
}

func (h *Handlers) apiCancel(w http.ResponseWriter, r *http.Request) {
	h.apiOrder(w, r, h.S.CancelRedemption)
}

func (h *Handlers) apiFulfil(w http.ResponseWriter, r *http.Request) {
	h.apiOrder(w, r, h.S.Fulfil)
}

// apiOrder runs one action on the order named in the path and answers the order.
func (h *Handlers) apiOrder(w http.ResponseWriter, r *http.Request, act func(context.Context, *auth.Actor, int64) (Redemption, error)) {
	id, err := web.ID(r, "id")
	if err == nil {
		var red Redemption
		if red, err = act(r.Context(), auth.From(r.Context()), id); err == nil {
			web.JSON(w, http.StatusOK, red)
			return
		}
	}
	h.App.Error(w, r, err)
}

func (h *Handlers) apiReverse(w http.ResponseWriter, r *http.Request) {
	var in ReverseInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	p, err := h.S.Reverse(r.Context(), auth.From(r.Context()), in)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	// A replayed key answers the first record, with 200.
	web.JSON(w, web.Created(p.Replayed), p)
}

func (h *Handlers) apiRankings(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	q := r.URL.Query()
	by, period := q.Get("by"), q.Get("period")
	if by == "" {
		by = "resident"
	}
	if period == "" {
		town, err := h.town(r.Context(), a.TownID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		period = town.Clock(h.S.Now).Month()
	}
	items, asOf, err := h.S.Board(r.Context(), a.TownID, by, period, int(web.QueryInt(r, "limit")))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, RankingsResponse{By: by, Period: period, AsOf: asOf, Items: nonNil(items)})
}

func (h *Handlers) apiFigures(w http.ResponseWriter, r *http.Request) {
	figs, err := h.S.TownFigures(r.Context(), auth.From(r.Context()), townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, nonNil(figs))
}

// idBody is the record named by the path's {id} and the JSON body about it, decoded into v; ok is
// false when the answer has been sent.
func (h *Handlers) idBody(w http.ResponseWriter, r *http.Request, v any) (int64, bool) {
	id, err := web.ID(r, "id")
	if err == nil {
		err = web.Decode(r, v)
	}
	if err != nil {
		h.App.Error(w, r, err)
		return 0, false
	}
	return id, true
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
