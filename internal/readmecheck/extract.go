package readmecheck

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Snippet is one Go code block of a Markdown file.
type Snippet struct {
	Line int    // line of the opening fence, 1-based
	Code string // the block's text, without the fences
}

// Extract returns the ```go blocks of md in order. An unterminated block is
// an error, so a broken fence cannot hide code from the check.
func Extract(md []byte) ([]Snippet, error) {
	var (
		out  []Snippet
		cur  *Snippet
		body strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```go":
			cur = &Snippet{Line: n}
			body.Reset()
		case cur != nil && trimmed == "```":
			cur.Code = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("readmecheck: %w", err)
	}
	if cur != nil {
		return nil, fmt.Errorf("readmecheck: go block at line %d is not closed", cur.Line)
	}
	return out, nil
}
