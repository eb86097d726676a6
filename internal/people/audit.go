package people

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
)

// The audit page writes each entry as a sentence ("王店员 把 肥皂 入库 50 件") and the fields it
// changed as 字段: 旧 → 新, from what the pillars wrote: the action, the entity, and a summary that
// is a before/after pair in JSON (auth.Summarize) or a line of text.

// An audit action may have a sentence of its own in the catalog, "audit.sentence." + the action,
// naming the summary's fields in braces: {name}, {quantity}, and {old.status} for a field's value
// before. {who} is the actor, {for} the resident acted for, {entity} the record's name, {text} a
// summary written as text. An action without one is written "audit.fallback": who, the action's
// label, the record's name.

// AuditFields are the summary fields the page shows as changes, in this order, each labelled
// "audit.field." + it. Others (ids, idempotency keys) are for the record, not for the page.
var AuditFields = []string{
	"name", "kind", "status", "gender", "birth", "id", "phone", "relation", "party", "care", "village", "household",
	"address", "head", "number", "price", "quantity", "source", "note", "description", "points", "classes",
	"limit_count", "limit_period", "capacity", "low_stock", "active", "date", "reason", "decision", "Role", "count",
}

// auditTexts are the actions whose summary is a line of text with its fields in order, space
// separated; the last takes the rest of the line.
var auditTexts = map[string][]string{
	"volunteer.need.create": {"category", "for_name"},
}

// auditCodes say which catalog family translates a field's code, by entity and field: the same
// "status" is a resident's, a claim's or a card's.
var auditCodes = map[string]map[string]string{
	"resident":       {"status": "status.", "gender": "gender.", "care": "care."},
	"claim":          {"status": "bank.claim_status."},
	"card":           {"status": "bank.card_status."},
	"objection":      {"status": "bank.objection_status."},
	"item":           {"kind": "bank.item_kind.", "source": "bank.source.", "classes": "class.", "limit_period": "bank.per."},
	"account":        {"Role": "role."},
	"volunteer_need": {"category": "volunteer.category."},
}

// auditIDs are the summary fields that hold the id of a record the registry names.
var auditIDs = map[string]string{"head": "resident", "VillageID": "village"}

// AuditLine is an audit entry as the page writes it.
type AuditLine struct {
	auth.AuditEntry
	Sentence string
	Changes  []AuditChange
}

// AuditChange is one field an entry changed; Old is empty for a field it only set.
type AuditChange struct {
	Field, Old, New string
}

// AuditNames are the names of the records audit entries name by id: residents (the entity, or a
// household's head), households, villages and accounts, keyed "resident:12". The registry knows
// these; other pillars' entries carry their names in their summaries.
func (s *Service) AuditNames(ctx context.Context, entries []auth.AuditEntry) (map[string]string, error) {
	ids := map[string][]int64{}
	add := func(kind string, id int64) {
		if id > 0 && !slices.Contains(ids[kind], id) {
			ids[kind] = append(ids[kind], id)
		}
	}
	for _, e := range entries {
		switch e.Entity {
		case "resident", "household", "village", "account":
			add(e.Entity, e.EntityID)
		}
		before, after, _ := auditSummary(e)
		for _, m := range []map[string]any{before, after} {
			for field, kind := range auditIDs {
				if f, ok := m[field].(float64); ok {
					add(kind, int64(f))
				}
			}
		}
	}
	tables := map[string]string{"resident": "residents", "household": "households", "village": "villages", "account": "accounts"}
	names := map[string]string{}
	for kind, list := range ids {
		col := "name"
		if kind == "household" {
			col = "number"
		}
		marks := make([]string, len(list))
		args := make([]any, len(list))
		for i, id := range list {
			marks[i], args[i] = "$"+strconv.Itoa(i+1), id
		}
		err := func() error {
			rows, err := s.DB.Read().QueryContext(ctx, fmt.Sprintf(`SELECT id, %s FROM %s WHERE id IN (%s)`, col, tables[kind], strings.Join(marks, ", ")), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					return err
				}
				names[kind+":"+strconv.FormatInt(id, 10)] = name
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("people: audit names: %w", err)
		}
	}
	return names, nil
}

