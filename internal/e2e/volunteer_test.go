package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"siwei/internal/demo"
)

// TestVolunteerJourney is 微志愿 in two browsers: a village admin at a desktop publishes a post for
// tomorrow; a party member on a phone registers as a volunteer, signs up for the shift, finds it
// among their shifts and files a need; the admin sees them on the roster and sends the need to the
// team the page suggests.
func TestVolunteerJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	api := login(t, s, demo.PhonePartyMember)
	m := whoami(t, api)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	day := time.Now().In(loc).AddDate(0, 0, 1)
	tomorrow := day.Format("2006-01-02")
	// The shift as pages write it, with its weekday: "12月4日 周五 上午10:00–11:30" (after the
	// year when tomorrow is in the next one).
	weekdays := [7]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}
	shiftAt := fmt.Sprintf("%d月%d日 %s 上午10:00–11:30", day.Month(), day.Day(), weekdays[day.Weekday()])
	title := fmt.Sprintf("帮独居老人打扫院子 %d", time.Now().UnixNano()%100000)

	staff := newBrowser(t, s, false)
	staff.login(demo.PhoneVillageAdmin, demo.DemoPassword, staff.T("dashboard.title"))
	staff.visit("/admin/volunteer", staff.T("volunteer.kind.livelihood"), staff.T("volunteer.kind.culture"))
	staff.shot("staff-volunteer-teams")
	staff.visit("/admin/volunteer/posts", staff.T("volunteer.publish"))
	// A refused form first: the end before the start.
	form := `form[action="/admin/volunteer/posts"]`
	staff.fill(form+` input[name=title]`, title)
	staff.fill(form+` input[name=place]`, "村西头张奶奶家")
	staff.set(form+` input[name=date]`, tomorrow)
	staff.set(form+` input[name=start]`, "10:00")
	staff.set(form+` input[name=end]`, "09:00")
	staff.set(form+` input[name=capacity]`, "2")
	staff.click(form + ` button.primary`)
	staff.see(staff.T("volunteer.end_before_start"))
	staff.set(form+` input[name=end]`, "11:30")
	staff.click(form + ` button.primary`)
	staff.see(staff.T("flash.volunteer_post_published", title, 1), staff.T("volunteer.roster.title"), title, shiftAt)
	href, err := eval[string](staff, `location.pathname`)
	if err != nil || !strings.HasPrefix(href, "/admin/volunteer/posts/") {
		t.Fatalf("after publishing: at %q (%v)", href, err)
	}
	post := strings.TrimPrefix(href, "/admin/volunteer/posts/")
	staff.shot("staff-volunteer-roster")

	b := newBrowser(t, s, true)
	b.login(demo.PhonePartyMember, demo.DemoPassword, m.Name)
	b.visit("/volunteer/register", b.T("volunteer.register.title"))
	b.click(`input[name=skills][value=care]`)
	b.click(`input[name=consent]`)
	b.click(`form[action="/volunteer/register"] button.primary`)
	b.see(b.T("volunteer.number"))
	var vol struct{ Number string }
	api.must(t, 200, "GET", "/api/v1/volunteer/me", nil, &vol)
	b.see(b.T("flash.volunteer_registered", m.Name, vol.Number))
	b.visit("/volunteer", b.T("volunteer.posts_near_me"), title)
	b.shot("resident-volunteer")
	b.click(fmt.Sprintf(`a[href="/volunteer/posts/%s"]`, post))
	b.see(title, "村西头张奶奶家", b.T("volunteer.places", 0, 2))
	b.click(`form[action$="/signup"] button`)
	b.see(b.T("flash.volunteer_signed_up", title, shiftAt), b.T("volunteer.places", 1, 2), b.T("volunteer.cancel"))
	b.shot("resident-volunteer-post")
	b.visit("/volunteer/shifts", title, shiftAt, b.T("volunteer.status.confirmed"))

	need := fmt.Sprintf("家里水管漏水 %d", time.Now().UnixNano()%100000)
	b.visit("/volunteer/needs", b.T("volunteer.file_need"))
	b.set(`select[name=category]`, "repair")
	b.fill(`textarea[name=description]`, need)
	b.click(`form[action="/volunteer/needs"] button.primary`)
	b.see(b.T("flash.volunteer_need_filed", b.T("volunteer.category.repair"), b.T("volunteer.need_status.open")), need)
	b.shot("resident-volunteer-needs")

	staff.visit("/admin/volunteer/posts/"+post, title, m.Name)
	staff.visit("/admin/volunteer/needs", need, m.Name, staff.T("volunteer.need_status.open"))
	var needs []struct {
		ID          int64  `json:"id"`
		Description string `json:"description"`
	}
	api.must(t, 200, "GET", "/api/v1/volunteer/needs", nil, &needs)
	var id int64
	for _, n := range needs {
		if n.Description == need {
			id = n.ID
		}
	}
	if id == 0 {
		t.Fatalf("the need is not among the resident's: %+v", needs)
	}
	staff.click(fmt.Sprintf(`a[href="/admin/volunteer/needs/%d"]`, id))
	// The team whose kind fits a repair comes first, marked as fitting.
	staff.see(staff.T("volunteer.assign"), staff.T("volunteer.kind_fit"))
	staff.click(`input[name=team_id]`)
	staff.click(`form:has(input[name=action][value=assign]) button.primary`)
	// The flash names the action, the team and the new status.
	staff.see(staff.T("volunteer.did.assign"), staff.T("volunteer.need_status.assigned"), staff.T("volunteer.kind.livelihood"))
	staff.shot("staff-volunteer-need")
}
