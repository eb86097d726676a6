package honours

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// Entry is a household's entry (参赛户) in a contest: who entered it and how, its note and photos,
// whether it went to the town round and won, and its results once a round is closed. The
// address is shown to staff and judges only, who go to the door.
type Entry struct {
	ID            int64  `json:"id"`
	ContestID     int64  `json:"contest_id"`
	VillageID     int64  `json:"village_id"`
	Village       string `json:"village"`
	Name          string `json:"name"`
	Address       string `json:"address,omitempty"`
	Note          string `json:"note"`
	ByResident    bool   `json:"by_resident"`
	EnteredByName string `json:"entered_by_name,omitempty"`
	Advanced      bool   `json:"advanced"`
	Won           bool   `json:"won"`
	Paid          bool   `json:"paid"`
	PayNote       string `json:"pay_note,omitempty"`
	Mine          bool   `json:"mine"`
	// Assigned is true for a judge's entries to score: never their own household nor a relation's.
	Assigned    bool      `json:"assigned"`
	Photos      []int64   `json:"photos"`
	Results     []Result  `json:"results"`
	CreatedAt   time.Time `json:"created_at"`
	householdID int64
	residentID  int64
}

// EntryInput enters a household: a resident's own (ResidentID 0), or, by a village's staff, the
// household of the resident named, who is the one the points go to.
type EntryInput struct {
	ResidentID int64    `json:"resident_id,omitempty"`
	Note       string   `json:"note"`
	Photos     [][]byte `json:"-"`
}

const entryCols = `e.id, e.contest_id, e.village_id, v.name, r.name, h.address, e.note, e.by_resident, e.entered_by_name, e.advanced, e.won,
	e.transaction_id IS NOT NULL, e.pay_note, e.created_at, e.household_id, e.resident_id`

const entryFrom = ` FROM honours_contest_entries e JOIN villages v ON v.id = e.village_id JOIN residents r ON r.id = e.resident_id JOIN households h ON h.id = e.household_id`

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	err := sc.Scan(&e.ID, &e.ContestID, &e.VillageID, &e.Village, &e.Name, &e.Address, &e.Note, &e.ByResident, &e.EnteredByName, &e.Advanced, &e.Won,
		&e.Paid, &e.PayNote, &e.CreatedAt, &e.householdID, &e.residentID)
	e.Photos, e.Results = []int64{}, []Result{}
	return e, err
}

