package consult

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/volunteer"
)

// ---- Open311 GeoReport v2 (开放接口)
//
// Any client written for the GeoReport v2 API can file and follow a request with a town: 微志愿's
// need categories are services "need.<category>", the town's topic categories "topic.<code>" (one
// of the six) or "topic.<id>" (one the town added). The jurisdiction_id is the town's code
// (towns.code). A request is filed with an api_key town staff issued to a client, or with a
// resident's bearer token (the app's API token): the resident files as themself.
//
// Choices the spec leaves open, made here:
//   - A need (need.*) is always a person's own: 微志愿 files it for the resident who asks. It
//     needs a resident's token; an api_key alone is refused with 403, since a key cannot speak
//     for a resident (a phone number alone would let any client file in anyone's name).
//   - A topic (topic.*) filed with an api_key alone is the whole town's, its proposer the client;
//     with a resident's token it is of the resident's village, theirs.
//   - The requester's email, names and phone, lat/long and media_url are checked and not kept:
//     the address_string is added to the description for staff to read.
//   - Lists and single requests show only what was filed through Open311, with no personal data:
//     a need's description (a person's circumstances) is never shown, a topic's is.

// open311Closed are the states of a need or a topic that Open311 calls closed.
var open311Closed = []string{volunteer.NeedDone, volunteer.NeedRated, volunteer.NeedRefused, TopicDecided, TopicDeclined, TopicMerged}

// Bounds of what an Open311 client sends.
const (
	maxOpen311Name    = 40
	maxOpen311Address = 200
	maxOpen311URL     = 500
	maxOpen311List    = 1000
	maxOpen311Need    = 1000
	open311TitleLen   = 30
)

// Open311Town is the town a jurisdiction_id names.
type Open311Town struct {
	ID   int64
	Code string
	Name string
}

// Open311Client is a client of the API that a town's staff issued a key to: its name, when it was
// issued and by whom, when it last filed a request, and whether and why it was revoked.
type Open311Client struct {
	ID            int64     `json:"id"`
	TownID        int64     `json:"town_id"`
	Name          string    `json:"name"`
	CreatedByName string    `json:"created_by_name"`
	CreatedAt     time.Time `json:"created_at"`
	LastUsed      time.Time `json:"last_used,omitzero"`
	Requests      int       `json:"requests"`
	RevokedAt     time.Time `json:"revoked_at,omitzero"`
	RevokeReason  string    `json:"revoke_reason,omitempty"`
}

// Revoked reports whether the client's key no longer works.
func (c Open311Client) Revoked() bool { return !c.RevokedAt.IsZero() }

// Open311Service is one service of a town: a need category or a topic category.
type Open311Service struct {
	Code        string `json:"service_code" xml:"service_code"`
	Name        string `json:"service_name" xml:"service_name"`
	Description string `json:"description" xml:"description"`
	Metadata    bool   `json:"metadata" xml:"metadata"`
	Type        string `json:"type" xml:"type"`
	Keywords    string `json:"keywords" xml:"keywords"`
	Group       string `json:"group" xml:"group"`
	kind        string // "need" or "topic"
	need        string // the need's category
	categoryID  int64  // the topic's category
}

// Open311Input is a request a client posts: the spec's fields, as sent.
type Open311Input struct {
	ServiceCode   string
	Description   string
	Lat, Long     string
	AddressString string
	Email         string
	FirstName     string
	LastName      string
	Phone         string
	MediaURL      string
	APIKey        string
}

// Open311Receipt answers a filed request: its id, the token it can also be followed by, a notice
// of what happens next, and no account.
type Open311Receipt struct {
	ID        string `json:"service_request_id" xml:"service_request_id"`
	Token     string `json:"token" xml:"token"`
	Notice    string `json:"service_notice" xml:"service_notice"`
	AccountID *int64 `json:"account_id" xml:"account_id"`
}

