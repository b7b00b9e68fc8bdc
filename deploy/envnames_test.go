package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// libraryDirs are the folders whose code runs inside a user's process.
var libraryDirs = []string{"../omclient", "../balancer", "../xds", "../internal"}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// envNamesFromCode returns the environment variables meshmatch's library code
// reads, found in its source: string constants named Env* or env*, and
// literal arguments of calls named Getenv, LookupEnv or env.
func envNamesFromCode() (map[string]bool, error) {
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range libraryDirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool { collectEnv(n, names); return true })
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

func collectEnv(n ast.Node, names map[string]bool) {
	switch n := n.(type) {
	case *ast.ValueSpec:
		for i, id := range n.Names {
			if i < len(n.Values) && strings.HasPrefix(strings.ToLower(id.Name), "env") {
				addLiteral(n.Values[i], names)
			}
		}
	case *ast.CallExpr:
		if len(n.Args) > 0 && isEnvCall(n.Fun) {
			addLiteral(n.Args[0], names)
		}
	}
}

func isEnvCall(fun ast.Expr) bool {
	var name string
	switch f := fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
	}
	return name == "Getenv" || name == "LookupEnv" || name == "env"
}

func addLiteral(e ast.Expr, names map[string]bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return
	}
	if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
		names[s] = true
	}
}
