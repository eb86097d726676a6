package report

import (
	"strings"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/consult"
	"siwei/internal/flow"
	"siwei/internal/school"
	"siwei/internal/volunteer"
)

// Units a figure is counted in.
const (
	Count   = "count"
	Points  = "points"
	Hours   = "hours"
	Yuan    = "yuan"
	Percent = "percent"
	Score   = "score"
)

// The three rates of a flow (the kit's 响应率, 解决率, 满意率).
const (
	rateResponse     = "response"
	rateResolution   = "resolution"
	rateSatisfaction = "satisfaction"
)

// Def is the one definition of a figure: its key (its Chinese name is the message
// report.fig.<key>, what it counts report.what.<key>), the pillar it belongs to, its unit, the
// periods and scopes it accepts, and how it is computed: a count over a pillar's rows or per-period
// aggregate (from, agg and cond, grouped by the village or town column), a ratio of two other
// figures, or one of a flow's three rates.
type Def struct {
	Key      string   `json:"key"`
	Pillar   string   `json:"pillar"`
	Unit     string   `json:"unit"`
	Periods  []string `json:"periods"`
	Scopes   []string `json:"scopes"`
	Headline bool     `json:"headline,omitempty"`
	// Stock figures are counted as at the period's end (cards issued by then); the others over it.
	Stock bool `json:"stock,omitempty"`
	// Path is the list behind the figure, which shows the viewer's own scope.
	Path string `json:"path"`
	// Part marks a figure kept only as another's numerator or denominator: not shown.
	Part bool `json:"-"`
	// See is who may open the list behind it, when not every staff member who sees the figure
	// may (the dispute centre's lists are its staff's alone).
	See auth.Action `json:"-"`

	from, agg, den, cond string
	town, village        string // the columns of from that place a row
	distinct             bool   // agg counts people, who may appear in two groups
	// perPeriod is how the figure is counted from active_periods when the span is one of its
	// periods (a month, quarter, year, or to date): the same people, with an index.
	perPeriod   *Def
	num, denKey string
	scale       float64
	flow        *flow.Flow
	rate        string
}

var (
	flows    = []string{Month, Quarter, Year, ToDate}
	allScope = []string{Village, Town, District}
	noVill   = []string{Town, District}
	nowOnly  = []string{ToDate}
)

// count is a figure counted over rows.
func count(key, pillar, unit, path, from, agg, cond, town, village string) *Def {
	sc := allScope
	if village == "" {
		sc = noVill
	}
	return &Def{Key: key, Pillar: pillar, Unit: unit, Periods: flows, Scopes: sc, Path: path, from: from, agg: agg, cond: cond, town: town, village: village}
}

// stock is a count as at the period's end.
func stock(d *Def) *Def { d.Stock = true; return d }

// headline marks one of the article's figures.
func headline(d *Def) *Def { d.Headline = true; return d }

// distinct marks a count of people.
func distinct(d *Def) *Def { d.distinct = true; return d }

// periodic counts d from active_periods (whose :period is the span's) when the span is one of
// its periods, and by d's own query otherwise.
func periodic(d *Def, from, agg, cond, town, village string) *Def {
	d.perPeriod = &Def{Key: d.Key, from: from, agg: agg, cond: cond, town: town, village: village}
	return d
}

// part marks a figure kept for another's sake.
func part_(d *Def) *Def { d.Part = true; return d }

// ratio is num / den × scale, both other figures.
func ratio(key, pillar, unit, path, num, den string, scale float64) *Def {
	return &Def{Key: key, Pillar: pillar, Unit: unit, Path: path, num: num, denKey: den, scale: scale}
}

// rates are a flow's three rates over its orders in table from, placed by town and village.
func rates(prefix, pillar, path string, f *flow.Flow, from, town, village string) []*Def {
	var out []*Def
	for _, r := range []string{rateResponse, rateResolution, rateSatisfaction} {
		sc := allScope
		if village == "" {
			sc = noVill
		}
		out = append(out, &Def{Key: prefix + "." + r, Pillar: pillar, Unit: Percent, Periods: []string{Month, Quarter, Year}, Scopes: sc, Path: path,
			from: from, town: town, village: village, flow: f, rate: r, scale: 100})
	}
	return out
}

