// Package tlsfiles implements gRPC transport credentials whose CA bundle,
// certificate and key come from PEM files that may change while the program
// runs, as when cert-manager or a Kubernetes Secret volume rotates them.
//
// The credentials read the files on every TLS handshake, that is once per new
// connection and not per call, and parse them again only when their content
// changed. No goroutine watches the files, so there is nothing to stop.
// Connections made before a change keep the certificates they were made with;
// the next connection uses the new files. Files should be replaced
// atomically (written elsewhere and renamed, as Kubernetes does): a handshake
// that reads a half-written file or a certificate without its new key fails,
// and gRPC's reconnect tries again.
//
// Errors name the file and the problem and start with "omclient: tls: ",
// since package omclient is where users configure these credentials.
package tlsfiles
