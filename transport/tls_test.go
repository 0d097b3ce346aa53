package transport

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// testPKI is a CA and certificates it signed, made for one test.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	serial int64
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sipedge test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{ca: ca, caKey: key, pool: pool, serial: 1}
}

// issue returns a certificate for name (a DNS name or IP address) that
// serves both ends, and its serial number.
func (p *testPKI) issue(t *testing.T, name string) (tls.Certificate, int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, p.serial
}

// writePEM writes cert and key to files in dir.
func writePEM(t *testing.T, dir string, cert tls.Certificate) (certPath, keyPath string) {
	t.Helper()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certPath, keyPath
}

func newTLS(t *testing.T, cfg Config, tlsCfg *tls.Config) (*Manager, inbox, netip.AddrPort) {
	t.Helper()
	m, box := newManager(t, cfg)
	local, err := m.ListenTLS("127.0.0.1:0", tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, box, local
}

func TestTLSRoundTrip(t *testing.T) {
	pki := newPKI(t)
	dir := t.TempDir()
	server, firstSerial := pki.issue(t, "127.0.0.1")
	cf, err := LoadCertFile(writePEM(t, dir, server))
	if err != nil {
		t.Fatal(err)
	}
	m, box, local := newTLS(t, Config{}, &tls.Config{GetCertificate: cf.GetCertificate})

	client := func() *tls.Conn {
		c, err := tls.Dial("tcp", local.String(), &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := client()
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != firstSerial {
		t.Fatalf("served serial %d, want %d", got, firstSerial)
	}
	c.Write([]byte(options))
	in := box.next(t)
	if in.Flow.Kind != TLS || in.Msg.CallID() != "udp-test-1" {
		t.Fatalf("flow %+v, Call-ID %q", in.Flow, in.Msg.CallID())
	}
	m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if got := readResponse(t, c, bufio.NewReader(c)); !strings.HasPrefix(got, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("response %q", got)
	}

	// A reload serves the new certificate to new connections; the open
	// one goes on.
	renewed, newSerial := pki.issue(t, "127.0.0.1")
	writePEM(t, dir, renewed)
	if err := cf.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := client().ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != newSerial {
		t.Fatalf("after reload: serial %d, want %d", got, newSerial)
	}
	c.Write([]byte(options))
	if in := box.next(t); in.Flow.ID == 0 || in.Flow.Kind != TLS {
		t.Fatalf("old connection after reload: flow %+v", in.Flow)
	}
	// A broken file keeps the certificate in use.
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("garbage"), 0o600)
	if err := cf.Reload(); err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
	if got := client().ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != newSerial {
		t.Fatalf("after a failed reload: serial %d, want %d", got, newSerial)
	}
}

func TestTLSRefusals(t *testing.T) {
	pki := newPKI(t)
	server, _ := pki.issue(t, "127.0.0.1")
	m, _, local := newTLS(t, Config{HandshakeTimeout: 200 * time.Millisecond}, &tls.Config{
		Certificates: []tls.Certificate{server},
		ClientAuth:   VerifyMandatory.ClientAuth(),
		ClientCAs:    pki.pool,
	})
	// TLS 1.1 is refused whatever the listener's config says.
	if c, err := tls.Dial("tcp", local.String(), &tls.Config{RootCAs: pki.pool, MaxVersion: tls.VersionTLS11, ServerName: "127.0.0.1"}); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	// Mandatory verification: no client certificate, no connection.
	if c, err := tls.Dial("tcp", local.String(), &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}); err == nil {
		// TLS 1.3 reports the refusal on the first read.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a client without a certificate was served")
		}
		c.Close()
	}
	// With one, it works.
	clientCert, _ := pki.issue(t, "alice.example")
	c, err := tls.Dial("tcp", local.String(), &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{clientCert}})
	if err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	c.Close()
	// A silent socket is closed after the handshake timeout.
	waitEOF(t, dial(t, local))
	// The server counts a failed handshake when its side of it ends,
	// which may come after the client's.
	eventually(t, func() bool { return m.Stats().HandshakesFailed >= 3 })
	if _, err := m.ListenTLS("127.0.0.1:0", &tls.Config{}); err == nil {
		t.Fatal("a TLS listener without a certificate was opened")
	}
}

func TestSendTLS(t *testing.T) {
	pki := newPKI(t)
	server, _ := pki.issue(t, "proxy.example")
	// The far side is another Manager, so the answer comes back over TLS.
	far, farBox, farAddr := newTLS(t, Config{}, &tls.Config{Certificates: []tls.Certificate{server}})
	near, nearBox, _ := newTLS(t, Config{TLSClient: &tls.Config{RootCAs: pki.pool}}, &tls.Config{Certificates: []tls.Certificate{server}})
	req, _ := sip.Parse([]byte(options))
	id, err := near.SendTLS(farAddr, "proxy.example", req)
	if err != nil {
		t.Fatal(err)
	}
	in := farBox.next(t)
	if in.Flow.Kind != TLS {
		t.Fatalf("far side got flow %+v", in.Flow)
	}
	far.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if resp := nearBox.next(t); resp.Flow.ID != id || resp.Msg.StatusCode != 200 {
		t.Fatalf("answer on flow %d status %d, request on %d", resp.Flow.ID, resp.Msg.StatusCode, id)
	}
	if id2, err := near.SendTLS(farAddr, "proxy.example", req); err != nil || id2 != id {
		t.Fatalf("second send: flow %d (first %d), %v", id2, id, err)
	}
	// Another name is another connection, and this one fails verification.
	if _, err := near.SendTLS(farAddr, "other.example", req); err == nil {
		t.Fatal("a certificate for proxy.example passed as other.example")
	}
}
