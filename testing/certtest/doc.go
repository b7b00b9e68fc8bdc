// Package certtest makes X.509 certificates for tests: certificate
// authorities, server and client certificates signed by them (including
// expired ones), written as PEM files into a test's temporary directory.
//
// Use it to test code that reads TLS material from files, such as
// omclient.WithTLS or an xDS certificate provider. Keys are ECDSA P-256, so
// making a certificate takes well under a millisecond. Nothing here is fit
// for production use.
//
//	ca := certtest.NewCA(t)
//	server := ca.Issue(t, certtest.Leaf{DNSNames: []string{"frontend.test"}})
//	files := certtest.Write(t, t.TempDir(), "server", ca, server)
package certtest
