package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
)

// consultCareMatrix holds 微协商's rows for the care team, visits and the care schedule. The
// fixture's {careMember} is a care-team login of the town assigned 前疃村 and the neighbour's
// household, and {visit} its visit there: none of the five callers is on the team, so the visit
// is the town admin's alone to see, and only the town admin manages the team. The village admins
// hold no care role anywhere: the team's pages refuse them (403) as they refuse a resident, and
// the visit, a record, is hidden from them (404).
var consultCareMatrix = []perm{
	{"GET /admin/consult/care", "", "", "LFFFA"},
	{"POST /admin/consult/care/members", "", "account_id=0", "LFFFA"},
	{"GET /admin/consult/care/members/{id}", "/admin/consult/care/members/{careMember}", "", "LFFFA"},
	{"POST /admin/consult/care/members/{id}", "/admin/consult/care/members/{careMember}", "title=矩阵&phone=13800001111&village_ids={village}&household_ids={household}", "LFFFA"},
	{"POST /admin/consult/care/members/{id}/deactivate", "/admin/consult/care/members/{careMember}/deactivate", "", "LFFFA"},
	{"POST /admin/consult/care/intervals", "", "days_alone=21", "LFFFA"},
	{"GET /admin/consult/care/schedule", "", "", "LFFFA"},
	{"GET /admin/consult/visits", "", "", "LFFFA"},
	{"GET /admin/consult/visits/new", "/admin/consult/visits/new?household={household}", "", "LFFFA"},
	{"POST /admin/consult/visits", "", "household_id={household}&visited_on={today}&notes=矩阵走访", "LFFFA"},
	{"GET /admin/consult/visits/{id}", "/admin/consult/visits/{visit}", "", "LFNNA"},
	{"POST /admin/consult/visits/{id}/topic", "/admin/consult/visits/{visit}/topic", "title=矩阵议题&category_id=0", "LFNNA"},
	{"GET /consult/care", "", "", "LAAAA"},
	{"POST /consult/visits/{id}/rating", "/consult/visits/{visit}/rating", "rating=5", "LNNNN"},
	{"GET /api/v1/consult/visits", "", "", "LFFFA"},
	{"POST /api/v1/consult/visits", "", `{"household_id": {household}, "visited_on": "{today}", "notes": "矩阵走访"}`, "LFFFA"},
	{"GET /api/v1/consult/care/schedule", "", "", "LFFFA"},
}

// consultCare makes the fixture's objects for the care team, visits and the care schedule: a
// care-team login of the town on the team ({careMember}), assigned 前疃村 and the neighbour's
// household, and a visit it made there ({visit}).
func (f *matrixFixture) consultCare(t *testing.T) {
	ctx, env := context.Background(), f.env
	var member, visit int64
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		account, err := env.Sys.Auth.InsertAccount(ctx, tx, "13700000098", "矩阵队员", 0, auth.HashPassword("matrix-care-1"), false)
		if err != nil {
			return err
		}
		if err := env.Sys.Auth.InsertGrant(ctx, tx, account, auth.Grant{Role: auth.CareTeam, TownID: env.Info.TownID}); err != nil {
			return err
		}
		now := db.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO consult_care_members (town_id, account_id, name, phone, title, active, created_at, updated_at)
			VALUES ($1, $2, '矩阵队员', '13700000098', '', TRUE, $3, $3) RETURNING id`, env.Info.TownID, account, now).Scan(&member); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO consult_care_villages (member_id, village_id) VALUES ($1, $2)`, member, atoi(f.values["village"])); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO consult_care_households (household_id, member_id, assigned_at) VALUES ($1, $2, $3)`, atoi(f.values["household"]), member, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO consult_visits (town_id, village_id, household_id, member_id, visited_on, met, notes, needs_found, created_at)
			VALUES ($1, $2, $3, $4, $5, '本人', '矩阵走访', 0, $6) RETURNING id`, env.Info.TownID, atoi(f.values["village"]), atoi(f.values["household"]), member,
			f.values["today"], now).Scan(&visit)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.values["careMember"] = fmt.Sprint(member)
	f.values["visit"] = fmt.Sprint(visit)
}
