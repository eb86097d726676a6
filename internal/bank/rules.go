package bank

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"regexp"
	"siwei/internal/clock"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Rule is one line of a 积分细则: what earns points, how many, how often at most, and whether it
// needs evidence or a public notice before the points are posted.
type Rule struct {
	ID               int64              `json:"id"`
	VersionID        int64              `json:"version_id"`
	Version          int                `json:"version"`
	Class            people.MemberClass `json:"class"`
	VillageID        int64              `json:"village_id"`
	Code             string             `json:"code"`
	Name             string             `json:"name"`
	Category         string             `json:"category"`
	Points           int64              `json:"points"`
	CapPeriod        string             `json:"cap_period"`
	CapCount         int                `json:"cap_count"`
	EvidenceRequired bool               `json:"evidence_required"`
	NoticeRequired   bool               `json:"notice_required"`
}

// RuleInput is a rule in a new version. Code may be left empty: the service then gives the rule
// the code of the rule it carries on (RuleID, a rule of an earlier version of the town's), else of
// the town's rule of the same name, else a code made from the name. Staff name rules; codes are
// for the API and the pillars that pay by them.
type RuleInput struct {
	RuleID           int64  `json:"rule_id,omitempty"`
	Code             string `json:"code"`
	Name             string `json:"name"`
	Category         string `json:"category"`
	Points           int64  `json:"points"`
	CapPeriod        string `json:"cap_period"`
	CapCount         int    `json:"cap_count"`
	EvidenceRequired bool   `json:"evidence_required"`
	NoticeRequired   bool   `json:"notice_required"`
}

// VersionInput adopts a new version of a rule set: the whole list of rules, and how it was adopted
// (e.g. 村民代表大会, the date, the resolution number) before it takes effect.
type VersionInput struct {
	TownID        int64              `json:"town_id"`
	VillageID     int64              `json:"village_id,omitempty"`
	Class         people.MemberClass `json:"class"`
	AdoptedBy     string             `json:"adopted_by"`
	AdoptedOn     string             `json:"adopted_on"`
	Resolution    string             `json:"resolution"`
	EffectiveFrom string             `json:"effective_from"`
	Rules         []RuleInput        `json:"rules"`
}

// MaxPoints bounds one rule's points, so that a typo cannot mint a fortune.
const MaxPoints = 10_000

var codeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,20}$`)

func validPeriod(p string) bool {
	return p == "" || p == "day" || p == "week" || p == "month" || p == "year"
}

func validClass(c people.MemberClass) bool {
	return c == people.PartyMember || c == people.Villager || c == people.Minor
}

// validate checks a version against the town's calendar day.
func (in *VersionInput) validate() errs.Fields {
	var f errs.Fields
	in.AdoptedBy, in.Resolution = strings.TrimSpace(in.AdoptedBy), strings.TrimSpace(in.Resolution)
	if !validClass(in.Class) {
		f.Add("class", "bank.class_invalid")
	}
	if in.AdoptedBy == "" {
		f.Add("adopted_by", "field.required")
	} else if utf8.RuneCountInString(in.AdoptedBy) > 40 {
		f.Add("adopted_by", "field.too_long")
	}
	adopted, err1 := time.Parse(clock.DayLayout, in.AdoptedOn)
	if err1 != nil {
		f.Add("adopted_on", "people.date_invalid")
	}
	eff, err2 := time.Parse(clock.DayLayout, in.EffectiveFrom)
	if err2 != nil {
		f.Add("effective_from", "people.date_invalid")
	} else if err1 == nil && eff.Before(adopted) {
		f.Add("effective_from", "bank.effective_before_adopted")
	}
	if len(in.Rules) == 0 {
		f.Add("rules", "bank.rules_empty")
	}
	seen, named := map[string]bool{}, map[string]bool{}
	for i := range in.Rules {
		r := &in.Rules[i]
		r.Code, r.Name, r.Category = strings.TrimSpace(r.Code), strings.TrimSpace(r.Name), strings.TrimSpace(r.Category)
		field := fmt.Sprintf("rules[%d].", i)
		switch {
		case !codeRE.MatchString(r.Code):
			f.Add(field+"code", "bank.code_invalid")
		case seen[r.Code]:
			f.Add(field+"code", "bank.code_duplicate")
		}
		seen[r.Code] = true
		switch {
		case r.Name == "" || utf8.RuneCountInString(r.Name) > 60:
			f.Add(field+"name", "field.required")
		case named[r.Name]:
			// Staff choose rules by name: two of one name could not be told apart.
			f.Add(field+"name", "bank.rule_name_duplicate")
		}
		named[r.Name] = true
		if r.Points <= 0 || r.Points > MaxPoints {
			f.Add(field+"points", "bank.points_range")
		}
		if !validPeriod(r.CapPeriod) {
			f.Add(field+"cap_period", "bank.period_invalid")
		} else if (r.CapPeriod == "") != (r.CapCount == 0) || r.CapCount < 0 {
			f.Add(field+"cap_count", "bank.cap_invalid")
		}
	}
	return f
}

// AdoptVersion records a new version of a rule set; past awards keep the version they used.
func (s *Service) AdoptVersion(ctx context.Context, a *auth.Actor, in VersionInput) (int64, error) {
	sc := auth.Scope{TownID: in.TownID, VillageID: in.VillageID}
	if in.VillageID != 0 {
		v, err := s.People.Village(ctx, a, in.VillageID)
		if err != nil {
			return 0, err
		}
		sc.TownID, in.TownID = v.TownID, v.TownID
	}
	if err := auth.Can(a, PermRules, sc); err != nil {
		return 0, err
	}
	if err := s.fillCodes(ctx, &in); err != nil {
		return 0, err
	}
	if err := in.validate().Err(); err != nil {
		return 0, err
	}
	var versionID int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		versionID, err = s.InsertVersion(ctx, tx, in, a.AccountID)
		if err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.rules.adopt", Entity: "rule_version", EntityID: versionID,
			TownID: in.TownID, VillageID: in.VillageID, Summary: auth.Summarize(nil, in)})
	})
	s.forgetRules() // after the commit, so that no award caches the old rules again meanwhile
	return versionID, err
}

// fillCodes gives a code to every rule of a version that has none, so that staff who name rules
// never see one, and a rule keeps its code from version to version: the caps count awards by code,
// a village's set overrides the town's code by code, and pillars pay by code. A rule takes the code
// of the rule it carries on (RuleID, among the town's rules), else that of the town's rule of the
// same name (of the same class and set first, the newest first), else one made from its name. No
// two rules of the version get the same code.
func (s *Service) fillCodes(ctx context.Context, in *VersionInput) error {
	if !slices.ContainsFunc(in.Rules, func(r RuleInput) bool { return strings.TrimSpace(r.Code) == "" }) {
		return nil
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT r.id, r.code, r.name, rs.class, COALESCE(rs.village_id, 0)
		FROM bank_rules r JOIN bank_rule_versions v ON v.id = r.version_id JOIN bank_rule_sets rs ON rs.id = v.rule_set_id
		WHERE rs.town_id = $1 ORDER BY v.created_at DESC, v.id DESC`, in.TownID)
	if err != nil {
		return fmt.Errorf("bank: rule codes: %w", err)
	}
	defer rows.Close()
	byID := map[int64]string{}
	type named struct {
		code string
		rank int // 0: the same class and set, 1: the same class, 2: another class
	}
	byName := map[string]named{}
	for rows.Next() {
		var id, village int64
		var code, name string
		var class people.MemberClass
		if err := rows.Scan(&id, &code, &name, &class, &village); err != nil {
			return fmt.Errorf("bank: rule codes: %w", err)
		}
		byID[id] = code
		rank := 2
		if class == in.Class {
			rank = 1
			if village == in.VillageID {
				rank = 0
			}
		}
		if n, ok := byName[name]; !ok || rank < n.rank {
			byName[name] = named{code, rank}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bank: rule codes: %w", err)
	}
	taken := map[string]bool{}
	for i := range in.Rules {
		r := &in.Rules[i]
		r.Code, r.Name = strings.TrimSpace(r.Code), strings.TrimSpace(r.Name)
		taken[r.Code] = r.Code != ""
	}
	give := func(r *RuleInput, code string) {
		if r.Code == "" && code != "" && !taken[code] {
			r.Code, taken[code] = code, true
		}
	}
	for i := range in.Rules {
		give(&in.Rules[i], byID[in.Rules[i].RuleID])
	}
	for i := range in.Rules {
		give(&in.Rules[i], byName[in.Rules[i].Name].code)
	}
	for i := range in.Rules {
		r := &in.Rules[i]
		base := madeCode(r.Name)
		for n := 2; r.Code == ""; n++ {
			give(r, base)
			base = fmt.Sprintf("%s-%d", madeCode(r.Name), n)
		}
	}
	return nil
}

// madeCode is the code of a new rule: "r" and eight hex digits of a hash of its name, the same for
// the same name in every village and class of the town.
func madeCode(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "r" + hex.EncodeToString(sum[:4])
}

