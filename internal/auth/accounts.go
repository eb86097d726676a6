package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"siwei/internal/db"
	"siwei/internal/errs"
)

var mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// maskPhone shows the first 3 and last 4 digits of a mobile number, as people.MaskPhone does: the
// audit log names whose account it was without keeping the number.
func maskPhone(s string) string {
	if len(s) != 11 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + "****" + s[7:]
}

// ValidPhone reports whether s is a mainland mobile number: 11 digits, 1[3-9]….
func ValidPhone(s string) bool { return mobileRE.MatchString(s) }

// AccountInput creates an account.
type AccountInput struct {
	Phone      string
	Name       string
	ResidentID int64
	Password   string // empty: a one-time password is generated and returned for the activation slip
	Grants     []Grant
}

// Activation is what an activation slip shows: the phone and a one-time password to change at the
// first login.
type Activation struct {
	AccountID int64
	Name      string
	Phone     string
	Password  string
}

// CreateAccount creates a login; each grant must be one the actor may give.
func (s *Service) CreateAccount(ctx context.Context, a *Actor, in AccountInput) (Activation, error) {
	in.Phone, in.Name = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Name)
	var f errs.Fields
	if !ValidPhone(in.Phone) {
		f.Add("phone", "field.phone_invalid")
	}
	if in.Name == "" {
		f.Add("name", "field.required")
	}
	if in.Password != "" {
		if err := s.checkNewPassword(ctx, &f, "password", in.Password, in.Phone, in.ResidentID); err != nil {
			return Activation{}, err
		}
	}
	for _, g := range in.Grants {
		if !g.Role.Valid() {
			f.Add("role", "auth.role_invalid")
		}
	}
	if err := f.Err(); err != nil {
		return Activation{}, err
	}
	for i, g := range in.Grants {
		if g.Role.VillageScoped() && g.VillageID != 0 {
			// The grant is stored with its village's town, as Grant does: town lists and Visible go by it.
			s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, g.VillageID).Scan(&in.Grants[i].TownID)
		}
		if err := s.canGrant(ctx, a, in.Grants[i]); err != nil {
			return Activation{}, err
		}
	}
	if in.ResidentID != 0 {
		if err := s.canManageResident(ctx, a, in.ResidentID); err != nil {
			return Activation{}, err
		}
	}
	act := Activation{Name: in.Name, Phone: in.Phone, Password: in.Password}
	mustChange := false
	if act.Password == "" {
		act.Password, mustChange = OneTimePassword(), true
	}
	hash := HashPassword(act.Password)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		act.AccountID, err = s.InsertAccount(ctx, tx, in.Phone, in.Name, in.ResidentID, hash, mustChange)
		if err != nil {
			return err
		}
		for _, g := range in.Grants {
			if err := s.insertGrant(ctx, tx, act.AccountID, g, a.AccountID); err != nil {
				return err
			}
		}
		return Audit(ctx, tx, a, AuditEntry{Action: "account.create", Entity: "account", EntityID: act.AccountID,
			TownID: a.TownID, Summary: Summarize(nil, map[string]any{"phone": maskPhone(in.Phone), "name": in.Name, "grants": in.Grants})})
	})
	if db.IsUnique(err) {
		return Activation{}, &errs.Error{Code: errs.Conflict, Key: "auth.phone_taken", Fields: []errs.FieldError{{Field: "phone", Key: "auth.phone_taken"}}}
	}
	if err != nil {
		return Activation{}, fmt.Errorf("auth: create account: %w", err)
	}
	return act, nil
}

// InsertAccount writes an account row inside tx. It decides nothing: callers validate. The demo
// and `serve --init-admin` use it to create the first accounts.
func (s *Service) InsertAccount(ctx context.Context, tx db.Querier, phone, name string, residentID int64, hash string, mustChange bool) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO accounts (phone, name, resident_id, password_hash, must_change_password, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, phone, name, db.NullID(residentID), hash, mustChange, s.Now()).Scan(&id)
	return id, err
}

// InsertGrant writes a role grant inside tx; like InsertAccount it decides nothing.
func (s *Service) InsertGrant(ctx context.Context, tx db.Querier, accountID int64, g Grant) error {
	return s.insertGrant(ctx, tx, accountID, g, 0)
}

