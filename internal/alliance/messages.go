package alliance

import "embed"

// Messages holds 微联盟's message keys, locales/<lang>.json per language, for web.LoadCatalog.
//
//go:embed locales/*.json
var Messages embed.FS
