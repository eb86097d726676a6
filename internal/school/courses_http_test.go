package school_test

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
)

// categoryID is the id of a category of the caller's town, by name.
func categoryID(t *testing.T, c *servertest.Client, name string) int64 {
	t.Helper()
	var cats []school.Category
	if st, body := c.JSON("GET", "/api/v1/school/categories", nil, &cats); st != 200 {
		t.Fatalf("categories: %d %s", st, body)
	}
	for _, k := range cats {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no category %s in %+v", name, cats)
	return 0
}

// courseFields is a valid course form.
func courseFields(title string, category, expert int64) url.Values {
	return url.Values{"title": {title}, "category_id": {strconv.FormatInt(category, 10)}, "minutes": {"90"}, "format": {"both"},
		"outline": {"一、为什么\n二、怎么做"}, "expert_ids": {strconv.FormatInt(expert, 10)}}
}

// TestCoursesOverHTTP: the menu is made and read through the pages and the API: wrong input is
// refused naming its fields and stores nothing; only offered courses reach residents, filtered
// by category; materials are a PDF checked before it is stored, or a link; another town's staff
// find nothing; contact details never reach a resident.
func TestCoursesOverHTTP(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		admin, page := env.API(demo.PhoneSchoolAdmin), env.Browser(demo.PhoneSchoolAdmin)
		resident, residentPage, other := env.API(demo.PhoneResident), env.Browser(demo.PhoneResident), env.API(demo.PhoneTownAdmin2)

		var zhou, chen school.Expert
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "周立群", "affiliation": "中共中央党校", "phone": "13866667777", "email": "zhou@example.cn"}, &zhou); st != 201 {
			t.Fatalf("expert: %d %s", st, body)
		}
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "陈雅琴", "affiliation": "中共中央党校"}, &chen); st != 201 {
			t.Fatalf("expert: %d %s", st, body)
		}
		party, sorting := categoryID(t, admin, "党性教育"), categoryID(t, admin, "垃圾分类")

		// Wrong input: each field named, nothing stored.
		before := count(t, env, "school_courses")
		bad := map[string]any{"title": "", "category_id": 999999, "minutes": 5, "format": "zoom", "expert_ids": []int64{999999}, "material_url": "ftp://files.example.cn/x.pdf"}
		st, body := admin.JSON("POST", "/api/v1/school/courses", bad, nil)
		got := errorsOf(t, body)
		slices.Sort(got)
		if want := []string{"category_id", "expert_ids", "format", "material_url", "minutes", "title"}; st != 422 || !slices.Equal(got, want) {
			t.Errorf("bad course: %d fields %v, want %v: %s", st, got, want, body)
		}
		if count(t, env, "school_courses") != before {
			t.Error("a refused course was stored")
		}
		st, body = upload(t, env, page, "/admin/school/courses", url.Values{"title": {""}, "minutes": {"600"}, "format": {"both"}, "category_id": {strconv.FormatInt(party, 10)}}, "material", "", nil)
		if st != 422 || !strings.Contains(body, "必填") || !strings.Contains(body, "时长须在 10 到 480 分钟之间") || count(t, env, "school_courses") != before {
			t.Errorf("bad course form: %d %.300s", st, body)
		}

		// Materials: a PDF over 20 MiB is refused as it is read, a file that is no PDF by its
		// first bytes; neither stores the course.
		big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{' '}, school.MaxMaterialBytes)...)
		st, body = upload(t, env, page, "/admin/school/courses", courseFields("学习党的二十大精神", party, zhou.ID), "material", "讲义.pdf", big)
		if st != 413 || !strings.Contains(body, "文件不能超过 20 MB") || count(t, env, "school_courses") != before {
			t.Errorf("PDF over 20 MB: %d, stored %d: %.300s", st, count(t, env, "school_courses")-before, body)
		}
		st, body = upload(t, env, page, "/admin/school/courses", courseFields("学习党的二十大精神", party, zhou.ID), "material", "讲义.pdf", pngPhoto(t))
		if st != 422 || !strings.Contains(body, "课程资料须为 PDF 文件") || count(t, env, "school_courses") != before {
			t.Errorf("not a PDF: %d, stored %d: %.300s", st, count(t, env, "school_courses")-before, body)
		}
		link := courseFields("学习党的二十大精神", party, zhou.ID)
		link.Set("material_url", "https://www.12371.cn/")
		st, body = upload(t, env, page, "/admin/school/courses", link, "material", "讲义.pdf", pdf)
		if st != 422 || !strings.Contains(body, "二选一") || count(t, env, "school_courses") != before {
			t.Errorf("a PDF and a link: %d %.300s", st, body)
		}
		if st, body := upload(t, env, page, "/admin/school/courses", courseFields("学习党的二十大精神", party, zhou.ID), "material", "二十大讲义.pdf", pdf); st != 303 {
			t.Fatalf("create: %d %.300s", st, body)
		}
		var list []school.Course
		admin.JSON("GET", "/api/v1/school/courses", nil, &list)
		if len(list) != 1 || list[0].Status != school.Draft || list[0].Material == nil || list[0].Material.Name != "二十大讲义.pdf" || list[0].Material.Size != int64(len(pdf)) ||
			list[0].Ratings != 0 || list[0].TimesTaught != 0 || len(list[0].Experts) != 1 {
			t.Fatalf("created: %+v", list)
		}
		c := list[0]
		if st, body := admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "学习党的二十大精神", "category_id": party, "minutes": 60, "format": "online"}, nil); st != 409 || !strings.Contains(body, `"title"`) {
			t.Errorf("the same title twice: %d %s", st, body)
		}

		// A draft is the staff's alone.
		course := fmt.Sprintf("/api/v1/school/courses/%d", c.ID)
		if st, _ := resident.JSON("GET", course, nil, nil); st != 404 {
			t.Errorf("a resident reads a draft: %d", st)
		}
		if st, _ := residentPage.Get(fmt.Sprintf("/school/courses/%d/material", c.ID)); st != 404 {
			t.Errorf("a resident reads a draft's PDF: %d", st)
		}
		// Offered, it is on the menu with its experts, its PDF and no rating yet.
		if st, body := admin.JSON("POST", course+"/status", map[string]any{"status": "offered"}, nil); st != 200 {
			t.Fatalf("offer: %d %s", st, body)
		}
		var sorted school.Course
		if st, body := admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "农村生活垃圾分类怎么做", "category_id": sorting, "minutes": 60, "format": "offline",
			"expert_ids": []int64{chen.ID}, "material_url": "https://www.12371.cn/"}, &sorted); st != 201 {
			t.Fatalf("second course: %d %s", st, body)
		}
		admin.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", sorted.ID), map[string]any{"status": "offered"}, nil)
		var noTeacher school.Course
		admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "没人讲的课", "category_id": sorting, "minutes": 60, "format": "offline"}, &noTeacher)
		if st, body := admin.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", noTeacher.ID), map[string]any{"status": "offered"}, nil); st != 409 || !strings.Contains(body, "至少要有一位在库专家") {
			t.Errorf("offered without an expert: %d %s", st, body)
		}
		st, body = residentPage.Get("/school")
		if st != 200 || !strings.Contains(body, "学习党的二十大精神") || !strings.Contains(body, "农村生活垃圾分类怎么做") || strings.Contains(body, "没人讲的课") ||
			!strings.Contains(body, "周立群") || !strings.Contains(body, "暂无评分") || !strings.Contains(body, "尚未开讲") || !strings.Contains(body, "线上线下均可") {
			t.Errorf("the menu: %d %.500s", st, body)
		}
		// Filtered by category: only that category's courses.
		st, body = residentPage.Get(fmt.Sprintf("/school?category_id=%d", sorting))
		if st != 200 || strings.Contains(body, "学习党的二十大精神") || !strings.Contains(body, "农村生活垃圾分类怎么做") {
			t.Errorf("the menu of 垃圾分类: %d", st)
		}
		if st, body := resident.JSON("GET", fmt.Sprintf("/api/v1/school/courses?category_id=%d", party), nil, &list); st != 200 || len(list) != 1 || list[0].ID != c.ID {
			t.Errorf("the API's menu of 党性教育: %d %s", st, body)
		}
		// The course page and its PDF; contact details appear nowhere a resident looks.
		st, body = residentPage.Get(fmt.Sprintf("/school/courses/%d", c.ID))
		if st != 200 || !strings.Contains(body, "二十大讲义.pdf") || !strings.Contains(body, "一、为什么") || !strings.Contains(body, "中共中央党校") {
			t.Errorf("the course page: %d", st)
		}
		for _, p := range []string{"/school", fmt.Sprintf("/school/courses/%d", c.ID)} {
			if _, body := residentPage.Get(p); strings.Contains(body, "13866667777") || strings.Contains(body, "zhou@example.cn") {
				t.Errorf("%s shows a resident the expert's contact details", p)
			}
		}
		for _, p := range []string{"/api/v1/school/courses", course, "/api/v1/school/experts"} {
			if _, body := resident.JSON("GET", p, nil, nil); strings.Contains(body, "13866667777") || strings.Contains(body, "zhou@example.cn") {
				t.Errorf("%s gives a resident the expert's contact details", p)
			}
		}
		req := fmt.Sprintf("/school/courses/%d/material", c.ID)
		if st, body := residentPage.Get(req); st != 200 || body != string(pdf) {
			t.Errorf("the PDF: %d", st)
		}

		// Another town: nothing of 潞城镇's menu, and its own category unknown here.
		if st, _ := other.JSON("GET", course, nil, nil); st != 404 {
			t.Errorf("西集镇 admin reads the course: %d", st)
		}
		if st, _ := other.JSON("POST", course+"/status", map[string]any{"status": "withdrawn"}, nil); st != 404 {
			t.Errorf("西集镇 admin withdraws the course: %d", st)
		}
		otherPage := env.Browser(demo.PhoneTownAdmin2)
		if st, _ := upload(t, env, otherPage, fmt.Sprintf("/admin/school/courses/%d", c.ID), courseFields("改名", party, zhou.ID), "", "", nil); st != 404 {
			t.Errorf("西集镇 admin edits the course: %d", st)
		}
		if st, _ := otherPage.Get(fmt.Sprintf("/school/courses/%d/material", c.ID)); st != 404 {
			t.Errorf("西集镇 admin reads the PDF: %d", st)
		}
		if st, _ := other.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "借用", "category_id": party, "minutes": 60, "format": "online", "expert_ids": []int64{zhou.ID}}, nil); st != 422 {
			t.Errorf("西集镇 admin gives its course 潞城镇's expert: %d, want 422", st)
		}
		if st, _ := env.Browser(demo.PhoneTownAdmin2).PostForm("/admin/school/categories", url.Values{"name": {"西集特色"}}); st != 303 {
			t.Fatalf("西集镇 adds a category: %d", st)
		}
		xiji := categoryID(t, other, "西集特色")
		if st, _ := resident.JSON("GET", fmt.Sprintf("/api/v1/school/courses?category_id=%d", xiji), nil, nil); st != 404 {
			t.Errorf("a 潞城镇 resident filters by 西集镇's category: %d", st)
		}
		if st, _ := residentPage.Get(fmt.Sprintf("/school?category_id=%d", xiji)); st != 404 {
			t.Errorf("the menu filtered by 西集镇's category: %d", st)
		}

		// A resident writes nothing.
		if st, _ := resident.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "村民自开", "category_id": party, "minutes": 60, "format": "online"}, nil); st != 403 {
			t.Errorf("a resident adds a course: %d", st)
		}
		if st, _ := resident.JSON("POST", course+"/status", map[string]any{"status": "withdrawn"}, nil); st != 403 {
			t.Errorf("a resident withdraws a course: %d", st)
		}
		if st, _ := residentPage.PostForm("/admin/school/categories", url.Values{"name": {"村民类别"}}); st != 403 {
			t.Errorf("a resident adds a category: %d", st)
		}

		// The town adds a category of its own, named once.
		st, to := page.Submit("/admin/school/categories", url.Values{"name": {"乡村振兴"}})
		if st != 303 {
			t.Fatalf("add category: %d", st)
		}
		if st, body := page.Get(to); st != 200 || flashOf(body) != "已新增课程类别：乡村振兴" {
			t.Errorf("adding a category lands on a page saying %q (%d)", flashOf(body), st)
		}
		if st, body := page.PostForm("/admin/school/categories", url.Values{"name": {"乡村振兴"}}); st != 409 || !strings.Contains(body, "已有同名类别") {
			t.Errorf("the same category twice: %d", st)
		}
		if st, body := page.PostForm("/admin/school/categories", url.Values{"name": {"党性教育"}}); st != 409 || !strings.Contains(body, "已有同名类别") {
			t.Errorf("a category named as one of the nine: %d", st)
		}
		var theirs []school.Category
		if other.JSON("GET", "/api/v1/school/categories", nil, &theirs); slices.ContainsFunc(theirs, func(k school.Category) bool { return k.Name == "乡村振兴" }) || len(theirs) != 10 {
			t.Errorf("西集镇's categories: %+v", theirs)
		}

		// Withdrawn, it leaves the menu; its page and PDF are gone for residents, kept for staff.
		st, to = page.Submit(fmt.Sprintf("/admin/school/courses/%d/status", c.ID), url.Values{"status": {"withdrawn"}})
		if st != 303 {
			t.Fatalf("withdraw: %d", st)
		}
		if st, body := page.Get(to); st != 200 || flashOf(body) != "《学习党的二十大精神》已停开，不再出现在课程菜单上" {
			t.Errorf("withdrawing lands on a page saying %q (%d)", flashOf(body), st)
		}
		if _, body := residentPage.Get("/school"); strings.Contains(body, "学习党的二十大精神") || !strings.Contains(body, "农村生活垃圾分类怎么做") {
			t.Error("the menu after the withdrawal")
		}
		for _, p := range []string{fmt.Sprintf("/school/courses/%d", c.ID), fmt.Sprintf("/school/courses/%d/material", c.ID)} {
			if st, _ := residentPage.Get(p); st != 404 {
				t.Errorf("a resident GET %s after the withdrawal: %d", p, st)
			}
		}
		if st, _ := page.Get(fmt.Sprintf("/school/courses/%d/material", c.ID)); st != 200 {
			t.Errorf("staff lose the withdrawn course's PDF: %d", st)
		}
		if st, _ := admin.JSON("POST", course+"/status", map[string]any{"status": "draft"}, nil); st != 409 {
			t.Errorf("back to draft: %d, want 409", st)
		}

		// A retired expert is given no new course; the course they had keeps them, as history.
		if st, _ := page.PostForm(fmt.Sprintf("/admin/school/experts/%d/retire", chen.ID), url.Values{"confirmed": {"1"}, "reason": {"退休"}}); st != 303 {
			t.Fatalf("retire: %d", st)
		}
		st, body = admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "新课", "category_id": party, "minutes": 60, "format": "online", "expert_ids": []int64{chen.ID}}, nil)
		if st != 422 || !strings.Contains(body, "陈雅琴 已退出专家库，不能再安排新课程") {
			t.Errorf("a retired expert on a new course: %d %s", st, body)
		}
		var kept school.Course
		admin.JSON("GET", fmt.Sprintf("/api/v1/school/courses/%d", sorted.ID), nil, &kept)
		if len(kept.Experts) != 1 || !kept.Experts[0].Retired {
			t.Errorf("the retired expert's course: %+v", kept.Experts)
		}
		if _, body := residentPage.Get("/school"); !strings.Contains(body, "农村生活垃圾分类怎么做") || strings.Contains(body, "陈雅琴") {
			t.Error("the menu still names the retired expert")
		}
		// Editing that course keeps them only with another expert in the pool, since it is offered.
		f := courseFields("农村生活垃圾分类怎么做", sorting, chen.ID)
		if st, body := upload(t, env, page, fmt.Sprintf("/admin/school/courses/%d", sorted.ID), f, "", "", nil); st != 422 || !strings.Contains(body, "至少要有一位在库专家") {
			t.Errorf("an offered course left with a retired expert only: %d %.300s", st, body)
		}
		f.Add("expert_ids", strconv.FormatInt(zhou.ID, 10))
		st, to = page.Submit(fmt.Sprintf("/admin/school/courses/%d", sorted.ID), f)
		if st != 303 {
			t.Fatalf("add an expert beside the retired one: %d", st)
		}
		if st, body := page.Get(to); st != 200 || flashOf(body) != "已保存课程《农村生活垃圾分类怎么做》" || !strings.Contains(body, "周立群") {
			t.Errorf("saving lands on a page saying %q (%d)", flashOf(body), st)
		}
	})
}

