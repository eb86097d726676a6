package notify

import (
	"embed"
	"net/http"
	"net/url"

	"siwei/internal/auth"
	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves the inbox page and its API.
type Handlers struct {
	S   *Service
	App *web.App
}

// Inbox is the API's answer: the newest messages, how many are unread, how the resident is told
// of new ones, and how many the home shows (every unread one with 即时提醒; with 每日汇总 those a
// digest has brought).
type Inbox struct {
	Unread   int       `json:"unread"`
	Messages []Message `json:"messages"`
	Mode     Mode      `json:"mode"`
	Waiting  int       `json:"waiting"`
}

// Register adds the inbox routes.
func (h *Handlers) Register() {
	h.App.Templates(templates, "templates/*.html")
	h.App.Handle(web.Route{Method: "GET", Path: "/notifications", Access: web.LoggedIn, Summary: "my messages"}, h.page)
	h.App.Handle(web.Route{Method: "POST", Path: "/notifications/read", Access: web.LoggedIn, Summary: "mark my messages read"}, h.read)
	h.App.Handle(web.Route{Method: "POST", Path: "/notifications/settings", Access: web.LoggedIn, Summary: "choose 即时提醒 or 每日汇总"}, h.settings)
	h.App.Handle(web.Route{Method: "GET", Path: "/api/v1/notifications", Access: web.LoggedIn, Summary: "my newest messages, the unread count and what the home shows", Response: Inbox{}}, h.api)
}

// inboxView is the messages page: every message, the latest digest and the choice of mode.
type inboxView struct {
	Inbox
	Digest *Digest
	At     string // the digest time, 18:00
}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request) { h.render(w, r, nil, nil) }

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	ms, n, err := h.S.Inbox(ctx, a, 100)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := inboxView{Inbox: Inbox{Unread: n, Messages: ms}, At: DigestTime()}
	if v.Mode, v.Digest, err = h.S.Settings(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "notify.title", v)
	p.Form = f
	p.Flashed("flash.notify_daily", v.At)
	h.App.RenderPage(w, r, "notifications.html", p, ferr)
}

func (h *Handlers) read(w http.ResponseWriter, r *http.Request) {
	if err := h.S.MarkRead(r.Context(), auth.From(r.Context())); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, "/notifications")
}

func (h *Handlers) settings(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	m := Mode(f.Get("mode"))
	if err := h.S.SetMode(r.Context(), auth.From(r.Context()), m); err != nil {
		h.render(w, r, f, err)
		return
	}
	flash := "flash.notify_immediate"
	if m == Daily {
		flash = "flash.notify_daily"
	}
	web.Redirect(w, r, web.FlashURL("/notifications", flash, 0))
}

func (h *Handlers) api(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	ms, n, err := h.S.Inbox(ctx, a, int(web.QueryInt(r, "limit")))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if ms == nil {
		ms = []Message{}
	}
	in := Inbox{Unread: n, Messages: ms}
	if in.Mode, _, err = h.S.Settings(ctx, a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if in.Waiting, _, err = h.S.Waiting(ctx, a.Self()); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, in)
}
