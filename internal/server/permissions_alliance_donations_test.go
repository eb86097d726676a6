package server_test

import (
	"fmt"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/demo"
)

// allianceDonationsMatrix holds 微联盟's rows for donations. The fixture's {donation} is a
// person's gift of 100 books, of which {donationAlloc} is 前疃村's share of 50 ({donationItem} the
// books); 东堡村 has no share, so its admin does not see the donation at all.
var allianceDonationsMatrix = []perm{
	{"GET /admin/alliance/donations", "", "", "LFAAA"},
	{"POST /admin/alliance/donations", "", "donor_name=矩阵捐赠人&donated_on={today}&money_yuan=1", "LFFFA"},
	{"GET /admin/alliance/donations/{id}", "/admin/alliance/donations/{donation}", "", "LFNAA"},
	{"GET /admin/alliance/donations/{id}/receipt", "/admin/alliance/donations/{donation}/receipt", "", "LFNNA"},
	{"POST /admin/alliance/donations/{id}/allocations", "/admin/alliance/donations/{donation}/allocations", "item_id={donationItem}&village_id={village}&quantity=1", "LFFFA"},
	{"POST /admin/alliance/donations/{id}/handovers", "/admin/alliance/donations/{donation}/handovers", "allocation_id={donationAlloc}&resident_id={neighbour}&quantity=1&confirmed=1", "LFNAA"},
	{"GET /alliance/donations", "", "", "LAFFF"},
	{"GET /api/v1/alliance/donations", "", "", "LFAAA"},
	{"POST /api/v1/alliance/donations", "", `{"donor_name":"矩阵捐赠人","donated_on":"{today}","money_yuan":1}`, "LFFFA"},
	{"GET /api/v1/alliance/donations/{id}", "/api/v1/alliance/donations/{donation}", "", "LNNAA"},
	{"POST /api/v1/alliance/donations/{id}/allocations", "/api/v1/alliance/donations/{donation}/allocations", `{"item_id":{donationItem},"village_id":{village},"quantity":1}`, "LFFFA"},
	{"POST /api/v1/alliance/donations/{id}/handovers", "/api/v1/alliance/donations/{donation}/handovers", `{"allocation_id":{donationAlloc},"resident_id":{neighbour},"quantity":1,"confirmed":true}`, "LFNAA"},
}

// allianceDonations makes the fixture's objects for donations: a person's 100 books
// ({donation}, {donationItem}), 50 of them allocated to 前疃村 ({donationAlloc}).
func (f *matrixFixture) allianceDonations(t *testing.T) {
	town := f.env.API(demo.PhoneTownAdmin)
	var d alliance.DonationDetail
	if st, body := town.JSON("POST", "/api/v1/alliance/donations", map[string]any{"donor_name": "矩阵爱心人士", "donated_on": f.values["today"],
		"items": []map[string]any{{"name": "图书", "measure": "本", "quantity": 100}}}, &d); st != 201 {
		t.Fatalf("fixture: donation: %d %s", st, body)
	}
	var a alliance.Allocation
	if st, body := town.JSON("POST", fmt.Sprintf("/api/v1/alliance/donations/%d/allocations", d.ID), map[string]any{"item_id": d.Items[0].ID,
		"village_id": atoi(f.values["village"]), "quantity": 50}, &a); st != 201 {
		t.Fatalf("fixture: allocation: %d %s", st, body)
	}
	f.values["donation"] = fmt.Sprint(d.ID)
	f.values["donationItem"] = fmt.Sprint(d.Items[0].ID)
	f.values["donationAlloc"] = fmt.Sprint(a.ID)
}
