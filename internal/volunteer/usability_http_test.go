package volunteer_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
	"siwei/internal/volunteer"
)

// usable is the demo town served over HTTP with the volunteering rules of adoptRules in force,
// one clock for the pillar and the bank, and 前疃村's teams.
type usable struct {
	*servertest.Env
	t     *testing.T
	clock *atomic.Int64
	town  people.Town
	qt    people.Village
	teams []volunteer.Team
}

func newUsable(t *testing.T, d *db.DB) *usable {
	t.Helper()
	u := &usable{Env: servertest.New(t, d), t: t, clock: &atomic.Int64{}}
	u.clock.Store(db.Now().UnixMicro())
	now := func() time.Time { return time.UnixMicro(u.clock.Load()).UTC() }
	u.Sys.Volunteer.Now, u.Sys.Bank.Now, u.Sys.Notify.Now = now, now, now
	u.town, _ = u.Sys.People.Town(t.Context(), u.Info.TownID)
	adoptRules(t, u.Sys, u.town)
	u.qt, _ = u.Sys.People.VillageByName(t.Context(), u.town.ID, "前疃村")
	if st, body := u.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/volunteer/teams?village_id=%d", u.qt.ID), nil, &u.teams); st != 200 || len(u.teams) != 6 {
		t.Fatalf("teams: %d %s", st, body)
	}
	return u
}

func (u *usable) now() time.Time { return time.UnixMicro(u.clock.Load()).UTC() }

func (u *usable) later(d time.Duration) { u.clock.Add(d.Microseconds()) }

// post publishes a post of 前疃村's livelihood team under the rule "serve" with one shift
// tomorrow 09:00–11:00, through the API, and returns it with its shift.
func (u *usable) post(capacity int) (volunteer.Post, int64) {
	u.t.Helper()
	tomorrow := u.town.Today(u.now()).AddDate(0, 0, 1).Format("2006-01-02")
	in := volunteer.PostInput{TeamID: u.teams[0].ID, Title: "为老人理发", Place: "党群服务站", RuleCode: "serve",
		Shifts: []volunteer.ShiftInput{{Date: tomorrow, Start: "09:00", End: "11:00", Capacity: capacity}}}
	var p volunteer.Post
	if st, body := u.API(demo.PhoneVillageAdmin).JSON("POST", "/api/v1/volunteer/posts", in, &p); st != 201 {
		u.t.Fatalf("publish: %d %s", st, body)
	}
	var detail volunteer.PostDetail
	if st, body := u.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/volunteer/posts/%d", p.ID), nil, &detail); st != 200 || len(detail.Shifts) != 1 {
		u.t.Fatalf("post: %d %s", st, body)
	}
	return p, detail.Shifts[0].ID
}

// adults are n adults of 前疃村 with their names, oldest record first.
func (u *usable) adults(n int) (ids []int64, names []string) {
	u.t.Helper()
	rows, err := u.Sys.DB.Read().QueryContext(u.t.Context(), `SELECT id, name FROM residents WHERE village_id = $1 AND status = 'active' AND birth_date < $2
		AND id NOT IN (SELECT resident_id FROM accounts WHERE resident_id IS NOT NULL) ORDER BY id`,
		u.qt.ID, u.town.Today(u.now()).AddDate(-18, 0, 0).Format("2006-01-02"))
	if err != nil {
		u.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() && len(ids) < n {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			u.t.Fatal(err)
		}
		ids, names = append(ids, id), append(names, name)
	}
	if len(ids) < n {
		u.t.Fatalf("only %d adults in 前疃村", len(ids))
	}
	return ids, names
}

// office is the village admin's browser acting for a resident at the office, as a resident
// without a phone is served there.
func (u *usable) office(residentID int64) *servertest.Client {
	u.t.Helper()
	b := u.Browser(demo.PhoneVillageAdmin)
	if st, body := b.PostForm(fmt.Sprintf("/admin/office/%d", residentID), nil); st != http.StatusSeeOther {
		u.t.Fatalf("office mode for %d: %d %.300s", residentID, st, body)
	}
	return b
}

