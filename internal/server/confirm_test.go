package server_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestWhatCannotBeUndoneAsksFirst: reporting a card lost and closing a post first show a page
// that says what will happen, by name, and asks why; nothing changes until the person confirms
// with a reason, which the audit log keeps. Another village's admin gets 404, not the question.
func TestWhatCannotBeUndoneAsksFirst(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80}, true, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		q := env.Sys.DB.Read()
		var cardID int64
		var number, holder, status string
		if err := q.QueryRowContext(ctx, `SELECT c.id, c.number, r.name, c.status FROM bank_cards c JOIN residents r ON r.id = c.resident_id
			JOIN accounts a ON a.resident_id = r.id WHERE a.phone = $1`, demo.PhoneResident).Scan(&cardID, &number, &holder, &status); err != nil || status != "active" {
			t.Fatalf("the demo resident's card: %v %s", err, status)
		}
		cardStatus := func() string {
			t.Helper()
			var s string
			if err := q.QueryRowContext(ctx, `SELECT status FROM bank_cards WHERE id = $1`, cardID).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		lost := fmt.Sprintf("/admin/bank/cards/%d/lost", cardID)
		if st, _ := env.Browser(demo.PhoneVillageAdmin2).PostForm(lost, url.Values{}); st != 404 {
			t.Errorf("东堡村's admin on 前疃村's card: %d, want 404", st)
		}
		admin := env.Browser(demo.PhoneVillageAdmin)
		st, body := admin.PostForm(lost, url.Values{"village_id": {"0"}, "q": {holder}})
		if st != 200 || !strings.Contains(body, "挂失这张卡？") || !strings.Contains(body, holder) || !strings.Contains(body, number) ||
			!strings.Contains(body, `name="confirmed" value="1"`) || !strings.Contains(body, `name="q" value="`+holder+`"`) {
			t.Fatalf("the question: %d %.600s", st, body)
		}
		if cardStatus() != "active" {
			t.Fatal("asking changed the card")
		}
		if st, body := admin.PostForm(lost, url.Values{"confirmed": {"1"}, "reason": {"  "}}); st != 422 || !strings.Contains(body, "必填") || cardStatus() != "active" {
			t.Fatalf("confirmed without a reason: %d, card %s", st, cardStatus())
		}
		if st, _ := admin.PostForm(lost, url.Values{"confirmed": {"1"}, "reason": {"本人来电说卡丢在集市上"}}); st != 303 || cardStatus() != "lost" {
			t.Fatalf("confirmed: %d, card %s", st, cardStatus())
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'bank.card.lost' AND entity_id = $1 AND summary LIKE $2`, cardID, "%本人来电说卡丢在集市上%").Scan(&n); err != nil || n != 1 {
			t.Errorf("the reason in the audit log: %d %v", n, err)
		}

		// Closing a post of 前疃村.
		var postID int64
		var title string
		if err := q.QueryRowContext(ctx, `SELECT p.id, p.title FROM volunteer_posts p JOIN villages v ON v.id = p.village_id
			WHERE v.name = '前疃村' AND p.status = 'open' ORDER BY p.id LIMIT 1`).Scan(&postID, &title); err != nil {
			t.Fatal(err)
		}
		closeURL := fmt.Sprintf("/admin/volunteer/posts/%d/close", postID)
		if st, _ := env.Browser(demo.PhoneVillageAdmin2).PostForm(closeURL, url.Values{}); st != 404 {
			t.Errorf("东堡村's admin closes 前疃村's post: %d, want 404", st)
		}
		if st, body := admin.PostForm(closeURL, url.Values{}); st != 200 || !strings.Contains(body, "关闭这个岗位？") || !strings.Contains(body, title) {
			t.Fatalf("the question: %d %.300s", st, body)
		}
		postStatus := func() string {
			var s string
			if err := q.QueryRowContext(ctx, `SELECT status FROM volunteer_posts WHERE id = $1`, postID).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		if postStatus() != "open" {
			t.Fatal("asking closed the post")
		}
		if st, _ := admin.PostForm(closeURL, url.Values{"confirmed": {"1"}, "reason": {"冬季暂停"}}); st != 303 || postStatus() != "closed" {
			t.Fatalf("confirmed: %d, post %s", st, postStatus())
		}
	})
}
