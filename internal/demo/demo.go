// Package demo builds the demo town, 潞城镇 of the source article: twenty villages, a couple of
// thousand residents in households, and seven accounts to log in with. The same seed gives the same
// town: the same names, households, phones and, within a calendar year, the same ID numbers.
package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// The demo town and its limits.
const (
	TownName = "潞城镇"
	TownCode = "110112104"
	// AreaCode is Tongzhou's 行政区划代码, the first six digits of every demo 身份证号.
	AreaCode = "110112"
	// DemoPassword is the password of every demo account.
	DemoPassword = "siwei-demo"

	DefaultSeed      = 1
	DefaultResidents = 2000
	MinResidents     = 50
	MaxResidents     = 20000
)

// pcgStream is the second PCG word; the seed is the first.
const pcgStream = 0x7369776569_2026

// Options shape the demo town. Zero values take the defaults.
type Options struct {
	Seed      int64
	Residents int
	// SecondTown adds 西集镇, a small second town of two villages with staff and a resident of its
	// own, and a district admin over both: for tests of what staff of one town may do in another.
	// `siwei demo` leaves it out.
	SecondTown bool
}

func (o Options) normalize() (Options, error) {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Residents == 0 {
		o.Residents = DefaultResidents
	}
	if o.Residents < MinResidents || o.Residents > MaxResidents {
		return o, fmt.Errorf("demo: residents must be between %d and %d, not %d", MinResidents, MaxResidents, o.Residents)
	}
	return o, nil
}

// Account is a demo login to print: the phone, the role granted and who it is, in Chinese.
type Account struct {
	Phone string
	Role  string
	Who   string
}

// Info describes the demo town.
type Info struct {
	TownID    int64
	Town      string
	Villages  int
	Residents int
	Accounts  []Account
	// SecondTownID is 西集镇's id when Options.SecondTown built it, else 0. Villages, Residents and
	// Accounts count the first town only.
	SecondTownID int64
}

// The demo accounts' phones.
const (
	PhoneTownAdmin     = "13900000001"
	PhoneVillageAdmin  = "13900000002"
	PhoneVillageAdmin2 = "13900000003"
	PhoneSchoolAdmin   = "13900000010" // 潞城镇党建办: manages 微党校
	PhoneResident      = "13900000011"
	PhonePartyMember   = "13900000012"
	PhoneExpert        = "13900000013" // 微党校专家, linked to the expert ExpertName by the School step
	PhoneDepartment    = "13900000014" // 通州区水务局's head login, made by the Consult step
	PhoneCareMember    = "13900000015" // a 贴心服务队 cadre, made by the Consult step
)

// The second town (Options.SecondTown) and its accounts' phones.
const (
	SecondTownName = "西集镇"
	SecondTownCode = "110112110"

	PhoneDistrictAdmin = "13900000020" // 区级管理员, over both towns
	PhoneTownAdmin2    = "13900000021" // 西集镇 镇级管理员
	PhoneVillageAdmin3 = "13900000022" // 西集村 村级管理员
	PhoneResident3     = "13900000023" // 西集村 村民
)

// secondVillages are the second town's villages, with how many households each has.
var secondVillages = []struct {
	name       string
	households int
}{{"西集村", 3}, {"沙古堆村", 2}}

// SecondTownAccounts lists the accounts Options.SecondTown adds; all have the password DemoPassword.
func SecondTownAccounts() []Account {
	return []Account{
		{PhoneDistrictAdmin, string(auth.DistrictAdmin), "区级管理员"},
		{PhoneTownAdmin2, string(auth.TownAdmin), SecondTownName + " 镇级管理员"},
		{PhoneVillageAdmin3, string(auth.VillageAdmin), secondVillages[0].name + " 村级管理员"},
		{PhoneResident3, string(auth.ResidentRole), secondVillages[0].name + " 村民"},
	}
}

// reservedPhones is the prefix of the demo accounts' phones, never given to a generated resident.
const reservedPhones = "139000000"

