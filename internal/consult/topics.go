package consult

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/web"
)

// A topic's states: open for support, accepted onto a meeting's agenda, decided at the meeting
// (set by the meetings part when it closes), declined with a reason, or merged into another.
const (
	TopicOpen     = "open"
	TopicAccepted = "accepted"
	TopicDecided  = "decided"
	TopicDeclined = "declined"
	TopicMerged   = "merged"
)

// Topic sources: who or what raised it.
const (
	SourceResident = "resident"
	SourceVillage  = "village"
	SourceTown     = "town"
	SourceVisit    = "visit"
	SourceNeed     = "need"
	SourceOpen311  = "open311"
)

// Bounds of a topic's text and photos.
const (
	maxTopicTitle  = 60
	maxTopicBody   = 2000
	maxTopicPhotos = 4
	maxTopicReason = 200
)

// Topic is a 议题: a matter a resident, staff, a care visit, a volunteer need or an Open311 client
// raised for a village or the whole town (VillageID 0), the residents' support of it, and what
// became of it.
type Topic struct {
	ID           int64     `json:"id"`
	TownID       int64     `json:"town_id"`
	VillageID    int64     `json:"village_id,omitzero"`
	VillageName  string    `json:"village_name"`
	CategoryID   int64     `json:"category_id"`
	Category     string    `json:"category"`
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	Status       string    `json:"status"`
	Source       string    `json:"source"`
	SourceID     int64     `json:"source_id,omitzero"`
	ProposerName string    `json:"proposer_name"`
	MeetingID    int64     `json:"meeting_id,omitzero"`
	MeetingTitle string    `json:"meeting_title,omitempty"`
	MeetingAt    time.Time `json:"meeting_at,omitzero"`
	MergedInto   int64     `json:"merged_into,omitzero"`
	MergedTitle  string    `json:"merged_title,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
	Supports     int       `json:"supports"`
	// Supported is whether the caller supports it; CanSupport whether they may (a resident of its
	// scope, while it is open); Hosts whether they may accept, decline or merge it.
	Supported  bool      `json:"supported"`
	CanSupport bool      `json:"can_support"`
	Hosts      bool      `json:"hosts"`
	Photos     []int64   `json:"photos"`
	AgeDays    int       `json:"age_days"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	proposer   int64
}

