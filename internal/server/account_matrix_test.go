package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// The account routes' permission matrix: the permission matrix above calls every route against
// one 前疃村 object; here the account routes (list, create, grant, revoke, reset, office mode) are
// called by staff of two villages and two towns, a district admin, a reviewer and a resident,
// against accounts of every kind. The rule under test (issue 11, item 1): staff reach an account
// only when every grant it holds and its resident record lie within their scope, and out of scope
// is as missing as an account that does not exist (404). A 403 depends only on who asks.
//
// Each string holds one letter per caller, in the order of accountCallers, with the letters of
// the permission matrix (A allowed, F forbidden, N hidden). In list, Y is "listed", - "not listed".

// accountCallers are the callers, in the order of a row's letters.
var accountCallers = []struct{ who, phone string }{
	{"前疃村 resident", demo.PhoneResident},
	{"前疃村 admin", demo.PhoneVillageAdmin},
	{"东堡村 admin", demo.PhoneVillageAdmin2},
	{"潞城镇 admin", demo.PhoneTownAdmin},
	{"前疃村 reviewer", phoneReviewer},
	{"西集镇 admin", demo.PhoneTownAdmin2},
	{"西集村 admin", demo.PhoneVillageAdmin3},
	{"district admin", demo.PhoneDistrictAdmin},
}

// phoneReviewer is the one caller the demo does not have: staff without account.manage.
const phoneReviewer = "13900000030"

// accountTarget is an account of one kind: its grants (role@place, place one of 前疃村 东堡村
// 西集村 潞城镇 西集镇, or nothing for a district admin) and where its resident record is ("" for
// none); then what each caller gets. Revoke removes a copy of the first grant; office acts for
// the resident record.
type accountTarget struct {
	name   string
	grants []string
	record string
	list   string
	reset  string
	grant  string
	revoke string
	office string
}

// callers:                 R Q D T V X J Z
// (resident, 前疃村 admin, 东堡村 admin, 潞城镇 admin, reviewer, 西集镇 admin, 西集村 admin, district)
var accountTargets = []accountTarget{
	{"潞城镇管理员乙", []string{"town_admin@潞城镇"}, "",
		"F--YF--Y", "FNNAFNNA", "FNNAFNNA", "FNNAFNNA", ""},
	{"前疃村管理员乙", []string{"village_admin@前疃村"}, "",
		"FY-YF--Y", "FFNAFNNA", "FANAFNNA", "FFNAFNNA", ""},
	{"东堡村管理员乙", []string{"village_admin@东堡村"}, "",
		"F-YYF--Y", "FNFAFNNA", "FNAAFNNA", "FNFAFNNA", ""},
	{"前疃村有档案", []string{"resident@前疃村"}, "前疃村",
		"FY-YF--Y", "FANAFNNA", "FANAFNNA", "FANAFNNA", "FANAANNA"},
	{"前疃村无档案", []string{"resident@前疃村"}, "",
		"FY-YF--Y", "FANAFNNA", "FANAFNNA", "FANAFNNA", ""},
	{"前疃村审核员乙", []string{"reviewer@前疃村"}, "",
		"FY-YF--Y", "FFNAFNNA", "FANAFNNA", "FFNAFNNA", ""},
	{"前疃村店员兼队长", []string{"shopkeeper@前疃村", "team_leader@前疃村"}, "",
		"FY-YF--Y", "FFNAFNNA", "FANAFNNA", "FFNAFNNA", ""},
	{"东堡村有档案", []string{"resident@东堡村"}, "东堡村",
		"F-YYF--Y", "FNAAFNNA", "FNAAFNNA", "FNAAFNNA", "FNAANNNA"},
	{"两村角色", []string{"resident@前疃村", "resident@东堡村"}, "前疃村",
		"F--YF--Y", "FNNAFNNA", "FNNAFNNA", "FNNAFNNA", "FANAANNA"},
	{"角色前疃户在东堡", []string{"resident@前疃村"}, "东堡村",
		"F--YF--Y", "FNNAFNNA", "FNNAFNNA", "FNNAFNNA", "FNAANNNA"},
	{"镇专家乙", []string{"expert@潞城镇"}, "",
		"F--YF--Y", "FNNAFNNA", "FNNAFNNA", "FNNAFNNA", ""},
	{"两镇角色", []string{"resident@前疃村", "resident@西集村"}, "",
		"F---F--Y", "FNNNFNNA", "FNNNFNNA", "FNNNFNNA", ""},
	{"西集镇管理员乙", []string{"town_admin@西集镇"}, "",
		"F---FY-Y", "FNNNFANA", "FNNNFANA", "FNNNFANA", ""},
	{"西集村有档案", []string{"resident@西集村"}, "西集村",
		"F---FYYY", "FNNNFAAA", "FNNNFAAA", "FNNNFAAA", "FNNNNAAA"},
	{"区级管理员乙", []string{"district_admin"}, "",
		"F---F--Y", "FNNNFNNA", "FNNNFNNA", "FNNNFNNA", ""},
	{"无角色无档案", nil, "",
		"F---F--Y", "FNNNFNNA", "FNNNFNNA", "", ""},
}

