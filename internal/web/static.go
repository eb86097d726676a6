package web

import (
	"bytes"
	"context"
	"embed"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"siwei/internal/errs"
)

//go:embed static templates
var templateFS embed.FS

// staticFS is the vendored assets: htmx, the style sheet; served with a long cache lifetime.
var staticFS, _ = fs.Sub(templateFS, "static")

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
