package people_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

// staffHash is the demo password hashed once: argon2id is slow on purpose.
var staffHash = sync.OnceValue(func() string { return auth.HashPassword(demo.DemoPassword) })

// addStaff gives the demo town an account with one role in a village.
func addStaff(t *testing.T, env *servertest.Env, phone, name string, role auth.Role, village int64) {
	t.Helper()
	ctx := context.Background()
	err := env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := env.Sys.Auth.InsertAccount(ctx, tx, phone, name, 0, staffHash(), false)
		if err != nil {
			return err
		}
		return env.Sys.Auth.InsertGrant(ctx, tx, id, auth.Grant{Role: role, TownID: env.Info.TownID, VillageID: village})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// truth is a resident as the register holds them: the full ID number and the birth date.
type truth struct {
	id        int64
	household int64
	number    string
	birth     time.Time
}

func registered(t *testing.T, env *servertest.Env, village int64) []truth {
	t.Helper()
	rows, err := env.Sys.DB.Read().Query(`SELECT id, household_id, id_enc, birth_date FROM residents WHERE village_id = $1 ORDER BY id`, village)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []truth
	for rows.Next() {
		var x truth
		var enc []byte
		var birth string
		if err := rows.Scan(&x.id, &x.household, &enc, &birth); err != nil {
			t.Fatal(err)
		}
		if x.number, err = env.Sys.People.Cipher.Decrypt(enc); err != nil {
			t.Fatal(err)
		}
		x.birth, _ = time.Parse("2006-01-02", birth)
		out = append(out, x)
	}
	if err := rows.Err(); err != nil || len(out) < 10 {
		t.Fatalf("%d residents in the village: %v", len(out), err)
	}
	return out
}

// birthForms are the ways a page or a sheet may write a date.
func birthForms(d time.Time) []string {
	return []string{d.Format("2006-01-02"), d.Format("20060102"), d.Format("2006/01/02"), d.Format("2006年1月2日"), d.Format("2006年01月02日"),
		d.Format("2006-1-2"), d.Format("2006.01.02")}
}

// candidates counts the ID numbers that fit what a reader learnt of a resident: the masked number
// with its first 3 and last 4 characters, and the age in years on today. The reader is granted the
// whole 6-digit area code, which the town's own code gives away for most people born there.
func candidates(area, masked string, age int, today time.Time) int {
	n := 0
	for d := today.AddDate(-age-1, 0, 0); !d.After(today); d = d.AddDate(0, 0, 1) {
		if (people.Resident{BirthDate: d}).Age(today) != age {
			continue
		}
		first17 := area + d.Format("20060102") + masked[14:17]
		if people.IDCheckChar(first17) == masked[17] {
			n++
		}
	}
	return n
}

var (
	maskedID = regexp.MustCompile(`^[0-9]{3}\*{11}[0-9X]{4}$`)
	// wideMask is the mask that showed the area code whole and left exactly the birth date hidden.
	wideMask = regexp.MustCompile(`[0-9]{6}\*{8}[0-9X]{4}`)
)

// TestMaskedIDCannotBeRebuilt: a reviewer, a shopkeeper and a team leader, who may read the
// residents of their village but not see their ID numbers, read everything the server gives them
// about those residents: the lists and the pages of residents and households, the API, the export
// and the resident's own pages in office mode. None of it holds a birth date or more than the
// first 3 and last 4 characters of an ID number; an ID number rebuilt from the masked number and
// the age has many candidates, never one; and a search by a candidate does not say which is right.
func TestMaskedIDCannotBeRebuilt(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		qt := villageID(t, env, "前疃村")
		roles := []struct {
			phone string
			role  auth.Role
		}{{"13900000091", auth.Reviewer}, {"13900000092", auth.Shopkeeper}, {"13900000093", auth.TeamLeader}}
		for _, r := range roles {
			addStaff(t, env, r.phone, "前疃村"+string(r.role), r.role, qt)
		}
		truths := registered(t, env, qt)
		today := people.Town{}.Today(time.Now())
		var found people.ResidentList
		if st, body := env.API(demo.PhoneTownAdmin).JSON("GET", fmt.Sprintf("/api/v1/residents?village_id=%d&status=all&q=%s", qt, truths[0].number), nil, &found); st != 200 || found.Total != 1 {
			t.Fatalf("the town admin's search by ID number: %d %.300s", st, body)
		}

		for _, r := range roles {
			t.Run(string(r.role), func(t *testing.T) {
				c := login(t, env, r.phone)
				var read strings.Builder // everything the role was given
				fetch := func(method, path string) (int, string) {
					req, _ := http.NewRequest(method, env.URL+path, nil)
					if method == "POST" {
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					}
					st, _, body := send(t, c, req)
					fmt.Fprintf(&read, "\n==== %s %s %d\n%s", method, path, st, body)
					return st, body
				}
				// The API's list, page by page: what a script would take.
				var items []people.ResidentJSON
				for page := 1; ; page++ {
					var list people.ResidentList
					st, body := fetch("GET", fmt.Sprintf("/api/v1/residents?village_id=%d&status=all&page=%d", qt, page))
					if st != http.StatusOK {
						t.Fatalf("API list: %d %.300s", st, body)
					}
					if err := json.Unmarshal([]byte(body), &list); err != nil {
						t.Fatal(err)
					}
					items = append(items, list.Items...)
					if page >= list.Pages {
						break
					}
				}
				if len(items) != len(truths) {
					t.Fatalf("the API lists %d of the village's %d residents", len(items), len(truths))
				}
				for page := 1; page <= (len(truths)+people.PageSize-1)/people.PageSize; page++ {
					if st, _ := fetch("GET", fmt.Sprintf("/admin/residents?village_id=%d&status=all&page=%d", qt, page)); st != http.StatusOK {
						t.Fatalf("residents page %d: %d", page, st)
					}
				}
				fetch("GET", fmt.Sprintf("/admin/villages/%d", qt))
				households := map[int64]bool{}
				for _, x := range truths {
					if st, body := fetch("GET", fmt.Sprintf("/admin/residents/%d", x.id)); st != http.StatusOK {
						t.Fatalf("resident page: %d %.300s", st, body)
					}
					if st, body := fetch("GET", fmt.Sprintf("/api/v1/residents/%d", x.id)); st != http.StatusOK {
						t.Fatalf("API resident: %d %.300s", st, body)
					}
					if !households[x.household] {
						households[x.household] = true
						fetch("GET", fmt.Sprintf("/admin/households/%d", x.household))
					}
				}
				if st, _ := fetch("GET", fmt.Sprintf("/admin/export?village_id=%d", qt)); st == http.StatusOK {
					t.Errorf("the export was given to a %s", r.role)
				}
				// Office mode: the resident's own pages, opened by staff acting for them.
				for _, x := range truths[:3] {
					if st, body := fetch("POST", fmt.Sprintf("/admin/office/%d", x.id)); st != http.StatusSeeOther {
						t.Fatalf("office mode: %d %.300s", st, body)
					}
					fetch("GET", "/")
					fetch("GET", "/api/v1/me")
					fetch("GET", "/bank")
					fetch("GET", "/bank/statement")
					fetch("POST", "/admin/office/end")
				}
				for _, p := range []string{"/admin", "/admin/bank/cards?village_id=" + fmt.Sprint(qt), "/admin/bank/claims", "/admin/volunteer"} {
					fetch("GET", p)
				}
				text := read.String()

				// A number guessed from its mask and the age is not confirmed by a search.
				for _, x := range truths[:3] {
					var found people.ResidentList
					st, _, body := get(t, c, env, fmt.Sprintf("/api/v1/residents?village_id=%d&status=all&q=%s", qt, x.number))
					if err := json.Unmarshal([]byte(body), &found); st != http.StatusOK || err != nil || found.Total != 0 || len(found.Items) != 0 {
						t.Errorf("API search by resident %d's ID number: %d %.300s", x.id, st, body)
					}
					st, _, body = get(t, c, env, fmt.Sprintf("/admin/residents?village_id=%d&status=all&q=%s", qt, x.number))
					if st != http.StatusOK || strings.Contains(body, fmt.Sprintf(`href="/admin/residents/%d"`, x.id)) {
						t.Errorf("page search by resident %d's ID number: %d, found", x.id, st)
					}
				}

				if m := wideMask.FindString(text); m != "" {
					t.Errorf("a mask that hides only the birth date: %s", m)
				}
				for _, x := range truths {
					if strings.Contains(text, x.number) || strings.Contains(text, x.number[3:14]) {
						t.Errorf("resident %d: their ID number's hidden digits were given", x.id)
					}
					for _, f := range birthForms(x.birth) {
						if strings.Contains(text, f) {
							t.Errorf("resident %d: their birth date was given as %q", x.id, f)
							break
						}
					}
				}
				byID := map[int64]truth{}
				for _, x := range truths {
					byID[x.id] = x
				}
				fewest := -1
				for _, it := range items {
					x := byID[it.ID]
					if it.BirthDate != "" || !maskedID.MatchString(it.IDNumber) || it.Age != (people.Resident{BirthDate: x.birth}).Age(today) {
						t.Errorf("resident %d: birth_date %q, id_number %q, age %d", it.ID, it.BirthDate, it.IDNumber, it.Age)
						continue
					}
					if n := candidates(x.number[:6], it.IDNumber, it.Age, today); fewest < 0 || n < fewest {
						fewest = n
					}
				}
				if fewest < 2 {
					t.Fatalf("an ID number was rebuilt from its mask and age: %d candidates", fewest)
				}
				t.Logf("%s: at least %d candidate ID numbers for each of %d residents", r.role, fewest, len(items))
			})
		}
	})
}

