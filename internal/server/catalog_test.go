package server_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"siwei/internal/alliance"
	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/consult"
	"siwei/internal/flow"
	"siwei/internal/honours"
	"siwei/internal/people"
	"siwei/internal/report"
	"siwei/internal/school"
	"siwei/internal/server"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// loadCatalog is the app's whole catalog: web's messages and every pillar's, as App loads them.
func loadCatalog() (web.Catalog, error) {
	return server.Catalog()
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range web.Langs {
		for _, other := range web.Langs {
			for _, k := range c.Keys(lang) {
				if _, ok := c[other][k]; !ok {
					t.Errorf("%s has %q, %s does not", lang, k, other)
				}
				if strings.TrimSpace(c[other][k]) == "" {
					t.Errorf("%s: %q is empty", other, k)
				}
			}
		}
	}
}

// A family is the keys that code builds from a prefix and a value of the domain: (print
// "bank.claim_status." .Status) in a template, "bank.kind." + l.Kind in Go.
type family struct {
	prefix string   // as the code writes it
	key    string   // the keys' prefix, when it is not prefix (an audit action's label is "audit." + it)
	values []string // every value the code can put after the prefix
	from   string   // where the values come from, for the failure message
}

// families declares every prefix that keys are built from, each with the values it can take,
// taken from the domain: the pillars' exported lists and constants where they have them, else the
// schema's CHECK constraint on the column the value is stored in (see schemaValues), else a list
// here that is checked against the code that makes the values. A prefix built in code and not
// declared here fails TestEveryKeyUsedIsInTheCatalog.
func families(t *testing.T, audits []string) []family {
	t.Helper()
	str := func(xs ...any) []string {
		var out []string
		for _, x := range xs {
			switch x := x.(type) {
			case []string:
				out = append(out, x...)
			default:
				out = append(out, fmt.Sprint(x))
			}
		}
		return out
	}
	roles := str()
	for _, r := range auth.Roles {
		roles = append(roles, string(r))
	}
	care := str()
	for _, c := range people.CareTags {
		care = append(care, string(c))
	}
	kinds := str()
	for _, k := range volunteer.Kinds {
		kinds = append(kinds, string(k))
	}
	var needStates []string
	for _, s := range volunteer.NeedFlow.States {
		needStates = append(needStates, s.Name)
	}
	// An audit action's sentence is optional (the audit page falls back to who, the action's label
	// and the record); one written in zh-CN must be in every language.
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var sentences []string
	for _, a := range audits {
		if _, ok := cat[web.DefaultLang]["audit.sentence."+a]; ok && !slices.Contains(sentences, a) {
			sentences = append(sentences, a)
		}
	}
	periods := schemaValues(t, "bank_items", "limit_period")
	sameAs(t, "bank periods", periods, schemaValues(t, "bank_items", "capacity_period"), schemaValues(t, "bank_rules", "cap_period"))

	// The kinds of the bank's transactions are written as literals where each is made; there are
	// no constants. A kind the bank starts to make that is not here fails.
	txKinds := []string{"award", "claim", "redeem", "refund", "reversal"}
	within(t, "bank.Transfer kinds", txKinds, literalsOf(t, "../bank", fieldOf("Transfer", "Kind"), argOf("postAward", 4), argOf("awardTransfer", 3)))
	// How a sign-up's payment stands is worked out by awardNote, which returns these.
	payments := []string{"paid", "pending", "refused"}
	within(t, "volunteer awardNote", payments, literalsOf(t, "../volunteer", returnsOf("awardNote")))
	// A leader checks a volunteer in, out, or confirms the hours; CheckinInput.Action is one of
	// these literals, and the audit action is "volunteer.checkin." + it.
	checkins := []string{"in", "out", "confirm"}
	within(t, "volunteer CheckinInput.Action", checkins, literalsOf(t, "../volunteer", comparedTo("in", "Action")))

	claimStatuses := str(bank.ClaimPending, bank.ClaimNotice, bank.ClaimPosted, bank.ClaimRejected, bank.ClaimWithdrawn)
	sameAs(t, "bank claim statuses", claimStatuses, schemaValues(t, "bank_claims", "status"))
	cardStatuses := str(bank.CardActive, bank.CardLost)
	sameAs(t, "bank card statuses", cardStatuses, schemaValues(t, "bank_cards", "status"))
	classes := str(people.PartyMember, people.Villager, people.Minor)
	sameAs(t, "people classes", classes, schemaValues(t, "bank_rule_sets", "class"))
	signups := str(volunteer.Confirmed, volunteer.Waiting, volunteer.Cancelled, volunteer.Attended, volunteer.NoShow)
	sameAs(t, "volunteer sign-up statuses", signups, schemaValues(t, "volunteer_signups", "status"))
	statuses := str(people.Active, people.MovedOut, people.Deceased)
	sameAs(t, "resident statuses", statuses, schemaValues(t, "residents", "status"))
	genders := str(people.Male, people.Female)
	sameAs(t, "genders", genders, schemaValues(t, "residents", "gender"))
	sameAs(t, "need states", needStates, schemaValues(t, "volunteer_needs", "status"))
	sameAs(t, "team kinds", kinds, schemaValues(t, "volunteer_teams", "kind"))
	sameAs(t, "urgencies", volunteer.Urgencies, schemaValues(t, "volunteer_needs", "urgency"))

	courseStatuses, formats := str(), str()
	for _, st := range school.Statuses {
		courseStatuses = append(courseStatuses, string(st))
	}
	for _, f := range school.Formats {
		formats = append(formats, string(f))
	}
	sameAs(t, "school course statuses", courseStatuses, schemaValues(t, "school_courses", "status"))
	sameAs(t, "school course formats", formats, schemaValues(t, "school_courses", "format"))
	sameAs(t, "school order statuses", school.OrderStatuses, schemaValues(t, "school_orders", "status"))
	sameAs(t, "school order modes", school.Modes, schemaValues(t, "school_orders", "mode"), schemaValues(t, "school_lessons", "mode"))
	referralSteps := str("open")
	for _, a := range consult.ReferralFlow.Actions {
		if !slices.Contains(referralSteps, a.Name) {
			referralSteps = append(referralSteps, a.Name)
		}
	}
	orderSteps := str("open")
	for _, a := range school.OrderFlow.Actions {
		if !slices.Contains(orderSteps, a.Name) {
			orderSteps = append(orderSteps, a.Name)
		}
	}

	return []family{
		{prefix: "role.", values: roles, from: "auth.Roles"},
		{prefix: "class.", values: classes, from: "people.PartyMember, Villager, Minor"},
		{prefix: "status.", values: statuses, from: "people.Active, MovedOut, Deceased"},
		{prefix: "gender.", values: genders, from: "people.Male, Female"},
		{prefix: "care.", values: care, from: "people.CareTags"},
		{prefix: "audit.", values: audits, from: "every auth.AuditEntry Action in the code, and each flow's actions"},
		{prefix: "audit.sentence.", values: sentences, from: "the audit actions with a sentence in zh-CN"},
		{prefix: "audit.field.", values: people.AuditFields, from: "people.AuditFields"},

		{prefix: "bank.kind.", values: txKinds, from: "the bank's Transfer kinds"},
		{prefix: "bank.cap.", values: periods, from: "schema bank_items.limit_period"},
		{prefix: "bank.per.", values: periods, from: "schema bank_items.limit_period"},
		{prefix: "bank.places_left.", values: periods, from: "schema bank_items.capacity_period"},
		{prefix: "bank.places_per.", values: periods, from: "schema bank_items.capacity_period"},
		{prefix: "bank.card_status.", values: cardStatuses, from: "bank.CardActive, CardLost"},
		{prefix: "bank.item_kind.", values: schemaValues(t, "bank_items", "kind"), from: "schema bank_items.kind"},
		// "all" is the claims queue's tab for no filter (claimStatusTabs).
		{prefix: "bank.claim_status.", values: append(claimStatuses, "all"), from: "bank.Claim* constants"},
		{prefix: "bank.status.", values: schemaValues(t, "bank_redemptions", "status"), from: "schema bank_redemptions.status"},
		{prefix: "bank.objection_status.", values: schemaValues(t, "bank_objections", "status"), from: "schema bank_objections.status"},

		{prefix: "volunteer.kind.", values: kinds, from: "volunteer.Kinds"},
		{prefix: "volunteer.skill.", values: volunteer.Skills, from: "volunteer.Skills"},
		{prefix: "volunteer.category.", values: volunteer.CategoryList, from: "volunteer.CategoryList"},
		{prefix: "volunteer.urgency.", values: volunteer.Urgencies, from: "volunteer.Urgencies"},
		{prefix: "volunteer.need_status.", values: needStates, from: "volunteer.NeedFlow.States"},
		{prefix: "volunteer.status.", values: signups, from: "volunteer.Confirmed … NoShow"},
		{prefix: "volunteer.post_status.", values: schemaValues(t, "volunteer_posts", "status"), from: "schema volunteer_posts.status"},
		{prefix: "volunteer.source.", values: schemaValues(t, "volunteer_needs", "source"), from: "schema volunteer_needs.source"},
		{prefix: "volunteer.payment.", values: payments, from: "volunteer's awardNote"},
		// The post form offers the days of the week as (seq 7), Monday first.
		{prefix: "volunteer.weekday.", values: str(1, 2, 3, 4, 5, 6, 7), from: "ISO weekdays 1–7"},
		{prefix: "volunteer.checkin.", key: "audit.volunteer.checkin.", values: checkins, from: "volunteer CheckinInput.Action"},

		{prefix: "school.status.", values: courseStatuses, from: "school.Statuses"},
		{prefix: "consult.category.", values: consult.CategoryCodes, from: "consult.CategoryCodes"},
		{prefix: "consult.topic_status.", values: schemaValues(t, "consult_topics", "status"), from: "schema consult_topics.status"},
		{prefix: "consult.topic_source.", values: schemaValues(t, "consult_topics", "source"), from: "schema consult_topics.source"},
		{prefix: "consult.meeting.kind.", values: schemaValues(t, "consult_participants", "kind"), from: "schema consult_participants.kind"},
		{prefix: "consult.visit.rating.", values: str(consult.SatisfactionRatings[0], consult.SatisfactionRatings[1], consult.SatisfactionRatings[2]), from: "consult.SatisfactionRatings"},
		{prefix: "consult.referral.rating.", values: str(consult.SatisfactionRatings[0], consult.SatisfactionRatings[1], consult.SatisfactionRatings[2]), from: "consult.SatisfactionRatings"},
		{prefix: "consult.referral.satisfaction.", values: consult.Satisfactions, from: "consult.Satisfactions"},
		{prefix: "consult.referral.status.", values: schemaValues(t, "consult_referrals", "status"), from: "schema consult_referrals.status"},
		{prefix: "consult.referral.urgency.", values: schemaValues(t, "consult_referrals", "urgency"), from: "schema consult_referrals.urgency"},
		{prefix: "consult.department.level.", values: schemaValues(t, "consult_departments", "level"), from: "schema consult_departments.level"},
		{prefix: "consult.referral.did.", values: referralSteps, from: "consult.ReferralFlow's actions, and the kit's open"},
		{prefix: "consult.visit.kind.", values: schemaValues(t, "consult_visit_needs", "kind"), from: "schema consult_visit_needs.kind"},
		{prefix: "consult.care.status.", values: str(consult.CareOK, consult.CareDue, consult.CareOverdue), from: "the care schedule's statuses"},
		{prefix: "consult.meeting.reg.", values: schemaValues(t, "consult_registrations", "status"), from: "schema consult_registrations.status"},
		{prefix: "consult.meeting.level.", values: schemaValues(t, "consult_meetings", "level"), from: "schema consult_meetings.level"},
		{prefix: "consult.meeting.status.", values: schemaValues(t, "consult_meetings", "status"), from: "schema consult_meetings.status"},
		{prefix: "school.format.", values: formats, from: "school.Formats"},
		// The expert form offers the days of the week as school.Slot.Weekday, Monday first.
		{prefix: "school.weekday.", values: str(1, 2, 3, 4, 5, 6, 7), from: "ISO weekdays 1–7"},
		{prefix: "school.order_status.", values: school.OrderStatuses, from: "school.OrderStatuses"},
		{prefix: "school.lesson_status.", values: schemaValues(t, "school_lessons", "status"), from: "schema school_lessons.status"},
		{prefix: "school.mode.", values: school.Modes, from: "school.Modes"},
		// Only an order waiting for the town or for the expert has a due time (Act and PlaceOrder set it).
		{prefix: "school.order.due.", values: str(school.OrderOrdered, school.OrderAssigned), from: "the states of school.OrderFlow with a deadline"},
		{prefix: "school.order.overdue.", values: str(school.OrderOrdered, school.OrderAssigned), from: "the states of school.OrderFlow with a deadline"},
		{prefix: "school.order.did.", values: orderSteps, from: "school.OrderFlow's actions, and the kit's open"},
		{prefix: "school.rating.", values: str(1, 2, 3, 4, 5), from: "the ratings 1–5 (flow.Action.Rating)"},
		{prefix: "attend.method.", values: schemaValues(t, "attend_entries", "method")[1:], from: "schema attend_entries.method, less the empty one"},
		{prefix: "alliance.dispute.status.", values: schemaValues(t, "dispute_cases", "status"), from: "schema dispute_cases.status"},
		{prefix: "alliance.dispute.consult_status.", values: schemaValues(t, "dispute_consultations", "status"), from: "schema dispute_consultations.status"},
		{prefix: "alliance.dispute.kind.", values: disputeLists("kind"), from: "alliance.CaseKinds"},
		{prefix: "alliance.dispute.source.", values: disputeLists("source"), from: "alliance.CaseSources"},
		{prefix: "alliance.dispute.party.", values: disputeLists("party"), from: "alliance.PartyRoles"},
		{prefix: "alliance.dispute.team.", values: disputeLists("team"), from: "alliance.TeamRoles"},
		{prefix: "alliance.dispute.place.", values: disputeLists("place"), from: "alliance.SessionPlaces"},
		{prefix: "alliance.dispute.work.", values: disputeLists("work"), from: "alliance.SessionWork"},
		{prefix: "alliance.dispute.did.", values: disputeLists("steps"), from: "alliance.CaseFlow's actions, and the kit's open"},
		{prefix: "alliance.dispute.told.", values: disputeLists("actions"), from: "alliance.CaseFlow's actions"},
		{prefix: "flash.dispute_case.", values: disputeLists("actions"), from: "alliance.CaseFlow's actions"},
		{prefix: "alliance.unit.kind.", values: schemaValues(t, "alliance_units", "kind"), from: "schema alliance_units.kind (alliance.UnitKinds)"},
		{prefix: "alliance.kind.", values: alliance.ListKinds, from: "alliance.ListKinds"},
		{prefix: "alliance.need.source.", values: alliance.NeedSources, from: "alliance.NeedSources"},
		{prefix: "alliance.project.status.", values: alliance.ProjectStatuses, from: "alliance.ProjectStatuses"},
		{prefix: "alliance.project.did.", values: flowSteps(alliance.ProjectFlow), from: "alliance.ProjectFlow's actions, and the kit's open"},
		{prefix: "alliance.project.stars.", values: str(1, 2, 3, 4, 5), from: "the ratings 1–5 (flow.Action.Rating)"},
		{prefix: "alliance.activity.kind.", values: alliance.ActivityKinds, from: "alliance.ActivityKinds"},
		{prefix: "alliance.activity.status.", values: schemaValues(t, "alliance_activities", "status"), from: "schema alliance_activities.status"},
		{prefix: "honours.category.", values: honours.DefaultCategories, from: "honours.DefaultCategories"},
		{prefix: "honours.notice.kind.", values: schemaValues(t, "honours_notices", "kind"), from: "schema honours_notices.kind"},
		{prefix: "honours.notice.status.", values: schemaValues(t, "honours_notices", "status"), from: "schema honours_notices.status"},
		{prefix: "honours.objection.status.", values: schemaValues(t, "honours_objections", "status"), from: "schema honours_objections.status"},
		{prefix: "honours.nomination.status.", values: schemaValues(t, "honours_nominations", "status"), from: "schema honours_nominations.status"},
		{prefix: "honours.nomination.consent.", values: schemaValues(t, "honours_nominations", "consent"), from: "schema honours_nominations.consent"},
		{prefix: "honours.nomination.consent_by.", values: schemaValues(t, "honours_nominations", "consent_by")[1:], from: "schema honours_nominations.consent_by, less the empty one"},
		{prefix: "honours.action.kind.", values: honours.ActionKinds, from: "honours.ActionKinds"},
		{prefix: "honours.action.way.", values: honours.ActionWays, from: "honours.ActionWays"},
		{prefix: "honours.action.took.", values: honours.ActionWays, from: "honours.ActionWays"},
		{prefix: "honours.action.deed_status.", values: schemaValues(t, "honours_action_deeds", "status"), from: "schema honours_action_deeds.status"},
		{prefix: "honours.calendar.pillar.", values: honours.CalendarPillars, from: "honours.CalendarPillars"},
		{prefix: "honours.round.status.", values: schemaValues(t, "honours_rounds", "status"), from: "schema honours_rounds.status"},
		{prefix: "honours.round.rule.", values: honours.RoundRules, from: "honours.RoundRules"},
		{prefix: "honours.anomaly.rule.", values: schemaValues(t, "honours_vote_flags", "rule"), from: "schema honours_vote_flags.rule (honours.FlagRules)"},
		{prefix: "honours.contest.kind.", values: honours.ContestKinds, from: "honours.ContestKinds"},
		{prefix: "honours.contest.status.", values: honours.ContestStatuses, from: "honours.ContestStatuses"},
		{prefix: "honours.contest.close.", values: str(honours.RoundVillage, honours.RoundTown), from: "the round under way (honours.Contest.Status)"},
		{prefix: "honours.contest.round.", values: str(honours.RoundVillage, honours.RoundTown), from: "honours.RoundVillage, honours.RoundTown"},
		{prefix: "honours.contest.capacity.", values: honours.JudgeCapacities, from: "honours.JudgeCapacities"},
		{prefix: "honours.contest.hidden.", values: str("own", "relation"), from: "honours.Conflict.Why (relatives)"},
		{prefix: "honours.contest.notice_status.", values: str(honours.NoticeOpen, honours.NoticePublished, honours.NoticeWithdrawn), from: "honours.Notice.Status"},
		{prefix: "report.fig.", values: figureKeys(), from: "report.Defs"},
		{prefix: "report.what.", values: figureKeys(), from: "report.Defs"},
		{prefix: "report.pillar.", values: report.Sections, from: "report.Sections"},
		{prefix: "report.band.", values: report.Bands, from: "report.Bands"},
		{prefix: "report.period.", values: str(report.Month, report.Quarter, report.Year, report.ToDate), from: "report.Span.Kind"},
		{prefix: "report.overdue.", values: report.OverdueKeys(), from: "report.OverdueKeys"},
	}
}