// contestEntries reads every entry of a contest, in entering order.
func (s *Service) contestEntries(ctx context.Context, q db.Querier, contestID int64) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+entryCols+entryFrom+` WHERE e.contest_id = $1 ORDER BY e.id`, contestID)
	if err != nil {
		return nil, fmt.Errorf("honours: entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Label is how a list names an entry: the household by its entrant's name (张三家).
func (s *Service) entryLabel(e Entry) string { return s.t("honours.contest.household", e.Name) }

// Enter enters a household in a contest while its village round is open: a resident their own
// household, a village's staff the household of a resident of their village. A household is
// entered once; the resident named is told when staff entered them.
func (s *Service) Enter(ctx context.Context, a *auth.Actor, contestID int64, in EntryInput) (Entry, error) {
	if err := auth.MayAnywhere(a, PermJoin); err != nil && auth.MayAnywhere(a, PermVillage) != nil {
		return Entry{}, err
	}
	in.Note = strings.TrimSpace(in.Note)
	var f errs.Fields
	f.Text("note", in.Note, maxNote, false)
	if err := f.Err(); err != nil {
		return Entry{}, err
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.contest(ctx, tx, contestID)
		if err != nil {
			return err
		}
		rd, err := s.reader(ctx, tx, a, c)
		if err != nil {
			return err
		}
		residentID, byResident := in.ResidentID, in.ResidentID == 0
		if byResident {
			if !rd.resident || auth.MayAnywhere(a, PermJoin) != nil {
				return auth.Refuse(a, PermJoin)
			}
			residentID = rd.me.ID
		}
		var villageID, householdID, townID int64
		var status, name string
		err = tx.QueryRowContext(ctx, `SELECT town_id, village_id, household_id, status, name FROM residents WHERE id = $1`, residentID).Scan(&townID, &villageID, &householdID, &status, &name)
		if db.IsNoRows(err) || (err == nil && (townID != c.TownID || (!byResident && !servesVillage(a, c.TownID, villageID)))) {
			if !byResident && !rd.manage && !rd.all && len(rd.villages) == 0 {
				return auth.Refuse(a, PermVillage)
			}
			// Another village's resident is answered as a missing one.
			return notFound
		}
		if err != nil {
			return fmt.Errorf("honours: entrant: %w", err)
		}
		if status != "active" {
			return errs.Field("resident_id", "honours.contest.resident_unknown")
		}
		if c.Status != RoundVillage {
			return errs.New(errs.Conflict, "honours.contest.entries_closed")
		}
		now := s.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO honours_contest_entries (contest_id, town_id, village_id, household_id, resident_id, note, by_resident, entered_by, entered_by_name, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (contest_id, household_id) DO NOTHING RETURNING id`,
			c.ID, c.TownID, villageID, householdID, residentID, in.Note, byResident, a.AccountID, a.Name, now).Scan(&id)
		if db.IsNoRows(err) {
			return &errs.Error{Code: errs.Conflict, Key: "honours.contest.entered", Fields: []errs.FieldError{{Field: "resident_id", Key: "honours.contest.entered"}}}
		}
		if err != nil {
			return fmt.Errorf("honours: enter: %w", err)
		}
		if err := s.savePhotos(ctx, tx, "entry", id, in.Photos); err != nil {
			return err
		}
		if !byResident {
			if err := s.Notify.Tell(ctx, tx, residentID, notify.Outcome{Title: "honours.outcome.entered_title", Body: "honours.outcome.entered", Args: []any{c.Title, a.Name},
				Link: fmt.Sprintf("/honours/contests/%d", c.ID)}); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.contest.enter", Entity: "honours_contest", EntityID: c.ID, TownID: c.TownID, VillageID: villageID,
			Summary: auth.Summarize(nil, map[string]any{"contest": c.Title, "household": name, "by_resident": byResident, "photos": len(in.Photos)})})
	})
	if err != nil {
		return Entry{}, err
	}
	e, err := scanEntry(s.DB.Read().QueryRowContext(ctx, `SELECT `+entryCols+entryFrom+` WHERE e.id = $1`, id))
	if err != nil {
		return Entry{}, fmt.Errorf("honours: entry %d: %w", id, err)
	}
	e.Mine = in.ResidentID == 0
	e.Photos, err = s.photoIDs(ctx, s.DB.Read(), "entry", id)
	return e, err
}

// Entries are a contest's entries as the actor may see them: every one for its organisers, their
// villages' for a village's staff, those assigned to a judge (never their own household nor a
// relation's), a resident's own household's, and, once a round is closed, every entry with a
// result in it (its results unsealed).
func (s *Service) Entries(ctx context.Context, a *auth.Actor, contestID int64) ([]Entry, error) {
	if err := mayContests(a); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	c, err := s.contest(ctx, q, contestID)
	if err != nil {
		return nil, err
	}
	rd, err := s.reader(ctx, q, a, c)
	if err != nil {
		return nil, err
	}
	all, err := s.contestEntries(ctx, q, c.ID)
	if err != nil {
		return nil, err
	}
	results, err := s.results(ctx, q, c.ID)
	if err != nil {
		return nil, err
	}
	assigned := map[int64]bool{}
	if rd.judge {
		panel, err := s.panel(ctx, q, c)
		if err != nil {
			return nil, err
		}
		for _, j := range panel {
			if j.AccountID != a.AccountID {
				continue
			}
			as, _, err := s.assignment(ctx, q, j, all)
			if err != nil {
				return nil, err
			}
			for _, e := range as {
				assigned[e.ID] = true
			}
		}
	}
	out := []Entry{}
	for _, e := range all {
		e.Mine = rd.resident && e.householdID == rd.me.HouseholdID
		e.Assigned = assigned[e.ID]
		staff := rd.staffOf(e.VillageID)
		if !staff && !assigned[e.ID] && !e.Mine && len(results[e.ID]) == 0 {
			continue
		}
		if !staff && !assigned[e.ID] {
			e.Address, e.EnteredByName = "", ""
		}
		if !staff && !e.Mine {
			e.PayNote = ""
		}
		e.Results = append(e.Results, results[e.ID]...)
		if e.Photos, err = s.photoIDs(ctx, q, "entry", e.ID); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// seesContestPhoto decides who sees a contest's photo: an entry's to its organisers, the staff of
// its village, the judges it is assigned to, and its household; a score sheet's to the judge who
// took it, and to the organisers once the round is closed.
func (s *Service) seesContestPhoto(ctx context.Context, q db.Querier, a *auth.Actor, owner string, id int64) (bool, error) {
	if a == nil || a.AccountID == 0 {
		return false, nil
	}
	if owner == "score" {
		var contestID, accountID int64
		var round string
		err := q.QueryRowContext(ctx, `SELECT contest_id, account_id, round FROM honours_contest_sheets WHERE id = $1`, id).Scan(&contestID, &accountID, &round)
		if db.IsNoRows(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if accountID == a.AccountID {
			return true, nil
		}
		c, err := s.contest(ctx, q, contestID)
		if err != nil {
			return false, err
		}
		return manages(a, c.TownID) && c.Closed(round), nil
	}
	var contestID int64
	if err := q.QueryRowContext(ctx, `SELECT contest_id FROM honours_contest_entries WHERE id = $1`, id).Scan(&contestID); err != nil {
		if db.IsNoRows(err) {
			return false, nil
		}
		return false, err
	}
	c, err := s.contest(ctx, q, contestID)
	if err != nil {
		return false, err
	}
	rd, err := s.reader(ctx, q, a, c)
	if err != nil {
		return false, nil
	}
	all, err := s.contestEntries(ctx, q, c.ID)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(all, func(e Entry) bool { return e.ID == id })
	if i < 0 {
		return false, nil
	}
	e := all[i]
	if rd.staffOf(e.VillageID) || (rd.resident && rd.me.HouseholdID == e.householdID) {
		return true, nil
	}
	if !rd.judge {
		return false, nil
	}
	panel, err := s.panel(ctx, q, c)
	if err != nil {
		return false, err
	}
	for _, j := range panel {
		if j.AccountID != a.AccountID {
			continue
		}
		as, _, err := s.assignment(ctx, q, j, all)
		if err != nil {
			return false, err
		}
		if slices.ContainsFunc(as, func(x Entry) bool { return x.ID == id }) {
			return true, nil
		}
	}
	return false, nil
}
