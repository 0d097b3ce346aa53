package server

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"

	"github.com/sipedge/sipedge/transport"
)

// The sipp interop tests: real sipp processes (a classic SIP peer written
// in C++) as callers and callees on 127.0.0.1, sipedge in-process between
// them. Each sipp handles one call (-m 1) and exits 0 only when the call
// went exactly as its scenario in testdata/sipp says; an unexpected
// message, a failed <ereg check_it> or sipp's -timeout fails it.
//
// A sipp UAS cannot register and then take a call with another Call-ID in
// the same run, so a callee is two runs from the same local port: a short
// client run of register.xml (-m 1), then the UAS scenario listening on that
// port. Over UDP sipedge sends to the address the REGISTER came from; over
// TCP the registering connection is closed by then and sipedge connects to
// the Contact address.

const (
	// sippTimeout bounds each sipp run (sipp's own -timeout, which fails
	// the run); sippDeadline is the Go side's, after which the process
	// group is killed.
	sippTimeout  = "20s"
	sippDeadline = 40 * time.Second
)

// sippConfig is sipedge on UDP and TCP, routing example.com by the
// registrar. (WebSocket is off: sipp does not speak it.)
const sippConfig = `
IPAddress = 127.0.0.1
UDPPort = 5060
TCPPort = 5060
Domains = example.com
`

// sippEnv is one sipedge and the sipp runs of one test.
type sippEnv struct {
	t    *testing.T
	sipp string
	s    *Server
}

func newSIPpEnv(t *testing.T) *sippEnv {
	sipp := testnet.NeedTool(t, "sipp", "Debian package sip-tester")
	return &sippEnv{t: t, sipp: sipp, s: startServer(t, sippConfig)}
}

// target is sipedge's listener for sipp's -t mode ("u1" or "t1").
func (e *sippEnv) target(mode string) netip.AddrPort {
	if mode == "t1" {
		return addr(e.t, e.s, transport.TCP)
	}
	return addr(e.t, e.s, transport.UDP)
}

// sippProc is one sipp process and the files it writes.
type sippProc struct {
	name     string
	cmd      *exec.Cmd
	out      bytes.Buffer
	dir      string
	done     chan struct{}
	err      error
	cancel   context.CancelFunc
	messages string // -message_file
}

// start runs sipp with scenario file (in testdata/sipp) and args; its
// stdout, stderr, errors, messages and log files go to a temporary
// directory and are printed if the test fails.
func (e *sippEnv) start(name, scenario string, args ...string) *sippProc {
	t := e.t
	t.Helper()
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	p := &sippProc{name: name, dir: t.TempDir(), done: make(chan struct{})}
	p.messages = filepath.Join(p.dir, "messages.log")
	all := append([]string{
		"-sf", sf, "-i", "127.0.0.1", "-m", "1",
		"-timeout", sippTimeout, "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(p.dir, "errors.log"),
		"-trace_msg", "-message_file", p.messages,
		"-trace_logs", "-log_file", filepath.Join(p.dir, "logs.log"),
	}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), sippDeadline)
	p.cancel = cancel
	p.cmd = exec.CommandContext(ctx, e.sipp, all...)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// Its own process group, killed as a whole when the deadline passes
	// or the test ends first.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Cancel = func() error { return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			p.dump(t)
		}
	})
	return p
}

// wait waits for sipp to exit and fails the test unless it exited 0 (every
// call succeeded).
func (p *sippProc) wait(t *testing.T) {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Errorf("%s: sipp %v (sipp exits 0 only when every call succeeded)", p.name, p.err)
	}
}

// dump prints what sipp said and wrote.
func (p *sippProc) dump(t *testing.T) {
	t.Helper()
	t.Logf("=== %s: sipp %s", p.name, strings.Join(p.cmd.Args[1:], " "))
	t.Logf("--- %s: exit %v; output:\n%s", p.name, p.err, p.out.String())
	for _, f := range []string{"errors.log", "logs.log", "messages.log"} {
		if b, err := os.ReadFile(filepath.Join(p.dir, f)); err == nil && len(b) > 0 {
			t.Logf("--- %s: %s:\n%s", p.name, f, b)
		}
	}
}

// listening waits until sipp has bound its port (ours can no longer bind
// it), so that no request reaches the port before sipp does.
func (p *sippProc) listening(t *testing.T, mode string, port int) {
	t.Helper()
	a := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s: sipp exited before listening: %v", p.name, p.err)
		default:
		}
		var err error
		if mode == "t1" {
			var ln net.Listener
			if ln, err = net.Listen("tcp4", a); err == nil {
				ln.Close()
			}
		} else {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp4", a); err == nil {
				c.Close()
			}
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: sipp not listening on %s after 10s", p.name, a)
}

// run starts sipp and waits for it; the test fails unless it exits 0.
func (e *sippEnv) run(name, scenario string, args ...string) *sippProc {
	e.t.Helper()
	p := e.start(name, scenario, args...)
	p.wait(e.t)
	return p
}

