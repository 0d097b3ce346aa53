package auth

import (
	"net/netip"
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	now := time.Unix(1700000000, 0)
	g := NewGuard(Limits{DelayAfter: 1, Delay: time.Second, MaxDelay: 2 * time.Second, SourceLockAfter: 4, UserLockAfter: 3,
		Lockout: time.Minute, MaxSources: 32, MaxUsers: 32}, func() time.Time { return now })
	src := netip.MustParseAddr("2001:db8::1")
	if d, l := g.Fail(src, "alice", "r"); d != 0 || l {
		t.Fatalf("first failure: %v %v", d, l)
	}
	if d, _ := g.Fail(netip.MustParseAddr("2001:db8::2"), "alice", "r"); d != time.Second {
		t.Fatalf("second failure from the same /64: %v", d)
	}
	if g.Locked(src, "alice", "r") {
		t.Fatal("locked early")
	}
	if d, l := g.Fail(netip.MustParseAddr("192.0.2.1"), "alice", "r"); d != 2*time.Second || !l {
		t.Fatalf("third failure of alice: %v %v", d, l)
	}
	if !g.Locked(netip.MustParseAddr("198.51.100.1"), "alice", "r") || g.Locked(netip.MustParseAddr("198.51.100.1"), "alice", "other realm") {
		t.Fatal("user lockout")
	}
	g.Succeed("alice", "r") // a lockout outlives a success
	if !g.Locked(src, "alice", "r") {
		t.Fatal("success ended the lockout")
	}
	now = now.Add(2 * time.Minute)
	if g.Locked(src, "alice", "r") {
		t.Fatal("lockout did not end")
	}
	// Unknown users fill the table no further than its bound.
	for i := range 1000 {
		g.Fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), "u"+string(rune('a'+i%26))+string(rune(i)), "r")
	}
	if s, u := g.Len(); s > 32+16 || u > 32+16 {
		t.Errorf("tables hold %d sources, %d users", s, u)
	}
	// The rules off: no tables.
	off := NewGuard(Limits{MaxSources: -1, MaxUsers: -1}, nil)
	off.Fail(src, "alice", "r")
	if s, u := off.Len(); s != 0 || u != 0 || off.Locked(src, "alice", "r") {
		t.Error("tables without a bound")
	}
}
