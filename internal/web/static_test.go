package web

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// redirectBypasses are targets that led browsers off the site, or come close to it: the issue's
// findings first, then their relatives.
var redirectBypasses = []string{
	`/\evil.com`, "/\t/evil.com", "//evil.com", `/\/evil.com`, `\\evil.com`, `\/evil.com`,
	"/\n/evil.com", "/\r\n/evil.com", "\t//evil.com", " //evil.com", "/ /evil.com", "/\x00/evil.com",
	"/\x7f/evil.com", "///evil.com", "/.//evil.com", "/./\\evil.com", "/x/../../evil.com", "/%5Cevil.com",
	"/%09/evil.com", "/%2F%2Fevil.com", "https://evil.com", "https:evil.com", "//evil.com@siwei.example",
	"/@evil.com", "javascript:alert(1)", "evil.com", "", "/?next=//evil.com", "/#//evil.com",
	"/\u3000/evil.com", "/\u2028/evil.com",
}

// browserResolve resolves a Location header against base the way a browser's URL parser does for
// an http(s) page (WHATWG URL): it trims C0 controls and spaces at both ends, removes every tab and
// newline, and reads backslashes as slashes. It reports false when the browser would refuse it.
func browserResolve(base *url.URL, loc string) (*url.URL, bool) {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= 0x20 })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, false
	}
	return base.ResolveReference(ref), true
}

// redirectTo is the Location net/http sends for LocalPath(target) from a page at from.
func redirectTo(from, target string) string {
	w := httptest.NewRecorder()
	http.Redirect(w, httptest.NewRequest("GET", from, nil), LocalPath(target), http.StatusSeeOther)
	return w.Header().Get("Location")
}

func checkStaysOnSite(t *testing.T, target string) {
	t.Helper()
	base, _ := url.Parse("https://siwei.example/bank/shop?page=2")
	loc := redirectTo("/bank/shop?page=2", target)
	for i := 0; i < len(loc); i++ {
		if loc[i] < 0x20 || loc[i] == 0x7f {
			t.Fatalf("LocalPath(%q): Location %q holds a control character", target, loc)
		}
	}
	u, ok := browserResolve(base, loc)
	if !ok {
		return // the browser goes nowhere
	}
	if u.Scheme != "https" || u.Host != "siwei.example" || u.User != nil {
		t.Fatalf("LocalPath(%q) = %q: Location %q takes the browser to %s", target, LocalPath(target), loc, u)
	}
}