// Open311Request is a request as the spec shows it: no names, phones or addresses of people.
type Open311Request struct {
	ID                string `json:"service_request_id" xml:"service_request_id"`
	Status            string `json:"status" xml:"status"`
	StatusNotes       string `json:"status_notes" xml:"status_notes"`
	ServiceName       string `json:"service_name" xml:"service_name"`
	ServiceCode       string `json:"service_code" xml:"service_code"`
	Description       string `json:"description" xml:"description"`
	AgencyResponsible string `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  string `json:"expected_datetime" xml:"expected_datetime"`
	Address           string `json:"address" xml:"address"`
	Zipcode           string `json:"zipcode" xml:"zipcode"`
	MediaURL          string `json:"media_url" xml:"media_url"`
	created           time.Time
}

// Open311Filter narrows GET requests: ids (which override the rest), a service code, a period of
// filing (the last 90 days when none is given) and statuses.
type Open311Filter struct {
	IDs         []string
	ServiceCode string
	Start, End  time.Time
	Statuses    []string
}

// Open311Token is what a token names: the request's id once known.
type Open311Token struct {
	ID    string `json:"service_request_id" xml:"service_request_id"`
	Token string `json:"token" xml:"token"`
}

// open311T translates a message key in the language the service writes outcomes in.
func (s *Service) open311T(key string, args ...any) string {
	if s.Notify != nil && s.Notify.T != nil {
		return s.Notify.T(key, args...)
	}
	return key
}

// open311Code is a service's code: its kind ("need" or "topic"), a dot, and the category.
func open311Code(kind, category string) string { return kind + "." + category }

// open311Notice is the notice a request of a kind is answered with: what happens next.
func (s *Service) open311Notice(kind string) string {
	if kind == "need" {
		return s.open311T("consult.open311.notice_need")
	}
	return s.open311T("consult.open311.notice_topic")
}

// open311Hash is the stored form of a client's key.
func open311Hash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// open311Random is n random bytes written in hex.
func open311Random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- clients and their keys

// Open311Clients lists a town's clients (the actor's town when townID is 0), the newest first;
// the town's admins see them.
func (s *Service) Open311Clients(ctx context.Context, a *auth.Actor, townID int64) ([]Open311Client, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	if !manages(a, townID) {
		return nil, auth.Refuse(a, PermManage)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT c.id, c.town_id, c.name, COALESCE(ac.name, ''), c.created_at, c.revoked_at, c.revoke_reason,
		(SELECT COUNT(*) FROM consult_open311_requests r WHERE r.client_id = c.id)
		FROM consult_open311_clients c LEFT JOIN accounts ac ON ac.id = c.created_by WHERE c.town_id = $1 ORDER BY c.created_at DESC, c.id DESC`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: open311 clients: %w", err)
	}
	defer rows.Close()
	out := []Open311Client{}
	for rows.Next() {
		var c Open311Client
		var revoked sql.Null[time.Time]
		if err := rows.Scan(&c.ID, &c.TownID, &c.Name, &c.CreatedByName, &c.CreatedAt, &revoked, &c.RevokeReason, &c.Requests); err != nil {
			return nil, fmt.Errorf("consult: open311 clients: %w", err)
		}
		c.RevokedAt = revoked.V
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	// The last use is read per client: SQLite answers MAX of a timestamp as text.
	for i := range out {
		if out[i].Requests == 0 {
			continue
		}
		err := s.DB.Read().QueryRowContext(ctx, `SELECT created_at FROM consult_open311_requests WHERE client_id = $1 ORDER BY created_at DESC LIMIT 1`, out[i].ID).Scan(&out[i].LastUsed)
		if err != nil {
			return nil, fmt.Errorf("consult: open311 client used: %w", err)
		}
	}
	return out, nil
}

// open311Client reads a client with no check of who asks.
func (s *Service) open311Client(ctx context.Context, q db.Querier, id int64) (Open311Client, error) {
	var c Open311Client
	var revoked sql.Null[time.Time]
	err := q.QueryRowContext(ctx, `SELECT id, town_id, name, created_at, revoked_at, revoke_reason FROM consult_open311_clients WHERE id = $1`, id).
		Scan(&c.ID, &c.TownID, &c.Name, &c.CreatedAt, &revoked, &c.RevokeReason)
	if db.IsNoRows(err) {
		return c, notFound
	}
	if err != nil {
		return c, fmt.Errorf("consult: open311 client %d: %w", id, err)
	}
	c.RevokedAt = revoked.V
	return c, nil
}

