package honours

import (
	"archive/zip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// MediaKinds are the kinds of story staff may mark for the 融媒 joint report (融媒联合报道), by the
// table each lives in: a name on the 名录墙 (honours_wall). An action's approved deeds and the
// actions themselves join when their part keeps them.
var MediaKinds = []string{"wall"}

// MediaStory is a story marked for the media: what it is (Kind, RefID), the staff's note, and the
// story as the kit tells it: a title, the village, the text, and the photos shown with consent.
type MediaStory struct {
	ID           int64     `json:"id"`
	Kind         string    `json:"kind"`
	RefID        int64     `json:"ref_id"`
	Note         string    `json:"note,omitempty"`
	MarkedByName string    `json:"marked_by_name,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	Title        string    `json:"title"`
	Village      string    `json:"village"`
	Text         string    `json:"text"`
	Photos       []int64   `json:"photos"`
}

// MediaInput marks a story: its kind, its record, and a note for the reporters.
type MediaInput struct {
	Kind  string `json:"kind"`
	RefID int64  `json:"ref_id"`
	Note  string `json:"note"`
}

// maxMediaNote bounds a note, maxMediaStories the stories a kit holds.
const (
	maxMediaNote    = 500
	maxMediaStories = 200
)

// story reads a record as a story for the kit, within the town: NotFound for another town's or a
// missing one. A minor's name shows masked, as on every public board.
func (s *Service) story(ctx context.Context, q db.Querier, townID int64, kind string, refID int64) (MediaStory, error) {
	st := MediaStory{Kind: kind, RefID: refID, Photos: []int64{}}
	switch kind {
	case "wall":
		var town, resident int64
		var name, story, code, cname, birth string
		var year int
		err := q.QueryRowContext(ctx, `SELECT w.town_id, COALESCE(w.resident_id, 0), w.name, v.name, w.story, w.year, c.code, c.name, COALESCE(r.birth_date, '')
			FROM honours_wall w JOIN villages v ON v.id = w.village_id JOIN honours_categories c ON c.id = w.category_id LEFT JOIN residents r ON r.id = w.resident_id
			WHERE w.id = $1`, refID).Scan(&town, &resident, &name, &st.Village, &story, &year, &code, &cname, &birth)
		if db.IsNoRows(err) || (err == nil && town != townID) {
			return st, notFound
		}
		if err != nil {
			return st, fmt.Errorf("honours: wall story: %w", err)
		}
		if cname == "" {
			cname = s.t("honours.category." + code)
		}
		if s.minor(ctx, townID, birth) {
			name = bank.MaskMinor(name)
		}
		st.Title, st.Text = s.t("honours.media.wall_title", name, year, cname), story
		rows, err := q.QueryContext(ctx, `SELECT id FROM honours_photos WHERE owner = 'wall' AND owner_id = $1 ORDER BY id`, refID)
		if err != nil {
			return st, fmt.Errorf("honours: wall photos: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return st, err
			}
			st.Photos = append(st.Photos, id)
		}
		return st, rows.Err()
	}
	return st, errs.Field("kind", "honours.media.kind_invalid")
}

// minor reports whether a birth date (2006-01-02) is under 18 today in the town.
func (s *Service) minor(ctx context.Context, townID int64, birth string) bool {
	b, err := time.Parse(clock.DayLayout, birth)
	if err != nil {
		return false
	}
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return false
	}
	return (people.Resident{BirthDate: b}).Age(town.Clock(s.Now).Today()) < 18
}

// MarkStory marks a record of the town as a story for the media, once. Only the town's staff
// mark; another town's record answers NotFound.
func (s *Service) MarkStory(ctx context.Context, a *auth.Actor, in MediaInput) (MediaStory, error) {
	townID := townOf(a, 0)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return MediaStory{}, err
	}
	in.Note = strings.TrimSpace(in.Note)
	var f errs.Fields
	known := false
	for _, k := range MediaKinds {
		known = known || k == in.Kind
	}
	if !known {
		f.Add("kind", "honours.media.kind_invalid")
	}
	if in.RefID <= 0 {
		f.Add("ref_id", "field.required")
	}
	f.Text("note", in.Note, maxMediaNote, false)
	if err := f.Err(); err != nil {
		return MediaStory{}, err
	}
	var st MediaStory
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if st, err = s.story(ctx, tx, townID, in.Kind, in.RefID); err != nil {
			return err
		}
		st.Note, st.MarkedByName, st.CreatedAt = in.Note, a.Name, s.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO honours_media (town_id, kind, ref_id, note, marked_by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (kind, ref_id) DO NOTHING RETURNING id`, townID, in.Kind, in.RefID, st.Note, st.MarkedByName, st.CreatedAt).Scan(&st.ID)
		if db.IsNoRows(err) {
			return errs.New(errs.Conflict, "honours.media.marked_already")
		}
		if err != nil {
			return fmt.Errorf("honours: mark story: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.media.mark", Entity: "honours_media", EntityID: st.ID, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"story": st.Title})})
	})
	return st, err
}

// UnmarkStory takes a story out of the media kit.
func (s *Service) UnmarkStory(ctx context.Context, a *auth.Actor, id int64) (MediaStory, error) {
	var st MediaStory
	var townID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, kind, ref_id FROM honours_media WHERE id = $1`, id).Scan(&townID, &st.Kind, &st.RefID)
	if db.IsNoRows(err) {
		return st, notFound
	}
	if err != nil {
		return st, fmt.Errorf("honours: story %d: %w", id, err)
	}
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return st, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if st, err = s.story(ctx, tx, townID, st.Kind, st.RefID); err != nil {
			return err
		}
		st.ID = id
		res, err := tx.ExecContext(ctx, `DELETE FROM honours_media WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("honours: unmark story: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return notFound
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.media.unmark", Entity: "honours_media", EntityID: id, TownID: townID,
			Summary: auth.Summarize(map[string]any{"story": st.Title}, nil)})
	})
	return st, err
}

