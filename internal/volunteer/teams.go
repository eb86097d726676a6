package volunteer

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Teams lists the six teams of a village with their leaders and member counts. Residents of the
// village's town see them too (to choose teams when they register).
func (s *Service) Teams(ctx context.Context, a *auth.Actor, villageID int64) ([]Team, error) {
	v, err := s.village(ctx, villageID)
	if err != nil {
		return nil, err
	}
	if lead(a, v.TownID, v.ID) != nil {
		r, err := s.selfResident(ctx, a)
		if err != nil || r.TownID != v.TownID {
			return nil, notFound
		}
	}
	return s.teams(ctx, v)
}

// TeamsOf lists the teams of a village (Teams), or of the acting resident's own when villageID is 0.
func (s *Service) TeamsOf(ctx context.Context, a *auth.Actor, villageID int64) ([]Team, error) {
	if villageID == 0 {
		r, err := s.selfResident(ctx, a)
		if err != nil {
			return nil, err
		}
		villageID = r.VillageID
	}
	return s.Teams(ctx, a, villageID)
}

// teams are a village's teams with their leaders and member counts; it checks no permission.
func (s *Service) teams(ctx context.Context, v people.Village) ([]Team, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT t.id, t.kind,
		(SELECT COUNT(*) FROM volunteer_members m WHERE m.team_id = t.id)
		FROM volunteer_teams t WHERE t.village_id = $1`, v.ID)
	if err != nil {
		return nil, fmt.Errorf("volunteer: teams: %w", err)
	}
	defer rows.Close()
	var out []Team
	for rows.Next() {
		t := Team{TownID: v.TownID, VillageID: v.ID, VillageName: v.Name, Leaders: []string{}}
		var kind string
		if err := rows.Scan(&t.ID, &kind, &t.Members); err != nil {
			return nil, err
		}
		t.Kind = TeamKind(kind)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(x, y Team) int { return slices.Index(Kinds, x.Kind) - slices.Index(Kinds, y.Kind) })
	lr, err := s.DB.Read().QueryContext(ctx, `SELECT l.team_id, a.name FROM volunteer_team_leaders l
		JOIN volunteer_teams t ON t.id = l.team_id JOIN accounts a ON a.id = l.account_id WHERE t.village_id = $1 ORDER BY a.name`, v.ID)
	if err != nil {
		return nil, fmt.Errorf("volunteer: leaders: %w", err)
	}
	defer lr.Close()
	for lr.Next() {
		var id int64
		var name string
		if err := lr.Scan(&id, &name); err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].ID == id {
				out[i].Leaders = append(out[i].Leaders, name)
			}
		}
	}
	return out, lr.Err()
}

// team loads a team with its village and town.
func (s *Service) team(ctx context.Context, q db.Querier, id int64) (Team, error) {
	var t Team
	var kind string
	err := q.QueryRowContext(ctx, `SELECT t.id, t.town_id, t.village_id, v.name, t.kind FROM volunteer_teams t JOIN villages v ON v.id = t.village_id WHERE t.id = $1`, id).
		Scan(&t.ID, &t.TownID, &t.VillageID, &t.VillageName, &kind)
	if db.IsNoRows(err) {
		return t, notFound
	}
	t.Kind = TeamKind(kind)
	return t, err
}

// SetLeader makes a staff account a leader of a team, or no longer one. The account must hold a
// staff role in the team's village (team leader or village admin) or the town.
func (s *Service) SetLeader(ctx context.Context, a *auth.Actor, teamID, accountID int64, on bool) error {
	t, err := s.team(ctx, s.DB.Read(), teamID)
	if err != nil {
		return err
	}
	if err := auth.Can(a, auth.AccountManage, auth.Scope{TownID: t.TownID, VillageID: t.VillageID}); err != nil {
		return auth.Hide(err)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if !on {
			_, err := tx.ExecContext(ctx, `DELETE FROM volunteer_team_leaders WHERE team_id = $1 AND account_id = $2`, teamID, accountID)
			if err == nil {
				err = auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.leader.remove", Entity: "volunteer_team", EntityID: teamID, TownID: t.TownID, VillageID: t.VillageID, Summary: strconv.FormatInt(accountID, 10)})
			}
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_roles WHERE account_id = $1 AND role IN ('team_leader', 'village_admin') AND village_id = $2`,
			accountID, t.VillageID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errs.Field("account_id", "volunteer.leader_not_staff")
		}
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM volunteer_team_leaders WHERE team_id = $1 AND account_id = $2`, teamID, accountID).Scan(&held); err != nil || held > 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO volunteer_team_leaders (team_id, account_id, created_at) VALUES ($1, $2, $3)`, teamID, accountID, s.Now()); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.leader.add", Entity: "volunteer_team", EntityID: teamID, TownID: t.TownID, VillageID: t.VillageID, Summary: strconv.FormatInt(accountID, 10)})
	})
}

