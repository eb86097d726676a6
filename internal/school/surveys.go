package school

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// The statuses of a survey: open to answers until its deadline, or closed by the town.
const (
	SurveyOpen   = "open"
	SurveyClosed = "closed"
)

// The limits of a survey and its answers.
const (
	maxTopics        = 10
	maxTopicRunes    = 40
	maxMonths        = 12
	maxSurveyAhead   = 180 // days from today to the deadline
	maxSurveyList    = 200
	maxSurveyTitle   = 60
	maxSurveyNote    = 1000
	maxAnswerNote    = 500
	maxSurveyVillage = 500
)

// Survey is a demand survey (问需): the town asks the branches of the villages it goes to which
// categories and topics they need, and when, until its deadline (a day of the town's calendar).
type Survey struct {
	ID           int64     `json:"id"`
	TownID       int64     `json:"town_id"`
	Title        string    `json:"title"`
	Note         string    `json:"note"` // the question put to the branches
	Deadline     string    `json:"deadline"`
	Status       string    `json:"status"`
	ClosedReason string    `json:"closed_reason,omitempty"`
	Villages     []Branch  `json:"villages"`
	Answered     int       `json:"answered"` // how many of the villages answered
	Open         bool      `json:"open"`     // answers are taken now: open and not past its deadline
	CreatedAt    time.Time `json:"created_at"`
	// Answers are the branches' answers: all of them for the town's staff, the caller's own for a branch.
	Answers []Answer `json:"answers"`
	// Tally and Unanswered are the town's staff's: the answers counted, and who has not answered.
	Tally      *Tally   `json:"tally,omitempty"`
	Unanswered []Branch `json:"unanswered,omitempty"`
	// MyVillages are, for a branch, the villages of the caller's the survey was sent to.
	MyVillages []Branch `json:"my_villages,omitempty"`
}

