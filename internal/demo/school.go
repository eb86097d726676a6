package demo

import (
	"context"
	"fmt"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/people"
	"siwei/internal/school"
)

// ExpertName is the demo expert whose login is PhoneExpert.
const ExpertName = "李文博"

// demoExperts are the town's pool of about ten experts, from the bodies the article names: 中央党校,
// 北京市委党校, 北京志愿服务研究会, 北京市民政局, 通州区民政局, and practitioners of grass-roots
// governance. The names are made up.
var demoExperts = []school.ExpertInput{
	{Name: "周立群", Affiliation: "中共中央党校（国家行政学院）", Title: "教授", Fields: []string{"党性教育", "党的创新理论"},
		Bio:          "长期从事党的建设和党性教育研究，主讲党的创新理论、党员党性修养等专题。",
		Availability: []school.Slot{{Weekday: 3, Start: "14:00", End: "17:00"}}},
	{Name: "陈雅琴", Affiliation: "中共中央党校（国家行政学院）", Title: "副教授", Fields: []string{"规范化党建", "组织生活"},
		Bio:          "研究基层党组织建设，参与编写农村党支部工作规范读本。",
		Availability: []school.Slot{{Weekday: 2, Start: "09:00", End: "12:00"}, {Weekday: 5, Start: "14:00", End: "17:00"}}},
	{Name: ExpertName, Affiliation: "中共北京市委党校", Title: "教授", Fields: []string{"基层治理", "治理政策"},
		Bio:          "研究超大城市基层治理，关注城市副中心“基层治理年”的实践。",
		Availability: []school.Slot{{Weekday: 4, Start: "09:00", End: "12:00"}, {Weekday: 4, Start: "14:00", End: "17:30"}}},
	{Name: "孙慧敏", Affiliation: "中共北京市委党校", Title: "副教授", Fields: []string{"党建品牌", "组织建设"},
		Bio:          "指导多个区的党建项目品牌化建设，擅长案例教学。",
		Availability: []school.Slot{{Weekday: 1, Start: "14:00", End: "17:00"}}},
	{Name: "赵志刚", Affiliation: "北京志愿服务研究会", Title: "研究员", Fields: []string{"志愿服务", "社区动员"},
		Bio:          "从事志愿服务组织管理研究十余年，熟悉志愿者招募、培训与激励。",
		Availability: []school.Slot{{Weekday: 6, Start: "09:00", End: "12:00"}}},
	{Name: "刘晓燕", Affiliation: "北京市民政局", Title: "基层治理专家", Fields: []string{"微协商", "村务公开"},
		Bio:          "参与制定村（居）民议事协商规则，多次到农村地区指导协商议事。",
		Availability: []school.Slot{{Weekday: 2, Start: "14:00", End: "17:00"}}},
	{Name: "马国强", Affiliation: "通州区民政局", Title: "科长", Fields: []string{"社会救助", "养老服务"},
		Bio:          "负责区内基层政权建设和社区治理工作，熟悉农村养老和救助政策。",
		Availability: []school.Slot{{Weekday: 1, Start: "09:00", End: "11:30"}, {Weekday: 3, Start: "09:00", End: "11:30"}}},
	{Name: "郭淑芬", Affiliation: "通州区民政局", Title: "高级社会工作师", Fields: []string{"垃圾分类", "社区营造"},
		Bio:          "推动垃圾分类进村入户，总结了“桶前值守”“积分激励”等做法。",
		Availability: []school.Slot{{Weekday: 5, Start: "09:00", End: "12:00"}}},
	{Name: "杨明远", Affiliation: "通州区接诉即办工作专班", Title: "基层治理实务专家", Fields: []string{"接诉即办", "矛盾调解"},
		Bio:          "多年从事12345热线诉求办理，总结“未诉先办”、主动治理的经验。",
		Availability: []school.Slot{{Weekday: 2, Start: "14:00", End: "17:00"}, {Weekday: 4, Start: "14:00", End: "17:00"}}},
	{Name: "何春梅", Affiliation: "通州区基层治理研究会", Title: "特聘专家", Fields: []string{"疫情防控", "网格化管理"},
		Bio:          "曾任村党支部书记，熟悉网格化管理和突发公共卫生事件中的村级应对。",
		Availability: []school.Slot{{Weekday: 3, Start: "14:00", End: "16:30"}}},
}