// activeClause is when a resident r counts as active from month :from to :to, where the span is
// not one of active_periods' periods: points earned, or an event of any pillar attended (the
// attendance kit's person-months).
const activeClause = `(EXISTS (SELECT 1 FROM bank_earnings e WHERE e.resident_id = r.id AND e.period >= :from AND e.period <= :to AND e.points > 0)
	OR EXISTS (SELECT 1 FROM attend_months m WHERE m.resident_id = r.id AND m.month >= :from AND m.month <= :to))`

// Defs are every figure, in the order the pages show them: the article's headline figures first,
// then each pillar's, the bank's, and participation.
var Defs = build()

// byKey finds a definition.
var byKey = map[string]*Def{}

func build() []*Def {
	// The activities of every pillar, each once, as the honours calendar counts them (全年全镇累计
	// 开展活动): 微志愿's shifts, 微党校's lessons, 微协商's meetings, 微联盟's activities and the
	// town's featured and brand actions, which are of a month.
	activities := `(SELECT town_id, village_id, starts_at AS at, '' AS month FROM volunteer_shifts
		UNION ALL SELECT town_id, village_id, starts_at, '' FROM school_lessons WHERE status <> 'cancelled'
		UNION ALL SELECT town_id, village_id, starts_at, '' FROM consult_meetings WHERE status <> 'cancelled'
		UNION ALL SELECT town_id, NULL, starts_at, '' FROM alliance_activities WHERE status <> 'cancelled'
		UNION ALL SELECT town_id, NULL, NULL, month FROM honours_actions WHERE status = 'published') x`
	defs := []*Def{
		// The article's figures.
		headline(stock(count("bank.cards", "bank", Count, "/admin/bank/cards", `bank_cards c JOIN residents r ON r.id = c.resident_id`, `COUNT(*)`, `c.issued_at < :end`, "r.town_id", "r.village_id"))),
		headline(stock(count("people.users", "people", Count, "/admin/accounts", `accounts a JOIN residents r ON r.id = a.resident_id`, `COUNT(*)`, `a.created_at < :end`, "r.town_id", "r.village_id"))),
		headline(stock(count("bank.points", "bank", Points, "/admin/bank/ledger", `bank_earnings e`, `COALESCE(SUM(e.points), 0)`, `e.period <= :to`, "e.town_id", "e.village_id"))),
		headline(stock(count("honours.wall", "honours", Count, "/admin/honours/wall", `honours_wall w`, `COUNT(*)`, `w.created_at < :end`, "w.town_id", "w.village_id"))),
		headline(count("activities", "honours", Count, "/admin/honours/calendar", activities, `COUNT(*)`,
			`((x.at >= :start AND x.at < :end) OR (x.month >= :from AND x.month <= :to))`, "x.town_id", "x.village_id")),
		headline(stock(count("alliance.units", "alliance", Count, "/admin/alliance/units", `alliance_units u`, `COUNT(*)`, `u.active AND u.created_at < :end`, "u.town_id", ""))),
		headline(count("alliance.activities", "alliance", Count, "/admin/alliance/activities", `alliance_activities a`, `COUNT(*)`,
			`a.status <> 'cancelled' AND a.starts_at >= :start AND a.starts_at < :end`, "a.town_id", "")),
		headline(count("alliance.person_times", "alliance", Count, "/admin/alliance/activities", `alliance_activities a`, `COALESCE(SUM(a.served), 0)`,
			`a.status = 'closed' AND a.starts_at >= :start AND a.starts_at < :end`, "a.town_id", "")),
		headline(count("consult.meetings", "consult", Count, "/admin/consult/meetings", `consult_meetings m`, `COUNT(*)`,
			`m.status = 'closed' AND m.starts_at >= :start AND m.starts_at < :end`, "m.town_id", "m.village_id")),
		headline(count("consult.answered", "consult", Count, "/admin/consult/referrals", `consult_referrals f`, `COUNT(*)`,
			`f.status IN ('done', 'rated') AND f.created_at >= :start AND f.created_at < :end`, "f.town_id", "f.village_id")),
		headline(count("disputes.consultations", "alliance", Count, "/admin/disputes/consultations", `dispute_consultations c`, `COUNT(*)`,
			`c.status = 'answered' AND c.day >= :d1 AND c.day <= :d2`, "c.town_id", "c.village_id")),
		headline(count("disputes.filed", "alliance", Count, "/admin/disputes/cases", `dispute_cases c`, `COUNT(*)`,
			`c.status = 'filed' AND c.created_at >= :start AND c.created_at < :end`, "c.town_id", "c.village_id")),
		headline(distinct(count("school.party_reached", "school", Count, "/admin/school/coverage", `attend_months m`, `COUNT(DISTINCT m.resident_id)`,
			`m.kind = '`+school.LessonKind+`' AND m.party AND m.month >= :from AND m.month <= :to`, "m.town_id", "m.village_id"))),
		headline(stock(count("school.experts", "school", Count, "/admin/school/experts", `school_experts x`, `COUNT(*)`,
			`x.created_at < :end AND (x.retired_at IS NULL OR x.retired_at >= :end)`, "x.town_id", ""))),

		// 微志愿.
		stock(count("volunteer.volunteers", "volunteer", Count, "/admin/volunteer/volunteers", `volunteers v`, `COUNT(*)`, `v.created_at < :end`, "v.town_id", "v.village_id")),
		count("volunteer.hours", "volunteer", Hours, "/admin/volunteer/figures", `volunteer_signups s JOIN volunteer_shifts h ON h.id = s.shift_id`, `CAST(COALESCE(SUM(s.minutes), 0) AS DOUBLE PRECISION) / 60`,
			`s.status = 'attended' AND h.starts_at >= :start AND h.starts_at < :end`, "h.town_id", "h.village_id"),
		count("volunteer.shifts", "volunteer", Count, "/admin/volunteer/posts", `volunteer_shifts h`, `COUNT(*)`, `h.starts_at >= :start AND h.starts_at < :end`, "h.town_id", "h.village_id"),
		count("volunteer.needs", "volunteer", Count, "/admin/volunteer/needs", `volunteer_needs n`, `COUNT(*)`, `n.created_at >= :start AND n.created_at < :end`, "n.town_id", "n.village_id"),
	}
	defs = append(defs, rates("volunteer.needs", "volunteer", "/admin/volunteer/needs", volunteer.NeedFlow, "volunteer_needs", "town_id", "village_id")...)
	defs = append(defs,
		// 微党校.
		count("school.lessons", "school", Count, "/admin/school/orders", `school_lessons l`, `COUNT(*)`,
			`l.status <> 'cancelled' AND l.starts_at >= :start AND l.starts_at < :end`, "l.town_id", "l.village_id"),
		part_(stock(count("people.party_members", "people", Count, "/admin/residents", `residents r`, `COUNT(*)`, `r.status = 'active' AND r.party_member`, "r.town_id", "r.village_id"))),
		ratio("school.coverage", "school", Percent, "/admin/school/coverage", "school.party_reached", "people.party_members", 100),
		&Def{Key: "school.rating", Pillar: "school", Unit: Score, Periods: flows, Scopes: allScope, Path: "/admin/school/coverage",
			from: `school_ratings t JOIN school_lessons l ON l.id = t.lesson_id`, agg: `COALESCE(SUM(t.rating), 0)`, den: `COUNT(*)`, scale: 1,
			cond: `l.starts_at >= :start AND l.starts_at < :end`, town: "l.town_id", village: "l.village_id"},

		// 微协商.
		count("consult.topics", "consult", Count, "/admin/consult/topics", `consult_topics t`, `COUNT(*)`, `t.created_at >= :start AND t.created_at < :end`, "t.town_id", "t.village_id"),
		count("consult.referrals", "consult", Count, "/admin/consult/referrals", `consult_referrals f`, `COUNT(*)`, `f.created_at >= :start AND f.created_at < :end`, "f.town_id", "f.village_id"),
	)
	defs = append(defs, rates("consult.referrals", "consult", "/admin/consult/figures", consult.ReferralFlow, "consult_referrals", "town_id", "village_id")...)
	defs = append(defs,
		count("consult.visits", "consult", Count, "/admin/consult/visits", `consult_visits v`, `COUNT(*)`, `v.visited_on >= :d1 AND v.visited_on <= :d2`, "v.town_id", "v.village_id"),

		// 微联盟.
		count("alliance.projects", "alliance", Count, "/admin/alliance/projects", `alliance_projects p`, `COUNT(*)`,
			`p.status <> 'declined' AND p.created_at >= :start AND p.created_at < :end`, "p.town_id", "p.village_id"),
		count("alliance.donations", "alliance", Yuan, "/admin/alliance/donations", `alliance_donations d`, `COALESCE(SUM(d.money_yuan), 0)`,
			`d.donated_on >= :d1 AND d.donated_on <= :d2`, "d.town_id", ""),
	)
	defs = append(defs, rates("alliance.projects", "alliance", "/admin/alliance/figures", alliance.ProjectFlow, "alliance_projects", "town_id", "village_id")...)
	defs = append(defs,
		// 文明银行.
		count("bank.issued", "bank", Points, "/admin/bank/ledger", `bank_earnings e`, `COALESCE(SUM(e.points), 0)`, `e.period >= :from AND e.period <= :to`, "e.town_id", "e.village_id"),
		count("bank.redeemed", "bank", Points, "/admin/bank/orders", `bank_redemptions o JOIN residents r ON r.id = o.resident_id`, `COALESCE(SUM(o.points), 0)`,
			`o.status <> 'cancelled' AND o.created_at >= :start AND o.created_at < :end`, "r.town_id", "o.village_id"),
		&Def{Key: "bank.outstanding", Pillar: "bank", Unit: Points, Periods: nowOnly, Scopes: allScope, Stock: true, Path: "/admin/bank/ledger",
			from: `bank_accounts b`, agg: `COALESCE(SUM(b.balance), 0)`, cond: `b.kind = 'resident'`, town: "b.town_id", village: "b.village_id"},
		periodic(distinct(count("bank.active", "bank", Count, "/admin/bank/ledger", `bank_earnings e`, `COUNT(DISTINCT e.resident_id)`,
			`e.points > 0 AND e.period >= :from AND e.period <= :to`, "e.town_id", "e.village_id")),
			`active_periods a`, `COUNT(*)`, `a.period = :period AND a.earned`, "a.town_id", "a.village_id"),
		count("bank.claims", "bank", Count, "/admin/bank/claims", `bank_claims c`, `COUNT(*)`, `c.created_at >= :start AND c.created_at < :end`, "c.town_id", "c.village_id"),
		count("bank.objections", "bank", Count, "/admin/bank/claims", `bank_objections o JOIN bank_claims c ON c.id = o.claim_id`, `COUNT(*)`,
			`o.created_at >= :start AND o.created_at < :end`, "c.town_id", "c.village_id"),
		count("bank.orders", "bank", Count, "/admin/bank/orders", `bank_redemptions o JOIN residents r ON r.id = o.resident_id`, `COUNT(*)`,
			`o.status <> 'cancelled' AND o.created_at >= :start AND o.created_at < :end`, "r.town_id", "o.village_id"),

		// Participation: residents active in any pillar (who earned points, or attended a lesson,
		// a meeting or an activity), of the residents now registered.
		stock(count("people.residents", "people", Count, "/admin/residents", `residents r`, `COUNT(*)`, `r.status = 'active'`, "r.town_id", "r.village_id")),
		periodic(distinct(count("people.active", "people", Count, "/admin/residents", `residents r`, `COUNT(*)`, `r.status = 'active' AND `+activeClause, "r.town_id", "r.village_id")),
			`residents r JOIN active_periods a ON a.resident_id = r.id`, `COUNT(*)`, `r.status = 'active' AND a.period = :period`, "r.town_id", "r.village_id"),
		ratio("people.participation", "people", Percent, "/admin/residents", "people.active", "people.residents", 100),
	)
	for _, d := range defs {
		switch {
		case strings.HasPrefix(d.Key, "disputes."):
			d.See = alliance.PermDispute
		case strings.HasPrefix(d.Path, "/admin/consult/figures"), d.Path == "/admin/consult/visits":
			d.See = consult.PermManage
		case strings.HasPrefix(d.Path, "/admin/alliance/"):
			d.See = alliance.PermManage
		}
		if d.num != "" {
			d.Periods, d.Scopes = flows, allScope
			if n := byKey[d.num]; n != nil && len(n.Scopes) < len(d.Scopes) {
				d.Scopes = n.Scopes
			}
		}
		byKey[d.Key] = d
	}
	return defs
}
