// Package e2e holds the browser end-to-end tests of sipedge: JsSIP and
// SIP.js phones in headless Chromium (driven by playwright-core, see
// run.mjs) calling each other and sipp (UAS and UAC) through real sipedge
// processes (digest authentication off, and on with users and passwords),
// all inside a private network namespace with loopback only (netns.sh). This Go test builds sipedge and the page bundle and runs
// the scenarios; the JavaScript side lives in package.json (pinned by
// package-lock.json), src/ and run.mjs.
package e2e

import (
	"bufio"
	"context"
	"errors"
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
)

// runTimeout bounds the whole browser run (run.mjs has its own, shorter,
// bound of 180 s; this one catches a hang in starting it).
const runTimeout = 4 * time.Minute

func TestBrowsers(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end tests are not short")
	}
	goBin := testnet.NeedTool(t, "go", "builds sipedge")
	testnet.NeedTool(t, "node", "runs playwright-core and esbuild")
	npm := testnet.NeedTool(t, "npm", "installs e2e/node_modules from package-lock.json")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		testnet.NeedTool(t, chromium, "Debian package chromium")
	}
	testnet.NeedTool(t, "unshare", "netns.sh: private network namespace")
	testnet.NeedTool(t, "ip", "netns.sh brings lo up; Debian package iproute2")
	testnet.NeedTool(t, "openssl", "makes the WSS test certificate")
	testnet.NeedTool(t, "sipp", "the UAS of sipp-udp and the UAC of sipp-calls-browser; Debian package sip-tester")

	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()

	// A namespace must be possible here (unprivileged user namespaces may
	// be off, or a container may forbid unshare).
	if out, err := exec.CommandContext(ctx, filepath.Join(here, "netns.sh"), "true").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("netns.sh cannot make a network namespace: %v\n%s", err, out)
		}
		t.Skipf("netns.sh cannot make a network namespace here: %v: %s", err, strings.TrimSpace(string(out)))
	}

	if _, err := os.Stat(filepath.Join(here, "node_modules", "playwright-core")); err != nil {
		t.Log("e2e/node_modules is missing: npm ci")
		run(ctx, t, here, npm, "ci", "--no-audit", "--no-fund")
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "sipedge")
	run(ctx, t, filepath.Dir(here), goBin, "build", "-o", bin, "./cmd/sipedge")
	bundle := filepath.Join(dir, "bundle")
	run(ctx, t, here, "node", "build.mjs", bundle)

	// run.mjs keeps its files (config, certificate, Chromium's profile
	// and HOME) in a directory under TMPDIR: under dir, they go with the
	// test even when the run is killed.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	// Screenshots (the web phone's and the self-test page's) go to
	// $E2E_ARTIFACTS, else e2e/artifacts (git-ignored), and stay after the
	// test.
	artifacts := os.Getenv("E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(here, "artifacts")
	}
	if artifacts, err = filepath.Abs(artifacts); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run(ctx, t, here, filepath.Join(here, "netns.sh"), "env", "TMPDIR="+tmp, "E2E_ARTIFACTS="+artifacts, "node", "run.mjs",
		"--sipedge", bin, "--bundle", bundle, "--chromium", chromium)
	t.Logf("browser run took %v; screenshots in %s", time.Since(start).Round(100*time.Millisecond), artifacts)
}

// run runs a command in dir, logging its output line by line as it comes,
// and fails the test when it exits non-zero. The command gets a process
// group of its own, which is killed when ctx ends.
func run(ctx context.Context, t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		what := filepath.Base(name) + " " + strings.Join(args, " ")
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s: killed after %v", what, runTimeout)
		}
		t.Fatalf("%s: %v", what, err)
	}
}
