package readmecheck

import (
	"fmt"
	"go/format"
	"strings"
)

// Kind says how a snippet becomes a Go file.
type Kind int

// The kinds of snippet.
const (
	File       Kind = iota // a whole file with its package clause
	Decls                  // imports and top-level declarations
	Statements             // imports and statements, wrapped in a func
)

// KindOf classifies s by its first line of code after any imports.
func KindOf(s Snippet) Kind {
	_, rest := splitImports(s.Code)
	first := firstCodeLine(rest)
	switch {
	case strings.HasPrefix(firstCodeLine(s.Code), "package "):
		return File
	case hasDeclPrefix(first):
		return Decls
	default:
		return Statements
	}
}

// IsTest reports whether s declares a test function, so it belongs in a
// _test.go file and is run, not only compiled.
func IsTest(s Snippet) bool {
	return strings.Contains(s.Code, "\nfunc Test") || strings.HasPrefix(firstCodeLine(s.Code), "func Test")
}

// Render turns s into the source of one file of package pkg, formatted.
// A File snippet keeps its own package clause.
func Render(s Snippet, pkg string) ([]byte, error) {
	imports, rest := splitImports(s.Code)
	var src string
	switch KindOf(s) {
	case File:
		src = s.Code
	case Decls:
		src = fmt.Sprintf("package %s\n\n%s\n%s", pkg, imports, rest)
	default:
		tail := "return nil\n"
		if strings.HasPrefix(lastCodeLine(rest), "return ") {
			tail = ""
		}
		src = fmt.Sprintf("package %s\n\nimport \"context\"\n\n%s\n\n// snippet is README line %d.\nfunc snippet(ctx context.Context) error {\n%s\n%s}\n",
			pkg, imports, s.Line, rest, tail)
	}
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("readmecheck: go block at line %d: %w", s.Line, err)
	}
	return out, nil
}

// splitImports splits code into its leading import declarations and the rest.
func splitImports(code string) (imports, rest string) {
	lines := strings.SplitAfter(code, "\n")
	i := 0
	for i < len(lines) {
		t := strings.TrimSpace(lines[i])
		switch {
		case t == "" || strings.HasPrefix(t, "//"):
			i++
		case strings.HasPrefix(t, "import ("):
			j := i
			for j < len(lines) && strings.TrimSpace(lines[j]) != ")" {
				j++
			}
			i = j + 1
		case strings.HasPrefix(t, "import "):
			i++
		default:
			return strings.Join(lines[:i], ""), strings.Join(lines[i:], "")
		}
	}
	return code, ""
}

func lastCodeLine(code string) string {
	lines := strings.Split(code, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, "//") {
			return t
		}
	}
	return ""
}

func firstCodeLine(code string) string {
	for _, l := range strings.Split(code, "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "//") {
			return t
		}
	}
	return ""
}

func hasDeclPrefix(line string) bool {
	for _, p := range []string{"func ", "type ", "var ", "const "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}
