package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/sipedge/sipedge/sip"
)

// ListenTLS opens a TLS listener on addr with cfg (certificates or
// GetCertificate, client verification); TLS 1.2 is the least it accepts
// whatever cfg says. The handshake runs in each connection's goroutine
// within HandshakeTimeout, never in the accept loop.
func (m *Manager) ListenTLS(addr string, cfg *tls.Config) (netip.AddrPort, error) {
	cfg, err := serverTLS(cfg, "tls", addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return m.listenStream(addr, TLS, cfg)
}

// serverTLS checks that cfg can serve (a certificate, or a way to get
// one) and returns a copy that accepts nothing below TLS 1.2.
func serverTLS(cfg *tls.Config, kind, addr string) (*tls.Config, error) {
	if cfg == nil || len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, fmt.Errorf("transport: listen %s %s: no certificate", kind, addr)
	}
	cfg = cfg.Clone()
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	return cfg, nil
}

// handshake finishes the server or client handshake of tc within
// HandshakeTimeout; false means the connection must close.
func (c *streamConn) handshake(tc *tls.Conn) bool {
	m := c.m
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		m.count(&m.stats.HandshakesFailed)
		m.logLimited("tls-handshake", "transport: TLS handshake failed", "remote", c.flow.Remote, "err", err)
		return false
	}
	return true
}

// SendTLS sends msg over a TLS connection to remote: one already open, else
// a new one that verifies serverName (the host of the target URI) against
// Config.TLSClient's roots. It returns the connection's flow.
func (m *Manager) SendTLS(remote netip.AddrPort, serverName string, msg *sip.Message) (FlowID, error) {
	return m.sendStream(TLS, remote, serverName, msg)
}

// ClientVerification is how a TLS listener treats client certificates,
// as repro's TlsClientVerification.
type ClientVerification uint8

// The verification modes.
const (
	// VerifyNone asks for no client certificate.
	VerifyNone ClientVerification = iota
	// VerifyOptional checks a certificate the client offers.
	VerifyOptional
	// VerifyMandatory refuses a client without a valid certificate.
	VerifyMandatory
)

// ClientAuth returns the crypto/tls setting for v.
func (v ClientVerification) ClientAuth() tls.ClientAuthType {
	switch v {
	case VerifyOptional:
		return tls.VerifyClientCertIfGiven
	case VerifyMandatory:
		return tls.RequireAndVerifyClientCert
	}
	return tls.NoClientCert
}

// CertFile serves a certificate and key read from files, and reads them
// again on Reload: connections made after a reload get the new one, open
// ones keep theirs.
type CertFile struct {
	certPath, keyPath string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCertFile reads a PEM certificate chain and its key.
func LoadCertFile(certPath, keyPath string) (*CertFile, error) {
	c := &CertFile{certPath: certPath, keyPath: keyPath}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on error the certificate in use stays.
func (c *CertFile) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return fmt.Errorf("transport: load certificate %s: %w", c.certPath, err)
	}
	c.cur.Store(&cert)
	return nil
}

// GetCertificate serves the current certificate (tls.Config.GetCertificate).
func (c *CertFile) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}
