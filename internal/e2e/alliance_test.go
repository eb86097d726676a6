package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"siwei/internal/alliance"
	"siwei/internal/bank"
	"siwei/internal/demo"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// TestAllianceJourney is 微联盟's 三单对接 and a donation traced to who received it, in four
// browsers, as issue 16's journey has it: 前疃村's admin posts a need (需求清单); the town's
// alliance admin finds it on the matching board beside 蒙牛's unused resource and matches them
// into a project; 蒙牛's liaison agrees, then the village; the village records a milestone with a
// photo, the unit marks the project done and the village rates it. Then the town records 蒙牛's
// donation of milk, allocates part of it to 前疃村, whose admin finds a resident by name and
// hands two boxes over on the staff's own confirmation; the donor's liaison sees the village and
// the count but no one's name; and the resident, on a 360 px phone, finds them under 我收到的捐赠.
// Each refusal on the way (a need without its description, a rating without stars, a donation of
// nothing, an allocation beyond what was given, a handover without proof) names its field.
func TestAllianceJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	res := whoami(t, login(t, s, demo.PhoneResident))
	staffAPI := login(t, s, demo.PhoneAllianceAdmin)

	// Each run starts a fresh demo town, so the names need no suffix to be told apart.
	const (
		needText = "村小学留守儿童课间加餐缺牛奶"
		offer    = "学生营养奶（第二批）" // 蒙牛's unused resource in the demo, from in five days
		unit     = "蒙牛乳业（北京）有限责任公司"
		milk     = "纯牛奶"
	)
	by := townDay(30) // after the resource starts, so the board suggests it

	// 需求清单: 前疃村's admin posts the need; without its description it is refused by name.
	adm := allianceBrowser(t, s, false)
	adm.login(demo.PhoneVillageAdmin, demo.DemoPassword, adm.T("dashboard.title"))
	adm.visit("/admin/alliance/needs", adm.T("alliance.need.lead"), adm.T("alliance.need.add"))
	nf := `form[action="/admin/alliance/needs"][method=post]`
	adm.set(nf+` select[name=village_id]`, fmt.Sprint(res.VillageID))
	adm.set(nf+` select[name=kind]`, "goods")
	adm.set(nf+` input[name=people]`, "46")
	adm.set(nf+` input[name=by]`, by)
	adm.click(nf + ` button.primary`)
	adm.fieldErr(nf+` textarea[name=description]`, adm.T("field.required"))
	adm.value(nf+` input[name=people]`, "46")
	adm.value(nf+` input[name=by]`, by)
	adm.fill(nf+` textarea[name=description]`, needText)
	adm.click(nf + ` button.primary`)
	adm.see(adm.T("flash.alliance_need_posted", res.Village, needText))
	adm.row(res.Village, needText, adm.T("alliance.need.unmatched"), adm.T("alliance.kind.goods"))
	adm.top()
	adm.shot("alliance-needs")

	// 对接匹配: the alliance admin sees the need beside 蒙牛's resource and makes it a project.
	needID := allianceNeed(t, staffAPI, needText)
	resID := allianceResource(t, staffAPI, offer)
	al := allianceBrowser(t, s, false)
	al.login(demo.PhoneAllianceAdmin, demo.DemoPassword, al.T("dashboard.title"))
	al.visit("/admin/alliance/match", al.T("alliance.match.lead"), al.T("alliance.match.suggestions"), needText, offer)
	match := fmt.Sprintf(`form[action="/admin/alliance/projects"]:has(input[name=need_id][value="%d"]):has(input[name=resource_id][value="%d"])`, needID, resID)
	al.within(match, al.T("alliance.match.fits"), unit, offer)
	// The board is long (every open need with every resource that fits it): the picture is of its
	// top, down to this need's suggestions.
	al.shotDownTo("alliance-match", fmt.Sprintf(`li:has(input[name=need_id][value="%d"])`, needID))
	al.click(match + ` button.primary`)
	al.see(al.T("flash.alliance_project_created", needText), al.T("alliance.project.status.proposed"), unit, offer)
	project := pathID(al.browser, "/admin/alliance/projects/")
	pp := fmt.Sprintf("/admin/alliance/projects/%d", project)
	act := fmt.Sprintf(`form[action="%s/actions"]`, pp)
	do := func(action string) string { return fmt.Sprintf(`%s:has(input[name=action][value=%s])`, act, action) }

	// 单位确认: 蒙牛's liaison finds it waiting on the overview, agrees, and the village is next.
	todo := `section.todo a[href="/admin/alliance/projects"]`
	li := allianceBrowser(t, s, false)
	li.login(demo.PhoneUnitLiaison, demo.DemoPassword, li.T("dashboard.title"), li.T("alliance.project.todo_unit", 1))
	li.click(todo)
	li.see(li.T("alliance.project.list_title"), needText, li.T("alliance.project.status.proposed"))
	li.click(fmt.Sprintf(`a[href="%s"]`, pp))
	li.see(needText, li.T("alliance.project.unit_agree_hint"))
	li.click(do("unit_agree") + ` button.primary`)
	li.see(li.T("flash.alliance_project_unit_agreed", needText), li.T("alliance.project.status.unit_agreed"))

	// 村里确认 from the village's overview, then a milestone with a photo (without its words it is
	// refused by name).
	adm.visit("/admin", adm.T("alliance.project.todo_village", 1))
	adm.click(todo)
	adm.see(adm.T("alliance.project.list_title"), needText, adm.T("alliance.project.status.unit_agreed"))
	adm.click(fmt.Sprintf(`a[href="%s"]`, pp))
	adm.see(needText, adm.T("alliance.project.status.unit_agreed"), adm.T("alliance.project.village_agree_hint"))
	adm.click(do("village_agree") + ` button.primary`)
	adm.see(adm.T("flash.alliance_project_village_agreed", needText), adm.T("alliance.project.status.in_progress"), adm.T("alliance.project.no_milestones"))
	adm.upload(do("milestone")+` input[name=photos]`, photoFile(t))
	adm.click(do("milestone") + ` button`)
	adm.fieldErr(do("milestone")+` textarea[name=body]`, adm.T("field.required"))
	step := "第一批40箱牛奶已送到村小学，每天课间发放。"
	adm.fill(do("milestone")+` textarea[name=body]`, step)
	adm.upload(do("milestone")+` input[name=photos]`, photoFile(t))
	adm.click(do("milestone") + ` button`)
	adm.see(adm.T("flash.alliance_project_milestone", needText), step)
	adm.imageShown(`img[alt="` + adm.T("alliance.project.photo") + `"]`)

	// 项目完成 by the unit, then 评价 by the village: without stars it is refused by name.
	li.visit(pp, step, li.T("alliance.project.status.in_progress"))
	li.click(do("finish") + ` button.primary`)
	li.see(li.T("flash.alliance_project_finished", needText), li.T("alliance.project.status.done"))
	adm.visit(pp, adm.T("alliance.project.status.done"), adm.T("alliance.project.rate_title"))
	adm.click(do("rate") + ` button.primary`)
	adm.fieldErr(do("rate")+` input[name=rating]`, adm.T("flow.rating_invalid"))
	adm.click(do("rate") + ` input[name=rating][value="5"]`)
	adm.fill(do("rate")+` input[name=reason]`, "孩子们每天都能喝上奶，谢谢蒙牛")
	adm.click(do("rate") + ` button.primary`)
	adm.see(adm.T("flash.alliance_project_rated", needText), adm.T("alliance.project.status.rated"), adm.T("alliance.project.rating_was", 5), step)
	adm.shot("alliance-project")

	// 捐赠: the town records 蒙牛's milk; a donation of nothing is refused by name.
	al.visit("/admin/alliance/donations", al.T("alliance.donation.lead"), al.T("alliance.donation.add"))
	df := `form[action="/admin/alliance/donations"]`
	al.pick(df+` select[name=unit_id]`, unit)
	al.set(df+` input[name=donated_on]`, townDay(0))
	al.click(df + ` button.primary`)
	al.formErr(df, al.T("alliance.donation.nothing_given"))
	al.fill(df+` input[name="items.0.name"]`, milk)
	al.set(df+` input[name="items.0.quantity"]`, "200")
	al.fill(df+` input[name="items.0.measure"]`, "箱")
	al.click(df + ` button.primary`)
	al.see(al.T("alliance.donation.allocations_none"), milk)
	donation := pathID(al.browser, "/admin/alliance/donations/")
	receipt := allianceReceipt(t, staffAPI, donation)
	al.see(al.T("flash.alliance_donation_created", unit, receipt), al.T("alliance.donation.title_of", unit, receipt))
	al.row(milk, "200箱")

	// 分配: beyond what was given is refused by name, keeping the village; then 30 boxes to 前疃村.
	af := fmt.Sprintf(`form[action="/admin/alliance/donations/%d/allocations"]`, donation)
	al.set(af+` select[name=village_id]`, fmt.Sprint(res.VillageID))
	al.set(af+` input[name=quantity]`, "500")
	al.click(af + ` button.primary`)
	al.fieldErr(af+` input[name=quantity]`, al.T("alliance.donation.beyond_received", 200, "箱"))
	al.value(af+` select[name=village_id]`, fmt.Sprint(res.VillageID))
	al.set(af+` input[name=quantity]`, "30")
	al.click(af + ` button.primary`)
	al.see(al.T("flash.alliance_donation_allocated", milk, 30, "箱", res.Village))
	al.row(res.Village, milk, "30箱")
	al.row(milk, "200箱", "170箱")
	al.top()
	al.shot("alliance-donation")

	// 发放: 前疃村's admin finds the resident by name; without a photo or a confirmation it is
	// refused by name, then two boxes are handed over on the admin's confirmation.
	adm.visit("/admin/alliance/donations", receipt, unit)
	adm.click(fmt.Sprintf(`a[href="/admin/alliance/donations/%d"]`, donation))
	adm.see(adm.T("alliance.donation.hand_out"), adm.T("alliance.donation.find_resident"))
	adm.row(res.Village, milk, "30箱")
	adm.fill(`input[name=q]`, res.Name)
	adm.click(fmt.Sprintf(`form[action="/admin/alliance/donations/%d#handover"] button`, donation))
	hf := fmt.Sprintf(`form[action="/admin/alliance/donations/%d/handovers"]:has(input[name=resident_id][value="%d"])`, donation, res.ID)
	adm.see(res.Name, adm.T("alliance.donation.hand_over"))
	adm.set(hf+` input[name=quantity]`, "2")
	adm.click(hf + ` button.primary`)
	adm.formErr(hf, adm.T("alliance.donation.proof_required"))
	adm.set(hf+` input[name=quantity]`, "2") // the refused form shows 1 again, not the 2 typed
	adm.click(hf + ` input[name=confirmed]`)
	adm.click(hf + ` button.primary`)
	adm.see(adm.T("flash.alliance_donation_handed", res.Name, milk, 2, "箱"))
	adm.row(res.Village, milk, "30箱", "2箱", "28箱")
	adm.row(res.Name, milk+" 2箱")
	adm.top()
	adm.shot("alliance-handover")

	// The donor's liaison sees where the milk went: the village and the counts, no one's name.
	li.visit(fmt.Sprintf("/admin/alliance/donations/%d", donation), unit, receipt)
	li.row(res.Village, milk, "30箱", "2箱")
	if page := li.text(); strings.Contains(page, res.Name) {
		li.fail("the donor's liaison sees the recipient %s", res.Name)
	}

	// 我收到的捐赠: the resident, on a phone, is told, and follows the message there.
	ph := allianceBrowser(t, s, true)
	ph.login(demo.PhoneResident, demo.DemoPassword, res.Name)
	ph.visit("/notifications", ph.T("alliance.donation.told_title"), ph.T("alliance.donation.told_body", unit, milk, 2, "箱"))
	ph.narrow()
	ph.click(`a[href="/alliance/donations"]`)
	ph.see(ph.T("alliance.donation.mine_title"), ph.T("alliance.donation.mine_lead"), milk+" 2箱", ph.T("alliance.donation.mine_from", unit), res.Village)
	ph.narrow()
	ph.shot("alliance-resident-donations")
}