// redirected posts a form as a logged-in browser and returns the status and where it was sent.
func (u *usable) redirected(phone, path string, form url.Values) (int, string) {
	u.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		req, _ := http.NewRequest("POST", u.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", u.URL)
		resp, err := c.Do(req)
		if err != nil {
			u.t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/login", url.Values{"phone": {phone}, "password": {demo.DemoPassword}}); resp.StatusCode != http.StatusSeeOther {
		u.t.Fatalf("login %s: %d", phone, resp.StatusCode)
	}
	resp := post(path, form)
	return resp.StatusCode, resp.Header.Get("Location")
}

// flashOf is the flash a page shows, "" when none.
func flashOf(body string) string {
	m := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestWaitingLineTellsThePlaceTheRosterShows: on a full shift, three people join the waiting
// line, and each is told the place the roster shows them at: 1, 2 and 3 on the post's page, on
// their shifts and in the API, as on the leader's roster and shift page. When the first leaves
// the line the others move up, on every page alike. The post page used to number the line among
// the resident's own sign-ups only, so everyone waiting was told 候补第 1 位.
func TestWaitingLineTellsThePlaceTheRosterShows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		p, shift := u.post(1)
		ids, names := u.adults(4)
		people := make([]*servertest.Client, len(ids))
		for i, id := range ids {
			people[i] = u.office(id)
			if st, body := people[i].PostForm("/volunteer/register", url.Values{"consent": {"1"}}); st != http.StatusSeeOther {
				t.Fatalf("register %s: %d %.300s", names[i], st, body)
			}
			st, body := people[i].PostForm(fmt.Sprintf("/volunteer/shifts/%d/signup", shift), nil)
			if st != http.StatusSeeOther {
				t.Fatalf("sign up %s: %d %.300s", names[i], st, body)
			}
		}
		postPage := fmt.Sprintf("/volunteer/posts/%d", p.ID)
		leader := u.Browser(demo.PhoneVillageAdmin)
		// told checks that each of names[from:] waits at place 1, 2, … on every page.
		told := func(when string, from int) {
			t.Helper()
			_, roster := leader.Get(fmt.Sprintf("/admin/volunteer/posts/%d", p.ID))
			_, shiftPage := leader.Get(fmt.Sprintf("/admin/volunteer/shifts/%d", shift))
			var api volunteer.Shift
			if st, body := u.API(demo.PhoneVillageAdmin).JSON("GET", fmt.Sprintf("/api/v1/volunteer/shifts/%d", shift), nil, &api); st != 200 {
				t.Fatalf("%s: the shift in the API: %d %s", when, st, body)
			}
			for i := from; i < len(ids); i++ {
				place := i - from + 1
				mine := fmt.Sprintf("候补第 %d 位", place)
				if st, body := people[i].Get(postPage); st != 200 || !strings.Contains(body, mine) || strings.Count(body, "候补第 ") != 1 {
					t.Errorf("%s: %s's post page (%d) does not say %q alone: %q", when, names[i], st, mine, regexp.MustCompile(`候补第 \d+ 位`).FindAllString(body, -1))
				}
				if st, body := people[i].Get("/volunteer/shifts"); st != 200 || !strings.Contains(body, mine) {
					t.Errorf("%s: %s's shifts (%d) do not say %q", when, names[i], st, mine)
				}
				if want := fmt.Sprintf("%s(候补%d)", names[i], place); !strings.Contains(roster, want) {
					t.Errorf("%s: the roster does not show %q", when, want)
				}
				card := regexp.MustCompile(`<strong>` + regexp.QuoteMeta(names[i]) + `</strong>[\s\S]*?<span class="tag">候补 (\d+)</span>`).FindStringSubmatch(shiftPage)
				if card == nil || card[1] != fmt.Sprint(place) {
					t.Errorf("%s: the shift page shows %s at %v, want 候补 %d", when, names[i], card, place)
				}
				var got int
				for _, su := range api.Signups {
					if su.ResidentID == ids[i] {
						got = su.Position
					}
				}
				if got != place {
					t.Errorf("%s: the API has %s at place %d, want %d", when, names[i], got, place)
				}
			}
		}
		told("three waiting", 1)
		// The first in line leaves it: the two behind move up, on every page alike.
		if st, body := people[1].PostForm(fmt.Sprintf("/volunteer/shifts/%d/cancel", shift), nil); st != http.StatusSeeOther {
			t.Fatalf("the first waiting leaves the line: %d %.300s", st, body)
		}
		told("after the first left the line", 2)
		// Another joins over the API (a resident with a phone) and is told the place the roster
		// gives them: third.
		resident := u.API(demo.PhoneResident)
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true}, nil); st != 200 {
			t.Fatalf("register over the API: %d %s", st, body)
		}
		var su volunteer.Signup
		if st, body := resident.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shift), nil, &su); st != 201 || su.Status != volunteer.Waiting || su.Position != 3 {
			t.Errorf("sign up over the API: %d %s, want waiting at place 3", st, body)
		}
		if st, body := u.Browser(demo.PhoneResident).Get(postPage); st != 200 || !strings.Contains(body, "候补第 3 位") {
			t.Errorf("the resident's post page: %d %q", st, regexp.MustCompile(`候补第 \d+ 位`).FindAllString(body, -1))
		}
		_, roster := leader.Get(fmt.Sprintf("/admin/volunteer/posts/%d", p.ID))
		if !strings.Contains(roster, fmt.Sprintf("%s(候补3)", su.Name)) {
			t.Errorf("the roster does not show %s third in line", su.Name)
		}
	})
}

