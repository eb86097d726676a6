package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/errs"
)

// Access says who may reach a route at all; the service's permission check decides the rest.
type Access int

// The access levels a route declares.
const (
	Public   Access = iota // anyone, logged in or not
	LoggedIn               // any account
	Staff                  // staff roles only (the admin console)
)

// Route is one registered handler with what the route table, the OpenAPI document and the
// permission-matrix test need to know about it.
type Route struct {
	Method  string
	Path    string
	Access  Access
	API     bool
	Summary string
	// Request and Response are example values whose types describe the JSON bodies.
	Request  any
	Response any
	// Statuses are an API route's answers on success, the usual one first: 201 Created, 202
	// Accepted (put on public notice), 204 No Content; 200 alongside 201 is a replayed
	// idempotency key answered with the first result. None means 200 alone.
	Statuses []int
	handler  http.Handler
}

// OK reports whether status is one of the route's answers on success.
func (rt Route) OK(status int) bool {
	if len(rt.Statuses) == 0 {
		return status == http.StatusOK
	}
	return slices.Contains(rt.Statuses, status)
}

// App is the web application: the mux, the templates, the catalog and the session loader.
type App struct {
	Catalog Catalog
	Log     *slog.Logger
	Auth    *auth.Service
	// Secure marks every cookie Secure and sends HSTS, whatever the request says (the serve flag
	// --secure, for a deployment behind TLS that does not forward its scheme).
	Secure bool
	// Zone is the time zone of a town, in which pages show times (Page.Time); nil, or a town it
	// does not know, shows them in clock.DefaultZone.
	Zone    func(ctx context.Context, townID int64) (*time.Location, error)
	mux     *http.ServeMux
	routes  []Route
	tmpl    map[string]*template.Template
	layout  *template.Template
	metrics *metrics
	ops     Ops
	nav     []NavItem
	tiles   []Tile
	todos   []func(ctx context.Context, a *auth.Actor) ([]Todo, error)
	figures []func(ctx context.Context, a *auth.Actor, townID int64) ([]Figure, error)
}

// New returns an App with its static assets and health routes registered. Template sets from
// each pillar are added with Templates before the first request.
func New(cat Catalog, as *auth.Service, log *slog.Logger) *App {
	a := &App{Catalog: cat, Log: log, Auth: as, mux: http.NewServeMux(), tmpl: map[string]*template.Template{}, metrics: newMetrics()}
	a.layout = template.Must(template.New("layout").Funcs(a.funcs()).ParseFS(templateFS, "templates/layout/*.html"))
	a.Templates(templateFS, "templates/pages/*.html")
	a.registerBase()
	a.registerPasswordAPI()
	return a
}

// Routes lists every registered route.
func (a *App) Routes() []Route { return a.routes }

// Handle registers a page or API handler. Every route goes through here so that it is in the
// route table; an API route is one whose path starts with /api/.
func (a *App) Handle(rt Route, h http.HandlerFunc) {
	rt.API = strings.HasPrefix(rt.Path, "/api/")
	rt.handler = h
	a.routes = append(a.routes, rt)
	pattern := rt.Method + " " + rt.Path
	a.mux.Handle(pattern, a.guard(rt, h))
}

// PasswordChangeRequired is the code of the API's refusal while the actor still holds a one-time
// password: answered 403, with the code for clients to send the person to change it.
const PasswordChangeRequired errs.Code = "password_change_required"

// beforeChange are the routes an account whose password is one-time may reach: changing it, and
// leaving. Every other page sends it to /password, and every other API route refuses it, so that
// the one who reset the password cannot go on using the account with it.
var beforeChange = map[string]bool{
	"GET /password": true, "POST /password": true, "POST /logout": true,
	"POST /api/v1/auth/password": true, "POST /api/v1/auth/logout": true,
}

