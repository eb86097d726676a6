package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"testing"

	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// TestOpenAPICoversEveryAPIRoute proves every registered API route is in the served document and
// that the responses real calls get match the schemas it declares.
func TestOpenAPICoversEveryAPIRoute(t *testing.T) {
	env := servertest.New(t, dbtest.SQLite(t))
	var doc map[string]any
	anon := env.Anonymous()
	if st, body := anon.JSON("GET", "/api/v1/openapi.json", nil, &doc); st != 200 {
		t.Fatalf("openapi: %d %s", st, body)
	}
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi version %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	app, err := env.Sys.App(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rt := range app.Routes() {
		if rt.Summary == "" {
			t.Errorf("%s %s has no summary", rt.Method, rt.Path)
		}
		if !rt.API {
			continue
		}
		n++
		item, ok := paths[rt.Path].(map[string]any)
		if !ok || item[strings.ToLower(rt.Method)] == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
	if n < 8 {
		t.Fatalf("only %d API routes", n)
	}

	// Real responses against their schemas.
	api := env.API(demo.PhoneTownAdmin)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	check := func(method, path, specPath string, status int, body any) {
		t.Helper()
		st, raw := api.JSON(method, path, body, nil)
		if st != status {
			t.Fatalf("%s %s: %d %s", method, path, st, raw)
		}
		op := paths[specPath].(map[string]any)[strings.ToLower(method)].(map[string]any)
		resp := op["responses"].(map[string]any)[fmt.Sprint(status)]
		if resp == nil {
			resp = op["responses"].(map[string]any)["default"]
		}
		content := resp.(map[string]any)["content"].(map[string]any)
		var schema map[string]any
		for _, c := range content {
			schema = c.(map[string]any)["schema"].(map[string]any)
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		if err := validate(v, schema, schemas, "$"); err != nil {
			t.Errorf("%s %s: response does not match its schema: %v", method, path, err)
		}
	}
	check("GET", "/api/v1/villages", "/api/v1/villages", 200, nil)
	check("GET", "/api/v1/residents?q=%E5%BC%A0", "/api/v1/residents", 200, nil)
	check("GET", "/api/v1/residents/1", "/api/v1/residents/{id}", 200, nil)
	check("PATCH", "/api/v1/residents/1", "/api/v1/residents/{id}", 200, map[string]any{"relation": "其他"})
	check("POST", "/api/v1/villages", "/api/v1/villages", 201, map[string]any{"name": "新村"})
	check("POST", "/api/v1/villages", "/api/v1/villages", 409, map[string]any{"name": "新村"})
	check("GET", "/api/v1/residents/999999", "/api/v1/residents/{id}", 404, nil)
}

var refRE = regexp.MustCompile(`^#/components/schemas/(.+)$`)

// validate checks v against the subset of JSON Schema that the document uses.
func validate(v any, s map[string]any, schemas map[string]any, at string) error {
	if ref, ok := s["$ref"].(string); ok {
		m := refRE.FindStringSubmatch(ref)
		if m == nil || schemas[m[1]] == nil {
			return fmt.Errorf("%s: unknown $ref %s", at, ref)
		}
		return validate(v, schemas[m[1]].(map[string]any), schemas, at)
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null", at)
	}
	switch s["type"] {
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", at)
		}
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := o[r.(string)]; !ok {
					return fmt.Errorf("%s: missing %s", at, r)
				}
			}
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := s["additionalProperties"].(map[string]any); ok {
					ps = ap
				} else {
					return fmt.Errorf("%s: unexpected property %s", at, k)
				}
			}
			if err := validate(o[k], ps, schemas, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", at)
		}
		for i, x := range a {
			if err := validate(x, s["items"].(map[string]any), schemas, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: not a string", at)
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: not an integer", at)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: not a boolean", at)
		}
	}
	return nil
}