// TopicInput is a topic to propose. VillageID 0 is the whole town. VisitID is set by the care
// part when a visit found it (the caller has checked the visit is visible). Photos come from a
// form's files, never from JSON.
type TopicInput struct {
	TownID      int64    `json:"town_id"`
	VillageID   int64    `json:"village_id"`
	CategoryID  int64    `json:"category_id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	VisitID     int64    `json:"visit_id,omitzero"`
	Photos      [][]byte `json:"-"`
}

// TopicFilter narrows the staff's list: by status, village, category, and sorted by support
// ("support", the default) or age ("age", oldest first).
type TopicFilter struct {
	TownID     int64  `json:"town_id"`
	Status     string `json:"status"`
	VillageID  int64  `json:"village_id"`
	CategoryID int64  `json:"category_id"`
	Sort       string `json:"sort"`
}

// TopicAction is a host's decision on a topic: accept onto a meeting (meeting_id), decline with a
// reason, or merge into another topic (into_id).
type TopicAction struct {
	Action    string `json:"action"`
	MeetingID int64  `json:"meeting_id,omitzero"`
	Reason    string `json:"reason,omitempty"`
	IntoID    int64  `json:"into_id,omitzero"`
}

const topicCols = `t.id, t.town_id, COALESCE(t.village_id, 0), COALESCE(v.name, ''), t.category_id, c.code, c.name, t.title, t.description,
	t.status, t.source, COALESCE(t.source_id, 0), t.proposer_name, COALESCE(t.meeting_id, 0), COALESCE(m.title, ''), m.starts_at,
	COALESCE(t.merged_into, 0), COALESCE(mt.title, ''), t.reason, t.outcome, t.supports, t.created_at, t.updated_at, COALESCE(t.proposer_resident, 0)`

const topicFrom = ` FROM consult_topics t
	JOIN consult_categories c ON c.id = t.category_id
	LEFT JOIN villages v ON v.id = t.village_id
	LEFT JOIN consult_meetings m ON m.id = t.meeting_id
	LEFT JOIN consult_topics mt ON mt.id = t.merged_into `

func (s *Service) scanTopic(sc interface{ Scan(...any) error }) (Topic, error) {
	var t Topic
	var code, cname string
	var meetingAt sql.NullTime
	err := sc.Scan(&t.ID, &t.TownID, &t.VillageID, &t.VillageName, &t.CategoryID, &code, &cname, &t.Title, &t.Description,
		&t.Status, &t.Source, &t.SourceID, &t.ProposerName, &t.MeetingID, &t.MeetingTitle, &meetingAt,
		&t.MergedInto, &t.MergedTitle, &t.Reason, &t.Outcome, &t.Supports, &t.CreatedAt, &t.UpdatedAt, &t.proposer)
	if err != nil {
		return t, err
	}
	t.Category = s.named(Category{Code: code, Name: cname}).Name
	if meetingAt.Valid {
		t.MeetingAt = meetingAt.Time
	}
	t.AgeDays = int(s.Now().Sub(t.CreatedAt).Hours() / 24)
	t.Photos = []int64{}
	return t, nil
}

// topic reads a topic with no check of who asks.
func (s *Service) topic(ctx context.Context, q db.Querier, id int64) (Topic, error) {
	t, err := s.scanTopic(q.QueryRowContext(ctx, `SELECT `+topicCols+topicFrom+`WHERE t.id = $1`, id))
	if db.IsNoRows(err) {
		return t, notFound
	}
	if err != nil {
		return t, fmt.Errorf("consult: topic %d: %w", id, err)
	}
	return t, nil
}

// topicVisible is nil when the actor may see the topic: the hosts of its scope (a district admin
// among them), the residents of its scope and its proposer; otherwise NotFound.
func (s *Service) topicVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	var townID, villageID, proposer int64
	err := q.QueryRowContext(ctx, `SELECT town_id, COALESCE(village_id, 0), COALESCE(proposer_resident, 0) FROM consult_topics WHERE id = $1`, id).
		Scan(&townID, &villageID, &proposer)
	if db.IsNoRows(err) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("consult: topic %d: %w", id, err)
	}
	if hosts(a, townID, villageID) {
		return nil
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return err
	}
	if ok && (m.inScope(townID, villageID) || (proposer != 0 && m.ID == proposer)) {
		return nil
	}
	return notFound
}

// Topic returns a topic to whoever may see it, with the caller's support and what they may do.
func (s *Service) Topic(ctx context.Context, a *auth.Actor, id int64) (Topic, error) {
	q := s.DB.Read()
	if err := s.topicVisible(ctx, q, a, id); err != nil {
		return Topic{}, err
	}
	t, err := s.topic(ctx, q, id)
	if err != nil {
		return t, err
	}
	return t, s.decorate(ctx, q, a, &t)
}

// decorate adds the photos and what the caller is to the topic.
func (s *Service) decorate(ctx context.Context, q db.Querier, a *auth.Actor, t *Topic) error {
	var err error
	if t.Photos, err = s.photoIDs(ctx, q, "topic", t.ID); err != nil {
		return err
	}
	t.Hosts = hosts(a, t.TownID, t.VillageID)
	m, ok, err := s.me(ctx, q, a)
	if err != nil || !ok {
		return err
	}
	t.CanSupport = t.Status == TopicOpen && m.inScope(t.TownID, t.VillageID)
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_supports WHERE topic_id = $1 AND resident_id = $2`, t.ID, m.ID).Scan(&n); err != nil {
		return fmt.Errorf("consult: support: %w", err)
	}
	t.Supported = n > 0
	return nil
}

