package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Question is what a page asks before an action that cannot be undone (挂失, 冲正, closing a
// post): what will happen, by name, and why it is done. The answer's reason is kept with the
// action (its audit entry).
type Question struct {
	Title     string // message key of the page's title: "挂失这张卡？"
	TitleArgs []any  // fill the title: "用 %d 分兑换 %s？"
	What      string // message key of what will happen, filled with Args
	Args      []any
	Back      string // where 取消 goes: the page the action was offered on
	// NoReason asks for the confirmation only: for what a person does for themself and may still
	// undo (a resident's own order), or for routine work that is its own reason (批量开卡, opening
	// cards for a village's residents who have none), where a reason would mean nothing.
	NoReason bool
}

// confirmView is what the confirmation page draws.
type confirmView struct {
	Question
	Action string
	Fields []confirmField
	Text   string
}

type confirmField struct{ Name, Value string }

// maxReason bounds the reason given for an action that cannot be undone.
const maxReason = 200

// Confirmed answers whether the posted form confirms the action, with its reason: confirmed=1
// and a reason of at most 200 characters (none with q.NoReason: the reason is then ""). Otherwise it shows the confirmation page, a form that
// posts the same fields back to the same address with the reason (no JavaScript needed), and
// returns ok false: the handler returns and nothing is done. The caller has already checked that
// the person may take the action on the record named, so that the page is never a way to learn
// of a record they may not see.
func (a *App) Confirmed(w http.ResponseWriter, r *http.Request, form url.Values, q Question) (reason string, ok bool) {
	reason = strings.TrimSpace(form.Get("reason"))
	status := http.StatusOK
	p := a.NewPage(r, q.Title, nil)
	if len(q.TitleArgs) > 0 {
		p.Title = p.T(q.Title, q.TitleArgs...)
	}
	if form.Get("confirmed") == "1" {
		switch {
		case q.NoReason:
			return "", true
		case reason == "":
			p.Errors = map[string]string{"reason": p.T("field.required")}
		case utf8.RuneCountInString(reason) > maxReason:
			p.Errors = map[string]string{"reason": p.T("field.too_long")}
		default:
			return reason, true
		}
		status = http.StatusUnprocessableEntity
	}
	v := confirmView{Question: q, Action: r.URL.Path, Text: p.T(q.What, q.Args...)}
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "confirmed" && k != "reason" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, val := range form[k] {
			v.Fields = append(v.Fields, confirmField{k, val})
		}
	}
	p.Data = v
	p.Form = url.Values{"reason": {reason}}
	a.Render(w, r, status, "confirm.html", p)
	return "", false
}
