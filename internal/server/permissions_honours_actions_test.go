package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/honours"
)

// honoursActionsMatrix holds the public side's rows for the town's featured and brand actions and
// the year's calendar. The fixture's {hAction} is an action of this month ({hMonth}) for 前疃村
// only, taken part in every way and paying nothing, and {hDeed} a deed {neighbour} reported for
// it, waiting for review. 东堡村's admin sees neither (404); a resident of 前疃村 sees the action
// and takes part, and reviews nothing (403).
var honoursActionsMatrix = []perm{
	{"GET /admin/honours/actions", "", "", "LFAAA"},
	{"GET /admin/honours/actions/new", "", "", "LFFFA"},
	{"POST /admin/honours/actions", "", "kind=featured&title=矩阵行动&month={hMonth}&all_villages=1&ways=attend", "LFFFA"},
	{"GET /admin/honours/actions/{id}", "/admin/honours/actions/{hAction}", "", "LFNAA"},
	{"POST /admin/honours/actions/{id}", "/admin/honours/actions/{hAction}", "title=矩阵改名", "LFNFA"},
	{"POST /admin/honours/actions/{id}/checkins", "/admin/honours/actions/{hAction}/checkins", "resident_ids={neighbour}", "LFNAA"},
	{"POST /admin/honours/actions/{id}/contributions", "/admin/honours/actions/{hAction}/contributions", "resident_id={neighbour}&amount=2", "LFNAA"},
	{"POST /admin/honours/actions/{id}/deeds/{deed}", "/admin/honours/actions/{hAction}/deeds/{hDeed}", "decision=approve", "LFNAA"},
	{"GET /admin/honours/calendar", "", "", "LFAAA"},
	{"GET /honours/actions", "", "", "LAAAA"},
	{"GET /honours/actions/{id}", "/honours/actions/{hAction}", "", "LANAA"},
	{"POST /honours/actions/{id}/registrations", "/honours/actions/{hAction}/registrations", "", "LANFF"},
	{"POST /honours/actions/{id}/deeds", "/honours/actions/{hAction}/deeds", "story=扫院子&happened_on={today}", "LANFF"},
	{"GET /honours/calendar", "", "", "LAAAA"},
	{"GET /api/v1/actions", "", "", "LAAAA"},
	{"POST /api/v1/actions", "", `{"kind":"featured","title":"矩阵行动","month":"{hMonth}","all_villages":true,"ways":["attend"]}`, "LFFFA"},
	{"GET /api/v1/actions/{id}", "/api/v1/actions/{hAction}", "", "LANAA"},
	{"POST /api/v1/actions/{id}", "/api/v1/actions/{hAction}", `{"title":"矩阵改名"}`, "LFNFA"},
	{"GET /api/v1/actions/{id}/participations", "/api/v1/actions/{hAction}/participations", "", "LANAA"},
	{"POST /api/v1/actions/{id}/participations", "/api/v1/actions/{hAction}/participations", `{"way":"register"}`, "LANFF"},
	{"POST /api/v1/actions/{id}/deeds/{deed}", "/api/v1/actions/{hAction}/deeds/{hDeed}", `{"approve":true}`, "LFNAA"},
	{"GET /api/v1/honours/calendar", "", "", "LAAAA"},
}

// honoursActions makes the fixture's objects for actions: an action of this month for 前疃村 that
// takes every way and pays nothing ({hAction}, {hMonth}), and a deed of {neighbour} to review
// ({hDeed}).
func (f *matrixFixture) honoursActions(t *testing.T) {
	town := f.env.API(demo.PhoneTownAdmin)
	month := f.values["today"][:7]
	f.values["hMonth"] = month
	var d honours.ActionDetail
	if st, body := town.JSON("POST", "/api/v1/actions", map[string]any{"kind": "featured", "title": "矩阵扫院擦窗", "month": month,
		"village_ids": []int64{atoi(f.values["village"])}, "ways": honours.ActionWays, "unit": "次"}, &d); st != 201 {
		t.Fatalf("fixture: action: %d %s", st, body)
	}
	f.values["hAction"] = fmt.Sprint(d.ID)
	var deed int64
	if err := f.env.Sys.DB.Write().QueryRowContext(t.Context(), `INSERT INTO honours_action_deeds (action_id, village_id, resident_id, story, happened_on, consent, created_at)
		SELECT $1, village_id, id, '帮独居老人擦窗', $2, TRUE, CURRENT_TIMESTAMP FROM residents WHERE id = $3 RETURNING id`, d.ID, f.values["today"], atoi(f.values["neighbour"])).Scan(&deed); err != nil {
		t.Fatalf("fixture: deed: %v", err)
	}
	f.values["hDeed"] = fmt.Sprint(deed)
}
