package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/clock"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
)

var (
	messagesBadge = regexp.MustCompile(`href="/notifications">[^<]*<span class="badge"[^>]*>(\d+)</span>`)
	messagesTodo  = regexp.MustCompile(`<li><a href="/notifications">([^<]*) →</a></li>`)
)

// homeMessages is what a resident's home shows of their messages: the number on the 我的消息
// tile and the to-do line, 0 and "" when none.
func homeMessages(t *testing.T, c *servertest.Client) (int, string) {
	t.Helper()
	st, body := c.Get("/")
	if st != http.StatusOK {
		t.Fatalf("home: %d", st)
	}
	n := 0
	if m := messagesBadge.FindStringSubmatch(body); m != nil {
		n, _ = strconv.Atoi(m[1])
	}
	todo := ""
	if m := messagesTodo.FindStringSubmatch(body); m != nil {
		todo = m[1]
	}
	return n, todo
}

// TestMessagesDigest (issue 13 item 17): a resident chooses 每日汇总 on the messages page. With 即时
// 提醒 every message shows on the home at once; with 每日汇总 the messages are stored and listed at
// once, and the home shows them when the day's digest is made at 18:00 in the town, as one
// digest; a message after that waits for the next day's. The scheduler makes a resident's digest
// once a day however often it runs, also when two run at once. Only the resident switches it, or
// their village's staff in office mode; another village's staff cannot reach it, and a bad
// choice is refused by name, storing nothing.
func TestMessagesDigest(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		ctx := context.Background()
		town := clock.Zone("Asia/Shanghai")
		at := &atomic.Int64{}
		set := func(day, hm string) {
			ts, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, town)
			if err != nil {
				t.Fatal(err)
			}
			at.Store(ts.UnixMicro())
		}
		env.Sys.Notify.Now = func() time.Time { return time.UnixMicro(at.Load()).UTC() }
		set("2026-12-08", "10:00")

		var me, neighbour people.ResidentJSON
		if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/me", nil, &me); st != 200 {
			t.Fatalf("me: %d %s", st, body)
		}
		if st, body := env.API(demo.PhonePartyMember).JSON("GET", "/api/v1/me", nil, &neighbour); st != 200 {
			t.Fatalf("neighbour: %d %s", st, body)
		}
		send := func(to int64, title string) {
			t.Helper()
			if err := env.Sys.Notify.Send(ctx, d.Write(), []int64{to}, notify.Message{Title: title, Link: "/bank"}); err != nil {
				t.Fatal(err)
			}
		}
		resident := env.Browser(demo.PhoneResident)
		want := func(step string, badge int, todo string) {
			t.Helper()
			if n, got := homeMessages(t, resident); n != badge || got != todo {
				t.Errorf("%s: the home shows %d and %q, want %d and %q", step, n, got, badge, todo)
			}
		}
		digests := func() (n, messages int) {
			t.Helper()
			if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(messages), 0) FROM notify_digests WHERE resident_id = $1`, me.ID).Scan(&n, &messages); err != nil {
				t.Fatal(err)
			}
			return n, messages
		}
		run := func() int {
			t.Helper()
			n, err := env.Sys.Notify.AssembleDigests(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		// 即时提醒, as before: each message shows on the home at once.
		send(me.ID, "申报已入账")
		send(me.ID, "兑换已备好")
		want("immediate", 2, "2 条未读消息")
		if st, _ := resident.PostForm("/notifications/read", nil); st != http.StatusSeeOther {
			t.Fatalf("mark read: %d", st)
		}
		want("all read", 0, "")

		// A choice that is neither is refused by name and stores nothing.
		if st, body := resident.PostForm("/notifications/settings", url.Values{"mode": {"weekly"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "请选择即时提醒或每日汇总") {
			t.Fatalf("mode weekly: %d", st)
		}
		var since *time.Time
		if err := d.Read().QueryRowContext(ctx, `SELECT notify_digest_since FROM residents WHERE id = $1`, me.ID).Scan(&since); err != nil || since != nil {
			t.Fatalf("a refused choice stored %v (%v)", since, err)
		}

		set("2026-12-08", "10:05")
		st, loc := resident.Submit("/notifications/settings", url.Values{"mode": {"daily"}})
		if st != http.StatusSeeOther {
			t.Fatalf("choose the digest: %d", st)
		}
		_, page := resident.Get(loc)
		if got := flashOf(page); got != "已改为每日汇总：新消息每天 18:00 在首页汇总提示一次" || !strings.Contains(page, `value="daily" checked`) {
			t.Errorf("after choosing the digest the page says %q", got)
		}

		// Held: stored and listed at once, not on the home until 18:00.
		set("2026-12-08", "11:00")
		for _, title := range []string{"班次有变", "需求已派单", "积分已到账"} {
			send(me.ID, title)
		}
		send(neighbour.ID, "邻居的消息")
		want("held", 0, "")
		if _, page := resident.Get("/notifications"); !strings.Contains(page, "班次有变") || !strings.Contains(page, "积分已到账") || !strings.Contains(page, "3 条未读") {
			t.Error("the messages page does not list the held messages")
		}
		if n, _ := homeMessages(t, env.Browser(demo.PhonePartyMember)); n != 1 {
			t.Errorf("the neighbour, 即时提醒, sees %d, want 1", n)
		}
		set("2026-12-08", "17:59")
		if n := run(); n != 0 {
			t.Errorf("before 18:00 the scheduler made %d digests", n)
		}
		want("17:59", 0, "")

		// 18:00: one digest of the three, however many times the scheduler runs.
		set("2026-12-08", "18:00")
		if n, again := run(), run(); n != 1 || again != 0 {
			t.Errorf("at 18:00 the scheduler made %d digests, then %d", n, again)
		}
		if n, messages := digests(); n != 1 || messages != 3 {
			t.Errorf("%d digests of %d messages, want 1 of 3", n, messages)
		}
		want("digest", 3, "今日汇总：3 条未读消息")
		if _, page := resident.Get("/notifications"); !strings.Contains(page, "今日汇总：3 条消息") {
			t.Errorf("the messages page has no digest: %s", page)
		}
		set("2026-12-08", "18:30")
		send(me.ID, "晚上的消息")
		want("after the digest", 3, "今日汇总：3 条未读消息")

		// The next morning yesterday's digest still shows, by its day; the evening's message
		// waits for 18:00, when two schedulers racing make one digest of it.
		set("2026-12-09", "09:00")
		if n := run(); n != 0 {
			t.Errorf("in the morning the scheduler made %d digests", n)
		}
		want("next morning", 3, "3 条未读消息")
		if _, page := resident.Get("/notifications"); !strings.Contains(page, "12月8日 周二 汇总：3 条消息") {
			t.Errorf("the messages page does not name yesterday's digest by its day")
		}
		set("2026-12-09", "18:01")
		var made atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				n, err := env.Sys.Notify.AssembleDigests(ctx)
				if err != nil {
					t.Error(err)
				}
				made.Add(int64(n))
			})
		}
		wg.Wait()
		if n, messages := digests(); made.Load() != 1 || n != 2 || messages != 4 {
			t.Errorf("two racing schedulers made %d; %d digests of %d messages, want 1; 2 of 4", made.Load(), n, messages)
		}
		want("second digest", 4, "今日汇总：4 条未读消息")

		// Back to 即时提醒: everything unread shows at once.
		set("2026-12-09", "19:00")
		send(me.ID, "又一条")
		st, loc = resident.Submit("/notifications/settings", url.Values{"mode": {"immediate"}})
		if _, page := resident.Get(loc); st != http.StatusSeeOther || flashOf(page) != "已改为即时提醒：新消息马上在首页提示" {
			t.Errorf("back to 即时提醒: %d, %q", st, flashOf(page))
		}
		want("immediate again", 5, "5 条未读消息")

		// Staff of the resident's village switch it in office mode; another village's staff cannot
		// reach the resident, and without a record of their own have nothing to switch.
		mode := func() notify.Mode {
			t.Helper()
			var in notify.Inbox
			if st, body := env.API(demo.PhoneResident).JSON("GET", "/api/v1/notifications", nil, &in); st != 200 {
				t.Fatalf("inbox: %d %s", st, body)
			}
			return in.Mode
		}
		other := env.Browser(demo.PhoneVillageAdmin2)
		if st, _ := other.PostForm(fmt.Sprintf("/admin/office/%d", me.ID), nil); st != http.StatusNotFound {
			t.Errorf("another village's staff take office mode for the resident: %d, want 404", st)
		}
		if st, _ := other.PostForm("/notifications/settings", url.Values{"mode": {"daily"}}); st != http.StatusForbidden {
			t.Errorf("another village's staff switch: %d, want 403", st)
		}
		if m := mode(); m != notify.Immediate {
			t.Errorf("after another village's staff tried, the mode is %q", m)
		}
		staff := env.Browser(demo.PhoneVillageAdmin)
		if st, _ := staff.PostForm(fmt.Sprintf("/admin/office/%d", me.ID), nil); st != http.StatusSeeOther {
			t.Fatalf("office mode: %d", st)
		}
		if st, _ := staff.PostForm("/notifications/settings", url.Values{"mode": {"daily"}}); st != http.StatusSeeOther {
			t.Fatalf("switch in office mode: %d", st)
		}
		if m := mode(); m != notify.Daily {
			t.Errorf("after staff switched it in office mode, the mode is %q", m)
		}
	})
}
