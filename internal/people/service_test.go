package people_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// regPassword is every fixture account's password; hashed once because argon2id is slow on purpose.
const regPassword = "qianTuan-2026"

var regHash = auth.HashPassword(regPassword)

// regNow is the registry tests' clock: noon of 20 May 2026 in Beijing. Each reading is a second
// later than the one before, so that history rows have distinct times.
var regNow = time.Date(2026, 5, 20, 4, 0, 0, 0, time.UTC)

// registry is 潞城镇 with 前疃村 and 东堡村, another town with one village, and staff who logged in
// with real accounts.
type registry struct {
	ctx  context.Context
	d    *db.DB
	ps   *people.Service
	as   *auth.Service
	town people.Town
	qt   people.Village // 前疃村
	dp   people.Village // 东堡村
	far  people.Village // 小堡村 of 宋庄镇

	townAdmin  *auth.Actor
	qtAdmin    *auth.Actor // village admin of 前疃村
	dpAdmin    *auth.Actor // village admin of 东堡村
	qtReviewer *auth.Actor // reviewer of 前疃村: reads, may not see ID numbers

	phones int
	seq    int
}

func newRegistry(t *testing.T, d *db.DB) *registry {
	t.Helper()
	c, err := people.NewCipher(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	r := &registry{ctx: context.Background(), d: d, ps: people.NewService(d, c), as: auth.NewService(d)}
	var tick atomic.Int64
	r.ps.Now = func() time.Time { return regNow.Add(time.Duration(tick.Add(1)) * time.Second) }
	err = d.Tx(r.ctx, func(tx *sql.Tx) error {
		var err error
		if r.town, err = r.ps.InsertTown(r.ctx, tx, people.TownInput{Code: "110112", Name: "潞城镇"}); err != nil {
			return err
		}
		if r.qt, err = r.ps.InsertVillage(r.ctx, tx, r.town.ID, people.VillageInput{Name: "前疃村"}); err != nil {
			return err
		}
		if r.dp, err = r.ps.InsertVillage(r.ctx, tx, r.town.ID, people.VillageInput{Name: "东堡村"}); err != nil {
			return err
		}
		far, err := r.ps.InsertTown(r.ctx, tx, people.TownInput{Code: "110113", Name: "宋庄镇"})
		if err != nil {
			return err
		}
		r.far, err = r.ps.InsertVillage(r.ctx, tx, far.ID, people.VillageInput{Name: "小堡村"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.townAdmin = r.account(t, "镇管理员", 0, auth.Grant{Role: auth.TownAdmin, TownID: r.town.ID})
	r.qtAdmin = r.account(t, "前疃村书记", 0, auth.Grant{Role: auth.VillageAdmin, TownID: r.town.ID, VillageID: r.qt.ID})
	r.dpAdmin = r.account(t, "东堡村书记", 0, auth.Grant{Role: auth.VillageAdmin, TownID: r.town.ID, VillageID: r.dp.ID})
	r.qtReviewer = r.account(t, "前疃村审核员", 0, auth.Grant{Role: auth.Reviewer, TownID: r.town.ID, VillageID: r.qt.ID})
	return r
}

// account creates a login with the grants, logs in and returns the actor the session gives.
func (r *registry) account(t *testing.T, name string, residentID int64, grants ...auth.Grant) *auth.Actor {
	t.Helper()
	return r.actor(t, r.token(t, name, residentID, grants...))
}

// token creates a login with the grants and returns a session token for it.
func (r *registry) token(t *testing.T, name string, residentID int64, grants ...auth.Grant) string {
	t.Helper()
	r.phones++
	phone := fmt.Sprintf("137%08d", r.phones)
	err := r.d.Tx(r.ctx, func(tx *sql.Tx) error {
		id, err := r.as.InsertAccount(r.ctx, tx, phone, name, residentID, regHash, false)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if err := r.as.InsertGrant(r.ctx, tx, id, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.as.Login(r.ctx, phone, regPassword, "192.0.2.1", "web")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return s.Token
}

func (r *registry) actor(t *testing.T, token string) *auth.Actor {
	t.Helper()
	a, err := r.as.Authenticate(r.ctx, token)
	if err != nil || a == nil {
		t.Fatalf("authenticate: %v %v", a, err)
	}
	return a
}

// residentActor gives a resident record a login of its own.
func (r *registry) residentActor(t *testing.T, res people.Resident) *auth.Actor {
	t.Helper()
	return r.account(t, res.Name, res.ID, auth.Grant{Role: auth.ResidentRole, TownID: res.TownID, VillageID: res.VillageID})
}

// input is a valid resident for a village and household, with a fresh ID number; odd sequence
// numbers are men.
func (r *registry) input(v people.Village, hh, name, birth string) people.ResidentInput {
	r.seq++
	g := people.Female
	if r.seq%2 == 1 {
		g = people.Male
	}
	return people.ResidentInput{VillageID: v.ID, HouseholdNumber: hh, Name: name, Gender: g, BirthDate: birth, IDNumber: testID(birth, r.seq)}
}

func (r *registry) create(t *testing.T, a *auth.Actor, in people.ResidentInput) people.Resident {
	t.Helper()
	res, err := r.ps.CreateResident(r.ctx, a, in)
	if err != nil {
		t.Fatalf("create %s: %v", in.Name, err)
	}
	return res
}

// get reads a resident as the town admin sees it.
func (r *registry) get(t *testing.T, id int64) people.Resident {
	t.Helper()
	res, err := r.ps.Resident(r.ctx, r.townAdmin, id)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// counts is the number of rows of every table a refused request must leave alone.
func (r *registry) counts(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"residents", "households", "residence_history", "audit_log", "villages", "towns"} {
		var n int
		if err := r.d.Read().QueryRowContext(r.ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func (r *registry) unchanged(t *testing.T, before map[string]int) {
	t.Helper()
	if after := r.counts(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused request stored something: before %v, after %v", before, after)
	}
}

// search returns the names found, in id order, failing the test on an error.
func (r *registry) search(t *testing.T, a *auth.Actor, f people.Filter) []string {
	t.Helper()
	p, err := r.ps.Search(r.ctx, a, f)
	if err != nil {
		t.Fatalf("search %+v: %v", f, err)
	}
	names := []string{}
	for _, x := range p.Items {
		names = append(names, x.Name)
	}
	if p.Total != len(names) && p.Pages <= 1 {
		t.Fatalf("search %+v: total %d, %d items", f, p.Total, len(names))
	}
	return names
}

// audit lists the town's audit entries with an action, newest first, as the town admin sees them.
func (r *registry) audit(t *testing.T, action string) []auth.AuditEntry {
	t.Helper()
	es, err := r.as.SearchAudit(r.ctx, r.townAdmin, auth.AuditFilter{TownID: r.town.ID, Q: action})
	if err != nil {
		t.Fatal(err)
	}
	var out []auth.AuditEntry
	for _, e := range es {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// wantRefusal fails unless err is an *errs.Error with the code and key and exactly the fields
// given as "field:key".
func wantRefusal(t *testing.T, err error, code errs.Code, key string, fields ...string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("got %v, want %s %s %v", err, code, key, fields)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field+":"+f.Key)
	}
	if e.Code != code || e.Key != key || !slices.Equal(got, fields) {
		t.Fatalf("got %s %s %v, want %s %s %v", e.Code, e.Key, got, code, key, fields)
	}
}

func sortedTags(tags []people.CareTag) []people.CareTag {
	s := slices.Clone(tags)
	slices.Sort(s)
	return s
}

func TestCreateResident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		in := f.input(f.qt, "0001", "张三", "1950-03-15")
		in.Phone, in.Relation, in.PartyMember, in.CareTags = " 13912340001 ", "户主", true, []string{"elderly", "alone"}
		in.Name = "  张三 "
		r, err := f.ps.CreateResident(ctx, f.qtAdmin, in)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || r.TownID != f.town.ID || r.VillageID != f.qt.ID || r.VillageName != "前疃村" || r.HouseholdNumber != "0001" ||
			r.Name != "张三" || r.Gender != people.Male || r.BirthDate.Format("2006-01-02") != "1950-03-15" || r.Phone != "13912340001" ||
			r.Relation != "户主" || !r.PartyMember || r.Status != people.Active || r.RegisteredOn != "2026-05-20" ||
			r.IDMasked != people.MaskID(in.IDNumber) || r.IDNumber != "" {
			t.Fatalf("created %+v", r)
		}

		t.Run("TownAdminSeesID", func(t *testing.T) {
			got := f.get(t, r.ID)
			if got.IDNumber != in.IDNumber || got.IDMasked != people.MaskID(in.IDNumber) || got.Name != "张三" ||
				!slices.Equal(sortedTags(got.CareTags), []people.CareTag{people.LivesAlone, people.Elderly}) ||
				got.Class(f.town.Today(regNow)) != people.PartyMember || got.Age(f.town.Today(regNow)) != 76 {
				t.Fatalf("town admin reads %+v", got)
			}
		})
		t.Run("VillageAdminSeesID", func(t *testing.T) {
			got, err := f.ps.Resident(ctx, f.qtAdmin, r.ID)
			if err != nil || got.IDNumber != in.IDNumber {
				t.Fatalf("village admin reads %+v, %v", got, err)
			}
		})
		t.Run("ReviewerSeesMaskOnly", func(t *testing.T) {
			got, err := f.ps.Resident(ctx, f.qtReviewer, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.IDNumber != "" || got.IDMasked != people.MaskID(in.IDNumber) || !strings.Contains(got.IDMasked, "********") {
				t.Fatalf("reviewer reads ID %q masked %q", got.IDNumber, got.IDMasked)
			}
		})
		t.Run("HouseholdHead", func(t *testing.T) {
			h, members, err := f.ps.Household(ctx, f.townAdmin, r.HouseholdID)
			if err != nil {
				t.Fatal(err)
			}
			if h.Number != "0001" || h.HeadResidentID != r.ID || h.HeadName != "张三" || h.Members != 1 || len(members) != 1 || members[0].ID != r.ID {
				t.Fatalf("household %+v members %+v", h, members)
			}
		})
		t.Run("StoredEncrypted", func(t *testing.T) {
			var enc []byte
			var hash, masked string
			if err := d.Read().QueryRowContext(ctx, `SELECT id_enc, id_hash, id_masked FROM residents WHERE id = $1`, r.ID).Scan(&enc, &hash, &masked); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(enc, []byte(in.IDNumber)) || bytes.Contains(enc, []byte(in.IDNumber[6:14])) ||
				strings.Contains(hash, in.IDNumber) || hash != f.ps.Cipher.Hash(in.IDNumber) || masked != people.MaskID(in.IDNumber) {
				t.Fatalf("stored in clear: enc %x hash %s masked %s", enc, hash, masked)
			}
			if plain, err := f.ps.Cipher.Decrypt(enc); err != nil || plain != in.IDNumber {
				t.Fatalf("decrypt: %q %v", plain, err)
			}
		})

		ok := []struct {
			name   string
			change func(in *people.ResidentInput)
			check  func(t *testing.T, got people.Resident)
		}{
			{"LowerCaseX", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate, in.Gender = strings.ToLower(withCheck("11011219900315007")), "1990-03-15", people.Male
			}, func(t *testing.T, got people.Resident) {
				if got.IDNumber != "11011219900315007X" {
					t.Fatalf("stored %q", got.IDNumber)
				}
			}},
			{"MinorLeftBehind", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate, in.Gender = withCheck("11011220150601002"), "2015-06-01", people.Female
				in.CareTags, in.Relation = []string{"left_behind"}, "孙女"
			}, func(t *testing.T, got people.Resident) {
				if !slices.Equal(got.CareTags, []people.CareTag{people.LeftBehind}) || got.Class(f.town.Today(regNow)) != people.Minor {
					t.Fatalf("got %+v", got)
				}
			}},
			{"MinorTurns18Tomorrow", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate, in.Gender = withCheck("11011220080521004"), "2008-05-21", people.Female
				in.CareTags = []string{"left_behind"}
			}, func(t *testing.T, got people.Resident) {
				if got.Class(f.town.Today(regNow)) != people.Minor {
					t.Fatalf("got %+v", got)
				}
			}},
			{"Name30", func(in *people.ResidentInput) { in.Name = strings.Repeat("名", 30) }, func(t *testing.T, got people.Resident) {
				if got.Name != strings.Repeat("名", 30) {
					t.Fatalf("name %q", got.Name)
				}
			}},
			{"ScriptStoredLiterally", func(in *people.ResidentInput) { in.Name = "<script>alert(1)</script>" }, func(t *testing.T, got people.Resident) {
				if got.Name != "<script>alert(1)</script>" {
					t.Fatalf("name %q", got.Name)
				}
				var raw string
				if err := d.Read().QueryRowContext(ctx, `SELECT name FROM residents WHERE id = $1`, got.ID).Scan(&raw); err != nil || raw != "<script>alert(1)</script>" {
					t.Fatalf("stored %q %v", raw, err)
				}
				if names := f.search(t, f.townAdmin, people.Filter{TownID: f.town.ID, Q: "<script>"}); !slices.Equal(names, []string{"<script>alert(1)</script>"}) {
					t.Fatalf("search finds %q", names)
				}
			}},
			{"ExistingHousehold", func(in *people.ResidentInput) { in.HouseholdNumber, in.Relation = "0001", "配偶" }, func(t *testing.T, got people.Resident) {
				if got.HouseholdID != r.HouseholdID {
					t.Fatalf("household %d, want %d", got.HouseholdID, r.HouseholdID)
				}
			}},
		}
		for i, c := range ok {
			t.Run(c.name, func(t *testing.T) {
				in := f.input(f.qt, fmt.Sprintf("OK-%d", i), "李四", "1980-01-01")
				c.change(&in)
				got, err := f.ps.CreateResident(ctx, f.qtAdmin, in)
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, f.get(t, got.ID))
			})
		}
	})
}

func TestCreateResidentRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		// 刘洋, male, born 1 January 1980; his ID's check character is X.
		base := func() people.ResidentInput {
			return people.ResidentInput{VillageID: f.qt.ID, HouseholdNumber: "0100", Name: "刘洋", Gender: people.Male, BirthDate: "1980-01-01",
				IDNumber: withCheck("11011219800101001"), Phone: "13912340009", Relation: "户主"}
		}
		cases := []struct {
			name   string
			change func(in *people.ResidentInput)
			fields []string
		}{
			{"ErrIDChecksum", func(in *people.ResidentInput) { in.IDNumber = wrongCheck("11011219800101001") }, []string{"id_number:people.id_checksum"}},
			{"ErrIDFeb30", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate = withCheck("11011220000230001"), "2000-02-30"
			}, []string{"birth_date:people.birth_invalid", "id_number:people.id_birth_invalid"}},
			{"ErrIDFeb30Only", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate = withCheck("11011220000230001"), "2000-02-28"
			}, []string{"id_number:people.id_birth_invalid"}},
			{"ErrBirthFuture", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate = withCheck("11011220260521001"), "2026-05-21"
			}, []string{"birth_date:people.birth_future", "id_number:people.id_birth_future"}},
			{"ErrBirthMismatch", func(in *people.ResidentInput) { in.BirthDate = "1980-01-02" }, []string{"id_number:people.id_birth_mismatch"}},
			{"ErrGenderMismatch", func(in *people.ResidentInput) { in.Gender = people.Female }, []string{"id_number:people.id_gender_mismatch"}},
			{"ErrGender", func(in *people.ResidentInput) { in.Gender = "X" }, []string{"gender:people.gender_invalid"}},
			{"ErrBirthRequired", func(in *people.ResidentInput) { in.BirthDate = "" }, []string{"birth_date:field.required"}},
			{"ErrBirthFormat", func(in *people.ResidentInput) { in.BirthDate = "1980/01/01" }, []string{"birth_date:people.birth_invalid"}},
			{"ErrIDRequired", func(in *people.ResidentInput) { in.IDNumber = " " }, []string{"id_number:field.required"}},
			{"ErrIDLength", func(in *people.ResidentInput) { in.IDNumber = "11011219800101001" }, []string{"id_number:people.id_length"}},
			{"ErrIDLetters", func(in *people.ResidentInput) { in.IDNumber = "1101121980010100AX" }, []string{"id_number:people.id_chars"}},
			{"ErrPhone", func(in *people.ResidentInput) { in.Phone = "1234" }, []string{"phone:field.phone_invalid"}},
			{"ErrPhoneLandline", func(in *people.ResidentInput) { in.Phone = "010-12345678" }, []string{"phone:field.phone_invalid"}},
			{"ErrRelation", func(in *people.ResidentInput) { in.Relation = "邻居" }, []string{"relation:people.relation_invalid"}},
			{"ErrCareTag", func(in *people.ResidentInput) { in.CareTags = []string{"elderly", "vip"} }, []string{"care_tags:people.care_tag_invalid"}},
			{"ErrCareTagChineseName", func(in *people.ResidentInput) { in.CareTags = []string{"留守儿童"} }, []string{"care_tags:people.care_tag_invalid"}},
			{"ErrLeftBehindAdult", func(in *people.ResidentInput) { in.CareTags = []string{"left_behind"} }, []string{"care_tags:people.left_behind_adult"}},
			{"ErrLeftBehindOn18thBirthday", func(in *people.ResidentInput) {
				in.IDNumber, in.BirthDate, in.Gender, in.CareTags = withCheck("11011220080520002"), "2008-05-20", people.Female, []string{"left_behind"}
			}, []string{"care_tags:people.left_behind_adult"}},
			{"ErrNameEmpty", func(in *people.ResidentInput) { in.Name = "" }, []string{"name:field.required"}},
			{"ErrNameBlank", func(in *people.ResidentInput) { in.Name = " \t " }, []string{"name:field.required"}},
			{"ErrName31", func(in *people.ResidentInput) { in.Name = strings.Repeat("名", 31) }, []string{"name:field.too_long"}},
			{"ErrNameControl", func(in *people.ResidentInput) { in.Name = "刘\x07洋" }, []string{"name:field.unprintable"}},
			{"ErrHouseholdRequired", func(in *people.ResidentInput) { in.HouseholdNumber = "" }, []string{"household_number:field.required"}},
			{"ErrHouseholdChars", func(in *people.ResidentInput) { in.HouseholdNumber = "一号" }, []string{"household_number:people.household_number_invalid"}},
			{"ErrHouseholdLong", func(in *people.ResidentInput) { in.HouseholdNumber = strings.Repeat("1", 21) }, []string{"household_number:people.household_number_invalid"}},
			{"ErrVillageUnknown", func(in *people.ResidentInput) { in.VillageID = 999999 }, []string{"village_id:people.village_unknown"}},
			{"ErrSeveral", func(in *people.ResidentInput) { in.Name, in.Phone, in.Relation = "", "1234", "邻居" },
				[]string{"name:field.required", "phone:field.phone_invalid", "relation:people.relation_invalid"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := f.counts(t)
				in := base()
				c.change(&in)
				_, err := f.ps.CreateResident(f.ctx, f.qtAdmin, in)
				wantRefusal(t, err, errs.Invalid, "error.invalid", c.fields...)
				f.unchanged(t, before)
			})
		}

		t.Run("ErrDuplicateID", func(t *testing.T) {
			first := f.create(t, f.qtAdmin, base())
			for _, c := range []struct {
				name string
				in   people.ResidentInput
			}{
				{"SameVillage", people.ResidentInput{VillageID: f.qt.ID, HouseholdNumber: "0101", Name: "刘洋二", Gender: people.Male, BirthDate: "1980-01-01", IDNumber: base().IDNumber}},
				{"OtherVillage", people.ResidentInput{VillageID: f.dp.ID, HouseholdNumber: "0102", Name: "刘洋三", Gender: people.Male, BirthDate: "1980-01-01", IDNumber: base().IDNumber}},
				{"LowerCase", people.ResidentInput{VillageID: f.dp.ID, HouseholdNumber: "0103", Name: "刘洋四", Gender: people.Male, BirthDate: "1980-01-01", IDNumber: strings.ToLower(base().IDNumber)}},
			} {
				t.Run(c.name, func(t *testing.T) {
					before := f.counts(t)
					_, err := f.ps.CreateResident(f.ctx, f.townAdmin, c.in)
					wantRefusal(t, err, errs.Conflict, "people.id_duplicate", "id_number:people.id_duplicate")
					f.unchanged(t, before)
				})
			}
			if got := f.get(t, first.ID); got.Name != "刘洋" || got.IDNumber != base().IDNumber {
				t.Fatalf("first registration changed: %+v", got)
			}
		})

		t.Run("ErrNobody", func(t *testing.T) {
			before := f.counts(t)
			in := base()
			in.IDNumber, in.BirthDate = withCheck("11011219800101003"), "1980-01-01"
			_, err := f.ps.CreateResident(f.ctx, nil, in)
			wantRefusal(t, err, errs.Unauthorized, "error.unauthorized")
			in.VillageID = 999999
			_, err = f.ps.CreateResident(f.ctx, nil, in)
			wantRefusal(t, err, errs.Unauthorized, "error.unauthorized")
			f.unchanged(t, before)
		})
	})
}

func TestVillageScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		a := f.create(t, f.townAdmin, f.input(f.qt, "0001", "张三", "1980-01-01"))
		bIn := f.input(f.dp, "0002", "李四", "1981-02-02")
		b := f.create(t, f.townAdmin, bIn)
		bBefore := f.get(t, b.ID)

		update := bIn
		update.Name = "李四改"
		newcomer := f.input(f.dp, "0003", "王五", "1982-03-03")
		refused := []struct {
			name string
			do   func() error
		}{
			{"Resident", func() error { _, err := f.ps.Resident(ctx, f.qtAdmin, b.ID); return err }},
			{"History", func() error { _, err := f.ps.History(ctx, f.qtAdmin, b.ID); return err }},
			{"UpdateResident", func() error { _, err := f.ps.UpdateResident(ctx, f.qtAdmin, b.ID, update); return err }},
			{"Move", func() error {
				_, err := f.ps.Move(ctx, f.qtAdmin, b.ID, people.MoveInput{VillageID: f.qt.ID, HouseholdNumber: "0009", Reason: "投亲"})
				return err
			}},
			{"SetStatus", func() error {
				_, err := f.ps.SetStatus(ctx, f.qtAdmin, b.ID, people.MovedOut, "2026-05-01", "")
				return err
			}},
			{"Household", func() error { _, _, err := f.ps.Household(ctx, f.qtAdmin, b.HouseholdID); return err }},
			{"UpdateHousehold", func() error {
				_, err := f.ps.UpdateHousehold(ctx, f.qtAdmin, b.HouseholdID, people.HouseholdInput{Address: "东堡村1号"})
				return err
			}},
			{"Households", func() error { _, _, err := f.ps.Households(ctx, f.qtAdmin, f.dp.ID, "", 1); return err }},
			{"Village", func() error { _, err := f.ps.Village(ctx, f.qtAdmin, f.dp.ID); return err }},
			{"SearchVillage", func() error { _, err := f.ps.Search(ctx, f.qtAdmin, people.Filter{VillageID: f.dp.ID}); return err }},
			{"CreateResident", func() error { _, err := f.ps.CreateResident(ctx, f.qtAdmin, newcomer); return err }},
		}
		for _, c := range refused {
			t.Run("Err"+c.name, func(t *testing.T) {
				before := f.counts(t)
				wantRefusal(t, c.do(), errs.NotFound, "error.not_found")
				f.unchanged(t, before)
			})
		}
		t.Run("ErrMoveIntoOtherVillage", func(t *testing.T) {
			before := f.counts(t)
			_, err := f.ps.Move(ctx, f.qtAdmin, a.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "0002", Reason: "婚迁"})
			wantRefusal(t, err, errs.Invalid, "error.invalid", "village_id:people.village_not_yours")
			f.unchanged(t, before)
		})
		t.Run("OtherVillageUntouched", func(t *testing.T) {
			got := f.get(t, b.ID)
			if got.Name != bBefore.Name || got.VillageID != bBefore.VillageID || got.Status != bBefore.Status || !got.UpdatedAt.Equal(bBefore.UpdatedAt) {
				t.Fatalf("before %+v, after %+v", bBefore, got)
			}
		})
		t.Run("SearchSeesOwnVillageOnly", func(t *testing.T) {
			for _, fl := range []people.Filter{{TownID: f.town.ID}, {}, {TownID: f.town.ID, Status: "all"}} {
				if names := f.search(t, f.qtAdmin, fl); !slices.Equal(names, []string{"张三"}) {
					t.Fatalf("%+v: %v", fl, names)
				}
			}
			for _, q := range []string{"李四", "李", "0002", bIn.IDNumber} {
				if names := f.search(t, f.qtAdmin, people.Filter{TownID: f.town.ID, Q: q}); len(names) != 0 {
					t.Fatalf("Q %q finds %v", q, names)
				}
			}
			if names := f.search(t, f.dpAdmin, people.Filter{TownID: f.town.ID}); !slices.Equal(names, []string{"李四"}) {
				t.Fatalf("东堡村's admin sees %v", names)
			}
			if names := f.search(t, f.townAdmin, people.Filter{TownID: f.town.ID}); !slices.Equal(names, []string{"张三", "李四"}) {
				t.Fatalf("town admin sees %v", names)
			}
		})
		t.Run("Villages", func(t *testing.T) {
			vs, err := f.ps.Villages(ctx, f.qtAdmin, f.town.ID)
			if err != nil || len(vs) != 1 || vs[0].ID != f.qt.ID || vs[0].Residents != 1 {
				t.Fatalf("村 admin's villages %+v %v", vs, err)
			}
			vs, err = f.ps.Villages(ctx, f.townAdmin, f.town.ID)
			if err != nil || len(vs) != 2 {
				t.Fatalf("town admin's villages %+v %v", vs, err)
			}
			_, err = f.ps.Villages(ctx, f.townAdmin, f.far.TownID)
			wantRefusal(t, err, errs.Forbidden, "error.forbidden")
		})
		t.Run("OtherTown", func(t *testing.T) {
			_, err := f.ps.Search(ctx, f.townAdmin, people.Filter{TownID: f.far.TownID})
			wantRefusal(t, err, errs.Forbidden, "error.forbidden")
			_, err = f.ps.Search(ctx, f.townAdmin, people.Filter{VillageID: f.far.ID})
			wantRefusal(t, err, errs.NotFound, "error.not_found")
			_, err = f.ps.CreateResident(ctx, f.townAdmin, f.input(f.far, "0001", "赵六", "1970-01-01"))
			wantRefusal(t, err, errs.NotFound, "error.not_found")
		})
		t.Run("Nobody", func(t *testing.T) {
			_, err := f.ps.Resident(ctx, nil, a.ID)
			wantRefusal(t, err, errs.Unauthorized, "error.unauthorized")
			_, err = f.ps.Search(ctx, nil, people.Filter{TownID: f.town.ID})
			wantRefusal(t, err, errs.Unauthorized, "error.unauthorized")
			_, err = f.ps.Resident(ctx, f.qtAdmin, 999999)
			wantRefusal(t, err, errs.NotFound, "error.not_found")
		})
	})
}

