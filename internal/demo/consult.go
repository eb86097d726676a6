package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/consult"
	"siwei/internal/db"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// The logins the Consult step adds besides PhoneDepartment and PhoneCareMember: the other
// departments' head logins from deptPhones on, in the order of demoDepartments, and the other
// care cadres from carePhones on, in the order of demoCareTeam. All are in the demo accounts'
// range and have DemoPassword.
const (
	deptPhones = 13900000060
	carePhones = 13900000070
)

// consultDept is a department of the demo directory (职能部门): its level, name, contact and head
// (whose login it answers with), and the codes of the categories it handles. The people's names
// are made up.
type consultDept struct {
	level, name, contact, phone, head string
	cats                              []string
}

// demoDepartments are the town's directory at three levels, as the article's 20余项民生问题 were
// answered by city, district and town departments: drinking water, public facilities, culture.
var demoDepartments = []consultDept{
	{"city", "北京市水务局", "周海涛", "010-68550000", "孙建国", []string{"water"}},
	{"city", "北京市交通委员会", "吴卫东", "010-57070000", "郑晓光", []string{"roads"}},
	{"district", "通州区水务局", "王立新", "010-69540000", "陈志远", []string{"water", "environment"}},
	{"district", "通州区城市管理委员会", "赵庆华", "010-69550000", "钱永刚", []string{"environment", "facilities"}},
	{"district", "通州区交通局", "冯国平", "010-69560000", "韩振宇", []string{"roads"}},
	{"district", "通州区文化和旅游局", "杨丽娟", "010-69570000", "许文华", []string{"culture"}},
	{"district", "通州区民政局", "何建军", "010-69580000", "吕秀梅", []string{"other", "facilities"}},
	{"town", "潞城镇农业农村办公室", "曹德明", "010-69590001", "彭海军", []string{"environment", "water"}},
	{"town", "潞城镇城市管理办公室", "邓志华", "010-69590002", "宋立平", []string{"environment", "facilities", "roads"}},
	{"town", "潞城镇社区建设办公室", "田秀兰", "010-69590003", "袁振华", []string{"culture", "facilities", "other"}},
}

// waterBureau is the department whose head logs in with PhoneDepartment.
const waterBureau = "通州区水务局"

// demoCareTeam are the town cadres of the 贴心服务队 and their titles; the first logs in with
// PhoneCareMember. The names are made up.
var demoCareTeam = []struct{ name, title string }{
	{"高建华", "潞城镇社区建设办公室 科员"}, {"林晓东", "潞城镇党建办 干事"}, {"罗春燕", "潞城镇民政科 科员"},
	{"梁志强", "潞城镇农业农村办公室 科员"}, {"宋雅丽", "潞城镇社区建设办公室 干事"}, {"唐国庆", "潞城镇城市管理办公室 科员"},
	{"董丽华", "潞城镇民政科 干事"}, {"萧振东", "潞城镇综治办 科员"}, {"程秀芳", "潞城镇党建办 科员"},
	{"潘立军", "潞城镇城市管理办公室 干事"}, {"蒋文静", "潞城镇社区建设办公室 科员"}, {"蔡永胜", "潞城镇农业农村办公室 干事"},
	{"丁海燕", "潞城镇民政科 科员"}, {"魏明辉", "潞城镇综治办 干事"}, {"薛桂兰", "潞城镇社区建设办公室 科员"},
}

// consultTopic is a topic residents raise for a meeting, the decision it led to and, when referred,
// the departments it went to (by name), its urgency and finish days, and how far it has got
// (fate: "" for the whole way to a rating, or referred, accepted, done, reopen, transfer).
type consultTopic struct {
	cat, title, body, decision string
	depts                      []string
	urgency                    string
	finish                     int
	fate                       string
}

// consultPart is a meeting's participant: a contact from outside with a unit, or (unit "") a
// resident of the village in the capacity kind.
type consultPart struct{ kind, name, unit string }

// consultMeeting is one of the year's ten meetings: when (days before today), where, who took part
// and what they said (by participant), its topics and what came of them.
type consultMeeting struct {
	daysAgo                                  int
	village, level, title, place, site, host string
	open                                     bool
	parts                                    []consultPart
	opinions                                 []struct {
		who  int
		body string
	}
	topics             []consultTopic
	siteNotes, minutes string
}

// opinion is one opinion of a meeting, by the index of its participant.
func opinion(who int, body string) struct {
	who  int
	body string
} {
	return struct {
		who  int
		body string
	}{who, body}
}

