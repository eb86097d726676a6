package report

import "embed"

// Messages holds the dashboard's message keys, locales/<lang>.json per language, for
// web.LoadCatalog.
//
//go:embed locales/*.json
var Messages embed.FS