// Branch is a village's party branch as a survey names it: the village's id and name.
type Branch struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Answer is a village branch's answer to a survey: the categories and topics it needs, the months
// it wants them, and a note.
type Answer struct {
	ID           int64      `json:"id"`
	VillageID    int64      `json:"village_id"`
	VillageName  string     `json:"village_name"`
	Categories   []Category `json:"categories"`
	Topics       []string   `json:"topics"`
	Months       []Month    `json:"months"` // 2027-01
	Note         string     `json:"note"`
	AnsweredName string     `json:"answered_name"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Tally is a survey's answers counted: for each category the branches that need it, for each
// topic (compared without regard to case or spaces) the branches that asked for it; most asked first.
type Tally struct {
	Categories []CategoryCount `json:"categories"`
	Topics     []TopicCount    `json:"topics"`
}

// CategoryCount is how many branches need a category.
type CategoryCount struct {
	Category Category `json:"category"`
	Branches int      `json:"branches"`
}

// TopicCount is a topic as first written, the branches that asked for it, and the category most
// of them need (a draft course of the topic starts in it).
type TopicCount struct {
	Topic      string   `json:"topic"`
	Villages   []string `json:"villages"`
	CategoryID int64    `json:"category_id,omitzero"`
}

// SurveyInput opens a survey.
type SurveyInput struct {
	TownID     int64   `json:"town_id,omitempty"` // the actor's town when 0
	Title      string  `json:"title"`
	Note       string  `json:"note"`
	Deadline   string  `json:"deadline"` // 2026-12-20, today or later
	VillageIDs []int64 `json:"village_ids"`
}

// AnswerInput is a branch's answer; a second one from the same village replaces the first.
type AnswerInput struct {
	VillageID   int64    `json:"village_id,omitempty"` // the actor's village when they have one
	CategoryIDs []int64  `json:"category_ids"`
	Topics      []string `json:"topics"`
	Months      []string `json:"months"`
	Note        string   `json:"note"`
}

// Month is a month a branch wants its lessons in, as the town's calendar writes it: 2027-01.
type Month string

// Year is the month's year, for pages: 2027.
func (m Month) Year() int { y, _ := strconv.Atoi(string(m)[:min(4, len(m))]); return y }

// Num is the month's number in its year, for pages: 1.
func (m Month) Num() int {
	if len(m) < 7 {
		return 0
	}
	n, _ := strconv.Atoi(string(m)[5:7])
	return n
}

// topicKey is how topics are compared: without case or spaces.
func topicKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// ---- opening and closing

// CreateSurvey opens a survey of the town's branches; each branch's village admins are told.
func (s *Service) CreateSurvey(ctx context.Context, a *auth.Actor, in SurveyInput) (Survey, error) {
	townID := townOf(a, in.TownID)
	if roleIn(a, townID) != manager {
		return Survey{}, hide(a, townID)
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return Survey{}, err
	}
	in.Title, in.Note, in.Deadline = strings.TrimSpace(in.Title), strings.TrimSpace(in.Note), strings.TrimSpace(in.Deadline)
	var f errs.Fields
	f.Text("title", in.Title, maxSurveyTitle, true)
	f.Text("note", in.Note, maxSurveyNote, false)
	today := clock.In(loc, s.Now).Today()
	switch day, ok := clock.ParseDay(in.Deadline, loc); {
	case in.Deadline == "":
		f.Add("deadline", "field.required")
	case !ok:
		f.Add("deadline", "school.day_invalid")
	case day.Before(today):
		f.Add("deadline", "school.survey.deadline_past")
	case day.Sub(today) > maxSurveyAhead*24*time.Hour:
		f.Add("deadline", "school.survey.deadline_far", maxSurveyAhead)
	}
	var ids []int64
	for _, id := range in.VillageIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	var villages []Branch
	switch {
	case len(ids) == 0:
		f.Add("village_ids", "school.survey.villages_required")
	case len(ids) > maxSurveyVillage:
		f.Add("village_ids", "school.survey.village_unknown")
	default:
		all, err := s.townVillages(ctx, townID)
		if err != nil {
			return Survey{}, err
		}
		for _, v := range all {
			if slices.Contains(ids, v.ID) {
				villages = append(villages, v)
			}
		}
		if len(villages) != len(ids) {
			f.Add("village_ids", "school.survey.village_unknown")
		}
	}
	if err := f.Err(); err != nil {
		return Survey{}, err
	}
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO school_surveys (town_id, title, note, deadline, status, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, townID, in.Title, in.Note, in.Deadline, SurveyOpen, db.NullID(a.AccountID), s.Now()).Scan(&id); err != nil {
			return fmt.Errorf("school: survey: %w", err)
		}
		for _, v := range villages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO school_survey_villages (survey_id, village_id) VALUES ($1, $2)`, id, v.ID); err != nil {
				return fmt.Errorf("school: survey villages: %w", err)
			}
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.survey.create", Entity: "school_survey", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"name": in.Title, "villages": len(villages), "deadline": in.Deadline})}); err != nil {
			return err
		}
		out := notify.Outcome{Title: "school.outcome.survey_title", Body: "school.outcome.survey", Args: []any{in.Title, in.Deadline},
			Link: fmt.Sprintf("/school/surveys/%d", id)}
		for _, v := range villages {
			if err := s.tellBranch(ctx, tx, v.ID, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Survey{}, err
	}
	return s.Survey(ctx, a, id)
}

