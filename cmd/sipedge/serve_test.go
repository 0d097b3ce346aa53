package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"

	"github.com/sipedge/sipedge/internal/testpki"

	"github.com/sipedge/sipedge/client"
)

// The quick-start configurations (the shared examples, kept in
// config/testdata) run as written with `sipedge serve -c`, with only the
// addresses moved to free loopback ports and, for WSS, a certificate made
// here: the binary starts, a client registers over WS or WSS, and SIGTERM
// ends it with exit 0 within the grace period.

const examples = "../../config/testdata"

// buildSipedge builds the command into a temporary directory.
func buildSipedge(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "sipedge")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running sipedge and its log.
type process struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	log     strings.Builder
	running chan struct{} // closed at the "sipedge running" line
	done    chan struct{} // closed when the process has exited
	err     error
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// startSipedge runs bin with args and waits for its "sipedge running" line
// (logged once every listener is open).
func startSipedge(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{running: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = t.TempDir()
	p.cmd.Stdout = io.Discard
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if strings.Contains(line, `msg="sipedge running"`) {
				once.Do(func() { close(p.running) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("sipedge %s\nlog:\n%s", strings.Join(args, " "), p.logText())
		}
	})
	select {
	case <-p.running:
	case <-p.done:
		t.Fatalf("sipedge exited at start: %v", p.err)
	case <-time.After(20 * time.Second):
		t.Fatal(`no "sipedge running" line after 20s`)
	}
	return p
}

// stop sends SIGTERM and wants exit 0 within the grace period (5 s by
// default, plus a margin for the process to go).
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("sipedge still running 10s after SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v", p.err)
	}
	if !strings.Contains(p.logText(), "msg=stopped") {
		t.Fatal(`no "stopped" line after SIGTERM`)
	}
}

// hangUp sends SIGHUP and waits for the line saying the certificates were
// reloaded.
func (p *process) hangUp(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.logText(), "SIGHUP: certificates reloaded") {
		if time.Now().After(deadline) {
			t.Fatal(`no "certificates reloaded" line after SIGHUP`)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listening returns the address of the "listening" line for transport typ.
func (p *process) listening(t *testing.T, typ string) string {
	t.Helper()
	for line := range strings.SplitSeq(p.logText(), "\n") {
		if !strings.Contains(line, "msg=listening") || !strings.Contains(line, " transport="+typ+" ") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if a, ok := strings.CutPrefix(f, "addr="); ok {
				return a
			}
		}
	}
	t.Fatalf("no listening line for %s", typ)
	return ""
}

// alicePassword is the password addUser gives alice.
const alicePassword = "wonderland-42"

// addUser adds alice@domain to the store in dataDir with the sipedge
// command itself, as an operator would before the first REGISTER: digest
// authentication is on by default.
func addUser(t *testing.T, dataDir, domain string) {
	t.Helper()
	var out, errb strings.Builder
	dd := "--DataDirectory=" + dataDir
	if code := run([]string{"domain", "add", domain, dd}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("domain add %s: exit %d: %s", domain, code, errb.String())
	}
	if code := run([]string{"user", "add", "alice@" + domain, dd}, strings.NewReader(alicePassword+"\n"), &out, &errb); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errb.String())
	}
}