// ProposeTopic raises a topic: a resident for their own village or their town, village staff for
// their village, town staff for any village or the whole town. The photos (at most four) are
// re-encoded and kept with it.
func (s *Service) ProposeTopic(ctx context.Context, a *auth.Actor, in TopicInput) (Topic, error) {
	if a == nil || a.AccountID == 0 {
		return Topic{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	q := s.DB.Read()
	townID, err := s.placeIn(ctx, q, a, in.TownID, in.VillageID)
	if err != nil {
		return Topic{}, err
	}
	in.TownID = townID
	source := ""
	switch {
	case hosts(a, townID, 0):
		source = SourceTown
	case hosts(a, townID, in.VillageID):
		source = SourceVillage
	default:
		m, ok, err := s.me(ctx, q, a)
		if err != nil {
			return Topic{}, err
		}
		if !ok || !m.inScope(townID, in.VillageID) {
			if ok && m.Active && m.TownID == townID {
				// A resident of the town naming another village of it: that village is not theirs.
				return Topic{}, &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "village_id", Key: "consult.topic.village_not_yours"}}}
			}
			// Staff of another village learn nothing of this one; a resident elsewhere may not.
			return Topic{}, auth.Refuse(a, PermHost)
		}
		source = SourceResident
	}
	var t Topic
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = s.insertTopic(ctx, tx, a, in, source, 0, in.Photos)
		return err
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, t.ID)
}

// checkTopic validates a topic's text, category and photo count, naming the fields.
func (s *Service) checkTopic(ctx context.Context, q db.Querier, in *TopicInput, photos int) error {
	in.Title, in.Description = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description)
	var f errs.Fields
	f.Text("title", in.Title, maxTopicTitle, true)
	f.Text("description", in.Description, maxTopicBody, true)
	if in.CategoryID == 0 {
		f.Add("category_id", "field.required")
	}
	if photos > maxTopicPhotos {
		f.Add("photos", "field.photos_too_many", maxTopicPhotos)
	}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := s.category(ctx, q, in.TownID, in.CategoryID)
	return err
}

// insertTopic stores a topic inside tx with no check of who may propose it: the care part (source
// "visit", in.VisitID set after visitVisible) and Open311 (source "open311") call it after their
// own checks. The village must be of in.TownID (placeIn). A visit's topic is linked from the
// visit's findings.
func (s *Service) insertTopic(ctx context.Context, tx *sql.Tx, a *auth.Actor, in TopicInput, source string, sourceID int64, photos [][]byte) (Topic, error) {
	if in.TownID == 0 && a != nil {
		in.TownID = a.TownID
	}
	if _, err := s.placeIn(ctx, tx, a, in.TownID, in.VillageID); err != nil {
		return Topic{}, err
	}
	if err := s.checkTopic(ctx, tx, &in, len(photos)); err != nil {
		return Topic{}, err
	}
	if in.VisitID != 0 && sourceID == 0 {
		sourceID = in.VisitID
	}
	var accountID, residentID int64
	name := ""
	if a != nil {
		accountID, name = a.AccountID, a.Name
		if m, ok, err := s.me(ctx, tx, a); err != nil {
			return Topic{}, err
		} else if ok {
			residentID = m.ID
			if source == SourceResident || source == SourceOpen311 {
				name = m.Name
			}
		}
	}
	now := s.Now()
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO consult_topics (town_id, village_id, category_id, title, description, status, source, source_id,
		proposed_by, proposer_resident, proposer_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
		in.TownID, db.NullID(in.VillageID), in.CategoryID, in.Title, in.Description, source, db.NullID(sourceID),
		db.NullID(accountID), db.NullID(residentID), name, now).Scan(&id); err != nil {
		return Topic{}, fmt.Errorf("consult: insert topic: %w", err)
	}
	if err := s.savePhotos(ctx, tx, "topic", id, photos); err != nil {
		return Topic{}, err
	}
	if in.VisitID != 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO consult_visit_needs (visit_id, kind, ref_id) VALUES ($1, 'topic', $2)`, in.VisitID, id); err != nil {
			return Topic{}, fmt.Errorf("consult: visit topic: %w", err)
		}
	}
	if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.topic.create", Entity: "consult_topic", EntityID: id, TownID: in.TownID, VillageID: in.VillageID,
		Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "source": source})}); err != nil {
		return Topic{}, err
	}
	return s.topic(ctx, tx, id)
}

// supporter is the resident who may support a topic: a resident living in its scope, while it is
// open. Someone who cannot see the topic learns nothing of it.
func (s *Service) supporter(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Topic, Me, error) {
	if a == nil || a.AccountID == 0 {
		return Topic{}, Me{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if err := s.topicVisible(ctx, q, a, id); err != nil {
		return Topic{}, Me{}, err
	}
	t, err := s.topic(ctx, q, id)
	if err != nil {
		return t, Me{}, err
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return t, m, err
	}
	if !ok || !m.inScope(t.TownID, t.VillageID) {
		return t, m, errs.New(errs.Forbidden, "consult.topic.support_residents")
	}
	if t.Status != TopicOpen {
		return t, m, errs.New(errs.Conflict, "consult.topic.not_open")
	}
	return t, m, nil
}

// Support adds the caller's support to an open topic of their scope: one resident, one support,
// however often or concurrently it is asked (the primary key decides; the count moves only when a
// row was added).
func (s *Service) Support(ctx context.Context, a *auth.Actor, id int64) (Topic, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, m, err := s.supporter(ctx, tx, a, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO consult_supports (topic_id, resident_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, m.ID, s.Now())
		if err != nil {
			return fmt.Errorf("consult: support: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE consult_topics SET supports = supports + 1 WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, id)
}

// Withdraw takes back the caller's support of an open topic; withdrawing none changes nothing.
func (s *Service) Withdraw(ctx context.Context, a *auth.Actor, id int64) (Topic, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, m, err := s.supporter(ctx, tx, a, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM consult_supports WHERE topic_id = $1 AND resident_id = $2`, id, m.ID)
		if err != nil {
			return fmt.Errorf("consult: withdraw: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE consult_topics SET supports = supports - 1 WHERE id = $1 AND supports > 0`, id)
		return err
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, id)
}