func TestResidentSeesOnlySelf(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		in := f.input(f.qt, "0001", "张三", "1980-01-01")
		in.Relation = "户主"
		me := f.create(t, f.qtAdmin, in)
		neighbour := f.create(t, f.qtAdmin, f.input(f.qt, "0001", "张三妻", "1982-01-01"))
		a := f.residentActor(t, me)

		got, err := f.ps.Resident(ctx, a, me.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != me.ID || got.Name != "张三" || got.IDNumber != "" || got.IDMasked != people.MaskID(in.IDNumber) {
			t.Fatalf("own record %+v", got)
		}
		if h, err := f.ps.History(ctx, a, me.ID); err != nil || len(h) != 1 {
			t.Fatalf("own history %+v %v", h, err)
		}
		for name, do := range map[string]func() error{
			"neighbour":             func() error { _, err := f.ps.Resident(ctx, a, neighbour.ID); return err },
			"neighbour's history":   func() error { _, err := f.ps.History(ctx, a, neighbour.ID); return err },
			"household":             func() error { _, _, err := f.ps.Household(ctx, a, me.HouseholdID); return err },
			"village":               func() error { _, err := f.ps.Village(ctx, a, f.qt.ID); return err },
			"search of the village": func() error { _, err := f.ps.Search(ctx, a, people.Filter{VillageID: f.qt.ID}); return err },
			"update own record":     func() error { _, err := f.ps.UpdateResident(ctx, a, me.ID, in); return err },
		} {
			err := do()
			if !errs.Is(err, errs.NotFound) {
				t.Errorf("%s: got %v, want not found", name, err)
			}
		}
		_, err = f.ps.Search(ctx, a, people.Filter{TownID: f.town.ID})
		wantRefusal(t, err, errs.Forbidden, "error.forbidden")
	})
}

