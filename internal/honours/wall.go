package honours

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// WallEntry is a name on the honour roll (名录墙) as the public page shows it: the name (a
// minor's masked), village, category, story, year and photos (kept only with consent: a chosen
// nomination's, or entered by the town with the person's consent).
type WallEntry struct {
	ID         int64   `json:"id"`
	VillageID  int64   `json:"village_id"`
	Village    string  `json:"village"`
	Name       string  `json:"name"`
	CategoryID int64   `json:"category_id"`
	Category   string  `json:"category"`
	Story      string  `json:"story"`
	Year       int     `json:"year"`
	Photos     []int64 `json:"photos"`
	// Chosen is set for a name chosen by an evaluation round (not entered for an earlier year).
	Chosen bool `json:"chosen"`
}

// WallFilter narrows the wall: a town (required), a village, a year, a category, a page (from 1).
type WallFilter struct {
	TownID     int64
	VillageID  int64
	Year       int
	CategoryID int64
	Page       int
}

// WallPage is a page of the wall with what its filters offer.
type WallPage struct {
	Town       string      `json:"town"`
	TownCode   string      `json:"town_code"`
	Entries    []WallEntry `json:"entries"`
	Total      int         `json:"total"`
	Page       int         `json:"page"`
	Pages      int         `json:"pages"`
	Years      []int       `json:"years"`
	Categories []Category  `json:"categories"`
	Villages   []Named     `json:"villages"`
}

// wallPerPage is how many names a page of the wall shows.
const wallPerPage = 24

// wallWhere is the condition and arguments of a filter.
func wallWhere(f WallFilter) (string, []any) {
	where, args := []string{"w.town_id = $1"}, []any{f.TownID}
	if f.VillageID != 0 {
		args = append(args, f.VillageID)
		where = append(where, fmt.Sprintf("w.village_id = $%d", len(args)))
	}
	if f.Year != 0 {
		args = append(args, f.Year)
		where = append(where, fmt.Sprintf("w.year = $%d", len(args)))
	}
	if f.CategoryID != 0 {
		args = append(args, f.CategoryID)
		where = append(where, fmt.Sprintf("w.category_id = $%d", len(args)))
	}
	return strings.Join(where, " AND "), args
}