// TestMigrationNarrowsStoredMasks: migration 0013 rewrites the masks stored with the first 6
// characters shown, and a row an older server writes after it is masked anew when read.
func TestMigrationNarrowsStoredMasks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRegistry(t, d)
		res := r.create(t, r.qtAdmin, r.input(r.qt, "001", "张三", "1980-01-02"))
		full := r.get(t, res.ID).IDNumber
		old := full[:6] + "********" + full[14:]
		if _, err := d.Write().ExecContext(r.ctx, `UPDATE residents SET id_masked = $1 WHERE id = $2`, old, res.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := r.ps.Resident(r.ctx, r.qtReviewer, res.ID); err != nil || got.IDMasked != people.MaskID(full) {
			t.Fatalf("read of an old row: %q %v, want %q", got.IDMasked, err, people.MaskID(full))
		}
		ms, err := db.Migrations(d.Engine)
		if err != nil {
			t.Fatal(err)
		}
		var sql13 string
		for _, m := range ms {
			if m.Version == 13 {
				sql13 = m.SQL
			}
		}
		if sql13 == "" {
			t.Fatal("no migration 0013")
		}
		if _, err := d.Write().ExecContext(r.ctx, sql13); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := d.Read().QueryRowContext(r.ctx, `SELECT id_masked FROM residents WHERE id = $1`, res.ID).Scan(&stored); err != nil || stored != full[:3]+"***********"+full[14:] {
			t.Fatalf("stored mask %q (%v), want %q", stored, err, people.MaskID(full))
		}
	})
}
