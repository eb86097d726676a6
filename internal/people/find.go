package people

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Choice is a resident found by name or phone, for staff to pick (to check in, to hand something
// to, to name as a party or a nominee): the name, village, household's address and masked phone,
// never a number on screen.
type Choice struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Village string `json:"village"`
	Address string `json:"address"`
	Phone   string `json:"phone"`
}

// MaxChoices bounds a search for residents to pick.
const MaxChoices = 20

// Find finds a town's active residents (of the villages named, or of all its villages for nil)
// whose name holds the word staff typed, or whose phone starts with it when it is digits: the one
// way the pillars' forms find a person to pick. A blank word finds no one; a long one is cut to 20
// characters. It checks no permission: the caller decides the town and villages in scope.
func (s *Service) Find(ctx context.Context, q db.Querier, townID int64, villageIDs []int64, word string) ([]Choice, error) {
	word = strings.TrimSpace(word)
	out := []Choice{}
	if word == "" || townID == 0 {
		return out, nil
	}
	if utf8.RuneCountInString(word) > 20 {
		word = string([]rune(word)[:20])
	}
	cond, arg := `r.name LIKE $2 ESCAPE '\'`, "%"+db.LikePrefix(word)
	if strings.Trim(word, "0123456789") == "" {
		cond, arg = `r.phone LIKE $2 ESCAPE '\'`, db.LikePrefix(word)
	}
	if villageIDs != nil {
		cond += ` AND r.village_id IN (` + db.IDList(villageIDs) + `)`
	}
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.name, v.name, COALESCE(h.address, ''), r.phone FROM residents r JOIN villages v ON v.id = r.village_id
		LEFT JOIN households h ON h.id = r.household_id
		WHERE r.status = 'active' AND r.town_id = $1 AND `+cond+` ORDER BY r.name, r.id LIMIT $3`, townID, arg, MaxChoices)
	if err != nil {
		return nil, fmt.Errorf("people: find residents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Choice
		if err := rows.Scan(&c.ID, &c.Name, &c.Village, &c.Address, &c.Phone); err != nil {
			return nil, err
		}
		c.Phone = MaskPhone(c.Phone)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Me is the resident an actor is (or acts for, in office mode), as the pillars need them.
type Me struct {
	ID          int64
	TownID      int64
	VillageID   int64
	HouseholdID int64
	Name        string
	BirthDate   string
	Active      bool
}

// Me is the actor's resident (Actor.Self), or ok false for a login without one.
func (s *Service) Me(ctx context.Context, q db.Querier, a *auth.Actor) (Me, bool, error) {
	var m Me
	if a == nil || a.Self() == 0 {
		return m, false, nil
	}
	var status string
	err := q.QueryRowContext(ctx, `SELECT id, town_id, village_id, household_id, name, birth_date, status FROM residents WHERE id = $1`, a.Self()).
		Scan(&m.ID, &m.TownID, &m.VillageID, &m.HouseholdID, &m.Name, &m.BirthDate, &status)
	if db.IsNoRows(err) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("people: resident of actor: %w", err)
	}
	m.Active = status == string(Active)
	return m, true, nil
}

// Named is a record by id and name, for a picker: names on screen, never ids.
type Named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// TownVillages are a town's active villages in code order: the one list the pillars' forms pick a
// village from (the service still checks each village a request names, with VillageIn).
func (s *Service) TownVillages(ctx context.Context, townID int64) ([]Named, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 AND active ORDER BY code, id`, townID)
	if err != nil {
		return nil, fmt.Errorf("people: villages of town %d: %w", townID, err)
	}
	defer rows.Close()
	out := []Named{}
	for rows.Next() {
		var v Named
		if err := rows.Scan(&v.ID, &v.Name); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// VillageIn checks that a village a request names is one of the town's: a village of another
// town answers NotFound on the field, exactly like a missing one.
func (s *Service) VillageIn(ctx context.Context, q db.Querier, townID, villageID int64, field string) error {
	var t int64
	err := q.QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&t)
	if db.IsNoRows(err) || (err == nil && t != townID) {
		return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: field, Key: "error.not_found"}}}
	}
	if err != nil {
		return fmt.Errorf("people: village %d: %w", villageID, err)
	}
	return nil
}
