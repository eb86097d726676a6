package notify

import (
	"embed"
	"net/http"

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

// Inbox is the API's answer: the newest messages and how many are unread.
type Inbox struct {
	Unread   int       `json:"unread"`
	Messages []Message `json:"messages"`
}

// Register adds the inbox routes.
func (h *Handlers) Register() {
	h.App.Templates(templates, "templates/*.html")
	h.App.Handle(web.Route{Method: "GET", Path: "/notifications", Access: web.LoggedIn, Summary: "my messages"}, h.page)
	h.App.Handle(web.Route{Method: "POST", Path: "/notifications/read", Access: web.LoggedIn, Summary: "mark my messages read"}, h.read)
	h.App.Handle(web.Route{Method: "GET", Path: "/api/v1/notifications", Access: web.LoggedIn, Summary: "my newest messages and the unread count", Response: Inbox{}}, h.api)
}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	ms, n, err := h.S.Inbox(r.Context(), auth.From(r.Context()), 100)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.Render(w, r, http.StatusOK, "notifications.html", h.App.NewPage(r, "notify.title", Inbox{Unread: n, Messages: ms}))
}

func (h *Handlers) read(w http.ResponseWriter, r *http.Request) {
	if err := h.S.MarkRead(r.Context(), auth.From(r.Context())); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, "/notifications")
}

func (h *Handlers) api(w http.ResponseWriter, r *http.Request) {
	ms, n, err := h.S.Inbox(r.Context(), auth.From(r.Context()), int(web.QueryInt(r, "limit")))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if ms == nil {
		ms = []Message{}
	}
	web.JSON(w, http.StatusOK, Inbox{Unread: n, Messages: ms})
}