// MediaStories are the town's stories marked for the media, the latest first.
func (s *Service) MediaStories(ctx context.Context, a *auth.Actor, townID int64) ([]MediaStory, error) {
	townID = townOf(a, townID)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT id, kind, ref_id, note, marked_by_name, created_at FROM honours_media WHERE town_id = $1 ORDER BY id DESC LIMIT %d`, maxMediaStories), townID)
	if err != nil {
		return nil, fmt.Errorf("honours: stories: %w", err)
	}
	var marked []MediaStory
	for rows.Next() {
		var st MediaStory
		if err := rows.Scan(&st.ID, &st.Kind, &st.RefID, &st.Note, &st.MarkedByName, &st.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		marked = append(marked, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]MediaStory, 0, len(marked))
	for _, m := range marked {
		st, err := s.story(ctx, q, townID, m.Kind, m.RefID)
		if err != nil {
			return nil, err
		}
		st.ID, st.Note, st.MarkedByName, st.CreatedAt = m.ID, m.Note, m.MarkedByName, m.CreatedAt
		out = append(out, st)
	}
	return out, nil
}

// WallChoice is a name on the wall staff may mark for the media.
type WallChoice struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	Village string `json:"village"`
	Marked  bool   `json:"marked"`
}

// maxWallChoices bounds the wall's names the media page offers.
const maxWallChoices = 100

// MediaWallChoices are the town's latest names on the wall, to mark for the media.
func (s *Service) MediaWallChoices(ctx context.Context, a *auth.Actor) ([]WallChoice, error) {
	townID := townOf(a, 0)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT w.id, EXISTS (SELECT 1 FROM honours_media m WHERE m.kind = 'wall' AND m.ref_id = w.id)
		FROM honours_wall w WHERE w.town_id = $1 ORDER BY w.year DESC, w.id DESC LIMIT %d`, maxWallChoices), townID)
	if err != nil {
		return nil, fmt.Errorf("honours: wall choices: %w", err)
	}
	var ids []WallChoice
	for rows.Next() {
		var c WallChoice
		if err := rows.Scan(&c.ID, &c.Marked); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, c := range ids {
		st, err := s.story(ctx, q, townID, "wall", c.ID)
		if err != nil {
			return nil, err
		}
		ids[i].Title, ids[i].Village = st.Title, st.Village
	}
	return ids, nil
}

// WriteMediaKit writes the town's media kit as a zip: a text per story with its photos beside it,
// and the figures (the 流动红旗 holders of the last twelve awards with their scores, and the latest
// published 文明大户 list).
func (s *Service) WriteMediaKit(ctx context.Context, a *auth.Actor, w io.Writer) error {
	stories, err := s.MediaStories(ctx, a, 0)
	if err != nil {
		return err
	}
	townID := a.TownID
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return err
	}
	q := s.DB.Read()
	flags, err := s.flags(ctx, q, townID, "", 12, true)
	if err != nil {
		return err
	}
	hb, err := s.HouseholdBoard(ctx, a, townID, "")
	if err != nil {
		return err
	}
	z := zip.NewWriter(w)
	file := func(name, text string) error {
		fw, err := z.Create(name)
		if err == nil {
			_, err = io.WriteString(fw, text)
		}
		return err
	}
	var readme strings.Builder
	fmt.Fprintln(&readme, s.t("honours.media.kit_title", town.Name))
	fmt.Fprintln(&readme, s.t("honours.media.kit_made", town.Clock(s.Now).Today().Format(clock.DayLayout), len(stories)))
	if err := file("README.txt", readme.String()); err != nil {
		return err
	}
	for i, st := range stories {
		var b strings.Builder
		fmt.Fprintln(&b, st.Title)
		fmt.Fprintln(&b, st.Village)
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, st.Text)
		if st.Note != "" {
			fmt.Fprintln(&b)
			fmt.Fprintln(&b, s.t("honours.media.kit_note", st.Note))
		}
		base := fmt.Sprintf("stories/%02d", i+1)
		if err := file(base+".txt", b.String()); err != nil {
			return err
		}
		for k, id := range st.Photos {
			var mime string
			var data []byte
			if err := q.QueryRowContext(ctx, `SELECT mime, data FROM honours_photos WHERE id = $1`, id).Scan(&mime, &data); err != nil {
				return fmt.Errorf("honours: kit photo: %w", err)
			}
			ext := ".jpg"
			if mime == "image/png" {
				ext = ".png"
			}
			fw, err := z.Create(fmt.Sprintf("%s-%d%s", base, k+1, ext))
			if err != nil {
				return err
			}
			if _, err := fw.Write(data); err != nil {
				return err
			}
		}
	}
	var fig strings.Builder
	fmt.Fprintln(&fig, s.t("honours.media.kit_flags"))
	for _, f := range flags {
		score := ""
		if len(f.Rows) > 0 {
			score = f.Rows[0].ScoreText()
		}
		fmt.Fprintln(&fig, s.t("honours.media.kit_flag", f.Year(), f.MonthNum(), f.HolderNames(), score))
	}
	if hb.List != nil {
		fmt.Fprintln(&fig)
		fmt.Fprintln(&fig, s.t("honours.households.title_of", hb.List.Year(), hb.List.MonthNum()))
		for _, it := range hb.List.Items {
			fmt.Fprintln(&fig, s.t("honours.media.kit_household", it.Rank, it.Village, it.Label, it.Points))
		}
	}
	if err := file("figures.txt", fig.String()); err != nil {
		return err
	}
	return z.Close()
}