func TestSearch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		mk := func(v people.Village, hh, name, birth, phone string) people.ResidentInput {
			in := f.input(v, hh, name, birth)
			in.Phone = phone
			return in
		}
		zhang := mk(f.qt, "0007", "张三", "1980-01-01", "13912340001")
		f.create(t, f.townAdmin, zhang)
		f.create(t, f.townAdmin, mk(f.qt, "0007", "张三丰", "1981-01-01", "13912340002"))
		f.create(t, f.townAdmin, mk(f.qt, "QT-1", "李四", "1982-01-01", "15800000003"))
		wang := people.ResidentInput{VillageID: f.dp.ID, HouseholdNumber: "0008", Name: "王五", Gender: people.Male, BirthDate: "1990-03-15",
			IDNumber: withCheck("11011219900315007")}
		f.create(t, f.townAdmin, wang)

		cases := []struct {
			q    string
			want []string
		}{
			{"", []string{"张三", "张三丰", "李四", "王五"}},
			{"张", []string{"张三", "张三丰"}},
			{"张三", []string{"张三", "张三丰"}},
			{" 张三丰 ", []string{"张三丰"}},
			{"三", nil},
			{"王五六", nil},
			{"139", []string{"张三", "张三丰"}},
			{"1391234000", []string{"张三", "张三丰"}},
			{"13912340001", []string{"张三"}},
			{"158", []string{"李四"}},
			{"0007", []string{"张三", "张三丰"}},
			{"0008", []string{"王五"}},
			{"QT-1", []string{"李四"}}, // a 户号 with letters is still a 户号
			{wang.IDNumber, []string{"王五"}},
			{strings.ToLower(wang.IDNumber), []string{"王五"}},
			{zhang.IDNumber, []string{"张三"}},
			{zhang.IDNumber[:17], nil},
			{people.MaskID(zhang.IDNumber), nil},
			{"%", nil},
			{"_", nil},
			{"张%", nil},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("Q=%q", c.q), func(t *testing.T) {
				names := f.search(t, f.townAdmin, people.Filter{TownID: f.town.ID, Q: c.q})
				if c.want == nil {
					c.want = []string{}
				}
				if !slices.Equal(names, c.want) {
					t.Fatalf("got %v, want %v", names, c.want)
				}
			})
		}
		t.Run("Village", func(t *testing.T) {
			if names := f.search(t, f.townAdmin, people.Filter{VillageID: f.dp.ID}); !slices.Equal(names, []string{"王五"}) {
				t.Fatalf("got %v", names)
			}
			if names := f.search(t, f.townAdmin, people.Filter{VillageID: f.dp.ID, Q: "张"}); len(names) != 0 {
				t.Fatalf("got %v", names)
			}
		})
		t.Run("Reviewer", func(t *testing.T) {
			p, err := f.ps.Search(f.ctx, f.qtReviewer, people.Filter{TownID: f.town.ID})
			if err != nil || p.Total != 3 {
				t.Fatalf("reviewer: %+v %v", p, err)
			}
			for _, r := range p.Items {
				if r.IDNumber != "" || r.IDMasked == "" {
					t.Fatalf("search result carries %q / %q", r.IDNumber, r.IDMasked)
				}
			}
		})
		t.Run("ErrStatus", func(t *testing.T) {
			_, err := f.ps.Search(f.ctx, f.townAdmin, people.Filter{TownID: f.town.ID, Status: "gone"})
			wantRefusal(t, err, errs.Invalid, "error.invalid", "status:people.status_invalid")
		})
	})
}

func TestSearchPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		var ids []int64
		var last5 int64 // household "1": its members are the last five registered
		for i := 1; i <= 55; i++ {
			hh := fmt.Sprintf("P-%02d", (i-1)/5)
			if i > 50 {
				hh = "1"
			}
			in := f.input(f.qt, hh, fmt.Sprintf("居民%02d", i), fmt.Sprintf("19%02d-01-01", 40+i))
			in.Phone = fmt.Sprintf("139%08d", i)
			r := f.create(t, f.qtAdmin, in)
			ids = append(ids, r.ID)
			last5 = r.HouseholdID
		}
		var got []int64
		for _, c := range []struct{ page, want, wantPage int }{{0, 50, 1}, {1, 50, 1}, {2, 5, 2}, {3, 0, 3}} {
			p, err := f.ps.Search(f.ctx, f.qtAdmin, people.Filter{TownID: f.town.ID, Page: c.page})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != 55 || p.Pages != 2 || p.Page != c.wantPage || len(p.Items) != c.want {
				t.Fatalf("page %d: total %d pages %d page %d items %d", c.page, p.Total, p.Pages, p.Page, len(p.Items))
			}
			if c.page >= 1 {
				for _, r := range p.Items {
					got = append(got, r.ID)
				}
			}
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("pages give %v, want %v", got, ids)
		}
		t.Run("HouseholdMembersPastFirstPage", func(t *testing.T) {
			// Household "1" looks like a phone prefix that every resident matches; its members must
			// still all be listed.
			h, members, err := f.ps.Household(f.ctx, f.qtAdmin, last5)
			if err != nil {
				t.Fatal(err)
			}
			var mids []int64
			for _, m := range members {
				mids = append(mids, m.ID)
			}
			if h.Number != "1" || h.Members != 5 || !slices.Equal(mids, ids[50:]) {
				t.Fatalf("household %+v members %v, want %v", h, mids, ids[50:])
			}
			hs, total, err := f.ps.Households(f.ctx, f.qtAdmin, f.qt.ID, "", 1)
			if err != nil || total != 11 || len(hs) != 11 {
				t.Fatalf("households: %d %d %v", total, len(hs), err)
			}
		})
	})
}