// figureKeys are the dashboard's figures.
func figureKeys() []string {
	var out []string
	for _, d := range report.Defs {
		out = append(out, d.Key)
	}
	return out
}

// flows are the declared order flows. The kit writes each step to the audit log as the flow's
// Name + "." + the action, so their actions are audit actions too; a flow declared in code and not
// listed here fails.
var flows = []*flow.Flow{volunteer.NeedFlow, school.OrderFlow, consult.ReferralFlow, alliance.ProjectFlow, disputeCaseFlow}

// flowSteps are a flow's action names and the kit's open, as its timeline names them.
func flowSteps(f *flow.Flow) []string {
	out := []string{"open"}
	for _, a := range f.Actions {
		if !slices.Contains(out, a.Name) {
			out = append(out, a.Name)
		}
	}
	return out
}

// notKeys are literals that look like keys and are not, each with why. Permission actions
// (auth.Action constants), audit actions (auth.AuditEntry.Action) and flow names are told apart
// by where they are written, not listed here.
var notKeys = map[string]string{
	"volunteer.need.create": "an audit action, whose text summary the audit page reads (people.auditTexts)",
	"school.lesson":         "the kind of a lesson's event in the kit's attendance model (school.LessonKind)",
	"consult.meeting":       "the kind of a meeting's event in the kit's attendance model (consult.MeetingKind)",
	"alliance.activity":     "the kind of an activity's event in the kit's attendance model (alliance.ActivityEvent)",
	"honours.action":        "the kind of an action's event in the kit's attendance model (honours.ActionEvent)",
	"consult.manage":        "a permission action a template asks $.May about (consult.PermManage)",
	"consult.host":          "a permission action a template asks $.May about (consult.PermHost)",
	"consult.respond":       "a permission action a template asks $.May about (consult.PermRespond)",
	"consult.care":          "a permission action a template asks $.May about (consult.PermCare)",
	"alliance.manage":       "a permission action a template asks $.May about (alliance.PermManage)",
	"alliance.village":      "a permission action a template asks $.May about (alliance.PermVillage)",
	"alliance.unit":         "a permission action a template asks $.May about (alliance.PermUnit)",
	"honours.manage":        "a permission action a template asks $.May about (honours.PermManage)",
	"honours.village":       "a permission action a template asks $.May about (honours.PermVillage)",
	"honours.join":          "a permission action a template asks $.May about (honours.PermJoin)",
	"honours.judge":         "a permission action a template asks $.May about (honours.PermJudge)",
}

