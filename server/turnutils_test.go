package server

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"
)

var uclientTotals = regexp.MustCompile(`tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)

// TestTurnutilsUclient drives coturn's turnutils_uclient (Debian package
// coturn) against sipedge's TURN server on loopback: two allocations
// relaying to each other (-y), over UDP and TCP, and a TCP relay (-T,
// RFC 6062), with REST credentials (-W secret -u user: uclient makes the
// expiry:user name and its password) and with a SIP user's password.
func TestTurnutilsUclient(t *testing.T) {
	uclient := testnet.NeedTool(t, "turnutils_uclient", "coturn")
	_, port := startTURNServer(t)
	p := strconv.Itoa(port)
	rest := []string{"-W", turnSecret, "-u", "bob"}
	sipUser := []string{"-u", "alice", "-w", "alice-pw"}
	for _, tt := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"udp-rest", append([]string{"-y"}, rest...), true},
		{"tcp-rest", append([]string{"-t", "-y"}, rest...), true},
		{"tcp-relay-rest", append([]string{"-T"}, rest...), true},
		{"udp-sip-user", append([]string{"-y"}, sipUser...), true},
		{"tcp-sip-user", append([]string{"-t", "-y"}, sipUser...), true},
		{"wrong-secret", []string{"-y", "-W", "not-the-secret-0123456789", "-u", "bob"}, false},
		{"wrong-password", []string{"-y", "-u", "alice", "-w", "nope"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append(append([]string{"-n", "10", "-p", p}, tt.args...), "127.0.0.1")
			out, _ := exec.CommandContext(ctx, uclient, args...).CombinedOutput()
			text := string(out)
			m := uclientTotals.FindAllStringSubmatch(text, -1)
			relayed := len(m) > 0 && m[len(m)-1][1] != "0" && m[len(m)-1][1] == m[len(m)-1][2] &&
				strings.Contains(text, "Total lost packets 0 (")
			if relayed != tt.ok {
				t.Errorf("turnutils_uclient %s: relayed %v, want %v\n%s", strings.Join(args, " "), relayed, tt.ok, tail(text, 2000))
			}
			if !tt.ok && !strings.Contains(text, "Cannot complete Allocation") {
				t.Errorf("no refused allocation in:\n%s", tail(text, 2000))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