func TestMove(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		in := f.input(f.qt, "0001", "张三", "1980-01-01")
		in.Relation = "户主"
		a := f.create(t, f.qtAdmin, in)
		gone := f.create(t, f.qtAdmin, f.input(f.qt, "0002", "赵六", "1960-01-01"))
		if _, err := f.ps.SetStatus(ctx, f.qtAdmin, gone.ID, people.Deceased, "2026-05-01", ""); err != nil {
			t.Fatal(err)
		}

		refused := []struct {
			name   string
			id     int64
			in     people.MoveInput
			fields []string
		}{
			{"ErrReasonEmpty", a.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "0100"}, []string{"reason:field.required"}},
			{"ErrReasonBlank", a.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "0100", Reason: "  "}, []string{"reason:field.required"}},
			{"ErrSameHousehold", a.ID, people.MoveInput{VillageID: f.qt.ID, HouseholdNumber: " 0001 ", Reason: "没动"}, []string{"household_number:people.move_same"}},
			{"ErrHouseholdNumber", a.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "", Reason: "婚迁"}, []string{"household_number:people.household_number_invalid"}},
			{"ErrOtherTown", a.ID, people.MoveInput{VillageID: f.far.ID, HouseholdNumber: "0100", Reason: "婚迁"}, []string{"village_id:people.village_unknown"}},
			{"ErrUnknownVillage", a.ID, people.MoveInput{VillageID: 999999, HouseholdNumber: "0100", Reason: "婚迁"}, []string{"village_id:people.village_unknown"}},
			{"ErrNotActive", gone.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "0100", Reason: "婚迁"}, []string{"status:people.not_active"}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				before := f.counts(t)
				_, err := f.ps.Move(ctx, f.townAdmin, c.id, c.in)
				wantRefusal(t, err, errs.Invalid, "error.invalid", c.fields...)
				f.unchanged(t, before)
				if h, err := f.ps.History(ctx, f.townAdmin, c.id); err != nil || len(h) != 1 || !h[0].To.IsZero() {
					t.Fatalf("history after a refused move: %+v %v", h, err)
				}
			})
		}

		t.Run("OtherVillage", func(t *testing.T) {
			moved, err := f.ps.Move(ctx, f.townAdmin, a.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: " 0100 ", Reason: " 婚迁 "})
			if err != nil {
				t.Fatal(err)
			}
			if moved.VillageID != f.dp.ID || moved.VillageName != "东堡村" || moved.HouseholdNumber != "0100" || moved.TownID != f.town.ID ||
				moved.IDNumber != in.IDNumber || moved.HouseholdID == a.HouseholdID {
				t.Fatalf("moved %+v", moved)
			}
			h, err := f.ps.History(ctx, f.townAdmin, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 2 {
				t.Fatalf("history %+v", h)
			}
			if h[0].VillageName != "前疃村" || h[0].HouseholdNumber != "0001" || h[0].Reason != "register" || h[0].To.IsZero() ||
				!h[0].To.Equal(h[1].From) || !h[0].From.Before(h[1].From) {
				t.Fatalf("first stay %+v (second %+v)", h[0], h[1])
			}
			if h[1].VillageName != "东堡村" || h[1].HouseholdNumber != "0100" || h[1].Reason != "婚迁" || !h[1].To.IsZero() {
				t.Fatalf("second stay %+v", h[1])
			}
			old, members, err := f.ps.Household(ctx, f.townAdmin, a.HouseholdID)
			if err != nil || old.HeadResidentID != 0 || len(members) != 0 {
				t.Fatalf("old household %+v %v %v", old, members, err)
			}
			_, err = f.ps.Resident(ctx, f.qtAdmin, a.ID)
			wantRefusal(t, err, errs.NotFound, "error.not_found")
			if _, err := f.ps.Resident(ctx, f.dpAdmin, a.ID); err != nil {
				t.Fatalf("东堡村's admin cannot read the newcomer: %v", err)
			}
			es := f.audit(t, "resident.move")
			if len(es) != 1 || es[0].ActorID != f.townAdmin.AccountID || es[0].EntityID != a.ID || !strings.Contains(es[0].Summary, "婚迁") {
				t.Fatalf("audit %+v", es)
			}
		})
		t.Run("SameVillage", func(t *testing.T) {
			moved, err := f.ps.Move(ctx, f.dpAdmin, a.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "0101", Reason: "分户"})
			if err != nil {
				t.Fatal(err)
			}
			if moved.VillageID != f.dp.ID || moved.HouseholdNumber != "0101" {
				t.Fatalf("moved %+v", moved)
			}
			if h, err := f.ps.History(ctx, f.dpAdmin, a.ID); err != nil || len(h) != 3 || h[1].To.IsZero() || !h[2].To.IsZero() {
				t.Fatalf("history %+v %v", h, err)
			}
		})
	})
}

func TestSetStatus(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		a := f.create(t, f.qtAdmin, f.input(f.qt, "0001", "甲", "1980-01-01"))
		b := f.create(t, f.qtAdmin, f.input(f.qt, "0002", "乙", "1981-01-01"))
		f.create(t, f.qtAdmin, f.input(f.qt, "0003", "丙", "1982-01-01"))

		refused := []struct {
			name   string
			st     people.Status
			date   string
			fields []string
		}{
			{"ErrFuture", people.MovedOut, "2026-05-21", []string{"status_date:people.date_future"}},
			{"ErrDateRequired", people.MovedOut, " ", []string{"status_date:field.required"}},
			{"ErrDateFormat", people.MovedOut, "2026/05/19", []string{"status_date:people.date_invalid"}},
			{"ErrBeforeBirth", people.Deceased, "1979-12-31", []string{"status_date:people.date_before_birth"}},
			{"ErrStatus", "gone", "2026-05-19", []string{"status:people.status_invalid"}},
			{"ErrSame", people.Active, "2026-05-19", []string{"status:people.status_same"}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				before := f.counts(t)
				_, err := f.ps.SetStatus(ctx, f.qtAdmin, a.ID, c.st, c.date, "")
				wantRefusal(t, err, errs.Invalid, "error.invalid", c.fields...)
				f.unchanged(t, before)
				if got := f.get(t, a.ID); got.Status != people.Active || got.StatusDate != "" {
					t.Fatalf("status changed to %s %s", got.Status, got.StatusDate)
				}
			})
		}
		t.Run("ErrReviewer", func(t *testing.T) {
			// A reviewer may read the record but not write it; like every refusal on a record it is
			// reported as not found.
			before := f.counts(t)
			_, err := f.ps.SetStatus(ctx, f.qtReviewer, a.ID, people.MovedOut, "2026-05-19", "")
			wantRefusal(t, err, errs.NotFound, "error.not_found")
			f.unchanged(t, before)
		})
		t.Run("MovedOut", func(t *testing.T) {
			got, err := f.ps.SetStatus(ctx, f.qtAdmin, a.ID, people.MovedOut, "2026-05-19", "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != people.MovedOut || got.StatusDate != "2026-05-19" {
				t.Fatalf("got %+v", got)
			}
			if got, err := f.ps.SetStatus(ctx, f.qtAdmin, b.ID, people.Deceased, "2026-05-20", ""); err != nil || got.Status != people.Deceased {
				t.Fatalf("deceased today: %+v %v", got, err)
			}
			for _, c := range []struct {
				st   people.Status
				want []string
			}{
				{"", []string{"丙"}},
				{"all", []string{"甲", "乙", "丙"}},
				{people.MovedOut, []string{"甲"}},
				{people.Deceased, []string{"乙"}},
				{people.Active, []string{"丙"}},
			} {
				if names := f.search(t, f.qtAdmin, people.Filter{TownID: f.town.ID, Status: c.st}); !slices.Equal(names, c.want) {
					t.Fatalf("status %q: %v, want %v", c.st, names, c.want)
				}
			}
			if names := f.search(t, f.qtAdmin, people.Filter{TownID: f.town.ID, Q: "甲"}); len(names) != 0 {
				t.Fatalf("moved-out resident found by default: %v", names)
			}
			vs, err := f.ps.Villages(ctx, f.qtAdmin, f.town.ID)
			if err != nil || vs[0].Residents != 1 {
				t.Fatalf("village count %+v %v", vs, err)
			}
			if es := f.audit(t, "resident.status"); len(es) != 2 || es[1].EntityID != a.ID || es[1].ActorID != f.qtAdmin.AccountID {
				t.Fatalf("audit %+v", es)
			}
		})
		t.Run("BackInRegister", func(t *testing.T) {
			got, err := f.ps.SetStatus(ctx, f.qtAdmin, a.ID, people.Active, "2026-05-20", "")
			if err != nil || got.Status != people.Active {
				t.Fatalf("%+v %v", got, err)
			}
			if names := f.search(t, f.qtAdmin, people.Filter{TownID: f.town.ID}); !slices.Equal(names, []string{"甲", "丙"}) {
				t.Fatalf("got %v", names)
			}
		})
	})
}