// TestPostFormAndHeaderNameTheRule: the publish form offers the rules in force by name and
// points, sending the code; the post's header names its rule. Neither shows a code.
func TestPostFormAndHeaderNameTheRule(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		leader := u.Browser(demo.PhoneVillageAdmin)
		st, form := leader.Get(fmt.Sprintf("/admin/volunteer/posts?village_id=%d", u.qt.ID))
		if st != 200 {
			t.Fatalf("the posts page: %d", st)
		}
		for _, want := range []string{`<option value="serve" >志愿服务（每次）（3 分）</option>`, `<option value="serve_notice" >志愿服务（公示）（5 分）</option>`} {
			if !strings.Contains(form, want) {
				t.Errorf("the rule select lacks %s: %s", want, regexp.MustCompile(`<select name="rule_code">[\s\S]*?</select>`).FindString(form))
			}
		}
		for _, code := range []string{">serve<", ">serve_notice<", "> serve", "serve<"} {
			if strings.Contains(form, code) {
				t.Errorf("the posts page shows the code %q", code)
			}
		}
		// The form sends the code it was given, and the post's page names the rule.
		tomorrow := u.town.Today(u.now()).AddDate(0, 0, 1).Format("2006-01-02")
		st, loc := u.redirected(demo.PhoneVillageAdmin, "/admin/volunteer/posts", url.Values{"village_id": {fmt.Sprint(u.qt.ID)}, "team_id": {fmt.Sprint(u.teams[0].ID)},
			"title": {"夜巡"}, "place": {"村口"}, "rule_code": {"serve_notice"}, "open_to": {"village"}, "date": {tomorrow}, "start": {"19:00"}, "end": {"20:00"}, "capacity": {"3"}})
		if st != http.StatusSeeOther || !regexp.MustCompile(`^/admin/volunteer/posts/\d+\?`).MatchString(loc) {
			t.Fatalf("publish through the form: %d %s", st, loc)
		}
		st, page := leader.Get(loc)
		if st != 200 || !strings.Contains(page, "积分细则 志愿服务（公示）（5 分）") || strings.Contains(page, "serve_notice") {
			t.Errorf("the post's header: %d %s", st, regexp.MustCompile(`<p class="hint">[^\n]*积分细则[^\n]*`).FindString(page))
		}
	})
}

