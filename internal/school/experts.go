package school

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
)

// Expert is an expert of a town's pool (专家): from 中央党校, 北京市委党校, a bureau of civil
// affairs, or a practitioner of grass-roots governance. What anyone who reads the menu may know
// comes first; contact details, the login that is the expert, and why they retired are for the
// town's staff and the expert alone, and empty for anyone else.
type Expert struct {
	ID           int64    `json:"id"`
	TownID       int64    `json:"town_id"`
	Name         string   `json:"name"`
	Affiliation  string   `json:"affiliation"`
	Title        string   `json:"title"`
	Fields       []string `json:"fields"`
	Bio          string   `json:"bio"`
	Photo        bool     `json:"photo"` // a photo is at /school/experts/{id}/photo
	Availability []Slot   `json:"availability"`
	Retired      bool     `json:"retired"`

	Phone         string     `json:"phone,omitempty"`
	Email         string     `json:"email,omitempty"`
	AccountID     int64      `json:"account_id,omitempty"`
	Account       string     `json:"account,omitempty"` // the login's name and masked phone
	RetiredAt     *time.Time `json:"retired_at,omitempty"`
	RetiredReason string     `json:"retired_reason,omitempty"`
	RetiredBy     string     `json:"retired_by,omitempty"`
}

// ExpertInput creates or edits an expert. An expert editing their own profile (SaveProfile)
// changes everything but the name, the affiliation and the login. The photo is uploaded on the
// expert's page.
type ExpertInput struct {
	TownID       int64    `json:"town_id,omitempty"` // when creating: the actor's town when 0
	Name         string   `json:"name"`
	Affiliation  string   `json:"affiliation"`
	Title        string   `json:"title"`
	Fields       []string `json:"fields"`
	Bio          string   `json:"bio"`
	Phone        string   `json:"phone"`
	Email        string   `json:"email"`
	AccountID    int64    `json:"account_id,omitempty"` // a login holding the expert role in the town
	Availability []Slot   `json:"availability"`
	Photo        []byte   `json:"-"`
	RemovePhoto  bool     `json:"-"`
}

// ExpertFilter selects a town's experts.
type ExpertFilter struct {
	TownID  int64  // the actor's town when 0
	Q       string // in the name, affiliation, title or fields
	Retired bool   // the retired experts instead of those in the pool (staff only)
}

// The limits of an expert's record.
const (
	maxFields     = 8
	maxFieldRunes = 20
)

// landline is a fixed-line number with its area code: 010-12345678.
var landline = regexp.MustCompile(`^0[0-9]{2,3}-?[0-9]{7,8}$`)

// splitFields reads fields typed on one line, separated by 、，, or spaces.
func splitFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == '、' || r == '，' || r == ',' || r == ';' || r == '；' || r == ' ' || r == '\u3000'
	})
}

// checkProfile validates what an expert may edit themself, and returns the cleaned fields.
func checkProfile(f *errs.Fields, in *ExpertInput) {
	in.Title, in.Bio, in.Phone, in.Email = strings.TrimSpace(in.Title), strings.TrimSpace(in.Bio), strings.TrimSpace(in.Phone), strings.TrimSpace(in.Email)
	f.Text("title", in.Title, 40, false)
	f.Text("bio", in.Bio, 1000, false)
	var fields []string
	for _, v := range in.Fields {
		for _, w := range splitFields(v) {
			if !slices.Contains(fields, w) {
				fields = append(fields, w)
			}
		}
	}
	bad := len(fields) > maxFields
	for _, w := range fields {
		bad = bad || utf8.RuneCountInString(w) > maxFieldRunes
	}
	if bad {
		f.Add("fields", "school.fields_invalid", maxFields, maxFieldRunes)
	} else {
		f.Text("fields", strings.Join(fields, ""), maxFields*maxFieldRunes, false)
	}
	in.Fields = fields
	if in.Phone != "" && !auth.ValidPhone(in.Phone) && !landline.MatchString(in.Phone) {
		f.Add("phone", "school.phone_invalid")
	}
	if in.Email != "" {
		if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email || len(in.Email) > 100 {
			f.Add("email", "school.email_invalid")
		}
	}
	in.Availability = checkSlots(f, in.Availability)
}

