package honours

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/xuri/excelize/v2"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// registerWall adds the honour roll's public pages (a town's and a village's, by their codes), its
// API, and the staff's page: the names by year, a name entered for an earlier year, the .xlsx of
// a year for the annual 表彰 and the printable certificates.
func (h *Handlers) registerWall() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/wall/{town}", Access: web.Public, Summary: "a town's 名录墙 (by the town's code), public: photo, name, village, category, story, year; filter by year, category, village"}, h.wallPage)
	a.Handle(web.Route{Method: "GET", Path: "/wall/{town}/{village}", Access: web.Public, Summary: "a village's 名录墙 (by the town's and the village's codes), public"}, h.wallPage)
	a.Handle(web.Route{Method: "GET", Path: "/honours/wall", Access: web.LoggedIn, Summary: "the caller's town's 名录墙"}, h.myWall)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/wall", Access: web.Staff, Summary: "the wall's names of a year for staff, the exports, and (the town's staff) the form to enter a name for an earlier year"}, h.wallAdmin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/honours/wall", Access: web.Staff, Summary: "enter a name on the wall for an earlier year, with photos given with consent (the town's staff)"}, h.wallAddPost)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/wall.xlsx", Access: web.Staff, Summary: "a year's wall as .xlsx for the annual 表彰 (a village's staff: their villages')"}, h.wallXLSX)
	a.Handle(web.Route{Method: "GET", Path: "/admin/honours/wall/certificates", Access: web.Staff, Summary: "the printable certificates of a year's wall (a village, a category)"}, h.wallCertificates)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/honours/wall", Access: web.Public, Summary: "a page of a town's 名录墙, public (town_id, village_id, year, category_id, page); minors' names masked", Response: WallPage{}}, h.apiWall)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/honours/wall", Access: web.LoggedIn, Statuses: []int{http.StatusCreated},
		Summary: "enter a name on the wall for an earlier year (the town's staff; 201)", Request: WallInput{}, Response: WallEntry{}}, h.apiWallAdd)
}

// wallFilter reads a wall's filters from the query.
func wallFilter(r *http.Request) WallFilter {
	return WallFilter{VillageID: web.QueryInt(r, "village_id"), Year: int(web.QueryInt(r, "year")), CategoryID: web.QueryInt(r, "category_id"), Page: int(web.QueryInt(r, "page"))}
}

// wallView is a public page of the wall.
type wallView struct {
	WallPage
	Village Named
	Filter  WallFilter
	Base    string // the page's own address, which the filters and pages keep
	Prev    string
	Next    string
	// VillagePages are the town's villages' own walls, linked from the town's.
	VillagePages []VillagePage
}

// pageURL is the address of another page of the same filter.
func (v wallView) pageURL(page int) string {
	q := url.Values{}
	if v.Filter.Year != 0 {
		q.Set("year", strconv.Itoa(v.Filter.Year))
	}
	if v.Filter.CategoryID != 0 {
		q.Set("category_id", strconv.FormatInt(v.Filter.CategoryID, 10))
	}
	if v.Filter.VillageID != 0 && v.Village.ID == 0 {
		q.Set("village_id", strconv.FormatInt(v.Filter.VillageID, 10))
	}
	q.Set("page", strconv.Itoa(page))
	return v.Base + "?" + q.Encode()
}

