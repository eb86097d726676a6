package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/demo"
)

// honoursRoundsMatrix holds the public side's rows for evaluation rounds (群众评议) and their votes.
// The fixture's {hnRound} is a 前疃村 round open for votes with two nominees ({hnNominee} one of
// them), two votes each, a vote of the party member's ({hnVote}) and an anomaly ({hnFlag}). Only
// the town's staff run a round: the villages' staff are refused (403) everything but reading,
// and 东堡村's admin does not see 前疃村's round (404). A resident votes (the page's vote is taken
// back by the next row, the API's by its DELETE); staff voting as themselves are refused (403).
// Opening an open round, closing one not over and scoring one without a panel answer 409;
// cancelling, voiding and reviewing without a reason 422, and the pages only ask.
var honoursRoundsMatrix = []perm{
	{"GET /admin/honours/rounds", "", "", "LFAAA"},
	{"GET /admin/honours/rounds/new", "", "", "LFFFA"},
	{"POST /admin/honours/rounds", "", "title=矩阵评议", "LFFFA"},
	{"GET /admin/honours/rounds/{id}", "/admin/honours/rounds/{hnRound}", "", "LFNAA"},
	{"POST /admin/honours/rounds/{id}/open", "/admin/honours/rounds/{hnRound}/open", "", "LFFFA"},
	{"POST /admin/honours/rounds/{id}/cancel", "/admin/honours/rounds/{hnRound}/cancel", "", "LFFFA"},
	{"POST /admin/honours/rounds/{id}/close", "/admin/honours/rounds/{hnRound}/close", "", "LFFFA"},
	{"POST /admin/honours/rounds/{id}/check", "/admin/honours/rounds/{hnRound}/check", "", "LFFFA"},
	{"POST /admin/honours/rounds/{id}/scores", "/admin/honours/rounds/{hnRound}/scores", "score_{hnNominee}=80", "LFFFA"},
	{"POST /admin/honours/anomalies/{id}/review", "/admin/honours/anomalies/{hnFlag}/review", "note=", "LFFFA"},
	{"POST /admin/honours/votes/{id}/void", "/admin/honours/votes/{hnVote}/void", "", "LFFFA"},
	{"GET /honours/rounds", "", "", "LAAAA"},
	{"GET /honours/rounds/{id}", "/honours/rounds/{hnRound}", "", "LANAA"},
	{"POST /honours/rounds/{id}/votes", "/honours/rounds/{hnRound}/votes", "nomination_id={hnNominee}", "LANFF"},
	{"POST /honours/rounds/{id}/votes/{nomination}/withdraw", "/honours/rounds/{hnRound}/votes/{hnNominee}/withdraw", "", "LANFF"},
	{"GET /api/v1/honours/rounds", "", "", "LAAAA"},
	{"POST /api/v1/honours/rounds", "", `{"title":"矩阵评议"}`, "LFFFA"},
	{"GET /api/v1/honours/rounds/{id}", "/api/v1/honours/rounds/{hnRound}", "", "LANAA"},
	{"POST /api/v1/honours/rounds/{id}/open", "/api/v1/honours/rounds/{hnRound}/open", "", "LFFFA"},
	{"POST /api/v1/honours/rounds/{id}/cancel", "/api/v1/honours/rounds/{hnRound}/cancel", `{"reason":""}`, "LFFFA"},
	{"POST /api/v1/honours/rounds/{id}/close", "/api/v1/honours/rounds/{hnRound}/close", "", "LFFFA"},
	{"POST /api/v1/honours/rounds/{id}/check", "/api/v1/honours/rounds/{hnRound}/check", "", "LFFFA"},
	{"POST /api/v1/honours/rounds/{id}/scores", "/api/v1/honours/rounds/{hnRound}/scores", `{"scores":{"{hnNominee}":80}}`, "LFFFA"},
	{"GET /api/v1/honours/rounds/{id}/votes", "/api/v1/honours/rounds/{hnRound}/votes", "", "LFFFA"},
	{"POST /api/v1/honours/rounds/{id}/votes", "/api/v1/honours/rounds/{hnRound}/votes", `{"nomination_id":{hnNominee}}`, "LANFF"},
	{"DELETE /api/v1/honours/rounds/{id}/votes/{nomination}", "/api/v1/honours/rounds/{hnRound}/votes/{hnNominee}", "", "LANFF"},
	{"POST /api/v1/honours/anomalies/{id}/review", "/api/v1/honours/anomalies/{hnFlag}/review", `{"note":""}`, "LFFFA"},
	{"POST /api/v1/honours/votes/{id}/void", "/api/v1/honours/votes/{hnVote}/void", `{"reason":""}`, "LFFFA"},
}