// Topics lists the topics the actor hosts in a town, filtered, by support (most first) or by age
// (oldest first). A village outside what they host answers NotFound.
func (s *Service) Topics(ctx context.Context, a *auth.Actor, f TopicFilter) ([]Topic, error) {
	q := s.DB.Read()
	if f.TownID == 0 && a != nil {
		f.TownID = a.TownID
	}
	all, villages := hostScope(a, f.TownID)
	if !all && len(villages) == 0 {
		return nil, auth.Refuse(a, PermHost)
	}
	where := []string{fmt.Sprintf("t.town_id = %d", f.TownID)}
	if !all {
		where = append(where, "t.village_id IN ("+db.IDList(villages)+")")
	}
	if f.VillageID != 0 {
		if _, err := s.placeIn(ctx, q, a, f.TownID, f.VillageID); err != nil || !hosts(a, f.TownID, f.VillageID) {
			return nil, notFound
		}
		where = append(where, fmt.Sprintf("t.village_id = %d", f.VillageID))
	}
	switch f.Status {
	case "":
	case TopicOpen, TopicAccepted, TopicDecided, TopicDeclined, TopicMerged:
		where = append(where, "t.status = '"+f.Status+"'")
	default:
		return nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "status", Key: "error.invalid"}}}
	}
	if f.CategoryID != 0 {
		where = append(where, fmt.Sprintf("t.category_id = %d", f.CategoryID))
	}
	order := "t.supports DESC, t.created_at ASC, t.id"
	switch f.Sort {
	case "", "support":
	case "age":
		order = "t.created_at ASC, t.id"
	default:
		return nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "sort", Key: "error.invalid"}}}
	}
	return s.listTopics(ctx, q, a, `WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT 500`)
}

// MyTopics lists a resident's village's and town's topics, open ones first, by support; merged
// topics are left out (their support lives on in the one they joined).
func (s *Service) MyTopics(ctx context.Context, a *auth.Actor) ([]Topic, error) {
	q := s.DB.Read()
	m, ok, err := s.me(ctx, q, a)
	if err != nil || !ok {
		return []Topic{}, err
	}
	return s.listTopics(ctx, q, a, fmt.Sprintf(`WHERE t.town_id = %d AND (t.village_id IS NULL OR t.village_id = %d) AND t.status <> 'merged'
		ORDER BY CASE t.status WHEN 'open' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END, t.supports DESC, t.created_at DESC LIMIT 300`, m.TownID, m.VillageID))
}