func TestLocalPath(t *testing.T) {
	for _, s := range redirectBypasses {
		checkStaysOnSite(t, s)
	}
	for _, c := range []struct{ in, want string }{
		{"/admin/residents?village_id=3&page=2", "/admin/residents?village_id=3&page=2"},
		{"/bank", "/bank"},
		{"/", "/"},
		{`/\evil.com`, "/"},
		{"/\t/evil.com", "/"},
		{"//evil.com", "/"},
		{`/a\b`, "/a/b"},
		{"https://evil.com/x", "/"},
		{"/%5Cevil.com", "/%5Cevil.com"},
	} {
		if got := LocalPath(c.in); got != c.want {
			t.Errorf("LocalPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRefererPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://siwei.example/bank/shop?page=2", "/bank/shop?page=2"},
		{"https://siwei.example", "/"},
		{"https://siwei.example/%5Cevil.com", "/%5Cevil.com"},
		{"https://siwei.example//evil.com", "/"},
		{`/\evil.com`, "/"},
		{"", "/"},
	} {
		if got := LocalPath(refererPath(c.in)); got != c.want {
			t.Errorf("LocalPath(refererPath(%q)) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzLocalPath holds the sanitiser to its promise: whatever it is given, the Location that
// net/http then sends keeps a browser on the site it came from.
func FuzzLocalPath(f *testing.F) {
	for _, s := range redirectBypasses {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkStaysOnSite(t, s)
		checkStaysOnSite(t, refererPath(s))
	})
}

// staticApp is an App with only its base routes, to ask for static files as a browser does.
func staticApp(t *testing.T) http.Handler {
	t.Helper()
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return New(cat, nil, slog.New(slog.DiscardHandler)).Handler()
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w
}

// TestEChartsEmbedded: the town dashboard's charts come from the binary, not a CDN, with their
// licence beside them.
func TestEChartsEmbedded(t *testing.T) {
	js, err := fs.ReadFile(staticFS, "echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(js) < 500_000 || !bytes.Contains(js[:2000], []byte("Licensed to the Apache Software Foundation")) || !bytes.Contains(js, []byte("echarts")) {
		t.Errorf("echarts.min.js (%d bytes) does not look like the ECharts bundle: %.200s", len(js), js)
	}
	lic, err := fs.ReadFile(staticFS, "echarts.LICENSE.txt")
	if err != nil || !bytes.Contains(lic, []byte("Apache License")) {
		t.Errorf("echarts.LICENSE.txt: %v %.100s", err, lic)
	}
}

func TestAssetPaths(t *testing.T) {
	if got := Asset("echarts.min.js"); !regexp.MustCompile(`^/static/echarts\.min\.[0-9a-f]{12}\.js$`).MatchString(got) {
		t.Errorf("Asset(echarts.min.js) = %q", got)
	}
	if got := Asset("app.css"); !regexp.MustCompile(`^/static/app\.[0-9a-f]{12}\.css$`).MatchString(got) {
		t.Errorf("Asset(app.css) = %q", got)
	}
	for _, name := range []string{"sw.js", "no-such.js"} {
		if got := Asset(name); got != "/static/"+name {
			t.Errorf("Asset(%q) = %q, want the plain path", name, got)
		}
	}
	// The same file under other contents has another name.
	a := hashAssets(staticFS).hashed["app.js"]
	b := hashAssets(fstest.MapFS{"app.js": {Data: []byte("changed")}}).hashed["app.js"]
	if a == b || a == "" || b == "" {
		t.Errorf("app.js named %q and %q for two contents", a, b)
	}
}

// TestStaticCaching: a content-named asset is kept a year and never asked again; another
// version's name is not answered with this one; the plain paths keep their day, and sw.js is
// asked again each time.
func TestStaticCaching(t *testing.T) {
	h := staticApp(t)
	hashed := Asset("echarts.min.js")
	for _, c := range []struct {
		name, path   string
		status       int
		cache, ctype string
	}{
		{"Hashed", hashed, 200, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"HashedCSS", Asset("app.css"), 200, "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"Plain", "/static/echarts.min.js", 200, "public, max-age=86400", "text/javascript; charset=utf-8"},
		{"ServiceWorker", "/static/sw.js", 200, "no-cache", "text/javascript; charset=utf-8"},
		{"WrongHash", "/static/echarts.min.000000000000.js", 404, "", ""},
		{"OtherFilesHash", strings.Replace(Asset("app.js"), "app.", "drafts.", 1), 404, "", ""},
		{"HashedServiceWorker", "/static/sw.0123456789ab.js", 404, "", ""},
		{"Missing", "/static/nothing.js", 404, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := get(h, c.path)
			if w.Code != c.status {
				t.Fatalf("GET %s: %d, want %d", c.path, w.Code, c.status)
			}
			if c.status != 200 {
				if strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
					t.Errorf("GET %s: a 404 kept for a year", c.path)
				}
				return
			}
			if cc := w.Header().Get("Cache-Control"); cc != c.cache {
				t.Errorf("GET %s: Cache-Control %q, want %q", c.path, cc, c.cache)
			}
			if ct := w.Header().Get("Content-Type"); ct != c.ctype {
				t.Errorf("GET %s: Content-Type %q, want %q", c.path, ct, c.ctype)
			}
		})
	}
	want, _ := fs.ReadFile(staticFS, "echarts.min.js")
	if got := get(h, hashed).Body.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("GET %s: %d bytes, not echarts.min.js's %d", hashed, len(got), len(want))
	}
}

// TestLayoutAssetsKeptOffline: the layout links its style sheet and scripts by content, and each
// is one the service worker keeps, by its plain path, for pages opened without signal.
func TestLayoutAssetsKeptOffline(t *testing.T) {
	sw, err := fs.ReadFile(staticFS, "sw.js")
	if err != nil {
		t.Fatal(err)
	}
	shell := regexp.MustCompile(`var SHELL_FILES = \[([^\]]*)\]`).FindSubmatch(sw)
	if shell == nil {
		t.Fatal("sw.js has no SHELL_FILES")
	}
	page := get(staticApp(t), "/no/such/page").Body.String() // the error page is drawn in the layout
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) < 5 {
		t.Fatalf("the layout links %d static files, want the five of the shell: %v", len(links), links)
	}
	for _, l := range links {
		plain, ok := assets.plain[strings.TrimPrefix(l[1], "/static/")]
		if !ok {
			t.Errorf("the layout links %s, not by content", l[1])
			continue
		}
		if !bytes.Contains(shell[1], []byte(`"/static/`+plain+`"`)) {
			t.Errorf("the layout links %s, which sw.js does not keep offline", plain)
		}
	}
}
