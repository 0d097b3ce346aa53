package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sipedge/sipedge/store"
)

// openPTY opens a pseudo-terminal pair; the test is skipped where the
// machine has none.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var n int
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr != nil {
			return
		}
		n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	}); err != nil || ioErr != nil {
		m.Close()
		t.Fatalf("pty: %v %v", err, ioErr)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor waits until b holds n copies of s.
func waitFor(t *testing.T, b *syncBuffer, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(b.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %q (%d) in %q", s, n, b.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestPasswordFromTerminal types the password on a real (pseudo) terminal:
// it is asked twice, not echoed, and two different answers change nothing.
func TestPasswordFromTerminal(t *testing.T) {
	dir := t.TempDir()
	must(t, dir, "", "domain", "add", "example.com")
	master, tty := openPTY(t)

	var echoed syncBuffer
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := master.Read(buf)
			echoed.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()

	type result struct {
		code     int
		out, err string
	}
	add := func(stderr *syncBuffer, user string) chan result {
		done := make(chan result, 1)
		go func() {
			var out bytes.Buffer
			code := run([]string{"user", "add", user, "--DataDirectory=" + dir}, tty, &out, stderr)
			done <- result{code, out.String(), stderr.String()}
		}()
		return done
	}

	var stderr syncBuffer
	done := add(&stderr, "alice@example.com")
	waitFor(t, &stderr, "Password for alice@example.com: ", 1)
	master.Write([]byte("s3cret pass\n"))
	waitFor(t, &stderr, "again: ", 1)
	master.Write([]byte("s3cret pass\n"))
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	db := openDir(t, dir)
	u, err := db.User(context.Background(), "alice", "example.com")
	if err != nil || u.HA1MD5 != store.HA1("MD5", "alice", "example.com", "s3cret pass") {
		t.Fatalf("alice %+v, %v", u, err)
	}

	var stderr2 syncBuffer
	done = add(&stderr2, "bob@example.com")
	waitFor(t, &stderr2, "Password for bob@example.com: ", 1)
	master.Write([]byte("one\n"))
	waitFor(t, &stderr2, "again: ", 1)
	master.Write([]byte("two\n"))
	r = <-done
	if r.code != 1 || !strings.Contains(r.err, "passwords differ") {
		t.Fatalf("different answers: exit %d, %q", r.code, r.err)
	}
	if _, err := db.User(context.Background(), "bob", "example.com"); err == nil {
		t.Fatal("bob was added")
	}
	time.Sleep(20 * time.Millisecond)
	if e := echoed.String(); strings.Contains(e, "s3cret") || strings.Contains(e, "one") {
		t.Fatalf("the terminal echoed the password: %q", e)
	}
}
