// Package readmecheck extracts the Go code blocks of a Markdown file so that
// a test can compile every snippet of the project's README as a user would
// paste it. A snippet is one of:
//
//   - a whole file: it starts with a package clause;
//   - declarations: an optional import block, then top-level func, type,
//     var or const declarations;
//   - statements: an optional import block, then statements, which are
//     wrapped in func(ctx context.Context) error { ...; return nil }.
//
// Every snippet must show the imports it uses; only "context" is added, for
// the wrapper of a statements snippet.
package readmecheck
