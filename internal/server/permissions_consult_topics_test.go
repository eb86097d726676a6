package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/demo"
)

// consultTopicsMatrix holds 微协商's rows for the landing pages, photos, categories and topics:
// {topic} is the party member's open topic of 前疃村 with the photo {topicPhoto}, {topicInto} a
// second one to merge into, {consultCategory} one of the six categories and {topicMeeting} a planned
// meeting of 前疃村.
var consultTopicsMatrix = []perm{
	{"GET /consult", "", "", "LAAAA"},
	{"GET /admin/consult", "", "", "LFAAA"},
	{"GET /consult/photos/{id}", "/consult/photos/{topicPhoto}", "", "LANAA"},
	{"GET /consult/topics", "", "", "LAAAA"},
	{"GET /consult/topics/new", "", "", "LAAAA"},
	{"POST /consult/topics", "", "village_id={village}&category_id={consultCategory}&title=矩阵议题&description=矩阵", "LANAA"},
	{"GET /consult/topics/{id}", "/consult/topics/{topic}", "", "LANAA"},
	{"POST /consult/topics/{id}/support", "/consult/topics/{topic}/support", "", "LANFF"},
	{"POST /consult/topics/{id}/withdraw", "/consult/topics/{topic}/withdraw", "", "LANFF"},
	{"GET /admin/consult/topics", "", "", "LFAAA"},
	{"GET /admin/consult/topics/new", "", "", "LFAAA"},
	{"POST /admin/consult/topics", "", "village_id={village}&category_id={consultCategory}&title=矩阵议题&description=矩阵", "LFNAA"},
	{"GET /admin/consult/topics/{id}", "/admin/consult/topics/{topic}", "", "LFNAA"},
	{"POST /admin/consult/topics/{id}/actions", "/admin/consult/topics/{topic}/actions", "action=accept&meeting_id={topicMeeting}", "LFNAA"},
	{"POST /admin/consult/categories", "", "name=矩阵类别", "LFFFA"},
	{"GET /api/v1/consult/categories", "", "", "LAAAA"},
	{"POST /api/v1/consult/categories", "", `{"name":"矩阵API类别"}`, "LFFFA"},
	{"GET /api/v1/consult/topics", "", "", "LAAAA"},
	{"POST /api/v1/consult/topics", "", `{"village_id":{village},"category_id":{consultCategory},"title":"矩阵API议题","description":"矩阵"}`, "LANAA"},
	{"GET /api/v1/consult/topics/{id}", "/api/v1/consult/topics/{topic}", "", "LANAA"},
	{"POST /api/v1/consult/topics/{id}/supports", "/api/v1/consult/topics/{topicInto}/supports", "", "LANFF"},
	{"DELETE /api/v1/consult/topics/{id}/supports", "/api/v1/consult/topics/{topicInto}/supports", "", "LANFF"},
	{"POST /api/v1/consult/topics/{id}/actions", "/api/v1/consult/topics/{topicInto}/actions", `{"action":"decline","reason":"矩阵"}`, "LFNAA"},

	// the town's figures
	{"GET /admin/consult/figures", "", "", "LFFFA"},
	{"GET /api/v1/consult/figures", "", "", "LFFFA"},
}

// consultTopics makes the party member's two topics of 前疃村 (one with a photo), and a planned
// meeting of 前疃村 its admin hosts, written as planning one would (the meetings part is not built).
func (f *matrixFixture) consultTopics(t *testing.T) {
	party := f.env.API(demo.PhonePartyMember)
	var cats []struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
	}
	if st, body := party.JSON("GET", "/api/v1/consult/categories", nil, &cats); st != 200 || len(cats) == 0 {
		t.Fatalf("fixture: consult categories: %d %s", st, body)
	}
	f.values["consultCategory"] = fmt.Sprint(cats[0].ID)
	for _, k := range []string{"topic", "topicInto"} {
		var topic struct {
			ID int64 `json:"id"`
		}
		if st, body := party.JSON("POST", "/api/v1/consult/topics", map[string]any{"village_id": atoi(f.values["village"]), "category_id": cats[0].ID,
			"title": "矩阵议题 " + k, "description": "村东坑塘有异味"}, &topic); st != 201 {
			t.Fatalf("fixture: topic: %d %s", st, body)
		}
		f.values[k] = fmt.Sprint(topic.ID)
	}
	ctx, w := context.Background(), f.env.Sys.DB.Write()
	var photo, meeting, admin int64
	if err := w.QueryRowContext(ctx, `INSERT INTO consult_photos (owner, owner_id, mime, width, height, data, created_at) VALUES ('topic', $1, 'image/png', 64, 48, $2, $3) RETURNING id`,
		atoi(f.values["topic"]), pngBytes(t), db.Now()).Scan(&photo); err != nil {
		t.Fatal(err)
	}
	f.values["topicPhoto"] = fmt.Sprint(photo)
	if err := w.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, demo.PhoneVillageAdmin).Scan(&admin); err != nil {
		t.Fatal(err)
	}
	start := db.Now().Add(48 * time.Hour)
	if err := w.QueryRowContext(ctx, `INSERT INTO consult_meetings (town_id, village_id, level, title, starts_at, ends_at, place, host, created_by, created_at, updated_at)
		VALUES ($1, $2, 'village', '矩阵议事会', $3, $4, '村委会', '村党支部书记', $5, $6, $6) RETURNING id`,
		f.env.Info.TownID, atoi(f.values["village"]), start, start.Add(2*time.Hour), admin, db.Now()).Scan(&meeting); err != nil {
		t.Fatal(err)
	}
	f.values["topicMeeting"] = fmt.Sprint(meeting)
}
