package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/people"
)

func services(t testing.TB, d *db.DB) (*people.Service, *auth.Service) {
	t.Helper()
	cipher, err := people.NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return people.NewService(d, cipher), auth.NewService(d)
}

// registryCounts counts the rows of every table Ensure writes.
func registryCounts(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"towns", "villages", "households", "residents", "residence_history", "accounts", "account_roles", "audit_log"} {
		var n int
		if err := d.Read().QueryRow(`SELECT COUNT(*) FROM ` + tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tbl] = n
	}
	return out
}

type row struct {
	id, household   int64
	village, number string
	name, gender    string
	birth, idNumber string
	phone, relation string
	party           bool
	tags            []people.CareTag
	headOf          int64
	age             int
	minor           bool
}

// residents reads every resident with the full ID number and derived facts.
func residents(t *testing.T, d *db.DB, ps *people.Service) []row {
	t.Helper()
	ctx := context.Background()
	rows, err := d.Read().QueryContext(ctx, `SELECT r.id, r.household_id, v.name, h.number, r.name, r.gender, r.birth_date, r.id_enc, r.phone,
		r.relation, r.party_member, r.care_tags, COALESCE(h.head_resident_id, 0)
		FROM residents r JOIN villages v ON v.id = r.village_id JOIN households h ON h.id = r.household_id ORDER BY r.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	today := people.Town{}.Today(time.Now())
	var out []row
	for rows.Next() {
		var r row
		var enc []byte
		var tags string
		if err := rows.Scan(&r.id, &r.household, &r.village, &r.number, &r.name, &r.gender, &r.birth, &enc, &r.phone, &r.relation,
			&r.party, &tags, &r.headOf); err != nil {
			t.Fatal(err)
		}
		if r.idNumber, err = ps.Cipher.Decrypt(enc); err != nil {
			t.Fatal(err)
		}
		for _, tg := range strings.Split(strings.Trim(tags, ","), ",") {
			if tg != "" {
				r.tags = append(r.tags, people.CareTag(tg))
			}
		}
		b, err := time.Parse("2006-01-02", r.birth)
		if err != nil {
			t.Fatal(err)
		}
		r.age = people.Resident{BirthDate: b}.Age(today)
		r.minor = r.age < 18
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEnsure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ps, as := services(t, d)
		start := time.Now()
		info, err := Ensure(ctx, d, ps, as, Options{Seed: 3, Residents: 300})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Ensure(300 residents) on %s took %v", d.Engine, time.Since(start).Round(time.Millisecond))
		if info.Town != TownName || info.TownID == 0 || info.Villages < 20 || info.Residents != 300 || len(info.Accounts) != 7 {
			t.Fatalf("info = %+v", info)
		}
		town, err := ps.TownByName(ctx, TownName)
		if err != nil || town.ID != info.TownID || town.Code != TownCode {
			t.Fatalf("town = %+v, %v", town, err)
		}
		for i, name := range []string{"前疃村", "东堡村", "东刘庄村", "小甘棠村", "大甘棠村", "谢楼村", "小东各庄村"} {
			v, err := ps.VillageByName(ctx, town.ID, name)
			if err != nil {
				t.Fatalf("village %s: %v", name, err)
			}
			if want := fmt.Sprintf("%03d", i+1); v.Code != want {
				t.Errorf("village %s has code %s, want %s", name, v.Code, want)
			}
		}

		rs := residents(t, d, ps)
		if len(rs) != 300 {
			t.Fatalf("%d residents, want 300", len(rs))
		}
		checkResidents(t, rs)

		// Every demo account logs in, with the grants and resident records it should have.
		for _, a := range info.Accounts {
			sess, err := as.Login(ctx, a.Phone, DemoPassword, "127.0.0.1", "web")
			if err != nil {
				t.Fatalf("login %s (%s): %v", a.Phone, a.Who, err)
			}
			actor, err := as.Authenticate(ctx, sess.Token)
			if err != nil || actor == nil {
				t.Fatalf("authenticate %s: %v", a.Phone, err)
			}
			if len(actor.Grants) != 1 || string(actor.Grants[0].Role) != a.Role || actor.TownID != town.ID {
				t.Errorf("%s: grants %+v, town %d", a.Phone, actor.Grants, actor.TownID)
			}
			switch a.Role {
			case string(auth.TownAdmin), string(auth.VillageAdmin), string(auth.SchoolAdmin), string(auth.Expert):
				if actor.ResidentID != 0 {
					t.Errorf("%s: staff account tied to resident %d", a.Phone, actor.ResidentID)
				}
			default:
				r, err := ps.Resident(ctx, actor, actor.ResidentID)
				if err != nil {
					t.Fatalf("%s reads own record: %v", a.Phone, err)
				}
				wantParty := a.Phone == PhonePartyMember
				if r.Phone != a.Phone || r.VillageName != "前疃村" || r.Name != actor.Name || r.PartyMember != wantParty ||
					r.Class(town.Today(time.Now())) == people.Minor {
					t.Errorf("%s: resident %+v", a.Phone, r)
				}
			}
		}
		// Village admins see their own village only.
		qt, _ := ps.VillageByName(ctx, town.ID, "前疃村")
		dp, _ := ps.VillageByName(ctx, town.ID, "东堡村")
		sess, _ := as.Login(ctx, PhoneVillageAdmin, DemoPassword, "127.0.0.1", "web")
		admin, _ := as.Authenticate(ctx, sess.Token)
		if page, err := ps.Search(ctx, admin, people.Filter{VillageID: qt.ID}); err != nil || page.Total == 0 {
			t.Errorf("前疃村 admin searches 前疃村: %d, %v", page.Total, err)
		}
		if _, err := ps.Search(ctx, admin, people.Filter{VillageID: dp.ID}); err == nil {
			t.Error("前疃村 admin searched 东堡村")
		}

		before := registryCounts(t, d)
		again, err := Ensure(ctx, d, ps, as, Options{Seed: 99, Residents: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if after := registryCounts(t, d); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("second Ensure changed counts: %v → %v", before, after)
		}
		if fmt.Sprint(again) != fmt.Sprint(info) {
			t.Errorf("second Ensure: %+v, first %+v", again, info)
		}
	})
}

var householdNumber = regexp.MustCompile(`^[0-9]{3}-[0-9]{4}$`)

// TestEnsureConcurrent starts two builds at once: one builds, the other finds its town.
func TestEnsureConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ps, as := services(t, d)
		var wg sync.WaitGroup
		infos := make([]Info, 2)
		errors := make([]error, 2)
		for i := range infos {
			wg.Go(func() {
				infos[i], errors[i] = Ensure(context.Background(), d, ps, as, Options{Residents: MinResidents})
			})
		}
		wg.Wait()
		if errors[0] != nil || errors[1] != nil {
			t.Fatal(errors)
		}
		if fmt.Sprint(infos[0]) != fmt.Sprint(infos[1]) || infos[0].Residents != MinResidents {
			t.Errorf("infos differ: %+v, %+v", infos[0], infos[1])
		}
		if n := registryCounts(t, d); n["towns"] != 1 || n["residents"] != MinResidents || n["accounts"] != 7 {
			t.Errorf("counts %v", n)
		}
	})
}

// checkResidents checks what the registry should hold: valid, consistent and plausible people.
func checkResidents(t *testing.T, rs []row) {
	t.Helper()
	ids := map[string]bool{}
	phones := map[string]bool{}
	heads := map[int64]int{}
	var party, adults, minors int
	for _, r := range rs {
		idn, key := people.ParseIDNumber(r.idNumber, time.Now())
		switch {
		case key != "":
			t.Errorf("%s: ID %s: %s", r.name, r.idNumber, key)
		case !strings.HasPrefix(r.idNumber, AreaCode) || idn.Birth.Format("2006-01-02") != r.birth || string(idn.Gender) != r.gender:
			t.Errorf("%s: ID %s does not match birth %s, gender %s", r.name, r.idNumber, r.birth, r.gender)
		case ids[r.idNumber]:
			t.Errorf("%s: duplicate ID %s", r.name, r.idNumber)
		}
		ids[r.idNumber] = true
		if r.phone != "" {
			if !auth.ValidPhone(r.phone) || phones[r.phone] {
				t.Errorf("%s: phone %q invalid or duplicate", r.name, r.phone)
			}
			if strings.HasPrefix(r.phone, "139000000") && r.phone != PhoneResident && r.phone != PhonePartyMember {
				t.Errorf("%s: phone %s is in the demo accounts' range", r.name, r.phone)
			}
			phones[r.phone] = true
		}
		if n := []rune(r.name); len(n) < 2 || len(n) > 3 {
			t.Errorf("name %q", r.name)
		}
		if !householdNumber.MatchString(r.number) {
			t.Errorf("%s: 户号 %q", r.name, r.number)
		}
		if !slices.Contains(people.Relations, r.relation) {
			t.Errorf("%s: relation %q", r.name, r.relation)
		}
		if r.relation == "户主" {
			heads[r.household]++
			if r.headOf != r.id {
				t.Errorf("%s heads household %s but the household names %d", r.name, r.number, r.headOf)
			}
			if r.minor {
				t.Errorf("%s heads household %s at %d", r.name, r.number, r.age)
			}
		}
		if r.minor {
			minors++
			if r.party {
				t.Errorf("%s: party member at %d", r.name, r.age)
			}
		} else {
			adults++
			if r.party {
				party++
			}
			if slices.Contains(r.tags, people.LeftBehind) {
				t.Errorf("%s: 留守儿童 at %d", r.name, r.age)
			}
		}
		if (r.age >= 80) != slices.Contains(r.tags, people.Elderly) {
			t.Errorf("%s: age %d, tags %v", r.name, r.age, r.tags)
		}
	}
	for _, r := range rs {
		if heads[r.household] != 1 {
			t.Fatalf("household %s has %d heads", r.number, heads[r.household])
		}
	}
	minorShare, partyShare := float64(minors)/float64(len(rs)), float64(party)/float64(adults)
	t.Logf("%d residents: %.1f%% minors, %.1f%% party members among adults, %d households", len(rs), 100*minorShare, 100*partyShare, len(heads))
	// About one adult in five is a party member (partyShare): a small town strays a few points.
	if minorShare < 0.10 || minorShare > 0.26 || partyShare < 0.14 || partyShare > 0.28 {
		t.Errorf("implausible town: %.1f%% minors, %.1f%% party members", 100*minorShare, 100*partyShare)
	}
}

// digest hashes what a person sees of the demo town, in id order.
func digest(t *testing.T, d *db.DB, ps *people.Service) string {
	t.Helper()
	h := sha256.New()
	for _, r := range residents(t, d, ps) {
		var masked string
		if err := d.Read().QueryRow(`SELECT id_masked FROM residents WHERE id = $1`, r.id).Scan(&masked); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s|%s|%t|%v\n", r.name, masked, r.idNumber, r.phone, r.village, r.number, r.relation, r.party, r.tags)
	}
	var accounts []string
	rows, err := d.Read().Query(`SELECT phone, name FROM accounts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, n string
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, p+" "+n)
	}
	fmt.Fprintln(h, accounts)
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	build := func(seed int64) string {
		d := dbtest.SQLite(t)
		ps, as := services(t, d)
		if _, err := Ensure(context.Background(), d, ps, as, Options{Seed: seed, Residents: 200}); err != nil {
			t.Fatal(err)
		}
		return digest(t, d, ps)
	}
	a, b, c := build(7), build(7), build(8)
	if a != b {
		t.Errorf("seed 7 built two different towns: %s, %s", a, b)
	}
	if a == c {
		t.Error("seeds 7 and 8 built the same town")
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		in   Options
		want Options
		ok   bool
	}{
		{Options{}, Options{Seed: 1, Residents: 2000}, true},
		{Options{Seed: -5, Residents: 50}, Options{Seed: -5, Residents: 50}, true},
		{Options{Residents: MaxResidents}, Options{Seed: 1, Residents: MaxResidents}, true},
		{Options{Residents: 49}, Options{}, false},
		{Options{Residents: -1}, Options{}, false},
		{Options{Residents: MaxResidents + 1}, Options{}, false},
	} {
		got, err := tc.in.normalize()
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("%+v: got %+v, %v", tc.in, got, err)
		}
	}
	d := dbtest.SQLite(t)
	ps, as := services(t, d)
	if _, err := Ensure(context.Background(), d, ps, as, Options{Residents: 10}); err == nil {
		t.Error("Ensure built a town of 10")
	}
	if _, err := ps.TownByName(context.Background(), TownName); err == nil {
		t.Error("a refused Ensure created the town")
	}
}