func TestUpdateResident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		in := f.input(f.qt, "0001", "张三", "1980-01-01")
		a := f.create(t, f.qtAdmin, in)
		bIn := f.input(f.qt, "0002", "李四", "1981-01-01")
		f.create(t, f.qtAdmin, bIn)

		t.Run("OK", func(t *testing.T) {
			up := in
			up.Name, up.Phone, up.CareTags, up.PartyMember = "张叁", "13912340001", []string{"dibao"}, true
			got, err := f.ps.UpdateResident(ctx, f.qtAdmin, a.ID, up)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "张叁" || got.Phone != "13912340001" || !got.PartyMember || !slices.Equal(got.CareTags, []people.CareTag{people.LowIncome}) ||
				got.IDNumber != in.IDNumber || got.HouseholdNumber != "0001" {
				t.Fatalf("updated %+v", got)
			}
			es := f.audit(t, "resident.update")
			if len(es) != 1 || es[0].ActorID != f.qtAdmin.AccountID || es[0].ActorName != "前疃村书记" || es[0].EntityID != a.ID ||
				!strings.Contains(es[0].Summary, "张三") || !strings.Contains(es[0].Summary, "张叁") ||
				strings.Contains(es[0].Summary, in.IDNumber) || strings.Contains(es[0].Summary, "13912340001") {
				t.Fatalf("audit %+v", es)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			before := f.counts(t)
			up := in
			up.Phone = "1234"
			_, err := f.ps.UpdateResident(ctx, f.qtAdmin, a.ID, up)
			wantRefusal(t, err, errs.Invalid, "error.invalid", "phone:field.phone_invalid")
			f.unchanged(t, before)
		})
		t.Run("ErrDuplicateID", func(t *testing.T) {
			before := f.counts(t)
			up := in
			up.IDNumber, up.BirthDate, up.Gender = bIn.IDNumber, bIn.BirthDate, bIn.Gender
			_, err := f.ps.UpdateResident(ctx, f.qtAdmin, a.ID, up)
			wantRefusal(t, err, errs.Conflict, "people.id_duplicate", "id_number:people.id_duplicate")
			f.unchanged(t, before)
			if got := f.get(t, a.ID); got.IDNumber != in.IDNumber || got.Name != "张叁" {
				t.Fatalf("after refusal %+v", got)
			}
		})
		t.Run("ErrUnknown", func(t *testing.T) {
			_, err := f.ps.UpdateResident(ctx, f.qtAdmin, 999999, in)
			wantRefusal(t, err, errs.NotFound, "error.not_found")
		})
	})
}

func TestUpdateHousehold(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		headIn := f.input(f.qt, "QT-2", "王大", "1960-01-01")
		headIn.Relation = "户主"
		head := f.create(t, f.qtAdmin, headIn)
		wife := f.create(t, f.qtAdmin, f.input(f.qt, "QT-2", "王妻", "1962-01-01"))
		other := f.create(t, f.qtAdmin, f.input(f.qt, "0001", "邻居", "1970-01-01"))
		far := f.create(t, f.townAdmin, f.input(f.dp, "0001", "外村人", "1970-01-01"))
		hh := head.HouseholdID

		h, members, err := f.ps.Household(ctx, f.qtAdmin, hh)
		if err != nil {
			t.Fatal(err)
		}
		if h.HeadResidentID != head.ID || h.HeadName != "王大" || len(members) != 2 {
			t.Fatalf("household %+v members %+v", h, members)
		}

		refused := []struct {
			name   string
			in     people.HouseholdInput
			fields []string
		}{
			{"ErrHeadNotMember", people.HouseholdInput{Address: "前疃村1号", HeadResidentID: other.ID}, []string{"head_resident_id:people.head_not_member"}},
			{"ErrHeadOtherVillage", people.HouseholdInput{HeadResidentID: far.ID}, []string{"head_resident_id:people.head_not_member"}},
			{"ErrHeadUnknown", people.HouseholdInput{HeadResidentID: 999999}, []string{"head_resident_id:people.head_not_member"}},
			{"ErrAddressLong", people.HouseholdInput{Address: strings.Repeat("路", 101), HeadResidentID: head.ID}, []string{"address:field.too_long"}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				before := f.counts(t)
				_, err := f.ps.UpdateHousehold(ctx, f.qtAdmin, hh, c.in)
				wantRefusal(t, err, errs.Invalid, "error.invalid", c.fields...)
				f.unchanged(t, before)
				if h, _, err := f.ps.Household(ctx, f.qtAdmin, hh); err != nil || h.HeadResidentID != head.ID || h.Address != "" {
					t.Fatalf("household changed: %+v %v", h, err)
				}
			})
		}
		t.Run("OK", func(t *testing.T) {
			got, err := f.ps.UpdateHousehold(ctx, f.qtAdmin, hh, people.HouseholdInput{Address: " 前疃村东街1号 ", HeadResidentID: wife.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got.Address != "前疃村东街1号" || got.HeadResidentID != wife.ID || got.HeadName != "王妻" || got.Members != 2 || got.Number != "QT-2" {
				t.Fatalf("household %+v", got)
			}
			es := f.audit(t, "household.update")
			if len(es) != 1 || es[0].ActorID != f.qtAdmin.AccountID || es[0].Entity != "household" || es[0].EntityID != hh || es[0].VillageID != f.qt.ID {
				t.Fatalf("audit %+v", es)
			}
		})
		t.Run("NoHead", func(t *testing.T) {
			got, err := f.ps.UpdateHousehold(ctx, f.qtAdmin, hh, people.HouseholdInput{Address: "前疃村东街1号"})
			if err != nil || got.HeadResidentID != 0 || got.HeadName != "" {
				t.Fatalf("%+v %v", got, err)
			}
		})
	})
}