// fileExt marks literals that are file names, not keys.
var fileExt = regexp.MustCompile(`\.(html|xlsx|json|css|js|png|svg|ico|txt|csv|sql|go|pdf|jpe?g|webp|woff2?|map)$`)

var keyLike = regexp.MustCompile(`^([a-z][a-z0-9_]*)(\.[A-Za-z0-9_]+)+$`)

// flashParam is a flash message named in a redirect's address (?flash=flash.saved).
var flashParam = regexp.MustCompile(`[?&]flash=([a-z_.]+)`)

// A use is a key, or a family's prefix, written somewhere.
type use struct {
	where string // file:line
	key   string
}

// scan is what the code says about message keys.
type scan struct {
	keys     []use    // literal keys
	prefixes []use    // prefixes keys are built from
	audits   []string // audit actions written as literals
	flows    []use    // flow names declared
}

func TestEveryKeyUsedIsInTheCatalog(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ns := map[string]bool{}
	for _, k := range c.Keys(web.DefaultLang) {
		ns[strings.SplitN(k, ".", 2)[0]] = true
	}
	var s scan
	for _, root := range []string{"..", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
				return err
			}
			switch filepath.Ext(path) {
			case ".go":
				s.goFile(t, path, ns)
			case ".html":
				s.template(t, path, ns)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(s.keys) < 500 || len(s.prefixes) < 50 || len(s.audits) < 20 {
		t.Fatalf("found only %d keys, %d prefixes, %d audit actions; is the scan broken?", len(s.keys), len(s.prefixes), len(s.audits))
	}
	t.Logf("%d literal keys, %d places building keys from a prefix, %d audit actions", len(s.keys), len(s.prefixes), len(s.audits))
	has := func(k string) bool {
		for _, lang := range web.Langs {
			if _, ok := c[lang][k]; !ok {
				return false
			}
		}
		return true
	}
	for _, u := range s.keys {
		// A figure of the dashboard is named by its key (report.Def.Key), as report.fig.<key>.
		if !has(u.key) && !fileExt.MatchString(u.key) && !has("report.fig."+u.key) { // a file name is a key only if the catalog has it ("form.go")
			t.Errorf("%s: %q is not in the catalog", u.where, u.key)
		}
	}

	for _, u := range s.flows {
		if !slices.ContainsFunc(flows, func(f *flow.Flow) bool { return f.Name == u.key }) {
			t.Errorf("%s: flow %q is not in this test's flows, so its audit actions are not checked", u.where, u.key)
		}
	}
	audits := slices.Clone(s.audits)
	for _, f := range flows {
		for _, a := range f.Actions {
			audits = append(audits, f.Name+"."+a.Name)
		}
	}
	fams := families(t, audits)
	used := map[string]bool{}
	for _, u := range s.prefixes {
		i := slices.IndexFunc(fams, func(f family) bool { return f.prefix == u.key })
		if i < 0 {
			t.Errorf("%s: keys are built from %q, which this test declares no family for; add one with the values it can take", u.where, u.key)
			continue
		}
		used[u.key] = true
	}
	for _, f := range fams {
		if !used[f.prefix] {
			t.Errorf("family %q is declared but no code builds keys from it; remove it", f.prefix)
		}
		if len(f.values) == 0 {
			t.Errorf("family %q has no values (from %s)", f.prefix, f.from)
		}
		key := f.prefix
		if f.key != "" {
			key = f.key
		}
		for _, v := range f.values {
			if !has(key + v) {
				t.Errorf("%q (family %q, value %q from %s) is not in every language of the catalog", key+v, f.prefix, v, f.from)
			}
		}
	}
}

func (s *scan) literal(where, lit string, ns map[string]bool) {
	for _, m := range flashParam.FindAllStringSubmatch(lit, -1) {
		s.keys = append(s.keys, use{where, m[1]})
	}
	m := keyLike.FindStringSubmatch(lit)
	if m == nil || !ns[m[1]] || notKeys[lit] != "" {
		return
	}
	s.keys = append(s.keys, use{where, lit})
}

// fmtPrefix is a key written as a format: "bank.cap.%s".
var fmtPrefix = regexp.MustCompile(`^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.)%[sdv]$`)

// goFile reads the keys a Go file writes: its string literals, except those that are a
// permission action, an audit action or a flow's name, and the prefixes it builds keys from.
func (s *scan) goFile(t *testing.T, path string, ns map[string]bool) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	at := func(n ast.Node) string { p := fset.Position(n.Pos()); return fmt.Sprintf("%s:%d", p.Filename, p.Line) }
	skip := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			// A permission action is an auth.Action constant, not a message key.
			if typeName(n.Type) == "Action" {
				for _, v := range n.Values {
					if l := strLit(v); l != nil {
						skip[l] = true
					}
				}
			}
		case *ast.CompositeLit:
			for _, e := range n.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				field, _ := kv.Key.(*ast.Ident)
				if field == nil {
					continue
				}
				switch {
				case typeName(n.Type) == "AuditEntry" && field.Name == "Action":
					// An audit action; the audit page shows it as "audit." + it.
					if l := strLit(kv.Value); l != nil {
						skip[l] = true
						s.audits = append(s.audits, unquote(l))
					}
				case typeName(n.Type) == "Flow" && field.Name == "Name":
					if l := strLit(kv.Value); l != nil {
						skip[l] = true
						s.flows = append(s.flows, use{at(l), unquote(l)})
					}
				}
			}
		case *ast.BinaryExpr:
			if l := strLit(n.X); l != nil && n.Op == token.ADD && strings.HasSuffix(unquote(l), ".") && keyLike.MatchString(strings.TrimSuffix(unquote(l), ".")+".x") {
				skip[l] = true
				s.prefixes = append(s.prefixes, use{at(l), unquote(l)})
			}
		case *ast.CallExpr:
			// auth.System("bank.scheduler") names a system actor, shown as who did a thing.
			if typeName(n.Fun) == "System" && len(n.Args) == 1 {
				if l := strLit(n.Args[0]); l != nil {
					skip[l] = true
				}
			}
			if len(n.Args) > 0 {
				if l := strLit(n.Args[0]); l != nil {
					if m := fmtPrefix.FindStringSubmatch(unquote(l)); m != nil {
						skip[l] = true
						s.prefixes = append(s.prefixes, use{at(l), m[1]})
					}
				}
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.STRING && !skip[l] {
			s.literal(at(l), unquote(l), ns)
		}
		return true
	})
}