// TestPlan checks the generator without a database, over sizes and seeds: exact counts, and the
// demo residents where they belong.
func TestPlan(t *testing.T) {
	ref := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{MinResidents, 51, 77, 300, 2000, MaxResidents} {
		for seed := int64(1); seed <= 5; seed++ {
			tw := plan(Options{Seed: seed, Residents: n})
			total, minors, adults, party := 0, 0, 0, 0
			for _, v := range tw.villages {
				for _, h := range v.households {
					if len(h.members) < 1 || len(h.members) > 6 || h.members[0].relation != "户主" || h.members[0].age < 18 {
						t.Fatalf("n=%d seed=%d: household %s: %+v", n, seed, h.number, h.members[0])
					}
					for _, p := range h.members {
						total++
						if p.age < 18 {
							minors++
						} else if adults++; p.party {
							party++
						}
					}
				}
			}
			if total != n || len(tw.villages) != 20 {
				t.Errorf("n=%d seed=%d: %d residents in %d villages", n, seed, total, len(tw.villages))
			}
			if tw.resident == nil || tw.party == nil || tw.resident == tw.party || tw.resident.party || !tw.party.party ||
				tw.resident.age < 18 || tw.party.age < 18 {
				t.Errorf("n=%d seed=%d: demo residents %+v, %+v", n, seed, tw.resident, tw.party)
			}
			unique := map[string]bool{}
			for _, id := range tw.idNumbers(ref, map[string]bool{}) {
				unique[id] = true
			}
			if len(unique) != n {
				t.Errorf("n=%d seed=%d: %d different ID numbers", n, seed, len(unique))
			}
			if n >= 2000 && seed == 1 {
				t.Logf("n=%d: %.1f%% minors, %.1f%% party members among adults", n, 100*float64(minors)/float64(n), 100*float64(party)/float64(adults))
			}
			// One adult in five a party member, within sampling error in a large town: the article's
			// 20,000 residents have the more than 3,000 party members its 微党校 reached.
			if share := float64(party) / float64(adults); n >= 2000 && (share < 0.18 || share > 0.22) {
				t.Errorf("n=%d seed=%d: %.1f%% party members among adults", n, seed, 100*share)
			}
			if n == MaxResidents && party <= 3000 {
				t.Errorf("n=%d seed=%d: %d party members", n, seed, party)
			}
		}
	}
}

// BenchmarkEnsure times building the default town on SQLite:
//
//	go test ./internal/demo -run '^$' -bench Ensure -benchtime 1x
func BenchmarkEnsure(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		d := dbtest.SQLite(b)
		ps, as := services(b, d)
		b.StartTimer()
		start := time.Now()
		info, err := Ensure(context.Background(), d, ps, as, Options{Seed: 1, Residents: DefaultResidents})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("Ensure built %d residents in %d villages in %v", info.Residents, info.Villages, time.Since(start).Round(time.Millisecond))
	}
}