// guard refuses a request whose actor lacks the route's access level before the handler runs.
func (a *App) guard(rt Route, h http.Handler) http.Handler {
	pattern := rt.Method + " " + rt.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, ok := r.Context().Value(routeKey{}).(*routeInfo); ok {
			ri.pattern = r.Pattern
		}
		actor := auth.From(r.Context())
		switch {
		case rt.Access >= LoggedIn && actor == nil:
			if rt.API {
				a.Error(w, r, errs.New(errs.Unauthorized, "error.unauthorized"))
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case rt.Access == Staff && !actor.IsStaff():
			a.Error(w, r, errs.New(errs.Forbidden, "error.forbidden"))
			return
		case actor != nil && actor.MustChange && rt.Access >= LoggedIn && !beforeChange[pattern]:
			if rt.API {
				a.Error(w, r, errs.New(PasswordChangeRequired, "error.password_change_required"))
				return
			}
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Templates parses a pillar's page templates: each file is a page, executed inside the layout;
// files whose names start with "_" are partials shared by the pillar's pages.
func (a *App) Templates(fsys fs.FS, pattern string) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("web: no templates match %s", pattern))
	}
	var partials, pages []string
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			partials = append(partials, n)
		} else {
			pages = append(pages, n)
		}
	}
	for _, n := range pages {
		t := template.Must(a.layout.Clone())
		template.Must(t.ParseFS(fsys, append([]string{n}, partials...)...))
		base := path.Base(n)
		if _, dup := a.tmpl[base]; dup {
			panic("web: template defined twice: " + base)
		}
		a.tmpl[base] = t
	}
}

// Page is what every template receives.
type Page struct {
	Lang    string
	Title   string
	Actor   *auth.Actor
	Path    string
	Flash   string
	Errors  map[string]string // field → translated message
	Error   string            // a message for the whole form
	Form    url.Values
	Data    any
	catalog Catalog
	loc     *time.Location
	app     *App
	ctx     context.Context

	// flashKey and flashID are the outcome a redirect named (flash.go).
	flashKey string
	flashID  int64
}

// T translates a message key in the page's language.
func (p *Page) T(key string, args ...any) string { return p.catalog.T(p.Lang, key, args...) }

// May reports whether the page's actor may take an action anywhere at all, for the tabs and links
// a template offers to each role ({{if $.May "consult.manage"}}); the service still decides for
// every record.
func (p *Page) May(act string) bool {
	all, villages := auth.Visible(p.Actor, auth.Action(act), 0)
	return all || len(villages) > 0
}

// TArgs translates a key with arguments held in a slice (a refusal's Args), which templates
// cannot spread into T.
func (p *Page) TArgs(key string, args []any) string { return p.catalog.T(p.Lang, key, args...) }

// Value is the submitted value of a form field, for re-filling a refused form.
func (p *Page) Value(field string) string {
	if p.Form == nil {
		return ""
	}
	return p.Form.Get(field)
}

// ValueID is the record a refused form had picked (a picker's field), 0 for none: the picker
// re-shows it chosen.
func (p *Page) ValueID(field string) int64 { return FormID(p.Value(field)) }

// NewPage starts a page for the request.
func (a *App) NewPage(r *http.Request, titleKey string, data any) *Page {
	p := &Page{Lang: Lang(r), Actor: auth.From(r.Context()), Path: r.URL.Path, Data: data, catalog: a.Catalog, app: a, ctx: r.Context()}
	p.Title = p.T(titleKey)
	p.loc = a.zone(r.Context(), p.Actor)
	p.readFlash(r)
	return p
}

// Time writes a moment as pages show it, in the zone of the page's town (the actor's): {{$.Time .At}}.
func (p *Page) Time(t time.Time) string {
	if p.loc == nil { // a page not made by NewPage
		return clock.Minute(t, clock.Zone(""))
	}
	return clock.Minute(t, p.loc)
}

// Day writes the town's calendar day of a moment (when a record was made), as Time writes the
// moment; a calendar date (a birth date, a shift's day) is written with the date function.
func (p *Page) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if p.loc == nil {
		return clock.Day(t.In(clock.Zone("")))
	}
	return clock.Day(t.In(p.loc))
}

