package auth_test

import (
	"slices"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/errs"
)

// The scopes of the permission tests: town 1 has villages 1 and 2, town 2 has village 3.
var (
	village1 = auth.Scope{TownID: 1, VillageID: 1}
	village2 = auth.Scope{TownID: 1, VillageID: 2}
	village3 = auth.Scope{TownID: 2, VillageID: 3}
	town1    = auth.Scope{TownID: 1}
	town2    = auth.Scope{TownID: 2}
)

func TestCan(t *testing.T) {
	villageAdmin := &auth.Actor{AccountID: 10, TownID: 1, Grants: []auth.Grant{{Role: auth.VillageAdmin, TownID: 1, VillageID: 1}}}
	reviewer := &auth.Actor{AccountID: 11, TownID: 1, Grants: []auth.Grant{{Role: auth.Reviewer, TownID: 1, VillageID: 1}}}
	townAdmin := &auth.Actor{AccountID: 12, TownID: 1, Grants: []auth.Grant{{Role: auth.TownAdmin, TownID: 1}}}
	district := &auth.Actor{AccountID: 13, Grants: []auth.Grant{{Role: auth.DistrictAdmin}}}
	resident := &auth.Actor{AccountID: 14, ResidentID: 42, TownID: 1, Grants: []auth.Grant{{Role: auth.ResidentRole, TownID: 1, VillageID: 1}}}
	office := &auth.Actor{AccountID: 10, TownID: 1, Grants: villageAdmin.Grants, ActingFor: &auth.Person{ID: 77, Name: "王奶奶"}}
	noGrants := &auth.Actor{AccountID: 15}
	unknown := auth.Action("bank.print_money")

	cases := []struct {
		name  string
		actor *auth.Actor
		act   auth.Action
		scope auth.Scope
		want  errs.Code // "" means allowed
	}{
		{"nil actor", nil, auth.ResidentRead, village1, errs.Unauthorized},
		{"nil actor, self", nil, auth.SelfRead, auth.Scope{ResidentID: 42}, errs.Unauthorized},
		{"actor without account", &auth.Actor{Grants: district.Grants}, auth.ResidentRead, village1, errs.Unauthorized},
		{"unknown action, village admin", villageAdmin, unknown, village1, errs.Forbidden},
		{"unknown action, district admin", district, unknown, village1, errs.Forbidden},
		{"no grants", noGrants, auth.ResidentRead, village1, errs.Forbidden},

		{"village admin reads own village", villageAdmin, auth.ResidentRead, village1, ""},
		{"village admin writes own village", villageAdmin, auth.ResidentWrite, village1, ""},
		{"village admin sees IDs in own village", villageAdmin, auth.ResidentViewID, village1, ""},
		{"village admin manages accounts in own village", villageAdmin, auth.AccountManage, village1, ""},
		{"village admin reads village 2", villageAdmin, auth.ResidentRead, village2, errs.Forbidden},
		{"village admin writes village 2", villageAdmin, auth.ResidentWrite, village2, errs.Forbidden},
		{"village admin reads the town as a whole", villageAdmin, auth.ResidentRead, town1, errs.Forbidden},
		{"village admin manages the town", villageAdmin, auth.TownManage, town1, errs.Forbidden},
		{"village admin grants roles", villageAdmin, auth.RoleGrant, town1, errs.Forbidden},
		{"village admin reads the audit log", villageAdmin, auth.AuditRead, town1, errs.Forbidden},
		{"village admin creates a town", villageAdmin, auth.TownCreate, auth.Scope{}, errs.Forbidden},
		{"village admin reads another resident's self", villageAdmin, auth.SelfRead, auth.Scope{TownID: 1, VillageID: 1, ResidentID: 42}, errs.Forbidden},

		{"reviewer reads own village", reviewer, auth.ResidentRead, village1, ""},
		{"reviewer writes", reviewer, auth.ResidentWrite, village1, errs.Forbidden},
		{"reviewer sees IDs", reviewer, auth.ResidentViewID, village1, errs.Forbidden},
		{"reviewer reads village 2", reviewer, auth.ResidentRead, village2, errs.Forbidden},

		{"town admin reads village 1", townAdmin, auth.ResidentRead, village1, ""},
		{"town admin writes village 2", townAdmin, auth.ResidentWrite, village2, ""},
		{"town admin sees IDs", townAdmin, auth.ResidentViewID, village2, ""},
		{"town admin manages town", townAdmin, auth.TownManage, town1, ""},
		{"town admin grants roles", townAdmin, auth.RoleGrant, town1, ""},
		{"town admin reads audit", townAdmin, auth.AuditRead, town1, ""},
		{"town admin imports", townAdmin, auth.ResidentImport, town1, ""},
		{"town admin reads village of town 2", townAdmin, auth.ResidentRead, village3, errs.Forbidden},
		{"town admin writes village of town 2", townAdmin, auth.ResidentWrite, village3, errs.Forbidden},
		{"town admin manages town 2", townAdmin, auth.TownManage, town2, errs.Forbidden},
		{"town admin reads audit of town 2", townAdmin, auth.AuditRead, town2, errs.Forbidden},
		{"town admin grants in town 2", townAdmin, auth.RoleGrant, town2, errs.Forbidden},
		{"town admin with no town in scope", townAdmin, auth.ResidentRead, auth.Scope{}, errs.Forbidden},
		{"town admin creates a town", townAdmin, auth.TownCreate, auth.Scope{}, errs.Forbidden},

		{"district admin creates a town", district, auth.TownCreate, auth.Scope{}, ""},
		{"district admin reads town 2", district, auth.ResidentRead, village3, ""},
		{"district admin writes village 1", district, auth.ResidentWrite, village1, ""},
		{"district admin reads audit", district, auth.AuditRead, town2, ""},
		{"district admin grants", district, auth.RoleGrant, town1, ""},
		{"district admin reads someone's self", district, auth.SelfRead, auth.Scope{ResidentID: 42}, errs.Forbidden},

		{"resident reads self", resident, auth.SelfRead, auth.Scope{TownID: 1, VillageID: 1, ResidentID: 42}, ""},
		{"resident writes self", resident, auth.SelfWrite, auth.Scope{ResidentID: 42}, ""},
		{"resident reads neighbour", resident, auth.SelfRead, auth.Scope{TownID: 1, VillageID: 1, ResidentID: 43}, errs.Forbidden},
		{"resident self without a resident", resident, auth.SelfRead, auth.Scope{}, errs.Forbidden},
		{"resident reads the village", resident, auth.ResidentRead, village1, errs.Forbidden},
		{"resident uses the console", resident, auth.StaffConsoleUse, village1, errs.Forbidden},
		{"resident acts in office mode", resident, auth.OfficeAct, village1, errs.Forbidden},

		{"staff in office mode reads the resident's self", office, auth.SelfRead, auth.Scope{ResidentID: 77}, ""},
		{"staff in office mode writes the resident's self", office, auth.SelfWrite, auth.Scope{ResidentID: 77}, ""},
		{"staff in office mode reads another self", office, auth.SelfRead, auth.Scope{ResidentID: 42}, errs.Forbidden},
		{"staff out of office mode reads the resident's self", villageAdmin, auth.SelfRead, auth.Scope{ResidentID: 77}, errs.Forbidden},
		{"staff in office mode keeps staff rights", office, auth.ResidentRead, village1, ""},
		{"staff acts in office mode in own village", villageAdmin, auth.OfficeAct, village1, ""},
		{"staff acts in office mode in village 2", villageAdmin, auth.OfficeAct, village2, errs.Forbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := auth.Can(c.actor, c.act, c.scope)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Can(%s, %+v) = %v, want allowed", c.act, c.scope, err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != c.want {
				t.Fatalf("Can(%s, %+v) = %v, want %s", c.act, c.scope, err, c.want)
			}
			wantKey := "error.forbidden"
			if c.want == errs.Unauthorized {
				wantKey = "error.unauthorized"
			}
			if e.Key != wantKey || len(e.Fields) != 0 {
				t.Fatalf("Can(%s, %+v) = %+v, want key %s and no fields", c.act, c.scope, e, wantKey)
			}
		})
	}
}

