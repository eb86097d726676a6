package volunteer

import (
	"cmp"
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// PostDetail is a post with its shifts: the roster for its leaders, the shifts still to come (with
// the caller's own sign-ups) for residents.
type PostDetail struct {
	Post   Post    `json:"post"`
	Shifts []Shift `json:"shifts"`
}

// ShiftsInput adds shifts to a post.
type ShiftsInput struct {
	Shifts []ShiftInput `json:"shifts"`
	Repeat *Repeat      `json:"repeat,omitempty"`
}

// Created counts what a request created.
type Created struct {
	Created int `json:"created"`
}

// MessageInput is a message from a leader to everyone on a shift.
type MessageInput struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Sent counts the messages sent.
type Sent struct {
	Sent int `json:"sent"`
}

func (h *Handlers) registerAPI() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/posts", Access: web.LoggedIn,
		Summary: "posts: for residents the open posts open to them; for staff their villages' (village_id, status, kind)", Response: []Post{}}, h.apiPosts)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/posts", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "publish a post with shifts or a weekly pattern (team leaders, village and town staff; 201)", Request: PostInput{}, Response: Post{}}, h.apiCreatePost)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/posts/{id}", Access: web.LoggedIn,
		Summary: "a post with its roster (leaders) or its shifts to come (residents)", Response: PostDetail{}}, h.apiPost)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/posts/{id}/shifts", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "add shifts to an open post (201)", Request: ShiftsInput{}, Response: Created{}}, h.apiAddShifts)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/posts/{id}/close", Access: web.LoggedIn,
		Summary: "close a post to sign-ups (200)", Response: Post{}}, h.apiClosePost)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/shifts/{id}", Access: web.LoggedIn,
		Summary: "a shift: with its sign-ups for leaders, with the caller's own for residents", Response: Shift{}}, h.apiShift)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/shifts/{id}/signups", Statuses: []int{http.StatusCreated, http.StatusOK}, Access: web.LoggedIn,
		Summary: "sign up for a shift: a place (confirmed) or the waiting line (waiting); 201, or 200 when already signed up", Response: Signup{}}, h.apiSignUp)
	a.Handle(web.Route{Method: "DELETE", Path: "/api/v1/volunteer/shifts/{id}/signups/me", Statuses: []int{http.StatusNoContent}, Access: web.LoggedIn,
		Summary: "cancel my sign-up before the cut-off; the first waiting takes the place (204)"}, h.apiCancel)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/shifts/{id}/checkins", Access: web.LoggedIn,
		Summary: "leader: check a volunteer in or out, or confirm their scans; volunteer: scan the shift's QR (token) (200)", Request: CheckinInput{}, Response: Signup{}}, h.apiCheckin)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/shifts/{id}/complete", Access: web.LoggedIn,
		Summary: "confirm a shift complete: hours recorded, each volunteer paid once through the bank (200)", Response: CompleteResult{}}, h.apiComplete)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/shifts/{id}/messages", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "send an in-app message to everyone on a shift (201)", Request: MessageInput{}, Response: Sent{}}, h.apiMessage)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/me", Access: web.LoggedIn,
		Summary: "my volunteer registration", Response: Volunteer{}}, h.apiMe)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/me", Access: web.LoggedIn,
		Summary: "register as a volunteer, or update skills, availability and teams (200)", Request: RegisterInput{}, Response: Volunteer{}}, h.apiRegister)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/me/record", Access: web.LoggedIn,
		Summary: "my service record: shifts served, hours, certificates", Response: Record{}}, h.apiRecord)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/teams", Access: web.LoggedIn,
		Summary: "the six teams of a village (village_id; residents: their own)", Response: []Team{}}, h.apiTeams)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/needs", Access: web.LoggedIn,
		Summary: "needs: staff their villages' (village_id, status); residents their own and those their teams can take", Response: []Need{}}, h.apiNeeds)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/needs", Statuses: []int{http.StatusCreated, http.StatusOK}, Access: web.LoggedIn,
		Summary: "record a need (staff at the door: village_id, for_resident_id or for_name; residents: their own) (201; 200 the first need again for a resent idempotency_key; 409 like one filed in the last 24 hours, unless confirm_duplicate)", Request: NeedInput{}, Response: Need{}}, h.apiCreateNeed)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/needs/{id}", Access: web.LoggedIn,
		Summary: "a need with its steps", Response: Need{}}, h.apiNeed)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/needs/{id}/actions", Access: web.LoggedIn,
		Summary: "move a need on: assign, take, send_back, refuse, done, rate (200)", Request: NeedAction{}, Response: Need{}}, h.apiAct)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/figures", Access: web.Staff,
		Summary: "volunteers, hours, shifts served, needs opened and closed, median days to close, by village and team kind (town_id)", Response: []Figure{}}, h.apiFigures)
}