// IssueOpen311Key issues a key to a new client of a town (the actor's when townID is 0): the
// town's admins do. The key is returned this once; only its hash is kept.
func (s *Service) IssueOpen311Key(ctx context.Context, a *auth.Actor, townID int64, name string) (Open311Client, string, error) {
	if townID == 0 && a != nil {
		townID = a.TownID
	}
	if !manages(a, townID) {
		return Open311Client{}, "", auth.Refuse(a, PermManage)
	}
	name = strings.TrimSpace(name)
	var f errs.Fields
	f.Text("name", name, maxOpen311Name, true)
	if err := f.Err(); err != nil {
		return Open311Client{}, "", err
	}
	key := open311Random(32)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var k int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_open311_clients WHERE town_id = $1 AND name = $2 AND revoked_at IS NULL`, townID, name).Scan(&k); err != nil {
			return fmt.Errorf("consult: open311 client: %w", err)
		}
		if k > 0 {
			return &errs.Error{Code: errs.Conflict, Key: "consult.open311.client_exists", Fields: []errs.FieldError{{Field: "name", Key: "consult.open311.client_exists"}}}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_open311_clients (town_id, name, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			townID, name, open311Hash(key), a.AccountID, s.Now()).Scan(&id); err != nil {
			return fmt.Errorf("consult: open311 client: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.open311.issue", Entity: "consult_open311_client", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"name": name})})
	})
	if err != nil {
		return Open311Client{}, "", err
	}
	c, err := s.open311Client(ctx, s.DB.Read(), id)
	return c, key, err
}

// RevokeOpen311Client revokes a client's key for a reason, once: the town's admins do; a client
// of another town answers as refuse says. Requests it filed stay.
func (s *Service) RevokeOpen311Client(ctx context.Context, a *auth.Actor, id int64, reason string) (Open311Client, error) {
	reason = strings.TrimSpace(reason)
	c, err := s.open311Client(ctx, s.DB.Read(), id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return c, auth.Refuse(a, PermManage)
		}
		return c, err
	}
	if !manages(a, c.TownID) {
		return Open311Client{}, auth.Refuse(a, PermManage)
	}
	var f errs.Fields
	f.Text("reason", reason, maxTopicReason, true)
	if err := f.Err(); err != nil {
		return c, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE consult_open311_clients SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4 AND revoked_at IS NULL`,
			s.Now(), a.AccountID, reason, id)
		if err != nil {
			return fmt.Errorf("consult: revoke open311 client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.Conflict, "consult.open311.already_revoked")
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.open311.revoke", Entity: "consult_open311_client", EntityID: id, TownID: c.TownID,
			Summary: auth.Summarize(map[string]any{"name": c.Name}, map[string]any{"reason": reason})})
	})
	if err != nil {
		return c, err
	}
	return s.open311Client(ctx, s.DB.Read(), id)
}

// ---- the protocol