// Accounts lists the demo accounts; all have the password DemoPassword.
func Accounts() []Account {
	return []Account{
		{PhoneTownAdmin, string(auth.TownAdmin), TownName + " 镇级管理员"},
		{PhoneVillageAdmin, string(auth.VillageAdmin), villageNames[0] + " 村级管理员"},
		{PhoneVillageAdmin2, string(auth.VillageAdmin), villageNames[1] + " 村级管理员"},
		{PhoneSchoolAdmin, string(auth.SchoolAdmin), TownName + " 党建办（微党校管理员）"},
		{PhoneResident, string(auth.ResidentRole), villageNames[0] + " 村民"},
		{PhonePartyMember, string(auth.ResidentRole), villageNames[0] + " 党员"},
		{PhoneExpert, string(auth.Expert), "微党校专家 " + ExpertName},
	}
}

// StepAccounts are the demo logins the pillars' steps make (Ensure makes Accounts): 微协商's
// department head and care-team cadre, 微联盟's unit liaison and alliance admin.
func StepAccounts() []Account {
	return append([]Account{
		{PhoneDepartment, string(auth.DeptResponder), "通州区水务局（微协商 职能部门负责人）"},
		{PhoneCareMember, string(auth.CareTeam), "贴心服务队队员 高建华"},
	}, append(allianceAccounts(), contestAccounts()...)...)
}

// Step gives the demo town one pillar's data: rules, records and some history, built through the
// pillar's own services. A step does nothing when the town has its data already, so running the
// demo again changes nothing. The server lists the steps in its wiring, one per pillar.
type Step func(ctx context.Context, d *db.DB, ps *people.Service, info Info, seed int64) error

// Ensure returns the demo town, building it first if there is no town named 潞城镇. An existing
// town is left as it is, whatever the options. The town is built in one transaction, so a failed
// build leaves nothing behind.
func Ensure(ctx context.Context, d *db.DB, ps *people.Service, as *auth.Service, o Options) (Info, error) {
	o, err := o.normalize()
	if err != nil {
		return Info{}, err
	}
	if t, err := ps.TownByName(ctx, TownName); err == nil {
		return reopen(ctx, d, t)
	} else if !errs.Is(err, errs.NotFound) {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	// Hashing is slow on purpose: once, outside the transaction, for all seven accounts.
	hash := auth.HashPassword(DemoPassword)
	p := plan(o)
	var info Info
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		info, err = p.insert(ctx, tx, ps, as, hash)
		return err
	})
	if errs.Is(err, errs.Conflict) {
		// Another process built it at the same moment: use theirs.
		if t, terr := ps.TownByName(ctx, TownName); terr == nil {
			return reopen(ctx, d, t)
		}
	}
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	return info, nil
}

