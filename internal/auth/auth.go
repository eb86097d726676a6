// Package auth holds accounts, sessions and tokens, roles with scopes, the one permission check
// and the audit log. Everyone logs in by phone and password; a person may hold several roles.
package auth

import (
	"context"
	"slices"

	"siwei/internal/errs"
)

// Role is what a person may do, within a scope.
type Role string

// The roles. District admins see every town; town roles are scoped to a town; village roles to one
// village.
const (
	DistrictAdmin Role = "district_admin" // 区级管理员
	TownAdmin     Role = "town_admin"     // 镇级管理员
	SchoolAdmin   Role = "school_admin"   // 微党校管理员: the town's party-building staff (镇党建办)
	VillageAdmin  Role = "village_admin"  // 村级管理员
	Reviewer      Role = "reviewer"       // 审核员
	Shopkeeper    Role = "shopkeeper"     // 积分超市店员
	TeamLeader    Role = "team_leader"    // 志愿队长
	Expert        Role = "expert"         // 微党校专家
	AllianceAdmin Role = "alliance_admin" // 微联盟管理员: the town's staff who manage the member units, the three lists, activities and donations
	UnitLiaison   Role = "unit_liaison"   // 联盟单位联络员: a member unit's login, which sees only its own unit's records (微联盟)
	DisputeStaff  Role = "dispute_staff"  // 解纷中心工作人员: staff of the one-stop dispute centre, court or town, the only ones who see its cases
	DeptResponder Role = "dept_responder" // 职能部门答复人: a department's login, which sees only its referrals (微协商)
	CareTeam      Role = "care_team"      // 贴心服务队队员: a town cadre who visits households (微协商)
	Judge         Role = "judge"          // 评审官
	ResidentRole  Role = "resident"       // 村民
)

// Roles lists every role in display order.
var Roles = []Role{DistrictAdmin, TownAdmin, SchoolAdmin, VillageAdmin, Reviewer, Shopkeeper, TeamLeader, Expert, AllianceAdmin, UnitLiaison, DisputeStaff, DeptResponder, CareTeam, Judge, ResidentRole}

// VillageScoped reports whether a role is granted for one village (otherwise for a town, or all).
func (r Role) VillageScoped() bool {
	switch r {
	case VillageAdmin, Reviewer, Shopkeeper, TeamLeader, ResidentRole:
		return true
	}
	return false
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Grant is a role held within a scope.
type Grant struct {
	ID        int64
	Role      Role
	TownID    int64
	VillageID int64
}

// Action is something a handler asks permission for.
type Action string

// The actions of the registry; each pillar declares its own and adds their rows with Allow.
const (
	TownCreate      Action = "town.create"
	TownManage      Action = "town.manage"
	VillageRead     Action = "village.read"
	ResidentRead    Action = "resident.read"
	ResidentWrite   Action = "resident.write"
	ResidentViewID  Action = "resident.view_id"
	ResidentImport  Action = "resident.import"
	ResidentExport  Action = "resident.export"
	AccountManage   Action = "account.manage"
	RoleGrant       Action = "role.grant"
	AuditRead       Action = "audit.read"
	OfficeAct       Action = "office.act"
	SelfRead        Action = "self.read"
	SelfWrite       Action = "self.write"
	StaffConsoleUse Action = "admin.use"
)

// allowed is the permission table: which roles may take an action within their scope. A district
// admin may take every staff action anywhere; anything not listed is denied.
var allowed = map[Action][]Role{
	TownCreate:      {},
	TownManage:      {TownAdmin},
	VillageRead:     {TownAdmin, VillageAdmin, Reviewer, Shopkeeper, TeamLeader},
	ResidentRead:    {TownAdmin, VillageAdmin, Reviewer, Shopkeeper, TeamLeader},
	ResidentWrite:   {TownAdmin, VillageAdmin},
	ResidentViewID:  {TownAdmin, VillageAdmin},
	ResidentImport:  {TownAdmin, VillageAdmin},
	ResidentExport:  {TownAdmin, VillageAdmin},
	AccountManage:   {TownAdmin, VillageAdmin},
	RoleGrant:       {TownAdmin},
	AuditRead:       {TownAdmin},
	OfficeAct:       {TownAdmin, VillageAdmin, Reviewer, Shopkeeper, TeamLeader},
	StaffConsoleUse: {TownAdmin, SchoolAdmin, VillageAdmin, Reviewer, Shopkeeper, TeamLeader, Expert, AllianceAdmin, UnitLiaison, DisputeStaff, DeptResponder, CareTeam, Judge},
}

// payActions is the permission that pays a pillar's events, by the pillar's name: the first word
// of its event keys (volunteer:shift:812:resident:4411). The bank asks for it (PayAction) in each
// resident's scope before it pays; a pillar that pays points names it with AllowPay.
var payActions = map[string]Action{}

// Allow adds a pillar's rows to the permission table: which roles may take each of its actions
// within their scope. A pillar calls it from a package-level variable, so that its rows are in
// place before any of its code runs. An action given rows twice is a programming error and panics.
func Allow(rows map[Action][]Role) Rows {
	for act, roles := range rows {
		if _, dup := allowed[act]; dup {
			panic("auth: permission rows for " + string(act) + " given twice")
		}
		allowed[act] = roles
	}
	return Rows(rows)
}

// Rows are a pillar's permission rows, as Allow took them: pillars keep them for their pages to
// say who may do what.
type Rows map[Action][]Role

// AllowPay names the action whose holders pay a pillar's events, by the pillar's name (the first
// word of its event keys). The action must have rows.
func AllowPay(pillar string, act Action) Action {
	if _, ok := allowed[act]; !ok {
		panic("auth: pay action " + string(act) + " has no permission rows")
	}
	if _, dup := payActions[pillar]; dup {
		panic("auth: pay action for " + pillar + " given twice")
	}
	payActions[pillar] = act
	return act
}

// PayAction is the action that pays a pillar's events; ok is false for a pillar that pays none.
func PayAction(pillar string) (act Action, ok bool) {
	act, ok = payActions[pillar]
	return act, ok
}

// selfActions are allowed to a resident on their own record, and to staff acting for them.
var selfActions = map[Action]bool{SelfRead: true, SelfWrite: true}

// Scope is what an action touches. Zero fields are "any": a town-wide action has VillageID 0.
type Scope struct {
	TownID     int64
	VillageID  int64
	ResidentID int64
}

// Person names someone in the audit log and in office mode.
type Person struct {
	ID   int64
	Name string
}

// Actor is who is asking: an account, its grants and, in office mode, the resident acted for.
type Actor struct {
	AccountID  int64
	Name       string
	Phone      string
	ResidentID int64 // the account's own resident record, 0 for staff without one
	TownID     int64 // the town of the resident record or of the first grant
	Grants     []Grant
	ActingFor  *Person // office mode: staff acting for a resident without a phone
	MustChange bool
	Session    string // the session's token hash, to log it out
	API        bool   // authenticated by bearer token
	// LargeText is the 大字模式 of the resident the pages are for (Self): large text, higher
	// contrast, fewer items per screen.
	LargeText bool
}

// Has reports whether the actor holds the role anywhere.
func (a *Actor) Has(r Role) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role == r {
			return true
		}
	}
	return false
}

