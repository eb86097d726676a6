// Package web is the plumbing under every pillar's pages and API: the route table, the layout and
// templates, the message catalog, errors as problem+json, middleware, metrics and static assets.
// It holds no business rules.
package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
)

//go:embed locales/*.json
var localeFS embed.FS

// DefaultLang is the language when the user has chosen none.
const DefaultLang = "zh-CN"

// Langs are the catalogs siwei ships.
var Langs = []string{"zh-CN", "en"}

// Catalog maps message keys to text, per language. Messages may hold fmt verbs filled by args.
type Catalog map[string]map[string]string

// LoadCatalog reads web's own messages and each pillar's: every fs holds locales/<lang>.json for
// every language in Langs. A pillar's keys live beside it, so a key defined twice is an error
// rather than one file silently winning; so is a missing language, which would show keys.
func LoadCatalog(pillars ...fs.FS) (Catalog, error) {
	c := Catalog{}
	from := map[string]string{} // key → the file that defined it, for the error
	srcs := append([]fs.FS{localeFS}, pillars...)
	for _, lang := range Langs {
		c[lang] = map[string]string{}
		clear(from)
		for i, src := range srcs {
			if src == nil {
				continue
			}
			name := "locales/" + lang + ".json"
			where := "web " + name
			if i > 0 {
				where = fmt.Sprintf("pillar %d %s", i, name)
			}
			b, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, fmt.Errorf("web: catalog: %s: %w", where, err)
			}
			m := map[string]string{}
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("web: catalog: %s: %w", where, err)
			}
			for k, v := range m {
				if prev, ok := from[k]; ok {
					return nil, fmt.Errorf("web: catalog: %q is defined in both %s and %s", k, prev, where)
				}
				from[k] = where
				c[lang][k] = v
			}
		}
	}
	return c, nil
}

// T translates key into lang, falling back to zh-CN and then to the key itself, so a missing
// message shows up as its key instead of an empty string.
func (c Catalog) T(lang, key string, args ...any) string {
	msg, ok := c[lang][key]
	if !ok {
		msg, ok = c[DefaultLang][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Keys lists the keys of a language, sorted.
func (c Catalog) Keys(lang string) []string {
	var out []string
	for k := range c[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Lang picks the request's language: the "lang" cookie if it names a catalog, else zh-CN. The
// Accept-Language header is ignored on purpose: villagers' phones often say en-US.
func Lang(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil {
		for _, l := range Langs {
			if strings.EqualFold(c.Value, l) {
				return l
			}
		}
	}
	return DefaultLang
}
