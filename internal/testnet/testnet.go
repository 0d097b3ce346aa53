// Package testnet holds what the interop tests share: finding a real peer
// program (sipp, chromium...) the CI way, and picking free loopback ports.
package testnet

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// NeedTool returns the path of program name (a command or a file path).
// Without it the test is skipped, except in CI (CI set), where `make test`
// installs it and a missing one is an error. what says where it comes
// from or what it is for ("Debian package sip-tester").
func NeedTool(t testing.TB, name, what string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (%s; make test installs it)", name, what)
		}
		t.Skipf("%s is not installed (%s)", name, what)
	}
	return p
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago for both
// UDP and TCP (sipp binds its local port with the transport it uses).
func FreePort(t testing.TB) int {
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
