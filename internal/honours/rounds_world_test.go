package honours_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/server/servertest"
)

// roundWorld is the small demo town with its town admin, 前疃村's and 东堡村's admins, 前疃村's demo
// resident and party member, and the villages' residents, for rounds and their votes.
type roundWorld struct {
	env                   *servertest.Env
	town, admin, other    *servertest.Client
	resident, party       *servertest.Client
	village, otherVillage int64
	residentID, partyID   int64
	townAccount           int64
	category              int64
	seq                   int
}

func newRoundWorld(t *testing.T, env *servertest.Env) *roundWorld {
	t.Helper()
	w := &roundWorld{env: env, town: env.API(demo.PhoneTownAdmin), admin: env.API(demo.PhoneVillageAdmin), other: env.API(demo.PhoneVillageAdmin2),
		resident: env.API(demo.PhoneResident), party: env.API(demo.PhonePartyMember)}
	w.village = w.id(t, `SELECT id FROM villages WHERE name = '前疃村'`)
	w.otherVillage = w.id(t, `SELECT id FROM villages WHERE name = '东堡村'`)
	w.residentID = w.id(t, `SELECT resident_id FROM accounts WHERE phone = $1`, demo.PhoneResident)
	w.partyID = w.id(t, `SELECT resident_id FROM accounts WHERE phone = $1`, demo.PhonePartyMember)
	w.townAccount = w.id(t, `SELECT id FROM accounts WHERE phone = $1`, demo.PhoneTownAdmin)
	if _, err := env.Sys.DB.Write().Exec(`INSERT INTO honours_categories (town_id, code, name, position, active, created_at) VALUES ($1, 'helping', '', 1, TRUE, $2)
		ON CONFLICT (town_id, code) WHERE code <> '' DO NOTHING`, env.Info.TownID, db.Now()); err != nil {
		t.Fatal(err)
	}
	w.category = w.id(t, `SELECT id FROM honours_categories WHERE town_id = $1 AND code = 'helping'`, env.Info.TownID)
	return w
}

