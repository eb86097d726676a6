package server_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/volunteer"
	"siwei/internal/web"
)

// loadCatalog is the app's whole catalog: web's messages and every pillar's, as App loads them.
func loadCatalog() (web.Catalog, error) {
	return web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, volunteer.Messages)
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range web.Langs {
		for _, other := range web.Langs {
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

// keyUse finds message keys written literally in templates and Go code.
var keyUse = []*regexp.Regexp{
	regexp.MustCompile(`\.T "([a-z_]+\.[a-z_.]+)"`),
	regexp.MustCompile(`"((?:error|field|people|auth|import|export|flash|login|nav|password|slip)\.[a-z_]+)"`),
}

func TestEveryKeyUsedIsInTheCatalog(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".html") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range keyUse {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if strings.HasSuffix(m[1], ".html") || strings.HasSuffix(m[1], ".xlsx") {
					continue // a file name, not a key
				}
				n++
				if _, ok := c[web.DefaultLang][m[1]]; !ok {
					t.Errorf("%s uses %q, which is not in the catalog", path, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("found only %d key uses; is the scan broken?", n)
	}
}