func (s *Service) insertGrant(ctx context.Context, tx db.Querier, accountID int64, g Grant, by int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, village_id, granted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		accountID, string(g.Role), db.NullID(g.TownID), db.NullID(g.VillageID), db.NullID(by), s.Now())
	return err
}

// canGrant checks that a may give g: village roles need account.manage on the village (residents)
// or role.grant on its town (staff roles); town roles need role.grant on the town. Someone who may
// not take the action anywhere is refused with Forbidden, whatever g names; someone who may take
// it elsewhere learns no more than about a scope that does not exist: NotFound.
func (s *Service) canGrant(ctx context.Context, a *Actor, g Grant) error {
	act := RoleGrant
	switch {
	case g.Role == DistrictAdmin:
		act = TownCreate
	case g.Role == ResidentRole:
		act = AccountManage
	}
	if err := MayAnywhere(a, act); err != nil {
		return err
	}
	if g.Role == DistrictAdmin {
		return Can(a, TownCreate, Scope{})
	}
	if g.Role.VillageScoped() {
		if g.VillageID == 0 {
			return errs.Field("village_id", "field.required")
		}
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, g.VillageID).Scan(&g.TownID); err != nil {
			if db.IsNoRows(err) {
				return errs.New(errs.NotFound, "error.not_found")
			}
			return err
		}
		if g.Role == ResidentRole {
			return Hide(Can(a, AccountManage, Scope{TownID: g.TownID, VillageID: g.VillageID}))
		}
	}
	if g.TownID == 0 {
		return errs.Field("town_id", "field.required")
	}
	return Hide(Can(a, RoleGrant, Scope{TownID: g.TownID}))
}

// GrantableRoles are the roles, in display order, that a may give within a town, by the rules of
// canGrant: a district admin every role; a town admin the town's roles and the village roles of
// its villages; a village admin only a resident's login (村民) in its village. The account forms
// offer these and nothing else.
func GrantableRoles(a *Actor, townID int64) []Role {
	var out []Role
	for _, r := range Roles {
		var ok bool
		switch {
		case r == DistrictAdmin:
			ok = Can(a, TownCreate, Scope{}) == nil
		case r == ResidentRole:
			all, villages := Visible(a, AccountManage, townID)
			ok = all || len(villages) > 0
		default:
			ok = Can(a, RoleGrant, Scope{TownID: townID}) == nil
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// MayAnywhere refuses, with Unauthorized or Forbidden, an actor who may take act in no scope at
// all, before any record is read. What it answers depends only on who asks, so it reveals nothing
// about the object asked for.
func MayAnywhere(a *Actor, act Action) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if all, villages := Visible(a, act, 0); !all && len(villages) == 0 {
		return errs.New(errs.Forbidden, "error.forbidden")
	}
	return nil
}

// Refuse is the refusal of an action on a record the actor may not act on: Forbidden (or
// Unauthorized) to someone who may take the action nowhere, NotFound to staff elsewhere, who learn
// nothing of this record, exactly as for a missing one.
func Refuse(a *Actor, act Action) error {
	if err := MayAnywhere(a, act); err != nil {
		return err
	}
	return errs.New(errs.NotFound, "error.not_found")
}

func (s *Service) canManageResident(ctx context.Context, a *Actor, residentID int64) error {
	if err := MayAnywhere(a, AccountManage); err != nil {
		return err
	}
	var sc Scope
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, village_id FROM residents WHERE id = $1`, residentID).Scan(&sc.TownID, &sc.VillageID)
	if db.IsNoRows(err) {
		return errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return err
	}
	return Hide(Can(a, AccountManage, sc))
}

// manageScope is where an actor manages accounts: everywhere (a district admin), or some towns
// (town admins) and some villages (village admins).
type manageScope struct {
	all      bool
	towns    []int64
	villages []int64
}

func manageScopeOf(a *Actor) manageScope {
	var sc manageScope
	if a == nil {
		return sc
	}
	for _, g := range a.Grants {
		switch {
		case g.Role == DistrictAdmin:
			sc.all = true
		case !slices.Contains(allowed[AccountManage], g.Role):
		case g.Role.VillageScoped():
			sc.villages = append(sc.villages, g.VillageID)
		default:
			sc.towns = append(sc.towns, g.TownID)
		}
	}
	return sc
}

// holds reports whether a grant or resident record of this town and village lies within the scope.
// A district admin's grant (no town, no village) lies within a district admin's scope only.
func (sc manageScope) holds(townID, villageID int64) bool {
	return sc.all || (villageID != 0 && slices.Contains(sc.villages, villageID)) || (townID != 0 && slices.Contains(sc.towns, townID))
}

// accountInScope is the one rule for reaching an account (查看, 授权, 撤销, 重置密码): every grant it
// holds and its resident record must lie within where the actor manages accounts. An account with
// neither is a district admin's alone. Outside, the account is as missing as one that does not
// exist: NotFound. It returns the account's grants, each with the town of its village.
func (s *Service) accountInScope(ctx context.Context, a *Actor, accountID int64) ([]Grant, error) {
	if err := MayAnywhere(a, AccountManage); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	var residentID sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT resident_id FROM accounts WHERE id = $1`, accountID).Scan(&residentID)
	if db.IsNoRows(err) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: account scope: %w", err)
	}
	// A village grant's town is its village's, whatever town the grant row was stored with.
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.role, COALESCE(v.town_id, r.town_id, 0), COALESCE(r.village_id, 0)
		FROM account_roles r LEFT JOIN villages v ON v.id = r.village_id WHERE r.account_id = $1 ORDER BY r.id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("auth: account scope: %w", err)
	}
	defer rows.Close()
	var grants []Grant
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.ID, &g.Role, &g.TownID, &g.VillageID); err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sc := manageScopeOf(a)
	in := sc.all
	if !in && (len(grants) > 0 || residentID.Valid) {
		in = true
		for _, g := range grants {
			in = in && g.Role != DistrictAdmin && sc.holds(g.TownID, g.VillageID)
		}
		if in && residentID.Valid {
			var town, village int64
			err := q.QueryRowContext(ctx, `SELECT town_id, village_id FROM residents WHERE id = $1`, residentID.Int64).Scan(&town, &village)
			if err != nil {
				return nil, fmt.Errorf("auth: account scope: %w", err)
			}
			in = sc.holds(town, village)
		}
	}
	if !in {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	return grants, nil
}

