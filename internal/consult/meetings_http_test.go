package consult_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// meetingWorld is a demo town with 前疃村's admin, the town's admin, 东堡村's admin and 前疃村's
// demo resident logged in through the API.
type meetingWorld struct {
	env                           *servertest.Env
	admin, town, other, resident  *servertest.Client
	village, otherVillage, townID int64
}

func newMeetingWorld(t *testing.T, d *db.DB) *meetingWorld {
	t.Helper()
	env := servertest.New(t, d)
	w := &meetingWorld{env: env, admin: env.API(demo.PhoneVillageAdmin), town: env.API(demo.PhoneTownAdmin), other: env.API(demo.PhoneVillageAdmin2),
		resident: env.API(demo.PhoneResident), townID: env.Info.TownID}
	q := env.Sys.DB.Read()
	if err := q.QueryRowContext(context.Background(), `SELECT id FROM villages WHERE name = '前疃村'`).Scan(&w.village); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(context.Background(), `SELECT id FROM villages WHERE name = '东堡村'`).Scan(&w.otherVillage); err != nil {
		t.Fatal(err)
	}
	return w
}

// meetingLogin gives a resident a login and an API session without a password check.
func meetingLogin(t *testing.T, env *servertest.Env, residentID int64) *servertest.Client {
	t.Helper()
	ctx := context.Background()
	d := env.Sys.DB
	var villageID, townID int64
	if err := d.Read().QueryRowContext(ctx, `SELECT r.village_id, v.town_id FROM residents r JOIN villages v ON v.id = r.village_id WHERE r.id = $1`, residentID).Scan(&villageID, &townID); err != nil {
		t.Fatal(err)
	}
	var account int64
	err := d.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE resident_id = $1`, residentID).Scan(&account)
	if db.IsNoRows(err) {
		err = d.Write().QueryRowContext(ctx, `INSERT INTO accounts (phone, name, resident_id, password_hash, created_at) VALUES ($1, $2, $3, 'x', $4) RETURNING id`,
			fmt.Sprintf("1360000%04d", residentID%10000), "居民", residentID, db.Now()).Scan(&account)
		if err == nil {
			_, err = d.Write().ExecContext(ctx, `INSERT INTO account_roles (account_id, role, town_id, village_id, created_at) VALUES ($1, 'resident', $2, $3, $4)`,
				account, townID, villageID, db.Now())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	if _, err := d.Write().ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, 'api', $3, $4, $5)`,
		hex.EncodeToString(sum[:]), account, tok, db.Now(), db.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := env.Anonymous()
	c.Token = tok
	return c
}

// meetingResidents are n active residents of a village without a demo login.
func meetingResidents(t *testing.T, env *servertest.Env, village int64, n int) []int64 {
	t.Helper()
	rows, err := env.Sys.DB.Read().QueryContext(context.Background(), `SELECT id FROM residents WHERE village_id = $1 AND status = 'active' AND phone NOT LIKE '139000000%'
		AND id NOT IN (SELECT resident_id FROM accounts WHERE resident_id IS NOT NULL) ORDER BY id LIMIT $2`, village, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		out = append(out, id)
	}
	if len(out) < n {
		t.Fatalf("only %d residents in village %d", len(out), village)
	}
	return out
}

// meetingCreate plans an open meeting of 前疃村 as its admin, tomorrow 09:00–11:00.
func (w *meetingWorld) meetingCreate(t *testing.T, capacity int) consult.MeetingDetail {
	t.Helper()
	day := time.Now().Add(48 * time.Hour).Format("2006-01-02")
	var m consult.MeetingDetail
	st, body := w.admin.JSON("POST", "/api/v1/consult/meetings", map[string]any{"village_id": w.village, "level": "village", "title": "道路硬化议事会",
		"starts_at": day + " 09:00", "ends_at": day + " 11:00", "place": "村委会", "host": "王主任", "open": true, "capacity": capacity}, &m)
	if st != 201 {
		t.Fatalf("create meeting: %d %s", st, body)
	}
	return m
}

