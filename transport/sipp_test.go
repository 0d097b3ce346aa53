package transport

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sipedge/sipedge/internal/testnet"

	"github.com/sipedge/sipedge/sip"
)

// TestSIPp drives the transport with sipp, a classic SIP peer: 200 OPTIONS
// over UDP and over TCP, each answered 200 by a handler that sends the
// response back over the flow the request came on. (Debian's sipp is built
// without OpenSSL, so TLS is tested with Go's own client in tls_test.go.)
func TestSIPp(t *testing.T) {
	sipp := testnet.NeedTool(t, "sipp", "Debian package sip-tester")
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
				"-p", strconv.Itoa(testnet.FreePort(t)), "-m", "200", "-r", "200", "-l", "50",
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
