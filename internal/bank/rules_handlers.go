package bank

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// rulesAdminView is the rule sets page with the adopt form.
type rulesAdminView struct {
	Versions  []RuleVersion
	Villages  []people.Village
	VillageID int64 // the form's village; 0: the whole town
	Classes   []people.MemberClass
}

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

// renderRules shows the rule sets; ?from=<version id> fills the form with that version, to amend
// and adopt as the next. lines maps a refused form's rules to the lines of its box.
func (h *Handlers) renderRules(w http.ResponseWriter, r *http.Request, form url.Values, lines []int, ferr error) {
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
	if from := web.QueryInt(r, "from"); from != 0 && ferr == nil {
		for _, v := range vers {
			if v.ID == from {
				form.Set("class", string(v.Class))
				form.Set("village_id", strconv.FormatInt(v.VillageID, 10))
				form.Set("rules", rulesText(v.Rules))
			}
		}
	}
	p := h.App.NewPage(r, "bank.admin_rules.title", rulesAdminView{Versions: vers, Villages: vs, VillageID: web.FormID(form.Get("village_id")), Classes: classOrder})
	p.Form = form
	status := http.StatusOK
	if ferr != nil {
		if status, err = h.App.FormErrors(p, ferr); err != nil {
			h.App.Error(w, r, err)
			return
		}
		lineErrors(p, lines)
	}
	h.App.Render(w, r, status, "admin_rules.html", p)
}

func (h *Handlers) adoptVersion(w http.ResponseWriter, r *http.Request) {
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	rules, lines, err := parseRules(f.Get("rules"))
	if err == nil {
		_, err = h.S.AdoptVersion(r.Context(), auth.From(r.Context()), VersionInput{TownID: townOf(r), VillageID: web.FormID(f.Get("village_id")),
			Class: people.MemberClass(f.Get("class")), AdoptedBy: f.Get("adopted_by"), AdoptedOn: f.Get("adopted_on"), Resolution: f.Get("resolution"),
			EffectiveFrom: f.Get("effective_from"), Rules: rules})
	}
	if err != nil {
		h.renderRules(w, r, f, lines, err)
		return
	}
	web.Redirect(w, r, "/admin/bank/rules?flash=flash.rules_adopted")
}

// rulesText writes rules as the lines of the adopt form's box.
func rulesText(rules []Rule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "%s,%s,%s,%d,%s,%d,%d,%d\n", r.Code, r.Name, r.Category, r.Points, r.CapPeriod, r.CapCount, ruleBit(r.EvidenceRequired), ruleBit(r.NoticeRequired))
	}
	return b.String()
}

func ruleBit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseRules reads the adopt form's box: a rule a line, written
// code,name,category,points,cap_period,cap_count,evidence(0/1),notice(0/1), of which the last four
// may be left off; blank lines and lines starting with # are skipped, and a Chinese comma counts
// as a comma. It returns the rules and the line each came from; lines that do not read are one
// field error naming them.
func parseRules(text string) ([]RuleInput, []int, error) {
	var out []RuleInput
	var from []int
	var bad []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.ReplaceAll(line, "，", ","))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, ok := parseRule(line)
		if !ok {
			bad = append(bad, strconv.Itoa(i+1))
			continue
		}
		out = append(out, r)
		from = append(from, i+1)
	}
	if len(bad) > 0 {
		return nil, nil, errs.Field("rules", "bank.rule_line_invalid", strings.Join(bad, "、"))
	}
	return out, from, nil
}

func parseRule(line string) (RuleInput, bool) {
	p := strings.Split(line, ",")
	if len(p) < 4 || len(p) > 8 {
		return RuleInput{}, false
	}
	for len(p) < 8 {
		p = append(p, "")
	}
	for i := range p {
		p[i] = strings.TrimSpace(p[i])
	}
	pts, err := strconv.ParseInt(p[3], 10, 64)
	if err != nil {
		return RuleInput{}, false
	}
	r := RuleInput{Code: p[0], Name: p[1], Category: p[2], Points: pts, CapPeriod: p[4]}
	if p[5] != "" {
		if r.CapCount, err = strconv.Atoi(p[5]); err != nil {
			return RuleInput{}, false
		}
	}
	var ok1, ok2 bool
	r.EvidenceRequired, ok1 = ruleFlag(p[6])
	r.NoticeRequired, ok2 = ruleFlag(p[7])
	return r, ok1 && ok2
}

func ruleFlag(s string) (bool, bool) {
	switch s {
	case "", "0":
		return false, true
	case "1":
		return true, true
	}
	return false, false
}

var ruleField = regexp.MustCompile(`^rules\[(\d+)\]\.`)

// lineErrors gathers the service's errors on rules[i].field under the rules box, each naming the
// line of the box the rule came from.
func lineErrors(p *web.Page, lines []int) {
	type lineErr struct {
		line int
		msg  string
	}
	var found []lineErr
	for k, msg := range p.Errors {
		m := ruleField.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i := web.FormInt(m[1])
		line := i + 1
		if i < len(lines) {
			line = lines[i]
		}
		found = append(found, lineErr{line, msg})
	}
	slices.SortFunc(found, func(a, b lineErr) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.msg, b.msg)) })
	var msgs []string
	if m := p.Errors["rules"]; m != "" {
		msgs = append(msgs, m)
	}
	for _, e := range found {
		msgs = append(msgs, p.T("bank.rule_line_error", e.line, e.msg))
	}
	if len(msgs) > 0 {
		p.Errors["rules"] = strings.Join(msgs, "；")
	}
}