// meetingBegin moves a meeting's time to the last hour, as if it were being held now.
func (w *meetingWorld) meetingBegin(t *testing.T, id int64) {
	t.Helper()
	now := db.Now()
	if _, err := w.env.Sys.DB.Write().ExecContext(context.Background(), `UPDATE consult_meetings SET starts_at = $1, ends_at = $2 WHERE id = $3`,
		now.Add(-time.Hour), now.Add(time.Hour), id); err != nil {
		t.Fatal(err)
	}
}

func meetingGet(t *testing.T, c *servertest.Client, id int64) consult.MeetingDetail {
	t.Helper()
	var m consult.MeetingDetail
	if st, body := c.JSON("GET", fmt.Sprintf("/api/v1/consult/meetings/%d", id), nil, &m); st != 200 {
		t.Fatalf("meeting: %d %s", st, body)
	}
	return m
}

func meetingInbox(t *testing.T, c *servertest.Client) string {
	t.Helper()
	var in struct {
		Messages []struct{ Title, Body string }
	}
	if st, body := c.JSON("GET", "/api/v1/notifications", nil, &in); st != 200 {
		t.Fatalf("inbox: %d %s", st, body)
	}
	var b strings.Builder
	for _, m := range in.Messages {
		b.WriteString(m.Title + "：" + m.Body + "\n")
	}
	return b.String()
}

// meetingCount counts rows of a table of a meeting.
func meetingCount(t *testing.T, env *servertest.Env, where string, args ...any) int {
	t.Helper()
	var n int
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMeetingCloseRefused: closing a meeting without minutes, attendance or a decision is refused
// with each missing piece named, and stores nothing; with them it closes.
func TestMeetingCloseRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newMeetingWorld(t, d)
		m := w.meetingCreate(t, 5)
		w.meetingBegin(t, m.ID)
		path := fmt.Sprintf("/api/v1/consult/meetings/%d", m.ID)
		st, body := w.admin.JSON("POST", path+"/close", map[string]any{}, nil)
		if st != 422 || !strings.Contains(body, `"minutes"`) || !strings.Contains(body, `"attendance"`) || !strings.Contains(body, `"no_decision"`) {
			t.Fatalf("close with nothing: %d %s", st, body)
		}
		// Minutes and attendance but no decision nor no_decision: still refused, naming it alone.
		st, body = w.admin.JSON("POST", path+"/close", map[string]any{"minutes": "讨论了道路硬化", "attendance": 12}, nil)
		if st != 422 || strings.Contains(body, `"minutes"`) || !strings.Contains(body, `"no_decision"`) {
			t.Fatalf("close without a decision: %d %s", st, body)
		}
		if got := meetingGet(t, w.admin, m.ID); got.Status != "planned" || got.Minutes != "" || got.Attendance != 0 {
			t.Fatalf("a refused close stored something: %+v", got.Meeting)
		}
		// The page says the same before asking.
		b := w.env.Browser(demo.PhoneVillageAdmin)
		if st, _ := b.PostForm(fmt.Sprintf("/admin/consult/meetings/%d/close", m.ID), url.Values{}); st != 422 {
			t.Fatalf("the page's close with nothing: %d", st)
		}
		// Closing with all three (and no decision reached) works.
		var closed consult.MeetingDetail
		if st, body := w.admin.JSON("POST", path+"/close", map[string]any{"minutes": "讨论了道路硬化", "attendance": 12, "no_decision": true}, &closed); st != 200 || closed.Status != "closed" || !closed.NoDecision || closed.Attendance != 12 {
			t.Fatalf("close: %d %s", st, body)
		}
		// Closed: no more records.
		if st, _ := w.admin.JSON("POST", path+"/decisions", map[string]any{"body": "晚了"}, nil); st != 409 {
			t.Fatalf("a decision after closing: %d", st)
		}
	})
}

