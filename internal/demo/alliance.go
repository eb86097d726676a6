package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/people"
)

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

// The demo logins the AllianceUnits step makes, both with DemoPassword.
const (
	PhoneUnitLiaison   = "13900000016" // 蒙牛乳业（北京）有限责任公司's liaison (微联盟 单位联络员)
	PhoneAllianceAdmin = "13900000017" // 潞城镇's 微联盟管理员
)

// liaisonUnit is the unit whose liaison logs in with PhoneUnitLiaison.
const liaisonUnit = "蒙牛乳业（北京）有限责任公司"

// The names of the logins the AllianceUnits step makes. Made up.
const (
	liaisonLoginName  = "赵立新"
	allianceAdminName = "孙晓燕"
)

// allianceAccounts are the logins 微联盟's steps make (AllianceUnits, AllianceDisputes), for
// StepAccounts.
func allianceAccounts() []Account {
	return []Account{
		{PhoneUnitLiaison, string(auth.UnitLiaison), liaisonUnit + "（微联盟 单位联络员 " + liaisonLoginName + "）"},
		{PhoneAllianceAdmin, string(auth.AllianceAdmin), TownName + " 微联盟管理员 " + allianceAdminName},
		{PhoneDisputeStaff, string(auth.DisputeStaff), "一站式多元解纷中心 " + disputeJudge + "（区法院驻中心法官）"},
	}
}

// liaisonSurnames and liaisonGiven make up the units' liaison persons' names.
var (
	liaisonSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"}
	liaisonGiven    = []string{"建国", "海燕", "志强", "丽华", "文博", "秀英", "卫东", "晓明", "春梅", "国庆", "慧敏", "振华", "红霞", "立军", "雅琴", "德胜"}
	// landlines are the first four digits of Beijing office numbers around 通州.
	landlines = []string{"6954", "6953", "8958", "6052", "8157", "6659", "6951", "8056"}
)

// AllianceUnits is 微联盟's first step: the 32 member units of demoUnits in the town's
// 党建协调委员会, each with a made-up liaison person and office landline (010-…) and a joined date
// within the last three years, the first ones longest; a liaison login for 蒙牛乳业
// (PhoneUnitLiaison, role unit_liaison, linked to the unit) and the town's alliance admin
// (PhoneAllianceAdmin). The units go in with one statement, so the step takes a moment. It does
// nothing when the town has units already.
func AllianceUnits(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error {
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_units WHERE town_id = $1`, info.TownID).Scan(&n); err != nil || n > 0 {
		return err
	}
	loc, err := ps.Zone(ctx, info.TownID)
	if err != nil {
		return err
	}
	today := clock.In(loc, func() time.Time { return time.Now() }).Today()
	rng := rand.New(rand.NewPCG(uint64(seed), pcgStream+16))
	now := db.Now()
	var rows []string
	var args []any
	span := 3*365 - 30
	for i, u := range demoUnits {
		// Joined over the last three years, in the list's order: the article's first members first.
		days := span - i*span/len(demoUnits) - rng.IntN(20)
		joined := today.AddDate(0, 0, -days).Format(clock.DayLayout)
		liaison := liaisonSurnames[rng.IntN(len(liaisonSurnames))] + liaisonGiven[rng.IntN(len(liaisonGiven))]
		if u.name == liaisonUnit {
			liaison = liaisonLoginName
		}
		phone := fmt.Sprintf("010-%s%04d", landlines[rng.IntN(len(landlines))], rng.IntN(10000))
		contacts := fmt.Sprintf("办公室 010-%s%04d", landlines[rng.IntN(len(landlines))], rng.IntN(10000))
		b := len(args)
		rows = append(rows, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, TRUE, $%d, $%d)", b+1, b+2, b+3, b+4, b+5, b+6, b+7, b+8, b+9, b+9))
		args = append(args, info.TownID, u.name, u.kind, u.partyOrg, liaison, phone, contacts, joined, now)
	}
	// Hashing is slow on purpose: once, outside the transaction, for both logins.
	hash := auth.HashPassword(DemoPassword)
	as := auth.NewService(d)
	return d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_units (town_id, name, kind, party_org, liaison_name, liaison_phone, contacts, joined_on, active, created_at, updated_at)
			VALUES `+strings.Join(rows, ", "), args...); err != nil {
			return fmt.Errorf("demo: alliance units: %w", err)
		}
		account := func(phone, name string, role auth.Role) (int64, error) {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, phone).Scan(&id)
			if err == nil || !db.IsNoRows(err) {
				return id, err
			}
			if id, err = as.InsertAccount(ctx, tx, phone, name, 0, hash, false); err != nil {
				return 0, fmt.Errorf("demo: account %s: %w", phone, err)
			}
			return id, as.InsertGrant(ctx, tx, id, auth.Grant{Role: role, TownID: info.TownID})
		}
		liaison, err := account(PhoneUnitLiaison, liaisonLoginName, auth.UnitLiaison)
		if err != nil {
			return err
		}
		if _, err := account(PhoneAllianceAdmin, allianceAdminName, auth.AllianceAdmin); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alliance_unit_accounts (unit_id, account_id)
			SELECT id, $1 FROM alliance_units WHERE town_id = $2 AND name = $3
			AND NOT EXISTS (SELECT 1 FROM alliance_unit_accounts WHERE account_id = $1)`, liaison, info.TownID, liaisonUnit); err != nil {
			return fmt.Errorf("demo: alliance liaison: %w", err)
		}
		return nil
	})
}