var (
	tmplAction = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tmplString = regexp.MustCompile(`"((?:[^"\\\n]|\\.)*)"`)
	tmplPrint  = regexp.MustCompile(`\(print "([^"]*\.)"`)
)

// template reads the keys a template writes, and the prefixes it builds keys from with print.
func (s *scan) template(t *testing.T, path string, ns map[string]bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	line := func(i int) string { return fmt.Sprintf("%s:%d", path, strings.Count(text[:i], "\n")+1) }
	for _, m := range tmplPrint.FindAllStringSubmatchIndex(text, -1) {
		s.prefixes = append(s.prefixes, use{line(m[0]), text[m[2]:m[3]]})
	}
	// Only the strings inside actions: an action may sit inside an attribute's quotes.
	for _, a := range tmplAction.FindAllStringIndex(text, -1) {
		for _, m := range tmplString.FindAllStringSubmatchIndex(text[a[0]:a[1]], -1) {
			s.literal(line(a[0]+m[0]), text[a[0]+m[2]:a[0]+m[3]], ns)
		}
	}
	for _, m := range flashParam.FindAllStringSubmatchIndex(text, -1) {
		s.keys = append(s.keys, use{line(m[0]), text[m[2]:m[3]]})
	}
}

func strLit(e ast.Expr) *ast.BasicLit {
	if l, ok := e.(*ast.BasicLit); ok && l.Kind == token.STRING {
		return l
	}
	return nil
}

