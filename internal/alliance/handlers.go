package alliance

import (
	"embed"

	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves 微联盟's pages and API; both call the same service methods.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the pages and the API of each part: the units, the three lists and projects,
// activities, donations, the dispute centre, and the landing pages.
func (h *Handlers) Register() {
	h.App.Templates(templates, "templates/*.html")
	h.registerHome()
	h.registerUnits()
	h.registerLists()
	h.registerActivities()
	h.registerDonations()
	h.registerDisputes()
	h.registerFigures()
}
