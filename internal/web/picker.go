package web

import (
	"fmt"
	"reflect"
)

// Picker is what the "picker" template draws: a select among named records.
type Picker struct {
	Name     string // the form field
	Label    string // for screen readers, when no <label> wraps the select
	All      string // the text of an "all" choice (value 0), or none when empty
	Options  []Option
	Selected int64
}

// Option is one choice of a Picker: a record's id, sent with the form, and its name, shown.
type Option struct {
	ID   int64
	Name string
}

// picker builds a Picker from any slice of structs with an int64 ID and a string Name (villages,
// teams, items), so that every page offers a choice the same way.
func picker(field string, list any, selected int64, all ...string) (Picker, error) {
	p := Picker{Name: field, Selected: selected}
	if len(all) > 0 {
		p.All = all[0]
	}
	if len(all) > 1 {
		p.Label = all[1]
	}
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Slice {
		return p, fmt.Errorf("web: picker %s: %T is not a slice", field, list)
	}
	for i := 0; i < v.Len(); i++ {
		e := reflect.Indirect(v.Index(i))
		id, name := e.FieldByName("ID"), e.FieldByName("Name")
		if e.Kind() != reflect.Struct || !id.IsValid() || !name.IsValid() || !id.CanInt() || name.Kind() != reflect.String {
			return p, fmt.Errorf("web: picker %s: %s has no ID and Name", field, e.Type())
		}
		p.Options = append(p.Options, Option{ID: id.Int(), Name: name.String()})
	}
	return p, nil
}