// age is a resident's age in whole years on a day.
func age(birth, on time.Time) int {
	y := on.Year() - birth.Year()
	if on.Month() < birth.Month() || (on.Month() == birth.Month() && on.Day() < birth.Day()) {
		y--
	}
	return y
}

// Register registers the acting resident as a volunteer, or updates their skills, availability
// and teams when they already are one. Consent is recorded with the time; a child under 14 needs a
// guardian's consent. Staff may register a resident in office mode; who recorded it is kept.
func (s *Service) Register(ctx context.Context, a *auth.Actor, in RegisterInput) (Volunteer, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return Volunteer{}, err
	}
	r, err := s.resident(ctx, self)
	if err != nil {
		return Volunteer{}, err
	}
	town, err := s.People.Town(ctx, r.TownID)
	if err != nil {
		return Volunteer{}, err
	}
	in.Availability, in.GuardianName, in.GuardianRelation = strings.TrimSpace(in.Availability), strings.TrimSpace(in.GuardianName), strings.TrimSpace(in.GuardianRelation)
	var f errs.Fields
	skills, ok := cleanList(in.Skills, Skills)
	if !ok {
		f.Add("skills", "volunteer.skill_unknown")
	}
	if utf8.RuneCountInString(in.Availability) > 200 {
		f.Add("availability", "field.too_long")
	}
	if !in.Consent {
		f.Add("consent", "volunteer.consent_required")
	}
	if isChild(r, town, s.Now) {
		if in.GuardianName == "" || utf8.RuneCountInString(in.GuardianName) > 40 {
			f.Add("guardian_name", "volunteer.guardian_required")
		}
		if in.GuardianRelation == "" || utf8.RuneCountInString(in.GuardianRelation) > 20 {
			f.Add("guardian_relation", "volunteer.guardian_required")
		}
		if !in.GuardianConsent {
			f.Add("guardian_consent", "volunteer.guardian_required")
		}
	} else {
		in.GuardianName, in.GuardianRelation = "", ""
	}
	if r.Status != people.Active {
		f.Add("resident_id", "people.not_active")
	}
	if err := f.Err(); err != nil {
		return Volunteer{}, err
	}
	village, err := s.village(ctx, r.VillageID)
	if err != nil {
		return Volunteer{}, err
	}
	teams, err := s.teams(ctx, village)
	if err != nil {
		return Volunteer{}, err
	}
	for _, id := range in.Teams {
		if !slices.ContainsFunc(teams, func(t Team) bool { return t.ID == id }) {
			return Volunteer{}, errs.Field("teams", "volunteer.team_unknown")
		}
	}
	now := s.Now()
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM volunteers WHERE resident_id = $1`, r.ID).Scan(&id)
		switch {
		case db.IsNoRows(err):
			if err := tx.QueryRowContext(ctx, `INSERT INTO volunteers (town_id, village_id, resident_id, number, skills, availability, consent_at, guardian_name, guardian_relation, recorded_by, recorded_by_name, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $7) RETURNING id`,
				r.TownID, r.VillageID, r.ID, fmt.Sprintf("pending-%d", r.ID), strings.Join(skills, ","), in.Availability, now, in.GuardianName, in.GuardianRelation, a.AccountID, a.Name).Scan(&id); err != nil {
				return fmt.Errorf("volunteer: register: %w", err)
			}
			// The number is the town's code, V and the serial: printable, never the ID number.
			if _, err := tx.ExecContext(ctx, `UPDATE volunteers SET number = $1 WHERE id = $2`, fmt.Sprintf("%sV%06d", town.Code, id), id); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE volunteers SET skills = $1, availability = $2, consent_at = $3, guardian_name = $4, guardian_relation = $5 WHERE id = $6`,
				strings.Join(skills, ","), in.Availability, now, in.GuardianName, in.GuardianRelation, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM volunteer_members WHERE volunteer_id = $1`, id); err != nil {
				return err
			}
		}
		for _, t := range in.Teams {
			if _, err := tx.ExecContext(ctx, `INSERT INTO volunteer_members (team_id, volunteer_id, created_at) VALUES ($1, $2, $3)`, t, id, now); err != nil && !db.IsUnique(err) {
				return err
			}
		}
		if a.ActingFor != nil {
			return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.register", Entity: "volunteer", EntityID: id, TownID: r.TownID, VillageID: r.VillageID, Summary: auth.Summarize(nil, in)})
		}
		return nil
	})
	if err != nil {
		return Volunteer{}, err
	}
	return s.volunteer(ctx, s.DB.Read(), `v.id = $1`, id)
}

// Registered is the acting resident's volunteer record, or nil when they have not registered.
func (s *Service) Registered(ctx context.Context, a *auth.Actor) (*Volunteer, error) {
	v, err := s.Me(ctx, a)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Joining is what the registration form offers the acting resident: the teams of their village,
// and whether they are a child, who needs a guardian's consent.
func (s *Service) Joining(ctx context.Context, a *auth.Actor) ([]Team, bool, error) {
	r, err := s.selfResident(ctx, a)
	if err != nil {
		return nil, false, err
	}
	town, err := s.People.Town(ctx, r.TownID)
	if err != nil {
		return nil, false, err
	}
	teams, err := s.Teams(ctx, a, r.VillageID)
	if err != nil {
		return nil, false, err
	}
	return teams, isChild(r, town, s.Now), nil
}

// isChild reports whether a resident is under 14 today in their town: a child registers with a
// guardian's consent.
func isChild(r people.Resident, town people.Town, now func() time.Time) bool {
	return age(r.BirthDate, town.Clock(now).Today()) < 14
}

// Me is the acting resident's volunteer record, or NotFound when they have not registered.
func (s *Service) Me(ctx context.Context, a *auth.Actor) (Volunteer, error) {
	if a.Self() == 0 {
		return Volunteer{}, notFound
	}
	return s.volunteer(ctx, s.DB.Read(), `v.resident_id = $1`, a.Self())
}

const volunteerCols = `v.id, v.number, v.resident_id, r.name, v.town_id, v.village_id, v.skills, v.availability, v.guardian_name, v.guardian_relation, v.recorded_by_name, v.created_at`

func scanVolunteer(sc interface{ Scan(...any) error }) (Volunteer, error) {
	var v Volunteer
	var skills string
	err := sc.Scan(&v.ID, &v.Number, &v.ResidentID, &v.Name, &v.TownID, &v.VillageID, &skills, &v.Availability, &v.GuardianName, &v.GuardianRelation, &v.RecordedByName, &v.CreatedAt)
	v.Skills = splitList(skills)
	return v, err
}

func (s *Service) volunteer(ctx context.Context, q db.Querier, where string, arg any) (Volunteer, error) {
	v, err := scanVolunteer(q.QueryRowContext(ctx, `SELECT `+volunteerCols+` FROM volunteers v JOIN residents r ON r.id = v.resident_id WHERE `+where, arg))
	if db.IsNoRows(err) {
		return v, notFound
	}
	if err != nil {
		return v, fmt.Errorf("volunteer: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT team_id FROM volunteer_members WHERE volunteer_id = $1 ORDER BY team_id`, v.ID)
	if err != nil {
		return v, err
	}
	defer rows.Close()
	v.Teams = []int64{}
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return v, err
		}
		v.Teams = append(v.Teams, t)
	}
	return v, rows.Err()
}

