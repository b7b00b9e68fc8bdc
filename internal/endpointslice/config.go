package endpointslice

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The service account files the kubelet mounts into a pod.
const (
	saDir                = "/var/run/secrets/kubernetes.io/serviceaccount/"
	DefaultTokenFile     = saDir + "token"
	DefaultCAFile        = saDir + "ca.crt"
	DefaultNamespaceFile = saDir + "namespace"
)

// Config says how to reach the API server. Zero fields take the in-cluster
// defaults.
type Config struct {
	// APIServer is the API server's URL; "" means
	// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
	APIServer string
	// CAFile, TokenFile and NamespaceFile default to the service account
	// files of a pod.
	CAFile, TokenFile, NamespaceFile string
	// Namespace is the namespace of addresses that do not name one; ""
	// means the contents of NamespaceFile.
	Namespace string
}

// client talks to one API server. The token file is read again for every
// request, as bound service account tokens rotate.
type client struct {
	base      string
	tokenFile string
	tr        *http.Transport
	hc        *http.Client
}

// connect checks the configuration, reads the CA file and fills t's
// namespace. It makes no request.
func (c Config) connect(t *Target) (*client, error) {
	base, err := c.apiServer()
	if err != nil {
		return nil, err
	}
	if t.Namespace == "" {
		if t.Namespace, err = c.namespace(); err != nil {
			return nil, err
		}
	}
	tokenFile := or(c.TokenFile, DefaultTokenFile)
	if _, err := readToken(tokenFile); err != nil {
		return nil, err
	}
	caFile := or(c.CAFile, DefaultCAFile)
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("endpointslice: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("endpointslice: CA file %s holds no PEM certificate", caFile)
	}
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		IdleConnTimeout:     30 * time.Second,
	}
	return &client{base: base, tokenFile: tokenFile, tr: tr, hc: &http.Client{Transport: tr}}, nil
}

// close releases the client's idle connections.
func (c *client) close() { c.tr.CloseIdleConnections() }

func (c Config) apiServer() (string, error) {
	if c.APIServer != "" {
		if !strings.HasPrefix(c.APIServer, "https://") {
			return "", fmt.Errorf("endpointslice: API server %q: want an https:// URL", c.APIServer)
		}
		return strings.TrimSuffix(c.APIServer, "/"), nil
	}
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return "", errors.New("endpointslice: not in a Kubernetes pod: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set and no API server is configured")
	}
	return "https://" + net.JoinHostPort(host, port), nil
}

func (c Config) namespace() (string, error) {
	if c.Namespace != "" {
		return c.Namespace, nil
	}
	file := or(c.NamespaceFile, DefaultNamespaceFile)
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("endpointslice: the address names no namespace and the pod's namespace is unknown: %w", err)
	}
	ns := strings.TrimSpace(string(b))
	if !isLabel(ns) {
		return "", fmt.Errorf("endpointslice: namespace file %s holds %q, not a namespace name", file, ns)
	}
	return ns, nil
}

func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("endpointslice: read service account token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("endpointslice: service account token file %s is empty", file)
	}
	return tok, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
