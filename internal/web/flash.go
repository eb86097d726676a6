package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A successful POST redirects to the page that shows what it changed, with the outcome in the
// address: ?flash=<a catalog key>, and for an outcome about a record, &flash_id=<its id>
// (FlashURL). The page says it on its flash line, by name: "已新增村：前疃村", "已把 王秀英 的状态改为
// 迁出". The names never travel in the address. A key whose words take none is said as it is; a
// key that takes names is said only by a page that fills them from the record it shows
// (Page.Flashed), looked up within what the viewer may see. So a crafted link can at most pick one
// of the catalog's sentences about a record the viewer may see, never put words of its own in
// one; a key the catalog lacks, or one the page does not fill, says nothing.

// FlashURL is the address a successful POST redirects to: path (which may carry a query of its
// own) with the outcome's key and, when id is not 0, the id of the record it concerns.
func FlashURL(path, key string, id int64) string {
	u, err := url.Parse(path)
	if err != nil {
		panic("web: FlashURL: " + err.Error()) // the handler's own path, never input
	}
	q := u.Query()
	q.Set("flash", key)
	if id != 0 {
		q.Set("flash_id", strconv.FormatInt(id, 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// readFlash takes the outcome a redirect named: a key of the catalog under flash., said at once
// when its words take no names, else kept for Flashed.
func (p *Page) readFlash(r *http.Request) {
	q := r.URL.Query()
	key := q.Get("flash")
	text, ok := p.catalog[DefaultLang][key]
	if !ok || !strings.HasPrefix(key, "flash.") {
		return
	}
	p.flashKey = key
	if id, err := strconv.ParseInt(q.Get("flash_id"), 10, 64); err == nil && id > 0 {
		p.flashID = id
	}
	if !strings.Contains(text, "%") {
		p.Flash = p.T(key)
	}
}

// FlashID is the id of the record the redirect's outcome is about, 0 when none: the page looks it
// up among what it shows the viewer, and trusts it no further.
func (p *Page) FlashID() int64 { return p.flashID }

// Flashed says the outcome key with the names of the record the page shows, when the redirect
// named key; for any other key it does nothing, so a page lists the outcomes it can land on:
//
//	p.Flashed("flash.resident_saved", res.Name)
//	p.Flashed("flash.resident_status", res.Name, p.T("status."+string(res.Status)))
func (p *Page) Flashed(key string, args ...any) {
	if key == p.flashKey {
		p.Flash = p.T(key, args...)
	}
}