// tellBranch tells an outcome to a village's branch: each of its village admins whose login is a
// resident's (notify reaches residents only).
func (s *Service) tellBranch(ctx context.Context, tx *sql.Tx, villageID int64, o notify.Outcome) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT account_id FROM account_roles WHERE role = $1 AND village_id = $2 ORDER BY account_id`,
		string(auth.VillageAdmin), villageID)
	if err != nil {
		return fmt.Errorf("school: branch admins: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.tellAccount(ctx, tx, id, o); err != nil {
			return err
		}
	}
	return nil
}

// CloseSurvey closes an open survey to answers, keeping the reason; what was answered stays.
func (s *Service) CloseSurvey(ctx context.Context, a *auth.Actor, id int64, reason string) (Survey, error) {
	sv, err := s.Survey(ctx, a, id) // not found to whom it was not sent
	if err != nil {
		return Survey{}, err
	}
	if roleIn(a, sv.TownID) != manager {
		return Survey{}, errs.New(errs.Forbidden, "error.forbidden") // a branch it was sent to answers it
	}
	reason = strings.TrimSpace(reason)
	var f errs.Fields
	f.Text("reason", reason, maxAnswerNote, true)
	if err := f.Err(); err != nil {
		return Survey{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE school_surveys SET status = $1, closed_reason = $2, closed_at = $3 WHERE id = $4 AND status = $5`,
			SurveyClosed, reason, s.Now(), id, SurveyOpen)
		if err != nil {
			return fmt.Errorf("school: close survey: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = errs.New(errs.Conflict, "school.survey.closed", sv.Title)
			}
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.survey.close", Entity: "school_survey", EntityID: id, TownID: sv.TownID,
			Summary: auth.Summarize(nil, map[string]any{"name": sv.Title, "reason": reason})})
	})
	if err != nil {
		return Survey{}, err
	}
	return s.Survey(ctx, a, id)
}

// ---- answering

// AnswerSurvey records a branch's answer, or replaces the one it gave, while the survey is open and
// its deadline not past. A survey not sent to the branch's village is not found.
func (s *Service) AnswerSurvey(ctx context.Context, a *auth.Actor, id int64, in AnswerInput) (Survey, error) {
	sv, err := s.survey(ctx, id)
	if err != nil {
		return Survey{}, err
	}
	v, err := s.surveyVillage(ctx, a, sv, in.VillageID)
	if err != nil {
		return Survey{}, err
	}
	loc, err := s.People.Zone(ctx, sv.TownID)
	if err != nil {
		return Survey{}, err
	}
	today := clock.In(loc, s.Now).Today()
	if err := answerable(sv, today, loc); err != nil {
		return Survey{}, err
	}
	in.Note = strings.TrimSpace(in.Note)
	var f errs.Fields
	cats, err := s.categories(ctx, s.DB.Read(), sv.TownID)
	if err != nil {
		return Survey{}, err
	}
	var catIDs []string
	for _, c := range in.CategoryIDs {
		if !slices.ContainsFunc(cats, func(x Category) bool { return x.ID == c }) {
			f.Add("category_ids", "school.category_unknown")
			break
		}
		if s := strconv.FormatInt(c, 10); !slices.Contains(catIDs, s) {
			catIDs = append(catIDs, s)
		}
	}
	var topics, keys []string
	for _, t := range in.Topics {
		t = strings.Join(strings.Fields(t), " ")
		if t == "" || slices.Contains(keys, topicKey(t)) {
			continue
		}
		if utf8.RuneCountInString(t) > maxTopicRunes {
			f.Add("topics", "school.survey.topic_too_long", t, maxTopicRunes)
			break
		}
		if f.Text("topics", t, maxTopicRunes, true); f.Has("topics") {
			break
		}
		topics, keys = append(topics, t), append(keys, topicKey(t))
	}
	if len(topics) > maxTopics && !f.Has("topics") {
		f.Add("topics", "school.survey.topics_too_many", maxTopics)
	}
	if len(catIDs) == 0 && len(topics) == 0 && !f.Has("category_ids") && !f.Has("topics") {
		f.Add("category_ids", "school.survey.answer_empty")
	}
	var months []string
	thisMonth := today.Format(clock.MonthLayout)
	for _, m := range in.Months {
		if m = strings.TrimSpace(m); m == "" || slices.Contains(months, m) {
			continue
		}
		if _, _, ok := clock.ParseMonth(m, loc); !ok {
			f.Add("months", "school.survey.month_invalid")
			break
		}
		if m < thisMonth {
			f.Add("months", "school.survey.month_past", m)
			break
		}
		months = append(months, m)
	}
	if len(months) > maxMonths && !f.Has("months") {
		f.Add("months", "school.survey.months_too_many", maxMonths)
	}
	slices.Sort(months)
	f.Text("note", in.Note, maxAnswerNote, false)
	if err := f.Err(); err != nil {
		return Survey{}, err
	}
	now := s.Now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// Taken only while the survey is open: a close that came first leaves nothing written. One
		// answer per village: a second, even one racing the first, replaces it.
		res, err := tx.ExecContext(ctx, `INSERT INTO school_survey_answers (survey_id, village_id, category_ids, topics, months, note, answered_by, answered_name, created_at, updated_at)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $9 WHERE EXISTS (SELECT 1 FROM school_surveys WHERE id = $1 AND status = 'open')
			ON CONFLICT (survey_id, village_id) DO UPDATE SET category_ids = excluded.category_ids, topics = excluded.topics, months = excluded.months,
				note = excluded.note, answered_by = excluded.answered_by, answered_name = excluded.answered_name, updated_at = excluded.updated_at`,
			id, v.ID, strings.Join(catIDs, ","), strings.Join(topics, "\n"), strings.Join(months, ","), in.Note, db.NullID(a.AccountID), a.Name, now)
		if err != nil {
			return fmt.Errorf("school: answer: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = errs.New(errs.Conflict, "school.survey.closed", sv.Title)
			}
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "school.survey.answer", Entity: "school_survey", EntityID: id, TownID: sv.TownID, VillageID: v.ID,
			Summary: auth.Summarize(nil, map[string]any{"name": sv.Title, "village": v.Name})})
	})
	if err != nil {
		return Survey{}, err
	}
	return s.Survey(ctx, a, id)
}