// accountCreates are the creations tried by every caller: role@place, then what each gets.
var accountCreates = []struct{ grant, want string }{
	{"resident@前疃村", "FANAFNNA"},
	{"resident@东堡村", "FNAAFNNA"},
	{"resident@西集村", "FNNNFAAA"},
	{"resident@missing", "FNNNFNNN"},
	{"village_admin@前疃村", "FFFAFNFA"},
	{"reviewer@西集村", "FFFNFAFA"},
	{"district_admin", "FFFFFFFA"},
}

// accountHome is the village each caller grants a resident role in: their own, or 前疃村.
var accountHome = []string{"前疃村", "前疃村", "东堡村", "前疃村", "前疃村", "西集村", "西集村", "前疃村"}

func TestAccountMatrix(t *testing.T) {
	for _, tg := range accountTargets {
		for _, s := range []string{tg.list, tg.reset, tg.grant, tg.revoke, tg.office} {
			if s != "" && len(s) != len(accountCallers) {
				t.Fatalf("%s: %q must have %d letters", tg.name, s, len(accountCallers))
			}
		}
		if (tg.office != "") != (tg.record != "") || (tg.revoke != "") != (len(tg.grants) > 0) {
			t.Fatalf("%s: office letters go with a record, revoke letters with a grant", tg.name)
		}
	}
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		m := newAccountMatrix(t, env)
		callers := make([]*caller, len(accountCallers))
		for i, c := range accountCallers {
			callers[i] = login(t, env, c.phone, false)
		}
		post := func(c *caller, path string, form url.Values) (int, string, string) {
			req, _ := http.NewRequest("POST", env.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return c.do(t, req)
		}
		check := func(what string, i int, want byte, status int, loc, body string) {
			t.Helper()
			if got := classify(status, loc); got != want {
				t.Errorf("%s as %s: %s, want %s (%d %s %.200s)", what, accountCallers[i].who, describe(got), describe(want), status, loc, body)
			}
		}
		for _, tg := range accountTargets {
			id := m.targets[tg.name]
			phone := m.phoneOf(t, id)
			for i, c := range callers {
				// List: search for the phone, and look for the name (the search box repeats the phone).
				req, _ := http.NewRequest("GET", env.URL+"/admin/accounts?q="+phone, nil)
				status, loc, body := c.do(t, req)
				got := classify(status, loc)
				if got == 'A' {
					got = '-'
					if strings.Contains(body, tg.name) {
						got = 'Y'
					}
				}
				if got != tg.list[i] {
					t.Errorf("list %s as %s: got %c, want %c (%d)", tg.name, accountCallers[i].who, got, tg.list[i], status)
				}

				// Reset: a refusal leaves the password as it was.
				hash := passwordHash(t, d, id)
				status, loc, body = post(c, fmt.Sprintf("/admin/accounts/%d/reset", id), nil)
				check("reset "+tg.name, i, tg.reset[i], status, loc, body)
				if tg.reset[i] != 'A' && passwordHash(t, d, id) != hash {
					t.Errorf("reset %s as %s: refused, but the password changed", tg.name, accountCallers[i].who)
				}

				// Grant a resident role in the caller's village; an allowed one is taken back.
				before := m.maxGrant(t, id)
				status, loc, body = post(c, fmt.Sprintf("/admin/accounts/%d/grants", id), url.Values{"role": {"resident"},
					"village_id": {fmt.Sprint(m.villages[accountHome[i]])}})
				check("grant to "+tg.name, i, tg.grant[i], status, loc, body)
				if added := m.dropGrantsAfter(t, id, before); (tg.grant[i] == 'A') != (added == 1) {
					t.Errorf("grant to %s as %s: %d grants stored", tg.name, accountCallers[i].who, added)
				}

				// Revoke a copy of the first grant.
				if tg.revoke != "" {
					g := m.copyFirstGrant(t, id)
					status, loc, body = post(c, fmt.Sprintf("/admin/grants/%d/delete", g), nil)
					check("revoke from "+tg.name, i, tg.revoke[i], status, loc, body)
					if gone := m.dropGrant(t, g); gone != (tg.revoke[i] == 'A') {
						t.Errorf("revoke from %s as %s: revoked %v", tg.name, accountCallers[i].who, gone)
					}
				}

				// Office mode for the resident record; an allowed one is left at once.
				if tg.office != "" {
					status, loc, body = post(c, fmt.Sprintf("/admin/office/%d", m.records[tg.name]), nil)
					check("office for "+tg.name, i, tg.office[i], status, loc, body)
					if got := classify(status, loc); got == 'A' {
						if st, loc, _ := post(c, "/admin/office/end", nil); st != http.StatusSeeOther || strings.HasPrefix(loc, "/login") {
							t.Fatalf("office end as %s: %d %s", accountCallers[i].who, st, loc)
						}
					}
				}
			}
		}
		for _, cr := range accountCreates {
			for i, c := range callers {
				role, place, _ := strings.Cut(cr.grant, "@")
				village := "999999"
				if place != "missing" && place != "" {
					village = fmt.Sprint(m.villages[place])
				}
				phone := m.nextPhone()
				status, loc, body := post(c, "/admin/accounts", url.Values{"phone": {phone}, "name": {"矩阵新账号"}, "role": {role}, "village_id": {village}})
				check("create "+cr.grant, i, cr.want[i], status, loc, body)
				var n int
				d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM accounts WHERE phone = $1`, phone).Scan(&n)
				if (n == 1) != (cr.want[i] == 'A') {
					t.Errorf("create %s as %s: %d accounts stored", cr.grant, accountCallers[i].who, n)
				}
			}
		}
	})
}

// accountMatrix holds the targets' account ids and resident records, and the villages by name.
type accountMatrix struct {
	d        *db.DB
	villages map[string]int64
	towns    map[string]int64
	targets  map[string]int64
	records  map[string]int64
	phones   int
}

func newAccountMatrix(t *testing.T, env *servertest.Env) *accountMatrix {
	t.Helper()
	ctx, d := context.Background(), env.Sys.DB
	m := &accountMatrix{d: d, villages: map[string]int64{}, towns: map[string]int64{"潞城镇": env.Info.TownID, "西集镇": env.Info.SecondTownID},
		targets: map[string]int64{}, records: map[string]int64{}}
	if env.Info.SecondTownID == 0 {
		t.Fatal("the demo has no second town")
	}
	for _, v := range []string{"前疃村", "东堡村", "西集村"} {
		m.villages[v] = villageID(t, d, v)
	}
	// Residents without a login, to tie the targets' accounts to.
	free := func(village string) int64 {
		return idOf(t, d, `SELECT r.id FROM residents r WHERE r.village_id = $1 AND r.status = 'active'
			AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.resident_id = r.id) ORDER BY r.id LIMIT 1`, m.villages[village])
	}
	hash := auth.HashPassword(demo.DemoPassword)
	add := func(tx *sql.Tx, phone, name string, record int64, grants []string) int64 {
		id, err := env.Sys.Auth.InsertAccount(ctx, tx, phone, name, record, hash, false)
		if err != nil {
			t.Fatalf("account %s: %v", name, err)
		}
		for _, g := range grants {
			if err := env.Sys.Auth.InsertGrant(ctx, tx, id, m.grant(g)); err != nil {
				t.Fatalf("grant %s: %v", g, err)
			}
		}
		return id
	}
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		add(tx, phoneReviewer, "前疃村审核员", 0, []string{"reviewer@前疃村"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range accountTargets {
		var record int64
		if tg.record != "" {
			record = free(tg.record) // one at a time: each takes the next free resident
		}
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			m.targets[tg.name] = add(tx, m.nextPhone(), tg.name, record, tg.grants)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		m.records[tg.name] = record
	}
	return m
}

// grant reads role@place.
func (m *accountMatrix) grant(s string) auth.Grant {
	role, place, _ := strings.Cut(s, "@")
	g := auth.Grant{Role: auth.Role(role)}
	if v, ok := m.villages[place]; ok {
		g.VillageID = v
		g.TownID = m.towns["潞城镇"]
		if place == "西集村" {
			g.TownID = m.towns["西集镇"]
		}
	} else {
		g.TownID = m.towns[place]
	}
	return g
}

// nextPhone is a phone no one has.
func (m *accountMatrix) nextPhone() string {
	m.phones++
	return fmt.Sprintf("1367700%04d", m.phones)
}

func (m *accountMatrix) phoneOf(t *testing.T, id int64) string {
	t.Helper()
	var p string
	if err := m.d.Read().QueryRowContext(context.Background(), `SELECT phone FROM accounts WHERE id = $1`, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// maxGrant is the newest grant id of an account, 0 for none.
func (m *accountMatrix) maxGrant(t *testing.T, account int64) int64 {
	t.Helper()
	var id int64
	if err := m.d.Read().QueryRowContext(context.Background(), `SELECT COALESCE(MAX(id), 0) FROM account_roles WHERE account_id = $1`, account).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// dropGrantsAfter deletes the account's grants newer than id and says how many there were.
func (m *accountMatrix) dropGrantsAfter(t *testing.T, account, id int64) int {
	t.Helper()
	res, err := m.d.Write().ExecContext(context.Background(), `DELETE FROM account_roles WHERE account_id = $1 AND id > $2`, account, id)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.RowsAffected()
	return int(n)
}

// copyFirstGrant gives the account a second copy of its first grant, to be revoked.
func (m *accountMatrix) copyFirstGrant(t *testing.T, account int64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := m.d.Write().QueryRowContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, village_id, created_at)
		SELECT account_id, role, town_id, village_id, created_at FROM account_roles WHERE account_id = $1 AND id = (SELECT MIN(id) FROM account_roles WHERE account_id = $1)
		RETURNING id`, account).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// dropGrant deletes a grant and says whether it was gone already (revoked).
func (m *accountMatrix) dropGrant(t *testing.T, id int64) bool {
	t.Helper()
	res, err := m.d.Write().ExecContext(context.Background(), `DELETE FROM account_roles WHERE id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.RowsAffected()
	return n == 0
}
