package school_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/school"
	"siwei/internal/server/servertest"
)

// townBranches are the villages of the world's town, by id, and their names.
func townBranches(t *testing.T, w *orderWorld) ([]int64, map[int64]string) {
	t.Helper()
	rows, err := w.env.Sys.DB.Read().QueryContext(context.Background(), `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY id`, w.env.Info.TownID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	names := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		ids, names[id] = append(ids, id), name
	}
	return ids, names
}

// openSurvey opens a survey through the API as the town's school staff.
func openSurvey(t *testing.T, w *orderWorld, title string, villages []int64) school.Survey {
	t.Helper()
	var sv school.Survey
	if st, body := w.admin.JSON("POST", "/api/v1/school/surveys", map[string]any{"title": title, "deadline": "2026-12-20", "village_ids": villages}, &sv); st != 201 {
		t.Fatalf("survey: %d %s", st, body)
	}
	return sv
}

// answersTo is how many answers a survey holds.
func answersTo(t *testing.T, w *orderWorld, id int64) int {
	t.Helper()
	var n int
	if err := w.env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM school_survey_answers WHERE survey_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// answer answers a survey through the API and wants the status.
func answer(t *testing.T, c *servertest.Client, id int64, body map[string]any, want int) school.Survey {
	t.Helper()
	var sv school.Survey
	if st, raw := c.JSON("POST", fmt.Sprintf("/api/v1/school/surveys/%d/answers", id), body, &sv); st != want {
		t.Fatalf("answer %v: %d %s, want %d", body, st, raw, want)
	}
	return sv
}

func TestSurveyOpenedAnsweredAndTallied(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80, SecondTown: true})
		ctx := context.Background()
		villages, names := townBranches(t, w)
		var dongbao int64
		if err := d.Read().QueryRowContext(ctx, `SELECT village_id FROM account_roles WHERE account_id = $1 AND role = 'village_admin'`, accountID(t, w.env, demo.PhoneVillageAdmin2)).Scan(&dongbao); err != nil {
			t.Fatal(err)
		}
		var otherTownVillage int64
		if err := d.Read().QueryRowContext(ctx, `SELECT id FROM villages WHERE town_id <> $1 ORDER BY id LIMIT 1`, w.env.Info.TownID).Scan(&otherTownVillage); err != nil {
			t.Fatal(err)
		}

		// Wrong input stores nothing, and says which field in Chinese.
		surveys, links := count(t, w.env, "school_surveys"), count(t, w.env, "school_survey_villages")
		for _, body := range []map[string]any{
			{"title": "", "deadline": "2026-12-20", "village_ids": villages},
			{"title": "问需", "deadline": "2026-12-01", "village_ids": villages},
			{"title": "问需", "deadline": "明天", "village_ids": villages},
			{"title": "问需", "deadline": "2026-12-20", "village_ids": []int64{}},
			{"title": "问需", "deadline": "2026-12-20", "village_ids": []int64{villages[0], otherTownVillage}},
			{"title": strings.Repeat("问", 61), "deadline": "2026-12-20", "village_ids": villages},
		} {
			if st, raw := w.admin.JSON("POST", "/api/v1/school/surveys", body, nil); st != 422 {
				t.Errorf("%v: %d %s", body, st, raw)
			}
		}
		page := w.env.Browser(demo.PhoneSchoolAdmin)
		st, body := page.PostForm("/admin/school/surveys", url.Values{"title": {"明年党课需求"}, "deadline": {"2026-11-30"}})
		if st != 422 || !strings.Contains(body, `<span class="err" role="alert">截止日期不能早于今天</span>`) || !strings.Contains(body, `<span class="err" role="alert">请至少选择一个村</span>`) {
			t.Errorf("the form with a past deadline and no village: %d", st)
		}
		if st, raw := w.secretary.JSON("POST", "/api/v1/school/surveys", map[string]any{"title": "问需", "deadline": "2026-12-20", "village_ids": villages}, nil); st != 403 {
			t.Errorf("a branch opens a survey: %d %s", st, raw)
		}
		if st, raw := w.env.API(demo.PhoneTownAdmin2).JSON("POST", "/api/v1/school/surveys", map[string]any{"town_id": w.env.Info.TownID, "title": "问需", "deadline": "2026-12-20", "village_ids": villages}, nil); st != 404 {
			t.Errorf("another town's admin opens a survey here: %d %s", st, raw)
		}
		if count(t, w.env, "school_surveys") != surveys || count(t, w.env, "school_survey_villages") != links {
			t.Fatal("a refused survey stored something")
		}

		// The form opens it to every branch; the page says so by name and the branch is told.
		form := url.Values{"title": {"明年党课需求"}, "note": {"明年上半年最需要哪方面的党课？"}, "deadline": {"2026-12-20"}}
		for _, v := range villages {
			form.Add("village_ids", strconv.FormatInt(v, 10))
		}
		st, _ = page.PostForm("/admin/school/surveys", form)
		if st != 303 {
			t.Fatalf("open: %d", st)
		}
		var list []school.Survey
		if st, raw := w.admin.JSON("GET", "/api/v1/school/surveys", nil, &list); st != 200 || len(list) == 0 || list[0].Title != "明年党课需求" {
			t.Fatalf("the town's surveys: %d %s", st, raw)
		}
		sv := list[0]
		if _, body := page.Get(fmt.Sprintf("/admin/school/surveys/%d?flash=flash.school_survey_opened", sv.ID)); flashOf(body) != fmt.Sprintf("已发起问需《明年党课需求》，已通知 %d 个村的党支部", len(villages)) {
			t.Errorf("flash after opening: %q", flashOf(body))
		}
		if msg := "微党校问需：镇党建办发起问需《明年党课需求》，请在 2026-12-20 前答复本支部需要的党课类别和主题。"; !told(inbox(t, w.secretary), msg) {
			t.Errorf("the branch was not told: %v", inbox(t, w.secretary))
		}

		// The secretary answers on the phone page, then edits through the API: one answer.
		var catList []school.Category
		if st, raw := w.secretary.JSON("GET", "/api/v1/school/categories", nil, &catList); st != 200 || len(catList) < 3 {
			t.Fatalf("categories: %d %s", st, raw)
		}
		mine := w.env.Browser(demo.PhonePartyMember)
		if st, body := mine.Get("/school/surveys"); st != 200 || !strings.Contains(body, "明年党课需求") || !strings.Contains(body, "本支部尚未答复") {
			t.Errorf("the branch's surveys (%d)", st)
		}
		bad := url.Values{"village_id": {strconv.FormatInt(w.village, 10)}, "topics": {strings.Repeat("长", 41)}, "months": {"2026-01"}}
		if st, body := mine.PostForm(fmt.Sprintf("/school/surveys/%d/answers", sv.ID), bad); st != 422 || !strings.Contains(body, "每条不超过 40 个字") || !strings.Contains(body, "请选择本月或以后的月份") {
			t.Errorf("a wrong answer: %d", st)
		}
		if n := answersTo(t, w, sv.ID); n != 0 {
			t.Fatalf("a refused answer stored %d", n)
		}
		st, _ = mine.PostForm(fmt.Sprintf("/school/surveys/%d/answers", sv.ID), url.Values{"category_ids": {fmt.Sprint(catList[0].ID), fmt.Sprint(catList[1].ID)},
			"topics": {"学习党的二十大精神\n垃圾分类\n"}, "months": {"2027-01", "2027-03"}, "note": {"农闲时最好"}})
		if st != 303 {
			t.Fatalf("answer form: %d", st)
		}
		if _, body := mine.Get(fmt.Sprintf("/school/surveys/%d?village_id=%d&flash=flash.school_survey_answered&flash_id=%d", sv.ID, w.village, w.village)); flashOf(body) != "已提交《明年党课需求》的答复："+names[w.village]+"党支部" {
			t.Errorf("flash after answering: %q", flashOf(body))
		}
		got := answer(t, w.secretary, sv.ID, map[string]any{"category_ids": []int64{catList[0].ID, catList[2].ID}, "topics": []string{"学习党的二十大精神", "垃圾分类", "接诉即办"},
			"months": []string{"2027-01"}}, 200)
		if len(got.Answers) != 1 || len(got.Answers[0].Topics) != 3 || got.Tally != nil || got.Unanswered != nil {
			t.Errorf("the branch reads back: %+v", got)
		}
		// 东堡村 answers with the same topic written otherwise, and reads only its own answer.
		other := w.env.API(demo.PhoneVillageAdmin2)
		got = answer(t, other, sv.ID, map[string]any{"category_ids": []int64{catList[0].ID}, "topics": []string{"垃圾 分类", "学习 党的二十大精神 "}}, 200)
		if len(got.Answers) != 1 || got.Answers[0].VillageID != dongbao {
			t.Errorf("东堡村 reads %d answers", len(got.Answers))
		}
		if n := answersTo(t, w, sv.ID); n != 2 {
			t.Fatalf("%d answers, want 2", n)
		}

		// The tally, against a count of the stored answers.
		var full school.Survey
		if st, raw := w.admin.JSON("GET", fmt.Sprintf("/api/v1/school/surveys/%d", sv.ID), nil, &full); st != 200 || full.Tally == nil {
			t.Fatalf("the town's survey: %d %s", st, raw)
		}
		wantCats, wantTopics := map[string]int{}, map[string]int{}
		rows, err := d.Read().QueryContext(ctx, `SELECT category_ids, topics FROM school_survey_answers WHERE survey_id = $1`, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c, tp string
			if err := rows.Scan(&c, &tp); err != nil {
				t.Fatal(err)
			}
			for _, id := range strings.Split(c, ",") {
				wantCats[id]++
			}
			for _, topic := range strings.Split(tp, "\n") {
				wantTopics[strings.ReplaceAll(topic, " ", "")]++
			}
		}
		rows.Close()
		gotCats, gotTopics := map[string]int{}, map[string]int{}
		for _, c := range full.Tally.Categories {
			gotCats[fmt.Sprint(c.Category.ID)] = c.Branches
		}
		for _, tp := range full.Tally.Topics {
			gotTopics[strings.ReplaceAll(tp.Topic, " ", "")] = len(tp.Villages)
		}
		if fmt.Sprint(gotCats) != fmt.Sprint(wantCats) || fmt.Sprint(gotTopics) != fmt.Sprint(wantTopics) || gotTopics["垃圾分类"] != 2 || gotCats[fmt.Sprint(catList[0].ID)] != 2 {
			t.Errorf("tally %v %v, counted %v %v", gotCats, gotTopics, wantCats, wantTopics)
		}
		var wantUnanswered []string
		for _, v := range villages {
			if v != w.village && v != dongbao {
				wantUnanswered = append(wantUnanswered, names[v])
			}
		}
		var gotUnanswered []string
		for _, v := range full.Unanswered {
			gotUnanswered = append(gotUnanswered, v.Name)
		}
		slices.Sort(wantUnanswered)
		slices.Sort(gotUnanswered)
		if !slices.Equal(gotUnanswered, wantUnanswered) || full.Answered != 2 {
			t.Errorf("unanswered %v, want %v", gotUnanswered, wantUnanswered)
		}
		st, body = page.Get(fmt.Sprintf("/admin/school/surveys/%d", sv.ID))
		if st != 200 || !strings.Contains(body, "转为课程草稿") || !strings.Contains(body, wantUnanswered[0]) || strings.Contains(body, ">"+strconv.FormatInt(w.village, 10)+"<") {
			t.Errorf("the tally page (%d)", st)
		}
		// 转为课程草稿 opens the new course form with the topic and its category; nothing is stored.
		courses := count(t, w.env, "school_courses")
		st, body = page.Get(fmt.Sprintf("/admin/school/courses/new?title=%s&category_id=%d", url.QueryEscape("垃圾分类"), catList[0].ID))
		if st != 200 || !strings.Contains(body, `value="垃圾分类"`) || !strings.Contains(body, fmt.Sprintf(`<option value="%d" selected>`, catList[0].ID)) {
			t.Errorf("the draft course form (%d)", st)
		}
		if count(t, w.env, "school_courses") != courses {
			t.Error("opening the draft form stored a course")
		}
		var topic school.TopicCount
		for _, tp := range full.Tally.Topics {
			if strings.ReplaceAll(tp.Topic, " ", "") == "垃圾分类" {
				topic = tp
			}
		}
		if topic.CategoryID != catList[0].ID {
			t.Errorf("the topic's category: %+v", topic)
		}

		// Another village's and another town's staff: 404, like a missing survey.
		second := openSurvey(t, w, "只问前疃村", []int64{w.village})
		for _, phone := range []string{demo.PhoneTownAdmin2, demo.PhoneVillageAdmin3, demo.PhoneVillageAdmin2} {
			api, br := w.env.API(phone), w.env.Browser(phone)
			ids := []int64{second.ID}
			if phone != demo.PhoneVillageAdmin2 {
				ids = append(ids, sv.ID)
			}
			for _, id := range ids {
				if st, _ := api.JSON("GET", fmt.Sprintf("/api/v1/school/surveys/%d", id), nil, nil); st != 404 {
					t.Errorf("%s reads survey %d: %d", phone, id, st)
				}
				if st, _ := br.Get(fmt.Sprintf("/school/surveys/%d", id)); st != 404 {
					t.Errorf("%s survey page %d: %d", phone, id, st)
				}
				answer(t, api, id, map[string]any{"category_ids": []int64{catList[0].ID}}, 404)
				if st, _ := br.PostForm(fmt.Sprintf("/admin/school/surveys/%d/close", id), url.Values{"confirmed": {"1"}, "reason": {"冒充"}}); st != 404 {
					t.Errorf("%s closes %d: %d", phone, id, st)
				}
			}
		}
		if st, _ := w.env.API(demo.PhoneVillageAdmin2).JSON("GET", fmt.Sprintf("/api/v1/school/surveys/%d", 1<<40), nil, nil); st != 404 {
			t.Errorf("a missing survey: %d", st)
		}
		if n := answersTo(t, w, sv.ID); n != 2 || answersTo(t, w, second.ID) != 0 {
			t.Fatalf("refused answers stored something: %d", n)
		}

		// Closing asks first and keeps the reason; an answer after it is refused.
		st, body = page.PostForm(fmt.Sprintf("/admin/school/surveys/%d/close", second.ID), url.Values{})
		if st != 200 || !strings.Contains(body, "结束这次问需？") {
			t.Errorf("close does not ask first: %d", st)
		}
		if st, _ := page.PostForm(fmt.Sprintf("/admin/school/surveys/%d/close", second.ID), url.Values{"confirmed": {"1"}, "reason": {"已开会收集"}}); st != 303 {
			t.Fatalf("close: %d", st)
		}
		if _, body := page.Get(fmt.Sprintf("/admin/school/surveys/%d?flash=flash.school_survey_closed", second.ID)); flashOf(body) != "已结束问需《只问前疃村》 · 原因：已开会收集" {
			t.Errorf("flash after closing: %q", flashOf(body))
		}
		answer(t, w.secretary, second.ID, map[string]any{"category_ids": []int64{catList[0].ID}}, 409)
		// Past the deadline an answer is refused, and the edit is not stored.
		w.at(time.Date(2026, 12, 21, 8, 0, 0, 0, w.loc))
		answer(t, w.secretary, sv.ID, map[string]any{"category_ids": []int64{catList[1].ID}}, 409)
		if n := answersTo(t, w, sv.ID); n != 2 || answersTo(t, w, second.ID) != 0 {
			t.Fatalf("%d answers after refusals", n)
		}
		if st, body := mine.Get(fmt.Sprintf("/school/surveys/%d", sv.ID)); st != 200 || !strings.Contains(body, "已过截止日期") || strings.Contains(body, `name="topics"`) {
			t.Errorf("the page past the deadline (%d)", st)
		}
	})
}

// TestSurveyFirstAnswersRacing: a branch's secretary sends its first answer twice at once (a
// double tap on a slow phone); one answer is kept.
func TestSurveyFirstAnswersRacing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newOrderWorld(t, d, demo.Options{Seed: 1, Residents: 80})
		sv := openSurvey(t, w, "并发问需", []int64{w.village})
		cat := firstCategory(t, w.admin)
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = w.secretary.JSON("POST", fmt.Sprintf("/api/v1/school/surveys/%d/answers", sv.ID), map[string]any{"category_ids": []int64{cat}, "topics": []string{fmt.Sprint("主题", i)}}, nil)
			}()
		}
		wg.Wait()
		for _, c := range codes {
			if c != 200 {
				t.Errorf("racing answers: %v", codes)
				break
			}
		}
		var n int
		if err := d.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM school_survey_answers WHERE survey_id = $1`, sv.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d answers from one branch", n)
		}
	})
}