func unquote(l *ast.BasicLit) string {
	s, err := strconv.Unquote(l.Value)
	if err != nil {
		return l.Value
	}
	return s
}

// typeName is the name of a type expression without its package: auth.Action is "Action".
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.StarExpr:
		return typeName(e.X)
	}
	return ""
}

// A finder picks string literals out of a file's syntax.
type finder func(n ast.Node) []*ast.BasicLit

// literalsOf is every literal the finders pick out of a package's non-test files.
func literalsOf(t *testing.T, dir string, finders ...finder) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			for _, fd := range finders {
				for _, l := range fd(n) {
					if v := unquote(l); !slices.Contains(out, v) && v != "" {
						out = append(out, v)
					}
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Errorf("%s: the finders found nothing; the code they look for has moved", dir)
	}
	return out
}

// fieldOf finds the literal values of a field in composite literals of a type: Transfer{Kind: "claim"}.
func fieldOf(typ, field string) finder {
	return func(n ast.Node) []*ast.BasicLit {
		c, ok := n.(*ast.CompositeLit)
		if !ok || typeName(c.Type) != typ {
			return nil
		}
		var out []*ast.BasicLit
		for _, e := range c.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if id, ok := kv.Key.(*ast.Ident); ok && id.Name == field {
					if l := strLit(kv.Value); l != nil {
						out = append(out, l)
					}
				}
			}
		}
		return out
	}
}

