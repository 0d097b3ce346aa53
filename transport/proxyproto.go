package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The PROXY protocol (HAProxy's, versions 1 and 2) lets a TCP proxy in
// front of sipedge say whom a connection is from. Only peers in
// Config.TrustedProxies are asked for it; a connection from one that
// carries no header is taken as it is.

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// errProxyHeader reports a malformed PROXY header.
var errProxyHeader = errors.New("transport: malformed PROXY protocol header")

// bufConn is a connection whose first bytes went through a bufio.Reader.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// readProxyHeader reads a PROXY protocol header at the start of conn, if
// there is one, and returns the connection to read on and the source
// address the header gives (the zero value for none, for v1 UNKNOWN and
// for v2 LOCAL). The caller has set a read deadline.
func readProxyHeader(conn net.Conn) (net.Conn, netip.AddrPort, error) {
	r := bufio.NewReaderSize(conn, 256)
	out := &bufConn{Conn: conn, r: r}
	first, err := r.Peek(1)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	switch first[0] {
	case 'P':
		if b, err := r.Peek(6); err != nil || string(b) != "PROXY " {
			return out, netip.AddrPort{}, nil
		}
		src, err := readProxyV1(r)
		return out, src, err
	case '\r':
		if b, err := r.Peek(len(proxyV2Sig)); err != nil || !bytes.Equal(b, proxyV2Sig) {
			return out, netip.AddrPort{}, nil
		}
		src, err := readProxyV2(r)
		return out, src, err
	}
	return out, netip.AddrPort{}, nil
}

// readProxyV1 reads "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n" (at
// most 107 bytes).
func readProxyV1(r *bufio.Reader) (netip.AddrPort, error) {
	var line []byte
	for len(line) < 107 {
		c, err := r.ReadByte()
		if err != nil {
			return netip.AddrPort{}, err
		}
		line = append(line, c)
		if c == '\n' {
			break
		}
	}
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return netip.AddrPort{}, errProxyHeader
	}
	f := strings.Split(s, " ")
	if len(f) >= 2 && f[1] == "UNKNOWN" {
		return netip.AddrPort{}, nil
	}
	if len(f) != 6 || f[1] != "TCP4" && f[1] != "TCP6" {
		return netip.AddrPort{}, errProxyHeader
	}
	ip, err := netip.ParseAddr(f[2])
	port, perr := strconv.ParseUint(f[4], 10, 16)
	if err != nil || perr != nil || ip.Is4() != (f[1] == "TCP4") {
		return netip.AddrPort{}, errProxyHeader
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// readProxyV2 reads the binary header: signature, version and command,
// family, length, addresses, TLVs (skipped).
func readProxyV2(r *bufio.Reader) (netip.AddrPort, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return netip.AddrPort{}, err
	}
	verCmd, fam := hdr[12], hdr[13]
	n := int(binary.BigEndian.Uint16(hdr[14:16]))
	if verCmd>>4 != 2 || n > 1024 {
		return netip.AddrPort{}, errProxyHeader
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return netip.AddrPort{}, err
	}
	if verCmd&0xf == 0 { // LOCAL: the proxy's own connection
		return netip.AddrPort{}, nil
	}
	switch fam {
	case 0x11: // TCP over IPv4
		if n < 12 {
			return netip.AddrPort{}, errProxyHeader
		}
		ip := netip.AddrFrom4([4]byte(body[0:4]))
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(body[8:10])), nil
	case 0x21: // TCP over IPv6
		if n < 36 {
			return netip.AddrPort{}, errProxyHeader
		}
		ip := netip.AddrFrom16([16]byte(body[0:16])).Unmap()
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(body[32:34])), nil
	}
	return netip.AddrPort{}, nil // UNSPEC or another family: no address
}
