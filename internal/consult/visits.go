package consult

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/volunteer"
)

// Bounds of a visit's text, photos and needs.
const (
	maxVisitMet    = 100
	maxVisitNotes  = 2000
	maxVisitPhotos = 4
	maxVisitNeeds  = 10
)

// Visit is a 走访: a care-team member's visit to a household, written in the book (记在本上), what
// it found and where that went, and the household's rating of it.
type Visit struct {
	ID            int64     `json:"id"`
	TownID        int64     `json:"town_id"`
	VillageID     int64     `json:"village_id"`
	VillageName   string    `json:"village_name"`
	HouseholdID   int64     `json:"household_id"`
	Household     string    `json:"household"`
	Head          string    `json:"head"`
	MemberID      int64     `json:"member_id"`
	MemberName    string    `json:"member_name"`
	VisitedOn     string    `json:"visited_on"`
	Met           string    `json:"met"`
	Notes         string    `json:"notes"`
	NeedsFound    int       `json:"needs_found"`
	Rating        int       `json:"rating,omitzero"`
	RatingComment string    `json:"rating_comment,omitempty"`
	Findings      []Finding `json:"findings,omitempty"`
	PhotoIDs      []int64   `json:"photo_ids,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	memberAccount int64
}

// Summary is the first line of the notes, shortened for a list.
func (v Visit) Summary() string {
	s, _, _ := strings.Cut(v.Notes, "\n")
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// Finding is what a visit found and where it went: a 微志愿 need, a referral or a topic.
type Finding struct {
	Kind  string `json:"kind"`
	RefID int64  `json:"ref_id"`
	Title string `json:"title"`
}

// Link is the finding's page.
func (f Finding) Link() string {
	switch f.Kind {
	case "need":
		return fmt.Sprintf("/admin/volunteer/needs/%d", f.RefID)
	case "referral":
		return fmt.Sprintf("/admin/consult/referrals/%d", f.RefID)
	}
	return fmt.Sprintf("/consult/topics/%d", f.RefID)
}

// VisitNeed is a need found on a visit, filed as a 微志愿 need for the household.
type VisitNeed struct {
	Category    string `json:"category"`
	Description string `json:"description"`
	Urgency     string `json:"urgency"`
}

// VisitInput is a visit to write in the book. Photos come from a form's files, never from JSON.
type VisitInput struct {
	HouseholdID int64       `json:"household_id"`
	VisitedOn   string      `json:"visited_on"`
	Met         string      `json:"met"`
	Notes       string      `json:"notes"`
	Needs       []VisitNeed `json:"needs"`
	Photos      [][]byte    `json:"-"`
}

// VisitFilter narrows the town's book for its managers: by village, member and days.
type VisitFilter struct {
	VillageID int64
	MemberID  int64
	From, To  string
}

// VisitRating is a household's rating of a visit: 1–5 (满意 5, 基本满意 3, 不满意 1) and a comment.
type VisitRating struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

// careHousehold is a household's place and head, read with no check of who asks.
type careHouseholdRow struct {
	ID, TownID, VillageID, HeadID int64
	Number, HeadName              string
	MemberID                      int64
}

// careHouseholdOf reads a household with its town, village, head and contact cadre.
func (s *Service) careHouseholdOf(ctx context.Context, q db.Querier, id int64) (careHouseholdRow, error) {
	var h careHouseholdRow
	err := q.QueryRowContext(ctx, `SELECT h.id, v.town_id, h.village_id, h.number, COALESCE(h.head_resident_id, 0), COALESCE(hr.name, ''), COALESCE(ch.member_id, 0)
		FROM households h JOIN villages v ON v.id = h.village_id LEFT JOIN residents hr ON hr.id = h.head_resident_id
		LEFT JOIN consult_care_households ch ON ch.household_id = h.id WHERE h.id = $1`, id).
		Scan(&h.ID, &h.TownID, &h.VillageID, &h.Number, &h.HeadID, &h.HeadName, &h.MemberID)
	if db.IsNoRows(err) {
		return h, notFound
	}
	if err != nil {
		return h, fmt.Errorf("consult: household: %w", err)
	}
	return h, nil
}

// careVisits reports whether the actor may see and write visits to a household: the town's
// managers, and the member it is assigned to or whose villages hold it.
func (s *Service) careVisits(ctx context.Context, q db.Querier, a *auth.Actor, h careHouseholdRow) (Member, bool, error) {
	m, ok, err := s.careMe(ctx, q, a)
	if err != nil {
		return m, false, err
	}
	if ok && m.TownID == h.TownID && (h.MemberID == m.ID || m.HasVillage(h.VillageID)) {
		return m, true, nil
	}
	return m, manages(a, h.TownID), nil
}

const visitCols = `vi.id, vi.town_id, vi.village_id, v.name, vi.household_id, h.number, COALESCE(hr.name, ''), vi.member_id, m.name, m.account_id,
	vi.visited_on, vi.met, vi.notes, vi.needs_found, COALESCE(vi.rating, 0), vi.rating_comment, vi.created_at`

const visitFrom = ` FROM consult_visits vi JOIN villages v ON v.id = vi.village_id JOIN households h ON h.id = vi.household_id
	LEFT JOIN residents hr ON hr.id = h.head_resident_id JOIN consult_care_members m ON m.id = vi.member_id `

// scanVisit reads a row of visitCols.
func scanVisit(sc interface{ Scan(...any) error }) (Visit, error) {
	var v Visit
	err := sc.Scan(&v.ID, &v.TownID, &v.VillageID, &v.VillageName, &v.HouseholdID, &v.Household, &v.Head, &v.MemberID, &v.MemberName, &v.memberAccount,
		&v.VisitedOn, &v.Met, &v.Notes, &v.NeedsFound, &v.Rating, &v.RatingComment, &v.CreatedAt)
	return v, err
}

// visit reads a visit with its findings and photos, with no check of who asks.
func (s *Service) visit(ctx context.Context, q db.Querier, id int64) (Visit, error) {
	v, err := scanVisit(q.QueryRowContext(ctx, `SELECT `+visitCols+visitFrom+`WHERE vi.id = $1`, id))
	if db.IsNoRows(err) {
		return v, notFound
	}
	if err != nil {
		return v, fmt.Errorf("consult: visit: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT n.kind, n.ref_id, COALESCE(vn.description, t.title, '') FROM consult_visit_needs n
		LEFT JOIN volunteer_needs vn ON n.kind = 'need' AND vn.id = n.ref_id LEFT JOIN consult_topics t ON n.kind = 'topic' AND t.id = n.ref_id
		WHERE n.visit_id = $1 ORDER BY n.kind, n.ref_id`, id)
	if err != nil {
		return v, fmt.Errorf("consult: visit findings: %w", err)
	}
	for rows.Next() {
		var f Finding
		if err := rows.Scan(&f.Kind, &f.RefID, &f.Title); err != nil {
			rows.Close()
			return v, err
		}
		v.Findings = append(v.Findings, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, err
	}
	v.PhotoIDs, err = s.photoIDs(ctx, q, "visit", id)
	return v, err
}