// splitLines reads fields as they are stored, one a line.
func splitLines(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// photo re-encodes an uploaded photo as the bank does a claim's: its size, type and dimensions
// are checked from its header before anything is decoded (bank.ProcessPhoto). The refusal names
// the photo field.
type photo struct {
	mime          string
	width, height int
	data          []byte
}

func processPhoto(b []byte) (*photo, error) {
	if len(b) == 0 {
		return nil, nil
	}
	mime, w, h, out, err := bank.ProcessPhoto(b)
	if e, ok := errs.As(err); ok {
		return nil, &errs.Error{Code: e.Code, Key: "error.invalid", Fields: []errs.FieldError{{Field: "photo", Key: e.Key}}}
	}
	if err != nil {
		return nil, fmt.Errorf("school: photo: %w", err)
	}
	return &photo{mime, w, h, out}, nil
}

// CreateExpert adds an expert to a town's pool.
func (s *Service) CreateExpert(ctx context.Context, a *auth.Actor, in ExpertInput) (Expert, error) {
	return s.saveExpert(ctx, a, 0, in)
}

// SaveExpert edits an expert of the pool; a retired expert's record stays as it was.
func (s *Service) SaveExpert(ctx context.Context, a *auth.Actor, id int64, in ExpertInput) (Expert, error) {
	return s.saveExpert(ctx, a, id, in)
}

func (s *Service) saveExpert(ctx context.Context, a *auth.Actor, id int64, in ExpertInput) (Expert, error) {
	townID := townOf(a, in.TownID)
	var old Expert
	if id != 0 {
		var err error
		if old, err = s.expert(ctx, s.DB.Read(), id); err != nil {
			return Expert{}, err
		}
		townID = old.TownID
	}
	if roleIn(a, townID) != manager {
		return Expert{}, hide(a, townID)
	}
	if old.Retired {
		return Expert{}, errs.New(errs.Conflict, "school.expert_retired", old.Name)
	}
	in.Name, in.Affiliation = strings.TrimSpace(in.Name), strings.TrimSpace(in.Affiliation)
	var f errs.Fields
	f.Text("name", in.Name, 40, true)
	f.Text("affiliation", in.Affiliation, 60, true)
	checkProfile(&f, &in)
	if err := f.Err(); err != nil {
		return Expert{}, err
	}
	ph, err := processPhoto(in.Photo)
	if err != nil {
		return Expert{}, err
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if in.AccountID != 0 {
			if err := s.checkAccount(ctx, tx, townID, id, in.AccountID); err != nil {
				return err
			}
		}
		entry := auth.AuditEntry{Action: "school.expert.update"}
		if id == 0 {
			entry = auth.AuditEntry{Action: "school.expert.create"}
			if err := tx.QueryRowContext(ctx, `INSERT INTO school_experts (town_id, name, affiliation, title, fields, bio, phone, email, account_id, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
				townID, in.Name, in.Affiliation, in.Title, strings.Join(in.Fields, "\n"), in.Bio, in.Phone, in.Email, db.NullID(in.AccountID), now).Scan(&id); err != nil {
				return accountErr(err)
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE school_experts SET name = $1, affiliation = $2, title = $3, fields = $4, bio = $5, phone = $6, email = $7,
			account_id = $8, updated_at = $9 WHERE id = $10`,
			in.Name, in.Affiliation, in.Title, strings.Join(in.Fields, "\n"), in.Bio, in.Phone, in.Email, db.NullID(in.AccountID), now, id); err != nil {
			return accountErr(err)
		}
		if err := s.writeProfileExtras(ctx, tx, id, in, ph, now); err != nil {
			return err
		}
		entry.Entity, entry.EntityID, entry.TownID = "school_expert", id, townID
		entry.Summary = auth.Summarize(auditExpert(old), map[string]any{"name": in.Name, "affiliation": in.Affiliation})
		return auth.Audit(ctx, tx, a, entry)
	})
	if err != nil {
		return Expert{}, err
	}
	return s.expert(ctx, s.DB.Read(), id)
}

// auditExpert is the before of an expert's audit summary: nothing for a new one.
func auditExpert(old Expert) any {
	if old.ID == 0 {
		return nil
	}
	return map[string]any{"name": old.Name, "affiliation": old.Affiliation}
}

// accountErr is the refusal of a login already linked to another expert.
func accountErr(err error) error {
	if db.IsUnique(err) {
		return &errs.Error{Code: errs.Conflict, Key: "school.account_taken", Fields: []errs.FieldError{{Field: "account_id", Key: "school.account_taken"}}}
	}
	return fmt.Errorf("school: expert: %w", err)
}

// checkAccount refuses a login that does not hold the expert role in the town, or that is already
// another expert of it.
func (s *Service) checkAccount(ctx context.Context, tx *sql.Tx, townID, expertID, accountID int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_roles WHERE account_id = $1 AND role = $2 AND town_id = $3`,
		accountID, string(auth.Expert), townID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errs.Field("account_id", "school.account_not_expert")
	}
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM school_experts WHERE account_id = $1`, accountID).Scan(&other)
	if err == nil && other != expertID {
		return &errs.Error{Code: errs.Conflict, Key: "school.account_taken", Fields: []errs.FieldError{{Field: "account_id", Key: "school.account_taken"}}}
	}
	if err != nil && !db.IsNoRows(err) {
		return err
	}
	return nil
}