// allianceBrowser is a browser whose catalog has 微联盟's messages too; a phone is 360 px wide.
func allianceBrowser(t *testing.T, s *server, phone bool) *allianceTab {
	t.Helper()
	b := newBrowser(t, s, phone)
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, volunteer.Messages, alliance.Messages)
	if err != nil {
		t.Fatal(err)
	}
	b.cat = cat
	if phone {
		b.do("narrow the phone", chromedp.EmulateViewport(consultPhoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	}
	return &allianceTab{&consultTab{b}}
}

// allianceTab is a browser with 微协商's helpers (narrow, top, pick, value) and these.
type allianceTab struct{ *consultTab }

// fieldErr waits for a field's own error, in a label, cell or fieldset around it, to say want:
// a refusal names the field it refuses.
func (b *allianceTab) fieldErr(sel, want string) {
	b.t.Helper()
	b.errIn(sel, `e.closest("label, td, fieldset")`, want)
}

// formErr waits for an error among a form's own fields (not the page's summary) to say want.
func (b *allianceTab) formErr(form, want string) {
	b.t.Helper()
	b.errIn(form, `e`, want)
}

// errIn waits for the box (a JavaScript expression of the element e of sel), or a label, cell or
// fieldset around it, to hold an error that says want.
func (b *allianceTab) errIn(sel, box, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false;
		for (let box = %s; box; box = box.parentElement && box.parentElement.closest("label, td, fieldset"))
			if ([...box.querySelectorAll(".err")].some(x => x.innerText.includes(%q))) return true;
		return false })()`, sel, box, want)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ok, err := eval[bool](b.browser, js); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.fail("%s does not say %q beside it", sel, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// within fails unless the element shows every text.
func (b *allianceTab) within(sel string, texts ...string) {
	b.t.Helper()
	ok, err := eval[bool](b.browser, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && %s.every(t => e.innerText.includes(t)) })()`, sel, jsStrings(texts)))
	if err != nil || !ok {
		b.fail("%s does not show all of %q (%v)", sel, texts, err)
	}
}