func (s *Service) listTopics(ctx context.Context, q db.Querier, a *auth.Actor, tail string) ([]Topic, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+topicCols+topicFrom+tail)
	if err != nil {
		return nil, fmt.Errorf("consult: topics: %w", err)
	}
	out := []Topic{}
	for rows.Next() {
		t, err := s.scanTopic(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("consult: topics: %w", err)
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return nil, err
	}
	mine := map[int64]bool{}
	if ok && len(out) > 0 {
		ids := make([]int64, len(out))
		for i, t := range out {
			ids[i] = t.ID
		}
		rows, err := q.QueryContext(ctx, `SELECT topic_id FROM consult_supports WHERE resident_id = $1 AND topic_id IN (`+db.IDList(ids)+`)`, m.ID)
		if err != nil {
			return nil, fmt.Errorf("consult: supports: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			mine[id] = true
		}
		rows.Close()
	}
	for i := range out {
		t := &out[i]
		t.Supported = mine[t.ID]
		t.Hosts = hosts(a, t.TownID, t.VillageID)
		t.CanSupport = ok && t.Status == TopicOpen && m.inScope(t.TownID, t.VillageID)
	}
	return out, nil
}

// hosted is a topic the actor hosts, read inside tx; anyone else is refused as refuse says.
func (s *Service) hosted(ctx context.Context, q db.Querier, a *auth.Actor, id int64) (Topic, error) {
	t, err := s.topic(ctx, q, id)
	if err != nil {
		return t, err
	}
	if !hosts(a, t.TownID, t.VillageID) {
		if s.topicVisible(ctx, q, a, id) == nil {
			return t, errs.New(errs.Forbidden, "error.forbidden")
		}
		return t, auth.Refuse(a, PermHost)
	}
	return t, nil
}

// Act takes a host's decision on a topic: accept, decline or merge.
func (s *Service) Act(ctx context.Context, a *auth.Actor, id int64, in TopicAction) (Topic, error) {
	switch in.Action {
	case "accept":
		return s.Accept(ctx, a, id, in.MeetingID)
	case "decline":
		return s.Decline(ctx, a, id, in.Reason)
	case "merge":
		return s.Merge(ctx, a, id, in.IntoID)
	}
	if _, err := s.hostedRead(ctx, a, id); err != nil {
		return Topic{}, err
	}
	return Topic{}, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "action", Key: "error.invalid"}}}
}

func (s *Service) hostedRead(ctx context.Context, a *auth.Actor, id int64) (Topic, error) {
	return s.hosted(ctx, s.DB.Read(), a, id)
}

