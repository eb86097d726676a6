package volunteer

import (
	"context"
	"database/sql"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/flow"
	"siwei/internal/notify"
)

// word is a catalog word (a team's kind) in the language messages are written in, for a
// message's arguments, which are not looked up themselves.
func (s *Service) word(key string) string {
	if s.Notify == nil || s.Notify.T == nil {
		return key
	}
	return s.Notify.T(key)
}

// tellNeed tells whom a need's step concerns, inside the step's transaction: the person the need
// is for, of every step but a rating (not of one they took themself), naming the need; and, when
// it is assigned, every member of the team, who may now take it. It reads the need as the step
// left it, with its team and volunteer.
func (s *Service) tellNeed(ctx context.Context, tx *sql.Tx, a *auth.Actor, id int64, act flow.Action, reason string) error {
	if s.Notify == nil {
		return nil
	}
	n, err := s.scanNeed(tx.QueryRowContext(ctx, `SELECT `+needCols+needFrom+`WHERE n.id = $1`, id))
	if err != nil {
		return fmt.Errorf("volunteer: need %d: %w", id, err)
	}
	what, link := trunc(n.Description, 30), fmt.Sprintf("/volunteer/needs/%d", n.ID)
	team := n.VillageName + s.word("volunteer.kind."+string(n.TeamKind))
	o := notify.Outcome{Link: link}
	switch {
	case act.Name == "assign":
		o.Title, o.Body, o.Args = "volunteer.outcome.need_assigned_title", "volunteer.outcome.need_assigned", []any{what, team}
	case act.Name == "take":
		o.Title, o.Body, o.Args = "volunteer.outcome.need_taken_title", "volunteer.outcome.need_taken", []any{what, n.VolunteerName}
	case act.Name == "done":
		o.Title, o.Body, o.Args = "volunteer.outcome.need_done_title", "volunteer.outcome.need_done", []any{what, n.VolunteerName}
	case act.Name == "refuse":
		o.Title, o.Body, o.Args = "volunteer.outcome.need_refused_title", "volunteer.outcome.need_refused", []any{what, reason}
	case act.Name == "send_back" && act.To == NeedAssigned:
		o.Title, o.Body, o.Args = "volunteer.outcome.need_sent_back_title", "volunteer.outcome.need_back_to_team", []any{what, team, reason}
	case act.Name == "send_back":
		o.Title, o.Body, o.Args = "volunteer.outcome.need_sent_back_title", "volunteer.outcome.need_back_to_village", []any{what, reason}
	}
	if o.Title != "" && n.ForResidentID != a.Self() {
		if err := s.Notify.Tell(ctx, tx, n.ForResidentID, o); err != nil {
			return err
		}
	}
	if act.Name != "assign" {
		return nil
	}
	members, err := s.teamResidents(ctx, tx, n.TeamID)
	if err != nil {
		return err
	}
	for _, r := range members {
		if r == a.Self() || r == n.ForResidentID {
			continue
		}
		if err := s.Notify.Tell(ctx, tx, r, notify.Outcome{Title: "volunteer.outcome.need_for_team_title", Body: "volunteer.outcome.need_for_team",
			Args: []any{team, n.ForName, what}, Link: link}); err != nil {
			return err
		}
	}
	return nil
}

// teamResidents are the residents, still living in the town, who are members of a team.
func (s *Service) teamResidents(ctx context.Context, tx *sql.Tx, teamID int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT v.resident_id FROM volunteer_members m JOIN volunteers v ON v.id = m.volunteer_id
		JOIN residents r ON r.id = v.resident_id WHERE m.team_id = $1 AND r.status = 'active' ORDER BY v.resident_id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("volunteer: team %d: %w", teamID, err)
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
