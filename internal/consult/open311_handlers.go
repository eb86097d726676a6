package consult

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// open311Changeset is when the API's endpoints last changed, as discovery says.
const open311Changeset = "2026-12-01T00:00:00+08:00"

// open311Spec is the specification the endpoints follow.
const open311Spec = "http://wiki.open311.org/GeoReport_v2"

// registerOpen311 adds the Open311 GeoReport v2 API (public: it checks an api_key or a resident's
// token itself), in JSON and in XML, and the staff's page of its clients' keys.
func (h *Handlers) registerOpen311() {
	a := h.App
	for _, ext := range []string{"json", "xml"} {
		a.Handle(web.Route{Method: "GET", Path: "/open311/v2/discovery." + ext, Access: web.Public, Summary: "Open311 GeoReport v2: the endpoints and formats (" + ext + ")"}, h.open311Discovery)
		a.Handle(web.Route{Method: "GET", Path: "/open311/v2/services." + ext, Access: web.Public, Summary: "Open311: a town's services, need and topic categories (" + ext + ")"}, h.open311Services)
		a.Handle(web.Route{Method: "GET", Path: "/open311/v2/requests." + ext, Access: web.Public, Summary: "Open311: the town's requests filed through Open311 (" + ext + ")"}, h.open311Requests)
		a.Handle(web.Route{Method: "POST", Path: "/open311/v2/requests." + ext, Access: web.Public, Summary: "Open311: file a need or a topic with an api_key or a resident's token (" + ext + ")"}, h.open311File)
	}
	a.Handle(web.Route{Method: "GET", Path: "/open311/v2/services/{file}", Access: web.Public, Summary: "Open311: a service's definition, {code}.json or {code}.xml"}, h.open311Definition)
	a.Handle(web.Route{Method: "GET", Path: "/open311/v2/requests/{file}", Access: web.Public, Summary: "Open311: one request, {id}.json or {id}.xml"}, h.open311Request)
	a.Handle(web.Route{Method: "GET", Path: "/open311/v2/tokens/{file}", Access: web.Public, Summary: "Open311: the request a token names, {token}.json or {token}.xml"}, h.open311Token)
	a.Handle(web.Route{Method: "GET", Path: "/admin/consult/open311", Access: web.Staff, Summary: "Open311 clients of the town: issue and revoke their keys"}, h.open311Admin)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/open311/clients", Access: web.Staff, Summary: "issue a key to a new Open311 client, shown once"}, h.open311Issue)
	a.Handle(web.Route{Method: "POST", Path: "/admin/consult/open311/clients/{id}/revoke", Access: web.Staff, Summary: "revoke an Open311 client's key, with a reason"}, h.open311Revoke)
}

// ---- answers in the spec's shapes

// open311Format is the format a path ends in ("json" or "xml") and the name before it; ok is
// false for any other ending.
func open311Format(file string) (name, format string, ok bool) {
	for _, f := range []string{"json", "xml"} {
		if n, found := strings.CutSuffix(file, "."+f); found && n != "" {
			return n, f, true
		}
	}
	return "", "", false
}

// open311Ext is the format of the request's own path.
func open311Ext(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, ".xml") {
		return "xml"
	}
	return "json"
}

// open311Error is one error of the spec's list: the HTTP status and what is wrong, naming the
// field.
type open311Error struct {
	Code        int    `json:"code" xml:"code"`
	Description string `json:"description" xml:"description"`
}

// open311XMLErrors is the XML root of errors.
type open311XMLErrors struct {
	XMLName xml.Name       `xml:"errors"`
	Errors  []open311Error `xml:"error"`
}

// open311XMLServices is the XML root of the services list.
type open311XMLServices struct {
	XMLName  xml.Name         `xml:"services"`
	Services []Open311Service `xml:"service"`
}

// open311XMLRequests is the XML root of requests, receipts and tokens.
type open311XMLRequests struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests any      `xml:"request"`
}

// open311Definition is a service's definition: it asks nothing beyond the spec's fields.
type open311Definition struct {
	XMLName    xml.Name           `json:"-" xml:"service_definition"`
	Code       string             `json:"service_code" xml:"service_code"`
	Attributes []open311Attribute `json:"attributes" xml:"attributes>attribute"`
}

// open311Attribute is an attribute a service asks for; the services ask none yet.
type open311Attribute struct {
	Code        string `json:"code" xml:"code"`
	Description string `json:"description" xml:"description"`
}

