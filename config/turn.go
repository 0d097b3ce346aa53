package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// TURN defaults (reTurn's keys; lifetimes RFC 8656).
const (
	defaultTurnPort           = 3478
	defaultTurnTLSPort        = 5349
	defaultTurnPortMin        = 49152
	defaultTurnPortMax        = 65535
	defaultAllocationLifetime = 600  // seconds
	maxAllocationLifetime     = 3600 // seconds; pion/turn v5 fixes it
	defaultMaxAllocPerUser    = 10
	defaultTurnMaxAllocations = 10000
	defaultTurnMaxKbps        = 10000 // 10 Mbit/s: above any WebRTC call's media, far below a link
	maxTurnKbps               = 100000000
	maxTurnAllocations        = 1000000
	turnSecretKey             = "TurnSecret"
	minTurnSecret             = 16
	maxTurnSecrets            = 16
	turnOffHint               = "set, but TurnPort is 0 (TURN is off)"
)

// turnKeys are the keys that mean nothing while TurnPort is 0.
var turnKeys = [...]string{
	"TlsTurnPort", "TurnTlsCertificate", "TurnTlsPrivateKey", "TurnAddress", "AuthenticationRealm", "AllocationPortRangeMin", "AllocationPortRangeMax",
	"DefaultAllocationLifetime", "MaxAllocationLifetime", "MaxAllocationsPerUser", "TurnMaxAllocations", "TurnMaxKbps",
	"TurnRelayAddress", turnSecretKey, "TurnAllowPeers", "TurnDenyPeers",
}

// Turn is the TURN server's configuration; Port 0 means off.
type Turn struct {
	Port uint16 // TurnPort: UDP and TCP (default 3478)
	// TLSPort is TlsTurnPort, TURN over TLS on Addr; 0 is off. Default
	// 5349 when a certificate is configured (TurnTls* or TLSCertificate
	// and TLSPrivateKey), else 0.
	TLSPort uint16
	// TLSCertificate and TLSPrivateKey are TurnTlsCertificate and
	// TurnTlsPrivateKey (default TLSCertificate and TLSPrivateKey): paths,
	// not read here; set when TLSPort is.
	TLSCertificate, TLSPrivateKey string
	// Addr is TurnAddress (default IPAddress); invalid means every
	// interface address of both families, 0.0.0.0 every IPv4 one and ::
	// every one: each address gets its own listeners, and relays bind to
	// the address the client reached.
	Addr netip.Addr
	// Realm is AuthenticationRealm (default the first of Domains): the
	// SIP users of this realm allocate with their own passwords. Empty
	// when neither is set: the server then takes the first domain of the
	// user store, else the host name.
	Realm string
	// RelayAddress is TurnRelayAddress, the address announced for relays
	// (behind NAT); invalid means the address relays bind to.
	RelayAddress     netip.Addr
	PortMin, PortMax uint16 // AllocationPortRangeMin/Max
	DefaultLifetime  time.Duration
	MaxLifetime      time.Duration
	MaxPerUser       int // MaxAllocationsPerUser
	MaxAllocations   int // TurnMaxAllocations
	// MaxBitrate is TurnMaxKbps in bits per second: the cap of each
	// allocation's relayed traffic per direction; 0 is none.
	MaxBitrate int64
	// Secrets are the TurnSecret REST secrets, used as written. Never log them.
	Secrets    [][]byte
	AllowPeers []netip.Prefix // TurnAllowPeers
	DenyPeers  []netip.Prefix // TurnDenyPeers
	Pos        Pos            // TurnPort's
}

