package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/consult"
	"siwei/internal/demo"
)

// consultMeetingsMatrix holds 微协商's rows for meetings: registrations, opinions, decisions, closing.
// The fixture's {meeting} is a planned open meeting of 前疃村 tomorrow, hosted by its admin, and
// {participant} a department's contact taking part in it. Closing it is refused (it has not
// started) and cancelling only asks, so that it stays planned for every row.
var consultMeetingsMatrix = []perm{
	{"GET /admin/consult/meetings", "", "", "LFAAA"},
	{"GET /admin/consult/meetings/new", "", "", "LFAAA"},
	{"POST /admin/consult/meetings", "", "village_id={village}&level=village&title=矩阵议事会&starts_at={tomorrow}T09:00&ends_at={tomorrow}T11:00&place=村委会&host=矩阵", "LFNAA"},
	{"GET /admin/consult/meetings/{id}", "/admin/consult/meetings/{meeting}", "", "LFNAA"},
	{"POST /admin/consult/meetings/{id}", "/admin/consult/meetings/{meeting}", "title=矩阵改名", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/participants", "/admin/consult/meetings/{meeting}/participants", "kind=cppcc&name=矩阵委员&unit=区政协", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/opinions", "/admin/consult/meetings/{meeting}/opinions", "participant_id={participant}&body=矩阵发言", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/decisions", "/admin/consult/meetings/{meeting}/decisions", "decision=矩阵成果", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/site-notes", "/admin/consult/meetings/{meeting}/site-notes", "site_notes=矩阵踏勘", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/minutes", "/admin/consult/meetings/{meeting}/minutes", "minutes=矩阵纪要", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/checkins", "/admin/consult/meetings/{meeting}/checkins", "participant_ids={participant}", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/close", "/admin/consult/meetings/{meeting}/close", "minutes=矩阵纪要&attendance=3&no_decision=1", "LFNAA"},
	{"POST /admin/consult/meetings/{id}/cancel", "/admin/consult/meetings/{meeting}/cancel", "", "LFNAA"},
	{"GET /consult/meetings", "", "", "LAAAA"},
	{"GET /consult/meetings/{id}", "/consult/meetings/{meeting}", "", "LANAA"},
	{"POST /consult/meetings/{id}/registrations", "/consult/meetings/{meeting}/registrations", "", "LANFF"},
	{"POST /consult/meetings/{id}/registrations/cancel", "/consult/meetings/{meeting}/registrations/cancel", "", "LANFF"},
	{"GET /api/v1/consult/meetings", "", "", "LAAAA"},
	{"POST /api/v1/consult/meetings", "", `{"village_id":{village},"level":"village","title":"矩阵议事会","starts_at":"{tomorrow} 09:00","ends_at":"{tomorrow} 11:00","place":"村委会","host":"矩阵"}`, "LFNAA"},
	{"GET /api/v1/consult/meetings/{id}", "/api/v1/consult/meetings/{meeting}", "", "LANAA"},
	{"POST /api/v1/consult/meetings/{id}/registrations", "/api/v1/consult/meetings/{meeting}/registrations", "", "LANFF"},
	{"POST /api/v1/consult/meetings/{id}/opinions", "/api/v1/consult/meetings/{meeting}/opinions", `{"participant_id":{participant},"body":"矩阵发言"}`, "LFNAA"},
	{"POST /api/v1/consult/meetings/{id}/decisions", "/api/v1/consult/meetings/{meeting}/decisions", `{"body":"矩阵成果"}`, "LFNAA"},
	{"POST /api/v1/consult/meetings/{id}/close", "/api/v1/consult/meetings/{meeting}/close", `{"minutes":"矩阵纪要","attendance":3,"no_decision":true}`, "LFNAA"},
}

// consultMeetings makes the fixture's objects for meetings: a planned open meeting of 前疃村
// tomorrow, hosted by its admin ({meeting}), with a department's contact taking part
// ({participant}).
func (f *matrixFixture) consultMeetings(t *testing.T) {
	admin := f.env.API(demo.PhoneVillageAdmin)
	var m consult.MeetingDetail
	day := f.values["tomorrow"]
	if st, body := admin.JSON("POST", "/api/v1/consult/meetings", map[string]any{"village_id": atoi(f.values["village"]), "level": "village", "title": "矩阵议事会",
		"starts_at": day + " 09:00", "ends_at": day + " 11:00", "place": "村委会", "host": "王主任", "open": true, "capacity": 50}, &m); st != 201 {
		t.Fatalf("fixture: meeting: %d %s", st, body)
	}
	f.values["meeting"] = fmt.Sprint(m.ID)
	actor, err := f.env.Sys.Auth.Authenticate(t.Context(), admin.Token)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	p, err := f.env.Sys.Consult.AddParticipant(t.Context(), actor, m.ID, consult.ParticipantInput{Kind: "department", Name: "矩阵科长", Unit: "区交通局", Phone: "01080000000"})
	if err != nil {
		t.Fatalf("fixture: participant: %v", err)
	}
	f.values["participant"] = fmt.Sprint(p.ID)
}
