package peerpolicy

import "net/netip"

// enc names the encoding a form of an address was read from.
type enc uint8

const (
	encNone         enc = iota // the address as written (an IPv4 address, or IPv6)
	encMapped                  // ::ffff:a.b.c.d
	encCompat                  // ::a.b.c.d
	encTranslated              // ::ffff:0:a.b.c.d
	enc6to4                    // 2002:AABB:CCDD::/48
	encNAT64                   // 64:ff9b::/96
	encNAT64Local              // 64:ff9b:1::/48, read as /96
	encTeredoClient            // 2001::/32, last 32 bits XOR 0xffffffff
	encTeredoServer            // 2001::/32, bits 32-63
	numEnc
)

var encPrefix = [numEnc]string{
	encNone:         "",
	encMapped:       "IPv4-mapped ",
	encCompat:       "IPv4-compatible ",
	encTranslated:   "IPv4-translated ",
	enc6to4:         "6to4 ",
	encNAT64:        "NAT64 ",
	encNAT64Local:   "NAT64 local-use ",
	encTeredoClient: "Teredo ",
	encTeredoServer: "Teredo server ",
}

// form is one address an address stands for, and how it was read.
type form struct {
	addr netip.Addr
	enc  enc
}

// forms returns the address itself (zone dropped, IPv4-mapped unmapped)
// and then every IPv4 address embedded in it; for Teredo the client's
// before the server's. addr must be valid.
func forms(addr netip.Addr) (fs [3]form, n int) {
	addr = addr.WithZone("")
	if addr.Is4() {
		fs[0] = form{addr, encNone}
		return fs, 1
	}
	if addr.Is4In6() {
		fs[0] = form{addr.Unmap(), encMapped}
		return fs, 1
	}
	fs[0] = form{addr, encNone}
	b := addr.As16()
	switch {
	case zero(b[0:12]):
		// ::a.b.c.d, but :: and ::1 are themselves.
		if b[12]|b[13]|b[14] == 0 && b[15] <= 1 {
			return fs, 1
		}
		fs[1] = form{v4(b, 12, 0), encCompat}
		return fs, 2
	case zero(b[0:8]) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0:
		fs[1] = form{v4(b, 12, 0), encTranslated}
		return fs, 2
	case b[0] == 0x20 && b[1] == 0x02:
		fs[1] = form{v4(b, 2, 0), enc6to4}
		return fs, 2
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b:
		if zero(b[4:12]) {
			fs[1] = form{v4(b, 12, 0), encNAT64}
			return fs, 2
		}
		if b[4] == 0 && b[5] == 1 {
			fs[1] = form{v4(b, 12, 0), encNAT64Local}
			return fs, 2
		}
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0:
		fs[1] = form{v4(b, 12, 0xff), encTeredoClient}
		fs[2] = form{v4(b, 4, 0), encTeredoServer}
		return fs, 3
	}
	return fs, 1
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// v4 reads the IPv4 address at b[i:i+4], each byte XOR x.
func v4(b [16]byte, i int, x byte) netip.Addr {
	return netip.AddrFrom4([4]byte{b[i] ^ x, b[i+1] ^ x, b[i+2] ^ x, b[i+3] ^ x})
}
