package people

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// The account pages: staff create logins and grant roles, reset a resident's password and print
// an activation slip, act for a resident in office mode, and read the audit log.
func (h *Handlers) registerAccounts() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/accounts", Access: web.Staff, Summary: "accounts and roles"}, h.accounts)
	a.Handle(web.Route{Method: "POST", Path: "/admin/accounts", Access: web.Staff, Summary: "create a staff account"}, h.createAccount)
	a.Handle(web.Route{Method: "POST", Path: "/admin/accounts/{id}/grants", Access: web.Staff, Summary: "grant a role"}, h.grant)
	a.Handle(web.Route{Method: "POST", Path: "/admin/grants/{id}/delete", Access: web.Staff, Summary: "revoke a role"}, h.revoke)
	a.Handle(web.Route{Method: "POST", Path: "/admin/accounts/{id}/reset", Access: web.Staff, Summary: "reset a password and print a slip"}, h.reset)
	a.Handle(web.Route{Method: "POST", Path: "/admin/residents/{id}/account", Access: web.Staff, Summary: "open a resident's app login"}, h.residentAccount)
	a.Handle(web.Route{Method: "POST", Path: "/admin/office/{id}", Access: web.Staff, Summary: "act for a resident (office mode)"}, h.startOffice)
	a.Handle(web.Route{Method: "POST", Path: "/admin/office/end", Access: web.Staff, Summary: "leave office mode"}, h.endOffice)
	a.Handle(web.Route{Method: "GET", Path: "/admin/audit", Access: web.Staff, Summary: "audit log"}, h.audit)
}

func (h *Handlers) accountOf(r *http.Request, residentID int64) (*auth.Account, error) {
	return h.Auth.AccountOfResident(r.Context(), residentID)
}

func (h *Handlers) accounts(w http.ResponseWriter, r *http.Request) {
	h.renderAccounts(w, r, http.StatusOK, nil)
}

