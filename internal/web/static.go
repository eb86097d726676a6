package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"siwei/internal/errs"
)

//go:embed static templates
var templateFS embed.FS

// staticFS is the vendored assets: htmx, ECharts, the style sheet; served with a long cache lifetime.
var staticFS, _ = fs.Sub(templateFS, "static")

// assets names each static file by its content as well, so that a page linking Asset(name)
// reaches a new version the moment it is deployed, while a browser keeps each version for a year
// without asking again (a town office's link is slow, and ECharts is a megabyte).
var assets = hashAssets(staticFS)

// assetNames maps a static file to the name that carries its content hash, and back.
type assetNames struct {
	hashed map[string]string // "echarts.min.js" → "echarts.min.3f2a9c1b7d04.js"
	plain  map[string]string // the reverse
}

// hashLen is how many hex digits of the SHA-256 a content-named asset carries.
const hashLen = 12

// hashAssets names every file of fsys but sw.js, which a service worker is registered by and so
// must keep its one path.
func hashAssets(fsys fs.FS) assetNames {
	n := assetNames{hashed: map[string]string{}, plain: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "sw.js" {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		h := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:])[:hashLen] + ext
		n.hashed[p], n.plain[h] = h, p
		return nil
	})
	if err != nil {
		panic(fmt.Errorf("web: hash static assets: %w", err))
	}
	return n
}

// Asset is the path that names a static file by its content, "/static/app.3f2a9c1b7d04.css" for
// "app.css": it is served with a year's cache, and the next version has another path. A file the
// binary does not carry, and sw.js, keep their plain path.
func Asset(name string) string {
	if h, ok := assets.hashed[name]; ok {
		return "/static/" + h
	}
	return "/static/" + name
}

// contentNamed reports whether name has the shape Asset gives, "<name>.<12 hex>.<ext>"; such a
// name that is not among the assets names a version this binary does not carry.
func contentNamed(name string) bool {
	ext := path.Ext(name)
	h := path.Ext(strings.TrimSuffix(name, ext))
	if len(h) != 1+hashLen {
		return false
	}
	for _, c := range h[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Probe reports whether the server can do its work (the database answers).
type Probe func(ctx context.Context) error

// Ops holds what the operational routes need from the server.
type Ops struct {
	Ping    Probe
	DBStats DBStats
}

// SetOps wires health and metrics to the database.
func (a *App) SetOps(o Ops) { a.ops = o }

func (a *App) registerBase() {
	files := http.StripPrefix("/static/", http.FileServerFS(staticFS))
	a.Handle(Route{Method: "GET", Path: "/static/", Access: Public, Summary: "static assets"}, func(w http.ResponseWriter, r *http.Request) {
		// Files only: a folder's listing would tell a prober what the binary carries.
		if strings.HasSuffix(r.URL.Path, "/") {
			a.Error(w, r, errs.New(errs.NotFound, "error.not_found"))
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if plain, ok := assets.plain[name]; ok {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			http.ServeFileFS(w, r, staticFS, plain)
			return
		}
		if _, ok := assets.hashed[name]; !ok && contentNamed(name) {
			// Another version's name: answering it with this version would put a wrong file in
			// a cache for a year.
			a.Error(w, r, errs.New(errs.NotFound, "error.not_found"))
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		if r.URL.Path == "/static/sw.js" {
			// The service worker (offline pages and drafts) works for the whole site, and a new
			// version reaches the phones with the next page they open.
			w.Header().Set("Service-Worker-Allowed", "/")
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
	a.Handle(Route{Method: "GET", Path: "/manifest.webmanifest", Access: Public, Summary: "web app manifest"}, a.manifest)
	a.Handle(Route{Method: "GET", Path: "/icons/{size}", Access: Public, Summary: "app icon"}, icon)
	a.Handle(Route{Method: "GET", Path: "/healthz", Access: Public, Summary: "health"}, a.healthz)
	a.Handle(Route{Method: "GET", Path: "/api/v1/openapi.json", Access: Public, Summary: "this document"}, func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusOK, a.OpenAPI())
	})
	a.Handle(Route{Method: "POST", Path: "/lang", Access: Public, Summary: "choose the language"}, func(w http.ResponseWriter, r *http.Request) {
		lang := r.FormValue("lang")
		for _, l := range Langs {
			if l == lang {
				http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: a.HTTPS(r)})
			}
		}
		http.Redirect(w, r, LocalPath(refererPath(r.Referer())), http.StatusSeeOther)
	})
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if a.ops.Ping != nil {
		if err := a.ops.Ping(ctx); err != nil {
			a.Log.Warn("health check failed", "err", err)
			JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *App) manifest(w http.ResponseWriter, r *http.Request) {
	lang := Lang(r)
	w.Header().Set("Content-Type", "application/manifest+json")
	JSON(w, http.StatusOK, map[string]any{
		"name":             a.Catalog.T(lang, "app.name"),
		"short_name":       a.Catalog.T(lang, "app.short_name"),
		"lang":             lang,
		"start_url":        "/",
		"scope":            "/",
		"display":          "standalone",
		"background_color": "#fff8f0",
		"theme_color":      "#b71c1c",
		"icons": []map[string]string{
			{"src": "/icons/192.png", "sizes": "192x192", "type": "image/png"},
			{"src": "/icons/512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
		},
	})
}

var icons = map[string][]byte{"192.png": drawIcon(192), "512.png": drawIcon(512)}

// icon serves the app icon: a red square with a gold coin, the bank's sign, drawn at start-up so
// that no binary image sits in the repository.
func icon(w http.ResponseWriter, r *http.Request) {
	b, ok := icons[r.PathValue("size")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

func drawIcon(n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	red := color.RGBA{0xb7, 0x1c, 0x1c, 0xff}
	gold := color.RGBA{0xff, 0xc1, 0x07, 0xff}
	c, r2, hole := float64(n)/2, float64(n)*0.3, float64(n)*0.09
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)-c, float64(y)-c
			d := dx*dx + dy*dy
			switch {
			case d <= r2*r2 && !(abs(dx) < hole && abs(dy) < hole):
				img.Set(x, y, gold)
			default:
				img.Set(x, y, red)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// LocalPath keeps a redirect target on this site: it returns s when s is a path of this site, and
// "/" otherwise. Browsers read a backslash as a slash, drop tabs and newlines anywhere in a URL and
// trim control characters and spaces at its ends, so `/\evil.com` and "/\t/evil.com" lead to
// evil.com; s is judged as a browser will read it, and never percent-decoded (a browser does not
// decode a path before choosing the host). What is left must begin with exactly one slash.
func LocalPath(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	s = strings.ReplaceAll(s, `\`, "/")
	if s == "" || s[0] != '/' || strings.HasPrefix(s, "//") {
		return "/"
	}
	if u, err := url.Parse(s); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return s
}

// refererPath is the path and query of a Referer, for sending the browser back where it was; the
// path is kept as sent (escaped), so that LocalPath judges what the browser will read.
func refererPath(ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return "/"
	}
	if !u.IsAbs() && u.Host == "" {
		return ref
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}
