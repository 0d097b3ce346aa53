// Command wsidle measures the memory sipedge's transport spends on idle
// WebSocket connections: it starts a server (this program again, in a
// child process, so that client memory does not count), opens n WS or WSS
// connections to it on loopback that then stay silent, and reports the
// growth of the server's resident set size per connection.
//
//	go run ./bench/wsidle -n 10000          # WS
//	go run ./bench/wsidle -n 10000 -tls     # WSS
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/sipedge/sipedge/transport"
)

func main() {
	n := flag.Int("n", 10000, "connections to open")
	useTLS := flag.Bool("tls", false, "WSS instead of WS")
	serve := flag.Bool("serve", false, "run as the server (internal)")
	flag.Parse()
	if *serve {
		server(*useTLS)
		return
	}
	if err := client(*n, *useTLS); err != nil {
		fmt.Fprintln(os.Stderr, "wsidle:", err)
		os.Exit(1)
	}
}

// server listens on loopback, prints its address, and answers each line
// on stdin with its resident set size in KiB after a garbage collection.
func server(useTLS bool) {
	m := transport.NewManager(transport.Config{
		MaxConns: 1 << 20, MaxConnsPerIP: 1 << 20, MaxNewConnsPerIP: 1 << 20,
		WSPingInterval: time.Hour, HandshakeTimeout: time.Minute,
	}, func(*transport.Inbound) {})
	defer m.Close()
	var local netip.AddrPort
	var err error
	if useTLS {
		local, err = m.ListenWSS("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned()}})
	} else {
		local, err = m.ListenWS("127.0.0.1:0")
	}
	if err != nil {
		fmt.Println("error", err)
		return
	}
	fmt.Println(local)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		runtime.GC()
		debug.FreeOSMemory()
		fmt.Println(rssKiB())
	}
}

func client(n int, useTLS bool) error {
	cmd := exec.Command(os.Args[0], "-serve", "-tls="+strconv.FormatBool(useTLS))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		return fmt.Errorf("server did not start")
	}
	addr := out.Text()
	if strings.HasPrefix(addr, "error") {
		return fmt.Errorf("server: %s", addr)
	}
	rss := func() (int, error) {
		fmt.Fprintln(stdin)
		if !out.Scan() {
			return 0, fmt.Errorf("server gone")
		}
		return strconv.Atoi(out.Text())
	}
	before, err := rss()
	if err != nil {
		return err
	}
	scheme := "ws"
	d := ws.Dialer{Protocols: []string{"sip"}, Timeout: 10 * time.Second}
	if useTLS {
		scheme = "wss"
		d.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		c, _, _, err := d.Dial(context.Background(), scheme+"://"+addr+"/")
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second) // let the handshakes' garbage go
	after, err := rss()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d idle connections opened in %v; server RSS %d KiB -> %d KiB: %.1f KiB per connection\n",
		strings.ToUpper(scheme), n, time.Since(start).Round(time.Millisecond), before, after, float64(after-before)/float64(n))
	return nil
}

func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	return -1
}

func selfSigned() tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