// turn reads the TURN keys.
func (b *builder) turn(c *Config) {
	t := &c.Turn
	t.Pos = b.posOf("TurnPort")
	t.Port = defaultTurnPort
	if e := b.get("TurnPort"); e != nil && !b.empty(e, strconv.Itoa(defaultTurnPort)) {
		if n, ok := number(e.value, 0, 65535); ok {
			t.Port = uint16(n)
		} else {
			b.bad(e, "%s is not a port (0-65535, 0 = off)", quoteShort(e.value))
		}
	}
	if t.Port == 0 {
		for _, k := range turnKeys {
			if e := b.get(k); e != nil && !(k == "TlsTurnPort" && e.value == "0") {
				b.bad(e, turnOffHint)
			}
		}
		return
	}
	b.turnTLS(t)
	if e := b.get("TurnAddress"); e != nil {
		if !b.empty(e, "IPAddress") {
			t.Addr = b.addr(e, "leave it out for IPAddress")
		}
	} else if e := b.get("IPAddress"); e != nil && e.value != "" {
		t.Addr, _ = netip.ParseAddr(strings.Trim(e.value, "[]"))
	}
	if e := b.get("AuthenticationRealm"); e != nil {
		if !b.empty(e, "the first of Domains") {
			t.Realm = e.value
		}
	} else if len(c.Domains) > 0 {
		t.Realm = c.Domains[0]
	}
	if e := b.get("TurnRelayAddress"); e != nil && !b.empty(e, "TurnAddress") {
		t.RelayAddress = b.addr(e, "")
		if t.RelayAddress.IsValid() && (t.RelayAddress.IsUnspecified() || t.RelayAddress.IsMulticast()) {
			b.bad(e, "%s cannot be announced as a relay address", t.RelayAddress)
			t.RelayAddress = netip.Addr{}
		}
	}
	if r, a := t.RelayAddress, t.Addr; r.IsValid() && a.IsValid() && !(a.IsUnspecified() && a.Is6()) && a.Is4() != r.Is4() {
		b.badAt(b.posOf("TurnRelayAddress"), "TurnRelayAddress %s and TurnAddress %s are of different address families", r, a)
	}
	t.PortMin = uint16(b.count("AllocationPortRangeMin", defaultTurnPortMin, 1024, 65535))
	t.PortMax = uint16(b.count("AllocationPortRangeMax", defaultTurnPortMax, 1024, 65535))
	if t.PortMin > t.PortMax {
		b.badAt(b.posOf("AllocationPortRangeMin"), "AllocationPortRangeMin (%d) is above AllocationPortRangeMax (%d)", t.PortMin, t.PortMax)
	}
	if e := b.get("MaxAllocationLifetime"); e != nil && !b.empty(e, strconv.Itoa(maxAllocationLifetime)) && e.value != strconv.Itoa(maxAllocationLifetime) {
		b.bad(e, "only %d is supported (the TURN library fixes the maximum)", maxAllocationLifetime)
	}
	t.MaxLifetime = maxAllocationLifetime * time.Second
	t.DefaultLifetime = time.Duration(b.seconds("DefaultAllocationLifetime", defaultAllocationLifetime, 1, maxAllocationLifetime)) * time.Second
	t.MaxPerUser = b.count("MaxAllocationsPerUser", defaultMaxAllocPerUser, 1, maxTurnAllocations)
	t.MaxAllocations = b.count("TurnMaxAllocations", defaultTurnMaxAllocations, 1, maxTurnAllocations)
	t.MaxBitrate = int64(b.count("TurnMaxKbps", defaultTurnMaxKbps, 0, maxTurnKbps)) * 1000
	t.Secrets = b.turnSecrets(c)
	t.AllowPeers = b.prefixes("TurnAllowPeers")
	t.DenyPeers = b.prefixes("TurnDenyPeers")
}

// turnOnSamePort applies the global TurnOnSamePort to the WSS listeners
// that do not say, and checks that a shared port has TURN to share with.
func (b *builder) turnOnSamePort(c *Config) {
	global := b.boolean("TurnOnSamePort")
	wss := false
	for i := range c.Listeners {
		l := &c.Listeners[i]
		if l.Type != "WSS" {
			continue
		}
		wss = true
		if !l.samePortSet {
			l.TurnOnSamePort = global
		}
		if l.TurnOnSamePort && c.Turn.Port == 0 {
			b.badAt(l.Pos, "TURN on the same port needs TURN, but TurnPort is 0")
		}
	}
	if e := b.get("TurnOnSamePort"); e != nil && global && !wss {
		b.bad(e, "set, but there is no WSS listener (WSSPort or Transport<N>Type = WSS) to share")
	}
}

