package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/honours"
)

// honoursContestsMatrix holds the public side's rows for the contests judged by panels. The
// fixture's {contest} is an 一米微花园 contest of the town in its village round, with the
// neighbour's household entered by 前疃村's admin ({contestEntry}). The town's admin runs
// contests; a village's admins read them and enter their own village's households (another
// village's resident is hidden, 404); a resident reads them and enters their own household. No
// caller is a judge: the judge's pages and scoring refuse everyone (403), and the sealed scores
// are read by the town's admin only (none before the round closes).
var honoursContestsMatrix = []perm{
	{"GET /admin/honours/contests", "", "", "LFAAA"},
	{"POST /admin/honours/contests", "", "title=矩阵评比&kind=garden&scale=10&advance=3&winners=5&rule_code=clean&criterion_name=整洁&criterion_weight=10", "LFFFA"},
	{"GET /admin/honours/contests/{id}", "/admin/honours/contests/{contest}", "", "LFAAA"},
	{"POST /admin/honours/contests/{id}/judges", "/admin/honours/contests/{contest}/judges", "phone=13900000099&capacity=volunteer&round=village", "LFFFA"},
	{"POST /admin/honours/contests/{id}/entries", "/admin/honours/contests/{contest}/entries", "resident_id={neighbour}&note=矩阵", "LFNAA"},
	{"POST /admin/honours/contests/{id}/close", "/admin/honours/contests/{contest}/close", "", "LFFFA"},
	{"GET /admin/honours/contests/{id}/certificates", "/admin/honours/contests/{contest}/certificates", "", "LFFFA"},
	{"GET /admin/judging", "", "", "LFFFF"},
	{"GET /admin/judging/{id}", "/admin/judging/{contestEntry}", "", "LFFFF"},
	{"POST /admin/judging/{id}", "/admin/judging/{contestEntry}", "note=矩阵", "LFFFF"},
	{"GET /honours/contests", "", "", "LAAAA"},
	{"GET /honours/contests/{id}", "/honours/contests/{contest}", "", "LAAAA"},
	{"POST /honours/contests/{id}/entries", "/honours/contests/{contest}/entries", "note=矩阵", "LAFFF"},
	{"GET /api/v1/contests", "", "", "LAAAA"},
	{"POST /api/v1/contests", "", `{"title":"矩阵评比","kind":"garden","scale":10,"advance":3,"winners":5,"rule_code":"clean","criteria":[{"name":"整洁","weight":10}]}`, "LFFFA"},
	{"GET /api/v1/contests/{id}", "/api/v1/contests/{contest}", "", "LAAAA"},
	{"GET /api/v1/contests/{id}/panel", "/api/v1/contests/{contest}/panel", "", "LFFFA"},
	{"POST /api/v1/contests/{id}/judges", "/api/v1/contests/{contest}/judges", `{"phone":"13900000099","capacity":"volunteer","round":"village"}`, "LFFFA"},
	{"GET /api/v1/contests/{id}/entries", "/api/v1/contests/{contest}/entries", "", "LAAAA"},
	{"POST /api/v1/contests/{id}/entries", "/api/v1/contests/{contest}/entries", `{"resident_id":{neighbour},"note":"矩阵"}`, "LFNAA"},
	{"GET /api/v1/contests/{id}/scores", "/api/v1/contests/{contest}/scores", "", "LFFFA"},
	{"POST /api/v1/contests/{id}/scores", "/api/v1/contests/{contest}/scores", `{"entry_id":{contestEntry},"marks":[]}`, "LFFFF"},
	{"POST /api/v1/contests/{id}/close", "/api/v1/contests/{contest}/close", `{"reason":""}`, "LFFFA"},
}

// honoursContests makes the fixture's contest ({contest}) and the neighbour's entry in it
// ({contestEntry}).
func (f *matrixFixture) honoursContests(t *testing.T) {
	var c honours.Contest
	if st, body := f.env.API(demo.PhoneTownAdmin).JSON("POST", "/api/v1/contests", map[string]any{"title": "矩阵一米微花园", "kind": "garden", "scale": 10, "advance": 2, "winners": 3,
		"rule_code": "clean", "criteria": []map[string]any{{"name": "整洁", "weight": 50}, {"name": "绿化", "weight": 50}}}, &c); st != 201 {
		t.Fatalf("fixture: contest: %d %s", st, body)
	}
	f.values["contest"] = fmt.Sprint(c.ID)
	var e honours.Entry
	if st, body := f.env.API(demo.PhoneVillageAdmin).JSON("POST", fmt.Sprintf("/api/v1/contests/%d/entries", c.ID), map[string]any{"resident_id": atoi(f.values["neighbour"])}, &e); st != 201 {
		t.Fatalf("fixture: contest entry: %d %s", st, body)
	}
	f.values["contestEntry"] = fmt.Sprint(e.ID)
}