// zone is the zone a page for the actor shows times in: its town's, else the default.
func (a *App) zone(ctx context.Context, actor *auth.Actor) *time.Location {
	if a.Zone == nil || actor == nil || actor.TownID == 0 {
		return clock.Zone("")
	}
	loc, err := a.Zone(ctx, actor.TownID)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			a.Log.Error("town zone", "town", actor.TownID, "err", err)
		}
		return clock.Zone("")
	}
	return loc
}

// Render executes a page template inside the layout. With HX-Request set only the page's
// "content" block is sent, for htmx to swap in.
func (a *App) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	t, ok := a.tmpl[name]
	if !ok {
		a.Error(w, r, fmt.Errorf("web: no template %s", name))
		return
	}
	block := "layout"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
		block = "content"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		a.Error(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// RenderForm shows a page, with a refused form's field errors and submitted values when ferr
// is a refusal, answered with the refusal's status; any other error is answered by Error.
func (a *App) RenderForm(w http.ResponseWriter, r *http.Request, name, titleKey string, data any, form url.Values, ferr error) {
	p := a.NewPage(r, titleKey, data)
	p.Form = form
	a.RenderPage(w, r, name, p, ferr)
}

// RenderPage is RenderForm for a page the handler made with NewPage, to fill more of it first
// (the names of a redirect's outcome: Page.Flashed).
func (a *App) RenderPage(w http.ResponseWriter, r *http.Request, name string, p *Page, ferr error) {
	status := http.StatusOK
	if ferr != nil {
		var err error
		if status, err = a.FormErrors(p, ferr); err != nil {
			a.Error(w, r, err)
			return
		}
	}
	a.Render(w, r, status, name, p)
}

// FormErrors fills a page's field errors from a refusal and returns the status to answer with;
// errors that are not refusals are returned for the caller to pass to Error.
func (a *App) FormErrors(p *Page, err error) (int, error) {
	e, ok := errs.As(err)
	if !ok {
		return 0, err
	}
	p.Errors = map[string]string{}
	for _, f := range e.Fields {
		p.Errors[f.Field] = p.T(f.Key, f.Args...)
	}
	p.Error = p.T(e.Key, e.Args...)
	return statusOf(e.Code), nil
}

// statusOf is the one table from error code to HTTP status.
func statusOf(c errs.Code) int {
	switch c {
	case errs.Invalid:
		return http.StatusUnprocessableEntity
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Forbidden, PasswordChangeRequired:
		return http.StatusForbidden
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Conflict:
		return http.StatusConflict
	case errs.TooMany:
		return http.StatusTooManyRequests
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Problem is an application/problem+json body (RFC 9457) with siwei's code and field errors.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Code   string         `json:"code"`
	Detail string         `json:"detail"`
	Errors []ProblemField `json:"errors,omitempty"`
}

// ProblemField is one field's error in a Problem.
type ProblemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error answers with an error: problem+json for the API, an error page otherwise. Refusals show
// their message; anything else is logged and shown as a generic failure.
func (a *App) Error(w http.ResponseWriter, r *http.Request, err error) {
	lang := Lang(r)
	e, ok := errs.As(err)
	if !ok {
		if errors.Is(err, context.Canceled) {
			return
		}
		a.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errs.New("internal", "error.internal")
	}
	status := statusOf(e.Code)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: string(e.Code), Detail: a.Catalog.T(lang, e.Key, e.Args...)}
		for _, f := range e.Fields {
			p.Errors = append(p.Errors, ProblemField{Field: f.Field, Code: f.Key, Message: a.Catalog.T(lang, f.Key, f.Args...)})
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(p)
		return
	}
	p := a.NewPage(r, "error.title", nil)
	p.Error = p.T(e.Key, e.Args...)
	for _, f := range e.Fields {
		p.Error += "；" + p.T(f.Key, f.Args...)
	}
	a.Render(w, r, status, "error.html", p)
}

// JSON writes v as the response body.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// maxBody bounds every JSON request body.
const maxBody = 1 << 20

// Decode reads a JSON request body into v: at most 1 MiB, no unknown fields, one value. A body
// that does not decode is refused with the field that failed, when known.
func Decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return &errs.Error{Code: errs.Invalid, Key: "error.bad_json", Fields: []errs.FieldError{{Field: te.Field, Key: "field.wrong_type"}}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &errs.Error{Code: errs.Invalid, Key: "error.bad_json", Fields: []errs.FieldError{{Field: f, Key: "field.unknown"}}}
		}
		return errs.New(errs.Invalid, "error.bad_json")
	}
	// Nothing but space may follow the value: More would let a stray "]" or "}" through.
	if _, err := dec.Token(); err != io.EOF {
		return errs.New(errs.Invalid, "error.bad_json")
	}
	return nil
}

