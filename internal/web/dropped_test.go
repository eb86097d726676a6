package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// TestNoDroppedErrors: no code under internal/ and cmd/ drops what a service says. A handler that
// writes `vs, _ := h.S.Villages(...)` shows an empty page when the database fails and a page of
// the wrong town when the actor may not see it; an unchecked r.ParseForm() reads an unreadable
// form as an empty one. See droppedErrors for the rule.
func TestNoDroppedErrors(t *testing.T) {
	fset := token.NewFileSet()
	for _, dir := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, pos := range droppedErrors(f) {
				p := fset.Position(pos.Pos)
				t.Errorf("%s:%d: %s", strings.TrimPrefix(p.Filename, "../../"), p.Line, pos.What)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDroppedErrorsRule proves the rule on snippets, both ways.
func TestDroppedErrorsRule(t *testing.T) {
	for _, c := range []struct {
		code string
		want int
	}{
		{`vs, _ := h.S.Villages(ctx, a, 1)`, 1},
		{`town, _ = h.S.Town(ctx, id)`, 1},
		{`t, _ := s.People.Town(ctx, id)`, 1},
		{`actor, _ := a.Auth.Authenticate(ctx, tok)`, 1},
		{`x, _ := svc.Find(ctx)`, 1},
		{`_ = h.S.Forget(ctx)`, 1},
		{`var v, _ = h.S.Town(ctx, 1)`, 1},
		{`r.ParseForm()`, 1},
		{`_ = r.ParseForm()`, 1},
		{`req.ParseMultipartForm(1 << 20)`, 1},
		{`n, _ := strconv.Atoi(s)`, 0},
		{`body, _ := json.Marshal(v)`, 0},
		{`x, _ := h.S.find(ctx)`, 0},
		{`x, _ := h.s.Find(ctx)`, 0},
		{`_, err := h.S.Create(ctx)`, 0},
		{`vs, _, err := h.S.VillagesFor(ctx, a, 1, 0)`, 0},
		{`defer rows.Close()`, 0},
		{`if err := r.ParseForm(); err != nil { return }`, 0},
		{`l, ok := zones.Load(name)`, 0},
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package x\nfunc f() {\n"+c.code+"\n}\n", 0)
		if err != nil {
			t.Fatalf("%s: %v", c.code, err)
		}
		if got := len(droppedErrors(f)); got != c.want {
			t.Errorf("%s: %d findings, want %d", c.code, got, c.want)
		}
	}
}

type finding struct {
	Pos  token.Pos
	What string
}

// droppedErrors finds, in f:
//
//   - an assignment whose right side is one call of a service method and whose last left-hand
//     name is _: the error a service returns last is thrown away. A service method is an exported
//     method called on an expression whose last name is S, svc or capitalised (h.S, s.People,
//     a.Auth, svc), which is how handlers and services hold their services; package functions
//     (strconv.Atoi, json.Marshal) are called on a lower-case package name and are not matched.
//   - r.ParseForm() or r.ParseMultipartForm(n) as a statement of its own, or assigned to _ only.
func droppedErrors(f *ast.File) []finding {
	var out []finding
	check := func(lhs []ast.Expr, rhs []ast.Expr) {
		if len(rhs) != 1 || len(lhs) == 0 || !isBlank(lhs[len(lhs)-1]) {
			return
		}
		call, ok := rhs[0].(*ast.CallExpr)
		if !ok {
			return
		}
		if name, ok := serviceMethod(call); ok {
			out = append(out, finding{call.Pos(), "the error of " + name + " is dropped"})
		} else if name, ok := parseForm(call); ok && allBlank(lhs) {
			out = append(out, finding{call.Pos(), "the error of " + name + " is dropped"})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			check(n.Lhs, n.Rhs)
		case *ast.ValueSpec:
			lhs := make([]ast.Expr, len(n.Names))
			for i, id := range n.Names {
				lhs[i] = id
			}
			check(lhs, n.Values)
		case *ast.ExprStmt:
			if call, ok := n.X.(*ast.CallExpr); ok {
				if name, ok := parseForm(call); ok {
					out = append(out, finding{call.Pos(), "the error of " + name + " is not checked"})
				}
			}
		}
		return true
	})
	return out
}

// serviceMethod reports whether call is an exported method called on a service, and names it.
func serviceMethod(call *ast.CallExpr) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !sel.Sel.IsExported() {
		return "", false
	}
	var last string
	switch x := sel.X.(type) {
	case *ast.Ident:
		last = x.Name
	case *ast.SelectorExpr:
		last = x.Sel.Name
	default:
		return "", false
	}
	if last != "S" && last != "svc" && !unicode.IsUpper([]rune(last)[0]) {
		return "", false
	}
	return last + "." + sel.Sel.Name, true
}

// parseForm reports whether call is x.ParseForm() or x.ParseMultipartForm(n).
func parseForm(call *ast.CallExpr) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || (sel.Sel.Name != "ParseForm" && sel.Sel.Name != "ParseMultipartForm") {
		return "", false
	}
	return sel.Sel.Name, true
}

func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

func allBlank(es []ast.Expr) bool {
	for _, e := range es {
		if !isBlank(e) {
			return false
		}
	}
	return true
}
