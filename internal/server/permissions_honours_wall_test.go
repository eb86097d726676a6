package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/honours"
)

// honoursWallMatrix holds the public side's rows for nominations and the 名录墙. The fixture's
// {nomination} is 前疃村's admin's nomination of the party member, waiting for their consent: the
// resident caller is neither its nominator nor its nominee (404), 东堡村's admin is elsewhere
// (404), and staff may not answer for the nominee (403). {honoursCategory} is a category of the
// town the fixture has no nomination in. The wall is public.
var honoursWallMatrix = []perm{
	{"GET /honours/nominate", "/honours/nominate?q=王", "", "LAAAA"},
	{"POST /honours/nominate", "", "resident_id={neighbour}&category_id={honoursCategory}&story=矩阵事迹", "LANAA"},
	{"GET /honours/nominations", "", "", "LAAAA"},
	{"GET /honours/nominations/{id}", "/honours/nominations/{nomination}", "", "LNNAA"},
	{"POST /honours/nominations/{id}/consent", "/honours/nominations/{nomination}/consent", "consent=1", "LNNFF"},
	{"GET /admin/honours/nominations", "", "", "LFAAA"},
	{"POST /admin/honours/nominations/{id}/admit", "/admin/honours/nominations/{nomination}/admit", "", "LFNAA"},
	{"POST /admin/honours/nominations/{id}/decline", "/admin/honours/nominations/{nomination}/decline", "confirmed=1&reason=矩阵", "LFNAA"},
	{"GET /api/v1/honours/nominations", "", "", "LAAAA"},
	{"POST /api/v1/honours/nominations", "", `{"resident_id":{neighbour},"category_id":{honoursCategory},"story":"矩阵事迹"}`, "LANAA"},
	{"GET /api/v1/honours/nominations/{id}", "/api/v1/honours/nominations/{nomination}", "", "LNNAA"},
	{"POST /api/v1/honours/nominations/{id}/consent", "/api/v1/honours/nominations/{nomination}/consent", `{"consent":true}`, "LNNFF"},
	{"POST /api/v1/honours/nominations/{id}/admit", "/api/v1/honours/nominations/{nomination}/admit", "", "LNNAA"},
	{"POST /api/v1/honours/nominations/{id}/decline", "/api/v1/honours/nominations/{nomination}/decline", `{"reason":"矩阵"}`, "LNNAA"},
	{"GET /api/v1/honours/nominees", "/api/v1/honours/nominees?q=王", "", "LAAAA"},

	{"GET /wall/{town}", "/wall/" + demo.TownCode, "", "AAAAA"},
	{"GET /wall/{town}/{village}", "/wall/" + demo.TownCode + "/001", "", "AAAAA"},
	{"GET /honours/wall", "", "", "LAAAA"},
	{"GET /admin/honours/wall", "", "", "LFAAA"},
	{"POST /admin/honours/wall", "", "year=2021&village_id={village}&name=矩阵&category_id={honoursCategory}", "LFFFA"},
	{"GET /admin/honours/wall.xlsx", "/admin/honours/wall.xlsx?year=2021", "", "LFAAA"},
	{"GET /admin/honours/wall/certificates", "/admin/honours/wall/certificates?year=2021", "", "LFAAA"},
	{"GET /api/v1/honours/wall", "/api/v1/honours/wall?town_id={honoursTown}", "", "AAAAA"},
	{"POST /api/v1/honours/wall", "", `{"year":2021,"village_id":{village},"name":"矩阵","category_id":{honoursCategory}}`, "LFFFA"},
}

// honoursWall makes the fixture's objects for nominations: 前疃村's admin nominates the party
// member ({nomination}, consent asked) in the town's first category.
func (f *matrixFixture) honoursWall(t *testing.T) {
	village := f.env.API(demo.PhoneVillageAdmin)
	var wall honours.WallPage
	if st, body := village.JSON("GET", fmt.Sprintf("/api/v1/honours/wall?town_id=%d", f.env.Info.TownID), nil, &wall); st != 200 || len(wall.Categories) < 2 {
		t.Fatalf("fixture: wall: %d %s", st, body)
	}
	var x honours.Nomination
	if st, body := village.JSON("POST", "/api/v1/honours/nominations", map[string]any{"resident_id": atoi(f.values["neighbour"]), "category_id": wall.Categories[0].ID,
		"story": "帮邻居修好了院墙"}, &x); st != 201 {
		t.Fatalf("fixture: nomination: %d %s", st, body)
	}
	f.values["nomination"] = fmt.Sprint(x.ID)
	f.values["honoursCategory"] = fmt.Sprint(wall.Categories[1].ID)
	f.values["honoursTown"] = fmt.Sprint(f.env.Info.TownID)
}
