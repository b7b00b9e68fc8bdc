//go:build !kubernetes

package deploy_test

import (
	"testing"

	"github.com/meshmatch/meshmatch/testing/kubetest"
)

func runTests(m *testing.M) int { return kubetest.LeakChecked(m, nil).Run() }