func (h *Handlers) wallPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	town, err := h.S.TownByCode(ctx, r.PathValue("town"))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	f := wallFilter(r)
	f.TownID = town.ID
	v := wallView{Base: "/wall/" + r.PathValue("town")}
	if code := r.PathValue("village"); code != "" {
		if v.Village, err = h.S.VillageByCode(ctx, town.ID, code); err != nil {
			h.App.Error(w, r, err)
			return
		}
		f.VillageID = v.Village.ID
		v.Base += "/" + code
	}
	if v.WallPage, err = h.S.Wall(ctx, f); err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Filter = f
	if v.Village.ID == 0 {
		if v.VillagePages, err = h.S.villagePages(ctx, town.ID); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if v.Page > 1 {
		v.Prev = v.pageURL(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.Next = v.pageURL(v.Page + 1)
	}
	p := h.App.NewPage(r, "honours.wall.title", v)
	p.Title = p.T("honours.wall.town_title", v.Town)
	if v.Village.ID != 0 {
		p.Title = p.T("honours.wall.village_title", v.Town, v.Village.Name)
	}
	h.App.RenderPage(w, r, "honours_wall.html", p, nil)
}

func (h *Handlers) myWall(w http.ResponseWriter, r *http.Request) {
	code, err := h.S.townCode(r.Context(), auth.From(r.Context()).TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/wall/"+url.PathEscape(code), http.StatusSeeOther)
}

// wallAdminView is the staff's page of the wall.
type wallAdminView struct {
	Entries    []WallEntry
	Filter     WallFilter
	Manage     bool
	Years      []int
	Categories []Category
	Villages   []Named
	Public     string
	MaxPhotos  int
	LastYear   int
}

func (h *Handlers) wallAdmin(w http.ResponseWriter, r *http.Request) {
	h.renderWallAdmin(w, r, nil, nil)
}

func (h *Handlers) renderWallAdmin(w http.ResponseWriter, r *http.Request, form url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	f := wallFilter(r)
	f.TownID = a.TownID
	year, err := h.S.wallYear(ctx, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := wallAdminView{Filter: f, Manage: manages(a, a.TownID), MaxPhotos: bank.MaxPhotos, LastYear: year - 1}
	page, err := h.S.Wall(ctx, WallFilter{TownID: a.TownID})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Years, v.Categories, v.Villages = page.Years, page.Categories, page.Villages
	if f.Year == 0 && len(v.Years) > 0 {
		v.Filter.Year = v.Years[0]
	}
	if v.Entries, err = h.S.StaffWall(ctx, a, v.Filter); err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Public = "/wall/" + url.PathEscape(page.TownCode)
	p := h.App.NewPage(r, "honours.wall.admin_title", v)
	p.Form = form
	if id := p.FlashID(); id != 0 {
		for _, e := range v.Entries {
			if e.ID == id {
				p.Flashed("flash.honours_wall_added", e.Name, e.Year)
			}
		}
	}
	h.App.RenderPage(w, r, "admin_honours_wall.html", p, ferr)
}

func (h *Handlers) wallAddPost(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	f, photos, err := web.ReadPhotoForm(w, r, bank.MaxPhotos, bank.MaxPhotoBytes)
	var e WallEntry
	if err == nil {
		e, err = h.S.AddWallEntry(ctx, a, 0, WallInput{VillageID: web.FormID(f.Get("village_id")), Name: f.Get("name"), CategoryID: web.FormID(f.Get("category_id")),
			Story: f.Get("story"), Year: web.FormInt(f.Get("year")), PhotoConsent: f.Get("photo_consent") == "1", Photos: photos})
	}
	if err != nil {
		if x, ok := errs.As(err); ok && len(x.Fields) > 0 {
			h.renderWallAdmin(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/honours/wall?year=%d", e.Year), "flash.honours_wall_added", e.ID))
}

func (h *Handlers) wallXLSX(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	f := wallFilter(r)
	list, err := h.S.StaffWall(ctx, a, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "honours.wall.admin_title", nil)
	x := excelize.NewFile()
	defer x.Close()
	sheet := x.GetSheetName(0)
	title := p.T("honours.wall.sheet")
	if f.Year != 0 {
		title = p.T("honours.wall.sheet_year", f.Year)
	}
	rows := [][]any{{p.T("honours.wall.col.year"), p.T("honours.wall.col.village"), p.T("honours.wall.col.name"), p.T("honours.wall.col.category"), p.T("honours.wall.col.story")}}
	for _, e := range list {
		rows = append(rows, []any{e.Year, people.SafeCell(e.Village), people.SafeCell(e.Name), people.SafeCell(e.Category), people.SafeCell(e.Story)})
	}
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err == nil {
			err = x.SetSheetRow(sheet, cell, &row)
		}
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	for i, wd := range []float64{8, 14, 12, 12, 60} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := x.SetColWidth(sheet, col, col, wd); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if err := x.SetSheetName(sheet, title); err != nil {
		h.App.Error(w, r, err)
		return
	}
	name := "wall.xlsx"
	if f.Year != 0 {
		name = fmt.Sprintf("wall-%d.xlsx", f.Year)
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if err := x.Write(w); err != nil {
		h.App.Log.Error("honours: wall xlsx", "err", err)
	}
}

// certificatesView is the printable page of certificates.
type certificatesView struct {
	Certificates []Certificate
}

func (h *Handlers) wallCertificates(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.Certificates(ctx, a, wallFilter(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "honours_certificates.html", "honours.certificate.page_title", certificatesView{Certificates: list}, nil, nil)
}

func (h *Handlers) apiWall(w http.ResponseWriter, r *http.Request) {
	f := wallFilter(r)
	f.TownID = townOf(auth.From(r.Context()), web.QueryInt(r, "town_id"))
	p, err := h.S.Wall(r.Context(), f)
	h.App.Reply(w, r, http.StatusOK, p, err)
}

func (h *Handlers) apiWallAdd(w http.ResponseWriter, r *http.Request) {
	var in WallInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	e, err := h.S.AddWallEntry(r.Context(), auth.From(r.Context()), 0, in)
	h.App.Reply(w, r, http.StatusCreated, e, err)
}