func TestAuditTrail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		start := f.counts(t)["audit_log"]

		in := f.input(f.qt, "0001", "张三", "1980-01-01")
		in.Phone, in.Relation = "13912340001", "户主"
		r := f.create(t, f.qtAdmin, in)
		up := in
		up.Name = "张叁"
		if _, err := f.ps.UpdateResident(ctx, f.townAdmin, r.ID, up); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ps.UpdateHousehold(ctx, f.qtAdmin, r.HouseholdID, people.HouseholdInput{Address: "前疃村1号", HeadResidentID: r.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ps.Move(ctx, f.townAdmin, r.ID, people.MoveInput{VillageID: f.dp.ID, HouseholdNumber: "0001", Reason: "婚迁"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ps.SetStatus(ctx, f.dpAdmin, r.ID, people.MovedOut, "2026-05-20", ""); err != nil {
			t.Fatal(err)
		}
		// Office mode: 前疃村's admin registers changes for 王奶奶, who has no phone.
		granny := f.create(t, f.qtAdmin, f.input(f.qt, "0002", "王奶奶", "1940-01-01"))
		tok := f.token(t, "前疃村文书", 0, auth.Grant{Role: auth.VillageAdmin, TownID: f.town.ID, VillageID: f.qt.ID})
		if err := f.as.StartOffice(ctx, f.actor(t, tok), granny.ID); err != nil {
			t.Fatal(err)
		}
		clerk := f.actor(t, tok)
		gIn := f.get(t, granny.ID)
		gUp := people.ResidentInput{Name: gIn.Name, Gender: gIn.Gender, BirthDate: "1940-01-01", IDNumber: gIn.IDNumber, Phone: "13912340002"}
		if _, err := f.ps.UpdateResident(ctx, clerk, granny.ID, gUp); err != nil {
			t.Fatal(err)
		}

		es, err := f.as.SearchAudit(ctx, f.townAdmin, auth.AuditFilter{TownID: f.town.ID})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			action  string
			actor   string
			entity  int64
			forName string
		}
		var got []row
		for _, e := range es {
			got = append(got, row{e.Action, e.ActorName, e.EntityID, e.ForName})
			if e.ActorID == 0 || e.At.IsZero() {
				t.Errorf("entry without actor or time: %+v", e)
			}
			if strings.Contains(e.Summary, in.IDNumber) || strings.Contains(e.Summary, gIn.IDNumber) || strings.Contains(e.Summary, "13912340001") {
				t.Errorf("summary keeps an ID number or phone in clear: %s", e.Summary)
			}
		}
		want := []row{
			{"resident.update", "前疃村文书", granny.ID, "王奶奶"},
			{"office.start", "前疃村文书", granny.ID, "王奶奶"},
			{"resident.create", "前疃村书记", granny.ID, ""},
			{"resident.status", "东堡村书记", r.ID, ""},
			{"resident.move", "镇管理员", r.ID, ""},
			{"household.update", "前疃村书记", r.HouseholdID, ""},
			{"resident.update", "镇管理员", r.ID, ""},
			{"resident.create", "前疃村书记", r.ID, ""},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("audit log\n got %+v\nwant %+v", got, want)
		}
		if n := f.counts(t)["audit_log"] - start; n != len(want) {
			t.Fatalf("%d audit rows, want %d", n, len(want))
		}
		_, err = f.as.SearchAudit(ctx, f.qtAdmin, auth.AuditFilter{TownID: f.town.ID})
		wantRefusal(t, err, errs.Forbidden, "error.forbidden")
	})
}

func TestTownsAndVillages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newRegistry(t, d)
		ctx := f.ctx
		district := f.account(t, "区管理员", 0, auth.Grant{Role: auth.DistrictAdmin})
		t.Run("CreateTown", func(t *testing.T) {
			town, err := f.ps.CreateTown(ctx, district, people.TownInput{Code: "110114", Name: " 张家湾镇 "})
			if err != nil || town.Name != "张家湾镇" || town.TimeZone != "Asia/Shanghai" {
				t.Fatalf("%+v %v", town, err)
			}
			towns, err := f.ps.Towns(ctx, f.townAdmin)
			if err != nil || len(towns) != 1 || towns[0].ID != f.town.ID {
				t.Fatalf("town admin's towns %+v %v", towns, err)
			}
			if towns, err := f.ps.Towns(ctx, district); err != nil || len(towns) != 3 {
				t.Fatalf("district's towns %+v %v", towns, err)
			}
		})
		refusedTowns := []struct {
			name   string
			actor  *auth.Actor
			in     people.TownInput
			code   errs.Code
			key    string
			fields []string
		}{
			{"ErrTownAdmin", f.townAdmin, people.TownInput{Code: "110115", Name: "台湖镇"}, errs.Forbidden, "error.forbidden", nil},
			{"ErrCode", district, people.TownInput{Code: "11A", Name: "台湖镇"}, errs.Invalid, "error.invalid", []string{"code:people.town_code_invalid"}},
			{"ErrTimeZone", district, people.TownInput{Code: "110115", Name: "台湖镇", TimeZone: "Mars/Olympus"}, errs.Invalid, "error.invalid", []string{"timezone:people.timezone_invalid"}},
			{"ErrName", district, people.TownInput{Code: "110115", Name: ""}, errs.Invalid, "error.invalid", []string{"name:field.required"}},
			{"ErrDuplicate", district, people.TownInput{Code: "110115", Name: "潞城镇"}, errs.Conflict, "people.town_exists", []string{"name:people.town_exists"}},
		}
		for _, c := range refusedTowns {
			t.Run(c.name, func(t *testing.T) {
				before := f.counts(t)
				_, err := f.ps.CreateTown(ctx, c.actor, c.in)
				wantRefusal(t, err, c.code, c.key, c.fields...)
				f.unchanged(t, before)
			})
		}
		t.Run("CreateVillage", func(t *testing.T) {
			v, err := f.ps.CreateVillage(ctx, f.townAdmin, f.town.ID, people.VillageInput{Name: "大豆各庄村"})
			if err != nil || v.Code != "003" || v.TownID != f.town.ID || !v.Active {
				t.Fatalf("%+v %v", v, err)
			}
			before := f.counts(t)
			_, err = f.ps.CreateVillage(ctx, f.townAdmin, f.town.ID, people.VillageInput{Name: "前疃村"})
			wantRefusal(t, err, errs.Conflict, "people.village_exists", "name:people.village_exists")
			_, err = f.ps.CreateVillage(ctx, f.qtAdmin, f.town.ID, people.VillageInput{Name: "新村"})
			wantRefusal(t, err, errs.Forbidden, "error.forbidden")
			_, err = f.ps.CreateVillage(ctx, f.townAdmin, f.far.TownID, people.VillageInput{Name: "新村"})
			wantRefusal(t, err, errs.Forbidden, "error.forbidden")
			_, err = f.ps.CreateVillage(ctx, f.townAdmin, f.town.ID, people.VillageInput{Name: "新村", Code: "A1"})
			wantRefusal(t, err, errs.Invalid, "error.invalid", "code:people.village_code_invalid")
			f.unchanged(t, before)
			if es := f.audit(t, "village.create"); len(es) != 1 || es[0].EntityID != v.ID || es[0].ActorID != f.townAdmin.AccountID {
				t.Fatalf("audit %+v", es)
			}
		})
	})
}
