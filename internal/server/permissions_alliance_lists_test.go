package server_test

import (
	"context"
	"fmt"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/demo"
)

// allianceListsMatrix holds 微联盟's rows for the three lists and projects. The fixture's
// {allianceUnit} is a member unit of the town, {allianceResource} its resource reaching every
// village, {allianceNeed} a need of 前疃村 and {allianceProject} the project matching them, still
// proposed. Rating it is refused (it is not done), matching the need again is refused (it is in a
// live project) and withdrawing the resource only asks, so that every row finds them as they were.
var allianceListsMatrix = []perm{
	{"GET /admin/alliance/resources", "", "", "LFAAA"},
	{"POST /admin/alliance/resources", "", "unit_id={allianceUnit}&kind=goods&description=矩阵资源&from={today}&to={tomorrow}", "LFFFA"},
	{"POST /admin/alliance/resources/{id}/withdraw", "/admin/alliance/resources/{allianceResource}/withdraw", "", "LFFFA"},
	{"GET /admin/alliance/needs", "", "", "LFAAA"},
	{"POST /admin/alliance/needs", "", "village_id={village}&kind=goods&description=矩阵需求&people=3&by={tomorrow}", "LFNAA"},
	{"GET /admin/alliance/match", "", "", "LFFFA"},
	{"GET /admin/alliance/projects", "", "", "LFAAA"},
	{"POST /admin/alliance/projects", "", "need_id={allianceNeed}&resource_id={allianceResource}", "LFFFA"},
	{"GET /admin/alliance/projects/{id}", "/admin/alliance/projects/{allianceProject}", "", "LFNAA"},
	{"POST /admin/alliance/projects/{id}/actions", "/admin/alliance/projects/{allianceProject}/actions", "action=rate&rating=5", "LFNAA"},
	{"GET /api/v1/alliance/resources", "", "", "LFAAA"},
	{"POST /api/v1/alliance/resources", "", `{"unit_id":{allianceUnit},"kind":"goods","description":"矩阵资源","from":"{today}","to":"{tomorrow}"}`, "LFFFA"},
	{"GET /api/v1/alliance/needs", "", "", "LFAAA"},
	{"POST /api/v1/alliance/needs", "", `{"village_id":{village},"kind":"goods","description":"矩阵需求","people":3,"by":"{tomorrow}"}`, "LFNAA"},
	{"GET /api/v1/alliance/projects", "", "", "LFAAA"},
	{"POST /api/v1/alliance/projects", "", `{"need_id":{allianceNeed},"resource_id":{allianceResource}}`, "LFFFA"},
	{"GET /api/v1/alliance/projects/{id}", "/api/v1/alliance/projects/{allianceProject}", "", "LNNAA"},
	{"POST /api/v1/alliance/projects/{id}/actions", "/api/v1/alliance/projects/{allianceProject}/actions", `{"action":"rate","rating":5}`, "LNNAA"},
}

// allianceLists makes the fixture's objects for the lists: a member unit, its resource, a need of
// 前疃村 and the project matching them.
func (f *matrixFixture) allianceLists(t *testing.T) {
	ctx := context.Background()
	var unit int64
	if err := f.env.Sys.DB.Write().QueryRowContext(ctx, `INSERT INTO alliance_units (town_id, name, kind, joined_on, active, created_at, updated_at)
		VALUES ($1, '矩阵清单单位', 'agency', '2020-01-01', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id`, f.env.Info.TownID).Scan(&unit); err != nil {
		t.Fatalf("fixture: unit: %v", err)
	}
	f.values["allianceUnit"] = fmt.Sprint(unit)
	town, village := f.env.API(demo.PhoneTownAdmin), f.env.API(demo.PhoneVillageAdmin)
	var r alliance.Resource
	if st, body := town.JSON("POST", "/api/v1/alliance/resources", map[string]any{"unit_id": unit, "kind": "service", "description": "矩阵义诊",
		"from": f.values["today"], "to": f.values["tomorrow"]}, &r); st != 201 {
		t.Fatalf("fixture: resource: %d %s", st, body)
	}
	f.values["allianceResource"] = fmt.Sprint(r.ID)
	var n alliance.Need
	if st, body := village.JSON("POST", "/api/v1/alliance/needs", map[string]any{"village_id": atoi(f.values["village"]), "kind": "service", "description": "矩阵老人体检",
		"people": 20, "by": f.values["tomorrow"]}, &n); st != 201 {
		t.Fatalf("fixture: need: %d %s", st, body)
	}
	f.values["allianceNeed"] = fmt.Sprint(n.ID)
	var p alliance.Project
	if st, body := town.JSON("POST", "/api/v1/alliance/projects", map[string]any{"need_id": n.ID, "resource_id": r.ID}, &p); st != 201 {
		t.Fatalf("fixture: project: %d %s", st, body)
	}
	f.values["allianceProject"] = fmt.Sprint(p.ID)
}