// TestMyNeedsInTwoSections: the resident's needs page lists the needs raised for them apart
// from those they serve (or their team may take); a wait past two days reads in days, and is
// red only once the need is past its due time.
func TestMyNeedsInTwoSections(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		leader, resident, filer := u.API(demo.PhoneVillageAdmin), u.API(demo.PhoneResident), u.API(demo.PhonePartyMember)
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true, Teams: []int64{u.teams[0].ID}}, nil); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		var own, theirs, elsewhere volunteer.Need
		if st, body := resident.JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "repair", Description: "屋顶漏雨"}, &own); st != 201 {
			t.Fatalf("file: %d %s", st, body)
		}
		if st, body := filer.JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "repair", Description: "院墙塌了一角"}, &theirs); st != 201 {
			t.Fatalf("file: %d %s", st, body)
		}
		if st, body := filer.JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "culture", Description: "想学剪纸"}, &elsewhere); st != 201 {
			t.Fatalf("file: %d %s", st, body)
		}
		// The party member's repair goes to the resident's team; the other stays with no team.
		if st, body := leader.JSON("POST", fmt.Sprintf("/api/v1/volunteer/needs/%d/actions", theirs.ID), volunteer.NeedAction{Action: "assign", TeamID: u.teams[0].ID}, nil); st != 200 {
			t.Fatalf("assign: %d %s", st, body)
		}
		page := u.Browser(demo.PhoneResident)
		sections := func() (raised, serving string) {
			t.Helper()
			st, body := page.Get("/volunteer/needs")
			if st != 200 {
				t.Fatalf("the needs page: %d", st)
			}
			raised = regexp.MustCompile(`<h2 id="needs-raised">我提的需求</h2>[\s\S]*?</section>`).FindString(body)
			serving = regexp.MustCompile(`<h2 id="needs-serving">我接的需求</h2>[\s\S]*?</section>`).FindString(body)
			if raised == "" || serving == "" {
				t.Fatalf("the needs page has no sections 我提的需求 and 我接的需求: %.2000s", body)
			}
			return raised, serving
		}
		raised, serving := sections()
		for _, c := range []struct {
			section, name, text string
			want                bool
		}{
			{raised, "我提的需求", "屋顶漏雨", true}, {raised, "我提的需求", "院墙塌了一角", false}, {raised, "我提的需求", "想学剪纸", false},
			{serving, "我接的需求", "院墙塌了一角", true}, {serving, "我接的需求", "屋顶漏雨", false}, {serving, "我接的需求", "想学剪纸", false},
		} {
			if strings.Contains(c.section, c.text) != c.want {
				t.Errorf("%s lists %s: %v, want %v", c.name, c.text, !c.want, c.want)
			}
		}
		if !strings.Contains(raised, "<span>已等 0 小时</span>") {
			t.Errorf("a new need's wait: %s", raised)
		}
		u.later(47 * time.Hour)
		if raised, _ := sections(); !strings.Contains(raised, "<span>已等 47 小时</span>") {
			t.Errorf("after 47 hours: %s", raised)
		}
		u.later(264*time.Hour - 47*time.Hour)
		raised, serving = sections()
		if !strings.Contains(raised, "<span>已等 11 天</span>") || strings.Contains(raised, "小时") {
			t.Errorf("after 264 hours, want 已等 11 天 (not red): %s", raised)
		}
		if !strings.Contains(serving, "<span>已等 11 天</span>") || strings.Contains(serving+raised, "vol-wait") {
			t.Errorf("a need with no due time is never red: %s", serving)
		}
		if st, body := u.Browser(demo.PhoneVillageAdmin).Get(fmt.Sprintf("/admin/volunteer/needs/%d", own.ID)); st != 200 || !strings.Contains(body, "<span>已等 11 天</span>") {
			t.Errorf("the console's need page: %d %s", st, regexp.MustCompile(`已等[^<]*`).FindString(body))
		}
		// Past its due time (NeedFlow gives none yet; a step sets one here), the wait is red.
		if _, err := d.Write().ExecContext(t.Context(), `UPDATE flow_steps SET due_at = $1 WHERE flow = 'volunteer.need' AND order_id = $2 AND left_at IS NULL`,
			u.now().Add(-time.Hour), own.ID); err != nil {
			t.Fatal(err)
		}
		raised, serving = sections()
		if !strings.Contains(raised, `<span class="vol-wait">已等 11 天</span>`) || strings.Contains(serving, "vol-wait") {
			t.Errorf("only the overdue need is red: %s\n%s", raised, serving)
		}
		if st, body := u.Browser(demo.PhoneVillageAdmin).Get(fmt.Sprintf("/admin/volunteer/needs?village_id=%d", u.qt.ID)); st != 200 || strings.Count(body, `<span class="vol-wait">`) != 1 {
			t.Errorf("the console's queue has %d red waits, want 1 (%d)", strings.Count(body, `<span class="vol-wait">`), st)
		}
	})
}