// visitVisible is nil when the actor may see a visit (and its photos): the member who made it, the
// town's managers, and the residents of the household.
func (s *Service) visitVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	var townID, householdID, account int64
	err := q.QueryRowContext(ctx, `SELECT vi.town_id, vi.household_id, m.account_id FROM consult_visits vi JOIN consult_care_members m ON m.id = vi.member_id WHERE vi.id = $1`, id).
		Scan(&townID, &householdID, &account)
	if db.IsNoRows(err) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("consult: visit: %w", err)
	}
	if a == nil || a.AccountID == 0 {
		return notFound
	}
	if manages(a, townID) || (account == a.AccountID && auth.Can(a, PermCare, auth.Scope{TownID: townID}) == nil) {
		return nil
	}
	if m, ok, err := s.me(ctx, q, a); err != nil {
		return err
	} else if ok && m.Active && m.HouseholdID == householdID {
		return nil
	}
	return notFound
}

// Visit returns a visit to whoever may see it.
func (s *Service) Visit(ctx context.Context, a *auth.Actor, id int64) (Visit, error) {
	q := s.DB.Read()
	if err := s.visitVisible(ctx, q, a, id); err != nil {
		return Visit{}, err
	}
	return s.visit(ctx, q, id)
}

// careToday is the town's calendar day now.
func (s *Service) careToday(ctx context.Context, townID int64) (time.Time, error) {
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return time.Time{}, err
	}
	return clock.In(loc, s.Now).Today(), nil
}