// honoursRounds makes the fixture's round: two admitted nominations of 前疃村 residents (written
// as the nominations part leaves them), a round of them open for votes until three days on, the
// party member's vote for the other nominee, and an anomaly flagged on it.
func (f *matrixFixture) honoursRounds(t *testing.T) {
	ctx, w := t.Context(), f.env.Sys.DB.Write()
	now := db.Now()
	var category, account int64
	if _, err := w.ExecContext(ctx, `INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, 'helping', '', 1, TRUE, $2)
		ON CONFLICT (town_id, code) WHERE code <> '' DO NOTHING`, f.env.Info.TownID, now); err != nil {
		t.Fatalf("fixture: category: %v", err)
	}
	if err := w.QueryRowContext(ctx, `SELECT id FROM honours_categories WHERE town_id = $1 AND code = 'helping'`, f.env.Info.TownID).Scan(&category); err != nil {
		t.Fatalf("fixture: category: %v", err)
	}
	if err := w.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, demo.PhoneTownAdmin).Scan(&account); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	rows, err := w.QueryContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND id <> $2 AND id NOT IN (SELECT resident_id FROM accounts WHERE resident_id IS NOT NULL)
		ORDER BY id LIMIT 2`, atoi(f.values["village"]), atoi(f.values["neighbour"]))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var nominees []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		nominees = append(nominees, id)
	}
	rows.Close()
	var noms []int64
	for _, r := range nominees {
		var id int64
		if err := w.QueryRowContext(ctx, `INSERT INTO honours_nominations (town_id, village_id, resident_id, category_id, story, by_account, by_name, consent, consent_by, consent_at,
			status, created_at, updated_at) SELECT town_id, village_id, id, $2, '照顾独居老人', $3, '矩阵', 'given', 'self', $4, 'admitted', $4, $4 FROM residents WHERE id = $1 RETURNING id`,
			r, category, account, now).Scan(&id); err != nil {
			t.Fatalf("fixture: nomination: %v", err)
		}
		noms = append(noms, id)
	}
	town := f.env.API(demo.PhoneTownAdmin)
	var round struct {
		ID int64 `json:"id"`
	}
	loc := time.FixedZone("CST", 8*3600)
	if st, body := town.JSON("POST", "/api/v1/honours/rounds", map[string]any{"village_id": atoi(f.values["village"]), "title": "矩阵评议", "year": time.Now().In(loc).Year(),
		"opens_on": f.values["today"], "closes_on": time.Now().In(loc).AddDate(0, 0, 3).Format("2006-01-02"), "nomination_ids": noms, "seats": 1, "votes_per_voter": 2, "rule": "votes"}, &round); st != http.StatusCreated {
		t.Fatalf("fixture: round: %d %s", st, body)
	}
	if st, body := town.JSON("POST", fmt.Sprintf("/api/v1/honours/rounds/%d/open", round.ID), nil, nil); st != http.StatusOK {
		t.Fatalf("fixture: open round: %d %s", st, body)
	}
	f.values["hnRound"] = fmt.Sprint(round.ID)
	f.values["hnNominee"] = fmt.Sprint(noms[0])
	party := f.env.API(demo.PhonePartyMember)
	var vote struct {
		Vote struct {
			ID int64 `json:"id"`
		} `json:"vote"`
	}
	if st, body := party.JSON("POST", fmt.Sprintf("/api/v1/honours/rounds/%d/votes", round.ID), map[string]any{"nomination_id": noms[1]}, &vote); st != http.StatusCreated {
		t.Fatalf("fixture: vote: %d %s", st, body)
	}
	f.values["hnVote"] = fmt.Sprint(vote.Vote.ID)
	var flag int64
	if err := w.QueryRowContext(ctx, `INSERT INTO honours_vote_flags (round_id, rule, subject, nomination_id, votes, detail, status, found_at) VALUES ($1, 'new_accounts', $2, $3, 1, '矩阵', 'open', $4)
		RETURNING id`, round.ID, fmt.Sprintf("nomination:%d", noms[1]), noms[1], now).Scan(&flag); err != nil {
		t.Fatalf("fixture: flag: %v", err)
	}
	f.values["hnFlag"] = fmt.Sprint(flag)
}