func TestVisible(t *testing.T) {
	cases := []struct {
		name     string
		actor    *auth.Actor
		act      auth.Action
		town     int64
		all      bool
		villages []int64
	}{
		{"nil actor", nil, auth.ResidentRead, 1, false, nil},
		{"district admin", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.DistrictAdmin}}}, auth.ResidentRead, 2, true, nil},
		{"town admin, own town", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.TownAdmin, TownID: 1}}}, auth.ResidentRead, 1, true, nil},
		{"town admin, any town", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.TownAdmin, TownID: 1}}}, auth.ResidentRead, 0, true, nil},
		{"town admin, other town", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.TownAdmin, TownID: 1}}}, auth.ResidentRead, 2, false, nil},
		{"village admin", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.VillageAdmin, TownID: 1, VillageID: 1}}}, auth.ResidentRead, 1, false, []int64{1}},
		{"village admin, other town", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.VillageAdmin, TownID: 1, VillageID: 1}}}, auth.ResidentRead, 2, false, nil},
		{"two villages, deduplicated", &auth.Actor{AccountID: 1, Grants: []auth.Grant{
			{Role: auth.VillageAdmin, TownID: 1, VillageID: 1},
			{Role: auth.Reviewer, TownID: 1, VillageID: 2},
			{Role: auth.Shopkeeper, TownID: 1, VillageID: 1},
			{Role: auth.VillageAdmin, TownID: 2, VillageID: 3},
		}}, auth.ResidentRead, 1, false, []int64{1, 2}},
		{"villages of every town", &auth.Actor{AccountID: 1, Grants: []auth.Grant{
			{Role: auth.VillageAdmin, TownID: 1, VillageID: 1},
			{Role: auth.VillageAdmin, TownID: 2, VillageID: 3},
		}}, auth.ResidentRead, 0, false, []int64{1, 3}},
		{"write leaves out the reviewer's village", &auth.Actor{AccountID: 1, Grants: []auth.Grant{
			{Role: auth.VillageAdmin, TownID: 1, VillageID: 1},
			{Role: auth.Reviewer, TownID: 1, VillageID: 2},
		}}, auth.ResidentWrite, 1, false, []int64{1}},
		{"resident sees no village", &auth.Actor{AccountID: 1, ResidentID: 42, Grants: []auth.Grant{{Role: auth.ResidentRole, TownID: 1, VillageID: 1}}}, auth.ResidentRead, 1, false, nil},
		{"unknown action", &auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.TownAdmin, TownID: 1}}}, "nope", 1, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all, villages := auth.Visible(c.actor, c.act, c.town)
			if all != c.all || !slices.Equal(villages, c.villages) {
				t.Fatalf("Visible(%s, town %d) = %v %v, want %v %v", c.act, c.town, all, villages, c.all, c.villages)
			}
		})
	}
}