// InsertVersion writes a validated version inside tx (the demo uses it directly).
func (s *Service) InsertVersion(ctx context.Context, tx db.Querier, in VersionInput, by int64) (int64, error) {
	if err := in.validate().Err(); err != nil {
		return 0, err
	}
	now := s.Now()
	var village any
	if in.VillageID != 0 {
		village = in.VillageID
	}
	var setID int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM bank_rule_sets WHERE town_id = $1 AND COALESCE(village_id, 0) = $2 AND class = $3`,
		in.TownID, in.VillageID, string(in.Class)).Scan(&setID)
	if db.IsNoRows(err) {
		err = tx.QueryRowContext(ctx, `INSERT INTO bank_rule_sets (town_id, village_id, class, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			in.TownID, village, string(in.Class), now).Scan(&setID)
	}
	if err != nil {
		return 0, fmt.Errorf("bank: rule set: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM bank_rule_versions WHERE rule_set_id = $1`, setID).Scan(&version); err != nil {
		return 0, err
	}
	var creator any
	if by > 0 {
		creator = by
	}
	var versionID int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO bank_rule_versions (rule_set_id, version, adopted_by, adopted_on, resolution, effective_from, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, setID, version, in.AdoptedBy, in.AdoptedOn, in.Resolution, in.EffectiveFrom, creator, now).Scan(&versionID); err != nil {
		return 0, fmt.Errorf("bank: rule version: %w", err)
	}
	for _, r := range in.Rules {
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_rules (version_id, code, name, category, points, cap_period, cap_count, evidence_required, notice_required)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, versionID, r.Code, r.Name, r.Category, r.Points, r.CapPeriod, r.CapCount, r.EvidenceRequired, r.NoticeRequired); err != nil {
			return 0, fmt.Errorf("bank: rule: %w", err)
		}
	}
	return versionID, nil
}