// TestMeetingRegistrationRace: a meeting with one place and eight residents racing for it registers
// exactly one, the rest waiting; when the registered one cancels, the first waiting gets the place
// and is told.
func TestMeetingRegistrationRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newMeetingWorld(t, d)
		m := w.meetingCreate(t, 1)
		ids := meetingResidents(t, w.env, w.village, 8)
		clients := make([]*servertest.Client, len(ids))
		for i, id := range ids {
			clients[i] = meetingLogin(t, w.env, id)
		}
		path := fmt.Sprintf("/api/v1/consult/meetings/%d/registrations", m.ID)
		var wg sync.WaitGroup
		statuses := make([]int, len(clients))
		mine := make([]string, len(clients))
		start := make(chan struct{})
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var got consult.MeetingDetail
				statuses[i], _ = c.JSON("POST", path, nil, &got)
				mine[i] = got.Mine
			}()
		}
		close(start)
		wg.Wait()
		registered := -1
		for i, st := range statuses {
			if st != 200 {
				t.Fatalf("registration %d: %d", i, st)
			}
			if mine[i] == "registered" {
				if registered >= 0 {
					t.Fatalf("two registered for one place: %v", mine)
				}
				registered = i
			} else if mine[i] != "waiting" {
				t.Fatalf("registration %d: %q", i, mine[i])
			}
		}
		if registered < 0 {
			t.Fatalf("nobody registered: %v", mine)
		}
		if n := meetingCount(t, w.env, `consult_registrations WHERE meeting_id = $1 AND status = 'registered'`, m.ID); n != 1 {
			t.Fatalf("%d registered in the table", n)
		}
		if n := meetingCount(t, w.env, `consult_registrations WHERE meeting_id = $1 AND status = 'waiting'`, m.ID); n != len(ids)-1 {
			t.Fatalf("%d waiting in the table", n)
		}
		// Again, through the service itself, where the requests overlap more closely: a few
		// meetings of one place each, every resident racing for it.
		actors := make([]*auth.Actor, len(clients))
		for i, c := range clients {
			a, err := w.env.Sys.Auth.Authenticate(context.Background(), c.Token)
			if err != nil {
				t.Fatal(err)
			}
			actors[i] = a
		}
		for range 5 {
			m2 := w.meetingCreate(t, 1)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, a := range actors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if _, err := w.env.Sys.Consult.Register(context.Background(), a, m2.ID); err != nil {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if n := meetingCount(t, w.env, `consult_registrations WHERE meeting_id = $1 AND status = 'registered'`, m2.ID); n != 1 {
				t.Fatalf("%d registered for one place", n)
			}
		}
		// Registering again changes nothing.
		if st, _ := clients[registered].JSON("POST", path, nil, nil); st != 200 || meetingCount(t, w.env, `consult_registrations WHERE meeting_id = $1 AND status = 'registered'`, m.ID) != 1 {
			t.Fatalf("registering twice: %d", st)
		}
		// The first waiting, by the time they registered.
		var first int64
		if err := w.env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT resident_id FROM consult_registrations WHERE meeting_id = $1 AND status = 'waiting'
			ORDER BY created_at, resident_id LIMIT 1`, m.ID).Scan(&first); err != nil {
			t.Fatal(err)
		}
		st, loc := clients[registered].Submit(fmt.Sprintf("/consult/meetings/%d/registrations/cancel", m.ID), url.Values{})
		if st != 303 || !strings.Contains(loc, "flash.consult_meeting_unregistered") {
			t.Fatalf("cancel: %d %s", st, loc)
		}
		var now int64
		if err := w.env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT resident_id FROM consult_registrations WHERE meeting_id = $1 AND status = 'registered'`, m.ID).Scan(&now); err != nil {
			t.Fatal(err)
		}
		if now != first {
			t.Fatalf("the place went to %d, not the first waiting %d", now, first)
		}
		for i, id := range ids {
			if id == first && !strings.Contains(meetingInbox(t, clients[i]), "您已从候补转为正式报名") {
				t.Errorf("the promoted resident was not told: %q", meetingInbox(t, clients[i]))
			}
		}
		// The staff's page lists them by name, without ids.
		b := w.env.Browser(demo.PhoneVillageAdmin)
		st, body := b.Get(fmt.Sprintf("/admin/consult/meetings/%d", m.ID))
		if st != 200 || !strings.Contains(body, "候补中") || !strings.Contains(body, "已报名") {
			t.Fatalf("conduct page: %d %.300s", st, body)
		}
	})
}

