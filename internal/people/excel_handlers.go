package people

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/web"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func (h *Handlers) registerExcel() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/import", Access: web.Staff, Summary: "import residents page"}, h.importPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/import", Access: web.Staff, Summary: "import residents from .xlsx"}, h.importPost)
	a.Handle(web.Route{Method: "GET", Path: "/admin/import/template.xlsx", Access: web.Staff, Summary: "import template"}, h.importTemplate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/export", Access: web.Staff, Summary: "export a village's residents to .xlsx"}, h.export)
}

// importView is the import page: the villages for export, and a refused import's row errors.
type importView struct {
	Villages  []Village
	Imported  int
	Rows      []RowError
	ErrorBook template.URL
}

func (h *Handlers) importPage(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	vs, _, err := h.S.VillagesFor(r.Context(), a, a.TownID, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.Render(w, r, http.StatusOK, "import.html", h.App.NewPage(r, "import.title", importView{Villages: vs}))
}

func (h *Handlers) importPost(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	vs, _, err := h.S.VillagesFor(r.Context(), a, a.TownID, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := importView{Villages: vs}
	p := h.App.NewPage(r, "import.title", &v)
	status := http.StatusOK
	// The slot is taken before the upload is read and held until its error workbook is written:
	// that is where an import's memory goes.
	release, err := h.S.BeginImport(r.Context())
	if err != nil {
		w.Header().Set("Retry-After", "10")
	} else {
		defer release()
	}
	var data []byte
	if err == nil {
		data, err = uploaded(w, r)
	}
	if err == nil {
		var rep ImportReport
		rep, err = h.S.ImportResidents(r.Context(), a, a.TownID, bytes.NewReader(data))
		v.Imported, v.Rows = rep.Imported, rep.Errors
		if len(rep.Errors) > 0 {
			book, berr := ErrorWorkbook(data, rep.Errors, func(k string) string { return p.T(k) })
			if berr == nil {
				v.ErrorBook = template.URL("data:" + xlsxType + ";base64," + base64.StdEncoding.EncodeToString(book))
			}
		}
	}
	if err != nil {
		if status, err = h.App.FormErrors(p, err); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.Render(w, r, status, "import.html", p)
}

// uploaded reads the "file" part of a multipart form, refusing more than the import limit.
func uploaded(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxImportBytes+1<<20)
	f, hdr, err := r.FormFile("file")
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, fileError(errs.TooLarge, "import.too_large")
	case err != nil:
		return nil, fileError(errs.Invalid, "import.no_file")
	}
	defer f.Close()
	if hdr.Size > MaxImportBytes {
		return nil, fileError(errs.TooLarge, "import.too_large")
	}
	return io.ReadAll(f)
}

func (h *Handlers) importTemplate(w http.ResponseWriter, r *http.Request) {
	b, err := ImportTemplate()
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	attachment(w, "居民导入模板.xlsx")
	w.Write(b)
}

func (h *Handlers) export(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	v, err := h.S.Village(r.Context(), a, web.QueryInt(r, "village_id"))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := h.S.ExportResidents(r.Context(), a, v.ID, &buf); err != nil {
		h.App.Error(w, r, err)
		return
	}
	attachment(w, v.Name+"居民.xlsx")
	buf.WriteTo(w)
}

func attachment(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="export.xlsx"; filename*=UTF-8''`+strings.ReplaceAll(url.PathEscape(name), "'", "%27"))
}
