package templates

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/resolver"
)

// resolverReasons returns the values of package resolver's exported
// constants named Reason…, read from its source, so that a reason added
// there is seen here without a change to this test.
func resolverReasons(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "resolver", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !id.IsExported() || !strings.HasPrefix(id.Name, "Reason") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", fset.Position(id.Pos()), id.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					reasons = append(reasons, v)
				}
			}
		}
	}
	// The parse found the constants (a few of them, as a check).
	for _, r := range []string{resolver.ReasonRefused, resolver.ReasonUnresponsive, resolver.ReasonAuthoritative} {
		if !slices.Contains(reasons, r) {
			t.Fatalf("reason %q not found among resolver's constants %v", r, reasons)
		}
	}
	return reasons
}

// TestResolverReasonsExplained: every reason package resolver declares
// that a mailed finding can carry (its verdict is lame, or it is one of
// the two silences that make a finding unresponsive) is one reasons.tmpl
// must explain, and has words of its own; and reasons.tmpl explains no
// reason resolver does not have.
func TestResolverReasonsExplained(t *testing.T) {
	s := mustLoad(t, "")
	reasons := resolverReasons(t)
	f := finding{Zone: "zone.example.", Server: "192.0.2.7", Status: "lame", Port: 53, Reason: "intermittent_servfail"}
	fallback, err := s.Explain("intermittent_servfail", f)
	if err != nil {
		t.Fatal(err)
	}
	explained := ExplainedReasons()
	for _, r := range reasons {
		mailed := resolver.VerdictOf(r) == resolver.VerdictLame ||
			r == resolver.ReasonUnresponsive || r == resolver.ReasonNoDNSService
		if !mailed {
			continue
		}
		if !slices.Contains(explained, r) {
			t.Errorf("resolver's reason %q is not among the reasons reasons.tmpl must explain", r)
		}
		f.Reason = r
		if got, err := s.Explain(r, f); err != nil || got == fallback {
			t.Errorf("%s: explained by the fallback (%v)", r, err)
		}
	}
	for _, r := range explained {
		if !slices.Contains(reasons, r) {
			t.Errorf("reasons.tmpl must explain %q, which is not a reason of package resolver", r)
		}
	}
}
