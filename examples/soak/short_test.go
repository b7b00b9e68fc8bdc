//go:build soak || istiod || kubernetes

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
)

// shortSoak runs the soak for strategy with -gap 1s, just long enough for
// one round of every fault it can have, prints its summary and checks it.
func shortSoak(t *testing.T, strategy string, adjust func(*config)) string {
	t.Helper()
	out := t.TempDir()
	if dir := os.Getenv("MESHMATCH_SOAK_OUT"); dir != "" {
		out = filepath.Join(dir, strategy)
	}
	args := []string{"-strategy", strategy, "-gap", "1s", "-drain", "2m", "-progress", "30s", "-out", out, "-seed", "1"}
	if d := os.Getenv("MESHMATCH_SOAK_DURATION"); d != "" {
		args = append(args, "-duration", d, "-gap", "10s")
	}
	c, err := parse(args, os.Stderr)
	require.NoError(t, err)
	if adjust != nil {
		adjust(&c)
	}
	c.fitDuration = os.Getenv("MESHMATCH_SOAK_DURATION") == ""
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var stdout, stderr clitest.Output
	rep, err := c.soak(ctx, &stdout, &stderr)
	t.Logf("soak -strategy %s:\n%s", strategy, stdout.String())
	if s := stderr.String(); s != "" {
		t.Logf("stderr:\n%s", s)
	}
	require.NoError(t, err)
	require.NoError(t, rep.verdict())
	sum := stdout.String()
	for _, name := range []string{"lost", "duplicated", "unseen", "failed outside fault windows"} {
		assert.Equal(t, 0, countOf(t, sum, name), name)
	}
	assert.Positive(t, rep.counts.created)
	assert.Equal(t, rep.counts.created, rep.counts.seen, "every player was assigned")
	done := map[string]bool{}
	for _, d := range rep.faults {
		done[d.Kind] = true
	}
	require.NotEmpty(t, rep.kinds)
	for _, k := range rep.kinds {
		assert.True(t, done[k], "fault %s happened", k)
	}
	return sum
}

// countOf reads "name: N" from the summary.
func countOf(t *testing.T, sum, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: (\d+)$`).FindStringSubmatch(sum)
	require.NotNil(t, m, "no %q line in the summary", name)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}
