package volunteer

import (
	"context"
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
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/needs", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "record a need (staff at the door: village_id, for_resident_id or for_name; residents: their own) (201)", Request: NeedInput{}, Response: Need{}}, h.apiCreateNeed)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/needs/{id}", Access: web.LoggedIn,
		Summary: "a need with its steps", Response: Need{}}, h.apiNeed)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/volunteer/needs/{id}/actions", Access: web.LoggedIn,
		Summary: "move a need on: assign, take, send_back, refuse, done, rate (200)", Request: NeedAction{}, Response: Need{}}, h.apiAct)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/volunteer/figures", Access: web.Staff,
		Summary: "volunteers, hours, shifts served, needs opened and closed, median days to close, by village and team kind (town_id)", Response: []Figure{}}, h.apiFigures)
}

// answer runs a service call for the request's actor and writes its result as JSON.
func answer[T any](h *Handlers, w http.ResponseWriter, r *http.Request, status int, fn func(context.Context, *auth.Actor) (T, error)) {
	v, err := fn(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, status, v)
}

// withID runs fn with the path's id, or answers 404.
func (h *Handlers) withID(w http.ResponseWriter, r *http.Request, fn func(id int64)) {
	id, err := web.ID(r, "id")
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	fn(id)
}

// decoded runs fn with the request's JSON body decoded, or answers 422.
func decoded[T any](h *Handlers, w http.ResponseWriter, r *http.Request, fn func(in T)) {
	var in T
	if err := web.Decode(r, &in); err != nil {
		h.App.Error(w, r, err)
		return
	}
	fn(in)
}

func (h *Handlers) apiPosts(w http.ResponseWriter, r *http.Request) {
	f := PostFilter{VillageID: web.QueryInt(r, "village_id"), Status: r.URL.Query().Get("status"), Kind: r.URL.Query().Get("kind")}
	answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) ([]Post, error) { return h.S.Posts(ctx, a, f) })
}

func (h *Handlers) apiCreatePost(w http.ResponseWriter, r *http.Request) {
	decoded(h, w, r, func(in PostInput) {
		answer(h, w, r, http.StatusCreated, func(ctx context.Context, a *auth.Actor) (Post, error) { return h.S.CreatePost(ctx, a, in) })
	})
}

func (h *Handlers) apiPost(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (PostDetail, error) { return h.S.PostDetail(ctx, a, id) })
	})
}

func (h *Handlers) apiAddShifts(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		decoded(h, w, r, func(in ShiftsInput) {
			answer(h, w, r, http.StatusCreated, func(ctx context.Context, a *auth.Actor) (Created, error) {
				n, err := h.S.AddShifts(ctx, a, id, in.Shifts, in.Repeat)
				return Created{n}, err
			})
		})
	})
}

func (h *Handlers) apiClosePost(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (Post, error) { return h.S.ClosePost(ctx, a, id) })
	})
}

func (h *Handlers) apiShift(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (Shift, error) {
			sh, _, err := h.S.Shift(ctx, a, id)
			return sh, err
		})
	})
}

func (h *Handlers) apiSignUp(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		su, err := h.S.SignUp(r.Context(), auth.From(r.Context()), id)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		status := http.StatusCreated
		if su.Replayed {
			status = http.StatusOK
		}
		web.JSON(w, status, su)
	})
}

func (h *Handlers) apiCancel(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if err := h.S.Cancel(r.Context(), auth.From(r.Context()), id); err != nil {
			h.App.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (h *Handlers) apiCheckin(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		decoded(h, w, r, func(in CheckinInput) {
			answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (Signup, error) { return h.S.Checkin(ctx, a, id, in) })
		})
	})
}

func (h *Handlers) apiComplete(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (CompleteResult, error) { return h.S.Complete(ctx, a, id) })
	})
}

func (h *Handlers) apiMessage(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		decoded(h, w, r, func(in MessageInput) {
			answer(h, w, r, http.StatusCreated, func(ctx context.Context, a *auth.Actor) (Sent, error) {
				n, err := h.S.Message(ctx, a, id, in.Title, in.Body)
				return Sent{n}, err
			})
		})
	})
}

func (h *Handlers) apiMe(w http.ResponseWriter, r *http.Request) {
	answer(h, w, r, http.StatusOK, h.S.Me)
}

func (h *Handlers) apiRegister(w http.ResponseWriter, r *http.Request) {
	decoded(h, w, r, func(in RegisterInput) {
		answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (Volunteer, error) { return h.S.Register(ctx, a, in) })
	})
}

func (h *Handlers) apiRecord(w http.ResponseWriter, r *http.Request) {
	answer(h, w, r, http.StatusOK, h.S.MyRecord)
}

func (h *Handlers) apiTeams(w http.ResponseWriter, r *http.Request) {
	answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) ([]Team, error) {
		v := web.QueryInt(r, "village_id")
		if v == 0 {
			res, err := h.S.selfResident(ctx, a)
			if err != nil {
				return nil, err
			}
			v = res.VillageID
		}
		return h.S.Teams(ctx, a, v)
	})
}

func (h *Handlers) apiNeeds(w http.ResponseWriter, r *http.Request) {
	f := NeedFilter{VillageID: web.QueryInt(r, "village_id"), Status: r.URL.Query().Get("status")}
	answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) ([]Need, error) { return h.S.Needs(ctx, a, f) })
}

func (h *Handlers) apiCreateNeed(w http.ResponseWriter, r *http.Request) {
	decoded(h, w, r, func(in NeedInput) {
		answer(h, w, r, http.StatusCreated, func(ctx context.Context, a *auth.Actor) (Need, error) { return h.S.CreateNeed(ctx, a, in) })
	})
}

func (h *Handlers) apiNeed(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (Need, error) { return h.S.Need(ctx, a, id) })
	})
}

func (h *Handlers) apiAct(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		decoded(h, w, r, func(in NeedAction) {
			answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) (Need, error) { return h.S.Act(ctx, a, id, in) })
		})
	})
}

func (h *Handlers) apiFigures(w http.ResponseWriter, r *http.Request) {
	town := web.QueryInt(r, "town_id")
	answer(h, w, r, http.StatusOK, func(ctx context.Context, a *auth.Actor) ([]Figure, error) {
		if town == 0 {
			town = a.TownID
		}
		return h.S.Figures(ctx, a, town)
	})
}
