package transport

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sipedge/sipedge/sip"
)

// needSIPp returns sipp's path; without it the test is skipped, except in
// CI (CI=true), where `make test` installs it and a missing one is an
// error.
func needSIPp(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sipp is not installed (make test installs the Debian package sip-tester)")
		}
		t.Skip("sipp is not installed (Debian package sip-tester)")
	}
	return p
}

// freePort returns a loopback port that was free a moment ago for both
// UDP and TCP (sipp binds its local port with the transport it uses).
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if c, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestSIPp drives the transport with sipp, a classic SIP peer: 200 OPTIONS
// over UDP and over TCP, each answered 200 by a handler that sends the
// response back over the flow the request came on. (Debian's sipp is built
// without OpenSSL, so TLS is tested with Go's own client in tls_test.go.)
func TestSIPp(t *testing.T) {
	sipp := needSIPp(t)
	scenario, err := filepath.Abs("testdata/sipp/options.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, mode string }{{"udp", "u1"}, {"tcp", "t1"}} {
		t.Run(tc.name, func(t *testing.T) {
			var m *Manager
			m = NewManager(Config{}, func(in *Inbound) {
				if in.Msg.IsRequest() {
					m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
				}
			})
			defer m.Close()
			listen := m.ListenTCP
			if tc.name == "udp" {
				listen = m.ListenUDP
			}
			local, err := listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(sipp, "-sf", scenario, "-t", tc.mode, "-i", "127.0.0.1",
				"-p", strconv.Itoa(freePort(t)), "-m", "200", "-r", "200", "-l", "50",
				"-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err", local.String())
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			if err != nil {
				logs, _ := filepath.Glob(filepath.Join(cmd.Dir, "*errors.log"))
				for _, l := range logs {
					b, _ := os.ReadFile(l)
					t.Logf("%s:\n%s", filepath.Base(l), b)
				}
				t.Fatalf("sipp: %v\n%s", err, out)
			}
		})
	}
}