// TestMeetingScope: another village's staff get 404 on reading and on every write; a resident of
// another village cannot register (404); a resident of the village is forbidden the hosts' writes.
func TestMeetingScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newMeetingWorld(t, d)
		m := w.meetingCreate(t, 3)
		api := fmt.Sprintf("/api/v1/consult/meetings/%d", m.ID)
		page := fmt.Sprintf("/admin/consult/meetings/%d", m.ID)
		if st, _ := w.other.JSON("GET", api, nil, nil); st != 404 {
			t.Errorf("another village's staff read the meeting: %d", st)
		}
		for p, in := range map[string]any{"/registrations": nil, "/opinions": map[string]any{"participant_id": 1, "body": "x"}, "/decisions": map[string]any{"body": "x"},
			"/close": map[string]any{"minutes": "x", "attendance": 1, "no_decision": true}} {
			if st, body := w.other.JSON("POST", api+p, in, nil); st != 404 {
				t.Errorf("another village's staff POST %s: %d %s", p, st, body)
			}
		}
		ob := w.env.Browser(demo.PhoneVillageAdmin2)
		if st, _ := ob.Get(page); st != 404 {
			t.Errorf("another village's staff opened the conduct page: %d", st)
		}
		for _, p := range []string{"", "/participants", "/opinions", "/decisions", "/site-notes", "/minutes", "/checkins", "/close", "/cancel"} {
			if st, _ := ob.PostForm(page+p, url.Values{"name": {"x"}, "kind": {"cppcc"}, "unit": {"x"}, "body": {"x"}, "decision": {"x"}, "site_notes": {"x"}, "minutes": {"x"},
				"confirmed": {"1"}, "reason": {"x"}, "no_decision": {"1"}, "attendance": {"3"}}); st != 404 {
				t.Errorf("another village's staff POST %s: %d", page+p, st)
			}
		}
		// A resident of 东堡村 cannot see or register.
		other := meetingResidents(t, w.env, w.otherVillage, 1)
		oc := meetingLogin(t, w.env, other[0])
		if st, _ := oc.JSON("POST", api+"/registrations", nil, nil); st != 404 {
			t.Errorf("a resident of another village registered: %d", st)
		}
		if st, _ := oc.JSON("GET", api, nil, nil); st != 404 {
			t.Errorf("a resident of another village read the meeting: %d", st)
		}
		// A resident of 前疃村 may read and register, not host.
		if st, _ := w.resident.JSON("POST", api+"/decisions", map[string]any{"body": "我说了算"}, nil); st != 403 {
			t.Errorf("a resident recorded a decision: %d", st)
		}
		if n := meetingCount(t, w.env, `consult_decisions WHERE meeting_id = $1`, m.ID) + meetingCount(t, w.env, `consult_participants WHERE meeting_id = $1`, m.ID) +
			meetingCount(t, w.env, `consult_registrations WHERE meeting_id = $1`, m.ID); n != 0 {
			t.Errorf("refused writes stored %d rows", n)
		}
		if got := meetingGet(t, w.admin, m.ID); got.Status != "planned" || got.Minutes != "" || got.SiteNotes != "" || got.Title != "道路硬化议事会" {
			t.Errorf("refused writes changed the meeting: %+v", got.Meeting)
		}
		// Town-wide meetings need the town's admin.
		day := time.Now().Add(48 * time.Hour).Format("2006-01-02")
		if st, _ := w.admin.JSON("POST", "/api/v1/consult/meetings", map[string]any{"village_id": 0, "level": "town", "title": "镇议事厅",
			"starts_at": day + " 09:00", "ends_at": day + " 11:00", "place": "镇政府", "host": "镇长"}, nil); st != 404 && st != 403 {
			t.Errorf("a village's admin planned a town meeting: %d", st)
		}
		if st, body := w.town.JSON("POST", "/api/v1/consult/meetings", map[string]any{"village_id": 0, "level": "town", "title": "镇议事厅",
			"starts_at": day + " 09:00", "ends_at": day + " 08:00", "place": "镇政府", "host": "镇长"}, nil); st != 422 || !strings.Contains(body, `"ends_at"`) {
			t.Errorf("ends before starts: %d %s", st, body)
		}
	})
}

