package bank

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/people"
	"siwei/internal/web"
)

// rulesAdminView is the rule sets page with the adopt form, whose rules are a table: a row a rule,
// named, never coded (the service gives each its code).
type rulesAdminView struct {
	Versions   []RuleVersion
	Villages   []people.Village
	VillageID  int64 // the form's village; 0: the whole town
	Classes    []people.MemberClass
	Periods    []string // the caps' periods, "" (no cap) first
	Rows       []ruleRow
	Categories []string // the categories of the town's rules, offered as the category is typed
}

// ruleRow is a row of the table editor as it was sent or filled: the rule it carries on (a hidden
// id, which keeps the rule's code from version to version), its fields as typed, and their errors.
type ruleRow struct {
	I                                           int // its index in the form's field names; its number on screen is I+1
	RuleID                                      int64
	Name, Category, Points, CapPeriod, CapCount string
	Evidence, Notice, Remove                    bool
	Errors                                      map[string]string // field → message
}

// blankRows is how many empty rows the table offers for new rules; maxRuleRows bounds a form.
const (
	blankRows   = 3
	maxRuleRows = 300
)

// capPeriods are the caps' periods in the order the table offers them.
var capPeriods = []string{"", "day", "week", "month", "year"}

func (h *Handlers) adminRules(w http.ResponseWriter, r *http.Request) {
	town, err := h.town(r.Context(), townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	today := town.Clock(h.S.Now).Day()
	form := url.Values{"adopted_on": {today}, "effective_from": {today}}
	h.renderRules(w, r, form, nil, nil)
}

// renderRules shows the rule sets and the adopt form: rows as sent when a form comes back, else the
// rules of the version ?from=<version id> to amend and adopt as the next, else empty rows.
func (h *Handlers) renderRules(w http.ResponseWriter, r *http.Request, form url.Values, rows []ruleRow, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	vers, err := h.S.RuleVersions(ctx, a, townOf(r))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	vs, err := h.S.Villages(ctx, a, townOf(r), auth.VillageRead, 0)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := &rulesAdminView{Versions: vers, Villages: vs, Classes: classOrder, Periods: capPeriods, Rows: rows}
	if from := web.QueryInt(r, "from"); from != 0 && rows == nil {
		for _, ver := range vers {
			if ver.ID == from {
				form.Set("class", string(ver.Class))
				form.Set("village_id", strconv.FormatInt(ver.VillageID, 10))
				v.Rows = ruleRows(ver.Rules)
			}
		}
	}
	for len(v.Rows) < blankRows || !blankTail(v.Rows) {
		v.Rows = append(v.Rows, ruleRow{I: len(v.Rows), CapCount: "1"})
	}
	for _, ver := range vers {
		for _, rule := range ver.Rules {
			if rule.Category != "" && !slices.Contains(v.Categories, rule.Category) {
				v.Categories = append(v.Categories, rule.Category)
			}
		}
	}
	v.VillageID = web.FormID(form.Get("village_id"))
	p := h.App.NewPage(r, "bank.admin_rules.title", v)
	p.Form = form
	for _, ver := range vers {
		if ver.ID == p.FlashID() {
			where := ver.Village
			if where == "" {
				where = p.T("bank.whole_town")
			}
			p.Flashed("flash.rules_adopted", where, p.T("class."+string(ver.Class)), ver.Version, p.Date(ver.EffectiveFrom))
		}
	}
	status := http.StatusOK
	if ferr != nil {
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
		rowErrors(p, v.Rows)
	}
	h.App.Render(w, r, status, "admin_rules.html", p)
}

// blankTail reports whether the table ends with blankRows empty rows, for new rules.
func blankTail(rows []ruleRow) bool {
	if len(rows) < blankRows {
		return false
	}
	for _, row := range rows[len(rows)-blankRows:] {
		if !row.blank() {
			return false
		}
	}
	return true
}

func (h *Handlers) adoptVersion(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	rows := parseRuleRows(f)
	if f.Get("add_rows") != "" {
		for range blankRows {
			rows = append(rows, ruleRow{I: len(rows), CapCount: "1"})
		}
		h.renderRules(w, r, f, rows, nil)
		return
	}
	ver, err := h.S.AdoptVersion(r.Context(), auth.From(r.Context()), VersionInput{TownID: townOf(r), VillageID: web.FormID(f.Get("village_id")),
		Class: people.MemberClass(f.Get("class")), AdoptedBy: f.Get("adopted_by"), AdoptedOn: f.Get("adopted_on"), Resolution: f.Get("resolution"),
		EffectiveFrom: f.Get("effective_from"), Rules: ruleInputs(rows)})
	if err != nil {
		h.renderRules(w, r, f, rows, err)
		return
	}
	web.Redirect(w, r, web.FlashURL("/admin/bank/rules", "flash.rules_adopted", ver))
}

// ruleRows are the rows of the table for a version's rules.
func ruleRows(rules []Rule) []ruleRow {
	rows := make([]ruleRow, len(rules))
	for i, rule := range rules {
		rows[i] = ruleRow{I: i, RuleID: rule.ID, Name: rule.Name, Category: rule.Category, Points: strconv.FormatInt(rule.Points, 10),
			CapPeriod: rule.CapPeriod, CapCount: "1", Evidence: rule.EvidenceRequired, Notice: rule.NoticeRequired}
		if rule.CapPeriod != "" {
			rows[i].CapCount = strconv.Itoa(rule.CapCount)
		}
	}
	return rows
}

// ruleField is the form's name of a row's field: row3.name.
func ruleField(i int, field string) string { return "row" + strconv.Itoa(i) + "." + field }

// parseRuleRows reads the table's rows as they were sent (rows: how many there are).
func parseRuleRows(f url.Values) []ruleRow {
	n := min(web.FormInt(f.Get("rows")), maxRuleRows)
	rows := make([]ruleRow, 0, max(n, 0))
	for i := range max(n, 0) {
		get := func(field string) string { return strings.TrimSpace(f.Get(ruleField(i, field))) }
		rows = append(rows, ruleRow{I: i, RuleID: web.FormID(get("rule_id")), Name: get("name"), Category: get("category"), Points: get("points"),
			CapPeriod: get("cap_period"), CapCount: get("cap_count"), Evidence: get("evidence") != "", Notice: get("notice") != "", Remove: get("remove") != ""})
	}
	return rows
}

// blank reports whether a row was left empty: an offered row for a new rule that was not used.
func (row ruleRow) blank() bool {
	return row.RuleID == 0 && row.Name == "" && row.Category == "" && row.Points == "" && !row.Evidence && !row.Notice
}

// ruleInputs are the rules of the rows that are neither removed nor blank, in their order. A cap
// of 不限 has no count; a number that does not read is sent as one the service refuses.
func ruleInputs(rows []ruleRow) []RuleInput {
	var out []RuleInput
	for _, row := range rows {
		if row.Remove || row.blank() {
			continue
		}
		in := RuleInput{RuleID: row.RuleID, Name: row.Name, Category: row.Category, CapPeriod: row.CapPeriod,
			EvidenceRequired: row.Evidence, NoticeRequired: row.Notice}
		var err error
		if in.Points, err = strconv.ParseInt(row.Points, 10, 64); err != nil {
			in.Points = 0
		}
		if row.CapPeriod != "" {
			if in.CapCount, err = strconv.Atoi(row.CapCount); err != nil {
				in.CapCount = -1
			}
		}
		out = append(out, in)
	}
	return out
}

// inputRows maps the index of each rule sent to the service to its row of the table.
func inputRows(rows []ruleRow) []int {
	var out []int
	for i, row := range rows {
		if !row.Remove && !row.blank() {
			out = append(out, i)
		}
	}
	return out
}

var serviceRuleField = regexp.MustCompile(`^rules\[(\d+)\]\.(\w+)$`)

// ruleFieldLabels name the fields of a row in messages; a code is made from the name.
var ruleFieldLabels = map[string]string{"name": "bank.rule_name", "code": "bank.rule_name", "points": "bank.rule_points",
	"cap_period": "bank.rule_cap", "cap_count": "bank.rule_cap", "category": "bank.rule_category"}

// rowErrors moves the service's errors on rules[i].field to the rows of the table they came from,
// and lists them above the table, each naming its row and field: 第 3 行“分值”：….
func rowErrors(p *web.Page, rows []ruleRow) {
	at := inputRows(rows)
	var msgs []string
	if m := p.Errors["rules"]; m != "" {
		msgs = append(msgs, m)
	}
	type rowErr struct {
		row          int
		field, label string
		msg          string
	}
	var found []rowErr
	for k, msg := range p.Errors {
		m := serviceRuleField.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i := web.FormInt(m[1])
		if i >= len(at) {
			continue
		}
		field := m[2]
		if field == "cap_period" || field == "code" {
			field = map[string]string{"cap_period": "cap_count", "code": "name"}[field]
		}
		found = append(found, rowErr{at[i], field, p.T(ruleFieldLabels[m[2]]), msg})
		delete(p.Errors, k)
	}
	slices.SortFunc(found, func(a, b rowErr) int {
		if a.row != b.row {
			return a.row - b.row
		}
		return strings.Compare(a.field, b.field)
	})
	for _, e := range found {
		row := &rows[e.row]
		if row.Errors == nil {
			row.Errors = map[string]string{}
		}
		row.Errors[e.field] = e.msg
		msgs = append(msgs, p.T("bank.rule_row_error", e.row+1, e.label, e.msg))
	}
	if len(msgs) > 0 {
		p.Errors["rules"] = strings.Join(msgs, "；")
	}
}
