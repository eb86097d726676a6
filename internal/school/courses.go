package school

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// Format is how a course is given: in a room, online, or either as the branch asks.
type Format string

// The formats of a course.
const (
	Offline Format = "offline" // 线下
	Online  Format = "online"  // 线上
	Both    Format = "both"    // 线上线下均可
)

// Formats lists the formats in display order.
var Formats = []Format{Offline, Online, Both}

// Status is where a course stands on the menu.
type Status string

// The statuses of a course: a draft is the staff's alone; an offered course is on the menu that
// residents and branches read (and, next, order from); a withdrawn one is off it, its history kept.
const (
	Draft     Status = "draft"     // 草稿
	Offered   Status = "offered"   // 开课中
	Withdrawn Status = "withdrawn" // 已停开
)

// Statuses lists the statuses in display order.
var Statuses = []Status{Draft, Offered, Withdrawn}

// Course is a course of the menu (课程菜单). TimesTaught and the rating are what its lessons
// gave back: 0 until it has been taught and rated.
type Course struct {
	ID          int64     `json:"id"`
	TownID      int64     `json:"town_id"`
	CategoryID  int64     `json:"category_id"`
	Category    string    `json:"category"`
	Title       string    `json:"title"`
	Outline     string    `json:"outline"`
	Minutes     int       `json:"minutes"`
	Format      Format    `json:"format"`
	Status      Status    `json:"status"`
	Experts     []Teacher `json:"experts"`
	MaterialURL string    `json:"material_url"`
	Material    *Material `json:"material,omitempty"` // a PDF, at /school/courses/{id}/material
	TimesTaught int       `json:"times_taught"`
	Ratings     int       `json:"ratings"` // how many ratings Rating averages
	Rating      float64   `json:"rating"`  // 1–5, one decimal; 0 with no rating yet
	UpdatedAt   time.Time `json:"updated_at"`
}

// Teacher is an expert who can teach a course, as the course names them. The menu's readers see
// only those in the pool.
type Teacher struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Affiliation string   `json:"affiliation"`
	Title       string   `json:"title"`
	Fields      []string `json:"fields"`
	Bio         string   `json:"bio"`
	Photo       bool     `json:"photo"`
	Retired     bool     `json:"retired"`
}

// Material is a course's PDF, named as it was uploaded.
type Material struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// CourseInput creates or edits a course. Its materials are a link, or a PDF uploaded on the
// course's page.
type CourseInput struct {
	TownID      int64   `json:"town_id,omitempty"` // when creating: the actor's town when 0
	CategoryID  int64   `json:"category_id"`
	Title       string  `json:"title"`
	Outline     string  `json:"outline"`
	Minutes     int     `json:"minutes"`
	Format      string  `json:"format"`
	ExpertIDs   []int64 `json:"expert_ids"`
	MaterialURL string  `json:"material_url"`
	PDF         []byte  `json:"-"`
	PDFName     string  `json:"-"`
	RemovePDF   bool    `json:"-"`
}

// StatusInput offers or withdraws a course.
type StatusInput struct {
	Status string `json:"status"`
}

// CourseFilter selects a town's courses.
type CourseFilter struct {
	TownID     int64  // the actor's town when 0
	Status     string // "" for every status (staff); the menu's readers see offered courses only
	CategoryID int64
}

// The limits of a course.
const (
	MaxMaterialBytes = 20 << 20
	MinMinutes       = 10
	MaxMinutes       = 480
	maxTeachers      = 20
)

// pdfMagic is how every PDF file starts.
var pdfMagic = []byte("%PDF-")

// checkMaterial refuses a PDF over MaxMaterialBytes or a file that is not a PDF, by its size and
// its first bytes: nothing of it is parsed.
func checkMaterial(b []byte) error {
	switch {
	case len(b) > MaxMaterialBytes:
		return &errs.Error{Code: errs.TooLarge, Key: "error.invalid", Fields: []errs.FieldError{{Field: "material", Key: "school.upload_too_large", Args: []any{MaxMaterialBytes >> 20}}}}
	case !bytes.HasPrefix(b, pdfMagic):
		return errs.Field("material", "school.material_not_pdf")
	}
	return nil
}

