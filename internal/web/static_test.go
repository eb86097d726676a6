package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