// demoCourses are the menu: three to five courses in each of the nine categories, by the
// category's name, with the experts who teach them (by name) and whether each is offered yet.
var demoCourses = []struct {
	category string
	in       school.CourseInput
	experts  []string
	status   school.Status
}{
	{"党性教育", school.CourseInput{Title: "学习党的二十大精神", Minutes: 120, Format: "both",
		Outline: "一、党的二十大主题和主要成果\n二、中国式现代化的中国特色和本质要求\n三、基层党组织如何学懂弄通做实"}, []string{"周立群"}, school.Offered},
	{"党性教育", school.CourseInput{Title: "共产党员的党性修养", Minutes: 90, Format: "offline",
		Outline: "党性的内涵；新时代党员的初心使命；身边的先锋模范"}, []string{"周立群", "陈雅琴"}, school.Offered},
	{"党性教育", school.CourseInput{Title: "从党史中汲取前进力量", Minutes: 90, Format: "both",
		Outline: "学党史、悟思想、办实事、开新局：党史中的群众路线"}, []string{"周立群"}, school.Offered},
	{"党性教育", school.CourseInput{Title: "老党员讲初心故事", Minutes: 60, Format: "offline",
		Outline: "请村里的老党员讲述入党经历，青年党员交流感悟"}, []string{"陈雅琴"}, school.Draft},

	{"微协商议事规则", school.CourseInput{Title: "“你说我听 我说你听”：协商议事怎么开", Minutes: 90, Format: "offline",
		Outline: "议题从哪里来；谁来参加；议事流程与规则；结果如何公开和落实"}, []string{"刘晓燕"}, school.Offered},
	{"微协商议事规则", school.CourseInput{Title: "村民议事会的组织与主持", Minutes: 90, Format: "both",
		Outline: "主持人的角色；发言规则；如何处理分歧；会议记录"}, []string{"刘晓燕", ExpertName}, school.Offered},
	{"微协商议事规则", school.CourseInput{Title: "小微水体治理协商案例", Minutes: 60, Format: "online",
		Outline: "以东堡村坑塘治理为例，看协商如何把问题变成共识"}, []string{"刘晓燕"}, school.Offered},

	{"规范化党建知识", school.CourseInput{Title: "农村党支部“三会一课”规范", Minutes: 90, Format: "both",
		Outline: "支部党员大会、支部委员会、党小组会和党课的组织要求；会议记录怎么写"}, []string{"陈雅琴"}, school.Offered},
	{"规范化党建知识", school.CourseInput{Title: "发展党员工作流程", Minutes: 120, Format: "offline",
		Outline: "从入党申请到转正的五个阶段、二十五个步骤；常见问题"}, []string{"陈雅琴"}, school.Offered},
	{"规范化党建知识", school.CourseInput{Title: "党费收缴与党员组织关系管理", Minutes: 60, Format: "online",
		Outline: "党费标准与收缴；流动党员和组织关系转接"}, []string{"陈雅琴", "孙慧敏"}, school.Offered},
	{"规范化党建知识", school.CourseInput{Title: "主题党日活动设计", Minutes: 90, Format: "both",
		Outline: "主题党日的选题、组织和记录；把党日活动和为民办实事结合起来"}, []string{"孙慧敏"}, school.Withdrawn},

	{"党建项目品牌化", school.CourseInput{Title: "打造村级党建品牌", Minutes: 90, Format: "offline",
		Outline: "品牌从哪里来；如何提炼做法；如何讲好本村故事"}, []string{"孙慧敏"}, school.Offered},
	{"党建项目品牌化", school.CourseInput{Title: "党建引领“四微一行”经验交流", Minutes: 120, Format: "offline",
		Outline: "微党校、微协商、微联盟、微志愿和文明银行如何协同"}, []string{"孙慧敏", ExpertName}, school.Offered},
	{"党建项目品牌化", school.CourseInput{Title: "党建项目的策划与评估", Minutes: 90, Format: "both",
		Outline: "项目目标、过程记录和成效评估"}, []string{"孙慧敏"}, school.Offered},

	{"疫情防控", school.CourseInput{Title: "村级突发公共卫生事件应对", Minutes: 90, Format: "both",
		Outline: "预案、网格分工、重点人群关爱、信息发布"}, []string{"何春梅"}, school.Offered},
	{"疫情防控", school.CourseInput{Title: "网格员在防控中的职责", Minutes: 60, Format: "online",
		Outline: "入户排查、台账管理、与村民沟通的方法"}, []string{"何春梅"}, school.Offered},
	{"疫情防控", school.CourseInput{Title: "疫苗接种宣传的群众工作方法", Minutes: 60, Format: "offline",
		Outline: "用村民听得懂的话讲政策；政策宣传队的做法"}, []string{"何春梅", "赵志刚"}, school.Offered},

	{"接诉即办矛盾调解", school.CourseInput{Title: "从接诉即办到未诉先办", Minutes: 90, Format: "both",
		Outline: "12345诉求的分类与办理；主动治理；“多问一句、多说一句”"}, []string{"杨明远"}, school.Offered},
	{"接诉即办矛盾调解", school.CourseInput{Title: "邻里纠纷调解实务", Minutes: 120, Format: "offline",
		Outline: "宅基地、土地归属等常见纠纷；调解的步骤与技巧；何时引导诉讼"}, []string{"杨明远"}, school.Offered},
	{"接诉即办矛盾调解", school.CourseInput{Title: "一站式多元解纷：村里能做什么", Minutes: 90, Format: "offline",
		Outline: "村“两委”、法官、调解员如何配合；案例复盘"}, []string{"杨明远", ExpertName}, school.Offered},
	{"接诉即办矛盾调解", school.CourseInput{Title: "高龄独居老人诉求的主动回应", Minutes: 60, Format: "both",
		Outline: "上门问需；建立关爱台账；与贴心服务队的衔接"}, []string{"杨明远", "马国强"}, school.Draft},

	{"志愿服务", school.CourseInput{Title: "村级志愿服务队伍建设", Minutes: 90, Format: "both",
		Outline: "六支队伍的组建；队长的职责；志愿者招募和培训"}, []string{"赵志刚"}, school.Offered},
	{"志愿服务", school.CourseInput{Title: "敲门问需与服务对接", Minutes: 60, Format: "offline",
		Outline: "如何发现需求；需求登记和派单；服务后的回访"}, []string{"赵志刚"}, school.Offered},
	{"志愿服务", school.CourseInput{Title: "志愿服务记录与文明积分", Minutes: 60, Format: "online",
		Outline: "服务时长怎么记；积分规则如何公开公平"}, []string{"赵志刚"}, school.Offered},

	{"垃圾分类", school.CourseInput{Title: "农村生活垃圾分类怎么做", Minutes: 60, Format: "offline",
		Outline: "分类标准；桶前值守；入户宣传的小窍门"}, []string{"郭淑芬"}, school.Offered},
	{"垃圾分类", school.CourseInput{Title: "垃圾分类积分激励实务", Minutes: 60, Format: "both",
		Outline: "积分细则的制定；检查评比；与积分超市的衔接"}, []string{"郭淑芬"}, school.Offered},
	{"垃圾分类", school.CourseInput{Title: "美丽庭院与人居环境整治", Minutes: 90, Format: "offline",
		Outline: "门前三包、一米微花园、最美庭院评选"}, []string{"郭淑芬"}, school.Offered},

	{"治理政策", school.CourseInput{Title: "乡村振兴政策解读", Minutes: 120, Format: "both",
		Outline: "产业、人才、文化、生态、组织五个振兴；村里能用好的政策"}, []string{ExpertName}, school.Offered},
	{"治理政策", school.CourseInput{Title: "农村养老与社会救助政策", Minutes: 90, Format: "offline",
		Outline: "低保、特困供养、高龄津贴；申请流程与村级职责"}, []string{"马国强"}, school.Offered},
	{"治理政策", school.CourseInput{Title: "村规民约的修订与执行", Minutes: 90, Format: "both",
		Outline: "村规民约的合法性审查；民主程序；如何执行才有效"}, []string{ExpertName, "刘晓燕"}, school.Offered},
	{"治理政策", school.CourseInput{Title: "基层减负与议事协调机制", Minutes: 60, Format: "online",
		Outline: "基层减负的要求；村级事务准入清单"}, []string{ExpertName}, school.Offered},
}