// TestNeedActionsSayWhatTheyDid: after an action on a need, the page says which action it was
// and the status it left the need in, rather than 已保存; 不予受理 leaves it 不予受理.
func TestNeedActionsSayWhatTheyDid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		var n volunteer.Need
		if st, body := u.API(demo.PhonePartyMember).JSON("POST", "/api/v1/volunteer/needs", volunteer.NeedInput{Category: "repair", Description: "院墙塌了一角"}, &n); st != 201 {
			t.Fatalf("file: %d %s", st, body)
		}
		leader := u.Browser(demo.PhoneVillageAdmin)
		page := fmt.Sprintf("/admin/volunteer/needs/%d", n.ID)
		for _, c := range []struct {
			form       url.Values
			flash, tag string
		}{
			{url.Values{"action": {"assign"}, "team_id": {fmt.Sprint(u.teams[0].ID)}}, "已派单：民生帮扶队 · 状态 已派单", "已派单"},
			{url.Values{"action": {"send_back"}, "reason": {"再核实一下"}}, "已退回 · 状态 待派单", "待派单"},
			{url.Values{"action": {"refuse"}, "reason": {"不属于志愿服务范围"}}, "已不予受理 · 状态 不予受理", "不予受理"},
		} {
			st, loc := u.redirected(demo.PhoneVillageAdmin, page, c.form)
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, page+"?") {
				t.Fatalf("%s: %d %s", c.form.Get("action"), st, loc)
			}
			st, body := leader.Get(loc)
			if got := flashOf(body); st != 200 || got != c.flash {
				t.Errorf("%s: flash %q (%d), want %q", c.form.Get("action"), got, st, c.flash)
			}
			if !strings.Contains(body, `<span class="tag">`+c.tag+`</span></h1>`) || strings.Contains(body, "已保存") {
				t.Errorf("%s: the need's status is not %s", c.form.Get("action"), c.tag)
			}
		}
		// The steps read 不予受理 too, and so does the resident's list.
		if _, body := leader.Get(page); strings.Contains(body, "已退回</span>") {
			t.Errorf("a refused need still reads 已退回 somewhere")
		}
		if _, body := u.Browser(demo.PhonePartyMember).Get("/volunteer/needs"); !strings.Contains(body, `<span class="tag">不予受理</span>`) {
			t.Errorf("the resident's list does not say 不予受理")
		}
		// A did= that is no action of the flow says nothing.
		if _, body := leader.Get(page + "?did=drop"); flashOf(body) != "" {
			t.Errorf("an unknown action's flash: %q", flashOf(body))
		}
	})
}

