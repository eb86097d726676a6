package honours

import "embed"

// Messages holds the public side's message keys, locales/<lang>.json per language, for
// web.LoadCatalog.
//
//go:embed locales/*.json
var Messages embed.FS