// TestMeetingClosePublishes: a topic accepted onto the meeting, supported by residents; the
// meeting is held (a resident participant checks in, speaks, a decision on the topic), closed;
// the topic is decided with the decision as its outcome, its supporters and the registered are
// told, and the public minutes show the resident speaker as 村民 and surname only.
func TestMeetingClosePublishes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newMeetingWorld(t, d)
		env, ctx := w.env, context.Background()
		m := w.meetingCreate(t, 5)
		// A topic of 前疃村, supported by two residents, accepted onto the meeting.
		people := meetingResidents(t, env, w.village, 3)
		supporters := []*servertest.Client{meetingLogin(t, env, people[0]), meetingLogin(t, env, people[1])}
		var cat int64
		if err := env.Sys.DB.Read().QueryRowContext(ctx, `SELECT id FROM consult_categories WHERE code = 'roads'`).Scan(&cat); err != nil {
			t.Fatal(err)
		}
		var topicID int64
		if err := env.Sys.DB.Write().QueryRowContext(ctx, `INSERT INTO consult_topics (town_id, village_id, category_id, title, description, source, created_at, updated_at)
			VALUES ($1, $2, $3, '村东路面破损', '坑洼多', 'village', $4, $4) RETURNING id`, w.townID, w.village, cat, db.Now()).Scan(&topicID); err != nil {
			t.Fatal(err)
		}
		for _, p := range people[:2] {
			if _, err := env.Sys.DB.Write().ExecContext(ctx, `INSERT INTO consult_supports (topic_id, resident_id, created_at) VALUES ($1, $2, $3)`, topicID, p, db.Now()); err != nil {
				t.Fatal(err)
			}
		}
		admin, err := env.Sys.Auth.Authenticate(ctx, w.admin.Token)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Sys.Consult.Accept(ctx, admin, topicID, m.ID); err != nil {
			t.Fatal(err)
		}
		// The third resident registers.
		reg := meetingLogin(t, env, people[2])
		if st, body := reg.JSON("POST", fmt.Sprintf("/api/v1/consult/meetings/%d/registrations", m.ID), nil, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		// A resident participant, picked by search on the conduct page, and a department's contact.
		var speaker struct {
			ID   int64
			Name string
			Ph   string
		}
		if err := env.Sys.DB.Read().QueryRowContext(ctx, `SELECT id, name, phone FROM residents WHERE id = $1`, people[0]).Scan(&speaker.ID, &speaker.Name, &speaker.Ph); err != nil {
			t.Fatal(err)
		}
		b := env.Browser(demo.PhoneVillageAdmin)
		page := fmt.Sprintf("/admin/consult/meetings/%d", m.ID)
		st, body := b.Get(page + "?q=" + url.QueryEscape(speaker.Name))
		if st != 200 || !strings.Contains(body, speaker.Name) {
			t.Fatalf("search: %d", st)
		}
		if st, loc := b.Submit(page+"/participants", url.Values{"resident_id": {fmt.Sprint(speaker.ID)}, "kind": {"resident"}}); st != 303 || !strings.Contains(loc, "flash.consult_meeting_participant") {
			t.Fatalf("add resident participant: %d %s", st, loc)
		}
		if st, loc := b.Submit(page+"/participants", url.Values{"kind": {"department"}, "name": {"李科长"}, "unit": {"区交通局"}, "phone": {"01080000000"}}); st != 303 {
			t.Fatalf("add outside participant: %d %s", st, loc)
		}
		// A resident of another village is not a participant to pick.
		other := meetingResidents(t, env, w.otherVillage, 1)
		if st, _ := b.PostForm(page+"/participants", url.Values{"resident_id": {fmt.Sprint(other[0])}, "kind": {"resident"}}); st != 422 {
			t.Fatalf("a resident of another village as participant: %d", st)
		}
		got := meetingGet(t, w.admin, m.ID)
		if len(got.Participants) != 2 || len(got.Agenda) != 1 {
			t.Fatalf("participants %+v, agenda %+v", got.Participants, got.Agenda)
		}
		var resPart, deptPart int64
		for _, p := range got.Participants {
			if p.ResidentID != 0 {
				resPart = p.ID
			} else {
				deptPart = p.ID
			}
		}
		// Held now: check in, speak, decide.
		w.meetingBegin(t, m.ID)
		if st, loc := b.Submit(page+"/checkins", url.Values{"resident_ids": {fmt.Sprint(speaker.ID), fmt.Sprint(people[2])}, "participant_ids": {fmt.Sprint(deptPart)}}); st != 303 {
			t.Fatalf("check in: %d %s", st, loc)
		}
		if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/consult/meetings/%d/opinions", m.ID), map[string]any{"participant_id": resPart, "topic_id": topicID, "body": "路太烂了，下雨走不了"}, nil); st != 201 {
			t.Fatalf("opinion: %d %s", st, body)
		}
		if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/consult/meetings/%d/opinions", m.ID), map[string]any{"participant_id": deptPart, "topic_id": topicID, "body": "今年列入计划"}, nil); st != 201 {
			t.Fatalf("opinion: %d %s", st, body)
		}
		if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/consult/meetings/%d/decisions", m.ID), map[string]any{"topic_id": topicID, "body": "五月底前硬化村东路"}, nil); st != 201 {
			t.Fatalf("decision: %d %s", st, body)
		}
		if st, loc := b.Submit(page+"/site-notes", url.Values{"site_notes": {"路面三处坑洼"}}); st != 303 {
			t.Fatalf("site notes: %d %s", st, loc)
		}
		// The page asks first, then closes; the attendance is counted from the roll (3).
		if st, body := b.PostForm(page+"/close", url.Values{"minutes": {"议定硬化村东路"}}); st != 200 || !strings.Contains(body, `name="confirmed"`) {
			t.Fatalf("close asks first: %d", st)
		}
		if meetingGet(t, w.admin, m.ID).Status != "planned" {
			t.Fatal("asking closed the meeting")
		}
		if st, loc := b.Submit(page+"/close", url.Values{"minutes": {"议定硬化村东路"}, "confirmed": {"1"}}); st != 303 || !strings.Contains(loc, "flash.consult_meeting_closed") {
			t.Fatalf("close: %d %s", st, loc)
		}
		got = meetingGet(t, w.admin, m.ID)
		if got.Status != "closed" || got.Attendance != 3 || got.Agenda[0].Status != "decided" || got.Agenda[0].Outcome != "五月底前硬化村东路" {
			t.Fatalf("closed: %+v agenda %+v", got.Meeting, got.Agenda)
		}
		for _, c := range supporters {
			if in := meetingInbox(t, c); !strings.Contains(in, "您关心的议题《村东路面破损》在《道路硬化议事会》上有了结果：五月底前硬化村东路") {
				t.Errorf("a supporter was not told the outcome: %q", in)
			}
		}
		if in := meetingInbox(t, reg); !strings.Contains(in, "《道路硬化议事会》已结束") {
			t.Errorf("the registered resident was not told: %q", in)
		}
		// The public minutes: the resident speaker as 村民 and surname, no phone; the department by name.
		rb := env.Browser(demo.PhoneResident)
		st, body = rb.Get(fmt.Sprintf("/consult/meetings/%d", m.ID))
		if st != 200 || !strings.Contains(body, "议定硬化村东路") || !strings.Contains(body, "五月底前硬化村东路") || !strings.Contains(body, "路面三处坑洼") {
			t.Fatalf("public minutes: %d %.500s", st, body)
		}
		masked := []rune(speaker.Name)[0:1]
		if !strings.Contains(body, "村民 "+string(masked)+"＊") || strings.Contains(body, speaker.Name) || strings.Contains(body, speaker.Ph) || !strings.Contains(body, "李科长") {
			t.Errorf("the public minutes show the resident speaker: %q", body)
		}
		var pub consult.MeetingDetail
		if st, _ := w.resident.JSON("GET", fmt.Sprintf("/api/v1/consult/meetings/%d", m.ID), nil, &pub); st != 200 || len(pub.Participants) != 0 || len(pub.Opinions) != 2 {
			t.Fatalf("the API for a resident: %d %+v", st, pub)
		}
		for _, o := range pub.Opinions {
			if o.Speaker == speaker.Name || o.ParticipantID != 0 {
				t.Errorf("the API shows the speaker: %+v", o)
			}
		}
		// The resident's list marks it published.
		if st, body := rb.Get("/consult/meetings"); st != 200 || !strings.Contains(body, "纪要已公开") {
			t.Errorf("my meetings: %d", st)
		}
	})
}