// register registers user@domain over transport ("ws" or "wss") at url.
func register(t *testing.T, transport, url, domain string, tc *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ua, err := client.Dial(ctx, client.Config{Transport: transport, Server: url, TLS: tc, User: "alice", Domain: domain, Password: alicePassword, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer ua.Close()
	resp, err := ua.Register(ctx, 600)
	if err != nil {
		t.Fatalf("REGISTER over %s: %v", transport, err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("REGISTER over %s: %d %s", transport, resp.StatusCode, resp.Reason)
	}
}

// TestServeQuickStart runs each quick-start config as written, where a
// user of one of sipedge's own addresses (alice@127.0.0.1) registers, since
// the files set no Domains; and with --Domains=example.org, the SIP domain
// of their RecordRouteUri, where alice@example.org registers.
func TestServeQuickStart(t *testing.T) {
	bin := buildSipedge(t)
	for _, domains := range []string{"", "example.org"} {
		name := "as-written"
		if domains != "" {
			name = "Domains=" + domains
		}
		t.Run("ws/"+name, func(t *testing.T) {
			udp, tcp, ws := testnet.FreePort(t), testnet.FreePort(t), testnet.FreePort(t)
			data := filepath.Join(t.TempDir(), "data")
			addUser(t, data, cmp.Or(domains, "127.0.0.1"))
			args := []string{"serve", "-c", mustAbs(t, filepath.Join(examples, "quickstart-ws.config")),
				"--IPAddress=127.0.0.1", fmt.Sprintf("--UDPPort=%d", udp), fmt.Sprintf("--TCPPort=%d", tcp),
				fmt.Sprintf("--WSPort=%d", ws), "--DataDirectory=" + data,
				fmt.Sprintf("--TurnPort=%d", testnet.FreePort(t))} // TURN is on by default
			if domains != "" {
				args = append(args, "--Domains="+domains)
			}
			p := startSipedge(t, bin, args...)
			if a := p.listening(t, "WS"); a != fmt.Sprintf("127.0.0.1:%d", ws) {
				t.Fatalf("WS listening on %s", a)
			}
			if !strings.Contains(p.logText(), `msg="TURN listening"`) {
				t.Fatal("TURN, on by default, did not start")
			}
			register(t, "ws", fmt.Sprintf("ws://127.0.0.1:%d/", ws), cmp.Or(domains, "127.0.0.1"), nil)
			p.stop(t)
		})
		t.Run("wss/"+name, func(t *testing.T) {
			dir := t.TempDir()
			pki := testpki.New(t, "sip-ws-server.example.org")
			cert, key := pki.Write(t, dir)
			pool := pki.Pool
			wss := testnet.FreePort(t)
			args := []string{"serve", "-c", mustAbs(t, filepath.Join(examples, "quickstart-wss.config")),
				fmt.Sprintf("--Transport1Interface=127.0.0.1:%d", wss),
				"--Transport1TlsCertificate=" + cert, "--Transport1TlsPrivateKey=" + key,
				"--DataDirectory=" + filepath.Join(dir, "data"),
				fmt.Sprintf("--TurnPort=%d", testnet.FreePort(t))} // TURN is on by default, on every interface
			addUser(t, filepath.Join(dir, "data"), cmp.Or(domains, "127.0.0.1"))
			if domains != "" {
				args = append(args, "--Domains="+domains)
			}
			p := startSipedge(t, bin, args...)
			if a := p.listening(t, "WSS"); a != fmt.Sprintf("127.0.0.1:%d", wss) {
				t.Fatalf("WSS listening on %s", a)
			}
			if !strings.Contains(p.logText(), `msg="TURN listening"`) {
				t.Fatal("TURN, on by default, did not start")
			}
			tc := &tls.Config{RootCAs: pool, ServerName: "sip-ws-server.example.org"}
			register(t, "wss", fmt.Sprintf("wss://127.0.0.1:%d/", wss), cmp.Or(domains, "127.0.0.1"), tc)
			// A renewed certificate in the same files, and SIGHUP.
			renewed := testpki.New(t, "sip-ws-server.example.org")
			renewed.Write(t, dir)
			p.hangUp(t)
			tc = &tls.Config{RootCAs: renewed.Pool, ServerName: "sip-ws-server.example.org"}
			register(t, "wss", fmt.Sprintf("wss://127.0.0.1:%d/", wss), cmp.Or(domains, "127.0.0.1"), tc)
			p.stop(t)
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); err != nil {
		t.Fatal(err)
	}
	return a
}