func (w *roundWorld) id(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := w.env.Sys.DB.Read().QueryRow(query, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return id
}

func (w *roundWorld) count(t *testing.T, query string, args ...any) int {
	return int(w.id(t, query, args...))
}

func (w *roundWorld) ids(t *testing.T, query string, args ...any) []int64 {
	t.Helper()
	rows, err := w.env.Sys.DB.Read().Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// nominate admits a nomination of a resident with their consent, as the nominations part would
// leave it.
func (w *roundWorld) nominate(t *testing.T, residentID int64) int64 {
	t.Helper()
	now := db.Now()
	var id int64
	err := w.env.Sys.DB.Write().QueryRow(`INSERT INTO honours_nominations (town_id, village_id, resident_id, category_id, story, by_account, by_name, consent, consent_by, consent_at, status, created_at, updated_at)
		SELECT town_id, village_id, id, $2, '常年照顾独居老人，帮邻居修屋顶', $3, '测试', 'given', 'self', $4, 'admitted', $4, $4 FROM residents WHERE id = $1 RETURNING id`,
		residentID, w.category, w.townAccount, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// villagers are the active residents of a village other than the demo resident and party member,
// in id order.
func (w *roundWorld) villagers(t *testing.T, village int64) []int64 {
	return w.ids(t, `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND id NOT IN ($2, $3) ORDER BY id`, village, w.residentID, w.partyID)
}

// day is a day from today in the town's calendar.
func (w *roundWorld) day(t *testing.T, days int) string {
	t.Helper()
	loc, err := w.env.Sys.People.Zone(context.Background(), w.env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().In(loc).AddDate(0, 0, days).Format("2006-01-02")
}

// round makes and opens a round as the town admin.
func (w *roundWorld) round(t *testing.T, in map[string]any) honours.RoundDetail {
	t.Helper()
	w.seq++
	body := map[string]any{"title": fmt.Sprintf("测试评议 %d", w.seq), "year": time.Now().Year(), "opens_on": w.day(t, 0), "closes_on": w.day(t, 3),
		"seats": 1, "votes_per_voter": 1, "rule": "votes"}
	for k, v := range in {
		body[k] = v
	}
	var d honours.RoundDetail
	if st, b := w.town.JSON("POST", "/api/v1/honours/rounds", body, &d); st != http.StatusCreated {
		t.Fatalf("create round: %d %s", st, b)
	}
	if st, b := w.town.JSON("POST", fmt.Sprintf("/api/v1/honours/rounds/%d/open", d.ID), nil, &d); st != http.StatusOK || d.Status != "open" {
		t.Fatalf("open round: %d %s", st, b)
	}
	return d
}

// end moves a round's period into the past, as if its closing day had gone by.
func (w *roundWorld) end(t *testing.T, id int64) {
	t.Helper()
	now := db.Now()
	if _, err := w.env.Sys.DB.Write().Exec(`UPDATE honours_rounds SET opens_at = $1, closes_at = $2 WHERE id = $3`, now.Add(-72*time.Hour), now.Add(-time.Minute), id); err != nil {
		t.Fatal(err)
	}
}

// login opens an API session for a resident, making a login with the resident role for them.
func (w *roundWorld) login(t *testing.T, residentID int64) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	w.seq++
	var account int64
	err := w.env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		var village int64
		if err := tx.QueryRowContext(ctx, `SELECT village_id FROM residents WHERE id = $1`, residentID).Scan(&village); err != nil {
			return err
		}
		if account, err = w.env.Sys.Auth.InsertAccount(ctx, tx, fmt.Sprintf("1370001%04d", w.seq), "测试村民", residentID, "", false); err != nil {
			return err
		}
		return w.env.Sys.Auth.InsertGrant(ctx, tx, account, auth.Grant{Role: auth.ResidentRole, TownID: w.env.Info.TownID, VillageID: village})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	if _, err := w.env.Sys.DB.Write().ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, 'api', $3, $4, $5)`,
		hex.EncodeToString(sum[:]), account, tok, db.Now(), db.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := w.env.Anonymous()
	c.Token = tok
	return c
}

// planted is a vote written straight into the table, as a ballot-stuffer's would arrive.
type planted struct {
	nomination, voter  int64
	account            int64 // 0: a fresh account of the voter's, made accountAge before the vote
	accountAge         time.Duration
	assisted           string
	device, addr       string
	at                 time.Time
	village, household int64 // 0: the voter's own
}

func (w *roundWorld) plant(t *testing.T, round int64, votes []planted) {
	t.Helper()
	ctx := context.Background()
	err := w.env.Sys.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, v := range votes {
			var village, household int64
			if err := tx.QueryRowContext(ctx, `SELECT village_id, household_id FROM residents WHERE id = $1`, v.voter).Scan(&village, &household); err != nil {
				return err
			}
			if v.village != 0 {
				village = v.village
			}
			if v.household != 0 {
				household = v.household
			}
			account := v.account
			if account == 0 {
				w.seq++
				if err := tx.QueryRowContext(ctx, `INSERT INTO accounts (phone, name, resident_id, created_at) VALUES ($1, '测试', $2, $3) RETURNING id`,
					fmt.Sprintf("1360002%04d", w.seq), v.voter, v.at.Add(-v.accountAge)).Scan(&account); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_votes (round_id, nomination_id, voter_id, village_id, household_id, account_id, assisted_by_name, device, addr, cast_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, round, v.nomination, v.voter, village, household, account, v.assisted, v.device, v.addr, v.at.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// check runs the rules as the town admin and returns the flags by rule.
func (w *roundWorld) check(t *testing.T, round int64) map[string][]honours.VoteFlag {
	t.Helper()
	var fs []honours.VoteFlag
	if st, b := w.town.JSON("POST", fmt.Sprintf("/api/v1/honours/rounds/%d/check", round), nil, &fs); st != http.StatusOK {
		t.Fatalf("check: %d %s", st, b)
	}
	out := map[string][]honours.VoteFlag{}
	for _, f := range fs {
		out[f.Rule] = append(out[f.Rule], f)
	}
	return out
}