// LogVisit writes a visit in the book: a member for a household of theirs (another answers
// NotFound, as refuse says), on a day not in the future, with who was met, the notes, at most four
// photos, and the needs found, each filed at once as a 微志愿 need for the household (in NeedFlow,
// recorded by the member) so that the village's teams see it. The household is told.
func (s *Service) LogVisit(ctx context.Context, a *auth.Actor, in VisitInput) (Visit, error) {
	in.VisitedOn, in.Met, in.Notes = strings.TrimSpace(in.VisitedOn), strings.TrimSpace(in.Met), strings.TrimSpace(in.Notes)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if in.HouseholdID <= 0 {
			if auth.Can(a, PermCare, auth.Scope{TownID: a.TownID}) != nil {
				return auth.Refuse(a, PermCare)
			}
			return errs.Field("household_id", "field.required")
		}
		h, err := s.careHouseholdOf(ctx, tx, in.HouseholdID)
		if err != nil {
			return auth.Refuse(a, PermCare)
		}
		m, ok, err := s.careVisits(ctx, tx, a, h)
		if err != nil {
			return err
		}
		if !ok {
			return auth.Refuse(a, PermCare)
		}
		if m.ID == 0 {
			return errs.Field("household_id", "consult.care.not_member")
		}
		today, err := s.careToday(ctx, h.TownID)
		if err != nil {
			return err
		}
		var f errs.Fields
		if in.VisitedOn == "" {
			f.Add("visited_on", "field.required")
		} else if d, ok := careDay(in.VisitedOn); !ok {
			f.Add("visited_on", "consult.visit.date_invalid")
		} else if d.After(today) {
			f.Add("visited_on", "consult.visit.future")
		}
		f.Text("met", in.Met, maxVisitMet, false)
		f.Text("notes", in.Notes, maxVisitNotes, true)
		if len(in.Photos) > maxVisitPhotos {
			f.Add("photos", "field.photos_too_many", maxVisitPhotos)
		}
		if len(in.Needs) > maxVisitNeeds {
			f.Add("needs", "field.too_long")
		}
		for i := range in.Needs {
			n := &in.Needs[i]
			n.Category, n.Description, n.Urgency = strings.TrimSpace(n.Category), strings.TrimSpace(n.Description), strings.TrimSpace(n.Urgency)
			if n.Urgency == "" {
				n.Urgency = "normal"
			}
			field := fmt.Sprintf("needs[%d].", i)
			if _, ok := volunteer.Categories[n.Category]; !ok {
				f.Add(field+"category", "volunteer.category_invalid")
			}
			f.Text(field+"description", n.Description, 1000, true)
			if !slices.Contains(volunteer.Urgencies, n.Urgency) {
				f.Add(field+"urgency", "volunteer.urgency_invalid")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_visits (town_id, village_id, household_id, member_id, visited_on, met, notes, needs_found, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, h.TownID, h.VillageID, h.ID, m.ID, in.VisitedOn, in.Met, in.Notes, len(in.Needs), now).Scan(&id); err != nil {
			return fmt.Errorf("consult: visit: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "visit", id, in.Photos); err != nil {
			return err
		}
		forName := h.HeadName
		if forName == "" {
			forName = h.Number
		}
		for _, n := range in.Needs {
			needID, err := s.Volunteer.FileNeed(ctx, tx, a, volunteer.FiledNeed{TownID: h.TownID, VillageID: h.VillageID, Category: n.Category,
				Description: n.Description, ForResidentID: h.HeadID, ForName: forName, Urgency: n.Urgency, Source: "visit"})
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO consult_visit_needs (visit_id, kind, ref_id) VALUES ($1, 'need', $2)`, id, needID); err != nil {
				return fmt.Errorf("consult: visit need: %w", err)
			}
		}
		if err := s.Notify.Tell(ctx, tx, h.HeadID, notify.Outcome{Title: "consult.visit.told_title", Body: "consult.visit.told", Args: []any{m.Name, in.VisitedOn, len(in.Needs)},
			Link: "/consult/care"}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.visit.create", Entity: "consult_visit", EntityID: id, TownID: h.TownID, VillageID: h.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"household": h.Number, "visited_on": in.VisitedOn, "needs": len(in.Needs)})})
	})
	if err != nil {
		return Visit{}, err
	}
	return s.visit(ctx, s.DB.Read(), id)
}

// Visits lists the book newest first: a member's own visits, or for the town's managers everyone's
// in the town, filtered.
func (s *Service) Visits(ctx context.Context, a *auth.Actor, f VisitFilter) ([]Visit, error) {
	q := s.DB.Read()
	where, args := "", []any{}
	if a != nil && manages(a, a.TownID) {
		where, args = "vi.town_id = $1", append(args, a.TownID)
		if f.VillageID != 0 {
			args = append(args, f.VillageID)
			where += fmt.Sprintf(" AND vi.village_id = $%d", len(args))
		}
		if f.MemberID != 0 {
			args = append(args, f.MemberID)
			where += fmt.Sprintf(" AND vi.member_id = $%d", len(args))
		}
	} else {
		m, ok, err := s.careMe(ctx, q, a)
		if err != nil {
			return nil, err
		}
		if !ok {
			if a != nil && auth.Can(a, PermCare, auth.Scope{TownID: a.TownID}) == nil {
				return []Visit{}, nil
			}
			return nil, auth.Refuse(a, PermCare)
		}
		where, args = "vi.member_id = $1", append(args, m.ID)
	}
	if _, ok := careDay(f.From); ok {
		args = append(args, f.From)
		where += fmt.Sprintf(" AND vi.visited_on >= $%d", len(args))
	}
	if _, ok := careDay(f.To); ok {
		args = append(args, f.To)
		where += fmt.Sprintf(" AND vi.visited_on <= $%d", len(args))
	}
	return s.listVisits(ctx, q, where, args...)
}

// listVisits reads visits matching a condition, newest first.
func (s *Service) listVisits(ctx context.Context, q db.Querier, where string, args ...any) ([]Visit, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+visitCols+visitFrom+`WHERE `+where+` ORDER BY vi.visited_on DESC, vi.id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("consult: visits: %w", err)
	}
	defer rows.Close()
	out := []Visit{}
	for rows.Next() {
		v, err := scanVisit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// VisitHouseholds are the households the actor may log a visit to, found by number or the head's
// name: a member's assigned households and those of their villages, or any of the town for its
// managers.
func (s *Service) VisitHouseholds(ctx context.Context, a *auth.Actor, query string) ([]CareHousehold, error) {
	q := s.DB.Read()
	query = strings.TrimSpace(query)
	m, ok, err := s.careMe(ctx, q, a)
	if err != nil {
		return nil, err
	}
	switch {
	case ok:
		ids := make([]int64, len(m.Villages))
		for i, v := range m.Villages {
			ids[i] = v.ID
		}
		return s.careHouseholds(ctx, q, `WHERE (h.village_id IN (`+db.IDList(ids)+`) OR h.id IN (SELECT household_id FROM consult_care_households WHERE member_id = $1))
			AND ($2 = '' OR h.number LIKE $3 OR hr.name LIKE $3)`, m.ID, query, "%"+query+"%")
	case a != nil && manages(a, a.TownID):
		if query == "" {
			return []CareHousehold{}, nil
		}
		return s.careHouseholds(ctx, q, `WHERE v.town_id = $1 AND (h.number LIKE $2 OR hr.name LIKE $2)`, a.TownID, "%"+query+"%")
	}
	return nil, auth.Refuse(a, PermCare)
}

// CareCard is what a resident sees of the care team (我的联系干部): the member(s) assigned to their
// household, else to their village, and the visits to their household.
type CareCard struct {
	Members []Member `json:"members"`
	Visits  []Visit  `json:"visits"`
}

// Choices are the ratings a resident picks from on the card: 满意, 基本满意, 不满意.
func (CareCard) Choices() []int { return SatisfactionRatings }

// MyCare is the caller's card: a resident living in the town.
func (s *Service) MyCare(ctx context.Context, a *auth.Actor) (CareCard, error) {
	q := s.DB.Read()
	c := CareCard{Members: []Member{}, Visits: []Visit{}}
	me, ok, err := s.me(ctx, q, a)
	if err != nil || !ok || !me.Active {
		return c, err
	}
	ids, err := careIDs(ctx, q, `SELECT m.id FROM consult_care_households ch JOIN consult_care_members m ON m.id = ch.member_id
		WHERE ch.household_id = $1 AND m.active = TRUE`, me.HouseholdID)
	if err == nil && len(ids) == 0 {
		ids, err = careIDs(ctx, q, `SELECT m.id FROM consult_care_villages cv JOIN consult_care_members m ON m.id = cv.member_id
			WHERE cv.village_id = $1 AND m.active = TRUE ORDER BY m.name, m.id`, me.VillageID)
	}
	if err != nil {
		return c, err
	}
	for _, id := range ids {
		m, err := s.careMember(ctx, q, id)
		if err != nil {
			return c, err
		}
		m.Households, m.HouseholdsN = nil, 0
		c.Members = append(c.Members, m)
	}
	c.Visits, err = s.listVisits(ctx, q, "vi.household_id = $1", me.HouseholdID)
	if err != nil {
		return c, err
	}
	for i := range c.Visits {
		full, err := s.visit(ctx, q, c.Visits[i].ID)
		if err != nil {
			return c, err
		}
		c.Visits[i] = full
	}
	return c, nil
}

// RateVisit is the household's rating of a visit, once: a resident of the household (another
// answers NotFound); a second rating answers Conflict and changes nothing. The member who made it
// sees it on the visit.
func (s *Service) RateVisit(ctx context.Context, a *auth.Actor, id int64, in VisitRating) (Visit, error) {
	in.Comment = strings.TrimSpace(in.Comment)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var householdID, townID, villageID, account int64
		var day string
		err := tx.QueryRowContext(ctx, `SELECT vi.household_id, vi.town_id, vi.village_id, vi.visited_on, m.account_id FROM consult_visits vi
			JOIN consult_care_members m ON m.id = vi.member_id WHERE vi.id = $1`, id).Scan(&householdID, &townID, &villageID, &day, &account)
		if db.IsNoRows(err) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("consult: visit: %w", err)
		}
		me, ok, err := s.me(ctx, tx, a)
		if err != nil {
			return err
		}
		if !ok || !me.Active || me.HouseholdID != householdID {
			return notFound
		}
		var f errs.Fields
		if in.Rating < 1 || in.Rating > 5 {
			f.Add("rating", "consult.visit.rating_invalid")
		}
		f.Text("comment", in.Comment, 500, false)
		if err := f.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE consult_visits SET rating = $1, rating_comment = $2, rated_by = $3 WHERE id = $4 AND rating IS NULL`, in.Rating, in.Comment, me.ID, id)
		if err != nil {
			return fmt.Errorf("consult: rate visit: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &errs.Error{Code: errs.Conflict, Key: "consult.visit.rated_already", Fields: []errs.FieldError{{Field: "rating", Key: "consult.visit.rated_already"}}}
		}
		if err := s.careTellMember(ctx, tx, account, notify.Outcome{Title: "consult.visit.told_rated_title", Body: "consult.visit.told_rated",
			Args: []any{me.Name, day, in.Rating}, Link: fmt.Sprintf("/admin/consult/visits/%d", id)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.visit.rate", Entity: "consult_visit", EntityID: id, TownID: townID, VillageID: villageID,
			Summary: auth.Summarize(nil, map[string]any{"rating": in.Rating})})
	})
	if err != nil {
		return Visit{}, err
	}
	return s.visit(ctx, s.DB.Read(), id)
}

// PromoteVisit raises a topic from what a visit found (source "visit"): the member who made it or
// the town's managers; the topic is linked from the visit's findings and counted in its needs.
func (s *Service) PromoteVisit(ctx context.Context, a *auth.Actor, visitID int64, in TopicInput) (Topic, error) {
	var t Topic
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.visitVisible(ctx, tx, a, visitID); err != nil {
			return err
		}
		v, err := s.visit(ctx, tx, visitID)
		if err != nil {
			return err
		}
		if !manages(a, v.TownID) && v.memberAccount != a.AccountID {
			return auth.Refuse(a, PermCare)
		}
		in.TownID, in.VisitID = v.TownID, visitID
		if in.VillageID == 0 {
			in.VillageID = v.VillageID
		}
		if t, err = s.insertTopic(ctx, tx, a, in, SourceVisit, visitID, in.Photos); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE consult_visits SET needs_found = needs_found + 1 WHERE id = $1`, visitID)
		return err
	})
	return t, err
}

// careIDs reads a column of ids.
func careIDs(ctx context.Context, q db.Querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("consult: care ids: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