// open311Discovery is the discovery document.
type open311Discover struct {
	XMLName    xml.Name          `json:"-" xml:"discovery"`
	Changeset  string            `json:"changeset" xml:"changeset"`
	Contact    string            `json:"contact" xml:"contact"`
	KeyService string            `json:"key_service" xml:"key_service"`
	Endpoints  []open311Endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

// open311Endpoint is one endpoint discovery lists.
type open311Endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

// open311Write answers v in the format asked: JSON as it is, XML under its root (xmlv).
func (h *Handlers) open311Write(w http.ResponseWriter, format string, status int, v, xmlv any) {
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte(xml.Header))
		xml.NewEncoder(w).Encode(xmlv)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// open311Fail answers an error in the spec's format: 400 for what is missing or wrong, 403 for a
// key or token that does not do, 404 for what is not found; each field named in its description.
func (h *Handlers) open311Fail(w http.ResponseWriter, r *http.Request, format string, err error) {
	e, ok := errs.As(err)
	if !ok {
		h.App.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errs.New("internal", "error.internal")
	}
	status := http.StatusInternalServerError
	switch e.Code {
	case errs.Invalid, errs.Conflict, errs.TooLarge:
		status = http.StatusBadRequest
	case errs.Forbidden, errs.Unauthorized:
		status = http.StatusForbidden
	case errs.NotFound:
		status = http.StatusNotFound
	case errs.TooMany:
		status = http.StatusTooManyRequests
	}
	lang := web.Lang(r)
	var list []open311Error
	for _, f := range e.Fields {
		list = append(list, open311Error{Code: status, Description: f.Field + ": " + h.App.Catalog.T(lang, f.Key, f.Args...)})
	}
	if len(list) == 0 {
		list = append(list, open311Error{Code: status, Description: h.App.Catalog.T(lang, e.Key, e.Args...)})
	}
	h.open311Write(w, format, status, list, open311XMLErrors{Errors: list})
}

// open311Town is the town the request's jurisdiction_id names (query or form).
func (h *Handlers) open311Town(r *http.Request) (Open311Town, error) {
	return h.S.Open311Jurisdiction(r.Context(), r.FormValue("jurisdiction_id"))
}

// ---- the handlers

func (h *Handlers) open311Discovery(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	d := open311Discover{Changeset: open311Changeset, Contact: h.App.Catalog.T(web.Lang(r), "consult.open311.contact"),
		KeyService: h.App.Catalog.T(web.Lang(r), "consult.open311.key_service"),
		Endpoints: []open311Endpoint{{Specification: open311Spec, URL: scheme + "://" + r.Host + "/open311/v2", Changeset: open311Changeset, Type: "production",
			Formats: []string{"text/xml", "application/json"}}}}
	h.open311Write(w, open311Ext(r), http.StatusOK, d, d)
}

func (h *Handlers) open311Services(w http.ResponseWriter, r *http.Request) {
	format := open311Ext(r)
	town, err := h.open311Town(r)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	list, err := h.S.Open311Services(r.Context(), town)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	h.open311Write(w, format, http.StatusOK, list, open311XMLServices{Services: list})
}

func (h *Handlers) open311Definition(w http.ResponseWriter, r *http.Request) {
	code, format, ok := open311Format(r.PathValue("file"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	town, err := h.open311Town(r)
	if err == nil {
		_, err = h.S.Open311Service(r.Context(), town, code)
	}
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	d := open311Definition{Code: code, Attributes: []open311Attribute{}}
	h.open311Write(w, format, http.StatusOK, d, d)
}

func (h *Handlers) open311File(w http.ResponseWriter, r *http.Request) {
	format := open311Ext(r)
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		h.open311Fail(w, r, format, errs.New(errs.Invalid, "error.invalid"))
		return
	}
	town, err := h.open311Town(r)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	f := r.PostForm
	in := Open311Input{ServiceCode: f.Get("service_code"), Description: f.Get("description"), Lat: f.Get("lat"), Long: f.Get("long"),
		AddressString: f.Get("address_string"), Email: f.Get("email"), FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
		Phone: f.Get("phone"), MediaURL: f.Get("media_url"), APIKey: f.Get("api_key")}
	rc, err := h.S.Open311File(r.Context(), auth.From(r.Context()), town, in)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	list := []Open311Receipt{rc}
	h.open311Write(w, format, http.StatusCreated, list, open311XMLRequests{Requests: list})
}

func (h *Handlers) open311Requests(w http.ResponseWriter, r *http.Request) {
	format := open311Ext(r)
	town, err := h.open311Town(r)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	q := r.URL.Query()
	f := Open311Filter{ServiceCode: strings.TrimSpace(q.Get("service_code"))}
	for _, id := range strings.Split(q.Get("service_request_id"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			f.IDs = append(f.IDs, id)
		}
	}
	for _, st := range strings.Split(q.Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, st)
		}
	}
	for _, d := range []struct {
		field string
		to    *time.Time
	}{{"start_date", &f.Start}, {"end_date", &f.End}} {
		if v := strings.TrimSpace(q.Get(d.field)); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				h.open311Fail(w, r, format, errs.Field(d.field, "consult.open311.date_invalid"))
				return
			}
			*d.to = t
		}
	}
	list, err := h.S.Open311Requests(r.Context(), town, f)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	h.open311Write(w, format, http.StatusOK, list, open311XMLRequests{Requests: list})
}