// Accept puts an open topic on a planned meeting's agenda: a town meeting takes any topic of its
// town, a village meeting its village's. The proposer is told.
func (s *Service) Accept(ctx context.Context, a *auth.Actor, id, meetingID int64) (Topic, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.hosted(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if t.Status != TopicOpen {
			return errs.New(errs.Conflict, "consult.topic.not_open")
		}
		bad := func(key string) error {
			return &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "meeting_id", Key: key}}}
		}
		if meetingID == 0 {
			return bad("field.required")
		}
		var mTown, mVillage int64
		var status, title string
		var starts time.Time
		err = tx.QueryRowContext(ctx, `SELECT town_id, COALESCE(village_id, 0), status, title, starts_at FROM consult_meetings WHERE id = $1`, meetingID).
			Scan(&mTown, &mVillage, &status, &title, &starts)
		if db.IsNoRows(err) || (err == nil && (mTown != t.TownID || !hosts(a, mTown, mVillage))) {
			return bad("consult.topic.meeting_not_found")
		}
		if err != nil {
			return fmt.Errorf("consult: meeting %d: %w", meetingID, err)
		}
		if status != "planned" {
			return bad("consult.topic.meeting_not_planned")
		}
		if mVillage != 0 && mVillage != t.VillageID {
			return bad("consult.topic.meeting_other_scope")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_topics SET status = 'accepted', meeting_id = $1, updated_at = $2 WHERE id = $3`, meetingID, s.Now(), id); err != nil {
			return fmt.Errorf("consult: accept: %w", err)
		}
		if err := s.Notify.Tell(ctx, tx, t.proposer, notify.Outcome{Title: "consult.topic.told_accepted_title", Body: "consult.topic.told_accepted",
			Args: []any{t.Title, title}, Link: fmt.Sprintf("/consult/topics/%d", id)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.topic.accept", Entity: "consult_topic", EntityID: id, TownID: t.TownID, VillageID: t.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"meeting": title})})
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, id)
}

// Decline turns down an open or accepted topic with a reason, which the proposer is told.
func (s *Service) Decline(ctx context.Context, a *auth.Actor, id int64, reason string) (Topic, error) {
	reason = strings.TrimSpace(reason)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.hosted(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if t.Status != TopicOpen && t.Status != TopicAccepted {
			return errs.New(errs.Conflict, "consult.topic.not_open")
		}
		var f errs.Fields
		f.Text("reason", reason, maxTopicReason, true)
		if err := f.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_topics SET status = 'declined', meeting_id = NULL, reason = $1, updated_at = $2 WHERE id = $3`, reason, s.Now(), id); err != nil {
			return fmt.Errorf("consult: decline: %w", err)
		}
		if err := s.Notify.Tell(ctx, tx, t.proposer, notify.Outcome{Title: "consult.topic.told_declined_title", Body: "consult.topic.told_declined",
			Args: []any{t.Title, reason}, Link: fmt.Sprintf("/consult/topics/%d", id)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.topic.decline", Entity: "consult_topic", EntityID: id, TownID: t.TownID, VillageID: t.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"reason": reason})})
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, id)
}

// Merge joins an open topic into a similar one that is open or accepted, of the same village or
// the whole town: its supporters move there, one who supported both counted once, and its
// proposer is told where it went.
func (s *Service) Merge(ctx context.Context, a *auth.Actor, id, intoID int64) (Topic, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.hosted(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if t.Status != TopicOpen {
			return errs.New(errs.Conflict, "consult.topic.not_open")
		}
		bad := func(key string) error {
			return &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "into_id", Key: key}}}
		}
		if intoID == 0 {
			return bad("field.required")
		}
		if intoID == id {
			return bad("consult.topic.merge_self")
		}
		into, err := s.topic(ctx, tx, intoID)
		if err != nil || into.TownID != t.TownID || !hosts(a, into.TownID, into.VillageID) {
			if err != nil && err != notFound {
				return err
			}
			return bad("consult.topic.merge_not_found")
		}
		if into.Status != TopicOpen && into.Status != TopicAccepted {
			return bad("consult.topic.merge_closed")
		}
		if into.VillageID != 0 && into.VillageID != t.VillageID {
			return bad("consult.topic.merge_other_scope")
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO consult_supports (topic_id, resident_id, created_at)
			SELECT $1, resident_id, created_at FROM consult_supports WHERE topic_id = $2 ON CONFLICT DO NOTHING`, intoID, id); err != nil {
			return fmt.Errorf("consult: merge supports: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM consult_supports WHERE topic_id = $1`, id); err != nil {
			return fmt.Errorf("consult: merge supports: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_topics SET supports = (SELECT COUNT(*) FROM consult_supports WHERE topic_id = $1), updated_at = $2 WHERE id = $1`, intoID, now); err != nil {
			return fmt.Errorf("consult: merge: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consult_topics SET status = 'merged', merged_into = $1, supports = 0, updated_at = $2 WHERE id = $3`, intoID, now, id); err != nil {
			return fmt.Errorf("consult: merge: %w", err)
		}
		if err := s.Notify.Tell(ctx, tx, t.proposer, notify.Outcome{Title: "consult.topic.told_merged_title", Body: "consult.topic.told_merged",
			Args: []any{t.Title, into.Title}, Link: fmt.Sprintf("/consult/topics/%d", intoID)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "consult.topic.merge", Entity: "consult_topic", EntityID: id, TownID: t.TownID, VillageID: t.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"into": into.Title})})
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, id)
}

