package server_test

import (
	"html"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestNoDeadLinks crawls the demo town as every role, following each link a page offers, and
// fails on a link that answers 4xx or 5xx: a page must never offer what its reader may not open.
// Pages of the same shape (a resident's page, another resident's) are visited a few times each,
// so the crawl stays bounded while still reaching every kind of page.
func TestNoDeadLinks(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80}, true, func(t *testing.T, env *servertest.Env) {
		for _, role := range []struct {
			name, phone, start string
		}{
			{"anonymous", "", "/login"},
			{"resident", demo.PhoneResident, "/"},
			{"party member", demo.PhonePartyMember, "/"},
			{"village admin", demo.PhoneVillageAdmin, "/admin"},
			{"town admin", demo.PhoneTownAdmin, "/admin"},
		} {
			c := env.Anonymous()
			if role.phone != "" {
				c = env.Browser(role.phone)
			}
			crawl(t, role.name, c, role.start)
		}
	})
}

var (
	hrefs = regexp.MustCompile(`<a\b[^>]*\bhref="([^"]+)"`)
	// digits in a path, so that pages of one shape count together
	digits = regexp.MustCompile(`[0-9]+`)
)

// perShape is how many pages of one shape (the path with its numbers taken out) are visited.
const perShape = 3

// maxPages bounds a role's crawl.
const maxPages = 400

func crawl(t *testing.T, role string, c *servertest.Client, start string) {
	t.Helper()
	type link struct{ to, from string }
	queue := []link{{start, ""}}
	seen := map[string]bool{start: true}
	shapes := map[string]int{}
	visited := 0
	for len(queue) > 0 && visited < maxPages {
		l := queue[0]
		queue = queue[1:]
		u, err := url.Parse(l.to)
		if err != nil {
			t.Errorf("%s: %s links to %q, which is not a URL", role, l.from, l.to)
			continue
		}
		shape := digits.ReplaceAllString(u.Path, "N")
		if shapes[shape] >= perShape {
			continue
		}
		shapes[shape]++
		visited++
		st, body := c.Get(l.to)
		if st >= 400 {
			t.Errorf("%s: %s links to %s, which answers %d", role, l.from, l.to, st)
			continue
		}
		if st >= 300 || strings.HasPrefix(u.Path, "/api/") || !strings.Contains(body, "<html") {
			continue // a redirect (the login page, a download) or not a page
		}
		for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
			to := html.UnescapeString(m[1])
			if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
				continue // off the site, or a fragment
			}
			to, _, _ = strings.Cut(to, "#")
			if seen[to] || to == "" {
				continue
			}
			seen[to] = true
			queue = append(queue, link{to, l.to})
		}
	}
	if visited < 2 || (role != "anonymous" && visited < 20) {
		t.Errorf("%s: the crawl from %s reached only %d pages", role, start, visited)
	}
	var kinds []string
	for s := range shapes {
		kinds = append(kinds, s)
	}
	sort.Strings(kinds)
	t.Logf("%s: %d pages of %d shapes", role, visited, len(kinds))
}