// ID parses a path value as a positive id; anything else is a 404.
func ID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.New(errs.NotFound, "error.not_found")
	}
	return id, nil
}

// PathID is the "id" of the request's path for a handler; when there is none, the 404 is sent
// and ok is false.
func (a *App) PathID(w http.ResponseWriter, r *http.Request) (id int64, ok bool) {
	id, err := ID(r, "id")
	if err != nil {
		a.Error(w, r, err)
		return 0, false
	}
	return id, true
}

// Reply answers an API call with a service's result as JSON with status, or with its error.
func (a *App) Reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		a.Error(w, r, err)
		return
	}
	JSON(w, status, v)
}

// Created is the status of an API call that makes a record under an idempotency key: 201, or 200
// when the key was used before and the answer is the first record.
func Created(replayed bool) int {
	if replayed {
		return http.StatusOK
	}
	return http.StatusCreated
}

// DecodeJSON reads an API call's JSON body into v (Decode); when it does not decode, the refusal
// is sent and ok is false.
func (a *App) DecodeJSON(w http.ResponseWriter, r *http.Request, v any) (ok bool) {
	if err := Decode(r, v); err != nil {
		a.Error(w, r, err)
		return false
	}
	return true
}

// QueryInt parses a query parameter as a non-negative int, 0 when absent or malformed.
func QueryInt(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Redirect answers a form post: with htmx, HX-Redirect; otherwise 303 See Other.
func Redirect(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (a *App) funcs() template.FuncMap {
	return template.FuncMap{
		// date writes a calendar day (a birth date, a shift's day) as it is stored; moments are
		// written in the town's zone by the page: {{$.Time t}}, {{$.Day t}}.
		"date":      clock.Day,
		"add":       func(a, b int) int { return a + b },
		"picker":    picker,
		"hasPrefix": strings.HasPrefix,
		// asset names a static file by its content: {{asset "app.js"}} is /static/app.<hash>.js.
		"asset": Asset,
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i + 1
			}
			return out
		},
		"has": func(list any, v any) bool {
			l := reflect.ValueOf(list)
			if l.Kind() != reflect.Slice {
				return false
			}
			for i := 0; i < l.Len(); i++ {
				if fmt.Sprint(l.Index(i).Interface()) == fmt.Sprint(v) {
					return true
				}
			}
			return false
		},
		"query": func(kv ...any) template.URL {
			q := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if s := fmt.Sprint(kv[i+1]); s != "" && s != "0" {
					q.Set(fmt.Sprint(kv[i]), s)
				}
			}
			return template.URL("?" + q.Encode())
		},
	}
}

// Handler is the whole application with its middleware.
func (a *App) Handler() http.Handler {
	var h http.Handler = a.notFound(a.mux)
	h = a.authenticate(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = a.observe(h)
	return h
}

// notFound answers a path no route matches with the error page in the layout (problem+json under
// /api/), in the person's language with a way home, instead of the mux's plain English "404 page
// not found". A path that a route serves with another method keeps the mux's 405.
func (a *App) notFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" && !otherMethod(mux, r) {
			a.Error(w, r, errs.New(errs.NotFound, "error.page_not_found"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// otherMethod reports whether a route serves the request's path with another method.
func otherMethod(mux *http.ServeMux, r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		o := r.WithContext(r.Context())
		o.Method = m
		if _, pattern := mux.Handler(o); pattern != "" {
			return true
		}
	}
	return false
}
