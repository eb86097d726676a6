package demo

// allianceUnit is a member unit of the demo town's 党建协调委员会 (微联盟): its name, kind (one of
// alliance.UnitKinds) and party organisation. The first names are the article's; the rest are
// units of the same kinds one finds around 潞城镇.
type allianceUnit struct{ name, kind, partyOrg string }

// demoUnits are the 32 member units of the demo town's 党建协调委员会, as the article's 30余家:
// government offices, enterprises, public institutions, universities and hospitals.
var demoUnits = []allianceUnit{
	{"北京市财政局", "agency", "中共北京市财政局机关委员会"},
	{"北京市通州区人民法院", "agency", "中共北京市通州区人民法院党组"},
	{"中共北京市通州区委统战部", "agency", "中共北京市通州区委统战部机关支部"},
	{"北京市通州区规划和自然资源分局", "agency", "中共通州区规划和自然资源分局支部委员会"},
	{"北京市通州区卫生健康委员会", "agency", "中共通州区卫生健康委员会机关委员会"},
	{"北京市通州区司法局", "agency", "中共通州区司法局机关支部"},
	{"北京市通州区民政局", "agency", "中共通州区民政局机关支部"},
	{"北京市通州区教育委员会", "agency", "中共通州区教育委员会机关委员会"},
	{"北京北投集团", "state_enterprise", "中共北京北投集团委员会"},
	{"北京农商银行通州支行", "state_enterprise", "中共北京农商银行通州支行委员会"},
	{"中国三峡集团北京分公司", "state_enterprise", "中共三峡集团北京分公司支部委员会"},
	{"国网北京通州供电公司", "state_enterprise", "中共国网北京通州供电公司委员会"},
	{"北京首创生态环保集团通州公司", "state_enterprise", "中共首创生态环保通州公司支部"},
	{"中国邮政通州区分公司", "state_enterprise", "中共中国邮政通州区分公司委员会"},
	{"蒙牛乳业（北京）有限责任公司", "private_enterprise", "中共蒙牛乳业（北京）有限责任公司支部委员会"},
	{"国美电器有限公司", "private_enterprise", "中共国美电器有限公司委员会"},
	{"北京童悦服饰有限公司", "private_enterprise", "中共北京童悦服饰有限公司支部"},
	{"北京京东世纪贸易有限公司通州分公司", "private_enterprise", "中共京东通州分公司支部"},
	{"北京物美商业集团通州分店", "private_enterprise", "中共物美通州分店支部"},
	{"北京潞通建筑工程有限公司", "private_enterprise", "中共潞通建筑工程有限公司支部"},
	{"通州区疾病预防控制中心", "institution", "中共通州区疾病预防控制中心支部委员会"},
	{"通州区图书馆", "institution", "中共通州区图书馆支部"},
	{"通州区文化馆", "institution", "中共通州区文化馆支部"},
	{"通州区农业技术推广站", "institution", "中共通州区农业技术推广站支部"},
	{"北京物资学院", "university", "中共北京物资学院委员会"},
	{"首都师范大学", "university", "中共首都师范大学委员会"},
	{"北京潞河医院", "hospital", "中共首都医科大学附属北京潞河医院委员会"},
	{"通州区中医医院", "hospital", "中共通州区中医医院委员会"},
	{"潞城镇社区卫生服务中心", "hospital", "中共潞城镇社区卫生服务中心支部"},
	{"民盟通州区委员会", "party", ""},
	{"九三学社通州区委员会", "party", ""},
	{"通州区志愿服务联合会", "social", "中共通州区志愿服务联合会支部"},
}