// wallRows are the names of a filter in order (newest year first, then village and name), a
// page of them when limit > 0. masked writes a minor's name masked, as the public wall shows it.
func (s *Service) wallRows(ctx context.Context, q db.Querier, f WallFilter, limit, offset int, masked bool) ([]WallEntry, error) {
	today, err := s.today(ctx, f.TownID)
	if err != nil {
		return nil, err
	}
	where, args := wallWhere(f)
	page := ""
	if limit > 0 {
		page = fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset)
	}
	rows, err := q.QueryContext(ctx, `SELECT w.id, w.village_id, v.name, w.name, COALESCE(r.birth_date, ''), w.category_id, c.code, c.name, w.story, w.year, w.round_id IS NOT NULL
		FROM honours_wall w JOIN villages v ON v.id = w.village_id JOIN honours_categories c ON c.id = w.category_id LEFT JOIN residents r ON r.id = w.resident_id
		WHERE `+where+` ORDER BY w.year DESC, v.code, w.village_id, w.id`+page, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: wall: %w", err)
	}
	defer rows.Close()
	out := []WallEntry{}
	for rows.Next() {
		var e WallEntry
		var birth, code string
		if err := rows.Scan(&e.ID, &e.VillageID, &e.Village, &e.Name, &birth, &e.CategoryID, &code, &e.Category, &e.Story, &e.Year, &e.Chosen); err != nil {
			return nil, err
		}
		if code != "" {
			e.Category = s.t("honours.category." + code)
		}
		if masked && (nominee{Birth: birth}).minor(today) {
			e.Name = bank.MaskMinor(e.Name)
		}
		e.Photos = []int64{}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(out) == 0 || limit == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	idx := map[int64]int{}
	for i, e := range out {
		ids[i], idx[e.ID] = e.ID, i
	}
	prows, err := q.QueryContext(ctx, `SELECT id, owner_id FROM honours_photos WHERE owner = 'wall' AND owner_id IN (`+db.IDList(ids)+`) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("honours: wall photos: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var id, owner int64
		if err := prows.Scan(&id, &owner); err != nil {
			return nil, err
		}
		out[idx[owner]].Photos = append(out[idx[owner]].Photos, id)
	}
	return out, prows.Err()
}

// Wall is a page of a town's honour roll, public to anyone: a village's when the filter names one
// (of the town, else NotFound), a year's, a category's. Minors' names are masked.
func (s *Service) Wall(ctx context.Context, f WallFilter) (WallPage, error) {
	var p WallPage
	if f.TownID <= 0 {
		return p, errs.Field("town_id", "field.required")
	}
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT name, code FROM towns WHERE id = $1`, f.TownID).Scan(&p.Town, &p.TownCode); err != nil {
		if db.IsNoRows(err) {
			return p, notFound
		}
		return p, fmt.Errorf("honours: wall town: %w", err)
	}
	if f.VillageID != 0 {
		if err := s.villageIn(ctx, q, f.TownID, f.VillageID, "village_id"); err != nil {
			return p, err
		}
	}
	if f.Page < 1 {
		f.Page = 1
	}
	where, args := wallWhere(f)
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_wall w WHERE `+where, args...).Scan(&p.Total); err != nil {
		return p, fmt.Errorf("honours: wall count: %w", err)
	}
	p.Page, p.Pages = f.Page, (p.Total+wallPerPage-1)/wallPerPage
	var err error
	if p.Entries, err = s.wallRows(ctx, q, f, wallPerPage, (f.Page-1)*wallPerPage, true); err != nil {
		return p, err
	}
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT year FROM honours_wall WHERE town_id = $1 ORDER BY year DESC`, f.TownID)
	if err != nil {
		return p, fmt.Errorf("honours: wall years: %w", err)
	}
	defer rows.Close()
	p.Years = []int{}
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			return p, err
		}
		p.Years = append(p.Years, y)
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if p.Categories, err = s.Categories(ctx, f.TownID); err != nil {
		return p, err
	}
	p.Villages, err = s.townVillages(ctx, f.TownID)
	return p, err
}

// villageIn checks that a village a request names is one of the town's (people.Service.VillageIn).
func (s *Service) villageIn(ctx context.Context, q db.Querier, townID, villageID int64, field string) error {
	return s.People.VillageIn(ctx, q, townID, villageID, field)
}

// TownByCode is the town a public page's address names by its code (the national 乡镇 code).
func (s *Service) TownByCode(ctx context.Context, code string) (Named, error) {
	var t Named
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, name FROM towns WHERE code = $1`, code).Scan(&t.ID, &t.Name)
	if db.IsNoRows(err) {
		return t, notFound
	}
	return t, err
}

// VillageByCode is a town's village by its code, for a public page's address.
func (s *Service) VillageByCode(ctx context.Context, townID int64, code string) (Named, error) {
	var v Named
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 AND code = $2`, townID, code).Scan(&v.ID, &v.Name)
	if db.IsNoRows(err) {
		return v, notFound
	}
	return v, err
}

// VillagePage is a village's public wall: its name and the code its address carries.
type VillagePage struct {
	Name string
	Code string
}