// checkLink accepts a web address for a course's materials.
func checkLink(f *errs.Fields, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 500 || strings.ContainsAny(s, " \t\r\n") {
		f.Add("material_url", "school.link_invalid")
	}
}

// pdfName is the name a PDF is kept under: the uploaded file's own, or the course's title.
func pdfName(name, title string) string {
	name = strings.TrimSpace(path.Base(strings.ReplaceAll(name, `\`, "/")))
	var f errs.Fields
	if f.Text("name", name, 100, true); len(f) > 0 || name == "." || name == "/" {
		name = title
	}
	if !strings.HasSuffix(strings.ToLower(name), ".pdf") {
		name += ".pdf"
	}
	return name
}

// CreateCourse adds a draft course to a town's menu.
func (s *Service) CreateCourse(ctx context.Context, a *auth.Actor, in CourseInput) (Course, error) {
	return s.saveCourse(ctx, a, 0, in)
}

// SaveCourse edits a course. A course on the menu keeps at least one expert in the pool.
func (s *Service) SaveCourse(ctx context.Context, a *auth.Actor, id int64, in CourseInput) (Course, error) {
	return s.saveCourse(ctx, a, id, in)
}

func (s *Service) saveCourse(ctx context.Context, a *auth.Actor, id int64, in CourseInput) (Course, error) {
	townID := townOf(a, in.TownID)
	var old Course
	if id != 0 {
		var err error
		if old, err = s.course(ctx, s.DB.Read(), id); err != nil {
			return Course{}, err
		}
		townID = old.TownID
	}
	if roleIn(a, townID) != manager {
		return Course{}, hide(a, townID)
	}
	in.Title, in.Outline, in.MaterialURL = strings.TrimSpace(in.Title), strings.TrimSpace(in.Outline), strings.TrimSpace(in.MaterialURL)
	var f errs.Fields
	f.Text("title", in.Title, 60, true)
	f.Text("outline", in.Outline, 2000, false)
	if in.Minutes < MinMinutes || in.Minutes > MaxMinutes {
		f.Add("minutes", "school.minutes_invalid", MinMinutes, MaxMinutes)
	}
	if !slices.Contains(Formats, Format(in.Format)) {
		f.Add("format", "school.format_invalid")
	}
	if _, err := s.category(ctx, s.DB.Read(), townID, in.CategoryID); errs.Is(err, errs.NotFound) {
		f.Add("category_id", "school.category_unknown")
	} else if err != nil {
		return Course{}, err
	}
	checkLink(&f, in.MaterialURL)
	if len(in.PDF) > 0 && in.MaterialURL != "" {
		f.Add("material_url", "school.material_either")
	}
	teachers, err := s.teachersFor(ctx, &f, townID, id, in.ExpertIDs)
	if err != nil {
		return Course{}, err
	}
	if old.Status == Offered && !slices.ContainsFunc(teachers, func(e Expert) bool { return !e.Retired }) && !f.Has("expert_ids") {
		f.Add("expert_ids", "school.offer_needs_expert")
	}
	if err := f.Err(); err != nil {
		return Course{}, err
	}
	if len(in.PDF) > 0 {
		if err := checkMaterial(in.PDF); err != nil {
			return Course{}, err
		}
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		entry := auth.AuditEntry{Action: "school.course.update"}
		if id == 0 {
			entry = auth.AuditEntry{Action: "school.course.create"}
			err := tx.QueryRowContext(ctx, `INSERT INTO school_courses (town_id, category_id, title, outline, minutes, format, status, material_url, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
				townID, in.CategoryID, in.Title, in.Outline, in.Minutes, in.Format, string(Draft), in.MaterialURL, now).Scan(&id)
			if err != nil {
				return titleErr(err)
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE school_courses SET category_id = $1, title = $2, outline = $3, minutes = $4, format = $5, material_url = $6, updated_at = $7 WHERE id = $8`,
			in.CategoryID, in.Title, in.Outline, in.Minutes, in.Format, in.MaterialURL, now, id); err != nil {
			return titleErr(err)
		}
		added, err := s.setTeachers(ctx, tx, id, teachers)
		if err != nil {
			return err
		}
		if len(in.PDF) > 0 || in.RemovePDF || in.MaterialURL != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM school_materials WHERE course_id = $1`, id); err != nil {
				return err
			}
		}
		if len(in.PDF) > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO school_materials (course_id, file_name, size, data, uploaded_at) VALUES ($1, $2, $3, $4, $5)`,
				id, pdfName(in.PDFName, in.Title), len(in.PDF), in.PDF, now); err != nil {
				return fmt.Errorf("school: material: %w", err)
			}
		}
		var before any
		if old.ID != 0 {
			before = map[string]any{"name": old.Title}
		}
		entry.Entity, entry.EntityID, entry.TownID = "school_course", id, townID
		entry.Summary = auth.Summarize(before, map[string]any{"name": in.Title})
		if err := auth.Audit(ctx, tx, a, entry); err != nil {
			return err
		}
		for _, e := range added {
			if err := s.tellExpert(ctx, tx, e, notify.Outcome{Title: "school.outcome.teacher_title", Body: "school.outcome.teacher", Args: []any{in.Title},
				Link: "/admin/school/me"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Course{}, err
	}
	return s.course(ctx, s.DB.Read(), id)
}

// titleErr is the refusal of a title the town's menu has already.
func titleErr(err error) error {
	if db.IsUnique(err) {
		return &errs.Error{Code: errs.Conflict, Key: "school.title_taken", Fields: []errs.FieldError{{Field: "title", Key: "school.title_taken"}}}
	}
	return fmt.Errorf("school: course: %w", err)
}

// teachersFor checks the experts chosen for a course: each of the town's pool, or retired and
// the course's already (history kept); a retired expert is given no new course.
func (s *Service) teachersFor(ctx context.Context, f *errs.Fields, townID, courseID int64, ids []int64) ([]Expert, error) {
	var clean []int64
	for _, id := range ids {
		if !slices.Contains(clean, id) {
			clean = append(clean, id)
		}
	}
	if len(clean) > maxTeachers {
		f.Add("expert_ids", "school.too_many_experts", maxTeachers)
		return nil, nil
	}
	if len(clean) == 0 {
		return nil, nil
	}
	p := s.DB.Params()
	town := p.Add(townID)
	list, err := s.experts(ctx, s.DB.Read(), `e.town_id = `+town+` AND e.id IN (`+p.List(clean)+`)`, p.Args...)
	if err != nil {
		return nil, err
	}
	if len(list) != len(clean) {
		f.Add("expert_ids", "school.expert_unknown")
		return nil, nil
	}
	var had []int64
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT expert_id FROM school_course_experts WHERE course_id = $1`, courseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		had = append(had, id)
	}
	for _, e := range list {
		if e.Retired && !slices.Contains(had, e.ID) {
			f.Add("expert_ids", "school.expert_retired_pick", e.Name)
			return nil, rows.Err()
		}
	}
	return list, rows.Err()
}

// setTeachers makes the course's experts those given, and returns the ids of those it did not have.
func (s *Service) setTeachers(ctx context.Context, tx *sql.Tx, courseID int64, experts []Expert) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT expert_id FROM school_course_experts WHERE course_id = $1`, courseID)
	if err != nil {
		return nil, err
	}
	var had []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		had = append(had, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var added []int64
	for _, e := range experts {
		if !slices.Contains(had, e.ID) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO school_course_experts (course_id, expert_id) VALUES ($1, $2)`, courseID, e.ID); err != nil {
				return nil, err
			}
			added = append(added, e.ID)
		}
	}
	for _, id := range had {
		if !slices.ContainsFunc(experts, func(e Expert) bool { return e.ID == id }) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM school_course_experts WHERE course_id = $1 AND expert_id = $2`, courseID, id); err != nil {
				return nil, err
			}
		}
	}
	return added, nil
}

// statusMoves are the moves a course's status may make: a draft or a withdrawn course is offered,
// an offered one withdrawn. Nothing goes back to draft.
var statusMoves = map[Status][]Status{Draft: {Offered}, Offered: {Withdrawn}, Withdrawn: {Offered}}

// SetStatus offers a course on the menu or withdraws it. An offered course needs an expert in the
// pool to teach it. Its experts are told.
func (s *Service) SetStatus(ctx context.Context, a *auth.Actor, id int64, status string) (Course, error) {
	c, err := s.course(ctx, s.DB.Read(), id)
	if err != nil {
		return Course{}, err
	}
	if roleIn(a, c.TownID) != manager {
		return Course{}, hide(a, c.TownID)
	}
	to := Status(status)
	if !slices.Contains(Statuses, to) {
		return Course{}, errs.Field("status", "school.status_invalid")
	}
	if to == c.Status {
		return c, nil
	}
	if !slices.Contains(statusMoves[c.Status], to) {
		return Course{}, errs.New(errs.Conflict, "school.status_move", c.Title)
	}
	if to == Offered && !slices.ContainsFunc(c.Experts, func(t Teacher) bool { return !t.Retired }) {
		return Course{}, &errs.Error{Code: errs.Conflict, Key: "school.offer_needs_expert", Fields: []errs.FieldError{{Field: "expert_ids", Key: "school.offer_needs_expert"}}}
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE school_courses SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`, string(to), s.Now(), id, string(c.Status))
		if err != nil {
			return fmt.Errorf("school: status: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = errs.New(errs.Conflict, "school.status_changed", c.Title) // someone else moved it first
			}
			return err
		}
		entry, title, body := auth.AuditEntry{Action: "school.course.offer"}, "school.outcome.offered_title", "school.outcome.offered"
		if to == Withdrawn {
			entry, title, body = auth.AuditEntry{Action: "school.course.withdraw"}, "school.outcome.withdrawn_title", "school.outcome.withdrawn"
		}
		entry.Entity, entry.EntityID, entry.TownID = "school_course", id, c.TownID
		entry.Summary = auth.Summarize(nil, map[string]any{"name": c.Title}) // the action says the move
		if err := auth.Audit(ctx, tx, a, entry); err != nil {
			return err
		}
		for _, t := range c.Experts {
			if !t.Retired {
				if err := s.tellExpert(ctx, tx, t.ID, notify.Outcome{Title: title, Body: body, Args: []any{c.Title}, Link: "/admin/school/me"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return Course{}, err
	}
	return s.course(ctx, s.DB.Read(), id)
}

// Courses lists a town's courses by category and title: for its staff in any status (or the one
// asked for); for the menu's readers the offered ones, with the experts in the pool; for an
// expert's login, the courses they teach. A category that is not the town's is not found.
func (s *Service) Courses(ctx context.Context, a *auth.Actor, f CourseFilter) ([]Course, error) {
	townID := townOf(a, f.TownID)
	who := roleIn(a, townID)
	p := s.DB.Params()
	where := `c.town_id = ` + p.Add(townID)
	switch who {
	case manager:
		if f.Status != "" {
			if !slices.Contains(Statuses, Status(f.Status)) {
				return nil, errs.Field("status", "school.status_invalid")
			}
			where += ` AND c.status = ` + p.Add(f.Status)
		}
	case reader:
		where += ` AND c.status = ` + p.Add(string(Offered))
	default:
		me, err := s.Me(ctx, a)
		if err != nil || me.TownID != townID {
			return nil, notFound
		}
		where += ` AND c.id IN (SELECT course_id FROM school_course_experts WHERE expert_id = ` + p.Add(me.ID) + `)`
	}
	if f.CategoryID != 0 {
		if _, err := s.category(ctx, s.DB.Read(), townID, f.CategoryID); err != nil {
			return nil, err
		}
		where += ` AND c.category_id = ` + p.Add(f.CategoryID)
	}
	list, err := s.courses(ctx, s.DB.Read(), where, p.Args...)
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

// Course is a course as the actor may see it: any of the town's for its staff, an offered one
// for the menu's readers, one they teach for an expert; NotFound otherwise.
func (s *Service) Course(ctx context.Context, a *auth.Actor, id int64) (Course, error) {
	c, err := s.course(ctx, s.DB.Read(), id)
	if err != nil {
		return Course{}, err
	}
	switch roleIn(a, c.TownID) {
	case manager:
		return c, nil
	case reader:
		if c.Status == Offered {
			return c.public(), nil
		}
	}
	if me, err := s.Me(ctx, a); err == nil && slices.ContainsFunc(c.Experts, func(t Teacher) bool { return t.ID == me.ID }) {
		return c.public(), nil
	}
	return Course{}, notFound
}

// public is a course as the menu shows it: its experts in the pool only.
func (c Course) public() Course {
	c.Experts = slices.DeleteFunc(slices.Clone(c.Experts), func(t Teacher) bool { return t.Retired })
	return c
}

// MaterialPDF is a course's PDF, for whoever may see the course.
func (s *Service) MaterialPDF(ctx context.Context, a *auth.Actor, id int64) (string, []byte, error) {
	c, err := s.Course(ctx, a, id)
	if err != nil {
		return "", nil, err
	}
	var name string
	var data []byte
	err = s.DB.Read().QueryRowContext(ctx, `SELECT file_name, data FROM school_materials WHERE course_id = $1`, c.ID).Scan(&name, &data)
	if db.IsNoRows(err) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("school: material: %w", err)
	}
	return name, data, nil
}

const courseCols = `c.id, c.town_id, c.category_id, k.name, c.title, c.outline, c.minutes, c.format, c.status, c.material_url,
	c.times_taught, c.rating_count, c.rating_sum, c.updated_at, m.file_name, m.size`

const courseFrom = ` FROM school_courses c JOIN school_categories k ON k.id = c.category_id LEFT JOIN school_materials m ON m.course_id = c.id `

// course is a course by id with its experts; it checks no permission.
func (s *Service) course(ctx context.Context, q db.Querier, id int64) (Course, error) {
	list, err := s.courses(ctx, q, `c.id = $1`, id)
	if err != nil {
		return Course{}, err
	}
	if len(list) == 0 {
		return Course{}, notFound
	}
	return list[0], nil
}

// courses lists courses by a condition on c, in the order of their categories, then by title,
// each with its experts.
func (s *Service) courses(ctx context.Context, q db.Querier, where string, args ...any) ([]Course, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+courseCols+courseFrom+`WHERE `+where+
		fmt.Sprintf(` ORDER BY COALESCE(k.town_id, 0), k.position, c.title, c.id LIMIT %d`, maxList), args...)
	if err != nil {
		return nil, fmt.Errorf("school: courses: %w", err)
	}
	out := []Course{}
	index := map[int64]int{}
	for rows.Next() {
		var c Course
		var sum int
		var file sql.NullString
		var size sql.NullInt64
		if err := rows.Scan(&c.ID, &c.TownID, &c.CategoryID, &c.Category, &c.Title, &c.Outline, &c.Minutes, &c.Format, &c.Status, &c.MaterialURL,
			&c.TimesTaught, &c.Ratings, &sum, &c.UpdatedAt, &file, &size); err != nil {
			rows.Close()
			return nil, fmt.Errorf("school: courses: %w", err)
		}
		if c.Ratings > 0 {
			c.Rating = math.Round(float64(sum)*10/float64(c.Ratings)) / 10
		}
		if file.Valid {
			c.Material = &Material{Name: file.String, Size: size.Int64}
		}
		c.Experts = []Teacher{}
		index[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]int64, 0, len(out))
	for _, c := range out {
		ids = append(ids, c.ID)
	}
	p := s.DB.Params()
	tr, err := q.QueryContext(ctx, `SELECT ce.course_id, e.id, e.name, e.affiliation, e.title, e.fields, e.bio,
		EXISTS (SELECT 1 FROM school_expert_photos p WHERE p.expert_id = e.id), e.retired_at IS NOT NULL
		FROM school_course_experts ce JOIN school_experts e ON e.id = ce.expert_id WHERE ce.course_id IN (`+p.List(ids)+`) ORDER BY e.name, e.id`, p.Args...)
	if err != nil {
		return nil, fmt.Errorf("school: course experts: %w", err)
	}
	defer tr.Close()
	for tr.Next() {
		var course int64
		var t Teacher
		var fields string
		if err := tr.Scan(&course, &t.ID, &t.Name, &t.Affiliation, &t.Title, &fields, &t.Bio, &t.Photo, &t.Retired); err != nil {
			return nil, fmt.Errorf("school: course experts: %w", err)
		}
		t.Fields = splitLines(fields)
		c := &out[index[course]]
		c.Experts = append(c.Experts, t)
	}
	return out, tr.Err()
}
