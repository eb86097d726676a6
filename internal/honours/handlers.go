package honours

import (
	"embed"

	"siwei/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Handlers serves the public side's pages and API; both call the same service methods.
type Handlers struct {
	S   *Service
	App *web.App
}

// Register adds the pages and the API of each part: the landing pages and photos, the nominations
// and the wall with the notices, the rounds and their votes, the actions, the contests and their
// judging, the flags with the 文明大户 lists and the media kit.
func (h *Handlers) Register() {
	h.App.Templates(templates, "templates/*.html")
	h.registerHome()
	h.registerNominations()
	h.registerNotices()
	h.registerWall()
	h.registerRounds()
	h.registerActions()
	h.registerContests()
	h.registerFlags()
}
