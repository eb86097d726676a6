package consult

import (
	"embed"

	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves 微协商's pages and API; both call the same service methods.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the pages and the API of each part: topics, meetings, referrals and departments,
// the care team, Open311, and the landing pages.
func (h *Handlers) Register() {
	h.App.Templates(templates, "templates/*.html")
	h.registerHome()
	h.registerTopics()
	h.registerMeetings()
	h.registerReferrals()
	h.registerCare()
	h.registerOpen311()
	h.registerFigures()
}
