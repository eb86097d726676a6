package demo

// The demo town's place and person names. Nothing here names a real person: given names are
// common ones, combined at random with common surnames, and the names of people in the source
// article are left out of the lists.

// villageNames are the demo villages in code order: the seven the article names first (so
// 前疃村 is 001 and 东堡村 002), then other villages of 潞城镇.
var villageNames = []string{
	"前疃村", "东堡村", "东刘庄村", "小甘棠村", "大甘棠村", "谢楼村", "小东各庄村",
	"霍屯村", "古城村", "胡各庄村", "后北营村", "前北营村", "兴各庄村", "贾后疃村",
	"卜落垡村", "七级村", "中堡村", "东夏园村", "孙各庄村", "燕山营村",
}

// clans are each village's big surnames (大姓), used for a good share of its households, as in
// any North China village; villages not listed draw theirs from the common surnames.
var clans = map[string][2]string{
	"前疃村":   {"贾", "张"},
	"东堡村":   {"刘", "王"},
	"东刘庄村":  {"刘", "李"},
	"小甘棠村":  {"朱", "王"},
	"大甘棠村":  {"张", "赵"},
	"谢楼村":   {"谢", "刘"},
	"小东各庄村": {"朱", "温"},
	"贾后疃村":  {"贾", "李"},
	"孙各庄村":  {"孙", "王"},
	"胡各庄村":  {"胡", "张"},
}

// surnames are common surnames, roughly most common first; the generator favours the front.
var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "贾", "孙", "马", "朱", "胡", "郭", "何", "高",
	"林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董",
	"袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢",
	"姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "夏", "韦", "付", "方", "白", "邹", "孟",
	"熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺", "顾", "毛",
	"郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴", "莫", "孔", "向", "汤",
}

// era groups given names by generation: names go in and out of fashion. The generator picks the
// era by age (66 and over, 36 to 65, under 36), not birth year, so that names do not change with
// the year the town is built in.
type era int

const (
	eraOld   era = iota // born before about 1960
	eraMid              // about 1960–1989
	eraYoung            // about 1990 on
)

// givenNames[era][gender] lists two-character then one-character given names.
var givenNames = [3][2]struct{ two, one []string }{
	eraOld: {
		{ // men
			two: []string{"国强", "建国", "建华", "建军", "志刚", "德胜", "福林", "宝山", "振华", "玉祥", "永生", "长顺", "凤山", "树林",
				"桂林", "德明", "庆祥", "秀山", "文才", "满仓", "金山", "保华", "学文", "俊生", "广田", "万福", "连生", "永和"},
			one: []string{"文", "明", "华", "军", "山", "林", "祥", "福", "德", "贵", "荣", "才", "忠", "义"},
		},
		{ // women
			two: []string{"秀英", "桂兰", "淑珍", "玉兰", "桂英", "秀兰", "凤英", "素芬", "淑兰", "玉珍", "秀珍", "凤兰", "翠兰", "玉梅",
				"桂芝", "淑英", "秀荣", "玉芬", "凤琴", "素珍", "桂珍", "秀芝", "玉华", "淑芬", "金凤", "春兰"},
			one: []string{"兰", "英", "珍", "芳", "梅", "凤", "琴", "芬", "秀", "娥"},
		},
	},
	eraMid: {
		{
			two: []string{"海涛", "建伟", "志强", "立新", "永刚", "红军", "卫东", "春雷", "晓东", "宏伟", "海军", "建平", "立军", "国华",
				"文斌", "志勇", "建新", "春生", "卫国", "永强", "少华", "长青", "金龙", "晓明", "立伟", "振国", "东升", "学军"},
			one: []string{"伟", "强", "磊", "军", "勇", "涛", "斌", "刚", "鹏", "杰", "超", "亮", "峰", "波"},
		},
		{
			two: []string{"丽娜", "红霞", "秀梅", "海燕", "丽华", "春燕", "晓红", "艳红", "桂芳", "淑华", "丽萍", "晓燕", "红梅", "秀云",
				"玉洁", "雪梅", "春梅", "丽娟", "海霞", "淑敏", "晓丽", "艳玲", "素云", "小红", "金萍", "亚男"},
			one: []string{"丽", "娟", "敏", "静", "燕", "霞", "红", "艳", "芳", "萍", "杰", "琳"},
		},
	},
	eraYoung: {
		{
			two: []string{"浩然", "子轩", "宇航", "俊杰", "浩宇", "博文", "一鸣", "天宇", "皓轩", "子豪", "明轩", "宇轩", "思远", "嘉豪",
				"梓豪", "铭泽", "俊熙", "子墨", "睿泽", "家乐", "泽宇", "志远", "晨阳", "奕辰", "宇辰", "浩轩", "承泽", "文博"},
			one: []string{"睿", "轩", "浩", "宇", "博", "阳", "晨", "昊", "航", "毅", "哲", "凯"},
		},
		{
			two: []string{"欣怡", "梓萱", "雨桐", "诗涵", "子涵", "思琪", "佳怡", "雨欣", "一诺", "可馨", "紫涵", "梦瑶", "雅琪", "晨曦",
				"若曦", "语桐", "欣妍", "佳琪", "思彤", "梓涵", "雨萱", "嘉怡", "依诺", "安琪", "静怡", "佳慧", "梦琪", "心怡"},
			one: []string{"婷", "悦", "琪", "涵", "萱", "彤", "洁", "雪", "璐", "楠", "瑶", "欣"},
		},
	},
}

// phonePrefixes are mainland mobile prefixes in use.
var phonePrefixes = []string{
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "153", "155", "156", "157",
	"158", "159", "166", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
	"191", "198", "199",
}