// argOf finds the literal i-th arguments of calls to a function or method.
func argOf(fn string, i int) finder {
	return func(n ast.Node) []*ast.BasicLit {
		c, ok := n.(*ast.CallExpr)
		if !ok || typeName(c.Fun) != fn || len(c.Args) <= i {
			return nil
		}
		if l := strLit(c.Args[i]); l != nil {
			return []*ast.BasicLit{l}
		}
		return nil
	}
}

// returnsOf finds the literals a function returns.
func returnsOf(fn string) finder {
	return func(n ast.Node) []*ast.BasicLit {
		d, ok := n.(*ast.FuncDecl)
		if !ok || d.Name.Name != fn || d.Body == nil {
			return nil
		}
		var out []*ast.BasicLit
		ast.Inspect(d.Body, func(n ast.Node) bool {
			if r, ok := n.(*ast.ReturnStmt); ok {
				for _, e := range r.Results {
					if l := strLit(e); l != nil {
						out = append(out, l)
					}
				}
			}
			return true
		})
		return out
	}
}

// comparedTo finds the literals compared with x.field (x.field == "in", != "in") or switched on
// (switch x.field { case "in": }).
func comparedTo(x, field string) finder {
	is := func(e ast.Expr) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok || s.Sel.Name != field {
			return false
		}
		id, ok := s.X.(*ast.Ident)
		return ok && id.Name == x
	}
	return func(n ast.Node) []*ast.BasicLit {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if n.Op != token.EQL && n.Op != token.NEQ {
				return nil
			}
			if l := strLit(n.Y); l != nil && is(n.X) {
				return []*ast.BasicLit{l}
			}
			if l := strLit(n.X); l != nil && is(n.Y) {
				return []*ast.BasicLit{l}
			}
		case *ast.SwitchStmt:
			if n.Tag == nil || !is(n.Tag) {
				return nil
			}
			var out []*ast.BasicLit
			for _, st := range n.Body.List {
				for _, e := range st.(*ast.CaseClause).List {
					if l := strLit(e); l != nil {
						out = append(out, l)
					}
				}
			}
			return out
		}
		return nil
	}
}

