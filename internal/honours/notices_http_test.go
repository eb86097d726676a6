package honours_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// noticeFixture is a list of 前疃村 on notice naming two of its residents, as the parts that own
// lists write one when a round or a contest closes: the rows of honours_notices and its items.
type noticeFixture struct {
	notice                 int64
	village                int64
	resident, party, third int64 // the resident caller, and the two named
	partyItem, thirdItem   int64 // the items naming them: their nominations, admitted to the round
}

func newNotice(t *testing.T, env *servertest.Env, ref int64, until time.Time) noticeFixture {
	t.Helper()
	ctx, d := context.Background(), env.Sys.DB
	var f noticeFixture
	q := d.Read()
	if err := q.QueryRowContext(ctx, `SELECT r.id, r.village_id FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhoneResident).Scan(&f.resident, &f.village); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT r.id FROM residents r JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhonePartyMember).Scan(&f.party); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT id FROM residents WHERE village_id = $1 AND id NOT IN ($2, $3) ORDER BY id LIMIT 1`, f.village, f.resident, f.party).Scan(&f.third); err != nil {
		t.Fatal(err)
	}
	// The round the list is of, and the two nominations admitted to it, as the rounds part and
	// the nominations leave them: the publisher puts the items kept on the wall.
	town, err := env.Sys.Auth.Authenticate(ctx, env.API(demo.PhoneTownAdmin).Token)
	if err != nil {
		t.Fatal(err)
	}
	categories, err := env.Sys.Honours.Categories(ctx, env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var round int64
	if err := d.Write().QueryRowContext(ctx, `INSERT INTO honours_rounds (town_id, village_id, title, year, opens_at, closes_at, seats, votes_per_voter, rule, status, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, 2026, $4, $5, 2, 2, 'votes', 'notice', $6, $4, $4) RETURNING id`, env.Info.TownID, f.village, fmt.Sprintf("2026年身边好人评议%d", ref),
		now.Add(-72*time.Hour), now.Add(-24*time.Hour), town.AccountID).Scan(&round); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ resident, item *int64 }{{&f.party, &f.partyItem}, {&f.third, &f.thirdItem}} {
		if err := d.Write().QueryRowContext(ctx, `INSERT INTO honours_nominations (town_id, village_id, resident_id, category_id, story, by_account, by_name, consent, consent_by, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, '助人为乐', $5, '村管理员', 'given', 'self', 'admitted', $6, $6) RETURNING id`, env.Info.TownID, f.village, *x.resident, categories[1].ID, town.AccountID, now).Scan(x.item); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO honours_round_nominees (round_id, nomination_id) VALUES ($1, $2)`, round, *x.item); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Write().QueryRowContext(ctx, `INSERT INTO honours_notices (town_id, village_id, kind, ref_id, title, status, notice_until, created_by_name, created_at)
		VALUES ($1, $2, 'round', $3, $4, 'notice', $5, '镇管理员', $6) RETURNING id`, env.Info.TownID, f.village, round, fmt.Sprintf("2026年身边好人评议结果%d", ref), until, time.Now()).Scan(&f.notice); err != nil {
		t.Fatal(err)
	}
	for i, x := range []struct{ resident, item int64 }{{f.party, f.partyItem}, {f.third, f.thirdItem}} {
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO honours_notice_items (notice_id, item_id, rank, resident_id, village_id, label, detail) VALUES ($1, $2, $3, $4, $5, $6, '助人为乐')`,
			f.notice, x.item, i+1, x.resident, f.village, fmt.Sprintf("好人%d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func count(t *testing.T, env *servertest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoticeObjectDecidePublish: a resident of the list's village objects to an item once (a
// second objection, empty reason, or eight at once store one); another village's staff do not
// see the list; the town cannot publish before the notice is over or while an objection is open;
// upholding strikes the item and tells the person named and the objector; publishing leaves the
// struck item out, and a second publish is refused.
func TestNoticeObjectDecidePublish(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		f := newNotice(t, env, 9001, time.Now().Add(7*24*time.Hour))
		resident := env.Browser(demo.PhoneResident)
		path := fmt.Sprintf("/honours/notices/%d", f.notice)

		st, body := resident.Get("/honours/notices")
		if st != 200 || !strings.Contains(body, "2026年身边好人评议结果9001") {
			t.Fatalf("board: %d %.300s", st, body)
		}
		if st, body = resident.Get(path); st != 200 || !strings.Contains(body, "好人1") || !strings.Contains(body, "提出异议") {
			t.Fatalf("notice page: %d %.300s", st, body)
		}
		// An empty reason names the field and stores nothing.
		st, body = resident.PostForm(path+"/objections", url.Values{"item_id": {fmt.Sprint(f.partyItem)}, "reason": {" "}})
		if st != 422 || !strings.Contains(body, `role="alert"`) {
			t.Errorf("empty reason: %d %.400s", st, body)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM honours_objections`); n != 0 {
			t.Fatalf("a refused objection stored %d rows", n)
		}
		// Eight objections at once to the same item store one.
		var wg sync.WaitGroup
		api := env.API(demo.PhoneResident)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				api.JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/objections", f.notice), map[string]any{"item_id": f.partyItem, "reason": "他家的事迹是编的"}, nil)
			}()
		}
		wg.Wait()
		if n := count(t, env, `SELECT COUNT(*) FROM honours_objections WHERE notice_id = $1`, f.notice); n != 1 {
			t.Fatalf("8 objections at once stored %d", n)
		}
		st, body = resident.PostForm(path+"/objections", url.Values{"item_id": {fmt.Sprint(f.partyItem)}, "reason": {"再说一次"}})
		if st != 409 || !strings.Contains(body, "已经对这一项提过异议") {
			t.Errorf("second objection: %d %.300s", st, body)
		}
		// An item that is not on the list answers 404.
		if st, _ = api.JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/objections", f.notice), map[string]any{"item_id": 999999, "reason": "x"}, nil); st != 404 {
			t.Errorf("object to an item not on the list: %d", st)
		}

		// 东堡村's staff do not see 前疃村's list; 前疃村's staff see it and its objection.
		if st, _ = env.Browser(demo.PhoneVillageAdmin2).Get("/admin" + path); st != 404 {
			t.Errorf("东堡村 admin: %d", st)
		}
		if st, body = env.Browser(demo.PhoneVillageAdmin).Get("/admin" + path); st != 200 || !strings.Contains(body, "他家的事迹是编的") || strings.Contains(body, "发布名单") {
			t.Errorf("前疃村 admin: %d %.300s", st, body)
		}

		town := env.Browser(demo.PhoneTownAdmin)
		townAPI := env.API(demo.PhoneTownAdmin)
		// Not due yet.
		if st, body = townAPI.JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/publish", f.notice), nil, nil); st != 409 || !strings.Contains(body, "公示期还没结束") {
			t.Errorf("publish before due: %d %s", st, body)
		}
		if _, err := env.Sys.DB.Write().Exec(`UPDATE honours_notices SET notice_until = $1 WHERE id = $2`, time.Now().Add(-time.Minute), f.notice); err != nil {
			t.Fatal(err)
		}
		if st, body = townAPI.JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/publish", f.notice), nil, nil); st != 409 || !strings.Contains(body, "还有异议没有处理") {
			t.Errorf("publish with an objection open: %d %s", st, body)
		}
		var objection int64
		if err := env.Sys.DB.Read().QueryRow(`SELECT id FROM honours_objections WHERE notice_id = $1`, f.notice).Scan(&objection); err != nil {
			t.Fatal(err)
		}
		// Upholding asks first, then strikes the item and tells both.
		st, body = town.PostForm(fmt.Sprintf("/admin/honours/objections/%d", objection), url.Values{"uphold": {"1"}, "decision": {"经核实，事迹不实"}})
		if st != 200 || !strings.Contains(body, "撤下这一项") {
			t.Fatalf("uphold without confirming: %d %.300s", st, body)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM honours_notice_items WHERE notice_id = $1 AND struck_at IS NOT NULL`, f.notice); n != 0 {
			t.Fatalf("the question struck %d items", n)
		}
		st, body = town.Submit(fmt.Sprintf("/admin/honours/objections/%d", objection), url.Values{"uphold": {"1"}, "decision": {"经核实，事迹不实"}, "confirmed": {"1"}})
		if st != 303 {
			t.Fatalf("uphold: %d %.300s", st, body)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND body LIKE '%事迹不实%'`, f.party); n != 1 {
			t.Errorf("the person struck was told %d times", n)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM notifications WHERE resident_id = $1 AND body LIKE '%事迹不实%'`, f.resident); n != 1 {
			t.Errorf("the objector was told %d times", n)
		}
		// Publishing asks first, then publishes without the struck item.
		if st, body = town.PostForm(fmt.Sprintf("/admin/honours/notices/%d/publish", f.notice), url.Values{}); st != 200 || !strings.Contains(body, "发布这份名单") {
			t.Fatalf("publish without confirming: %d %.300s", st, body)
		}
		st, _ = town.Submit(fmt.Sprintf("/admin/honours/notices/%d/publish", f.notice), url.Values{"confirmed": {"1"}})
		if st != 303 {
			t.Fatalf("publish: %d", st)
		}
		var n struct {
			Status string
			Items  []struct {
				Label  string
				Struck bool
			}
		}
		if st, body = api.JSON("GET", fmt.Sprintf("/api/v1/honours/notices/%d", f.notice), nil, &n); st != 200 || n.Status != "published" || len(n.Items) != 2 || !n.Items[0].Struck || n.Items[1].Struck {
			t.Errorf("published notice: %d %s", st, body)
		}
		// The round's publisher put the item kept on the wall, and not the struck one.
		if n := count(t, env, `SELECT COUNT(*) FROM honours_wall WHERE nomination_id = $1`, f.thirdItem); n != 1 {
			t.Errorf("the item kept is on the wall %d times", n)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM honours_nominations WHERE id = $1 AND status = 'not_chosen'`, f.partyItem); n != 1 {
			t.Error("the struck item is not marked not chosen")
		}
		if st, body = townAPI.JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/publish", f.notice), nil, nil); st != 409 {
			t.Errorf("publish twice: %d %s", st, body)
		}
		// Objecting to a published list is refused and stores nothing.
		if st, _ = api.JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/objections", f.notice), map[string]any{"item_id": f.thirdItem, "reason": "晚了"}, nil); st != 409 {
			t.Errorf("object after publishing: %d", st)
		}
	})
}

// TestNoticeWithdraw: withdrawing asks first and keeps the reason; the people named are told; a
// village's staff may not withdraw; a withdrawn list takes no objection.
func TestNoticeWithdraw(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		f := newNotice(t, env, 9002, time.Now().Add(7*24*time.Hour))
		path := fmt.Sprintf("/admin/honours/notices/%d/withdraw", f.notice)
		if st, _ := env.Browser(demo.PhoneVillageAdmin).Submit(path, url.Values{"confirmed": {"1"}, "reason": {"名单有误"}}); st != 403 {
			t.Errorf("village admin withdraws: %d", st)
		}
		town := env.Browser(demo.PhoneTownAdmin)
		if st, body := town.PostForm(path, url.Values{"confirmed": {"1"}}); st != 422 {
			t.Errorf("withdraw without a reason: %d %.200s", st, body)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM honours_notices WHERE id = $1 AND status = 'notice'`, f.notice); n != 1 {
			t.Fatal("a refused withdrawal changed the notice")
		}
		if st, _ := town.Submit(path, url.Values{"confirmed": {"1"}, "reason": {"名单有误，重新评议"}}); st != 303 {
			t.Fatalf("withdraw: %d", st)
		}
		if n := count(t, env, `SELECT COUNT(*) FROM notifications WHERE resident_id IN ($1, $2) AND body LIKE '%重新评议%'`, f.party, f.third); n != 2 {
			t.Errorf("the people named were told %d times", n)
		}
		if st, _ := env.API(demo.PhoneResident).JSON("POST", fmt.Sprintf("/api/v1/honours/notices/%d/objections", f.notice), map[string]any{"item_id": f.partyItem, "reason": "x"}, nil); st != 409 {
			t.Errorf("object to a withdrawn list: %d", st)
		}
	})
}