// School gives the demo town its 微党校: the pool of ten experts, each with a login (the one named
// ExpertName's is the demo expert login), a login for each branch without a village admin
// (schoolLogins), and the menu of the nine categories, most courses offered, a few drafts and one
// withdrawn, a few months of lesson orders at every status (schoolOrders), a year of lessons
// taught, attended, paid and rated (schoolLessons), and a demand survey answered by most branches
// (schoolSurvey). It does nothing when the town has experts already.
func School(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM school_experts WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	// The experts' logins are nobody's inbox: nothing to tell. The bank pays attending party
	// members on the school's clock, which the steps below set to the days things happened.
	s := school.NewService(d, ps, bank.NewService(d, ps), nil)
	s.Bank.Now = func() time.Time { return s.Now() }
	staff := auth.System(TownName + "党建办")
	logins, err := schoolLogins(ctx, d, info)
	if err != nil {
		return err
	}
	experts := map[string]int64{}
	for _, in := range demoExperts {
		in.TownID = info.TownID
		in.AccountID = logins[in.Name]
		e, err := s.CreateExpert(ctx, staff, in)
		if err != nil {
			return fmt.Errorf("demo: expert %s: %w", in.Name, err)
		}
		experts[e.Name] = e.ID
	}
	cats, err := s.Categories(ctx, staff, info.TownID)
	if err != nil {
		return err
	}
	categories := map[string]int64{}
	for _, c := range cats {
		categories[c.Name] = c.ID
	}
	for _, c := range demoCourses {
		in := c.in
		in.TownID, in.CategoryID = info.TownID, categories[c.category]
		for _, name := range c.experts {
			in.ExpertIDs = append(in.ExpertIDs, experts[name])
		}
		course, err := s.CreateCourse(ctx, staff, in)
		if err != nil {
			return fmt.Errorf("demo: course %s: %w", in.Title, err)
		}
		if c.status == school.Draft {
			continue
		}
		if _, err := s.SetStatus(ctx, staff, course.ID, string(school.Offered)); err != nil {
			return fmt.Errorf("demo: offer %s: %w", in.Title, err)
		}
		if c.status == school.Withdrawn {
			if _, err := s.SetStatus(ctx, staff, course.ID, string(school.Withdrawn)); err != nil {
				return fmt.Errorf("demo: withdraw %s: %w", in.Title, err)
			}
		}
	}
	if err := schoolOrders(ctx, d, s, info); err != nil {
		return err
	}
	if err := schoolLessons(ctx, d, s, info, seed); err != nil {
		return err
	}
	return schoolSurvey(ctx, d, s, info)
}