// auditSummary reads an entry's summary: a before/after pair, or text (ok false).
func auditSummary(e auth.AuditEntry) (before, after map[string]any, ok bool) {
	var c struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}
	if !strings.HasPrefix(e.Summary, "{") || json.Unmarshal([]byte(e.Summary), &c) != nil {
		return nil, nil, false
	}
	return c.Before, c.After, true
}

// AuditLines writes entries as sentences and changes in the language of t.
func AuditLines(t func(key string, args ...any) string, entries []auth.AuditEntry, names map[string]string) []AuditLine {
	out := make([]AuditLine, 0, len(entries))
	for _, e := range entries {
		out = append(out, auditLine(t, e, names))
	}
	return out
}

func auditLine(t func(key string, args ...any) string, e auth.AuditEntry, names map[string]string) AuditLine {
	before, after, ok := auditSummary(e)
	text := ""
	if !ok {
		text = e.Summary
		if fields, has := auditTexts[e.Action]; has {
			after = map[string]any{}
			for i, part := range strings.SplitN(e.Summary, " ", len(fields)) {
				after[fields[i]] = part
			}
			text = ""
		}
	}
	v := auditValues{t: t, entity: e.Entity, names: names}
	entity := names[e.Entity+":"+strconv.FormatInt(e.EntityID, 10)]
	if entity == "" {
		entity = v.format("name", first(after["name"], before["name"]))
	}
	fill := func(field string) string {
		switch field {
		case "who":
			return e.ActorName
		case "for":
			return e.ForName
		case "entity":
			return entity
		case "text":
			return text
		case "action":
			return t("audit." + e.Action)
		}
		if f, isOld := strings.CutPrefix(field, "old."); isOld {
			return v.format(f, before[f])
		}
		return v.format(field, first(after[field], before[field]))
	}
	sentence, own := t("audit.sentence."+e.Action), true
	if sentence == "audit.sentence."+e.Action { // the catalog has none: T gives the key back
		sentence, own = t("audit.fallback"), false
	}
	line := AuditLine{AuditEntry: e, Sentence: fillIn(sentence, fill)}
	if !own && text != "" {
		line.Sentence += t("audit.colon") + text
	}
	if before == nil || after == nil {
		return line
	}
	for _, f := range AuditFields {
		old, now := v.format(f, before[f]), v.format(f, after[f])
		if _, was := before[f]; !was {
			if _, is := after[f]; !is {
				continue
			}
		}
		if old != now {
			line.Changes = append(line.Changes, AuditChange{Field: t("audit.field." + f), Old: old, New: now})
		}
	}
	return line
}

func first(xs ...any) any {
	for _, x := range xs {
		if x != nil {
			return x
		}
	}
	return nil
}

// fillIn replaces each {field} of a sentence with its value; the words around an empty value
// close up.
func fillIn(sentence string, value func(field string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(sentence, '{')
		j := -1
		if i >= 0 {
			j = strings.IndexByte(sentence[i+1:], '}')
		}
		if j < 0 {
			b.WriteString(sentence)
			break
		}
		b.WriteString(sentence[:i])
		b.WriteString(value(sentence[i+1 : i+1+j]))
		sentence = sentence[i+2+j:]
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// auditValues writes a summary's values for people: codes through their catalog family, ids of
// residents as names, yes and no, lists joined.
type auditValues struct {
	t      func(key string, args ...any) string
	entity string
	names  map[string]string
}

func (v auditValues) format(field string, x any) string {
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		if fam, ok := auditCodes[v.entity][field]; ok && x != "" {
			return v.t(fam + x)
		}
		return x
	case bool:
		if x {
			return v.t("audit.yes")
		}
		return v.t("audit.no")
	case float64:
		if kind, ok := auditIDs[field]; ok {
			return v.names[kind+":"+strconv.FormatInt(int64(x), 10)]
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s := v.format(field, e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, v.t("audit.and"))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(x))
		for _, k := range keys {
			parts = append(parts, k+" "+v.format("", x[k]))
		}
		return strings.Join(parts, v.t("audit.and"))
	}
	return fmt.Sprint(x)
}
