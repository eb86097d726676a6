package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
)

// consultReferralsMatrix holds 微协商's rows for referrals to departments and the department directory.
var consultReferralsMatrix = []perm{
	// the department directory: the town's admins manage it; hosts read it to pick from
	{"GET /admin/consult/departments", "", "", "LFFFA"},
	{"POST /admin/consult/departments", "", "name=矩阵部门&level=town", "LFFFA"},
	{"GET /admin/consult/departments/{id}", "/admin/consult/departments/{department}", "", "LFNNA"},
	{"POST /admin/consult/departments/{id}", "/admin/consult/departments/{department}", "name=矩阵水务所&level=town", "LFNNA"},
	{"POST /admin/consult/departments/{id}/accounts", "/admin/consult/departments/{department}/accounts", "phone={phone}&name=矩阵答复人", "LFNNA"},
	{"GET /api/v1/consult/departments", "", "", "LFAAA"},
	{"POST /api/v1/consult/departments", "", `{"name":"矩阵API部门","level":"district"}`, "LFFFA"},

	// referrals (接诉即办): the hosts of 前疃村 refer its topic; the party member proposed it
	{"GET /admin/consult/referrals", "", "", "LFAAA"},
	{"GET /admin/consult/referrals/new", "/admin/consult/referrals/new?topic={referralTopic}", "", "LFNAA"},
	{"POST /admin/consult/referrals", "", "topic={referralTopic}&department_ids={department}&urgency=normal&finish_days=7", "LFNAA"},
	{"GET /admin/consult/referrals/{id}", "/admin/consult/referrals/{referral}", "", "LFNAA"},
	{"POST /admin/consult/referrals/{id}/actions", "/admin/consult/referrals/{referral}/actions", "action=rate&satisfaction=", "LFNAA"},
	{"GET /consult/referrals", "", "", "LAAAA"},
	{"GET /consult/referrals/{id}", "/consult/referrals/{referral}", "", "LNNAA"},
	{"POST /consult/referrals/{id}/actions", "/consult/referrals/{referral}/actions", "action=rate&satisfaction=", "LNNAA"},
	{"GET /consult/progress/{id}", "/consult/progress/{village}", "", "AAAAA"},
	{"GET /api/v1/consult/referrals", "", "", "LAAAA"},
	{"POST /api/v1/consult/referrals", "", `{"topic_id":{referralTopic},"department_ids":[{department}],"urgency":"normal","finish_days":7}`, "LFNAA"},
	{"GET /api/v1/consult/referrals/{id}", "/api/v1/consult/referrals/{referral}", "", "LNNAA"},
	{"POST /api/v1/consult/referrals/{id}/actions", "/api/v1/consult/referrals/{referral}/actions", `{"action":"rate","satisfaction":""}`, "LNNAA"},
}

// consultReferrals makes the fixture's objects for referrals to departments and the department
// directory: a {department} of the town handling water, with a login of its own; a topic of
// 前疃村 the party member proposed ({referralTopic}, written as the topics part would) and a
// {referral} of it to the department, made by 前疃村's admin through the API.
func (f *matrixFixture) consultReferrals(t *testing.T) {
	t.Helper()
	ctx, env := context.Background(), f.env
	town := env.API(demo.PhoneTownAdmin)
	var water int64
	if err := env.Sys.DB.Read().QueryRowContext(ctx, `SELECT id FROM consult_categories WHERE code = 'water'`).Scan(&water); err != nil {
		t.Fatal(err)
	}
	var dep struct {
		ID int64 `json:"id"`
	}
	if st, body := town.JSON("POST", "/api/v1/consult/departments", map[string]any{"name": "矩阵水务所", "level": "town", "category_ids": []int64{water},
		"contact_name": "王所长", "contact_phone": "010-69540000"}, &dep); st != 201 {
		t.Fatalf("fixture: department: %d %s", st, body)
	}
	f.values["department"] = fmt.Sprint(dep.ID)
	var topic int64
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		acc, err := env.Sys.Auth.InsertAccount(ctx, tx, "13900000599", "矩阵部门答复人", 0, auth.HashPassword(demo.DemoPassword), false)
		if err != nil {
			return err
		}
		if err := env.Sys.Auth.InsertGrant(ctx, tx, acc, auth.Grant{Role: auth.DeptResponder, TownID: env.Info.TownID}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO consult_department_accounts (department_id, account_id, head) VALUES ($1, $2, TRUE)`, dep.ID, acc); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO consult_topics (town_id, village_id, category_id, title, description, status, source, proposer_resident, proposer_name, created_at, updated_at)
			VALUES ($1, $2, $3, '矩阵议题：水管漏水', '村西头水管漏水', 'open', 'resident', $4, '矩阵提议人', $5, $5) RETURNING id`,
			env.Info.TownID, atoi(f.values["village"]), water, atoi(f.values["neighbour"]), db.Now()).Scan(&topic)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.values["referralTopic"] = fmt.Sprint(topic)
	var ref struct {
		ID int64 `json:"id"`
	}
	if st, body := env.API(demo.PhoneVillageAdmin).JSON("POST", "/api/v1/consult/referrals", map[string]any{"topic_id": topic, "department_ids": []int64{dep.ID},
		"urgency": "normal", "finish_days": 7}, &ref); st != 201 {
		t.Fatalf("fixture: referral: %d %s", st, body)
	}
	f.values["referral"] = fmt.Sprint(ref.ID)
}