// Volunteers lists a village's volunteers for its staff, optionally only those with a skill.
func (s *Service) Volunteers(ctx context.Context, a *auth.Actor, villageID int64, skill string) ([]Volunteer, error) {
	v, err := s.village(ctx, villageID)
	if err != nil {
		return nil, err
	}
	if err := lead(a, v.TownID, v.ID); err != nil {
		return nil, auth.Hide(err)
	}
	all, err := s.volunteers(ctx, `v.village_id = $1`, villageID)
	if err != nil {
		return nil, err
	}
	out := []Volunteer{}
	for _, vol := range all {
		if skill == "" || slices.Contains(vol.Skills, skill) {
			out = append(out, vol)
		}
	}
	return out, nil
}

// volunteers lists volunteers by a condition on v (volunteers) or r (residents), by number.
func (s *Service) volunteers(ctx context.Context, where string, args ...any) ([]Volunteer, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+volunteerCols+` FROM volunteers v JOIN residents r ON r.id = v.resident_id
		WHERE `+where+` ORDER BY v.number LIMIT 2000`, args...)
	if err != nil {
		return nil, fmt.Errorf("volunteer: list: %w", err)
	}
	defer rows.Close()
	var out []Volunteer
	for rows.Next() {
		vol, err := scanVolunteer(rows)
		if err != nil {
			return nil, fmt.Errorf("volunteer: list: %w", err)
		}
		out = append(out, vol)
	}
	return out, rows.Err()
}

// Candidate is a staff account that may lead a village's teams.
type Candidate struct {
	AccountID int64  `json:"account_id"`
	Name      string `json:"name"`
}

// LeaderCandidates lists the accounts holding a team leader or village admin role in a village.
func (s *Service) LeaderCandidates(ctx context.Context, a *auth.Actor, villageID int64) ([]Candidate, error) {
	v, err := s.village(ctx, villageID)
	if err != nil {
		return nil, err
	}
	if err := auth.Can(a, auth.AccountManage, auth.Scope{TownID: v.TownID, VillageID: v.ID}); err != nil {
		return nil, nil // not theirs to change: the page shows the leaders without the form
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT DISTINCT a.id, a.name FROM account_roles g JOIN accounts a ON a.id = g.account_id
		WHERE g.village_id = $1 AND g.role IN ('team_leader', 'village_admin') ORDER BY a.name`, villageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.AccountID, &c.Name); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
