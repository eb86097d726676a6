package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"siwei/internal/db"
)

// Service manages accounts, roles, sessions and the audit log.
type Service struct {
	DB *db.DB
	// SessionTTL is how long a login lasts; API tokens last as long.
	SessionTTL time.Duration
	// Now is the clock; tests may replace it.
	Now func() time.Time

	// Limits throttle logins and password changes; NewService sets DefaultLimits.
	Limits Limits
	// DeviceKey signs device cookies: a browser that logged in to a phone before keeps its own
	// allowance of attempts (device.go). Without a key no browser is trusted.
	DeviceKey []byte
	// DecryptID opens a resident's sealed ID number, so that a password built from it can be
	// refused. The server sets it from the people package's cipher, which auth cannot import.
	DecryptID func(sealed []byte) (string, error)

	// prepared holds statements prepared once; behind a pointer so that a Service can be copied.
	prepared *prepared
}

// prepared is what the copies of a Service share: its prepared statements and its counters.
type prepared struct {
	authenticate atomic.Pointer[sql.Stmt]
	// hashes counts the passwords hashed to check a login or an old password.
	hashes atomic.Int64
}

// NewService returns a Service with default settings.
func NewService(d *db.DB) *Service {
	return &Service{DB: d, SessionTTL: 30 * 24 * time.Hour, Now: db.Now, Limits: DefaultLimits, prepared: &prepared{}}
}

// minPasswordLen is the shortest password accepted.
const minPasswordLen = 8

// Account is a login: a phone and a password, optionally tied to a resident record.
type Account struct {
	ID          int64
	Phone       string
	Name        string
	ResidentID  int64
	MustChange  bool
	Disabled    bool
	CreatedAt   time.Time
	LastLoginAt time.Time
	Grants      []Grant
}

// HashPassword hashes with argon2id (19 MiB, 2 passes: OWASP's minimum), in PHC string form. It
// waits for one of the hash slots (hashing.go).
func HashPassword(pw string) string {
	acquireHash(context.Background(), 0)
	defer releaseHash()
	return hashPassword(pw)
}

// CheckPassword reports whether pw matches a hash made by HashPassword. It waits for one of the
// hash slots (hashing.go).
func CheckPassword(hash, pw string) bool {
	acquireHash(context.Background(), 0)
	defer releaseHash()
	return checkPassword(hash, pw)
}

// Cost is argon2id's price for a new password hash: memory in KiB and passes, on one lane.
type Cost struct{ Memory, Passes uint32 }

// ProductionCost is OWASP's minimum for argon2id: 19 MiB and 2 passes.
var ProductionCost = Cost{Memory: 19 * 1024, Passes: 2}

// cost is the price of new hashes. A check always pays the price written in the hash it checks.
var cost = ProductionCost

// UseTestCost makes new password hashes cheap (64 KiB, 1 pass) in a test binary, as Django's test
// runner does with its fast hasher: under the race detector one argon2id of 19 MiB takes most of a
// second, and the suite logs in thousands of times. The test helpers (dbtest) call it before any
// test runs; checks pay the cost written in each hash, so every account made afterwards logs in
// cheaply, and an unknown phone still costs the same as a known one. It panics outside a test
// binary, so a server can never run with it. TestPasswordHash checks ProductionCost itself.
func UseTestCost() {
	if !testing.Testing() {
		panic("auth: UseTestCost outside a test binary")
	}
	cost = Cost{Memory: 64, Passes: 1}
	dummyHash = HashPassword("siwei-no-such-account")
}

// hashPassword is HashPassword for a caller that holds a hash slot.
func hashPassword(pw string) string { return hashWith(cost, pw) }

// hashWith hashes pw at the cost c, in PHC string form.
func hashWith(c Cost, pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(pw), salt, c.Passes, c.Memory, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=1$%s$%s", c.Memory, c.Passes,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// checkPassword is CheckPassword for a caller that holds a hash slot.
func checkPassword(hash, pw string) bool {
	var m, t uint32
	var p uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the phone is unknown, so that timing does not tell which
// phones have accounts.
var dummyHash = HashPassword("siwei-no-such-account")

// Session is a login: a cookie for browsers or a bearer token for API clients.
type Session struct {
	Token     string // shown once, never stored
	ExpiresAt time.Time
	// Device is the device cookie to give the browser that logged in (device.go), and
	// DeviceExpires when it ends.
	Device        string
	DeviceExpires time.Time
}

func (s *Service) openSession(ctx context.Context, tx db.Querier, accountID int64, kind string) (Session, error) {
	tok := randomToken()
	exp := s.Now().Add(s.SessionTTL)
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		tokenHash(tok), accountID, kind, randomToken(), s.Now(), exp)
	return Session{Token: tok, ExpiresAt: exp}, err
}

// Logout ends the actor's session.
func (s *Service) Logout(ctx context.Context, a *Actor) error {
	if a == nil || a.Session == "" {
		return nil
	}
	_, err := s.DB.Write().ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, a.Session)
	return err
}

