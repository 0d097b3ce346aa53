package testnet

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if NeedTool(t, "sh", "Debian package dash") == "" {
		t.Fatal("no path for sh")
	}
}