// turnTLS reads TlsTurnPort and its certificate keys. TlsTurnPort
// defaults to 5349 when there is a certificate to serve (TurnTls*, else
// TLSCertificate and TLSPrivateKey), and to off otherwise.
func (b *builder) turnTLS(t *Turn) {
	certKey, keyKey := "TurnTlsCertificate", "TurnTlsPrivateKey"
	if b.get(certKey) == nil && b.get(keyKey) == nil {
		certKey, keyKey = "TLSCertificate", "TLSPrivateKey"
	}
	e := b.get("TlsTurnPort")
	switch {
	case e == nil:
		if b.str(certKey) != "" && b.str(keyKey) != "" && t.Port != defaultTurnTLSPort {
			t.TLSPort = defaultTurnTLSPort
		}
	case b.empty(e, "5349 with a certificate, else 0"):
	default:
		if n, ok := number(e.value, 0, 65535); !ok {
			b.bad(e, "%s is not a port (0-65535, 0 = off)", quoteShort(e.value))
		} else if n != 0 && uint16(n) == t.Port {
			b.bad(e, "%d is TurnPort too, whose TCP listener takes it: pick another port (5349 is the usual one)", n)
		} else {
			t.TLSPort = uint16(n)
		}
	}
	if t.TLSPort == 0 {
		for _, k := range [...]string{"TurnTlsCertificate", "TurnTlsPrivateKey"} {
			if e := b.get(k); e != nil {
				b.bad(e, "set, but TlsTurnPort is 0 (TURN over TLS is off)")
			}
		}
		return
	}
	t.TLSCertificate, t.TLSPrivateKey = b.str(certKey), b.str(keyKey)
	if missing := missingOf(certKey, t.TLSCertificate, keyKey, t.TLSPrivateKey); missing != "" {
		b.badAt(b.posOf("TlsTurnPort"), "TURN over TLS needs %s (TurnTlsCertificate and TurnTlsPrivateKey, or else TLSCertificate and TLSPrivateKey)", missing)
	}
}

// turnTLSUsesSIPKeys: TURN over TLS takes TLSCertificate and
// TLSPrivateKey (TURN on, TurnTls* unset, and TlsTurnPort set to a port or
// left to its default with both keys given), so that they are used even
// without a SIP TLS listener.
func (b *builder) turnTLSUsesSIPKeys() bool {
	if e := b.get("TurnPort"); e != nil && strings.TrimSpace(e.value) == "0" || b.get("TurnTlsCertificate") != nil || b.get("TurnTlsPrivateKey") != nil {
		return false
	}
	if e := b.get("TlsTurnPort"); e != nil {
		return strings.TrimSpace(e.value) != "0"
	}
	return b.str("TLSCertificate") != "" && b.str("TLSPrivateKey") != ""
}

// addr parses an IP address value (brackets allowed around IPv6).
func (b *builder) addr(e *entry, hint string) netip.Addr {
	v := e.value
	bracketed := strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]")
	if bracketed {
		v = v[1 : len(v)-1]
	}
	a, err := netip.ParseAddr(v)
	if err != nil || bracketed && !a.Is6() || a.Zone() != "" {
		if hint != "" {
			hint = " (" + hint + ")"
		}
		b.bad(e, "%s is not an IP address%s", quoteShort(e.value), hint)
		return netip.Addr{}
	}
	return a.Unmap()
}

// turnSecrets reads TurnSecret: comma-separated secrets used as written
// (coturn's static-auth-secret), any of which verifies a REST credential.
func (b *builder) turnSecrets(c *Config) [][]byte {
	e := b.get(turnSecretKey)
	if e == nil {
		return nil
	}
	if e.value == "" {
		b.bad(e, "empty value: remove the line to turn REST credentials off")
		return nil
	}
	parts := strings.Split(e.value, ",")
	if len(parts) > maxTurnSecrets {
		b.bad(e, "%d secrets, at most %d", len(parts), maxTurnSecrets)
		return nil
	}
	var out [][]byte
	for i, p := range parts {
		s := []byte(strings.TrimSpace(p))
		switch {
		case len(s) == 0:
			b.bad(e, "%s", secretMsg(i, len(parts), "empty secret"))
			return nil
		case len(s) < minTurnSecret:
			c.Warnings = append(c.Warnings, &Error{File: e.pos.File, Line: e.pos.Line, Key: e.ref.name,
				Msg: secretMsg(i, len(parts), fmt.Sprintf("%d bytes: a secret shorter than %d can be found from one credential by trying keys; %s", len(s), minTurnSecret, secretHint))})
		}
		for j, prev := range out {
			if bytes.Equal(prev, s) {
				b.bad(e, "%s", secretMsg(i, len(parts), fmt.Sprintf("the same as secret %d", j+1)))
				return nil
			}
		}
		out = append(out, s)
	}
	return out
}

// prefixes reads a comma- or blank-separated list of addresses and CIDR ranges.
func (b *builder) prefixes(key string) []netip.Prefix {
	e := b.get(key)
	if e == nil {
		return nil
	}
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(e.value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || p.Addr().Zone() != "" {
			b.bad(e, "%s is not an IP address or CIDR range", quoteShort(f))
			continue
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		b.bad(e, "empty value: remove the line")
	}
	return out
}