// shotDownTo saves a screenshot of the page from its top down to the bottom of the element sel, as
// shot names it, for a page too long to show whole.
func (b *allianceTab) shotDownTo(name, sel string) {
	b.t.Helper()
	bottom, err := eval[float64](b.browser, fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		return e ? e.getBoundingClientRect().bottom + window.scrollY : 0 })()`, sel))
	if err != nil || bottom == 0 {
		b.fail("no %s to show (%v)", sel, err)
	}
	b.do("resize for "+name, chromedp.EmulateViewport(desktopW, int64(bottom)+24))
	b.top()
	b.step++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	b.do("restore the window", chromedp.EmulateViewport(desktopW, desktopH))
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.step, name)), png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// townDay is the demo town's date days from today, as a date input takes it.
func townDay(days int) string {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return time.Now().In(loc).AddDate(0, 0, days).Format("2006-01-02")
}

// allianceNeed is the id of the open need with the description, for the board's form.
func allianceNeed(t *testing.T, c *client, description string) int64 {
	t.Helper()
	var needs []alliance.Need
	c.must(t, http.StatusOK, "GET", "/api/v1/alliance/needs?unmatched=1", nil, &needs)
	for _, n := range needs {
		if n.Description == description {
			return n.ID
		}
	}
	t.Fatalf("no open need %q among %d", description, len(needs))
	return 0
}

// allianceResource is the id of the resource with the description.
func allianceResource(t *testing.T, c *client, description string) int64 {
	t.Helper()
	var list []alliance.Resource
	c.must(t, http.StatusOK, "GET", "/api/v1/alliance/resources", nil, &list)
	for _, r := range list {
		if r.Description == description {
			return r.ID
		}
	}
	t.Fatalf("no resource %q among %d", description, len(list))
	return 0
}

// allianceReceipt is a donation's receipt number (收据编号), which the town gives it.
func allianceReceipt(t *testing.T, c *client, id int64) string {
	t.Helper()
	var d struct {
		ReceiptNo string `json:"receipt_no"`
	}
	c.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/alliance/donations/%d", id), nil, &d)
	if d.ReceiptNo == "" {
		t.Fatalf("donation %d has no receipt number", id)
	}
	return d.ReceiptNo
}
