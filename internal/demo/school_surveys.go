package demo

import (
	"context"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/school"
)

// schoolSurvey gives the demo town a demand survey (问需) sent to every branch and answered by
// most: the town's party-building office opens it through the school's service, 前疃村's and
// 东堡村's admins answer as themselves, and the other branches, which have no login in the demo,
// through the system; three branches have not answered yet, so the tally has some to chase.
func schoolSurvey(ctx context.Context, d *db.DB, s *school.Service, info Info) error {
	var sessions []*demoSession
	defer func() {
		for _, sess := range sessions {
			sess.Close(ctx) // the demo's sessions end with it; a session left over harms nobody
		}
	}()
	login := func(phone string) (*auth.Actor, error) {
		sess, err := demoLogin(ctx, d, phone)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		sessions = append(sessions, sess)
		return sess.Actor, nil
	}
	office, err := login(PhoneSchoolAdmin)
	if err != nil {
		return err
	}
	villages, err := s.SurveyDesk(ctx, office)
	if err != nil {
		return err
	}
	loc, err := s.People.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	ids := make([]int64, len(villages))
	for i, v := range villages {
		ids[i] = v.ID
	}
	sv, err := s.CreateSurvey(ctx, office, school.SurveyInput{TownID: info.TownID, Title: "明年上半年党课需求征集",
		Note: "请各村党支部结合本村实际，选出最需要的课程类别，写下想听的主题和希望开课的月份。", Deadline: clock.Day(clock.In(loc, s.Now).Today().AddDate(0, 0, 14)), VillageIDs: ids})
	if err != nil {
		return fmt.Errorf("demo: survey: %w", err)
	}
	cats, err := s.Categories(ctx, office, info.TownID)
	if err != nil {
		return err
	}
	months, err := s.MonthChoices(ctx, info.TownID)
	if err != nil {
		return err
	}
	topics := []string{"学习党的二十大精神", "垃圾分类", "接诉即办矛盾调解", "微协商议事规则", "党建项目品牌化", "志愿服务积分怎么记", "乡村振兴政策解读"}
	branches := map[string]string{}
	for _, p := range []string{PhoneVillageAdmin, PhoneVillageAdmin2} {
		var village string
		if err := d.Read().QueryRowContext(ctx, `SELECT v.name FROM account_roles r JOIN villages v ON v.id = r.village_id JOIN accounts a ON a.id = r.account_id
			WHERE a.phone = $1 AND r.role = $2`, p, string(auth.VillageAdmin)).Scan(&village); err != nil && !db.IsNoRows(err) {
			return err
		}
		branches[village] = p
	}
	for i, v := range villages {
		if i >= len(villages)-3 && branches[v.Name] == "" {
			continue // not answered yet
		}
		by := auth.System(v.Name + "党支部")
		if p := branches[v.Name]; p != "" {
			if by, err = login(p); err != nil {
				return err
			}
		}
		in := school.AnswerInput{VillageID: v.ID,
			CategoryIDs: []int64{cats[i%3].ID, cats[3+i%6].ID},
			Topics:      []string{topics[i%len(topics)], topics[(i*3+1)%len(topics)]},
			Months:      []string{string(months[1+i%3]), string(months[2+i%3])},
			Note:        "农闲时节人齐，最好安排在晚上"}
		_, err := s.AnswerSurvey(ctx, by, sv.ID, in)
		if err != nil {
			return fmt.Errorf("demo: answer %s: %w", v.Name, err)
		}
	}
	return nil
}
