package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"siwei/internal/bank"
	"siwei/internal/consult"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// TestConsultJourney is 微协商 from 提议 to 评价, in five browsers, as issue 15's journey has it: a
// resident of 前疃村 on a 360 px phone proposes a topic with a photo and a neighbour supports it;
// the town's admin adds a department to the directory and gives it a login, whose one-time
// password the department changes at its first login; 前疃村's admin at a desktop plans a meeting
// for now (one may be planned for a time already begun: the village holds it as it is entered),
// accepts the topic onto it, adds the proposer and an outside participant, checks them in, records
// an opinion, a decision for the topic and the minutes, closes it (it asks first), and refers the
// decision to the department; the department finds it on its board with a countdown, accepts it,
// replies with a photo and marks it done; the proposer follows it in 我的诉求办理 and rates it
// 满意; and the village's public progress page shows it with no one's name or phone.
func TestConsultJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	resAPI := login(t, s, demo.PhoneResident)
	res := whoami(t, resAPI)
	sup := whoami(t, login(t, s, demo.PhonePartyMember))
	if res.VillageID != sup.VillageID {
		t.Fatalf("the demo's resident (%s) and party member (%s) live in different villages", res.Village, sup.Village)
	}
	var cats []struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
		Name string `json:"name"`
	}
	resAPI.must(t, http.StatusOK, "GET", "/api/v1/consult/categories", nil, &cats)
	var roads int64
	for _, c := range cats {
		if c.Code == "roads" {
			roads = c.ID
		}
	}
	if roads == 0 {
		t.Fatalf("no category roads among %+v", cats)
	}
	// Each run starts a fresh demo town, so the names need no suffix to be told apart.
	const title = "村东小桥栏杆松动"
	body := "村东小桥的栏杆晃得厉害，孩子上学天天走，希望尽快修一修。"
	photo := photoFile(t)

	// 提议: the resident proposes the topic with a photo, on a phone.
	ph := consultBrowser(t, s, true)
	ph.login(demo.PhoneResident, demo.DemoPassword, res.Name)
	ph.visit("/consult", ph.T("consult.nav.topics"), ph.T("consult.home.my_referrals"))
	ph.visit("/consult/topics", ph.T("consult.topics.lead"), ph.T("consult.topic.new"))
	ph.narrow()
	ph.click(`a[href="/consult/topics/new"]`)
	ph.see(ph.T("consult.topic.form_hint"), ph.T("consult.topic.submit"))
	form := `form[action="/consult/topics"]`
	ph.click(fmt.Sprintf(`%s input[name=village_id][value="%d"]`, form, res.VillageID))
	ph.fill(form+` input[name=title]`, title)
	ph.fill(form+` textarea[name=description]`, body)
	// Without a category it is refused by name, keeping what was typed.
	ph.click(form + ` button.primary`)
	ph.see(ph.T("field.required"))
	ph.value(form+` input[name=title]`, title)
	ph.value(form+` textarea[name=description]`, body)
	ph.set(form+` select[name=category_id]`, fmt.Sprint(roads))
	ph.upload(form+` input[name=photos]`, photo)
	ph.click(form + ` button.primary`)
	ph.see(ph.T("flash.consult_topic_proposed", title), ph.T("consult.topic_status.open"), body, ph.T("consult.topic.supports", 0))
	ph.narrow()
	topic := pathID(ph.browser, "/consult/topics/")
	ph.imageShown(`.cs-photos img`)
	ph.shot("consult-resident-topic")

	// 支持: a neighbour supports it from the list.
	nb := consultBrowser(t, s, true)
	nb.login(demo.PhonePartyMember, demo.DemoPassword, sup.Name)
	nb.visit("/consult/topics", nb.T("consult.topics.others", sup.Village), title)
	supportBtn := fmt.Sprintf(`form[action="/consult/topics/%d/support"] button`, topic)
	nb.click(supportBtn)
	nb.see(nb.T("flash.consult_supported", title, 1))
	nb.visit(fmt.Sprintf("/consult/topics/%d", topic), title, nb.T("consult.topic.you_support"), nb.T("consult.topic.supports", 1))
	ph.visit("/consult/topics", ph.T("consult.topics.mine"), title, ph.T("consult.topic.supports", 1))
	ph.narrow()
	ph.shot("consult-resident-topics")

	// The town's admin adds a department that handles roads and gives it a login.
	const dept, deptPhone = "镇交通运输服务中心", "13700009876"
	town := consultBrowser(t, s, false)
	town.login(demo.PhoneTownAdmin, demo.DemoPassword, town.T("dashboard.title"))
	town.visit("/admin/consult/departments", town.T("consult.department.lead"), town.T("consult.department.add"))
	df := `form[action="/admin/consult/departments"]`
	town.fill(df+` input[name=name]`, dept)
	town.set(df+` select[name=level]`, "town")
	town.fill(df+` input[name=contact_name]`, "赵建国")
	town.fill(df+` input[name=contact_phone]`, "010-69571234")
	town.click(fmt.Sprintf(`%s input[name=category_ids][value="%d"]`, df, roads))
	town.click(df + ` button.primary`)
	town.see(town.T("flash.consult_department_created", dept), dept, town.T("consult.category.roads"))
	town.visit(departmentHref(town, dept), dept, town.T("consult.department.no_accounts"))
	deptID := pathID(town.browser, "/admin/consult/departments/")
	af := fmt.Sprintf(`form[action="/admin/consult/departments/%d/accounts"]`, deptID)
	town.fill(af+` input[name=phone]`, deptPhone)
	town.fill(af+` input[name=name]`, "赵建国")
	town.click(af + ` input[name=head]`)
	town.click(af + ` button`)
	town.see(town.T("consult.department.activation"), town.T("consult.department.activation_hint"))
	once, err := eval[string](town.browser, `document.querySelector('section[role=status] strong').innerText`)
	if err != nil || strings.TrimSpace(once) == "" {
		town.fail("no one-time password on the department's page (%v)", err)
	}
	once = strings.TrimSpace(once)
	town.visit(fmt.Sprintf("/admin/consult/departments/%d", deptID), "赵建国", town.T("consult.department.head"))

	// The department's first login: it must change the one-time password first.
	dp := consultBrowser(t, s, false)
	dp.login(deptPhone, once, dp.T("password.must_change"))
	const newPassword = "Qiao-Lan-2026!"
	dp.fill(`form[action="/password"] input[name=old_password]`, once)
	dp.fill(`form[action="/password"] input[name=new_password]`, newPassword)
	dp.click(`form[action="/password"] button.primary`)
	// The change lands on the staff's overview, which says it was done.
	dp.see(dp.T("dashboard.title"), dp.T("flash.password_changed"))
	dp.path("/admin")

	// 安排议事会: 前疃村's admin plans the meeting for now, in the town's wall time.
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(loc).Add(-5 * time.Minute).Truncate(time.Minute)
	end := start.Add(90 * time.Minute)
	const meetingTitle = "村东小桥栏杆议事会"
	adm := consultBrowser(t, s, false)
	adm.login(demo.PhoneVillageAdmin, demo.DemoPassword, adm.T("dashboard.title"))
	adm.visit("/admin/consult/meetings/new", adm.T("consult.meeting.new_title"), adm.T("consult.meeting.create"))
	mf := `form[action="/admin/consult/meetings"]`
	adm.set(mf+` select[name=level]`, "village")
	adm.set(mf+` select[name=village_id]`, fmt.Sprint(res.VillageID))
	adm.fill(mf+` input[name=title]`, meetingTitle)
	adm.set(mf+` input[name=starts_at]`, start.Format("2006-01-02T15:04"))
	adm.set(mf+` input[name=ends_at]`, end.Format("2006-01-02T15:04"))
	adm.fill(mf+` input[name=place]`, "村委会议室")
	adm.fill(mf+` input[name=site_visit]`, "会前到村东小桥查看栏杆")
	adm.click(mf + ` button.primary`)
	adm.see(adm.T("flash.consult_meeting_created"), meetingTitle, adm.T("consult.meeting.status.planned"), adm.T("consult.meeting.agenda_empty"))
	meeting := pathID(adm.browser, "/admin/consult/meetings/")

	// 上会: the topic goes onto the meeting's agenda; the proposer is told.
	adm.visit(fmt.Sprintf("/admin/consult/topics/%d", topic), title, adm.T("consult.topic.supports", 1), adm.T("consult.topic.accept"))
	accept := fmt.Sprintf(`form[action="/admin/consult/topics/%d/actions"]:has(input[name=action][value=accept])`, topic)
	adm.set(accept+` select[name=meeting_id]`, fmt.Sprint(meeting))
	adm.click(accept + ` button.primary`)
	adm.see(adm.T("flash.consult_topic_accepted", title, meetingTitle), adm.T("consult.topic_status.accepted"))

	// 开会: participants, check-ins, an opinion, the decision, the minutes.
	mp := fmt.Sprintf("/admin/consult/meetings/%d", meeting)
	adm.visit(mp, meetingTitle, title)
	adm.fill(`input[name=q]`, demo.PhoneResident)
	adm.click(fmt.Sprintf(`form[action="%s#participants"] button`, mp))
	adm.see(res.Name, adm.T("consult.meeting.add"))
	adm.click(fmt.Sprintf(`form[action="%s/participants"]:has(input[name=resident_id]) button`, mp))
	adm.see(adm.T("flash.consult_meeting_participant", res.Name))
	out := fmt.Sprintf(`form[action="%s/participants"]:has(input[name=unit])`, mp)
	adm.set(out+` select[name=kind]`, "department")
	adm.fill(out+` input[name=name]`, "赵建国")
	adm.fill(out+` input[name=unit]`, dept)
	adm.click(out + ` button`)
	adm.see(adm.T("flash.consult_meeting_participant", "赵建国"), adm.T("consult.meeting.kind.department"))
	adm.click(`form[action$="/checkins"] input[name=resident_ids]`)
	adm.click(`form[action$="/checkins"] input[name=participant_ids]`)
	adm.click(`form[action$="/checkins"] button`)
	adm.see(adm.T("flash.consult_meeting_checked", 2), adm.T("consult.meeting.roll", 2))
	site := "小桥东侧栏杆三处立柱松动，桥面完好。"
	adm.fill(fmt.Sprintf(`form[action="%s/site-notes"] textarea[name=site_notes]`, mp), site)
	adm.click(fmt.Sprintf(`form[action="%s/site-notes"] button`, mp))
	adm.see(adm.T("flash.consult_meeting_site_notes"))
	adm.value(fmt.Sprintf(`form[action="%s/site-notes"] textarea[name=site_notes]`, mp), site)
	op := fmt.Sprintf(`form[action="%s/opinions"]`, mp)
	adm.pick(op+` select[name=participant_id]`, res.Name)
	adm.set(op+` select[name=topic_id]`, fmt.Sprint(topic))
	said := "栏杆松了好几个月了，晚上走特别危险。"
	adm.fill(op+` textarea[name=body]`, said)
	adm.click(op + ` button`)
	adm.see(adm.T("flash.consult_meeting_opinion"), said)
	dec := fmt.Sprintf(`form[action="%s/decisions"]`, mp)
	decision := "请镇交通运输服务中心一周内加固村东小桥栏杆，村里派人配合。"
	adm.set(dec+` select[name=topic_id]`, fmt.Sprint(topic))
	adm.fill(dec+` textarea[name=decision]`, decision)
	adm.click(dec + ` button`)
	adm.see(adm.T("flash.consult_meeting_decision"), decision, adm.T("consult.meeting.refer"))
	minutes := "到会村民和镇交通运输服务中心代表一起查看了小桥，同意加固栏杆。"
	adm.fill(fmt.Sprintf(`form[action="%s/minutes"] textarea[name=minutes]`, mp), minutes)
	adm.click(fmt.Sprintf(`form[action="%s/minutes"] button:not(.primary)`, mp))
	adm.see(adm.T("flash.consult_meeting_minutes"))
	adm.value(fmt.Sprintf(`form[action="%s/minutes"] textarea[name=minutes]`, mp), minutes)
	adm.top()
	adm.shot("consult-staff-meeting")
	// 结束会议: it asks first, then publishes the minutes and decides the topic.
	adm.click(fmt.Sprintf(`form[action="%s/minutes"] button.primary`, mp))
	adm.see(adm.T("consult.meeting.close_title"))
	adm.click(`form:has(input[name=confirmed]) button.primary`)
	adm.see(adm.T("flash.consult_meeting_closed", meetingTitle), adm.T("consult.meeting.status.closed"), adm.T("consult.meeting.attendance_n", 2), decision, site, minutes)
	adm.top()
	adm.shot("consult-staff-meeting-closed")

	// 转交部门: from the decision to the department, which the form marks as handling roads.
	adm.click(`a[href^="/admin/consult/referrals/new?decision="]`)
	adm.see(adm.T("consult.referral.new_title"), dept, adm.T("consult.referral.handles"))
	rf := `form[action="/admin/consult/referrals"]`
	adm.click(fmt.Sprintf(`%s input[name=department_ids][value="%d"]`, rf, deptID))
	adm.click(rf + ` button.primary`)
	adm.see(adm.T("flash.consult_referral_created", title), adm.T("consult.referral.status.referred"), dept)
	referral := pathID(adm.browser, "/admin/consult/referrals/")

	// 接诉即办: the department's board, with the 24 hours to respond counting down.
	dp.visit("/admin/consult/referrals", dp.T("consult.referral.board_department"), title, dp.T("consult.referral.left_hours", 23))
	dp.shot("consult-department-board")
	dp.click(fmt.Sprintf(`a[href="/admin/consult/referrals/%d"]`, referral))
	dp.see(title, decision, dp.T("consult.referral.accept"))
	act := fmt.Sprintf(`form[action="/admin/consult/referrals/%d/actions"]`, referral)
	dp.click(act + `:has(input[name=action][value=accept]) button.primary`)
	dp.see(dp.T("flash.consult_referral_accepted", title, dept), dp.T("consult.referral.status.accepted"))
	progress := "已到现场查看，材料已备齐，明天上午加固。"
	dp.fill(act+`:has(input[name=action][value=reply]) textarea[name=body]`, progress)
	dp.upload(act+`:has(input[name=action][value=reply]) input[name=photos]`, photo)
	dp.click(act + `:has(input[name=action][value=reply]) button`)
	dp.see(dp.T("flash.consult_referral_replied", title), progress)
	dp.imageShown(`img[alt="` + dp.T("consult.referral.photo") + `"]`)
	closing := "栏杆已全部加固，并刷了警示漆。"
	dp.fill(act+`:has(input[name=action][value=finish]) textarea[name=body]`, closing)
	dp.click(act + `:has(input[name=action][value=finish]) button.primary`)
	dp.see(dp.T("flash.consult_referral_finished", title), dp.T("consult.referral.status.done"), closing)
	dp.shot("consult-department-referral")

	// 评价: the proposer follows it and rates it 满意.
	ph.visit("/consult/referrals", ph.T("consult.referral.mine_title"), title, ph.T("consult.referral.status.done"), dept)
	ph.narrow()
	ph.click(fmt.Sprintf(`a[href="/consult/referrals/%d"]`, referral))
	ph.see(title, progress, closing, ph.T("consult.referral.rate_title"))
	ph.narrow()
	rate := fmt.Sprintf(`form[action="/consult/referrals/%d/actions"]`, referral)
	ph.click(rate + ` input[name=satisfaction][value=satisfied]`)
	ph.fill(rate+` input[name=reason]`, "修得很快，谢谢")
	ph.click(rate + ` button.primary`)
	ph.see(ph.T("flash.consult_referral_rated", title), ph.T("consult.referral.status.rated"), ph.T("consult.referral.rating_was")+"："+ph.T("consult.referral.rating.5"))
	ph.narrow()
	ph.shot("consult-resident-referral")
	var r struct {
		Status string `json:"status"`
		Rating int    `json:"rating"`
	}
	resAPI.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/consult/referrals/%d", referral), nil, &r)
	if r.Status != consult.ReferralRated || r.Rating != 5 {
		t.Errorf("after 满意 the referral is %+v", r)
	}

	// 办理进度: the village's public page, seen by anyone without logging in (the neighbour's phone,
	// logged out), names no one.
	pub := nb
	pub.click(`form[action="/logout"] button`)
	pub.see(pub.T("login.title"))
	pub.visit(fmt.Sprintf("/consult/progress/%d", res.VillageID), res.Village, pub.T("consult.progress.title"), title, dept, progress, closing, pub.T("consult.referral.status.rated"))
	pub.narrow()
	pub.shot("consult-public-progress")
	page := pub.text()
	for _, private := range []string{res.Name, sup.Name, demo.PhoneResident, deptPhone, "赵建国", "010-69571234"} {
		if strings.Contains(page, private) {
			pub.fail("the public progress page shows %q", private)
		}
	}
}