// Open311Jurisdiction is the town a jurisdiction_id names: a town's code. None may be given only
// while the server holds one town; an unknown code answers NotFound on the field.
func (s *Service) Open311Jurisdiction(ctx context.Context, code string) (Open311Town, error) {
	var t Open311Town
	code = strings.TrimSpace(code)
	q := s.DB.Read()
	if code == "" {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM towns`).Scan(&n); err != nil {
			return t, fmt.Errorf("consult: towns: %w", err)
		}
		if n != 1 {
			return t, errs.Field("jurisdiction_id", "field.required")
		}
		err := q.QueryRowContext(ctx, `SELECT id, code, name FROM towns`).Scan(&t.ID, &t.Code, &t.Name)
		if err != nil {
			return t, fmt.Errorf("consult: town: %w", err)
		}
		return t, nil
	}
	err := q.QueryRowContext(ctx, `SELECT id, code, name FROM towns WHERE code = $1`, code).Scan(&t.ID, &t.Code, &t.Name)
	if db.IsNoRows(err) {
		return t, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "jurisdiction_id", Key: "consult.open311.jurisdiction_unknown"}}}
	}
	if err != nil {
		return t, fmt.Errorf("consult: town: %w", err)
	}
	return t, nil
}

// Open311Services lists a town's services: 微志愿's need categories, then the town's topic
// categories.
func (s *Service) Open311Services(ctx context.Context, town Open311Town) ([]Open311Service, error) {
	out := []Open311Service{}
	needGroup, topicGroup := s.open311T("consult.open311.group_need"), s.open311T("consult.open311.group_topic")
	for _, c := range volunteer.CategoryList {
		name := s.open311T("volunteer.category." + c)
		out = append(out, Open311Service{Code: open311Code("need", c), Name: name, Description: s.open311T("consult.open311.need_service", name), Type: "realtime",
			Keywords: strings.Join([]string{needGroup, name}, ","), Group: needGroup, kind: "need", need: c})
	}
	cats, err := s.categories(ctx, s.DB.Read(), town.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cats {
		code := c.Code
		if code == "" {
			code = strconv.FormatInt(c.ID, 10)
		}
		out = append(out, Open311Service{Code: open311Code("topic", code), Name: c.Name, Description: s.open311T("consult.open311.topic_service", c.Name), Type: "realtime",
			Keywords: strings.Join([]string{topicGroup, c.Name}, ","), Group: topicGroup, kind: "topic", categoryID: c.ID})
	}
	return out, nil
}

// Open311Service is one of a town's services by its code; an unknown code answers NotFound on the
// field service_code.
func (s *Service) Open311Service(ctx context.Context, town Open311Town, code string) (Open311Service, error) {
	all, err := s.Open311Services(ctx, town)
	if err != nil {
		return Open311Service{}, err
	}
	for _, sv := range all {
		if sv.Code == code {
			return sv, nil
		}
	}
	return Open311Service{}, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "service_code", Key: "consult.open311.service_unknown"}}}
}

// open311Caller is who files: a client by its key, a resident by their token, or both.
type open311Caller struct {
	client   Open311Client
	resident Me
	actor    *auth.Actor
}

// open311Who finds who files a request in a town: the api_key's client (unknown, revoked or of
// another town: Forbidden on api_key) and the bearer token's resident (a resident of another town:
// Forbidden). Neither is Forbidden too.
func (s *Service) open311Who(ctx context.Context, a *auth.Actor, town Open311Town, key string) (open311Caller, error) {
	var c open311Caller
	key = strings.TrimSpace(key)
	badKey := &errs.Error{Code: errs.Forbidden, Key: "error.forbidden", Fields: []errs.FieldError{{Field: "api_key", Key: "consult.open311.key_invalid"}}}
	if key != "" {
		var id int64
		var revoked sql.Null[time.Time]
		err := s.DB.Read().QueryRowContext(ctx, `SELECT id, revoked_at FROM consult_open311_clients WHERE key_hash = $1 AND town_id = $2`, open311Hash(key), town.ID).Scan(&id, &revoked)
		if db.IsNoRows(err) {
			return c, badKey
		}
		if err != nil {
			return c, fmt.Errorf("consult: open311 key: %w", err)
		}
		if revoked.Valid {
			return c, &errs.Error{Code: errs.Forbidden, Key: "error.forbidden", Fields: []errs.FieldError{{Field: "api_key", Key: "consult.open311.key_revoked"}}}
		}
		if c.client, err = s.open311Client(ctx, s.DB.Read(), id); err != nil {
			return c, err
		}
	}
	if a != nil && a.API && a.Self() != 0 {
		m, ok, err := s.me(ctx, s.DB.Read(), a)
		if err != nil {
			return c, err
		}
		if ok {
			if !m.Active || m.TownID != town.ID {
				return c, &errs.Error{Code: errs.Forbidden, Key: "error.forbidden", Fields: []errs.FieldError{{Field: "jurisdiction_id", Key: "consult.open311.not_resident"}}}
			}
			c.resident, c.actor = m, a
		}
	}
	if c.client.ID == 0 && c.resident.ID == 0 {
		if key == "" {
			return c, &errs.Error{Code: errs.Forbidden, Key: "error.forbidden", Fields: []errs.FieldError{{Field: "api_key", Key: "field.required"}}}
		}
		return c, badKey
	}
	return c, nil
}

// checkOpen311 validates the fields of a request, naming each field that is wrong, and returns
// the description to keep (with the address added).
func (s *Service) checkOpen311(in Open311Input, max int) (string, error) {
	var f errs.Fields
	if strings.TrimSpace(in.ServiceCode) == "" {
		f.Add("service_code", "field.required")
	}
	desc := strings.TrimSpace(in.Description)
	addr := strings.TrimSpace(in.AddressString)
	f.Text("description", desc, max, true)
	f.Text("address_string", addr, maxOpen311Address, false)
	lat, long := strings.TrimSpace(in.Lat), strings.TrimSpace(in.Long)
	switch {
	case lat == "" && long == "" && addr == "":
		f.Add("address_string", "consult.open311.location_required")
	case lat != "" || long != "":
		if v, err := strconv.ParseFloat(lat, 64); err != nil || v < -90 || v > 90 {
			f.Add("lat", "consult.open311.lat_invalid")
		}
		if v, err := strconv.ParseFloat(long, 64); err != nil || v < -180 || v > 180 {
			f.Add("long", "consult.open311.long_invalid")
		}
	}
	if e := strings.TrimSpace(in.Email); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 100 {
			f.Add("email", "consult.open311.email_invalid")
		}
	}
	f.Text("first_name", strings.TrimSpace(in.FirstName), maxOpen311Name, false)
	f.Text("last_name", strings.TrimSpace(in.LastName), maxOpen311Name, false)
	if p := strings.TrimSpace(in.Phone); p != "" {
		if len(p) > 20 || strings.Trim(p, "+-0123456789 ") != "" {
			f.Add("phone", "consult.open311.phone_invalid")
		}
	}
	if m := strings.TrimSpace(in.MediaURL); m != "" {
		if u, err := url.Parse(m); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(m) > maxOpen311URL {
			f.Add("media_url", "consult.open311.url_invalid")
		}
	}
	if err := f.Err(); err != nil {
		return "", err
	}
	if addr != "" {
		desc += "\n" + s.open311T("consult.open311.place", addr)
		if utf8.RuneCountInString(desc) > max {
			return "", errs.Field("description", "field.too_long")
		}
	}
	return desc, nil
}

// open311Title is a topic's title made from a request's description: its first line, shortened.
func open311Title(desc string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(desc), "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > open311TitleLen {
		line = string([]rune(line)[:open311TitleLen-1]) + "…"
	}
	return line
}

// Open311File files a request with a town: a need through 微志愿's need flow for the resident
// whose token came with it, or a topic (source "open311"). Every field is checked first; a refused
// request stores nothing.
func (s *Service) Open311File(ctx context.Context, a *auth.Actor, town Open311Town, in Open311Input) (Open311Receipt, error) {
	who, err := s.open311Who(ctx, a, town, in.APIKey)
	if err != nil {
		return Open311Receipt{}, err
	}
	var sv Open311Service
	if code := strings.TrimSpace(in.ServiceCode); code != "" {
		if sv, err = s.Open311Service(ctx, town, code); err != nil {
			return Open311Receipt{}, err
		}
	}
	max := maxTopicBody
	if sv.kind == "need" {
		max = maxOpen311Need
	}
	desc, err := s.checkOpen311(in, max)
	if err != nil {
		return Open311Receipt{}, err
	}
	token := open311Random(16)
	var kind string
	var ref int64
	switch sv.kind {
	case "need":
		if who.resident.ID == 0 {
			return Open311Receipt{}, &errs.Error{Code: errs.Forbidden, Key: "error.forbidden", Fields: []errs.FieldError{{Field: "service_code", Key: "consult.open311.need_resident"}}}
		}
		if s.Volunteer == nil {
			return Open311Receipt{}, notFound
		}
		ni := volunteer.NeedInput{Category: sv.need, Description: desc, Urgency: "normal", ConfirmDuplicate: true}
		if who.actor.IsStaff() && who.actor.ActingFor == nil {
			ni.VillageID, ni.ForResidentID = who.resident.VillageID, who.resident.ID
		}
		n, err := s.Volunteer.CreateNeed(ctx, who.actor, ni)
		if err != nil {
			// 微志愿 names its own fields; the client knows the spec's.
			if e, ok := errs.As(err); ok {
				for i, f := range e.Fields {
					if f.Field == "category" {
						e.Fields[i].Field = "service_code"
					}
				}
			}
			return Open311Receipt{}, err
		}
		kind, ref = "need", n.ID
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error { return s.open311Keep(ctx, tx, town, token, kind, ref, who) })
		if err != nil {
			return Open311Receipt{}, err
		}
	default:
		actor := who.actor
		village := who.resident.VillageID
		if actor == nil {
			actor = &auth.Actor{Name: who.client.Name + "（Open311）", TownID: town.ID}
		}
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			t, err := s.insertTopic(ctx, tx, actor, TopicInput{TownID: town.ID, VillageID: village, CategoryID: sv.categoryID, Title: open311Title(desc), Description: desc}, SourceOpen311, 0, nil)
			if err != nil {
				return err
			}
			kind, ref = "topic", t.ID
			return s.open311Keep(ctx, tx, town, token, kind, ref, who)
		})
		if err != nil {
			return Open311Receipt{}, err
		}
	}
	return Open311Receipt{ID: fmt.Sprintf("%s-%d", kind, ref), Token: token, Notice: s.open311Notice(kind)}, nil
}

// open311Keep keeps a filed request's token, its record and who filed it.
func (s *Service) open311Keep(ctx context.Context, tx *sql.Tx, town Open311Town, token, kind string, ref int64, who open311Caller) error {
	var account int64
	if who.actor != nil {
		account = who.actor.AccountID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO consult_open311_requests (token, town_id, kind, ref_id, client_id, account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		token, town.ID, kind, ref, db.NullID(who.client.ID), db.NullID(account), s.Now())
	if err != nil {
		return fmt.Errorf("consult: open311 request: %w", err)
	}
	return nil
}

// open311Ref reads a request id ("need-12", "topic-34") as its kind and record.
func open311Ref(id string) (string, int64, bool) {
	kind, num, ok := strings.Cut(strings.TrimSpace(id), "-")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || (kind != "need" && kind != "topic") {
		return "", 0, false
	}
	return kind, n, true
}

// Open311Requests lists a town's requests filed through Open311, newest first, at most 1000.
func (s *Service) Open311Requests(ctx context.Context, town Open311Town, f Open311Filter) ([]Open311Request, error) {
	for _, st := range f.Statuses {
		if st != "open" && st != "closed" {
			return nil, errs.Field("status", "consult.open311.status_invalid")
		}
	}
	if f.ServiceCode != "" {
		if _, err := s.Open311Service(ctx, town, f.ServiceCode); err != nil {
			return nil, err
		}
	}
	q := s.DB.Read()
	type ref struct {
		kind string
		id   int64
	}
	var refs []ref
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			if k, n, ok := open311Ref(id); ok {
				refs = append(refs, ref{k, n})
			}
		}
	} else {
		if f.Start.IsZero() && f.End.IsZero() {
			f.Start = s.Now().AddDate(0, 0, -90)
		}
		if f.End.IsZero() {
			f.End = s.Now().Add(time.Minute)
		}
		if f.End.Before(f.Start) {
			return nil, errs.Field("end_date", "consult.open311.period_invalid")
		}
		rows, err := q.QueryContext(ctx, `SELECT kind, ref_id FROM consult_open311_requests WHERE town_id = $1 AND created_at >= $2 AND created_at <= $3
			ORDER BY created_at DESC, ref_id DESC`, town.ID, f.Start.UTC(), f.End.UTC())
		if err != nil {
			return nil, fmt.Errorf("consult: open311 requests: %w", err)
		}
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.kind, &r.id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("consult: open311 requests: %w", err)
			}
			refs = append(refs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := []Open311Request{}
	for _, r := range refs {
		if len(out) >= maxOpen311List {
			break
		}
		req, err := s.open311Request(ctx, q, town, r.kind, r.id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if (f.ServiceCode != "" && req.ServiceCode != f.ServiceCode) || (len(f.Statuses) > 0 && !slices.Contains(f.Statuses, req.Status)) {
			continue
		}
		out = append(out, req)
	}
	return out, nil
}

// Open311Request is one request of the town filed through Open311, by its id; any other id
// answers NotFound on service_request_id.
func (s *Service) Open311Request(ctx context.Context, town Open311Town, id string) (Open311Request, error) {
	kind, n, ok := open311Ref(id)
	if !ok {
		return Open311Request{}, open311NoRequest
	}
	return s.open311Request(ctx, s.DB.Read(), town, kind, n)
}

var open311NoRequest = &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "service_request_id", Key: "consult.open311.request_unknown"}}}

// open311Request reads a need or a topic filed through Open311 with the town, as the spec shows it.
func (s *Service) open311Request(ctx context.Context, q db.Querier, town Open311Town, kind string, id int64) (Open311Request, error) {
	var k int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_open311_requests WHERE town_id = $1 AND kind = $2 AND ref_id = $3`, town.ID, kind, id).Scan(&k); err != nil {
		return Open311Request{}, fmt.Errorf("consult: open311 request: %w", err)
	}
	if k == 0 {
		return Open311Request{}, open311NoRequest
	}
	zone := time.UTC
	if s.People != nil {
		if z, err := s.People.Zone(ctx, town.ID); err == nil {
			zone = z
		}
	}
	at := func(t time.Time) string { return t.In(zone).Format(time.RFC3339) }
	r := Open311Request{ID: fmt.Sprintf("%s-%d", kind, id), ServiceNotice: s.open311Notice(kind)}
	var status string
	var created, updated time.Time
	if kind == "need" {
		var cat, village string
		err := q.QueryRowContext(ctx, `SELECT n.status, n.category, n.created_at, vi.name FROM volunteer_needs n JOIN villages vi ON vi.id = n.village_id WHERE n.id = $1 AND n.town_id = $2`, id, town.ID).
			Scan(&status, &cat, &created, &village)
		if db.IsNoRows(err) {
			return r, open311NoRequest
		}
		if err != nil {
			return r, fmt.Errorf("consult: open311 need %d: %w", id, err)
		}
		updated = created
		var reason string
		var stepAt time.Time
		err = q.QueryRowContext(ctx, `SELECT reason, at FROM flow_steps WHERE flow = $1 AND order_id = $2 ORDER BY id DESC LIMIT 1`, volunteer.NeedFlow.Name, id).Scan(&reason, &stepAt)
		if err != nil && !db.IsNoRows(err) {
			return r, fmt.Errorf("consult: open311 need %d: %w", id, err)
		}
		if err == nil && stepAt.After(updated) {
			updated = stepAt
		}
		r.ServiceCode, r.ServiceName = open311Code("need", cat), s.open311T("volunteer.category."+cat)
		r.AgencyResponsible = s.open311T("consult.open311.agency_need", village)
		r.StatusNotes = s.open311T("volunteer.need_status." + status)
		if status == volunteer.NeedRefused && reason != "" {
			r.StatusNotes += "：" + reason
		}
	} else {
		var code, name, desc, reason, outcome, village, merged string
		var catID int64
		var supports int
		err := q.QueryRowContext(ctx, `SELECT t.status, t.category_id, c.code, c.name, t.description, t.reason, t.outcome, COALESCE(v.name, ''), COALESCE(mt.title, ''),
			t.supports, t.created_at, t.updated_at FROM consult_topics t JOIN consult_categories c ON c.id = t.category_id LEFT JOIN villages v ON v.id = t.village_id
			LEFT JOIN consult_topics mt ON mt.id = t.merged_into WHERE t.id = $1 AND t.town_id = $2`, id, town.ID).
			Scan(&status, &catID, &code, &name, &desc, &reason, &outcome, &village, &merged, &supports, &created, &updated)
		if db.IsNoRows(err) {
			return r, open311NoRequest
		}
		if err != nil {
			return r, fmt.Errorf("consult: open311 topic %d: %w", id, err)
		}
		c := s.named(Category{ID: catID, Code: code, Name: name})
		if code == "" {
			code = strconv.FormatInt(catID, 10)
		}
		r.ServiceCode, r.ServiceName, r.Description = open311Code("topic", code), c.Name, desc
		if village == "" {
			village = town.Name
		}
		r.AgencyResponsible = s.open311T("consult.open311.agency_topic", village)
		switch status {
		case TopicDeclined:
			r.StatusNotes = s.open311T("consult.open311.topic_declined", reason)
		case TopicDecided:
			r.StatusNotes = s.open311T("consult.open311.topic_decided", outcome)
		case TopicMerged:
			r.StatusNotes = s.open311T("consult.open311.topic_merged", merged)
		case TopicAccepted:
			r.StatusNotes = s.open311T("consult.open311.topic_accepted")
		default:
			r.StatusNotes = s.open311T("consult.open311.topic_open", supports)
		}
	}
	r.Status = "open"
	if slices.Contains(open311Closed, status) {
		r.Status = "closed"
	}
	r.RequestedDatetime, r.UpdatedDatetime, r.created = at(created), at(updated), created
	return r, nil
}

// Open311Token answers what a token of the town names; any other token answers NotFound.
func (s *Service) Open311Token(ctx context.Context, town Open311Town, token string) (Open311Token, error) {
	var kind string
	var ref int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT kind, ref_id FROM consult_open311_requests WHERE token = $1 AND town_id = $2`, strings.TrimSpace(token), town.ID).Scan(&kind, &ref)
	if db.IsNoRows(err) {
		return Open311Token{}, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "token", Key: "consult.open311.token_unknown"}}}
	}
	if err != nil {
		return Open311Token{}, fmt.Errorf("consult: open311 token: %w", err)
	}
	return Open311Token{ID: fmt.Sprintf("%s-%d", kind, ref), Token: token}, nil
}
