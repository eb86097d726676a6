package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"testing"

	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
	"siwei/internal/server"
	"siwei/internal/web"
)

// bodyType is an API route's request body type.
type bodyType struct {
	route string
	typ   reflect.Type
}

// apiBodies lists the request body types of every API route the assembled app registers.
func apiBodies(f *testing.F) []bodyType {
	sys, err := server.New(dbtest.SQLite(f), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	app, err := sys.App(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	var out []bodyType
	for _, rt := range app.Routes() {
		if !rt.API || rt.Request == nil {
			continue
		}
		t := reflect.TypeOf(rt.Request)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		out = append(out, bodyType{route: rt.Method + " " + rt.Path, typ: t})
	}
	if len(out) < 5 {
		f.Fatalf("only %d API routes take a body", len(out))
	}
	return out
}

// decode runs web.Decode on body into a new value of t, as a handler would.
func decode(t reflect.Type, body []byte) (reflect.Value, error) {
	v := reflect.New(t)
	r := httptest.NewRequest("POST", "/api/v1/x", bytes.NewReader(body))
	return v, web.Decode(r, v.Interface())
}

// FuzzDecode feeds every API route's body decoder the same bytes. A refusal is an Invalid
// *errs.Error with the key error.bad_json whose fields name what failed with a catalog key; an
// accepted body is one JSON value, and the value it gave encodes to JSON that decodes to the same
// value and encodes to the same bytes again.
func FuzzDecode(f *testing.F) {
	bodies := apiBodies(f)
	cat, err := loadCatalog()
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range bodies {
		ex, err := json.Marshal(reflect.New(b.typ).Interface())
		if err != nil {
			f.Fatalf("%s: %v", b.route, err)
		}
		f.Add(ex)
	}
	for _, s := range []string{
		`{"name":"张三","gender":"M","birth_date":"1990-01-01","care_tags":["elderly"]}`,
		`{"phone":"13900000001","password":"siwei-demo"}`,
		`{"village_id":"1"}`, `{"village_id":1e400}`, `{"no_such_field":1}`, `{"NAME":"x","name":"y"}`,
		`null`, `[]`, `"x"`, ``, `{`, `{}{}`, "{\"name\":\"\xff\"}", `{"name":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, b := range bodies {
			v, err := decode(b.typ, body)
			if err != nil {
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid || e.Key != "error.bad_json" {
					t.Fatalf("%s: %q refused with %#v", b.route, body, err)
				}
				for _, fe := range e.Fields {
					if (fe.Key != "field.wrong_type" && fe.Key != "field.unknown") || cat.T(web.DefaultLang, fe.Key) == fe.Key {
						t.Fatalf("%s: %q refused with field %+v", b.route, body, fe)
					}
				}
				continue
			}
			if !json.Valid(body) {
				t.Fatalf("%s: accepted %q, which is not one JSON value", b.route, body)
			}
			enc, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatalf("%s: %q decoded to %#v, which does not encode: %v", b.route, body, v.Interface(), err)
			}
			again, err := decode(b.typ, enc)
			if err != nil {
				t.Fatalf("%s: %q decoded and encoded as %s, which is refused: %v", b.route, body, enc, err)
			}
			if !reflect.DeepEqual(again.Interface(), v.Interface()) {
				t.Fatalf("%s: %q decoded to %#v, through %s to %#v", b.route, body, v.Interface(), enc, again.Interface())
			}
			if enc2, _ := json.Marshal(again.Interface()); !bytes.Equal(enc2, enc) {
				t.Fatalf("%s: %q encodes as %s, then as %s", b.route, body, enc, enc2)
			}
		}
	})
}
