package web

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestCatalogsHaveTheSameKeys holds web's own messages to every language having every key. The
// whole catalog, with the pillars' messages, is checked in internal/server, which sees them all.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Langs {
		for _, other := range Langs {
			for _, k := range c.Keys(lang) {
				if _, ok := c[other][k]; !ok {
					t.Errorf("%s has %q, %s does not", lang, k, other)
				}
				if strings.TrimSpace(c[other][k]) == "" {
					t.Errorf("%s: %q is empty", other, k)
				}
			}
		}
	}
}

func TestLoadCatalog(t *testing.T) {
	pillar := func(zh, en string) fstest.MapFS {
		m := fstest.MapFS{}
		if zh != "" {
			m["locales/zh-CN.json"] = &fstest.MapFile{Data: []byte(zh)}
		}
		if en != "" {
			m["locales/en.json"] = &fstest.MapFile{Data: []byte(en)}
		}
		return m
	}
	t.Run("OK", func(t *testing.T) {
		c, err := LoadCatalog(pillar(`{"x.title": "甲"}`, `{"x.title": "X"}`), pillar(`{"y.title": "乙"}`, `{"y.title": "Y"}`))
		if err != nil {
			t.Fatal(err)
		}
		if c.T("zh-CN", "x.title") != "甲" || c.T("en", "y.title") != "Y" || c.T("en", "error.not_found") == "error.not_found" {
			t.Errorf("the pillars' and web's messages are not all loaded: %q %q %q", c.T("zh-CN", "x.title"), c.T("en", "y.title"), c.T("en", "error.not_found"))
		}
	})
	for _, tc := range []struct {
		name    string
		pillars []fstest.MapFS
		want    []string // in the error
	}{
		{"ErrDuplicateBetweenPillars", []fstest.MapFS{pillar(`{"x.a": "甲"}`, `{"x.a": "A"}`), pillar(`{"x.a": "乙"}`, `{"x.a": "B"}`)},
			[]string{`"x.a"`, "pillar 1 locales/zh-CN.json", "pillar 2 locales/zh-CN.json"}},
		{"ErrDuplicateOfWeb", []fstest.MapFS{pillar(`{"error.not_found": "甲"}`, `{}`)},
			[]string{`"error.not_found"`, "web locales/zh-CN.json", "pillar 1 locales/zh-CN.json"}},
		{"ErrMissingLanguage", []fstest.MapFS{pillar(`{"x.a": "甲"}`, "")},
			[]string{"pillar 1 locales/en.json"}},
		{"ErrBadJSON", []fstest.MapFS{pillar(`{"x.a": "甲"`, `{}`)},
			[]string{"pillar 1 locales/zh-CN.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fss []fs.FS
			for _, p := range tc.pillars {
				fss = append(fss, p)
			}
			_, err := LoadCatalog(fss...)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
