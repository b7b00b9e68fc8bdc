package readmecheck_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/internal/readmecheck"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestREADMECompiles compiles (go vet) every Go block of the README and runs
// the ones that are tests, the way a user would paste them.
func TestREADMECompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool; skipped with -short")
	}
	md, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets, err := readmecheck.Extract(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(snippets) < 4 {
		t.Fatalf("README.md has %d go blocks, want the frontend, director, mmf and test ones at least", len(snippets))
	}
	root := snippetRoot(t)
	var all, tests []string
	for i, s := range snippets {
		dir := writeSnippet(t, root, i, s)
		all = append(all, dir)
		if readmecheck.IsTest(s) {
			tests = append(tests, dir)
		}
	}
	if out, err := goTool(t, append([]string{"vet"}, all...)...); err != nil {
		t.Fatalf("go vet of the README's go blocks failed: %v\n%s\n%s", err, out, legend(all, snippets))
	}
	if len(tests) == 0 {
		t.Fatal("README.md has no go block with a test function; the in-memory core example must be a complete test")
	}
	if out, err := goTool(t, append([]string{"test", "-count=1"}, tests...)...); err != nil {
		t.Fatalf("go test of the README's test blocks failed: %v\n%s\n%s", err, out, legend(all, snippets))
	}
}

// TestBrokenSnippetFails shows the check can fail: a snippet calling a
// function that does not exist is refused by go vet.
func TestBrokenSnippetFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool; skipped with -short")
	}
	md := []byte("text\n\n```go\nimport \"github.com/meshmatch/meshmatch/omclient\"\n\n_, _ = omclient.DialFrontendTypo(\"\")\n```\n")
	snippets, err := readmecheck.Extract(md)
	if err != nil || len(snippets) != 1 {
		t.Fatalf("Extract = %d snippets, %v; want 1, nil", len(snippets), err)
	}
	dir := writeSnippet(t, snippetRoot(t), 0, snippets[0])
	out, err := goTool(t, "vet", dir)
	if err == nil {
		t.Fatalf("go vet of a snippet calling a missing function succeeded; output:\n%s", out)
	}
	if !strings.Contains(out, "DialFrontendTypo") {
		t.Errorf("go vet output does not name the missing function:\n%s", out)
	}
}

// snippetRoot makes a directory inside the module (so snippets import
// meshmatch packages as the main module's) whose name starts with "_", so
// that ./... never picks it up.
func snippetRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp(".", "_snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	return root
}

func writeSnippet(t *testing.T, root string, i int, s readmecheck.Snippet) string {
	t.Helper()
	pkg := fmt.Sprintf("snippet%d", i)
	dir := filepath.Join(root, pkg)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := readmecheck.Render(s, pkg)
	if err != nil {
		t.Fatal(err)
	}
	name := "snippet.go"
	if readmecheck.IsTest(s) {
		name = "snippet_test.go"
		doc := fmt.Sprintf("// Package %s holds README.md's go block at line %d.\npackage %s\n", pkg, s.Line, pkg)
		if readmecheck.KindOf(s) == readmecheck.File {
			doc = "package " + packageName(src) + "\n"
		}
		writeFile(t, filepath.Join(dir, "doc.go"), []byte(doc))
	}
	writeFile(t, filepath.Join(dir, name), src)
	return "./" + filepath.ToSlash(dir)
}

func packageName(src []byte) string {
	for _, l := range strings.Split(string(src), "\n") {
		if name, ok := strings.CutPrefix(l, "package "); ok {
			return strings.TrimSuffix(strings.TrimSpace(name), "_test")
		}
	}
	return "main"
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func goTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH: %v", err)
	}
	cmd := exec.CommandContext(ctx, gobin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func legend(dirs []string, snippets []readmecheck.Snippet) string {
	var b strings.Builder
	for i, d := range dirs {
		fmt.Fprintf(&b, "%s = README.md line %d\n", d, snippets[i].Line)
	}
	return b.String()
}