// Grant gives an existing account a role. The account must lie wholly within the actor's scope
// (accountInScope) before anything about the grant is looked at.
func (s *Service) Grant(ctx context.Context, a *Actor, accountID int64, g Grant) error {
	if _, err := s.accountInScope(ctx, a, accountID); err != nil {
		return err
	}
	if !g.Role.Valid() {
		return errs.Field("role", "auth.role_invalid")
	}
	if g.Role.VillageScoped() && g.VillageID != 0 {
		s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, g.VillageID).Scan(&g.TownID)
	}
	if err := s.canGrant(ctx, a, g); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE id = $1`, accountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errs.New(errs.NotFound, "error.not_found")
		}
		if err := s.insertGrant(ctx, tx, accountID, g, a.AccountID); err != nil {
			return err
		}
		return Audit(ctx, tx, a, AuditEntry{Action: "role.grant", Entity: "account", EntityID: accountID, TownID: g.TownID,
			VillageID: g.VillageID, Summary: Summarize(nil, g)})
	})
}

// Revoke removes a grant, and returns the account that held it.
func (s *Service) Revoke(ctx context.Context, a *Actor, grantID int64) (int64, error) {
	var g Grant
	var accountID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT account_id, role, COALESCE(town_id, 0), COALESCE(village_id, 0) FROM account_roles WHERE id = $1`, grantID).
		Scan(&accountID, &g.Role, &g.TownID, &g.VillageID)
	if db.IsNoRows(err) {
		if err := MayAnywhere(a, AccountManage); err != nil {
			return 0, err
		}
		return 0, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return 0, err
	}
	if _, err := s.accountInScope(ctx, a, accountID); err != nil {
		return 0, err
	}
	if err := s.canGrant(ctx, a, g); err != nil {
		return 0, err
	}
	return accountID, s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_roles WHERE id = $1`, grantID); err != nil {
			return err
		}
		return Audit(ctx, tx, a, AuditEntry{Action: "role.revoke", Entity: "account", EntityID: accountID, TownID: g.TownID,
			VillageID: g.VillageID, Summary: Summarize(g, nil)})
	})
}

// Account is one account within the actor's reach (accountInScope), with its grants in the order
// they were given: what the accounts page says about an account it has just changed.
func (s *Service) Account(ctx context.Context, a *Actor, accountID int64) (Account, error) {
	grants, err := s.accountInScope(ctx, a, accountID)
	if err != nil {
		return Account{}, err
	}
	acc := Account{ID: accountID, Grants: grants}
	err = s.DB.Read().QueryRowContext(ctx, `SELECT phone, name, COALESCE(resident_id, 0) FROM accounts WHERE id = $1`, accountID).
		Scan(&acc.Phone, &acc.Name, &acc.ResidentID)
	if err != nil {
		return Account{}, fmt.Errorf("auth: account: %w", err)
	}
	return acc, nil
}

// ResetPassword gives an account a one-time password for an activation slip; its owner must change
// it at the next login, and their sessions end. The account must lie wholly within the actor's
// scope (accountInScope), and a staff account is reset only by someone who may grant all its roles.
func (s *Service) ResetPassword(ctx context.Context, a *Actor, accountID int64) (Activation, error) {
	act := Activation{AccountID: accountID}
	grants, err := s.accountInScope(ctx, a, accountID)
	if err != nil {
		return act, err
	}
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT name, phone FROM accounts WHERE id = $1`, accountID).Scan(&act.Name, &act.Phone); err != nil {
		if db.IsNoRows(err) {
			return act, errs.New(errs.NotFound, "error.not_found")
		}
		return act, fmt.Errorf("auth: reset password: %w", err)
	}
	for _, g := range grants {
		if g.Role != ResidentRole {
			if err := s.canGrant(ctx, a, g); err != nil {
				return act, err
			}
		}
	}
	act.Password = OneTimePassword()
	h := HashPassword(act.Password)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, must_change_password = TRUE WHERE id = $2`, h, accountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		return Audit(ctx, tx, a, AuditEntry{Action: "account.reset_password", Entity: "account", EntityID: accountID, TownID: a.TownID})
	})
	return act, err
}

// OneTimePassword is ten characters that are easy to read off a slip (no 0/O, 1/l/I).
func OneTimePassword() string {
	const alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	b := make([]byte, 10)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// StartOffice puts the actor's session in office mode for a resident: what follows is recorded as
// "staff X for resident Y".
func (s *Service) StartOffice(ctx context.Context, a *Actor, residentID int64) error {
	if err := MayAnywhere(a, OfficeAct); err != nil {
		return err
	}
	var sc Scope
	var name string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, village_id, name FROM residents WHERE id = $1 AND status = 'active'`, residentID).Scan(&sc.TownID, &sc.VillageID, &name)
	if db.IsNoRows(err) {
		return errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return err
	}
	if err := Can(a, OfficeAct, sc); err != nil {
		return Hide(err) // another village's resident is as missing as one that does not exist
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET acting_for = $1 WHERE token_hash = $2`, residentID, a.Session); err != nil {
			return err
		}
		return Audit(ctx, tx, a, AuditEntry{Action: "office.start", Entity: "resident", EntityID: residentID, ForID: residentID, ForName: name,
			TownID: sc.TownID, VillageID: sc.VillageID})
	})
}

// EndOffice leaves office mode.
func (s *Service) EndOffice(ctx context.Context, a *Actor) error {
	if a == nil {
		return nil
	}
	_, err := s.DB.Write().ExecContext(ctx, `UPDATE sessions SET acting_for = NULL WHERE token_hash = $1`, a.Session)
	return err
}

// Accounts lists the accounts that lie wholly within where the actor manages accounts — every
// grant and the resident record, as accountInScope asks — newest first, 50 a page. An account
// with one grant elsewhere is not listed: its phone and roles are not the actor's to see.
func (s *Service) Accounts(ctx context.Context, a *Actor, q string, page int) ([]Account, error) {
	if err := MayAnywhere(a, AccountManage); err != nil {
		return nil, err
	}
	sc := manageScopeOf(a)
	page = max(page, 1)
	args := []any{}
	where := "1=1"
	if !sc.all {
		in := func(col string, ids []int64) string {
			if len(ids) == 0 {
				return "1=0"
			}
			ph := make([]string, len(ids))
			for i, id := range ids {
				args = append(args, id)
				ph[i] = fmt.Sprintf("$%d", len(args))
			}
			return col + " IN (" + strings.Join(ph, ", ") + ")"
		}
		// The same test for a grant and for a resident record; a district admin's grant has
		// neither town nor village and so lies outside.
		grantIn := "(" + in("COALESCE(r.village_id, 0)", sc.villages) + " OR " + in("COALESCE(v.town_id, r.town_id, 0)", sc.towns) + ")"
		residentIn := "(" + in("p.village_id", sc.villages) + " OR " + in("p.town_id", sc.towns) + ")"
		where += ` AND (a.resident_id IS NOT NULL OR EXISTS (SELECT 1 FROM account_roles r WHERE r.account_id = a.id))
			AND NOT EXISTS (SELECT 1 FROM account_roles r LEFT JOIN villages v ON v.id = r.village_id WHERE r.account_id = a.id AND NOT ` + grantIn + `)
			AND (a.resident_id IS NULL OR EXISTS (SELECT 1 FROM residents p WHERE p.id = a.resident_id AND ` + residentIn + `))`
	}
	if q = strings.TrimSpace(q); q != "" {
		args = append(args, db.LikePrefix(q))
		where += fmt.Sprintf(` AND (a.phone LIKE $%d ESCAPE '\' OR a.name LIKE $%d ESCAPE '\')`, len(args), len(args))
	}
	args = append(args, 50, (page-1)*50)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT a.id, a.phone, a.name, COALESCE(a.resident_id, 0), a.must_change_password, a.disabled, a.created_at
		FROM accounts a WHERE `+where+fmt.Sprintf(` ORDER BY a.id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("auth: accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var ac Account
		if err := rows.Scan(&ac.ID, &ac.Phone, &ac.Name, &ac.ResidentID, &ac.MustChange, &ac.Disabled, &ac.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, ac)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Grants, err = s.grants(ctx, s.DB.Read(), out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SearchAudit lists audit entries of a town, newest first; town admins only.
func (s *Service) SearchAudit(ctx context.Context, a *Actor, f AuditFilter) ([]AuditEntry, error) {
	if err := Can(a, AuditRead, Scope{TownID: f.TownID}); err != nil {
		return nil, err
	}
	f.Page = max(f.Page, 1)
	args := []any{f.TownID}
	where := "town_id = $1"
	if q := strings.TrimSpace(f.Q); q != "" {
		args = append(args, db.LikePrefix(q))
		n := len(args)
		where += fmt.Sprintf(` AND (action LIKE $%d ESCAPE '\' OR entity LIKE $%d ESCAPE '\' OR actor_name LIKE $%d ESCAPE '\' OR for_name LIKE $%d ESCAPE '\')`, n, n, n, n)
	}
	if !f.From.IsZero() {
		args = append(args, f.From.UTC())
		where += fmt.Sprintf(" AND at >= $%d", len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UTC())
		where += fmt.Sprintf(" AND at < $%d", len(args))
	}
	args = append(args, AuditPageSize, (f.Page-1)*AuditPageSize)
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, at, COALESCE(actor_account_id, 0), actor_name, COALESCE(for_resident_id, 0), for_name,
		COALESCE(town_id, 0), COALESCE(village_id, 0), action, entity, COALESCE(entity_id, 0), summary FROM audit_log WHERE `+where+
		fmt.Sprintf(" ORDER BY id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("auth: audit search: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.ForID, &e.ForName, &e.TownID, &e.VillageID, &e.Action, &e.Entity, &e.EntityID, &e.Summary); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneLoginAttempts deletes attempts older than the rate-limit window; the server calls it hourly.
func (s *Service) PruneLoginAttempts(ctx context.Context) error {
	_, err := s.DB.Write().ExecContext(ctx, `DELETE FROM login_attempts WHERE at < $1`, s.Now().Add(-cmp.Or(s.Limits.Window, loginWindow)-time.Hour))
	return err
}

// AccountOfResident returns the login tied to a resident record, or nil if there is none. The
// caller has already checked that the actor may see the resident.
func (s *Service) AccountOfResident(ctx context.Context, residentID int64) (*Account, error) {
	ac := &Account{}
	var last sql.NullTime
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, phone, name, must_change_password, disabled, created_at, last_login_at FROM accounts WHERE resident_id = $1`, residentID).
		Scan(&ac.ID, &ac.Phone, &ac.Name, &ac.MustChange, &ac.Disabled, &ac.CreatedAt, &last)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: account of resident: %w", err)
	}
	ac.ResidentID, ac.LastLoginAt = residentID, last.Time
	ac.Grants, err = s.grants(ctx, s.DB.Read(), ac.ID)
	return ac, err
}