// TestMeetingCancel: cancelling asks first and keeps a reason; the registered are told and the
// agenda's topics open again.
func TestMeetingCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newMeetingWorld(t, d)
		m := w.meetingCreate(t, 2)
		if st, body := w.resident.JSON("POST", fmt.Sprintf("/api/v1/consult/meetings/%d/registrations", m.ID), nil, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		b := w.env.Browser(demo.PhoneVillageAdmin)
		page := fmt.Sprintf("/admin/consult/meetings/%d/cancel", m.ID)
		if st, _ := b.PostForm(page, url.Values{"confirmed": {"1"}}); st != 422 {
			t.Fatalf("cancel without a reason: %d", st)
		}
		if meetingGet(t, w.admin, m.ID).Status != "planned" {
			t.Fatal("cancelled without a reason")
		}
		if st, loc := b.Submit(page, url.Values{"confirmed": {"1"}, "reason": {"村委会停电"}}); st != 303 || !strings.Contains(loc, "flash.consult_meeting_cancelled") {
			t.Fatalf("cancel: %d %s", st, loc)
		}
		if got := meetingGet(t, w.admin, m.ID); got.Status != "cancelled" || got.Reason != "村委会停电" {
			t.Fatalf("cancelled: %+v", got.Meeting)
		}
		if in := meetingInbox(t, w.resident); !strings.Contains(in, "《道路硬化议事会》已取消：村委会停电") {
			t.Errorf("the registered resident was not told: %q", in)
		}
	})
}