// consultBrowser is a browser whose catalog has 微协商's messages too. A phone is 360 px wide, the
// narrowest common one, for narrow to check against.
func consultBrowser(t *testing.T, s *server, phone bool) *consultTab {
	t.Helper()
	b := newBrowser(t, s, phone)
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, volunteer.Messages, consult.Messages)
	if err != nil {
		t.Fatal(err)
	}
	b.cat = cat
	if phone {
		b.do("narrow the phone", chromedp.EmulateViewport(consultPhoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	}
	return &consultTab{b}
}

// consultPhoneW is the width of the journey's phone.
const consultPhoneW = 360

// consultTab is a browser with 微协商's helpers.
type consultTab struct{ *browser }

// narrow fails when the page is wider than the 360 px phone.
func (b *consultTab) narrow() {
	b.t.Helper()
	w, err := eval[int](b.browser, `document.documentElement.scrollWidth`)
	if err != nil || w > consultPhoneW {
		b.fail("the page is %d px wide on a %d px phone (%v)", w, consultPhoneW, err)
	}
}

// top scrolls to the top of the page, so that a full-page screenshot shows the side menu there.
func (b *consultTab) top() {
	b.t.Helper()
	if _, err := eval[bool](b.browser, `(() => { window.scrollTo(0, 0); return true })()`); err != nil {
		b.fail("scroll to the top: %v", err)
	}
}

// pick chooses the option of a select whose words contain text.
func (b *consultTab) pick(sel, text string) {
	b.t.Helper()
	ok, err := eval[bool](b.browser, fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		const o = s && [...s.options].find(o => o.text.includes(%q));
		if (!o) return false;
		s.value = o.value; s.dispatchEvent(new Event("change", {bubbles: true}));
		return true })()`, sel, text))
	if err != nil || !ok {
		b.fail("no option %q in %s (%v)", text, sel, err)
	}
}

// value fails unless a field holds the words (a textarea's words are not the page's text).
func (b *consultTab) value(sel, want string) {
	b.t.Helper()
	got, err := eval[string](b.browser, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.value : "" })()`, sel))
	if err != nil || got != want {
		b.fail("%s holds %q, want %q (%v)", sel, got, want, err)
	}
}

// departmentHref is the address of the directory's link to a department, by its name.
func departmentHref(b *consultTab, name string) string {
	b.t.Helper()
	href, err := eval[string](b.browser, fmt.Sprintf(`(() => { const a = [...document.querySelectorAll('a[href^="/admin/consult/departments/"]')].find(a => a.innerText.trim() === %q); return a ? a.getAttribute("href") : "" })()`, name))
	if err != nil || href == "" {
		b.fail("no link to the department %s (%v)", name, err)
	}
	return href
}
