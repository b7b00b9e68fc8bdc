package readmecheck_test

import (
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/internal/readmecheck"
)

func TestExtract(t *testing.T) {
	md := "# t\n\n```go\na := 1\n```\n\n```\nnot go\n```\n\n```go\nfunc F() {}\n```\n"
	got, err := readmecheck.Extract([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []readmecheck.Snippet{{Line: 3, Code: "a := 1\n"}, {Line: 11, Code: "func F() {}\n"}}
	if len(got) != len(want) {
		t.Fatalf("Extract = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Extract()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestExtractUnclosed(t *testing.T) {
	_, err := readmecheck.Extract([]byte("```go\nx := 1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Extract(unclosed) error = %v, want one naming line 1", err)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		code string
		kind readmecheck.Kind
		has  []string
	}{
		{name: "statements", code: "import \"fmt\"\n\nfmt.Println(ctx)\n", kind: readmecheck.Statements,
			has: []string{"package p", "import \"fmt\"", "func snippet(ctx context.Context) error {", "return nil"}},
		{name: "decls", code: "import (\n\t\"testing\"\n)\n\nfunc TestX(t *testing.T) {}\n", kind: readmecheck.Decls,
			has: []string{"package p", "func TestX(t *testing.T) {}"}},
		{name: "file", code: "package main\n\nfunc main() {}\n", kind: readmecheck.File,
			has: []string{"package main", "func main() {}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := readmecheck.Snippet{Line: 7, Code: tc.code}
			if k := readmecheck.KindOf(s); k != tc.kind {
				t.Errorf("KindOf = %v, want %v", k, tc.kind)
			}
			src, err := readmecheck.Render(s, "p")
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.has {
				if !strings.Contains(string(src), h) {
					t.Errorf("Render = %s\nwant it to contain %q", src, h)
				}
			}
		})
	}
}
