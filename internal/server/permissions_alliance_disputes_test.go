package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/demo"
)

// allianceDisputesMatrix holds the dispute centre's rows (微联盟). None of the matrix's callers is
// the centre's staff: every page and API of its consultations and cases answers them 404, the
// town's admin included (the resident is stopped at the console's door, 403); residents may book.
var allianceDisputesMatrix = []perm{
	{"GET /admin/disputes", "", "", "LFNNN"},
	{"GET /admin/disputes/consultations", "", "", "LFNNN"},
	{"POST /admin/disputes/consultations", "", "name=矩阵来访人&matter=矩阵事项&advice=矩阵意见", "LFNNN"},
	{"GET /admin/disputes/cases", "", "", "LFNNN"},
	{"GET /admin/disputes/cases/new", "", "", "LFNNN"},
	{"POST /admin/disputes/cases", "", "title=矩阵案件&village_id={village}&kind=land&source=window", "LFNNN"},
	{"GET /admin/disputes/cases/{id}", "/admin/disputes/cases/{disputeCase}", "", "LFNNN"},
	{"POST /admin/disputes/cases/{id}/sessions", "/admin/disputes/cases/{disputeCase}/sessions", "day={today}&place=visit&attendees=矩阵", "LFNNN"},
	{"POST /admin/disputes/cases/{id}/actions", "/admin/disputes/cases/{disputeCase}/actions", "action=settle&agreement=矩阵协议", "LFNNN"},
	{"GET /alliance/disputes", "", "", "LAAAA"},
	{"POST /alliance/disputes/bookings", "", "matter=&preferred_day=", "LAFFF"},
	{"GET /api/v1/disputes/consultations", "", "", "LNNNN"},
	{"POST /api/v1/disputes/consultations", "", `{"name":"矩阵来访人","matter":"矩阵事项","advice":"矩阵意见"}`, "LNNNN"},
	{"GET /api/v1/disputes/cases", "", "", "LNNNN"},
	{"POST /api/v1/disputes/cases", "", `{"title":"矩阵案件","village_id":{village},"kind":"land","source":"window"}`, "LNNNN"},
	{"GET /api/v1/disputes/cases/{id}", "/api/v1/disputes/cases/{disputeCase}", "", "LNNNN"},
	{"POST /api/v1/disputes/cases/{id}/sessions", "/api/v1/disputes/cases/{disputeCase}/sessions", `{"day":"{today}","place":"visit","attendees":"矩阵"}`, "LNNNN"},
	{"POST /api/v1/disputes/cases/{id}/actions", "/api/v1/disputes/cases/{disputeCase}/actions", `{"action":"settle","agreement":"矩阵协议"}`, "LNNNN"},
}

// allianceDisputes makes the fixture's {disputeCase}: a land case of 前疃村 between two people who
// are not residents, opened through the API by a login of the town's dispute centre.
func (f *matrixFixture) allianceDisputes(t *testing.T) {
	t.Helper()
	ctx, env := context.Background(), f.env
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		acc, err := env.Sys.Auth.InsertAccount(ctx, tx, "13900000598", "矩阵解纷员", 0, auth.HashPassword(demo.DemoPassword), false)
		if err != nil {
			return err
		}
		return env.Sys.Auth.InsertGrant(ctx, tx, acc, auth.Grant{Role: auth.DisputeStaff, TownID: env.Info.TownID})
	})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID int64 `json:"id"`
	}
	if st, body := env.API("13900000598").JSON("POST", "/api/v1/disputes/cases", map[string]any{"title": "矩阵土地纠纷", "village_id": atoi(f.values["village"]),
		"kind": "land", "source": "window", "parties": []map[string]any{{"name": "矩阵甲", "role": "applicant"}, {"name": "矩阵乙", "role": "respondent"}}}, &c); st != 201 {
		t.Fatalf("fixture: dispute case: %d %s", st, body)
	}
	f.values["disputeCase"] = fmt.Sprint(c.ID)
}

// disputeCaseFlow is the dispute centre's flow, for the catalog test's flows.
var disputeCaseFlow = alliance.CaseFlow

// disputeLists are the dispute centre's domain values the catalog test's families take keys from.
func disputeLists(which string) []string {
	switch which {
	case "kind":
		return alliance.CaseKinds
	case "source":
		return alliance.CaseSources
	case "party":
		return alliance.PartyRoles
	case "team":
		return alliance.TeamRoles
	case "place":
		return alliance.SessionPlaces
	case "work":
		return alliance.SessionWork
	}
	var out []string
	if which == "steps" {
		out = append(out, "open")
	}
	for _, a := range alliance.CaseFlow.Actions {
		if !slices.Contains(out, a.Name) {
			out = append(out, a.Name)
		}
	}
	return out
}
