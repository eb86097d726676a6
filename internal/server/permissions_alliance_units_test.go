package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/demo"
)

// allianceUnitsMatrix holds 微联盟's rows for the member units, the landing pages and the photos.
// The fixture's {unit} is a member unit of the town. A village's admins read the units and change
// nothing; only the town's alliance staff (here its admin) add, edit, deactivate and give logins.
// A resident reads no unit (404) and opens the staff's pages nowhere (403). No photo of 微联盟
// exists in the fixture: the photo route answers 404 to everyone logged in.
var allianceUnitsMatrix = []perm{
	{"GET /admin/alliance/units", "", "", "LFAAA"},
	{"POST /admin/alliance/units", "", "name=矩阵单位{key}&kind=agency&joined_on=2024-01-01", "LFFFA"},
	{"GET /admin/alliance/units/{id}", "/admin/alliance/units/{unit}", "", "LFAAA"},
	{"POST /admin/alliance/units/{id}", "/admin/alliance/units/{unit}", "name=矩阵单位改名&kind=agency&joined_on=2024-01-01", "LFFFA"},
	{"POST /admin/alliance/units/{id}/accounts", "/admin/alliance/units/{unit}/accounts", "phone={phone}&name=矩阵联络员", "LFFFA"},
	{"GET /api/v1/alliance/units", "", "", "LFAAA"},
	{"POST /api/v1/alliance/units", "", `{"name":"矩阵单位{key}","kind":"agency","joined_on":"2024-01-01"}`, "LFFFA"},
	{"GET /api/v1/alliance/units/{id}", "/api/v1/alliance/units/{unit}", "", "LNAAA"},
	{"POST /api/v1/alliance/units/{id}", "/api/v1/alliance/units/{unit}", `{"name":"矩阵单位改名","kind":"agency","joined_on":"2024-01-01"}`, "LNFFA"},
	{"POST /api/v1/alliance/units/{id}/accounts", "/api/v1/alliance/units/{unit}/accounts", `{"phone":"{phone}","name":"矩阵联络员"}`, "LNFFA"},
	{"POST /api/v1/alliance/units/{id}/active", "/api/v1/alliance/units/{unit}/active", `{"active":true}`, "LNFFA"},
	{"GET /alliance", "", "", "LAAAA"},
	{"GET /admin/alliance", "", "", "LFAAA"},
	{"GET /alliance/photos/{id}", "/alliance/photos/999999", "", "LNNNN"},
}

// allianceUnits makes the fixture's member unit ({unit}).
func (f *matrixFixture) allianceUnits(t *testing.T) {
	var u alliance.Unit
	if st, body := f.env.API(demo.PhoneTownAdmin).JSON("POST", "/api/v1/alliance/units", map[string]any{"name": "矩阵成员单位", "kind": "state_enterprise",
		"liaison_name": "矩阵联系人", "liaison_phone": "010-69540000", "joined_on": "2024-01-01"}, &u); st != 201 {
		t.Fatalf("fixture: unit: %d %s", st, body)
	}
	f.values["unit"] = fmt.Sprint(u.ID)
}