// TestMeetingTodo: a meeting whose time has passed and that is not closed waits on its host's
// console, and on nobody else's; closing it takes it off.
func TestMeetingTodo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newMeetingWorld(t, d)
		m := w.meetingCreate(t, 2)
		todo := "已到时间未结束的议事会"
		b, ob := w.env.Browser(demo.PhoneVillageAdmin), w.env.Browser(demo.PhoneVillageAdmin2)
		if _, body := b.Get("/admin"); strings.Contains(body, todo) {
			t.Fatal("a meeting to come is a todo")
		}
		now := db.Now()
		if _, err := w.env.Sys.DB.Write().ExecContext(context.Background(), `UPDATE consult_meetings SET starts_at = $1, ends_at = $2 WHERE id = $3`,
			now.Add(-3*time.Hour), now.Add(-time.Hour), m.ID); err != nil {
			t.Fatal(err)
		}
		if st, body := b.Get("/admin"); st != 200 || !strings.Contains(body, todo) {
			t.Fatalf("the host's console lacks the todo: %d", st)
		}
		if _, body := ob.Get("/admin"); strings.Contains(body, todo) {
			t.Error("another village's console shows the todo")
		}
		if st, body := w.admin.JSON("POST", fmt.Sprintf("/api/v1/consult/meetings/%d/close", m.ID), map[string]any{"minutes": "开过了", "attendance": 9, "no_decision": true}, nil); st != 200 {
			t.Fatalf("close: %d %s", st, body)
		}
		if _, body := b.Get("/admin"); strings.Contains(body, todo) {
			t.Error("a closed meeting is still a todo")
		}
		// The staff's list shows it closed, the resident's list as published.
		if st, body := b.Get("/admin/consult/meetings"); st != 200 || !strings.Contains(body, "道路硬化议事会") || !strings.Contains(body, "已结束") {
			t.Errorf("the staff's list: %d", st)
		}
	})
}