// writeProfileExtras replaces an expert's availability and, when one was sent or removal asked
// for, their photo.
func (s *Service) writeProfileExtras(ctx context.Context, tx *sql.Tx, id int64, in ExpertInput, ph *photo, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM school_availability WHERE expert_id = $1`, id); err != nil {
		return err
	}
	for _, sl := range in.Availability {
		var weekday, from, to any
		if sl.Weekday != 0 {
			weekday = sl.Weekday
		} else {
			from, to = sl.From, sl.To
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO school_availability (expert_id, weekday, from_day, to_day, start_time, end_time) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, weekday, from, to, sl.Start, sl.End); err != nil {
			return fmt.Errorf("school: availability: %w", err)
		}
	}
	if ph != nil || in.RemovePhoto {
		if _, err := tx.ExecContext(ctx, `DELETE FROM school_expert_photos WHERE expert_id = $1`, id); err != nil {
			return err
		}
	}
	if ph != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO school_expert_photos (expert_id, mime, width, height, data, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, ph.mime, ph.width, ph.height, ph.data, now); err != nil {
			return fmt.Errorf("school: photo: %w", err)
		}
	}
	return nil
}

// Me is the expert the actor's login is, for an account holding the expert role; NotFound for
// anyone else.
func (s *Service) Me(ctx context.Context, a *auth.Actor) (Expert, error) {
	if a == nil || a.AccountID <= 0 {
		return Expert{}, notFound
	}
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM school_experts WHERE account_id = $1`, a.AccountID).Scan(&id)
	if db.IsNoRows(err) && a.Has(auth.Expert) {
		return Expert{}, errs.New(errs.NotFound, "school.not_linked") // said to the expert, who may ask the town
	}
	if db.IsNoRows(err) {
		return Expert{}, notFound
	}
	if err != nil {
		return Expert{}, fmt.Errorf("school: me: %w", err)
	}
	e, err := s.expert(ctx, s.DB.Read(), id)
	if err != nil {
		return Expert{}, err
	}
	if auth.Can(a, PermTeach, auth.Scope{TownID: e.TownID}) != nil {
		return Expert{}, notFound // the role was taken back: the record is no longer theirs to see
	}
	return e, nil
}