// within fails when the code makes a value a family does not declare: the domain grew.
func within(t *testing.T, what string, declared, found []string) {
	t.Helper()
	for _, v := range found {
		if !slices.Contains(declared, v) {
			t.Errorf("%s: the code makes %q, which this test's list %v lacks", what, v, declared)
		}
	}
}

// sameAs fails when a list of the domain and the schema's allow different values.
func sameAs(t *testing.T, what string, values []string, others ...[]string) {
	t.Helper()
	a := slices.Sorted(slices.Values(values))
	for _, o := range others {
		if b := slices.Sorted(slices.Values(o)); !slices.Equal(a, b) {
			t.Errorf("%s: %v, but the schema allows %v", what, a, b)
		}
	}
}

var (
	createTable = regexp.MustCompile(`(?i)^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)`)
	alterTable  = regexp.MustCompile(`(?i)^\s*ALTER TABLE (\w+) ADD COLUMN`)
	addCheck    = regexp.MustCompile(`(?i)^\s*ALTER TABLE (\w+) ADD CONSTRAINT \w+ CHECK \((\w+) IN \(([^)]*)\)\)`)
	checkIn     = regexp.MustCompile(`(?i)^\s*(?:ALTER TABLE \w+ ADD COLUMN )?(\w+)\s.*CHECK \((\w+) IN \(([^)]*)\)\)`)
	sqlString   = regexp.MustCompile(`'([^']*)'`)
)

