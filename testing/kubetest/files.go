package kubetest

import (
	"fmt"
	"os"
)

func writeFile(path, body string) error {
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	return nil
}
