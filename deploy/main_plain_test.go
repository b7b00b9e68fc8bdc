//go:build !kubernetes

package deploy_test

import "testing"

func runTests(m *testing.M) int { return leakChecked{m}.Run() }