func (h *Handlers) renderAccounts(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	a := auth.From(r.Context())
	page := max(int(web.QueryInt(r, "page")), 1)
	list, err := h.Auth.Accounts(r.Context(), a, r.URL.Query().Get("q"), page)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, _, err := h.S.VillagesFor(r.Context(), a, a.TownID, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	names := map[int64]string{}
	for _, v := range vs {
		names[v.ID] = v.Name
	}
	roles, grantable, role := grantChoices(a, vs)
	var village int64 // chosen first: the one village there is, else none
	if len(grantable) == 1 {
		village = grantable[0].ID
	}
	if ferr != nil {
		village = web.FormID(r.PostForm.Get("village_id"))
	}
	p := h.App.NewPage(r, "accounts.title", map[string]any{"Accounts": list, "Villages": grantable, "VillageNames": names, "Roles": roles,
		"Role": role, "VillageID": village, "VillageRoles": slices.ContainsFunc(roles, auth.Role.VillageScoped), "Page": page, "Q": r.URL.Query().Get("q")})
	if err := h.changedAccount(r, p, names); err != nil {
		h.App.Error(w, r, err)
		return
	}
	if ferr != nil {
		p.Form = r.PostForm
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	h.App.Render(w, r, status, "accounts.html", p)
}

// changedAccount says on the accounts page what a grant or a revoke changed, naming the account
// and its roles as they now stand: the account of the redirect's flash, looked up within the
// viewer's reach, so another village's account is named to nobody.
func (h *Handlers) changedAccount(r *http.Request, p *web.Page, villages map[int64]string) error {
	if p.FlashID() == 0 {
		return nil
	}
	acc, err := h.Auth.Account(r.Context(), auth.From(r.Context()), p.FlashID())
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	roles := make([]string, len(acc.Grants))
	for i, g := range acc.Grants {
		roles[i] = p.T("role." + string(g.Role))
		if v, ok := villages[g.VillageID]; ok {
			roles[i] = p.T("accounts.role_in", roles[i], v)
		}
	}
	if len(roles) > 0 {
		p.Flashed("flash.granted", acc.Name, roles[len(roles)-1]) // the newest grant is the one just given
	}
	now := p.T("accounts.no_roles")
	if len(roles) > 0 {
		now = strings.Join(roles, p.T("audit.and"))
	}
	p.Flashed("flash.revoked", acc.Name, now)
	return nil
}

// grantChoices are what the account forms offer: the roles the actor may give in its town, the
// villages (of vs) it may give village roles in, and the role chosen first, a village's admin
// when it may give that (the usual new staff account), else the first it may give.
func grantChoices(a *auth.Actor, vs []Village) (roles []auth.Role, villages []Village, first auth.Role) {
	roles = auth.GrantableRoles(a, a.TownID)
	all, ids := auth.Visible(a, auth.AccountManage, a.TownID)
	for _, v := range vs {
		if all || slices.Contains(ids, v.ID) {
			villages = append(villages, v)
		}
	}
	switch {
	case slices.Contains(roles, auth.VillageAdmin):
		first = auth.VillageAdmin
	case len(roles) > 0:
		first = roles[0]
	}
	return roles, villages, first
}

func grantFromForm(r *http.Request, townID int64) auth.Grant {
	g := auth.Grant{Role: auth.Role(r.PostForm.Get("role")), VillageID: web.FormID(r.PostForm.Get("village_id"))}
	if !g.Role.VillageScoped() {
		g.TownID, g.VillageID = townID, 0
	}
	return g
}

func (h *Handlers) createAccount(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	a := auth.From(r.Context())
	act, err := h.Auth.CreateAccount(r.Context(), a, auth.AccountInput{Phone: r.PostForm.Get("phone"), Name: r.PostForm.Get("name"),
		Grants: []auth.Grant{grantFromForm(r, a.TownID)}})
	if err != nil {
		h.renderAccounts(w, r, 0, err)
		return
	}
	h.slip(w, r, act)
}

func (h *Handlers) grant(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if _, ok := h.App.Form(w, r); !ok {
		return
	}
	a := auth.From(r.Context())
	if err := h.Auth.Grant(r.Context(), a, id, grantFromForm(r, a.TownID)); err != nil {
		h.renderAccounts(w, r, 0, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/accounts", "flash.granted", id))
}

func (h *Handlers) revoke(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	account, err := h.Auth.Revoke(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/accounts", "flash.revoked", account))
}

func (h *Handlers) reset(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	act, err := h.Auth.ResetPassword(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.slip(w, r, act)
}

// residentAccount opens an app login for a resident with their phone and a one-time password.
func (h *Handlers) residentAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	a := auth.From(r.Context())
	res, err := h.S.Resident(r.Context(), a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if res.Phone == "" {
		h.renderResident(w, r, 0, errs.Field("phone", "people.no_phone"))
		return
	}
	act, err := h.Auth.CreateAccount(r.Context(), a, auth.AccountInput{Phone: res.Phone, Name: res.Name, ResidentID: res.ID,
		Grants: []auth.Grant{{Role: auth.ResidentRole, TownID: res.TownID, VillageID: res.VillageID}}})
	if err != nil {
		h.renderResident(w, r, 0, err)
		return
	}
	h.slip(w, r, act)
}

// slip shows an activation slip to print and hand over.
func (h *Handlers) slip(w http.ResponseWriter, r *http.Request, act auth.Activation) {
	loc, err := h.S.Zone(r.Context(), auth.From(r.Context()).TownID)
	if err != nil {
		// The password is set: the slip must show, dated in the default zone if need be.
		h.App.Log.Error("slip: town zone", "err", err)
		loc = clock.Zone("")
	}
	p := h.App.NewPage(r, "slip.title", map[string]any{"A": act, "URL": "http://" + r.Host + "/login", "Date": clock.In(loc, h.S.Now).Today()})
	h.App.Render(w, r, http.StatusOK, "slip.html", p)
}

func (h *Handlers) startOffice(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	if err := h.Auth.StartOffice(r.Context(), auth.From(r.Context()), id); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, "/")
}

func (h *Handlers) endOffice(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	back := "/admin/residents"
	if a.ActingFor != nil {
		back += "/" + strconv.FormatInt(a.ActingFor.ID, 10)
	}
	if err := h.Auth.EndOffice(r.Context(), a); err != nil {
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, back)
}

func (h *Handlers) audit(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	q := r.URL.Query()
	f := auth.AuditFilter{TownID: townOf(r), Q: q.Get("q"), Page: int(web.QueryInt(r, "page"))}
	// Days are the town's: a day typed into the filter starts at midnight where its staff are.
	loc, err := h.S.Zone(r.Context(), f.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	if t, ok := clock.ParseDay(q.Get("from"), loc); ok {
		f.From = t
	}
	if t, ok := clock.ParseDay(q.Get("to"), loc); ok && !t.IsZero() {
		f.To = t.AddDate(0, 0, 1)
	}
	entries, err := h.Auth.SearchAudit(r.Context(), a, f)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	names, err := h.S.AuditNames(r.Context(), entries)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	data := map[string]any{"F": f, "From": q.Get("from"), "To": q.Get("to")}
	p := h.App.NewPage(r, "audit.title", data)
	data["Entries"] = AuditLines(p.T, entries, names)
	h.App.Render(w, r, http.StatusOK, "audit.html", p)
}