// answerable refuses an answer to a survey closed by the town or past its deadline.
func answerable(sv Survey, today time.Time, loc *time.Location) error {
	if sv.Status != SurveyOpen {
		return errs.New(errs.Conflict, "school.survey.closed", sv.Title)
	}
	if day, ok := clock.ParseDay(sv.Deadline, loc); ok && today.After(day) {
		return errs.New(errs.Conflict, "school.survey.past_deadline", sv.Title, sv.Deadline)
	}
	return nil
}

// surveyVillage is the village the actor answers a survey for: the one named, or their only one
// among those it was sent to. A survey sent to none of the actor's villages is not found.
func (s *Service) surveyVillage(ctx context.Context, a *auth.Actor, sv Survey, requested int64) (Branch, error) {
	if a == nil || a.AccountID == 0 {
		return Branch{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var mine []Branch
	for _, v := range sv.Villages {
		if auth.Can(a, PermOrder, auth.Scope{TownID: sv.TownID, VillageID: v.ID}) == nil {
			mine = append(mine, v)
		}
	}
	switch {
	case len(mine) == 0 && roleIn(a, sv.TownID) == manager:
		return Branch{}, errs.New(errs.Forbidden, "error.forbidden") // the town reads the answers; its branches give them
	case len(mine) == 0:
		return Branch{}, notFound
	case requested != 0:
		for _, v := range mine {
			if v.ID == requested {
				return v, nil
			}
		}
		return Branch{}, notFound
	case len(mine) > 1:
		return Branch{}, errs.Field("village_id", "field.required")
	}
	return mine[0], nil
}

// ---- reading

// Surveys lists the surveys the actor is concerned with, newest first: all of the town's for its
// staff, those sent to their villages and still taking answers for a branch.
func (s *Service) Surveys(ctx context.Context, a *auth.Actor) ([]Survey, error) {
	townID := townOf(a, 0)
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	p := s.DB.Params()
	where := `s.town_id = ` + p.Add(townID)
	if roleIn(a, townID) != manager {
		all, ids := auth.Visible(a, PermOrder, townID)
		if !all && len(ids) == 0 {
			return nil, errs.New(errs.Forbidden, "error.forbidden")
		}
		where += ` AND s.status = 'open'`
		if !all {
			where += ` AND s.id IN (SELECT survey_id FROM school_survey_villages WHERE village_id IN (` + p.List(ids) + `))`
		}
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT s.id FROM school_surveys s WHERE `+where+` ORDER BY s.id DESC LIMIT `+strconv.Itoa(maxSurveyList), p.Args...)
	if err != nil {
		return nil, fmt.Errorf("school: surveys: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []Survey{}
	for _, id := range ids {
		sv, err := s.Survey(ctx, a, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if roleIn(a, townID) != manager && !sv.Open {
			continue // past its deadline: nothing left for the branch to do
		}
		sv.Tally, sv.Unanswered = nil, nil
		out = append(out, sv)
	}
	return out, nil
}

// Survey is a survey as the actor may read it: with every answer, the tally and the branches yet to
// answer for the town's staff; with their own villages' answers for a branch it was sent to.
// Anyone else is told it is not found.
func (s *Service) Survey(ctx context.Context, a *auth.Actor, id int64) (Survey, error) {
	sv, err := s.survey(ctx, id)
	if err != nil {
		return Survey{}, err
	}
	if a == nil || a.AccountID == 0 {
		return Survey{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	staff := roleIn(a, sv.TownID) == manager
	var mine []int64
	for _, v := range sv.Villages {
		if auth.Can(a, PermOrder, auth.Scope{TownID: sv.TownID, VillageID: v.ID}) == nil {
			mine = append(mine, v.ID)
			sv.MyVillages = append(sv.MyVillages, v)
		}
	}
	if !staff && len(mine) == 0 {
		return Survey{}, notFound
	}
	loc, err := s.People.Zone(ctx, sv.TownID)
	if err != nil {
		return Survey{}, err
	}
	sv.Open = answerable(sv, clock.In(loc, s.Now).Today(), loc) == nil
	answers, err := s.answers(ctx, sv)
	if err != nil {
		return Survey{}, err
	}
	sv.Answered = len(answers)
	sv.Answers = []Answer{}
	for _, an := range answers {
		if staff || slices.Contains(mine, an.VillageID) {
			sv.Answers = append(sv.Answers, an)
		}
	}
	if staff {
		sv.Tally = tally(answers)
		sv.Unanswered = []Branch{}
		for _, v := range sv.Villages {
			if !slices.ContainsFunc(answers, func(an Answer) bool { return an.VillageID == v.ID }) {
				sv.Unanswered = append(sv.Unanswered, v)
			}
		}
	}
	return sv, nil
}

// tally counts the answers: each category by the branches that need it, each topic by the
// branches that asked for it, most first, then in the order first seen.
func tally(answers []Answer) *Tally {
	t := &Tally{Categories: []CategoryCount{}, Topics: []TopicCount{}}
	topicAt := map[string]int{}
	topicCats := map[string]map[int64]int{}
	for _, an := range answers {
		for _, c := range an.Categories {
			i := slices.IndexFunc(t.Categories, func(cc CategoryCount) bool { return cc.Category.ID == c.ID })
			if i < 0 {
				t.Categories, i = append(t.Categories, CategoryCount{Category: c}), len(t.Categories)
			}
			t.Categories[i].Branches++
		}
		for _, topic := range an.Topics {
			k := topicKey(topic)
			i, ok := topicAt[k]
			if !ok {
				t.Topics, i = append(t.Topics, TopicCount{Topic: topic}), len(t.Topics)
				topicAt[k], topicCats[k] = i, map[int64]int{}
			}
			if !slices.Contains(t.Topics[i].Villages, an.VillageName) {
				t.Topics[i].Villages = append(t.Topics[i].Villages, an.VillageName)
			}
			for _, c := range an.Categories {
				topicCats[k][c.ID]++
			}
		}
	}
	for k, i := range topicAt {
		best := 0
		for _, c := range t.Categories { // in the order first seen, so that a tie goes the same way each time
			if n := topicCats[k][c.Category.ID]; n > best {
				best, t.Topics[i].CategoryID = n, c.Category.ID
			}
		}
	}
	sort.SliceStable(t.Categories, func(i, j int) bool { return t.Categories[i].Branches > t.Categories[j].Branches })
	sort.SliceStable(t.Topics, func(i, j int) bool { return len(t.Topics[i].Villages) > len(t.Topics[j].Villages) })
	return t
}

// survey is a survey with its villages; it checks no permission.
func (s *Service) survey(ctx context.Context, id int64) (Survey, error) {
	q := s.DB.Read()
	sv := Survey{Villages: []Branch{}}
	err := q.QueryRowContext(ctx, `SELECT id, town_id, title, note, deadline, status, closed_reason, created_at FROM school_surveys WHERE id = $1`, id).
		Scan(&sv.ID, &sv.TownID, &sv.Title, &sv.Note, &sv.Deadline, &sv.Status, &sv.ClosedReason, &sv.CreatedAt)
	if db.IsNoRows(err) {
		return sv, notFound
	}
	if err != nil {
		return sv, fmt.Errorf("school: survey %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT v.id, v.name FROM school_survey_villages sv JOIN villages v ON v.id = sv.village_id
		WHERE sv.survey_id = $1 ORDER BY v.name, v.id`, id)
	if err != nil {
		return sv, fmt.Errorf("school: survey villages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v Branch
		if err := rows.Scan(&v.ID, &v.Name); err != nil {
			return sv, err
		}
		sv.Villages = append(sv.Villages, v)
	}
	return sv, rows.Err()
}

// answers are a survey's answers, by village name, their categories named.
func (s *Service) answers(ctx context.Context, sv Survey) ([]Answer, error) {
	cats, err := s.categories(ctx, s.DB.Read(), sv.TownID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT a.id, a.village_id, v.name, a.category_ids, a.topics, a.months, a.note, a.answered_name, a.updated_at
		FROM school_survey_answers a JOIN villages v ON v.id = a.village_id WHERE a.survey_id = $1 ORDER BY v.name, v.id`, sv.ID)
	if err != nil {
		return nil, fmt.Errorf("school: answers: %w", err)
	}
	defer rows.Close()
	out := []Answer{}
	for rows.Next() {
		var an Answer
		var catIDs, topics, months string
		if err := rows.Scan(&an.ID, &an.VillageID, &an.VillageName, &catIDs, &topics, &months, &an.Note, &an.AnsweredName, &an.UpdatedAt); err != nil {
			return nil, err
		}
		an.Categories, an.Topics, an.Months = []Category{}, split(topics, "\n"), []Month{}
		for _, m := range split(months, ",") {
			an.Months = append(an.Months, Month(m))
		}
		for _, c := range cats { // in the town's order
			if slices.Contains(split(catIDs, ","), strconv.FormatInt(c.ID, 10)) {
				an.Categories = append(an.Categories, c)
			}
		}
		out = append(out, an)
	}
	return out, rows.Err()
}

// split is a stored list: none for an empty string.
func split(s, sep string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, sep)
}

// townVillages are a town's villages, by name.
func (s *Service) townVillages(ctx context.Context, townID int64) ([]Branch, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY name, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("school: villages: %w", err)
	}
	defer rows.Close()
	out := []Branch{}
	for rows.Next() {
		var v Branch
		if err := rows.Scan(&v.ID, &v.Name); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SurveyDesk is what the form opening a survey offers: the town's villages, by name.
func (s *Service) SurveyDesk(ctx context.Context, a *auth.Actor) ([]Branch, error) {
	townID := townOf(a, 0)
	if roleIn(a, townID) != manager {
		return nil, hide(a, townID)
	}
	return s.townVillages(ctx, townID)
}

// MonthChoices are the months a branch may ask for: this month of the town's calendar and the
// eleven after it.
func (s *Service) MonthChoices(ctx context.Context, townID int64) ([]Month, error) {
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return nil, err
	}
	first := clock.In(loc, s.Now).Today().AddDate(0, 0, 1-clock.In(loc, s.Now).Today().Day())
	out := make([]Month, 0, maxMonths)
	for i := range maxMonths {
		out = append(out, Month(first.AddDate(0, i, 0).Format(clock.MonthLayout)))
	}
	return out, nil
}