// IsStaff reports whether the actor may use the admin console at all.
func (a *Actor) IsStaff() bool {
	return a != nil && (a.Has(DistrictAdmin) || slices.ContainsFunc(a.Grants, func(g Grant) bool {
		return slices.Contains(allowed[StaffConsoleUse], g.Role)
	}))
}

// Self is the resident the actor acts as: the one acted for in office mode, else their own.
func (a *Actor) Self() int64 {
	if a == nil {
		return 0
	}
	if a.ActingFor != nil {
		return a.ActingFor.ID
	}
	return a.ResidentID
}

// Can is the one permission check: deny by default. It returns nil or an *errs.Error with code
// Unauthorized (nobody logged in) or Forbidden.
func Can(a *Actor, act Action, s Scope) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if selfActions[act] {
		if s.ResidentID != 0 && s.ResidentID == a.Self() {
			return nil
		}
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	roles, ok := allowed[act]
	if !ok {
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	for _, g := range a.Grants {
		if g.Role == DistrictAdmin {
			return nil
		}
		if !slices.Contains(roles, g.Role) {
			continue
		}
		if covers(g, s) {
			return nil
		}
	}
	return errs.New(errs.Forbidden, "error.forbidden")
}

// covers reports whether a grant's scope includes s.
func covers(g Grant, s Scope) bool {
	if g.Role.VillageScoped() {
		return s.VillageID != 0 && s.VillageID == g.VillageID
	}
	return s.TownID != 0 && s.TownID == g.TownID
}

// Visible says which villages of a town the actor may take act on: all of them, or a list.
func Visible(a *Actor, act Action, townID int64) (all bool, villages []int64) {
	if a == nil {
		return false, nil
	}
	roles := allowed[act]
	for _, g := range a.Grants {
		if g.Role == DistrictAdmin {
			return true, nil
		}
		if !slices.Contains(roles, g.Role) {
			continue
		}
		if !g.Role.VillageScoped() && (townID == 0 || g.TownID == townID) {
			return true, nil
		}
		if g.Role.VillageScoped() && (townID == 0 || g.TownID == townID) && !slices.Contains(villages, g.VillageID) {
			villages = append(villages, g.VillageID)
		}
	}
	return false, villages
}

// Towns lists the towns the actor has any grant in; nil with all=true for a district admin.
func Towns(a *Actor) (all bool, towns []int64) {
	if a == nil {
		return false, nil
	}
	for _, g := range a.Grants {
		if g.Role == DistrictAdmin {
			return true, nil
		}
		if g.TownID != 0 && !slices.Contains(towns, g.TownID) {
			towns = append(towns, g.TownID)
		}
	}
	return false, towns
}

type ctxKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// From returns the actor in ctx, or nil for an anonymous request.
func From(ctx context.Context) *Actor {
	a, _ := ctx.Value(ctxKey{}).(*Actor)
	return a
}

// Hide turns a Forbidden into a NotFound, so that staff of one village cannot learn which records
// exist in another.
func Hide(err error) error {
	if errs.Is(err, errs.Forbidden) {
		return errs.New(errs.NotFound, "error.not_found")
	}
	return err
}