// SaveProfile edits the actor's own expert record: title, fields, bio, contact, photo and when they
// can teach. The name, affiliation and login are the town's to change.
func (s *Service) SaveProfile(ctx context.Context, a *auth.Actor, in ExpertInput) (Expert, error) {
	e, err := s.Me(ctx, a)
	if err != nil {
		return Expert{}, err
	}
	if e.Retired {
		return Expert{}, errs.New(errs.Conflict, "school.expert_retired", e.Name)
	}
	var f errs.Fields
	checkProfile(&f, &in)
	if err := f.Err(); err != nil {
		return Expert{}, err
	}
	ph, err := processPhoto(in.Photo)
	if err != nil {
		return Expert{}, err
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE school_experts SET title = $1, fields = $2, bio = $3, phone = $4, email = $5, updated_at = $6 WHERE id = $7`,
			in.Title, strings.Join(in.Fields, "\n"), in.Bio, in.Phone, in.Email, now, e.ID); err != nil {
			return fmt.Errorf("school: profile: %w", err)
		}
		if err := s.writeProfileExtras(ctx, tx, e.ID, in, ph, now); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.expert.profile", Entity: "school_expert", EntityID: e.ID, TownID: e.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": e.Name})})
	})
	if err != nil {
		return Expert{}, err
	}
	return s.expert(ctx, s.DB.Read(), e.ID)
}

// Retire takes an expert out of the pool, keeping the reason: they are offered for no new course,
// and their record and courses stay as history. The expert is told.
func (s *Service) Retire(ctx context.Context, a *auth.Actor, id int64, reason string) (Expert, error) {
	e, err := s.expert(ctx, s.DB.Read(), id)
	if err != nil {
		return Expert{}, err
	}
	if roleIn(a, e.TownID) != manager {
		return Expert{}, hide(a, e.TownID)
	}
	reason = strings.TrimSpace(reason)
	var f errs.Fields
	f.Text("reason", reason, 200, true)
	if err := f.Err(); err != nil {
		return Expert{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE school_experts SET retired_at = $1, retired_reason = $2, retired_by = $3, updated_at = $1
			WHERE id = $4 AND retired_at IS NULL`, s.Now(), reason, a.Name, id)
		if err != nil {
			return fmt.Errorf("school: retire: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = errs.New(errs.Conflict, "school.expert_retired", e.Name)
			}
			return err
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.expert.retire", Entity: "school_expert", EntityID: id, TownID: e.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": e.Name, "reason": reason})}); err != nil {
			return err
		}
		return s.tellExpert(ctx, tx, id, notify.Outcome{Title: "school.outcome.retired_title", Body: "school.outcome.retired", Args: []any{reason}, Link: "/admin/school/me"})
	})
	if err != nil {
		return Expert{}, err
	}
	return s.expert(ctx, s.DB.Read(), id)
}