// PromoteNeed makes a 微志愿 need a topic (source "need"): staff who host the need's village, once
// per need. The need's village and town are the topic's; the description defaults to the need's.
func (s *Service) PromoteNeed(ctx context.Context, a *auth.Actor, needID int64, in TopicInput) (Topic, error) {
	if a == nil || a.AccountID == 0 {
		return Topic{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if s.Volunteer == nil {
		return Topic{}, notFound
	}
	n, err := s.Volunteer.Need(ctx, a, needID)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return Topic{}, notFound
		}
		return Topic{}, err
	}
	if !hosts(a, n.TownID, n.VillageID) {
		return Topic{}, auth.Refuse(a, PermHost)
	}
	in.TownID, in.VillageID = n.TownID, n.VillageID
	if strings.TrimSpace(in.Description) == "" {
		in.Description = n.Description
	}
	var t Topic
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var k int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_topics WHERE source = 'need' AND source_id = $1`, needID).Scan(&k); err != nil {
			return err
		}
		if k > 0 {
			return errs.New(errs.Conflict, "consult.topic.need_promoted")
		}
		var err error
		t, err = s.insertTopic(ctx, tx, a, in, SourceNeed, needID, in.Photos)
		return err
	})
	if err != nil {
		return Topic{}, err
	}
	return s.Topic(ctx, a, t.ID)
}

// topicTodos counts the open topics waiting for the actor as their host.
func (s *Service) topicTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || a.TownID == 0 {
		return nil, nil
	}
	all, villages := hostScope(a, a.TownID)
	if !all && len(villages) == 0 {
		return nil, nil
	}
	where := fmt.Sprintf("town_id = %d AND status = 'open'", a.TownID)
	if !all {
		where += " AND village_id IN (" + db.IDList(villages) + ")"
	}
	var n int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_topics WHERE `+where).Scan(&n); err != nil {
		return nil, fmt.Errorf("consult: topic todos: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return []web.Todo{{Key: "consult.topic.todo", Count: n, Path: "/admin/consult/topics?status=open"}}, nil
}

// MeetingChoice is a planned meeting a topic may be put on, by name and date.
type MeetingChoice struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	StartsAt time.Time `json:"starts_at"`
}

// meetingChoices are the planned meetings that may take the topic.
func (s *Service) meetingChoices(ctx context.Context, a *auth.Actor, t Topic) ([]MeetingChoice, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, title, starts_at, COALESCE(village_id, 0) FROM consult_meetings
		WHERE town_id = $1 AND status = 'planned' AND (village_id IS NULL OR village_id = $2) ORDER BY starts_at LIMIT 100`, t.TownID, t.VillageID)
	if err != nil {
		return nil, fmt.Errorf("consult: meetings: %w", err)
	}
	defer rows.Close()
	out := []MeetingChoice{}
	for rows.Next() {
		var m MeetingChoice
		var v int64
		if err := rows.Scan(&m.ID, &m.Title, &m.StartsAt, &v); err != nil {
			return nil, err
		}
		if hosts(a, t.TownID, v) {
			out = append(out, m)
		}
	}
	return out, rows.Err()
}

// mergeChoices are the topics the topic may be merged into, found by title.
func (s *Service) mergeChoices(ctx context.Context, a *auth.Actor, t Topic, q string) ([]Topic, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	tail := fmt.Sprintf(`WHERE t.town_id = %d AND t.id <> %d AND t.status IN ('open', 'accepted') AND (t.village_id IS NULL OR t.village_id = %d)`, t.TownID, t.ID, t.VillageID)
	all, err := s.listTopics(ctx, s.DB.Read(), a, tail+` ORDER BY t.supports DESC LIMIT 200`)
	if err != nil {
		return nil, err
	}
	var out []Topic
	for _, o := range all {
		if o.Hosts && strings.Contains(o.Title, q) {
			out = append(out, o)
		}
	}
	return out, nil
}