// schemaValues are the values the schema's CHECK (column IN (...)) allows in table.column, the
// latest migration's, without ”. Both engines must agree.
func schemaValues(t *testing.T, table, column string) []string {
	t.Helper()
	var got [][]string
	for _, engine := range []string{"sqlite", "postgres"} {
		files, err := filepath.Glob(filepath.Join("../db/migrations", engine, "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(files)
		var values []string
		for _, path := range files {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cur := ""
			for _, line := range strings.Split(string(b), "\n") {
				if m := createTable.FindStringSubmatch(line); m != nil {
					cur = strings.TrimSuffix(m[1], "_new") // a table rebuilt under a new name, renamed back
				}
				if m := addCheck.FindStringSubmatch(line); m != nil && m[1] == table && m[2] == column {
					values = nil
					for _, v := range sqlString.FindAllStringSubmatch(m[3], -1) {
						if v[1] != "" {
							values = append(values, v[1])
						}
					}
				}
				if m := alterTable.FindStringSubmatch(line); m != nil {
					cur = m[1]
				}
				if m := checkIn.FindStringSubmatch(line); m != nil && cur == table && m[1] == column && m[2] == column {
					values = nil
					for _, v := range sqlString.FindAllStringSubmatch(m[3], -1) {
						if v[1] != "" {
							values = append(values, v[1])
						}
					}
				}
			}
		}
		if values == nil {
			t.Fatalf("the %s schema has no CHECK (%s IN (...)) on %s", engine, column, table)
		}
		got = append(got, values)
	}
	sameAs(t, table+"."+column+" in sqlite and postgres", got[0], got[1])
	return got[0]
}