// tellExpert tells an expert an outcome that concerns them, when their login is also a resident's
// (in-app messages go to residents).
func (s *Service) tellExpert(ctx context.Context, tx *sql.Tx, expertID int64, o notify.Outcome) error {
	var resident sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT a.resident_id FROM school_experts e JOIN accounts a ON a.id = e.account_id WHERE e.id = $1`, expertID).Scan(&resident)
	if db.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Notify.Tell(ctx, tx, resident.Int64, o)
}

// Expert is an expert as the actor may see them: all of the record for the town's staff and the
// expert themself; what the menu shows (no contact details) for its readers, while the expert is
// in the pool; NotFound for anyone else.
func (s *Service) Expert(ctx context.Context, a *auth.Actor, id int64) (Expert, error) {
	e, err := s.expert(ctx, s.DB.Read(), id)
	if err != nil {
		return Expert{}, err
	}
	return visible(a, e)
}

// visible is an expert as the actor may see them, or NotFound.
func visible(a *auth.Actor, e Expert) (Expert, error) {
	switch {
	case roleIn(a, e.TownID) == manager:
		return e, nil
	case a != nil && e.AccountID == a.AccountID && a.AccountID > 0 && auth.Can(a, PermTeach, auth.Scope{TownID: e.TownID}) == nil:
		return e, nil
	case roleIn(a, e.TownID) == reader && !e.Retired:
		return e.public(), nil
	}
	return Expert{}, notFound
}

// public is what the menu's readers may know of an expert.
func (e Expert) public() Expert {
	e.Phone, e.Email, e.AccountID, e.Account, e.RetiredAt, e.RetiredReason, e.RetiredBy = "", "", 0, "", nil, "", ""
	return e
}

// ExpertPhoto is an expert's photo, for whoever may see the expert.
func (s *Service) ExpertPhoto(ctx context.Context, a *auth.Actor, id int64) (string, []byte, error) {
	e, err := s.Expert(ctx, a, id)
	if err != nil {
		return "", nil, err
	}
	var mime string
	var data []byte
	err = s.DB.Read().QueryRowContext(ctx, `SELECT mime, data FROM school_expert_photos WHERE expert_id = $1`, e.ID).Scan(&mime, &data)
	if db.IsNoRows(err) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("school: photo: %w", err)
	}
	return mime, data, nil
}

// Experts lists a town's experts by name: for its staff those in the pool, or those retired; for
// the menu's readers those in the pool, without contact details; for an expert's login, their own
// record alone.
func (s *Service) Experts(ctx context.Context, a *auth.Actor, f ExpertFilter) ([]Expert, error) {
	townID := townOf(a, f.TownID)
	who := roleIn(a, townID)
	if who == outsider {
		if me, err := s.Me(ctx, a); err == nil && me.TownID == townID {
			return []Expert{me}, nil
		}
		return nil, notFound
	}
	where, args := `e.town_id = $1 AND e.retired_at IS NULL`, []any{townID}
	if f.Retired && who == manager {
		where = `e.town_id = $1 AND e.retired_at IS NOT NULL`
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		if utf8.RuneCountInString(q) > 40 {
			return nil, errs.Field("q", "field.too_long")
		}
		args = append(args, "%"+db.LikePrefix(q))
		where += ` AND (e.name LIKE $2 ESCAPE '\' OR e.affiliation LIKE $2 ESCAPE '\' OR e.title LIKE $2 ESCAPE '\' OR e.fields LIKE $2 ESCAPE '\')`
	}
	list, err := s.experts(ctx, s.DB.Read(), where, args...)
	if err != nil {
		return nil, err
	}
	if who != manager {
		for i := range list {
			list[i] = list[i].public()
		}
	}
	return list, nil
}

// ExpertChoices are the experts a course may be given: those in the pool, and those it has
// already (retired ones among them stay, as history). For the town's staff only.
func (s *Service) ExpertChoices(ctx context.Context, a *auth.Actor, townID, courseID int64) ([]Expert, error) {
	townID = townOf(a, townID)
	if roleIn(a, townID) != manager {
		return nil, hide(a, townID)
	}
	return s.experts(ctx, s.DB.Read(), `e.town_id = $1 AND (e.retired_at IS NULL OR e.id IN (SELECT expert_id FROM school_course_experts WHERE course_id = $2))`, townID, courseID)
}

// Login is a login with the expert role that may be linked to an expert, named for a picker.
type Login struct {
	ID   int64  `json:"id"`
	Name string `json:"name"` // 王教授（138****5678）
}

