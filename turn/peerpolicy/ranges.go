package peerpolicy

import "net/netip"

// rng names an entry of the built-in list, or another reason to deny.
type rng uint8

const (
	rNone rng = iota
	rUnspecified
	rThisNetwork
	rPrivate
	rShared
	rLoopback
	rLinkLocal
	rMetadata
	rIETF
	rDocumentation
	rBenchmarking
	rMulticast
	rReserved
	rBroadcast
	rULA
	rSiteLocal
	rDiscard
	rOwn
	rDeny
	numRng
)

var rngReason = [numRng]string{
	rUnspecified:   "unspecified",
	rThisNetwork:   "this network (0.0.0.0/8)",
	rPrivate:       "private (RFC 1918)",
	rShared:        "shared address space (CGNAT, RFC 6598)",
	rLoopback:      "loopback",
	rLinkLocal:     "link-local",
	rMetadata:      "link-local (cloud metadata)",
	rIETF:          "IETF protocol assignments (192.0.0.0/24)",
	rDocumentation: "documentation",
	rBenchmarking:  "benchmarking",
	rMulticast:     "multicast",
	rReserved:      "reserved (240.0.0.0/4)",
	rBroadcast:     "broadcast",
	rULA:           "unique local (ULA)",
	rSiteLocal:     "site-local (deprecated)",
	rDiscard:       "discard-only (RFC 6666)",
	rOwn:           "own address",
	rDeny:          "denied by configuration",
}

// reasons[e][r] is the reason Permit gives when the form read as e is
// denied for r: built once, so that Permit does not allocate.
var reasons = func() (t [numEnc][numRng]string) {
	for e := range numEnc {
		for r := rNone + 1; r < numRng; r++ {
			t[e][r] = encPrefix[e] + rngReason[r]
		}
	}
	return t
}()

// classify returns the entry of the built-in list that holds a, or rNone.
// a has no zone and is not IPv4-mapped.
func classify(a netip.Addr) rng {
	if a.Is4() {
		return classify4(a.As4())
	}
	return classify6(a.As16())
}

func classify4(b [4]byte) rng {
	switch {
	case b[0] == 0:
		if b[1]|b[2]|b[3] == 0 {
			return rUnspecified
		}
		return rThisNetwork
	case b[0] == 10:
		return rPrivate
	case b[0] == 100 && b[1]&0xc0 == 64:
		return rShared
	case b[0] == 127:
		return rLoopback
	case b[0] == 169 && b[1] == 254:
		if b[2] == 169 && b[3] == 254 {
			return rMetadata
		}
		return rLinkLocal
	case b[0] == 172 && b[1]&0xf0 == 16:
		return rPrivate
	case b[0] == 192 && b[1] == 0 && b[2] == 0:
		return rIETF
	case b[0] == 192 && b[1] == 0 && b[2] == 2:
		return rDocumentation
	case b[0] == 192 && b[1] == 168:
		return rPrivate
	case b[0] == 198 && b[1]&0xfe == 18:
		return rBenchmarking
	case b[0] == 198 && b[1] == 51 && b[2] == 100:
		return rDocumentation
	case b[0] == 203 && b[1] == 0 && b[2] == 113:
		return rDocumentation
	case b[0] >= 224 && b[0] < 240:
		return rMulticast
	case b[0] >= 240:
		if b[0]&b[1]&b[2]&b[3] == 255 {
			return rBroadcast
		}
		return rReserved
	}
	return rNone
}

func classify6(b [16]byte) rng {
	switch {
	case zero(b[0:15]) && b[15] <= 1:
		if b[15] == 0 {
			return rUnspecified
		}
		return rLoopback
	case b[0] == 0xff:
		return rMulticast
	case b[0]&0xfe == 0xfc:
		return rULA
	case b[0] == 0xfe && b[1]&0xc0 == 0x80:
		return rLinkLocal
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0:
		return rSiteLocal
	case b[0] == 0x01 && zero(b[1:8]):
		return rDiscard // 100::/64
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8:
		return rDocumentation // 2001:db8::/32
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0x02 && b[4] == 0 && b[5] == 0:
		return rBenchmarking // 2001:2::/48
	case b[0] == 0x3f && b[1] == 0xff && b[2]&0xf0 == 0:
		return rDocumentation // 3fff::/20
	}
	return rNone
}
