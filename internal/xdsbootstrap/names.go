package xdsbootstrap

import (
	"fmt"
	"strings"
)

// checkLabel reports whether s is a DNS-1123 label, as Kubernetes namespace
// names are: 1 to 63 lower-case letters, digits and '-', starting and ending
// with a letter or digit.
func checkLabel(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("%q is not 1 to 63 bytes", s)
	}
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return fmt.Errorf("%q does not start and end with a lower-case letter or digit", s)
	}
	for i := range len(s) {
		if c := s[i]; !alnum(c) && c != '-' {
			return fmt.Errorf("%q holds %q; want lower-case letters, digits and '-'", s, c)
		}
	}
	return nil
}

// checkSubdomain reports whether s is a DNS-1123 subdomain, as Kubernetes
// pod names are: at most 253 bytes of dot-separated labels.
func checkSubdomain(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("%q is longer than 253 bytes", s)
	}
	for label := range strings.SplitSeq(s, ".") {
		if err := checkLabel(label); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