func (h *Handlers) open311Request(w http.ResponseWriter, r *http.Request) {
	id, format, ok := open311Format(r.PathValue("file"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	town, err := h.open311Town(r)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	req, err := h.S.Open311Request(r.Context(), town, id)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	list := []Open311Request{req}
	h.open311Write(w, format, http.StatusOK, list, open311XMLRequests{Requests: list})
}

func (h *Handlers) open311Token(w http.ResponseWriter, r *http.Request) {
	token, format, ok := open311Format(r.PathValue("file"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	town, err := h.open311Town(r)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	t, err := h.S.Open311Token(r.Context(), town, token)
	if err != nil {
		h.open311Fail(w, r, format, err)
		return
	}
	list := []Open311Token{t}
	h.open311Write(w, format, http.StatusOK, list, open311XMLRequests{Requests: list})
}

// ---- the staff's page of clients

// open311View is the clients page: the town's clients, and a key issued just now (shown once).
type open311View struct {
	Clients []Open311Client
	Issued  Open311Client
	Key     string
	Base    string
	Town    string
}

// open311Render draws the clients page with what was just done.
func (h *Handlers) open311Render(w http.ResponseWriter, r *http.Request, status int, v open311View, form map[string][]string, ferr error) {
	a := auth.From(r.Context())
	clients, err := h.S.Open311Clients(r.Context(), a, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v.Clients = clients
	v.Base = "/open311/v2"
	if err := h.S.DB.Read().QueryRowContext(r.Context(), `SELECT code FROM towns WHERE id = $1`, a.TownID).Scan(&v.Town); err != nil && !db.IsNoRows(err) {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "consult.open311.title", v)
	p.Form = form
	if id := p.FlashID(); id != 0 {
		for _, c := range clients {
			if c.ID == id {
				p.Flashed("flash.consult_open311_revoked", c.Name)
			}
		}
	}
	if v.Key != "" {
		p.Flash = p.T("flash.consult_open311_issued", v.Issued.Name)
	}
	if ferr != nil {
		st, err := h.App.FormErrors(p, ferr)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		status = st
	}
	h.App.Render(w, r, status, "admin_consult_open311.html", p)
}

func (h *Handlers) open311Admin(w http.ResponseWriter, r *http.Request) {
	h.open311Render(w, r, http.StatusOK, open311View{}, nil, nil)
}

// open311Issue issues a key and shows it on the answer itself, once: a key never travels in an
// address, so this action answers with the page rather than redirecting.
func (h *Handlers) open311Issue(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	c, key, err := h.S.IssueOpen311Key(r.Context(), a, 0, f.Get("name"))
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) && (e.Code == errs.Invalid || e.Code == errs.Conflict) {
			h.open311Render(w, r, http.StatusUnprocessableEntity, open311View{}, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.open311Render(w, r, http.StatusCreated, open311View{Issued: c, Key: key}, nil, nil)
}

func (h *Handlers) open311Revoke(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	id := web.FormID(r.PathValue("id"))
	c, err := h.S.open311Client(r.Context(), h.S.DB.Read(), id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		h.App.Error(w, r, err)
		return
	}
	if err != nil || !manages(a, c.TownID) {
		h.App.Error(w, r, auth.Refuse(a, PermManage))
		return
	}
	reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "consult.open311.confirm_revoke", What: "consult.open311.confirm_revoke_what", Args: []any{c.Name}, Back: "/admin/consult/open311"})
	if !ok {
		return
	}
	if _, err := h.S.RevokeOpen311Client(r.Context(), a, id, reason); err != nil {
		h.App.Error(w, r, err)
		return
	}
	http.Redirect(w, r, web.FlashURL("/admin/consult/open311", "flash.consult_open311_revoked", id), http.StatusSeeOther)
}