// villagePages are the town's active villages with the codes of their public walls, in code order.
func (s *Service) villagePages(ctx context.Context, townID int64) ([]VillagePage, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT name, code FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("honours: village pages: %w", err)
	}
	defer rows.Close()
	var out []VillagePage
	for rows.Next() {
		var v VillagePage
		if err := rows.Scan(&v.Name, &v.Code); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// townCode is the code of a town, for the address of its public wall.
func (s *Service) townCode(ctx context.Context, townID int64) (string, error) {
	var code string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT code FROM towns WHERE id = $1`, townID).Scan(&code)
	if db.IsNoRows(err) {
		return "", notFound
	}
	return code, err
}

// WallInput enters a name on the wall for an earlier year (the 537 of 2021), by the town's staff:
// the village, the name (and the resident, when known), the category, the story, the year, and
// photos, which need the person's consent (PhotoConsent).
type WallInput struct {
	VillageID    int64    `json:"village_id"`
	ResidentID   int64    `json:"resident_id,omitempty"`
	Name         string   `json:"name"`
	CategoryID   int64    `json:"category_id"`
	Story        string   `json:"story"`
	Year         int      `json:"year"`
	PhotoConsent bool     `json:"photo_consent,omitempty"`
	Photos       [][]byte `json:"photos,omitempty"`
}

// firstWallYear is the earliest year a name may be entered for.
const firstWallYear = 2000

// AddWallEntry enters a name on the town's wall for an earlier year. Names of this year come from
// its rounds, after their 公示. Only the town's staff enter names.
func (s *Service) AddWallEntry(ctx context.Context, a *auth.Actor, townID int64, in WallInput) (WallEntry, error) {
	townID = townOf(a, townID)
	if !manages(a, townID) {
		return WallEntry{}, auth.Refuse(a, PermManage)
	}
	today, err := s.today(ctx, townID)
	if err != nil {
		return WallEntry{}, err
	}
	var f errs.Fields
	in.Name, in.Story = strings.TrimSpace(in.Name), strings.TrimSpace(in.Story)
	f.Text("name", in.Name, 30, true)
	f.Text("story", in.Story, maxStory, false)
	if in.VillageID <= 0 {
		f.Add("village_id", "field.required")
	}
	if in.CategoryID <= 0 {
		f.Add("category_id", "field.required")
	}
	switch {
	case in.Year == 0:
		f.Add("year", "field.required")
	case in.Year < firstWallYear || in.Year >= today.Year():
		f.Add("year", "honours.wall.year_earlier", firstWallYear, today.Year()-1)
	}
	if len(in.Photos) > bank.MaxPhotos {
		f.Add("photos", "field.photos_too_many", bank.MaxPhotos)
	} else if len(in.Photos) > 0 && !in.PhotoConsent {
		f.Add("photo_consent", "honours.wall.photo_consent_required")
	}
	if err := f.Err(); err != nil {
		return WallEntry{}, err
	}
	var e WallEntry
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.villageIn(ctx, tx, townID, in.VillageID, "village_id"); err != nil {
			return err
		}
		if in.ResidentID != 0 {
			n, err := s.nomineeOf(ctx, tx, in.ResidentID)
			if err == notFound || (err == nil && n.VillageID != in.VillageID) {
				return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "resident_id", Key: "honours.wall.resident_elsewhere"}}}
			}
			if err != nil {
				return err
			}
		}
		c, err := s.category(ctx, tx, townID, in.CategoryID, "category_id")
		if err != nil {
			return err
		}
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_wall (town_id, village_id, resident_id, name, category_id, story, year, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			townID, in.VillageID, db.NullID(in.ResidentID), in.Name, c.ID, in.Story, in.Year, now).Scan(&e.ID); err != nil {
			return fmt.Errorf("honours: wall entry: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "wall", e.ID, in.Photos); err != nil {
			return err
		}
		e = WallEntry{ID: e.ID, VillageID: in.VillageID, Name: in.Name, CategoryID: c.ID, Category: c.Name, Story: in.Story, Year: in.Year}
		if err := tx.QueryRowContext(ctx, `SELECT name FROM villages WHERE id = $1`, in.VillageID).Scan(&e.Village); err != nil {
			return err
		}
		if e.Photos, err = s.photoIDs(ctx, tx, "wall", e.ID); err != nil {
			return err
		}
		if e.Photos == nil {
			e.Photos = []int64{}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.wall.add", Entity: "honours_wall", EntityID: e.ID, TownID: townID, VillageID: in.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"name": in.Name, "year": in.Year, "category": c.Name})})
	})
	return e, err
}

// StaffWall is the wall as staff export it (for the annual 表彰): every name of the filter, in
// full, for a village's staff their villages' only.
func (s *Service) StaffWall(ctx context.Context, a *auth.Actor, f WallFilter) ([]WallEntry, error) {
	f.TownID = townOf(a, f.TownID)
	all, vs := villageScope(a, f.TownID)
	if !all && len(vs) == 0 {
		return nil, auth.Refuse(a, PermVillage)
	}
	q := s.DB.Read()
	if f.VillageID != 0 && !servesVillage(a, f.TownID, f.VillageID) {
		return nil, notFound
	}
	list, err := s.wallRows(ctx, q, f, 0, 0, false)
	if err != nil || all {
		return list, err
	}
	out := list[:0]
	for _, e := range list {
		if servesVillage(a, f.TownID, e.VillageID) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Certificates are the printable certificates (荣誉证书) of the names staff export, dated the
// town's today.
func (s *Service) Certificates(ctx context.Context, a *auth.Actor, f WallFilter) ([]Certificate, error) {
	list, err := s.StaffWall(ctx, a, f)
	if err != nil {
		return nil, err
	}
	town, err := s.People.Town(ctx, townOf(a, f.TownID))
	if err != nil {
		return nil, err
	}
	today := town.Clock(s.Now).Today()
	date := s.t("honours.certificate.date", today.Year(), int(today.Month()), today.Day())
	out := make([]Certificate, 0, len(list))
	for _, e := range list {
		out = append(out, Certificate{Name: e.Name, Village: e.Village, Citation: s.t("honours.certificate.citation", e.Year, town.Name, e.Category),
			Town: s.t("honours.certificate.town", town.Name), Date: date})
	}
	return out, nil
}

// seesHonourPhoto decides who sees a photo of the honour roll: a name's on the wall to anyone (it
// is there with consent), a nomination's to the village's staff, the nominator, the nominee and a
// minor's guardians.
func (s *Service) seesHonourPhoto(ctx context.Context, q db.Querier, a *auth.Actor, owner string, id int64) (bool, error) {
	if owner == "wall" {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_wall WHERE id = $1`, id).Scan(&n); err != nil {
			return false, fmt.Errorf("honours: wall photo: %w", err)
		}
		return n > 0, nil
	}
	if a == nil || a.AccountID == 0 {
		return false, nil
	}
	_, _, err := s.nomination(ctx, q, a, id)
	if e, ok := errs.As(err); ok && (e.Code == errs.NotFound || e.Code == errs.Unauthorized) {
		return false, nil
	}
	return err == nil, err
}