// TestCertificateLinksWhereTheReaderMayGo: the volunteer's certificate links to their record;
// the staff's view of it links to the volunteer's entry in the console, which opens, and never to
// /volunteer/record, which staff cannot open.
func TestCertificateLinksWhereTheReaderMayGo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		var me volunteer.Volunteer
		if st, body := u.API(demo.PhoneResident).JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true}, &me); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		var id int64
		if err := d.Write().QueryRowContext(t.Context(), `INSERT INTO volunteer_certificates (volunteer_id, number, minutes, shifts, issued_by, created_at) VALUES ($1, 'ZYZM-TEST-1', 0, 0, '村委', $2) RETURNING id`,
			me.ID, u.now()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/volunteer/certificates/%d", id)
		console := fmt.Sprintf(`href="/admin/volunteer/volunteers/%d"`, me.ID)
		if st, body := u.Browser(demo.PhoneResident).Get(path); st != 200 || !strings.Contains(body, `href="/volunteer/record"`) || strings.Contains(body, console) {
			t.Errorf("the volunteer's certificate: %d, links to the record %v, to the console %v", st, strings.Contains(body, `href="/volunteer/record"`), strings.Contains(body, console))
		}
		staff := u.Browser(demo.PhoneVillageAdmin)
		st, body := staff.Get(path)
		if st != 200 || strings.Contains(body, `href="/volunteer/record"`) || !strings.Contains(body, console) {
			t.Errorf("the staff's certificate: %d, links to /volunteer/record %v, to the console %v", st, strings.Contains(body, `href="/volunteer/record"`), strings.Contains(body, console))
		}
		if st, _ := staff.Get(fmt.Sprintf("/admin/volunteer/volunteers/%d", me.ID)); st != 200 {
			t.Errorf("the staff follow the link: %d", st)
		}
	})
}

// TestShiftRosterIsCardsWithBigButtons: the shift page gives each volunteer a card with a big
// 签到 button, a plain form that checks them in without JavaScript and then offers 签退.
func TestShiftRosterIsCardsWithBigButtons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		u := newUsable(t, d)
		_, shift := u.post(2)
		resident := u.API(demo.PhoneResident)
		var me volunteer.Volunteer
		if st, body := resident.JSON("POST", "/api/v1/volunteer/me", volunteer.RegisterInput{Consent: true}, &me); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		var su volunteer.Signup
		if st, body := resident.JSON("POST", fmt.Sprintf("/api/v1/volunteer/shifts/%d/signups", shift), nil, &su); st != 201 {
			t.Fatalf("sign up: %d %s", st, body)
		}
		page := fmt.Sprintf("/admin/volunteer/shifts/%d", shift)
		leader := u.Browser(demo.PhoneVillageAdmin)
		card := func() string {
			t.Helper()
			st, body := leader.Get(page)
			c := regexp.MustCompile(`<li class="vol-card">\s*<div class="vol-card-name"><strong>` + regexp.QuoteMeta(su.Name) + `</strong>[\s\S]*?</li>`).FindString(body)
			if st != 200 || c == "" || strings.Contains(body, "<table>\n  <tr><th>姓名") {
				t.Fatalf("the shift page has no card for %s (%d): %.1500s", su.Name, st, body)
			}
			return c
		}
		if c := card(); !strings.Contains(c, `<button class="primary big" name="action" value="in">签到</button>`) || !strings.Contains(c, fmt.Sprintf(`<input type="hidden" name="resident_id" value="%d">`, su.ResidentID)) {
			t.Errorf("before the shift: %s", c)
		}
		// At the site, ten minutes in: the form checks the volunteer in and the card offers 签退.
		day := u.town.Today(u.now()).AddDate(0, 0, 1)
		u.later(time.Date(day.Year(), day.Month(), day.Day(), 9, 10, 0, 0, u.town.Location()).Sub(u.now()))
		st, loc := u.redirected(demo.PhoneVillageAdmin, page+"/checkin", url.Values{"resident_id": {fmt.Sprint(su.ResidentID)}, "action": {"in"}})
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, page) {
			t.Fatalf("check in through the card's form: %d %s", st, loc)
		}
		if c := card(); !strings.Contains(c, `<button class="primary big" name="action" value="out">签退</button>`) || !strings.Contains(c, "签到–签退 上午9:10–") {
			t.Errorf("after checking in: %s", c)
		}
		// The flash says what was done, for whom: a check-in, not a completed shift.
		if _, body := leader.Get(loc); flashOf(body) != "已为 "+su.Name+" 签到 · 上午9:10" {
			t.Errorf("the check-in's flash: %q", flashOf(body))
		}
	})
}