// callee registers user from a fresh local port over mode and starts the
// UAS scenario on that port.
func (e *sippEnv) callee(name, user, mode, scenario string) *sippProc {
	t := e.t
	t.Helper()
	port := testnet.FreePort(t)
	ps := strconv.Itoa(port)
	e.run(name+" REGISTER", "register.xml", "-t", mode, "-p", ps, "-s", user, e.target(mode).String())
	if t.Failed() {
		t.FailNow()
	}
	uas := e.start(name, scenario, "-t", mode, "-p", ps)
	uas.listening(t, mode, port)
	return uas
}

// caller runs a UAC scenario calling user@example.com through sipedge's
// listener for mode and waits for it.
func (e *sippEnv) caller(name, user, mode, scenario string) *sippProc {
	e.t.Helper()
	return e.run(name, scenario, "-t", mode, "-p", strconv.Itoa(testnet.FreePort(e.t)), "-s", user, e.target(mode).String())
}

// TestSIPpCall: INVITE/100/180/200/ACK/BYE/200 from a sipp UAC through
// sipedge to a registered sipp UAS, over UDP and over TCP.
func TestSIPpCall(t *testing.T) {
	for _, tc := range []struct{ name, mode string }{{"udp", "u1"}, {"tcp", "t1"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSIPpEnv(t)
			uas := e.callee("uas", "bob", tc.mode, "uas.xml")
			e.caller("uac", "bob", tc.mode, "uac.xml")
			uas.wait(t)
		})
	}
}

// TestSIPpAcrossTransports: caller on UDP, callee on TCP. The INVITE the
// callee gets carries two Record-Route entries of sipedge (RFC 5658): the
// TCP one on top, then the UDP one. The scenario checks the shape; here
// the exact values and that there are no others.
func TestSIPpAcrossTransports(t *testing.T) {
	e := newSIPpEnv(t)
	uas := e.callee("uas", "bob", "t1", "uas-double-rr.xml")
	e.caller("uac", "bob", "u1", "uac.xml")
	uas.wait(t)
	if t.Failed() {
		return
	}
	var want []string
	for _, k := range []transport.Kind{transport.TCP, transport.UDP} {
		for _, l := range e.s.Listeners() {
			if l.Kind == k {
				want = append(want, "<"+l.RecordRoute.String()+">")
			}
		}
	}
	got := receivedHeader(t, uas.messages, "INVITE", "Record-Route")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("INVITE at the callee: Record-Route %q, want %q", got, want)
	}
}

// receivedHeader returns the values of header name (split at commas) in
// the first request of method that sipp's -message_file shows received.
func receivedHeader(t *testing.T, file, method, name string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(b), "\n-----") {
		if !strings.Contains(block, "message received") {
			continue
		}
		_, msg, ok := strings.Cut(block, "\n\n")
		if !ok || !strings.HasPrefix(msg, method+" ") {
			continue
		}
		head, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n", "\n"), "\n\n")
		var vals []string
		for line := range strings.SplitSeq(head, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
				continue
			}
			for part := range strings.SplitSeq(v, ",") {
				vals = append(vals, strings.TrimSpace(part))
			}
		}
		return vals
	}
	t.Fatalf("%s: no %s received", file, method)
	return nil
}

// TestSIPpRegister: 423 with Min-Expires for too short an Expires, a
// registration, a query, and Contact: * with Expires: 0, each answer
// asserted by the scenario; over UDP and TCP.
func TestSIPpRegister(t *testing.T) {
	for _, tc := range []struct{ name, mode string }{{"udp", "u1"}, {"tcp", "t1"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSIPpEnv(t)
			e.caller("register", "carol", tc.mode, "register-sequence.xml")
			if n := len(e.s.Registrar().Lookup("sip:carol@example.com")); n != 0 {
				t.Fatalf("carol has %d bindings after Contact: *, want 0", n)
			}
		})
	}
}

// TestSIPpCancel: the caller cancels while the callee rings. The caller
// gets 200 for the CANCEL and 487 for the INVITE and ACKs it; the callee
// gets the CANCEL, answers 200 and 487 and gets the ACK.
func TestSIPpCancel(t *testing.T) {
	for _, tc := range []struct{ name, caller, callee string }{
		{"udp", "u1", "u1"},
		{"tcp-udp", "t1", "u1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSIPpEnv(t)
			uas := e.callee("uas", "bob", tc.callee, "uas-cancel.xml")
			e.caller("uac", "bob", tc.caller, "uac-cancel.xml")
			uas.wait(t)
		})
	}
}

// TestSIPpFork: two sipp UAS registered for one AOR; sipedge forks the
// INVITE to both, one answers, the other one, still ringing, gets CANCEL
// (and answers 200 and 487).
func TestSIPpFork(t *testing.T) {
	e := newSIPpEnv(t)
	answers := e.callee("uas answering", "bob", "u1", "uas.xml")
	cancelled := e.callee("uas cancelled", "bob", "u1", "uas-cancel.xml")
	if n := len(e.s.Registrar().Lookup("sip:bob@example.com")); n != 2 {
		t.Fatalf("bob has %d bindings, want 2", n)
	}
	e.caller("uac", "bob", "u1", "uac.xml")
	answers.wait(t)
	cancelled.wait(t)
}