// roundPublisher puts a published round's chosen on the wall and pays them under the round's rule.
func (s *Service) roundPublisher() publisher {
	return publisher{Keep: s.keepChosen, Pay: s.payChosen}
}

// keepChosen, inside the publishing transaction, puts each kept nomination on the wall with the
// round's year (its photos with it: they were given with consent), marks it chosen and the
// round's other admitted nominees not chosen, and the round published; the chosen are told.
func (s *Service) keepChosen(ctx context.Context, tx *sql.Tx, a *auth.Actor, n Notice, kept []NoticeItem) error {
	var year int
	if err := tx.QueryRowContext(ctx, `SELECT year FROM honours_rounds WHERE id = $1`, n.RefID).Scan(&year); err != nil {
		return fmt.Errorf("honours: round %d: %w", n.RefID, err)
	}
	now := s.Now()
	for _, it := range kept {
		var villageID, residentID, categoryID int64
		var name, story, status string
		err := tx.QueryRowContext(ctx, `SELECT n.village_id, n.resident_id, n.category_id, r.name, n.story, n.status FROM honours_nominations n JOIN residents r ON r.id = n.resident_id
			WHERE n.id = $1 AND n.town_id = $2`, it.ItemID, n.TownID).Scan(&villageID, &residentID, &categoryID, &name, &story, &status)
		if err != nil {
			return fmt.Errorf("honours: chosen nomination %d: %w", it.ItemID, err)
		}
		var wallID int64
		err = tx.QueryRowContext(ctx, `INSERT INTO honours_wall (town_id, village_id, resident_id, name, category_id, story, year, nomination_id, round_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (nomination_id) DO NOTHING RETURNING id`,
			n.TownID, villageID, residentID, name, categoryID, story, year, it.ItemID, n.RefID, now).Scan(&wallID)
		if db.IsNoRows(err) {
			continue // already on the wall
		}
		if err != nil {
			return fmt.Errorf("honours: put on the wall: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO honours_photos (owner, owner_id, mime, width, height, data, created_at)
			SELECT 'wall', $1, mime, width, height, data, $2 FROM honours_photos WHERE owner = 'nomination' AND owner_id = $3 ORDER BY id`, wallID, now, it.ItemID); err != nil {
			return fmt.Errorf("honours: wall photos: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE honours_nominations SET status = 'chosen', updated_at = $1 WHERE id = $2`, now, it.ItemID); err != nil {
			return fmt.Errorf("honours: chosen: %w", err)
		}
		if err := s.Notify.Tell(ctx, tx, residentID, notify.Outcome{Title: "honours.outcome.chosen_title", Body: "honours.outcome.chosen", Args: []any{n.Title, year},
			Link: "/honours/wall"}); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE honours_nominations SET status = 'not_chosen', updated_at = $1 WHERE status = 'admitted'
		AND id IN (SELECT nomination_id FROM honours_round_nominees WHERE round_id = $2)`, now, n.RefID); err != nil {
		return fmt.Errorf("honours: not chosen: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE honours_rounds SET status = 'published', updated_at = $1 WHERE id = $2`, now, n.RefID); err != nil {
		return fmt.Errorf("honours: round published: %w", err)
	}
	return nil
}

// payChosen pays, after the commit, the points being chosen earns under the round's rule
// (rule_code; none pays nothing), one earning per name on the wall (key honours:wall:<id>), and
// keeps the bank's answer on the name. A name the bank has answered is not paid again.
func (s *Service) payChosen(ctx context.Context, a *auth.Actor, n Notice) error {
	q := s.DB.Read()
	var rule, title string
	if err := q.QueryRowContext(ctx, `SELECT rule_code, title FROM honours_rounds WHERE id = $1`, n.RefID).Scan(&rule, &title); err != nil {
		return fmt.Errorf("honours: round %d: %w", n.RefID, err)
	}
	if rule == "" {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, resident_id FROM honours_wall WHERE round_id = $1 AND resident_id IS NOT NULL AND transaction_id IS NULL AND pay_note = '' ORDER BY id`, n.RefID)
	if err != nil {
		return fmt.Errorf("honours: names to pay: %w", err)
	}
	var ids, residents []int64
	var earnings []bank.Earning
	for rows.Next() {
		var id, res int64
		if err := rows.Scan(&id, &res); err != nil {
			rows.Close()
			return err
		}
		ids, residents = append(ids, id), append(residents, res)
		earnings = append(earnings, bank.Earning{Key: fmt.Sprintf("honours:wall:%d", id), ResidentID: res, RuleCode: rule, Reason: trunc(s.t("honours.wall.pay_reason", title), 200)})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(earnings) == 0 {
		return err
	}
	results, err := s.Bank.Earn(ctx, a, earnings)
	if err != nil {
		return fmt.Errorf("honours: pay round %d: %w", n.RefID, err)
	}
	var failed error
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, res := range results {
			txID, note, retry := res.Answer("honours.wall.pay_pending")
			if retry != nil {
				failed = retry
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE honours_wall SET transaction_id = $1, pay_note = $2 WHERE id = $3`, db.NullID(txID), note, ids[i]); err != nil {
				return fmt.Errorf("honours: keep payment: %w", err)
			}
			if txID != 0 && !res.Replayed {
				if err := s.Notify.Tell(ctx, tx, residents[i], notify.Outcome{Title: "honours.outcome.paid_title", Body: "honours.outcome.paid", Args: []any{title, res.Balance},
					Link: "/bank"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && failed != nil {
		err = fmt.Errorf("honours: pay round %d: %w", n.RefID, failed)
	}
	return err
}

// trunc cuts a string to at most n characters.
func trunc(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// wallYear is the town's current year, for the forms' defaults.
func (s *Service) wallYear(ctx context.Context, townID int64) (int, error) {
	t, err := s.today(ctx, townID)
	return t.Year(), err
}
