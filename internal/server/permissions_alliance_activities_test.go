package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/demo"
)

// allianceActivitiesMatrix holds 微联盟's rows for activities. The fixture's {activity} is a
// planned activity for 前疃村 tomorrow with ten seats, organised by the member unit {aaUnit}.
// Closing is refused (it has not started) or only asks, cancelling only asks or lacks its reason,
// and check-ins are refused as too early, so that it stays planned for every row.
var allianceActivitiesMatrix = []perm{
	{"GET /admin/alliance/activities", "", "", "LFAAA"},
	{"GET /admin/alliance/activities/new", "", "", "LFFFA"},
	{"POST /admin/alliance/activities", "", "kind=service_day&title=矩阵活动&starts_at={tomorrow}T09:00&ends_at={tomorrow}T11:00&place=村委会&unit_ids={aaUnit}&village_ids={village}", "LFFFA"},
	{"GET /admin/alliance/activities/{id}", "/admin/alliance/activities/{activity}", "", "LFNAA"},
	{"POST /admin/alliance/activities/{id}", "/admin/alliance/activities/{activity}", "title=矩阵改名", "LFNFA"},
	{"POST /admin/alliance/activities/{id}/checkins", "/admin/alliance/activities/{activity}/checkins", "resident_ids={neighbour}", "LFNAA"},
	{"POST /admin/alliance/activities/{id}/close", "/admin/alliance/activities/{activity}/close", "served=3&served_method=现场计数", "LFNAA"},
	{"POST /admin/alliance/activities/{id}/cancel", "/admin/alliance/activities/{activity}/cancel", "", "LFNFA"},
	{"POST /admin/alliance/activities/{id}/photos", "/admin/alliance/activities/{activity}/photos", "", "LFNAA"},
	{"GET /alliance/activities", "", "", "LAAAA"},
	{"GET /alliance/activities/{id}", "/alliance/activities/{activity}", "", "LANAA"},
	{"POST /alliance/activities/{id}/registrations", "/alliance/activities/{activity}/registrations", "", "LANFF"},
	{"POST /alliance/activities/{id}/registrations/cancel", "/alliance/activities/{activity}/registrations/cancel", "", "LANFF"},
	{"POST /alliance/activities/{id}/checkins", "/alliance/activities/{activity}/checkins", "token=AQ1.1.1.x", "LANFF"},
	{"GET /api/v1/alliance/activities", "", "", "LAAAA"},
	{"POST /api/v1/alliance/activities", "", `{"kind":"service_day","title":"矩阵活动","starts_at":"{tomorrow} 09:00","ends_at":"{tomorrow} 11:00","place":"村委会","unit_ids":[{aaUnit}],"village_ids":[{village}]}`, "LFFFA"},
	{"GET /api/v1/alliance/activities/person-times", "", "", "LFAAA"},
	{"GET /api/v1/alliance/activities/{id}", "/api/v1/alliance/activities/{activity}", "", "LANAA"},
	{"POST /api/v1/alliance/activities/{id}", "/api/v1/alliance/activities/{activity}", `{"title":"矩阵改名"}`, "LFNFA"},
	{"POST /api/v1/alliance/activities/{id}/checkins", "/api/v1/alliance/activities/{activity}/checkins", `{"resident_ids":[{neighbour}]}`, "LFNAA"},
	{"POST /api/v1/alliance/activities/{id}/registrations", "/api/v1/alliance/activities/{activity}/registrations", "", "LANFF"},
	{"POST /api/v1/alliance/activities/{id}/close", "/api/v1/alliance/activities/{activity}/close", `{"served":3,"served_method":"现场计数"}`, "LFNAA"},
	{"POST /api/v1/alliance/activities/{id}/cancel", "/api/v1/alliance/activities/{activity}/cancel", `{"reason":""}`, "LFNFA"},
}

// allianceActivities makes the fixture's objects for activities: a member unit ({aaUnit}) and a
// planned activity it organises for 前疃村 tomorrow with ten seats ({activity}).
func (f *matrixFixture) allianceActivities(t *testing.T) {
	town := f.env.API(demo.PhoneTownAdmin)
	actor, err := f.env.Sys.Auth.Authenticate(t.Context(), town.Token)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	u, err := f.env.Sys.Alliance.SaveUnit(t.Context(), actor, 0, alliance.UnitInput{Name: "矩阵活动单位", Kind: "agency", JoinedOn: f.values["today"]})
	if err != nil {
		t.Fatalf("fixture: unit: %v", err)
	}
	f.values["aaUnit"] = fmt.Sprint(u.ID)
	day := f.values["tomorrow"]
	var d alliance.ActivityDetail
	if st, body := town.JSON("POST", "/api/v1/alliance/activities", map[string]any{"kind": "service_day", "title": "矩阵便民服务日", "place": "村委会",
		"starts_at": day + " 09:00", "ends_at": day + " 11:00", "capacity": 10, "unit_ids": []int64{u.ID}, "village_ids": []int64{atoi(f.values["village"])}}, &d); st != 201 {
		t.Fatalf("fixture: activity: %d %s", st, body)
	}
	f.values["activity"] = fmt.Sprint(d.ID)
}
