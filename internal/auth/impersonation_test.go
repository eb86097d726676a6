package auth_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoActorImpersonates: outside this package, no program code builds an actor with powers of
// its own (an auth.Actor literal carrying Grants, or acting for a resident), gives an actor grants
// or a resident to act for, or borrows the command-line system actor (auth.System), except where
// listed below with the reason. A pillar that needs to pay points does so through the bank's Earn
// under its own permission; it must not pretend to be someone who may (issue 12: 微志愿 paid its
// volunteers as a made-up district admin). Tests are not scanned: they build the actors they test.
func TestNoActorImpersonates(t *testing.T) {
	// Who may still build or borrow such an actor, and how many times in the file at most.
	allowed := map[string]int{
		// Command-line jobs (import, export, bench, --init-admin) run as whoever operates the server.
		"cmd/siwei/main.go":  1,
		"cmd/siwei/excel.go": 3,
		"cmd/siwei/bench.go": 1,
		// The district bench reads as the district's admin.
		"cmd/siwei/benchdistrict.go": 1,
		// The demo fills a town as its staff and residents would, acting for residents.
		"internal/demo/volunteer.go":      2,
		"internal/demo/consult.go":        4, // residents' topics, support and visit ratings, typed by the village office
		"internal/demo/bank.go":           2,
		"internal/demo/school.go":         1, // as the town's party-building office
		"internal/demo/school_surveys.go": 1, // the branches of villages without a demo login answer as the system
		// The bank's own scheduler rejects an over-cap claim when its notice ends: nobody asked,
		// and the audit log names the scheduler.
		"internal/bank/claims_review.go": 1,
		// 微协商's scheduler escalates a referral past its deadline, likewise on nobody's request.
		"internal/consult/referrals.go": 1,
		// `siwei report monthly` reads a town's figures for whoever operates the server.
		"cmd/siwei/report.go": 1,
	}
	root := moduleRoot(t)
	found := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || rel == "internal/auth" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		found[rel] = append(found[rel], impersonations(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, whys := range found {
		if len(whys) > allowed[file] {
			t.Errorf("%s builds or borrows an actor with powers of its own %d times (%d allowed):\n\t%s", file, len(whys), allowed[file], strings.Join(whys, "\n\t"))
		}
	}
	// The scan must see what it looks for, or it proves nothing.
	if len(found["internal/demo/bank.go"]) == 0 || len(found["cmd/siwei/excel.go"]) == 0 {
		t.Errorf("the scan found none of the known cases: %v", found)
	}
}

// impersonations lists, in a file that imports siwei/internal/auth, the auth.Actor literals with
// Grants, ActingFor or unkeyed fields, the assignments to an actor's Grants or ActingFor, and the
// calls of auth.System.
func impersonations(fset *token.FileSet, f *ast.File) []string {
	name := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"siwei/internal/auth"` {
			name = "auth"
			if imp.Name != nil {
				name = imp.Name.Name
			}
		}
	}
	if name == "" {
		return nil
	}
	isAuth := func(e ast.Expr, sel string) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok || s.Sel.Name != sel {
			return false
		}
		x, ok := s.X.(*ast.Ident)
		return ok && x.Name == name
	}
	var out []string
	at := func(n ast.Node, what string) { out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what)) }
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if !isAuth(n.Type, "Actor") {
				return true
			}
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					at(n, "auth.Actor literal without field names")
					break
				}
				if k, ok := kv.Key.(*ast.Ident); ok && slices.Contains([]string{"Grants", "ActingFor"}, k.Name) {
					at(n, "auth.Actor literal with "+k.Name)
				}
			}
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if s, ok := l.(*ast.SelectorExpr); ok && (s.Sel.Name == "Grants" || s.Sel.Name == "ActingFor") {
					at(n, "assignment to ."+s.Sel.Name)
				}
			}
		case *ast.CallExpr:
			if isAuth(n.Fun, "System") {
				at(n, "auth.System")
			}
		}
		return true
	})
	return out
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