// qAuthenticate loads a session's account, the town of its resident record and its grants in one
// round trip: one row per grant (one row with NULL grant columns when there is none).
const qAuthenticate = `SELECT a.id, a.name, a.phone, a.resident_id, a.must_change_password, s.acting_for, s.expires_at, s.kind,
	r.town_id, COALESCE(r.large_text, FALSE), g.id, g.role, g.town_id, g.village_id
	FROM sessions s JOIN accounts a ON a.id = s.account_id
	LEFT JOIN residents r ON r.id = a.resident_id
	LEFT JOIN account_roles g ON g.account_id = a.id
	WHERE s.token_hash = $1 AND NOT a.disabled
	ORDER BY g.id`

// authQuery runs qAuthenticate, prepared once on the reader pool: every request runs it, and
// parsing it (three queries, before) took a fifth of the server's CPU under load.
func (s *Service) authQuery(ctx context.Context, tokenHash string) (*sql.Rows, error) {
	if s.prepared == nil {
		return s.DB.Read().QueryContext(ctx, qAuthenticate, tokenHash)
	}
	st := s.prepared.authenticate.Load()
	if st == nil {
		var err error
		if st, err = s.DB.Read().PrepareContext(ctx, qAuthenticate); err != nil {
			return nil, err
		}
		if !s.prepared.authenticate.CompareAndSwap(nil, st) {
			st.Close()
			st = s.prepared.authenticate.Load()
		}
	}
	return st.QueryContext(ctx, tokenHash)
}

// Authenticate returns the actor for a session token, or nil when the token is unknown or expired.
func (s *Service) Authenticate(ctx context.Context, token string) (*Actor, error) {
	if token == "" || len(token) > 100 {
		return nil, nil
	}
	h := tokenHash(token)
	rows, err := s.authQuery(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("auth: authenticate: %w", err)
	}
	defer rows.Close()
	var a *Actor
	var actingFor, resident, residentTown sql.NullInt64
	var exp time.Time
	var kind string
	var large bool
	for rows.Next() {
		var gid, gtown, gvillage sql.NullInt64
		var role sql.NullString
		row := &Actor{Session: h}
		if err := rows.Scan(&row.AccountID, &row.Name, &row.Phone, &resident, &row.MustChange, &actingFor, &exp, &kind,
			&residentTown, &large, &gid, &role, &gtown, &gvillage); err != nil {
			return nil, fmt.Errorf("auth: authenticate: %w", err)
		}
		if a == nil {
			a = row
		}
		if gid.Valid {
			a.Grants = append(a.Grants, Grant{ID: gid.Int64, Role: Role(role.String), TownID: gtown.Int64, VillageID: gvillage.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: authenticate: %w", err)
	}
	rows.Close()
	if a == nil || !exp.After(s.Now()) {
		return nil, nil
	}
	a.API = kind == "api"
	a.ResidentID = resident.Int64
	a.LargeText = large
	if a.ResidentID != 0 {
		if !residentTown.Valid {
			return nil, fmt.Errorf("auth: authenticate: account %d names resident %d, who does not exist", a.AccountID, a.ResidentID)
		}
		a.TownID = residentTown.Int64
	}
	for _, g := range a.Grants {
		if a.TownID == 0 && g.TownID != 0 {
			a.TownID = g.TownID
		}
	}
	if actingFor.Valid {
		p := &Person{ID: actingFor.Int64}
		var sc Scope
		var status string
		var large bool
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT name, town_id, village_id, status, large_text FROM residents WHERE id = $1`, p.ID).
			Scan(&p.Name, &sc.TownID, &sc.VillageID, &status, &large); err != nil {
			return nil, fmt.Errorf("auth: authenticate: %w", err)
		}
		// Office mode holds only while the staff member may still act for that resident: a
		// revoked grant or a resident moved away ends it at the next request.
		if status == "active" && Can(a, OfficeAct, sc) == nil {
			// The pages are for the resident sitting beside the staff member: in their text size.
			a.ActingFor, a.LargeText = p, large
		}
	}
	return a, nil
}

func (s *Service) grants(ctx context.Context, q db.Querier, accountID int64) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, role, COALESCE(town_id, 0), COALESCE(village_id, 0) FROM account_roles WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("auth: grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.ID, &g.Role, &g.TownID, &g.VillageID); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