// reopen describes an existing demo town.
func reopen(ctx context.Context, d *db.DB, t people.Town) (Info, error) {
	info := Info{TownID: t.ID, Town: t.Name}
	q := d.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM villages WHERE town_id = $1`, t.ID).Scan(&info.Villages); err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE town_id = $1 AND status = 'active'`, t.ID).Scan(&info.Residents); err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	err := q.QueryRowContext(ctx, `SELECT id FROM towns WHERE name = $1`, SecondTownName).Scan(&info.SecondTownID)
	if err != nil && !db.IsNoRows(err) {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	for _, a := range slices.Concat(Accounts(), StepAccounts()) {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE phone = $1`, a.Phone).Scan(&n); err != nil {
			return Info{}, fmt.Errorf("demo: %w", err)
		}
		if n > 0 {
			info.Accounts = append(info.Accounts, a)
		}
	}
	return info, nil
}

// ---- the plan: everything drawn from the seed, before any date or database is involved

type person struct {
	surname  string
	name     string
	gender   people.Gender
	age      int // whole years on the reference day
	days     int // 1–365: how long before the reference day the last birthday was
	seq      int // 0–499: the 身份证号 sequence, before the gender digit
	relation string
	party    bool
	tags     []people.CareTag
	phone    string
}

type household struct {
	number, address string
	members         []*person
}

type village struct {
	name, code string
	households []*household
}

type town struct {
	villages []*village
	// resident and party are the people of 前疃村 behind the demo resident accounts; in the
	// second town, resident is 西集村's.
	resident, party *person
	second          *town // 西集镇, with Options.SecondTown
}

// generator draws the town from one PCG stream; the order of draws is the town.
type generator struct {
	r      *rand.Rand
	clan   [2]string
	phones map[string]bool
}

func plan(o Options) *town {
	g := &generator{r: rand.New(rand.NewPCG(uint64(o.Seed), pcgStream)), phones: map[string]bool{}}
	t := &town{}
	sizes := g.villageSizes(o.Residents)
	for i, name := range villageNames {
		v := &village{name: name, code: fmt.Sprintf("%03d", i+1)}
		if c, ok := clans[name]; ok {
			g.clan = c
		} else {
			g.clan = [2]string{g.commonSurname(), g.commonSurname()}
		}
		for left := sizes[i]; left > 0; {
			h := g.household(left)
			n := len(v.households) + 1
			h.number = fmt.Sprintf("%s-%04d", v.code, n)
			h.address = fmt.Sprintf("%s %d 排 %d 号", name, (n-1)/12+1, (n-1)%12+1)
			v.households = append(v.households, h)
			left -= len(h.members)
		}
		t.villages = append(t.villages, v)
	}
	t.pickDemoResidents()
	if o.SecondTown {
		t.second = g.secondTown(o.Seed)
	}
	return t
}

// secondTown draws 西集镇 from a stream of its own, so that the first town is the same with or
// without it; the set of phones drawn is shared, so that no two people of the district share one.
func (g *generator) secondTown(seed int64) *town {
	g2 := &generator{r: rand.New(rand.NewPCG(uint64(seed), pcgStream+1)), phones: g.phones}
	t := &town{}
	for i, sv := range secondVillages {
		v := &village{name: sv.name, code: fmt.Sprintf("%03d", i+1)}
		g2.clan = [2]string{g2.commonSurname(), g2.commonSurname()}
		for n := 1; n <= sv.households; n++ {
			h := g2.household(6)
			h.number = fmt.Sprintf("%s-%04d", v.code, n)
			h.address = fmt.Sprintf("%s %d 排 %d 号", sv.name, (n-1)/12+1, (n-1)%12+1)
			v.households = append(v.households, h)
		}
		t.villages = append(t.villages, v)
	}
	// Every household's head is an adult: 西集村's first one is the demo resident.
	t.resident = t.villages[0].households[0].members[0]
	t.resident.phone = PhoneResident3
	return t
}

// villageSizes shares n residents among the villages at random: 前疃村 and 东堡村, where the demo
// accounts work, tend to be larger, and 前疃村 always has enough people for two households and
// the two demo residents.
func (g *generator) villageSizes(n int) []int {
	k := len(villageNames)
	w := make([]float64, k)
	mins := make([]int, k)
	for i := range w {
		w[i] = 0.6 + 0.8*g.r.Float64()
		mins[i] = 2
	}
	w[0], w[1] = w[0]*1.6, w[1]*1.3
	mins[0] = 8
	var sumW float64
	rest := n
	for i := range w {
		sumW += w[i]
		rest -= mins[i]
	}
	sizes := make([]int, k)
	frac := make([]float64, k)
	given := 0
	for i := range w {
		share := float64(rest) * w[i] / sumW
		sizes[i] = mins[i] + int(share)
		frac[i] = share - math.Floor(share)
		given += int(share)
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case frac[a] > frac[b]:
			return -1
		case frac[a] < frac[b]:
			return 1
		}
		return 0
	})
	for i := 0; given < rest; i, given = i+1, given+1 {
		sizes[order[i%k]]++
	}
	return sizes
}

func (g *generator) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

// commonSurname favours the front of the list, as real surnames do.
func (g *generator) commonSurname() string {
	return surnames[int(float64(len(surnames))*math.Pow(g.r.Float64(), 1.8))]
}

// surname is a village household's: often one of the village's big surnames.
func (g *generator) surname() string {
	switch u := g.r.Float64(); {
	case u < 0.3:
		return g.clan[0]
	case u < 0.45:
		return g.clan[1]
	}
	return g.commonSurname()
}

// given picks a given name in fashion when a person of this age was born.
func (g *generator) given(gender people.Gender, age int) string {
	e := eraYoung
	switch {
	case age >= 66:
		e = eraOld
	case age >= 36:
		e = eraMid
	}
	sex := 0
	if gender == people.Female {
		sex = 1
	}
	l := givenNames[e][sex]
	if g.chance(0.2) {
		return l.one[g.r.IntN(len(l.one))]
	}
	return l.two[g.r.IntN(len(l.two))]
}

func (g *generator) person(surname string, gender people.Gender, age int, relation string) *person {
	age = min(max(age, 0), 98)
	// Ages are on 1 January; keep anyone from turning 18 or 80 later in the year, so that the
	// member class and the 高龄 tag hold until the next year.
	switch age {
	case 17:
		age = 16
	case 79:
		age = 80
	}
	return &person{surname: surname, name: surname + g.given(gender, age), gender: gender, age: age, days: g.between(1, 365),
		seq: g.r.IntN(500), relation: relation}
}

func (g *generator) gender(pMale float64) people.Gender {
	if g.chance(pMale) {
		return people.Male
	}
	return people.Female
}

func other(gd people.Gender) people.Gender {
	if gd == people.Male {
		return people.Female
	}
	return people.Male
}

// child is a son or daughter (or grandson, granddaughter) with the family's surname.
func (g *generator) child(surname string, age int, grand bool) *person {
	gd := g.gender(0.52)
	rel := "儿子"
	switch {
	case grand && gd == people.Male:
		rel = "孙子"
	case grand:
		rel = "孙女"
	case gd == people.Female:
		rel = "女儿"
	}
	return g.person(surname, gd, age, rel)
}

// childAge is the age of a child born when the mother was 22 to 34, or younger than the mother
// is past 22.
func (g *generator) childAge(mother int) int {
	if a := mother - g.between(22, 34); a >= 0 {
		return a
	}
	return g.between(0, max(mother-22, 0))
}

// Household kinds, with how often each is drawn.
const (
	loneElder   = iota // 独居老人
	single             // 单身
	elderCouple        // 老两口
	couple             // 夫妻
	nuclear            // 夫妻和子女
	withParents        // 三代同堂: 户主 with spouse, children and own parents
	elderHead          // 三代同堂: elderly 户主, son, daughter-in-law, grandchildren
	skipGen            // 隔代: grandparents raising grandchildren while the parents work away
)

var kindWeights = []int{loneElder: 10, single: 6, elderCouple: 15, couple: 9, nuclear: 26, withParents: 10, elderHead: 16, skipGen: 8}

// household draws a household of at most limit members, head first.
func (g *generator) household(limit int) *household {
	total := 0
	for _, w := range kindWeights {
		total += w
	}
	kind, x := 0, g.r.IntN(total)
	for x >= kindWeights[kind] {
		x -= kindWeights[kind]
		kind++
	}
	sn := g.surname()
	var m []*person
	add := func(p *person) { m = append(m, p) }
	spouse := func(head *person, lo, hi int) *person {
		return g.person(g.commonSurname(), other(head.gender), head.age+g.between(lo, hi), "配偶")
	}
	switch kind {
	case loneElder:
		add(g.person(sn, g.gender(0.4), 60+int(35*math.Pow(g.r.Float64(), 1.3)), "户主"))
	case single:
		add(g.person(sn, g.gender(0.7), g.between(22, 59), "户主"))
	case elderCouple:
		h := g.person(sn, g.gender(0.9), g.between(60, 88), "户主")
		add(h)
		add(spouse(h, -5, 2))
	case couple:
		h := g.person(sn, g.gender(0.85), g.between(24, 59), "户主")
		add(h)
		add(spouse(h, -4, 3))
	case nuclear, withParents:
		h := g.person(sn, g.gender(0.85), g.between(28, 60), "户主")
		add(h)
		s := spouse(h, -4, 3)
		add(s)
		father := h.surname
		if h.gender == people.Female {
			father = s.surname
		}
		young := min(h.age, s.age)
		for range g.between(1, 2) + b2i(g.chance(0.08)) {
			add(g.child(father, g.childAge(young), false))
		}
		if kind == withParents {
			pa := h.age + g.between(22, 34)
			if g.chance(0.7) {
				add(g.person(h.surname, people.Male, pa, "父亲"))
			}
			if g.chance(0.8) {
				add(g.person(g.commonSurname(), people.Female, pa+g.between(-4, 1), "母亲"))
			}
		}
	case elderHead:
		h := g.person(sn, g.gender(0.8), g.between(58, 82), "户主")
		add(h)
		if h.gender == people.Male && g.chance(0.75) {
			add(spouse(h, -5, 2))
		}
		family := sn
		if h.gender == people.Female {
			family = g.surname() // the late husband's
		}
		son := g.person(family, people.Male, h.age-g.between(22, 34), "儿子")
		add(son)
		add(g.person(g.commonSurname(), people.Female, son.age+g.between(-4, 2), "儿媳"))
		for range g.between(0, 2) {
			add(g.child(family, g.childAge(son.age), true))
		}
	case skipGen:
		h := g.person(sn, g.gender(0.75), g.between(52, 75), "户主")
		add(h)
		if g.chance(0.8) {
			add(spouse(h, -5, 2))
		}
		family := sn
		if h.gender == people.Female {
			family = g.surname()
		}
		for range g.between(1, 2) {
			c := g.child(family, g.between(0, min(15, h.age-40)), true)
			if g.chance(0.7) {
				c.tags = append(c.tags, people.LeftBehind)
			}
			add(c)
		}
	}
	if limit = min(limit, 6); len(m) > limit {
		m = m[:limit]
	}
	g.decorate(m)
	return &household{members: m}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// partyShare is the share of adults who are party members, younger ones fewer and older ones more
// (partyByAge): about one adult in five, so that the article's 20,000-resident town has the more
// than 3,000 party members its 微党校 reached.
const partyShare = 0.20

// partyByAge weighs partyShare by age: under 30, 30 to 59, 60 and over.
var partyByAge = [3]float64{0.5, 0.97, 1.2}

// decorate draws party membership, care tags and phones, which depend on age and household.
func (g *generator) decorate(m []*person) {
	alone := len(m) == 1
	poor := g.chance(0.03) || (alone && m[0].age >= 60 && g.chance(0.06))
	for i, p := range m {
		switch {
		case p.age < 18:
		case p.age < 30:
			p.party = g.chance(partyShare * partyByAge[0])
		case p.age < 60:
			p.party = g.chance(partyShare * partyByAge[1])
		default:
			p.party = g.chance(partyShare * partyByAge[2])
		}
		if p.age >= 80 {
			p.tags = append(p.tags, people.Elderly)
		}
		if alone && p.age >= 60 {
			p.tags = append(p.tags, people.LivesAlone)
			if g.chance(0.35) {
				p.tags = append(p.tags, people.Childless)
			}
		}
		if p.age >= 18 && (g.chance(0.025) || p.age >= 60 && g.chance(0.025)) {
			p.tags = append(p.tags, people.Disabled)
		}
		if poor && i == 0 {
			p.tags = append(p.tags, people.LowIncome)
		}
		var pPhone float64
		switch {
		case p.age < 14:
		case p.age < 18:
			pPhone = 0.35
		case p.age < 70:
			pPhone = 0.93
		case p.age < 80:
			pPhone = 0.55
		default:
			pPhone = 0.2
		}
		if g.chance(pPhone) {
			p.phone = g.phone()
		}
	}
}

// phone draws a mobile number no one else in the town has and outside the demo accounts' range.
func (g *generator) phone() string {
	for {
		n := phonePrefixes[g.r.IntN(len(phonePrefixes))] + fmt.Sprintf("%08d", g.r.IntN(100_000_000))
		if !g.phones[n] && !strings.HasPrefix(n, reservedPhones) {
			g.phones[n] = true
			return n
		}
	}
}

// pickDemoResidents chooses the two people of 前疃村 behind the demo resident accounts: an adult
// villager who is not a party member, and a party member of another household.
func (t *town) pickDemoResidents() {
	v := t.villages[0]
	var home *household
	find := func(ok func(*person) bool, skip *household) (*person, *household) {
		for _, h := range v.households {
			if h == skip {
				continue
			}
			for _, p := range h.members {
				if ok(p) {
					return p, h
				}
			}
		}
		return nil, nil
	}
	t.resident, home = find(func(p *person) bool { return p.age >= 25 && p.age <= 60 && len(p.tags) == 0 }, nil)
	if t.resident == nil {
		t.resident, home = v.households[0].members[0], v.households[0]
	}
	t.resident.party = false
	t.resident.phone = PhoneResident
	for _, ok := range []func(*person) bool{
		func(p *person) bool { return p.party },
		func(p *person) bool { return p.age >= 25 && p.age <= 70 },
		func(p *person) bool { return p.age >= 18 },
	} {
		if t.party, _ = find(ok, home); t.party != nil {
			break
		}
	}
	t.party.party = true
	t.party.phone = PhonePartyMember
}

// ---- dates, ID numbers and the database

// idNumbers gives everyone a birth date and a unique 身份证号. ref is 1 January of the town's
// current year: ages hold all year, and everything drawn from the seed stays the same.
// used holds the numbers already given, in another town of the district.
func (t *town) idNumbers(ref time.Time, used map[string]bool) map[*person]string {
	out := map[*person]string{}
	for _, v := range t.villages {
		for _, h := range v.households {
			for _, p := range h.members {
				birth := ref.AddDate(-p.age, 0, -p.days)
				seq := p.seq * 2
				if p.gender == people.Male {
					seq++
				}
				first := ""
				for {
					first = fmt.Sprintf("%s%s%03d", AreaCode, birth.Format("20060102"), seq)
					if !used[first] {
						break
					}
					seq = (seq + 2) % 1000
				}
				used[first] = true
				out[p] = first + string(people.IDCheckChar(first))
			}
		}
	}
	return out
}

func (t *town) insert(ctx context.Context, tx *sql.Tx, ps *people.Service, as *auth.Service, hash string) (Info, error) {
	tw, err := ps.InsertTown(ctx, tx, people.TownInput{Code: TownCode, Name: TownName})
	if err != nil {
		return Info{}, err
	}
	today := tw.Today(ps.Now())
	ref, used := time.Date(today.Year(), 1, 1, 0, 0, 0, 0, time.UTC), map[string]bool{}
	info := Info{TownID: tw.ID, Town: tw.Name, Accounts: Accounts()}
	villages, residentIDs, n, err := t.insertVillages(ctx, tx, ps, tw, t.idNumbers(ref, used), today)
	if err != nil {
		return Info{}, err
	}
	info.Residents = n
	info.Villages = len(villages)
	qt, dp := villages[0], villages[1]
	staff := []struct {
		phone, name string
		grant       auth.Grant
	}{
		{PhoneTownAdmin, TownName + "管理员", auth.Grant{Role: auth.TownAdmin, TownID: tw.ID}},
		{PhoneVillageAdmin, qt.Name + "管理员", auth.Grant{Role: auth.VillageAdmin, TownID: tw.ID, VillageID: qt.ID}},
		{PhoneVillageAdmin2, dp.Name + "管理员", auth.Grant{Role: auth.VillageAdmin, TownID: tw.ID, VillageID: dp.ID}},
		{PhoneSchoolAdmin, TownName + "党建办", auth.Grant{Role: auth.SchoolAdmin, TownID: tw.ID}},
		{PhoneExpert, ExpertName, auth.Grant{Role: auth.Expert, TownID: tw.ID}},
	}
	for _, s := range staff {
		id, err := as.InsertAccount(ctx, tx, s.phone, s.name, 0, hash, false)
		if err != nil {
			return Info{}, fmt.Errorf("account %s: %w", s.phone, err)
		}
		if err := as.InsertGrant(ctx, tx, id, s.grant); err != nil {
			return Info{}, fmt.Errorf("account %s: %w", s.phone, err)
		}
	}
	for _, p := range []*person{t.resident, t.party} {
		id, err := as.InsertAccount(ctx, tx, p.phone, p.name, residentIDs[p], hash, false)
		if err != nil {
			return Info{}, fmt.Errorf("account %s: %w", p.phone, err)
		}
		if err := as.InsertGrant(ctx, tx, id, auth.Grant{Role: auth.ResidentRole, TownID: tw.ID, VillageID: qt.ID}); err != nil {
			return Info{}, fmt.Errorf("account %s: %w", p.phone, err)
		}
	}
	if t.second != nil {
		if info.SecondTownID, err = t.second.insertSecond(ctx, tx, ps, as, hash, ref, used); err != nil {
			return Info{}, fmt.Errorf("%s: %w", SecondTownName, err)
		}
	}
	return info, nil
}

// insertVillages writes the town's villages, households and residents, and returns the villages,
// each person's resident id and how many residents there are.
func (t *town) insertVillages(ctx context.Context, tx *sql.Tx, ps *people.Service, tw people.Town, ids map[*person]string, today time.Time) ([]people.Village, map[*person]int64, int, error) {
	residentIDs := map[*person]int64{}
	var villages []people.Village
	n := 0
	for _, pv := range t.villages {
		v, err := ps.InsertVillage(ctx, tx, tw.ID, people.VillageInput{Name: pv.name, Code: pv.code})
		if err != nil {
			return nil, nil, 0, fmt.Errorf("village %s: %w", pv.name, err)
		}
		villages = append(villages, v)
		for _, h := range pv.households {
			for _, p := range h.members {
				tags := make([]string, len(p.tags))
				for i, tg := range p.tags {
					tags[i] = string(tg)
				}
				in := people.ResidentInput{VillageID: v.ID, HouseholdNumber: h.number, HouseholdAddress: h.address,
					Name: p.name, Gender: p.gender, BirthDate: ids[p][6:10] + "-" + ids[p][10:12] + "-" + ids[p][12:14],
					IDNumber: ids[p], Phone: p.phone, Relation: p.relation, PartyMember: p.party, CareTags: tags}
				idn, f := in.Validate(today)
				if err := f.Err(); err != nil {
					return nil, nil, 0, fmt.Errorf("resident %s of %s: %w", p.name, h.number, err)
				}
				r, err := ps.InsertResident(ctx, tx, v, in, idn)
				if err != nil {
					return nil, nil, 0, fmt.Errorf("resident %s of %s: %w", p.name, h.number, err)
				}
				residentIDs[p] = r.ID
				n++
			}
		}
	}
	return villages, residentIDs, n, nil
}

// insertSecond writes 西集镇 and its accounts, and the district admin's, and returns the town's id.
func (t *town) insertSecond(ctx context.Context, tx *sql.Tx, ps *people.Service, as *auth.Service, hash string, ref time.Time, used map[string]bool) (int64, error) {
	tw, err := ps.InsertTown(ctx, tx, people.TownInput{Code: SecondTownCode, Name: SecondTownName})
	if err != nil {
		return 0, err
	}
	villages, residentIDs, _, err := t.insertVillages(ctx, tx, ps, tw, t.idNumbers(ref, used), tw.Today(ps.Now()))
	if err != nil {
		return 0, err
	}
	xj := villages[0]
	accounts := []struct {
		phone, name string
		resident    int64
		grant       auth.Grant
	}{
		{PhoneDistrictAdmin, "区级管理员", 0, auth.Grant{Role: auth.DistrictAdmin}},
		{PhoneTownAdmin2, tw.Name + "管理员", 0, auth.Grant{Role: auth.TownAdmin, TownID: tw.ID}},
		{PhoneVillageAdmin3, xj.Name + "管理员", 0, auth.Grant{Role: auth.VillageAdmin, TownID: tw.ID, VillageID: xj.ID}},
		{PhoneResident3, t.resident.name, residentIDs[t.resident], auth.Grant{Role: auth.ResidentRole, TownID: tw.ID, VillageID: xj.ID}},
	}
	for _, a := range accounts {
		id, err := as.InsertAccount(ctx, tx, a.phone, a.name, a.resident, hash, false)
		if err != nil {
			return 0, fmt.Errorf("account %s: %w", a.phone, err)
		}
		if err := as.InsertGrant(ctx, tx, id, a.grant); err != nil {
			return 0, fmt.Errorf("account %s: %w", a.phone, err)
		}
	}
	return tw.ID, nil
}
