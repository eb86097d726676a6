package web

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
)

func TestPicker(t *testing.T) {
	type village struct {
		ID   int64
		Name string
	}
	a := &App{}
	parse := func(src string) *template.Template {
		tmpl := template.Must(template.New("layout").Funcs(a.funcs()).ParseFS(templateFS, "templates/layout/*.html"))
		return template.Must(tmpl.New("t").Parse(src))
	}
	var b bytes.Buffer
	data := map[string]any{"V": []village{{1, "东村"}, {2, "西<村>"}}, "Sel": int64(2)}
	if err := parse(`{{template "picker" (picker "village_id" .V .Sel "全部村")}}`).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	want := `<select name="village_id"><option value="0">全部村</option><option value="1">东村</option><option value="2" selected>西&lt;村&gt;</option></select>`
	if got := b.String(); got != want {
		t.Errorf("picker:\n got %s\nwant %s", got, want)
	}
	b.Reset()
	err := parse(`{{template "picker" (picker "x" .Sel 0)}}`).Execute(&b, data)
	if err == nil || !strings.Contains(err.Error(), "not a slice") {
		t.Errorf("picker of a non-slice: err = %v", err)
	}
}