func TestTowns(t *testing.T) {
	all, towns := auth.Towns(nil)
	if all || towns != nil {
		t.Fatalf("nil actor: %v %v", all, towns)
	}
	all, towns = auth.Towns(&auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: auth.DistrictAdmin}}})
	if !all || towns != nil {
		t.Fatalf("district admin: %v %v", all, towns)
	}
	all, towns = auth.Towns(&auth.Actor{AccountID: 1, Grants: []auth.Grant{
		{Role: auth.VillageAdmin, TownID: 2, VillageID: 3}, {Role: auth.TownAdmin, TownID: 1}, {Role: auth.Reviewer, TownID: 2, VillageID: 4},
	}})
	if all || !slices.Equal(towns, []int64{2, 1}) {
		t.Fatalf("staff of two towns: %v %v", all, towns)
	}
}

func TestActorHelpers(t *testing.T) {
	var none *auth.Actor
	if none.Has(auth.ResidentRole) || none.IsStaff() || none.Self() != 0 {
		t.Fatal("nil actor has something")
	}
	resident := &auth.Actor{AccountID: 1, ResidentID: 42, Grants: []auth.Grant{{Role: auth.ResidentRole, VillageID: 1}}}
	if !resident.Has(auth.ResidentRole) || resident.Has(auth.VillageAdmin) || resident.IsStaff() || resident.Self() != 42 {
		t.Fatalf("resident: %+v", resident)
	}
	for _, r := range []auth.Role{auth.DistrictAdmin, auth.TownAdmin, auth.VillageAdmin, auth.Reviewer, auth.Judge, auth.Expert} {
		if !(&auth.Actor{AccountID: 1, Grants: []auth.Grant{{Role: r}}}).IsStaff() {
			t.Errorf("%s is not staff", r)
		}
	}
	office := &auth.Actor{AccountID: 2, ResidentID: 5, ActingFor: &auth.Person{ID: 77}}
	if office.Self() != 77 {
		t.Fatalf("office mode Self = %d, want 77", office.Self())
	}
	for _, r := range auth.Roles {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
	}
	if auth.Role("superuser").Valid() {
		t.Error("unknown role valid")
	}
}

// validPhoneRef is an independent statement of the rule: 11 ASCII digits, 1 then 3–9.
func validPhoneRef(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func TestValidPhone(t *testing.T) {
	for s, want := range map[string]bool{
		"13912340001":    true,
		"19912340001":    true,
		"13000000000":    true,
		"12912340001":    false,
		"10912340001":    false,
		"23912340001":    false,
		"1391234000":     false,
		"139123400012":   false,
		"1391234000a":    false,
		"+8613912340001": false,
		"139 1234 0001":  false,
		"13912340001\n":  false,
		" 13912340001":   false,
		"１３９１２３４０００１":    false,
		"":               false,
	} {
		if got := auth.ValidPhone(s); got != want {
			t.Errorf("ValidPhone(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidPhone(f *testing.F) {
	for _, s := range []string{"13912340001", "12912340001", "1391234000", "13912340001\n", "+8613912340001", "１３９１２３４０００１", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := auth.ValidPhone(s), validPhoneRef(s); got != want {
			t.Fatalf("ValidPhone(%q) = %v, want %v", s, got, want)
		}
	})
}