// RulesInForce lists the rules a class has in a village on a day: the town's version in force,
// extended (and overridden code by code) by the village's.
func (s *Service) RulesInForce(ctx context.Context, townID, villageID int64, class people.MemberClass, day string) ([]Rule, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT r.id, r.version_id, v.version, rs.class, COALESCE(rs.village_id, 0), r.code, r.name, r.category, r.points,
		r.cap_period, r.cap_count, r.evidence_required, r.notice_required
		FROM bank_rules r JOIN bank_rule_versions v ON v.id = r.version_id JOIN bank_rule_sets rs ON rs.id = v.rule_set_id
		WHERE rs.town_id = $1 AND rs.class = $2 AND (rs.village_id IS NULL OR rs.village_id = $3)
		AND v.version = (SELECT MAX(v2.version) FROM bank_rule_versions v2 WHERE v2.rule_set_id = rs.id AND v2.effective_from <= $4)
		ORDER BY COALESCE(rs.village_id, 0), r.category, r.code`, townID, string(class), villageID, day)
	if err != nil {
		return nil, fmt.Errorf("bank: rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	at := map[string]int{}
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.ID, &r.VersionID, &r.Version, &r.Class, &r.VillageID, &r.Code, &r.Name, &r.Category, &r.Points,
			&r.CapPeriod, &r.CapCount, &r.EvidenceRequired, &r.NoticeRequired); err != nil {
			return nil, err
		}
		if i, ok := at[r.Code]; ok {
			out[i] = r // the village's rule overrides the town's
			continue
		}
		at[r.Code] = len(out)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RuleChoice is a rule as the bulk award form offers it: by name, with its points in each class that
// has it, since a bulk award pays each resident under the rule of their own class. Code is what the
// form sends; it is never shown.
type RuleChoice struct {
	Code           string
	Name           string
	Points         []ClassPoints
	NoticeRequired bool
}

// ClassPoints is a rule's points for a class.
type ClassPoints struct {
	Class  people.MemberClass
	Points int64
}

// SamePoints is the rule's points when every class that has it has the same, else 0.
func (c RuleChoice) SamePoints() int64 {
	for _, p := range c.Points[1:] {
		if p.Points != c.Points[0].Points {
			return 0
		}
	}
	return c.Points[0].Points
}

// RulesOffered lists the rules in force on a day in a village (0: the town's own), of every class,
// once each by code: named as the first class that has it (村民, 党员, 未成年人) names it.
func (s *Service) RulesOffered(ctx context.Context, townID, villageID int64, day string) ([]RuleChoice, error) {
	var out []RuleChoice
	at := map[string]int{}
	for _, class := range classOrder {
		rules, err := s.rulesCached(ctx, townID, villageID, class, day)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			i, ok := at[r.Code]
			if !ok {
				i, at[r.Code] = len(out), len(out)
				out = append(out, RuleChoice{Code: r.Code, Name: r.Name})
			}
			out[i].Points = append(out[i].Points, ClassPoints{class, r.Points})
			out[i].NoticeRequired = out[i].NoticeRequired || r.NoticeRequired
		}
	}
	return out, nil
}

// rulesTTL is how long a server keeps the rules in force in memory. Versions take effect on a
// date, usually announced days before, so a few seconds of staleness on another server is harmless;
// this server forgets its copy as soon as it adopts a version.
const rulesTTL = 10 * time.Second

type cachedRules struct {
	rules []Rule
	at    time.Time
}

// rulesCached is RulesInForce through a short-lived cache: awards read the rules on every posting.
func (s *Service) rulesCached(ctx context.Context, townID, villageID int64, class people.MemberClass, day string) ([]Rule, error) {
	k := fmt.Sprintf("rules:%d:%d:%s:%s", townID, villageID, class, day)
	if c, ok := s.cache.Load(k); ok && time.Since(c.(cachedRules).at) < rulesTTL {
		return c.(cachedRules).rules, nil
	}
	rules, err := s.RulesInForce(ctx, townID, villageID, class, day)
	if err == nil {
		s.cache.Store(k, cachedRules{rules, time.Now()})
	}
	return rules, err
}

// forgetRules drops every cached rule list, after a version is adopted.
func (s *Service) forgetRules() {
	s.cache.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), "rules:") {
			s.cache.Delete(k)
		}
		return true
	})
}

// periodStart is the start, in UTC, of the town-calendar day, week (from Monday), month or year
// that contains now.
func periodStart(period string, now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	switch period {
	case "week":
		wd := (int(day.Weekday()) + 6) % 7
		day = day.AddDate(0, 0, -wd)
	case "month":
		day = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case "year":
		day = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	}
	return day.UTC()
}

// RuleVersion is one adopted version of a rule set, with its rules.
type RuleVersion struct {
	ID            int64
	Class         people.MemberClass
	VillageID     int64
	Village       string
	Version       int
	AdoptedBy     string
	AdoptedOn     string
	Resolution    string
	EffectiveFrom string
	CreatedAt     time.Time
	Rules         []Rule
}

// RuleVersions lists a town's rule sets, every version newest first with its rules; village sets
// only of villages the actor may read the bank of.
func (s *Service) RuleVersions(ctx context.Context, a *auth.Actor, townID int64) ([]RuleVersion, error) {
	all, ids, err := visible(a, PermLedger, townID)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT v.id, rs.class, COALESCE(rs.village_id, 0), COALESCE(vi.name, ''), v.version, v.adopted_by,
		v.adopted_on, v.resolution, v.effective_from, v.created_at
		FROM bank_rule_versions v JOIN bank_rule_sets rs ON rs.id = v.rule_set_id LEFT JOIN villages vi ON vi.id = rs.village_id
		WHERE rs.town_id = $1 ORDER BY rs.class, COALESCE(rs.village_id, 0), v.version DESC`, townID)
	if err != nil {
		return nil, fmt.Errorf("bank: rule versions: %w", err)
	}
	defer rows.Close()
	var out []RuleVersion
	at := map[int64]int{}
	for rows.Next() {
		var v RuleVersion
		if err := rows.Scan(&v.ID, &v.Class, &v.VillageID, &v.Village, &v.Version, &v.AdoptedBy, &v.AdoptedOn, &v.Resolution, &v.EffectiveFrom, &v.CreatedAt); err != nil {
			return nil, err
		}
		if v.VillageID == 0 || all || slices.Contains(ids, v.VillageID) {
			at[v.ID] = len(out)
			out = append(out, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rrows, err := s.DB.Read().QueryContext(ctx, `SELECT r.id, r.version_id, r.code, r.name, r.category, r.points, r.cap_period, r.cap_count,
		r.evidence_required, r.notice_required FROM bank_rules r JOIN bank_rule_versions v ON v.id = r.version_id
		JOIN bank_rule_sets rs ON rs.id = v.rule_set_id WHERE rs.town_id = $1 ORDER BY r.version_id, r.category, r.code`, townID)
	if err != nil {
		return nil, fmt.Errorf("bank: rule versions: %w", err)
	}
	defer rrows.Close()
	for rrows.Next() {
		var r Rule
		if err := rrows.Scan(&r.ID, &r.VersionID, &r.Code, &r.Name, &r.Category, &r.Points, &r.CapPeriod, &r.CapCount, &r.EvidenceRequired, &r.NoticeRequired); err != nil {
			return nil, err
		}
		if i, ok := at[r.VersionID]; ok {
			r.Version, r.Class, r.VillageID = out[i].Version, out[i].Class, out[i].VillageID
			out[i].Rules = append(out[i].Rules, r)
		}
	}
	return out, rrows.Err()
}

// classOrder is the member classes in display order.
var classOrder = []people.MemberClass{people.Villager, people.PartyMember, people.Minor}