// ExpertLogins are the logins holding the expert role in a town that are no other expert's, for
// the picker of an expert's record (expertID, 0 for a new one). For the town's staff only.
func (s *Service) ExpertLogins(ctx context.Context, a *auth.Actor, townID, expertID int64) ([]Login, error) {
	townID = townOf(a, townID)
	if roleIn(a, townID) != manager {
		return nil, hide(a, townID)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT DISTINCT ac.id, ac.name, ac.phone FROM account_roles g JOIN accounts ac ON ac.id = g.account_id
		WHERE g.role = $1 AND g.town_id = $2 AND NOT EXISTS (SELECT 1 FROM school_experts e WHERE e.account_id = ac.id AND e.id <> $3)
		ORDER BY ac.name, ac.id`, string(auth.Expert), townID, expertID)
	if err != nil {
		return nil, fmt.Errorf("school: logins: %w", err)
	}
	defer rows.Close()
	var out []Login
	for rows.Next() {
		var l Login
		var phone string
		if err := rows.Scan(&l.ID, &l.Name, &phone); err != nil {
			return nil, err
		}
		l.Name += "（" + people.MaskPhone(phone) + "）"
		out = append(out, l)
	}
	return out, rows.Err()
}

const expertCols = `e.id, e.town_id, e.name, e.affiliation, e.title, e.fields, e.bio, e.phone, e.email, COALESCE(e.account_id, 0), COALESCE(ac.name, ''), COALESCE(ac.phone, ''),
	e.retired_at, e.retired_reason, e.retired_by, EXISTS (SELECT 1 FROM school_expert_photos p WHERE p.expert_id = e.id)`

const expertFrom = ` FROM school_experts e LEFT JOIN accounts ac ON ac.id = e.account_id `

func scanExpert(sc interface{ Scan(...any) error }) (Expert, error) {
	var e Expert
	var fields, accPhone string
	var retired sql.NullTime
	err := sc.Scan(&e.ID, &e.TownID, &e.Name, &e.Affiliation, &e.Title, &fields, &e.Bio, &e.Phone, &e.Email, &e.AccountID, &e.Account, &accPhone,
		&retired, &e.RetiredReason, &e.RetiredBy, &e.Photo)
	e.Fields = splitLines(fields)
	if e.Account != "" {
		e.Account += "（" + people.MaskPhone(accPhone) + "）"
	}
	if retired.Valid {
		t := retired.Time
		e.Retired, e.RetiredAt = true, &t
	}
	e.Availability = []Slot{}
	return e, err
}

// expert is an expert by id with their availability; it checks no permission.
func (s *Service) expert(ctx context.Context, q db.Querier, id int64) (Expert, error) {
	list, err := s.experts(ctx, q, `e.id = $1`, id)
	if err != nil {
		return Expert{}, err
	}
	if len(list) == 0 {
		return Expert{}, notFound
	}
	return list[0], nil
}

// maxList bounds a listing: a town's pool is some tens of experts, its menu some hundreds of courses.
const maxList = 1000

// experts lists experts by a condition on e, by name, each with their availability.
func (s *Service) experts(ctx context.Context, q db.Querier, where string, args ...any) ([]Expert, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+expertCols+expertFrom+`WHERE `+where+fmt.Sprintf(` ORDER BY e.name, e.id LIMIT %d`, maxList), args...)
	if err != nil {
		return nil, fmt.Errorf("school: experts: %w", err)
	}
	out := []Expert{}
	index := map[int64]int{}
	for rows.Next() {
		e, err := scanExpert(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("school: experts: %w", err)
		}
		index[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]int64, 0, len(out))
	for _, e := range out {
		ids = append(ids, e.ID)
	}
	p := s.DB.Params()
	ar, err := q.QueryContext(ctx, `SELECT expert_id, COALESCE(weekday, 0), COALESCE(from_day, ''), COALESCE(to_day, ''), start_time, end_time
		FROM school_availability WHERE expert_id IN (`+p.List(ids)+`) ORDER BY expert_id, from_day IS NOT NULL, weekday, from_day, start_time, id`, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("school: availability: %w", err)
	}
	defer ar.Close()
	for ar.Next() {
		var id int64
		var sl Slot
		if err := ar.Scan(&id, &sl.Weekday, &sl.From, &sl.To, &sl.Start, &sl.End); err != nil {
			return nil, fmt.Errorf("school: availability: %w", err)
		}
		e := &out[index[id]]
		e.Availability = append(e.Availability, sl)
	}
	return out, ar.Err()
}