// demoMeetings are the year's ten meetings, oldest first: 东堡村's pond (村东坑塘治理, the district's
// 议事厅 extended to the village, with a site visit first) and 东刘庄村's 村规民约 among them.
var demoMeetings = []consultMeeting{
	{daysAgo: 340, village: "前疃村", level: "village", title: "村内饮水水质协商议事会", place: "前疃村村委会会议室", host: "前疃村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"department", "王立新", "通州区水务局"}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{opinion(2, "入冬以后自来水有时发黄，老人不敢直接喝。"), opinion(1, "先取样检测，再看是不是管网的问题。")},
		topics: []consultTopic{
			{"water", "自来水发黄，请检测水质", "入冬后村西几排的自来水时常发黄，希望检测水质、查明原因。", "请区水务局取样检测水质，查明原因后更换老化管段", []string{"通州区水务局"}, "normal", 15, ""},
			{"facilities", "村委会门口增设便民座椅", "老人在村委会门口等车没有地方坐。", "在村委会门口增设两组便民座椅", []string{"潞城镇城市管理办公室"}, "normal", 15, ""},
		},
		minutes: "与会人员听取了村民对饮水水质的反映，区水务局介绍了检测流程。会议议定：取样检测水质、更换老化管段；增设便民座椅。"},
	{daysAgo: 300, village: "小甘棠村", level: "village", title: "路灯和道路协商议事会", place: "小甘棠村党群服务站", host: "小甘棠村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"committee", "", ""}, {"department", "邓志华", "潞城镇城市管理办公室"}},
		opinions: []struct {
			who  int
			body string
		}{opinion(1, "村北主路十几盏路灯不亮，晚上出行不安全。"), opinion(2, "镇里统一报修，一周内安排维修。")},
		topics: []consultTopic{
			{"facilities", "村北路灯不亮", "村北主路十几盏路灯坏了，晚上黑灯瞎火。", "由镇城市管理办公室统一维修村北路灯", []string{"潞城镇城市管理办公室"}, "normal", 7, ""},
			{"roads", "村口道路坑洼积水", "村口一段路坑洼不平，下雨积水。", "请区交通局对村口道路进行修补", []string{"通州区城市管理委员会"}, "normal", 15, "transfer"},
		},
		minutes: "会议议定：维修村北路灯；村口道路修补报区交通部门。"},
	{daysAgo: 262, village: "大甘棠村", level: "village", title: "文化广场改造协商议事会", place: "大甘棠村文化广场", host: "大甘棠村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"department", "杨丽娟", "通州区文化和旅游局"}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{opinion(2, "广场的健身器材好几件坏了，孩子玩有危险。"), opinion(1, "区里有农村文化设施提升项目，可以申报。")},
		topics: []consultTopic{
			{"culture", "文化广场健身器材老化", "广场上的健身器材生锈松动，存在安全隐患。", "申报区农村文化设施提升项目，更换广场健身器材", []string{"通州区文化和旅游局"}, "normal", 15, ""},
			{"culture", "农家书屋周末开放", "农家书屋只在工作日开，孩子们周末想去看书。", "农家书屋周末增开半天，由志愿者值守", []string{"潞城镇社区建设办公室"}, "normal", 7, ""},
		},
		minutes: "会议议定：申报文化设施提升项目更换健身器材；农家书屋周末增开半天。"},
	{daysAgo: 220, village: "东堡村", level: "district", title: "村东坑塘治理协商议事会", place: "东堡村村委会会议室", host: "通州区政协协商议事厅",
		site: "会前到村东坑塘现场踏勘，查看水体、排水口和周边环境。",
		parts: []consultPart{{"cppcc", "李国栋", "通州区政协"}, {"party", "张慧敏", "民盟通州区委"}, {"department", "王立新", "通州区水务局"},
			{"secretary", "", ""}, {"third_party", "周明", "北京清源水处理科技有限公司"}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{
			opinion(3, "村东坑塘夏天有异味，周边的生活污水往里排，村民意见很大。"),
			opinion(4, "可以建一体化污水处理设备，先截污，再清淤、生态修复。"),
			opinion(0, "还是要坚持河长制，坑塘要有人管、有人护，责任落实到人。"),
			opinion(2, "抓紧购置污水处理设备是关键，区里可以协调资金支持。"),
			opinion(1, "治理方案要向村民公开，听取村民意见，后期管护也要让村民参与。"),
			opinion(5, "希望尽快治理，夏天之前见效。"),
		},
		topics: []consultTopic{
			{"environment", "村东坑塘有异味", "村东坑塘常年积存生活污水，夏天气味很大，蚊虫多。", "购置一体化污水处理设备，截污清淤、生态修复，由区水务局协调资金", []string{"通州区水务局"}, "urgent", 15, ""},
			{"water", "坑塘管护责任落实", "坑塘治理后谁来管，希望明确责任人。", "坚持河长制，由村党支部书记任坑塘村级河长，明确管护责任人", []string{"潞城镇农业农村办公室"}, "normal", 15, "reopen"},
		},
		siteNotes: "坑塘约三亩，水体发黑，东、北两侧各有一处生活污水排口，周边有少量垃圾。",
		minutes:   "区政协委员、民主党派成员、职能部门和第三方机构到村东坑塘实地踏勘后，听取了村党支部书记和第三方水处理公司的介绍，与会人员“你说我听 我说你听”，提出坚持河长制、抓紧购置污水处理设备等意见。会议议定：购置一体化污水处理设备截污治理；坚持河长制，落实管护责任人。"},
	{daysAgo: 180, village: "东刘庄村", level: "village", title: "村规民约协商议事会", place: "东刘庄村村委会会议室", host: "东刘庄村党支部", open: true,
		parts: []consultPart{{"secretary", "", ""}, {"committee", "", ""}, {"group_leader", "", ""}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{opinion(0, "房前屋后乱堆乱放，光靠村干部说不管用，要有大家认可的规矩。"), opinion(2, "定了规矩要公开评比，评上的挂牌，大家有面子。"),
			opinion(3, "村规民约要让每户都签字，大家都知道。")},
		topics: []consultTopic{
			{"environment", "房前屋后乱堆乱放", "不少人家门口堆柴草、杂物，影响村容村貌。", "制定《东刘庄村村规民约》，经村民代表会议表决后公示执行", []string{"潞城镇社区建设办公室"}, "normal", 15, ""},
			{"environment", "开展庭院环境评比", "建议评比干净整洁的庭院，给大家做个样子。", "建立庭院环境评比制度，每季度评选“美丽庭院”并张榜公布", []string{"潞城镇城市管理办公室"}, "normal", 15, ""},
		},
		minutes: "会议议定：制定村规民约并经村民代表会议表决后公示；建立庭院环境评比制度，每季度评选一次。"},
	{daysAgo: 140, village: "", level: "town", title: "高龄老人助餐服务镇级议事厅", place: "潞城镇政府三楼会议室", host: "潞城镇社区建设办公室",
		parts: []consultPart{{"department", "何建军", "通州区民政局"}, {"department", "田秀兰", "潞城镇社区建设办公室"}, {"third_party", "刘静", "潞城镇养老服务驿站"}},
		opinions: []struct {
			who  int
			body string
		}{opinion(2, "驿站可以为村里的高龄老人送餐，需要解决配送成本。"), opinion(0, "符合条件的老人可以申请助餐补贴。")},
		topics: []consultTopic{
			{"other", "高龄独居老人吃饭难", "村里不少高龄独居老人做饭不方便，希望有助餐服务。", "依托养老服务驿站开展助餐送餐，落实助餐补贴", []string{"通州区民政局"}, "normal", 15, ""},
			{"facilities", "村级养老驿站增设助浴设施", "老人洗澡不方便，希望驿站能助浴。", "在镇养老服务驿站增设助浴设施", []string{"通州区民政局"}, "normal", 15, ""},
		},
		minutes: "会议议定：开展助餐送餐并落实补贴；驿站增设助浴设施。"},
	{daysAgo: 100, village: "谢楼村", level: "village", title: "饮水和排水协商议事会", place: "谢楼村村委会会议室", host: "谢楼村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"department", "曹德明", "潞城镇农业农村办公室"}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{opinion(2, "村南几户夏天水压低，楼上的热水器打不着火。"), opinion(1, "可以先排查管网，必要时加装增压设备。")},
		topics: []consultTopic{
			{"water", "村南水压低", "村南几户夏天用水高峰时水压很低。", "排查村南供水管网，加装增压设备", []string{"潞城镇农业农村办公室", "北京市水务局"}, "normal", 15, ""},
			{"environment", "雨季排水不畅", "下大雨时村中心十字路口积水。", "疏通村中心排水沟，增设雨水篦子", []string{"潞城镇城市管理办公室"}, "urgent", 7, ""},
		},
		minutes: "会议议定：排查管网加装增压设备；疏通排水沟。"},
	{daysAgo: 62, village: "小东各庄村", level: "village", title: "公交站和文化活动协商议事会", place: "小东各庄村党群服务站", host: "小东各庄村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"department", "冯国平", "通州区交通局"}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{opinion(2, "公交站没有候车亭，刮风下雨老人孩子没处躲。"), opinion(1, "可以纳入今年的候车亭建设计划。")},
		topics: []consultTopic{
			{"roads", "公交站没有候车亭", "村口公交站只有一块站牌，没有候车亭。", "将村口公交站纳入候车亭建设计划", []string{"通州区交通局"}, "normal", 15, ""},
			{"culture", "冬季文化活动", "冬天农闲，希望组织文艺演出和培训。", "组织送文化下乡演出和书法培训", []string{"通州区文化和旅游局"}, "normal", 15, ""},
			{"roads", "村内道路限速标志", "过村的车开得快，希望设限速标志和减速带。", "在村内主路设限速标志和减速带", []string{"北京市交通委员会"}, "normal", 15, ""},
		},
		minutes: "会议议定：建设候车亭；组织送文化下乡；设限速标志和减速带。"},
	{daysAgo: 30, village: "霍屯村", level: "village", title: "人居环境协商议事会", place: "霍屯村村委会会议室", host: "霍屯村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"committee", "", ""}, {"department", "赵庆华", "通州区城市管理委员会"}},
		opinions: []struct {
			who  int
			body string
		}{opinion(1, "垃圾桶满了好几天才清运，夏天味道大。"), opinion(2, "调整清运频次，每天一次。")},
		topics: []consultTopic{
			{"environment", "垃圾清运不及时", "村里垃圾桶经常满溢，清运不及时。", "垃圾清运调整为每天一次", []string{"通州区城市管理委员会"}, "normal", 15, "done"},
			{"facilities", "村卫生室门口增设无障碍坡道", "坐轮椅的老人进不了卫生室。", "在村卫生室门口增设无障碍坡道", []string{"潞城镇社区建设办公室"}, "normal", 15, ""},
		},
		minutes: "会议议定：调整垃圾清运频次；卫生室增设无障碍坡道。"},
	{daysAgo: 9, village: "古城村", level: "village", title: "冬季供水和照明协商议事会", place: "古城村村委会会议室", host: "古城村党支部",
		parts: []consultPart{{"secretary", "", ""}, {"department", "王立新", "通州区水务局"}, {"representative", "", ""}},
		opinions: []struct {
			who  int
			body string
		}{opinion(2, "去年冬天水管冻裂过，今年希望提前防冻。"), opinion(1, "入冬前对裸露管段做保温包裹。")},
		topics: []consultTopic{
			{"water", "供水管道冬季防冻", "村里有些裸露的供水管道，冬天容易冻裂。", "入冬前对裸露供水管段做保温包裹", []string{"通州区水务局"}, "urgent", 15, "referred"},
			{"facilities", "村西路口照明", "村西路口没有路灯，晚上容易出事。", "村西路口增设两盏路灯", []string{"潞城镇城市管理办公室"}, "normal", 7, "accepted"},
			{"culture", "村史馆布展", "希望把村里的老物件收集起来办个村史馆。", "收集老物件，筹建村史馆", []string{"潞城镇社区建设办公室"}, "normal", 15, "accepted"},
		},
		minutes: "会议议定：供水管段保温防冻；村西路口增设路灯；筹建村史馆。"},
}

// Things a cadre writes in the book after a visit (记在本上), and the needs some visits find.
var (
	visitNotes = []string{"老人身体还好，血压有点高，叮嘱按时吃药。", "家里取暖正常，煤改电设备运转良好。", "老人说最近腿疼，下楼不方便。",
		"聊了聊家常，老人精神不错，儿子每周回来一次。", "检查了燃气和电线，没有隐患。", "帮老人读了读高龄津贴的政策，老人表示明白了。",
		"老人说自来水有时候发黄，已记下，回去反映。", "院子里有些杂物，帮着收拾了一下。", "老人想办理助餐，已告知申请办法。", "老人独自在家，情绪有点低落，陪着聊了半小时。"}
	visitNeeds = []consult.VisitNeed{
		{Category: "haircut", Description: "老人腿脚不便，想请人上门理发", Urgency: "normal"},
		{Category: "repair", Description: "屋里电灯时亮时不亮，需要电工看看", Urgency: "high"},
		{Category: "daily_care", Description: "老人想每周有人来陪着说说话", Urgency: "normal"},
		{Category: "policy", Description: "想了解高龄津贴怎么申领", Urgency: "low"},
		{Category: "health", Description: "想请村医上门量量血压", Urgency: "normal"},
	}
)

// Consult gives the demo town its 微协商, through the pillar's services on a clock moved through the
// past year: the department directory at three levels with a head login each (通州区水务局's is
// PhoneDepartment); the year's ten meetings (demoMeetings), each with topics residents proposed and
// supported, its participants, opinions by speaker, decisions and minutes, 东堡村's pond and
// 东刘庄村's 村规民约 among them; the decisions referred to departments, most answered in time and
// rated, some still waiting (one reopened, one transferred, some overdue and escalated); a care
// team of fifteen cadres (PhoneCareMember the first), each with villages and 联系户 (households of
// 高龄, 独居 or 孤寡 residents), and a year of their visits, with needs found at the door filed as
// 微志愿 needs and a few households let lapse so that they are overdue now. It runs after
// Volunteer, and does nothing when the town has departments already.
func Consult(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM consult_departments WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	cat, err := web.LoadCatalog(consult.Messages, volunteer.Messages)
	if err != nil {
		return err
	}
	// newService is 微协商's service on a clock of its own, which the steps set to the moments
	// things happened; 微志愿's service files the needs found at the door on the same clock.
	type clocked struct {
		s   *consult.Service
		set func(time.Time)
	}
	newService := func() clocked {
		var mu sync.Mutex
		var now time.Time
		at := func() time.Time { mu.Lock(); defer mu.Unlock(); return now.UTC().Truncate(time.Microsecond) }
		bs := bank.NewService(d, ps)
		bs.Now = at
		ns := &notify.Service{DB: d, Now: at, T: func(key string, args ...any) string { return cat.T(web.DefaultLang, key, args...) }}
		vs := volunteer.New(d, ps, bs, ns)
		vs.Now = at
		s := consult.NewService(d, ps, bs, ns, vs)
		s.Now = at
		return clocked{s, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }}
	}
	main := newService()
	s, set := main.s, main.set
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	realNow := time.Now().UTC()
	today := clock.In(loc, func() time.Time { return realNow }).Today()
	// at is the town's wall time days after today (before it when negative).
	at := func(days, hour, minute int) time.Time {
		return time.Date(today.Year(), today.Month(), today.Day()+days, hour, minute, 0, 0, loc)
	}

	if err := consultLogins(ctx, d, info); err != nil {
		return err
	}
	as := auth.NewService(d)
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
	admin, err := login(PhoneTownAdmin)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x636f6e73756c74))

	// The directory, a year ago, each department with its head's login.
	set(at(-365, 9, 0))
	cats, err := s.Categories(ctx, admin, info.TownID)
	if err != nil {
		return err
	}
	catID := map[string]int64{}
	for _, c := range cats {
		catID[c.Code] = c.ID
	}
	depts := map[string]int64{}
	deptActor := map[string]*auth.Actor{}
	for i, dd := range demoDepartments {
		in := consult.DepartmentInput{TownID: info.TownID, Level: dd.level, Name: dd.name, ContactName: dd.contact, ContactPhone: dd.phone, HeadName: dd.head,
			HeadPhone: deptPhone(i)}
		for _, c := range dd.cats {
			in.CategoryIDs = append(in.CategoryIDs, catID[c])
		}
		dep, err := s.SaveDepartment(ctx, admin, 0, in)
		if err != nil {
			return fmt.Errorf("demo: department %s: %w", dd.name, err)
		}
		if _, _, err := s.AddDepartmentAccount(ctx, admin, as, dep.ID, consult.DeptAccountInput{Phone: deptPhone(i), Name: dd.head, Head: true}); err != nil {
			return fmt.Errorf("demo: department %s's login: %w", dd.name, err)
		}
		if deptActor[dd.name], err = login(deptPhone(i)); err != nil {
			return err
		}
		depts[dd.name] = dep.ID
	}

	// The villages and their adults, who propose, support and speak.
	type adult struct {
		id, village, household int64
		name                   string
		party                  bool
	}
	villageID := map[string]int64{}
	var villageIDs []int64
	rows, err := d.Read().QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1 ORDER BY id`, info.TownID)
	if err := scanAll(rows, err, func() error {
		var id int64
		var name string
		err := rows.Scan(&id, &name)
		villageID[name], villageIDs = id, append(villageIDs, id)
		return err
	}); err != nil {
		return err
	}
	adults := map[int64][]adult{}
	rows, err = d.Read().QueryContext(ctx, `SELECT id, village_id, household_id, name, party_member FROM residents WHERE town_id = $1 AND status = 'active' AND birth_date < $2 ORDER BY id`,
		info.TownID, clock.Day(today.AddDate(-18, 0, 0)))
	if err := scanAll(rows, err, func() error {
		var r adult
		err := rows.Scan(&r.id, &r.village, &r.household, &r.name, &r.party)
		adults[r.village] = append(adults[r.village], r)
		return err
	}); err != nil {
		return err
	}
	// office is a resident as the village office types for them: only a resident's grant, so
	// what they propose is theirs.
	office := func(r adult) *auth.Actor {
		a := *admin
		a.Grants = []auth.Grant{{Role: auth.ResidentRole, TownID: info.TownID, VillageID: r.village}}
		a.ActingFor = &auth.Person{ID: r.id, Name: r.name}
		return &a
	}

	// The year's meetings.
	type pending struct {
		ref      int64
		topic    consultTopic
		proposer *auth.Actor
		created  time.Time
	}
	var referrals []pending
	for _, pm := range demoMeetings {
		vid := villageID[pm.village]
		pool := adults[vid]
		if vid == 0 {
			for _, v := range villageIDs {
				pool = append(pool, adults[v]...)
			}
		}
		if len(pool) < 4 {
			continue
		}
		pick := rng.Perm(len(pool))
		crowd := make([]adult, len(pick))
		for i, k := range pick {
			crowd[i] = pool[k]
		}
		// Topics, proposed three weeks before and supported over the next days.
		var topics []int64
		for i, tp := range pm.topics {
			proposer := crowd[i%len(crowd)]
			set(at(-pm.daysAgo-21+i, 19, 30))
			t, err := s.ProposeTopic(ctx, office(proposer), consult.TopicInput{TownID: info.TownID, VillageID: vid, CategoryID: catID[tp.cat],
				Title: tp.title, Description: tp.body})
			if err != nil {
				return fmt.Errorf("demo: topic %s: %w", tp.title, err)
			}
			topics = append(topics, t.ID)
			for k := range 3 + rng.IntN(8) {
				sup := crowd[(len(pm.topics)+i*11+k)%len(crowd)]
				if sup.id == proposer.id {
					continue
				}
				set(at(-pm.daysAgo-18+k%7, 8+k, 0))
				if _, err := s.Support(ctx, office(sup), t.ID); err != nil {
					return fmt.Errorf("demo: support %s: %w", tp.title, err)
				}
			}
		}
		// The meeting, planned ten days before with the topics on its agenda.
		set(at(-pm.daysAgo-10, 10, 0))
		day := clock.Day(at(-pm.daysAgo, 0, 0))
		capacity := 0
		if pm.open {
			capacity = 30
		}
		m, err := s.CreateMeeting(ctx, admin, consult.MeetingInput{TownID: info.TownID, VillageID: vid, Level: pm.level, Title: pm.title,
			StartsAt: day + " 09:00", EndsAt: day + " 11:30", Place: pm.place, SiteVisit: pm.site, Host: pm.host, Open: pm.open, Capacity: capacity})
		if err != nil {
			return fmt.Errorf("demo: meeting %s: %w", pm.title, err)
		}
		for _, t := range topics {
			if _, err := s.Accept(ctx, admin, t, m.ID); err != nil {
				return fmt.Errorf("demo: accept onto %s: %w", pm.title, err)
			}
		}
		if pm.open {
			for k := range 8 {
				set(at(-pm.daysAgo-7+k%5, 20, k))
				if _, err := s.Register(ctx, office(crowd[(k+5)%len(crowd)]), m.ID); err != nil {
					return fmt.Errorf("demo: register for %s: %w", pm.title, err)
				}
			}
		}
		// The participants, the day before: residents of the village in their capacity (the
		// party secretary a party member), contacts from outside with their units.
		set(at(-pm.daysAgo-1, 16, 0))
		var parts, outside []int64
		taken := map[int64]bool{}
		for _, p := range pm.parts {
			in := consult.ParticipantInput{Kind: p.kind, Name: p.name, Unit: p.unit}
			if p.unit == "" {
				k := -1
				if p.kind == "secretary" {
					k = slices.IndexFunc(crowd, func(a adult) bool { return a.party && !taken[a.id] })
				}
				for j := len(crowd) - 1; k < 0 && j >= 0; j-- {
					if !taken[crowd[j].id] {
						k = j
					}
				}
				taken[crowd[k].id] = true
				in = consult.ParticipantInput{Kind: p.kind, ResidentID: crowd[k].id}
			}
			pp, err := s.AddParticipant(ctx, admin, m.ID, in)
			if err != nil {
				return fmt.Errorf("demo: participant of %s: %w", pm.title, err)
			}
			parts = append(parts, pp.ID)
			if pp.ResidentID == 0 {
				outside = append(outside, pp.ID)
			}
		}
		// The meeting: the site first, then "你说我听 我说你听", the decisions and the minutes.
		set(at(-pm.daysAgo, 9, 5))
		if len(outside) > 0 {
			if _, err := s.Checkin(ctx, admin, m.ID, consult.CheckinInput{ParticipantIDs: outside}); err != nil {
				return fmt.Errorf("demo: check in %s: %w", pm.title, err)
			}
		}
		if pm.siteNotes != "" {
			if _, err := s.SaveNotes(ctx, admin, m.ID, "site_notes", pm.siteNotes); err != nil {
				return err
			}
		}
		for i, o := range pm.opinions {
			set(at(-pm.daysAgo, 9, 30+i*5))
			if _, err := s.AddOpinion(ctx, admin, m.ID, consult.OpinionInput{ParticipantID: parts[o.who], Body: o.body}); err != nil {
				return fmt.Errorf("demo: opinion at %s: %w", pm.title, err)
			}
		}
		set(at(-pm.daysAgo, 11, 10))
		var decisions []int64
		for i, tp := range pm.topics {
			dc, err := s.AddDecision(ctx, admin, m.ID, consult.DecisionInput{TopicID: topics[i], Body: tp.decision})
			if err != nil {
				return fmt.Errorf("demo: decision of %s: %w", pm.title, err)
			}
			decisions = append(decisions, dc.ID)
		}
		set(at(-pm.daysAgo, 11, 40))
		if _, err := s.CloseMeeting(ctx, admin, m.ID, consult.CloseInput{Minutes: pm.minutes, Attendance: len(pm.parts) + 12 + rng.IntN(20)}); err != nil {
			return fmt.Errorf("demo: close %s: %w", pm.title, err)
		}
		// The decisions referred to departments that afternoon.
		for i, tp := range pm.topics {
			created := at(-pm.daysAgo, 14, 10*i)
			set(created)
			var targets []int64
			for _, name := range tp.depts {
				targets = append(targets, depts[name])
			}
			r, err := s.CreateReferral(ctx, admin, consult.ReferralInput{DecisionID: decisions[i], DepartmentIDs: targets, Urgency: tp.urgency, FinishDays: tp.finish})
			if err != nil {
				return fmt.Errorf("demo: refer %s: %w", tp.title, err)
			}
			proposer := crowd[i%len(crowd)]
			referrals = append(referrals, pending{r.ID, tp, office(proposer), created})
		}
	}

	// Each referral as far as it got: accepted within hours, progress replies, done within its
	// days, rated by the proposer or the town.
	stop := realNow.Add(-time.Hour)
	for k, p := range referrals {
		tp := p.topic
		t := p.created
		// step moves the clock on by hours, and reports whether that is still in the past.
		step := func(hours int) bool {
			t = t.Add(time.Duration(hours) * time.Hour)
			set(t)
			return t.Before(stop)
		}
		act := func(a *auth.Actor, in consult.ReferralAction) error {
			if _, err := s.ActReferral(ctx, a, p.ref, in); err != nil {
				return fmt.Errorf("demo: referral %s, %s: %w", tp.title, in.Action, err)
			}
			return nil
		}
		owner := deptActor[tp.depts[0]]
		if tp.fate == "referred" {
			continue
		}
		if tp.fate == "transfer" {
			if !step(3) {
				continue
			}
			if err := act(owner, consult.ReferralAction{Action: "transfer", DepartmentID: depts["通州区交通局"], Reason: "道路修补属区交通局职责，已转交"}); err != nil {
				return err
			}
			owner = deptActor["通州区交通局"]
		}
		respond := 1 + rng.IntN(6)
		if tp.urgency == "urgent" {
			respond = 1
		}
		if !step(respond) {
			continue
		}
		if err := act(owner, consult.ReferralAction{Action: "accept"}); err != nil {
			return err
		}
		if tp.fate == "accepted" {
			if step(24 * 2) {
				if err := act(owner, consult.ReferralAction{Action: "reply", Body: "已安排人员到现场查看，正在制定方案。"}); err != nil {
					return err
				}
			}
			continue
		}
		if !step(24 * (1 + rng.IntN(2))) {
			continue
		}
		if err := act(owner, consult.ReferralAction{Action: "reply", Body: "已到现场查看，正在组织施工（办理）。"}); err != nil {
			return err
		}
		if !step(24 * (2 + rng.IntN(max(1, tp.finish-5)))) {
			continue
		}
		if err := act(owner, consult.ReferralAction{Action: "finish", Body: "已办结：" + tp.decision + "。"}); err != nil {
			return err
		}
		if tp.fate == "done" || !step(24*(1+rng.IntN(3))) {
			continue
		}
		rater := admin
		if k%2 == 0 {
			rater = p.proposer
		}
		if tp.fate == "reopen" {
			// 不满意 reopens it once: the department comes back and finishes it again.
			if err := act(p.proposer, consult.ReferralAction{Action: "rate", Satisfaction: "unsatisfied", Reason: "管护责任人还没公示，村民不知道找谁"}); err != nil {
				return err
			}
			if !step(24 * 3) {
				continue
			}
			if err := act(owner, consult.ReferralAction{Action: "finish", Body: "已在村务公开栏公示坑塘河长和管护责任人及联系电话。"}); err != nil {
				return err
			}
			if !step(24 * 2) {
				continue
			}
			rater = p.proposer
		}
		sat := "satisfied"
		if rng.IntN(5) == 0 {
			sat = "basic"
		}
		if err := act(rater, consult.ReferralAction{Action: "rate", Satisfaction: sat}); err != nil {
			return err
		}
	}
	// Now: the referrals past their deadlines escalate to the town and the departments' heads.
	set(realNow)
	if _, err := s.Escalate(ctx); err != nil {
		return err
	}

	// The care team: fifteen cadres, the villages in turns, and as 联系户 the households of
	// their villages with a 高龄, 独居 or 孤寡 resident, at most careHouseholds each.
	set(at(-365, 10, 0))
	type household struct {
		id, village, head int64
		interval          int
	}
	tagged := map[int64][]household{}
	seen := map[int64]*household{}
	rows, err = d.Read().QueryContext(ctx, `SELECT r.household_id, r.village_id, COALESCE(h.head_resident_id, 0), r.care_tags FROM residents r
		JOIN households h ON h.id = r.household_id WHERE r.town_id = $1 AND r.status = 'active' AND r.care_tags <> '' ORDER BY r.village_id, r.household_id, r.id`, info.TownID)
	var order []*household
	if err := scanAll(rows, err, func() error {
		var h household
		var tags string
		if err := rows.Scan(&h.id, &h.village, &h.head, &tags); err != nil {
			return err
		}
		for _, tg := range strings.Split(strings.Trim(tags, ","), ",") {
			ct := people.CareTag(tg)
			if ct != people.Elderly && ct != people.LivesAlone && ct != people.Childless {
				continue
			}
			if h.interval == 0 || consult.DefaultIntervals[ct] < h.interval {
				h.interval = consult.DefaultIntervals[ct]
			}
		}
		if h.interval == 0 {
			return nil
		}
		if o := seen[h.id]; o != nil {
			o.interval = min(o.interval, h.interval)
			return nil
		}
		hh := h
		seen[h.id] = &hh
		order = append(order, &hh)
		return nil
	}); err != nil {
		return err
	}
	for _, h := range order {
		tagged[h.village] = append(tagged[h.village], *h)
	}
	type cadre struct {
		a          *auth.Actor
		households []household
	}
	team := make([]*cadre, len(demoCareTeam))
	for i, c := range demoCareTeam {
		var account int64
		if err := d.Read().QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, carePhone(i)).Scan(&account); err != nil {
			return err
		}
		mb, err := s.AddMember(ctx, admin, info.TownID, consult.MemberInput{AccountID: account, Title: c.title, Phone: carePhone(i)})
		if err != nil {
			return fmt.Errorf("demo: care member %s: %w", c.name, err)
		}
		var vs, hs []int64
		cd := &cadre{}
		for k := i; k < len(villageIDs); k += len(demoCareTeam) {
			vs = append(vs, villageIDs[k])
			for _, h := range tagged[villageIDs[k]] {
				if len(cd.households) < careHouseholds {
					cd.households = append(cd.households, h)
					hs = append(hs, h.id)
				}
			}
		}
		if _, err := s.UpdateMember(ctx, admin, mb.ID, consult.MemberInput{Title: c.title, Phone: carePhone(i), VillageIDs: vs, HouseholdIDs: hs}); err != nil {
			return fmt.Errorf("demo: assign %s: %w", c.name, err)
		}
		if cd.a, err = login(carePhone(i)); err != nil {
			return err
		}
		team[i] = cd
	}

	// A year of visits, each cadre on a clock of their own: every household about at its
	// interval; one in seven let lapse some weeks ago, overdue now. Some visits in the last two
	// months find a need, filed at once as a 微志愿 need; some households rate a visit.
	return parallel(len(team), 2, func(i int) error {
		cd := team[i]
		cs := newService()
		vr := rand.New(rand.NewPCG(uint64(seed), uint64(0x7669736974+i)))
		for _, h := range cd.households {
			last := 0 // days before today the visits stop
			if vr.IntN(7) == 0 {
				last = h.interval + 3 + vr.IntN(20)
			}
			for day := 365 - vr.IntN(h.interval); day >= last; day -= h.interval - 2 + vr.IntN(4) {
				visited := at(-day, 15, vr.IntN(60))
				if visited.After(realNow) {
					visited = realNow.In(loc) // today's visit, made this morning
				}
				cs.set(visited)
				in := consult.VisitInput{HouseholdID: h.id, VisitedOn: clock.Day(visited), Met: "户主本人", Notes: visitNotes[vr.IntN(len(visitNotes))]}
				if day < 60 && vr.IntN(12) == 0 {
					in.Needs = []consult.VisitNeed{visitNeeds[vr.IntN(len(visitNeeds))]}
				}
				v, err := cs.s.LogVisit(ctx, cd.a, in)
				if err != nil {
					return fmt.Errorf("demo: visit %s: %w", in.VisitedOn, err)
				}
				if h.head != 0 && vr.IntN(8) == 0 && visited.Add(26*time.Hour).Before(realNow) {
					cs.set(visited.Add(26 * time.Hour))
					a := *admin
					a.Grants = nil
					a.ActingFor = &auth.Person{ID: h.head}
					if _, err := cs.s.RateVisit(ctx, &a, v.ID, consult.VisitRating{Rating: consult.SatisfactionRatings[vr.IntN(2)], Comment: "干部很贴心"}); err != nil {
						return fmt.Errorf("demo: rate visit: %w", err)
					}
				}
			}
		}
		return nil
	})
}

// careHouseholds is how many 联系户 each cadre is given at most, so that a year of visits stays
// bounded in a town of any size.
const careHouseholds = 8

// deptPhone is the head login of demoDepartments[i].
func deptPhone(i int) string {
	if demoDepartments[i].name == waterBureau {
		return PhoneDepartment
	}
	return fmt.Sprint(deptPhones + i)
}

// carePhone is the login of demoCareTeam[i].
func carePhone(i int) string {
	if i == 0 {
		return PhoneCareMember
	}
	return fmt.Sprint(carePhones + i)
}

// consultLogins gives each department of demoDepartments its head's login (role dept_responder of
// the town) and each cadre of demoCareTeam theirs (role care_team of the town), with the demo
// password hashed once for all. A phone taken already is left as it is.
func consultLogins(ctx context.Context, d *db.DB, info Info) error {
	as := auth.NewService(d)
	var hash string
	return d.Tx(ctx, func(tx *sql.Tx) error {
		account := func(phone, name string, g auth.Grant) error {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, phone).Scan(&id)
			if err == nil || !db.IsNoRows(err) {
				return err
			}
			if hash == "" {
				hash = auth.HashPassword(DemoPassword)
			}
			if id, err = as.InsertAccount(ctx, tx, phone, name, 0, hash, false); err != nil {
				return fmt.Errorf("demo: account %s: %w", phone, err)
			}
			return as.InsertGrant(ctx, tx, id, g)
		}
		for i, dd := range demoDepartments {
			if err := account(deptPhone(i), dd.head, auth.Grant{Role: auth.DeptResponder, TownID: info.TownID}); err != nil {
				return err
			}
		}
		for i, c := range demoCareTeam {
			if err := account(carePhone(i), c.name, auth.Grant{Role: auth.CareTeam, TownID: info.TownID}); err != nil {
				return err
			}
		}
		return nil
	})
}