// TestCourseRaces: staff offering a course at once offer it once; two courses of the same title
// created at once make one.
func TestCourseRaces(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		admin, town := env.API(demo.PhoneSchoolAdmin), env.API(demo.PhoneTownAdmin)
		var e school.Expert
		if st, body := admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "周立群", "affiliation": "中共中央党校"}, &e); st != 201 {
			t.Fatalf("expert: %d %s", st, body)
		}
		cat := firstCategory(t, admin)
		var c school.Course
		if st, body := admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "党性修养", "category_id": cat, "minutes": 90, "format": "both", "expert_ids": []int64{e.ID}}, &c); st != 201 {
			t.Fatalf("course: %d %s", st, body)
		}
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				who := admin
				if i%2 == 1 {
					who = town
				}
				statuses[i], _ = who.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", c.ID), map[string]any{"status": "offered"}, nil)
			})
		}
		wg.Wait()
		for _, st := range statuses {
			if st != 200 && st != 409 {
				t.Errorf("racing offers answered %v", statuses)
				break
			}
		}
		var offers int
		env.Sys.DB.Read().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'school.course.offer' AND entity_id = $1`, c.ID).Scan(&offers)
		if offers != 1 {
			t.Errorf("%d offers recorded, want 1 (answers %v)", offers, statuses)
		}
		created := make([]int, n)
		for i := range n {
			wg.Go(func() {
				created[i], _ = admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "同名课程", "category_id": cat, "minutes": 60, "format": "online"}, nil)
			})
		}
		wg.Wait()
		slices.Sort(created)
		if created[0] != 201 || created[1] != 409 || created[n-1] != 409 {
			t.Errorf("racing creates answered %v, want one 201 and the rest 409", created)
		}
		if got := count(t, env, "school_courses"); got != 2 {
			t.Errorf("%d courses, want 2", got)
		}
	})
}

// TestStaffLandOnTheirSchoolWork: the overview of the town's party-building staff lists the
// courses still drafts and the offered courses no expert of the pool can teach, each linking to
// them; a village admin's lists neither.
func TestStaffLandOnTheirSchoolWork(t *testing.T) {
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		admin, page, village := env.API(demo.PhoneSchoolAdmin), env.Browser(demo.PhoneSchoolAdmin), env.Browser(demo.PhoneVillageAdmin)
		drafts := `<a href="/admin/school?status=draft">1 门课程还是草稿，未列入课程菜单`
		orphans := `<a href="/admin/school?status=offered">1 门开课课程已没有在库专家授课`
		var e school.Expert
		admin.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "周立群", "affiliation": "中共中央党校"}, &e)
		var c school.Course
		if st, body := admin.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "党性修养", "category_id": firstCategory(t, admin), "minutes": 90,
			"format": "both", "expert_ids": []int64{e.ID}}, &c); st != 201 {
			t.Fatalf("course: %d %s", st, body)
		}
		if _, body := page.Get("/admin"); !strings.Contains(body, drafts) || strings.Contains(body, orphans) {
			t.Errorf("a draft: the overview lists drafts %v, orphans %v", strings.Contains(body, drafts), strings.Contains(body, orphans))
		}
		admin.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", c.ID), map[string]any{"status": "offered"}, nil)
		if _, body := page.Get("/admin"); strings.Contains(body, "门课程还是草稿") || strings.Contains(body, orphans) {
			t.Error("offered: the overview still lists work")
		}
		page.PostForm(fmt.Sprintf("/admin/school/experts/%d/retire", e.ID), url.Values{"confirmed": {"1"}, "reason": {"退休"}})
		if _, body := page.Get("/admin"); !strings.Contains(body, orphans) {
			t.Error("its expert retired: the overview does not list the course")
		}
		if _, body := village.Get("/admin"); strings.Contains(body, "/admin/school?status") {
			t.Error("a village admin's overview lists the town's school work")
		}
	})
}