func (h *Handlers) apiPosts(w http.ResponseWriter, r *http.Request) {
	f := PostFilter{VillageID: web.QueryInt(r, "village_id"), Status: r.URL.Query().Get("status"), Kind: r.URL.Query().Get("kind")}
	list, err := h.S.Posts(r.Context(), auth.From(r.Context()), f)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreatePost(w http.ResponseWriter, r *http.Request) {
	var in PostInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	p, err := h.S.CreatePost(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, p, err)
}

func (h *Handlers) apiPost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.PostDetail(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiAddShifts(w http.ResponseWriter, r *http.Request) {
	var in ShiftsInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.AddShifts(r.Context(), auth.From(r.Context()), id, in.Shifts, in.Repeat)
	h.App.Reply(w, r, http.StatusCreated, Created{n}, err)
}

func (h *Handlers) apiClosePost(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	p, err := h.S.ClosePost(r.Context(), auth.From(r.Context()), id, "")
	h.App.Reply(w, r, http.StatusOK, p, err)
}

func (h *Handlers) apiShift(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	sh, _, err := h.S.Shift(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, sh, err)
}

func (h *Handlers) apiSignUp(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	su, err := h.S.SignUp(r.Context(), auth.From(r.Context()), id)
	// A replayed key answers the first record, with 200.
	h.App.Reply(w, r, web.Created(su.Replayed), su, err)
}

func (h *Handlers) apiCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if err := h.S.Cancel(r.Context(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) apiCheckin(w http.ResponseWriter, r *http.Request) {
	var in CheckinInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	su, err := h.S.Checkin(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, su, err)
}

func (h *Handlers) apiComplete(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	res, err := h.S.Complete(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, res, err)
}

func (h *Handlers) apiMessage(w http.ResponseWriter, r *http.Request) {
	var in MessageInput
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.Message(r.Context(), auth.From(r.Context()), id, in.Title, in.Body)
	h.App.Reply(w, r, http.StatusCreated, Sent{n}, err)
}

func (h *Handlers) apiMe(w http.ResponseWriter, r *http.Request) {
	v, err := h.S.Me(r.Context(), auth.From(r.Context()))
	h.App.Reply(w, r, http.StatusOK, v, err)
}

func (h *Handlers) apiRegister(w http.ResponseWriter, r *http.Request) {
	var in RegisterInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	v, err := h.S.Register(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusOK, v, err)
}

func (h *Handlers) apiRecord(w http.ResponseWriter, r *http.Request) {
	rec, err := h.S.MyRecord(r.Context(), auth.From(r.Context()))
	h.App.Reply(w, r, http.StatusOK, rec, err)
}

func (h *Handlers) apiTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := h.S.TeamsOf(r.Context(), auth.From(r.Context()), web.QueryInt(r, "village_id"))
	h.App.Reply(w, r, http.StatusOK, teams, err)
}

func (h *Handlers) apiNeeds(w http.ResponseWriter, r *http.Request) {
	f := NeedFilter{VillageID: web.QueryInt(r, "village_id"), Status: r.URL.Query().Get("status")}
	list, err := h.S.Needs(r.Context(), auth.From(r.Context()), f)
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiCreateNeed(w http.ResponseWriter, r *http.Request) {
	var in NeedInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.CreateNeed(r.Context(), auth.From(r.Context()), in)
	// A replayed key answers the first record, with 200.
	h.App.Reply(w, r, web.Created(n.Replayed), n, err)
}

func (h *Handlers) apiNeed(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	n, err := h.S.Need(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, n, err)
}

func (h *Handlers) apiAct(w http.ResponseWriter, r *http.Request) {
	var in NeedAction
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.S.Act(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, n, err)
}

func (h *Handlers) apiFigures(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	town := cmp.Or(web.QueryInt(r, "town_id"), a.TownID)
	fs, err := h.S.Figures(r.Context(), a, town)
	h.App.Reply(w, r, http.StatusOK, fs, err)
}
