package consult_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
)

func TestDepartmentDirectory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newReferralWorld(t, d)
		if st, body := w.town.JSON("POST", "/api/v1/consult/departments", map[string]any{"name": "水务所", "level": "town"}, nil); st != 409 || !strings.Contains(body, `"name"`) {
			t.Errorf("a second 水务所: %d %s", st, body)
		}
		if st, body := w.town.JSON("POST", "/api/v1/consult/departments", map[string]any{"name": "", "level": "province"}, nil); st != 422 || !strings.Contains(body, `"level"`) || !strings.Contains(body, `"name"`) {
			t.Errorf("bad department: %d %s", st, body)
		}
		if st, _ := w.village.JSON("POST", "/api/v1/consult/departments", map[string]any{"name": "村里的部门", "level": "town"}, nil); st != 404 && st != 403 {
			t.Errorf("village admin adds a department: %d", st)
		}
		b := w.env.Browser(demo.PhoneTownAdmin)
		path := fmt.Sprintf("/admin/consult/departments/%d", w.cultureID)
		// Deactivating asks first, and needs a reason.
		if st, body := b.PostForm(path, url.Values{"action": {"deactivate"}}); st != 200 || !strings.Contains(body, "停用这个部门") {
			t.Errorf("deactivate asks: %d", st)
		}
		if st, loc := b.Submit(path, url.Values{"action": {"deactivate"}, "confirmed": {"1"}, "reason": {"机构调整"}}); st != 303 || !strings.Contains(loc, "flash=") {
			t.Fatalf("deactivate: %d %s", st, loc)
		}
		if st, body := w.village.JSON("POST", "/api/v1/consult/referrals", map[string]any{"topic_id": w.topicID, "department_ids": []int64{w.cultureID}, "urgency": "normal", "finish_days": 15}, nil); st != 422 || !strings.Contains(body, "department_ids") {
			t.Errorf("refer to an inactive department: %d %s", st, body)
		}
		// A new phone gets a new login, shown once.
		st, body := b.PostForm(path+"/accounts", url.Values{"phone": {"13900000509"}, "name": {"新答复人"}})
		if st != 200 || !strings.Contains(body, "初始密码") {
			t.Errorf("new login: %d", st)
		}
		// A login of another department is refused.
		if st, body := b.PostForm(path+"/accounts", url.Values{"phone": {"13900000501"}}); st != 409 || !strings.Contains(body, "另一个部门") {
			t.Errorf("another department's login: %d", st)
		}
		if st, _ := w.env.Browser(demo.PhoneVillageAdmin).Get(path); st != 404 && st != 403 {
			t.Errorf("village admin reads a department: %d", st)
		}
	})
}
