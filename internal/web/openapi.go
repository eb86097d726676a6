package web

import (
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenAPI builds the OpenAPI 3 document from the route table: every API route, its parameters, and
// schemas reflected from the example request and response values the route declared.
func (a *App) OpenAPI() map[string]any {
	paths := map[string]any{}
	schemas := map[string]any{}
	problem := map[string]any{"description": "error", "content": map[string]any{"application/problem+json": map[string]any{"schema": Schema(reflect.TypeOf(Problem{}), schemas)}}}
	for _, rt := range a.routes {
		if !rt.API {
			continue
		}
		op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": Schema(reflect.TypeOf(rt.Request), schemas)}}}
		}
		responses := map[string]any{"default": problem}
		statuses := rt.Statuses
		if len(statuses) == 0 {
			statuses = []int{http.StatusOK}
		}
		for _, st := range statuses {
			desc := http.StatusText(st)
			switch {
			case st == http.StatusOK && slices.Contains(statuses, http.StatusCreated):
				desc = "the first answer again, for a replayed idempotency key"
			case st == http.StatusAccepted:
				desc = "accepted: on the public notice board until its period ends"
			}
			ok := map[string]any{"description": desc}
			if rt.Response != nil && st != http.StatusNoContent {
				ok["content"] = map[string]any{"application/json": map[string]any{"schema": Schema(reflect.TypeOf(rt.Response), schemas)}}
			}
			responses[strconv.Itoa(st)] = ok
		}
		op["responses"] = responses
		if rt.Access != Public {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		p := pathParam.ReplaceAllString(rt.Path, "{$1}")
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "siwei API", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\.*\}`)

func operationID(rt Route) string {
	s := strings.NewReplacer("/api/v1/", "", "/", "_", "{", "", "}", "").Replace(rt.Path)
	return strings.ToLower(rt.Method) + "_" + s
}

var timeType = reflect.TypeOf(time.Time{})

// Schema describes a Go type as an OpenAPI schema; named struct types go to components.
func Schema(t reflect.Type, components map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": Schema(t.Elem(), components), "nullable": true}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": Schema(t.Elem(), components)}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if name != "" {
			if _, done := components[name]; done {
				return map[string]any{"$ref": "#/components/schemas/" + name}
			}
			components[name] = map[string]any{} // placeholder against recursion
		}
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			jname, opts, _ := strings.Cut(tag, ",")
			if jname == "" {
				jname = f.Name
			}
			props[jname] = Schema(f.Type, components)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, jname)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		if name == "" {
			return s
		}
		components[name] = s
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}
