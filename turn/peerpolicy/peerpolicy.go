// Package peerpolicy decides which peer addresses a TURN allocation may
// relay to. The TURN server asks it for every CreatePermission, ChannelBind
// and TCP Connect (RFC 6062) and answers 403 (Forbidden) when it says no.
//
// pion/turn's default permission handler admits every peer, which turns a
// TURN server into a proxy into the network it runs in: loopback services,
// RFC 1918 hosts, the cloud metadata endpoint at 169.254.169.254 (coturn
// CVE-2020-26262). Checking the address as written is not enough: an IPv6
// address can embed an IPv4 one that the kernel, a 6to4 relay or a NAT64
// gateway will reach in the end (coturn CVE-2026-27624 relayed to
// ::ffff:127.0.0.1). So a Policy checks the address and every IPv4
// address embedded in it.
//
// # Embedded IPv4 addresses
//
// Canonical and Permit decode these forms (the zone is dropped first):
//
//	::ffff:a.b.c.d            IPv4-mapped (RFC 4291 §2.5.5.2)
//	::a.b.c.d                 IPv4-compatible, deprecated (RFC 4291 §2.5.5.1);
//	                          not :: and ::1, which stay themselves
//	::ffff:0:a.b.c.d          IPv4-translated (SIIT, RFC 2765)
//	2002:AABB:CCDD::/48       6to4 (RFC 3056), the IPv4 address in bits 16-47
//	64:ff9b::a.b.c.d          NAT64 well-known prefix /96 (RFC 6052)
//	64:ff9b:1:...:a.b.c.d     NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215),
//	                          read as a /96 NAT64 prefix: the last 32 bits
//	2001:0:SSSS:SSSS:...:CCCC:CCCC
//	                          Teredo (RFC 4380): the server's IPv4 address in
//	                          bits 32-63 and the client's, XOR 0xffffffff, in
//	                          the last 32 bits
//
// Canonical returns the embedded address (for Teredo the client's, which
// is where relayed data goes). Permit checks the address as written and
// every embedded address; for Teredo both the client and the server,
// since the relay sends bubbles through the server. So Permit(a) equals
// Permit(Canonical(a)) for the default policy, except that a Teredo
// address whose server address is denied is denied although its client
// address may be allowed.
//
// The local-use NAT64 block may be split into prefixes of other RFC 6052
// lengths (/48 to /64) that place the IPv4 address elsewhere; reading every
// length at once would deny every address of the common 64:ff9b:1::/96
// setup (its /48 reading is 0.0.x.x), so only the /96 reading is used. An
// operator running such a NAT64 next to sipedge should put its prefix in
// Config.Deny.
//
// # Order of the checks
//
//  1. An invalid address is denied.
//  2. Config.Deny: an address any of whose forms is in Deny is denied, even
//     when Allow also matches (deny wins).
//  3. Config.Own: an address any of whose forms is one of sipedge's own
//     addresses is denied, unless that very address is in Allow as a
//     single-address prefix (127.0.0.1/32). A wider Allow prefix (10.0.0.0/8,
//     127.0.0.0/8) does not admit an own address: relaying to sipedge's own
//     SIP or TURN ports makes loops and lets a peer's packets appear to come
//     from sipedge.
//  4. The built-in list (unless Config.AllowPrivate): an address any of
//     whose forms is in the list is denied, unless that form is in Allow.
//     Allow covers the form it names only: Allow 64:ff9b::/96 does not admit
//     64:ff9b::10.0.0.1, since 10.0.0.1 is not in Allow.
//  5. Everything else is allowed.
//
// A NAT64 address whose embedded IPv4 address is public is allowed: that is
// real NAT64 relaying, and reaches no more than relaying to the IPv4
// address itself. One whose embedded address is denied is denied.
//
// Lists match the canonical forms: write IPv4 ranges as IPv4. An
// IPv4-mapped prefix of /96 or longer in Allow or Deny (::ffff:10.0.0.0/104)
// is converted to its IPv4 form (10.0.0.0/8).
//
// # The built-in list
//
//	0.0.0.0/8 (0.0.0.0 is "unspecified"), 10.0.0.0/8, 100.64.0.0/10,
//	127.0.0.0/8, 169.254.0.0/16 (169.254.169.254 is "cloud metadata"),
//	172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24, 192.168.0.0/16,
//	198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4,
//	240.0.0.0/4, 255.255.255.255;
//	::/128, ::1/128, 100::/64, 2001:2::/48, 2001:db8::/32, 3fff::/20,
//	fc00::/7, fe80::/10, fec0::/10, ff00::/8.
//
// Ports play no part: an own address is denied on every port, since one
// SIP or TURN listener on it is enough to loop. A Policy is immutable and
// safe for concurrent use; Permit does not allocate.
package peerpolicy

import (
	"net/netip"
)

// Config configures a Policy. The zero Config is the secure default.
type Config struct {
	// Allow lists ranges relaying may reach although the built-in list
	// denies them (operators; loopback tests). It never beats Deny, and
	// beats Own only with a single-address prefix naming that address.
	Allow []netip.Prefix
	// Deny lists ranges denied in addition to the built-in list. Deny
	// beats Allow.
	Deny []netip.Prefix
	// Own lists sipedge's own addresses (listeners, relay addresses):
	// always denied unless in Allow as single-address prefixes. List the
	// interface addresses, not a wildcard.
	Own []netip.Addr
	// AllowPrivate skips the built-in list; Own and Deny still apply.
	AllowPrivate bool
}

// Policy decides which peer addresses a TURN allocation may relay to.
type Policy struct {
	allow        []netip.Prefix
	allowHosts   []netip.Addr
	deny         []netip.Prefix
	own          []netip.Addr
	allowPrivate bool
}

// New returns the Policy cfg describes. Invalid prefixes and addresses in
// cfg are ignored; New copies the slices, so cfg may change afterwards.
func New(cfg Config) *Policy {
	p := &Policy{allowPrivate: cfg.AllowPrivate}
	p.allow = normPrefixes(cfg.Allow)
	p.deny = normPrefixes(cfg.Deny)
	for _, pr := range p.allow {
		if pr.IsSingleIP() {
			p.allowHosts = append(p.allowHosts, pr.Addr())
		}
	}
	for _, a := range cfg.Own {
		if a.IsValid() {
			p.own = append(p.own, a.WithZone("").Unmap())
		}
	}
	return p
}

// normPrefixes masks the valid prefixes and converts IPv4-mapped ones of
// /96 or longer to IPv4.
func normPrefixes(in []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, pr := range in {
		if !pr.IsValid() {
			continue
		}
		a := pr.Addr()
		if a.Is4In6() && pr.Bits() >= 96 {
			pr = netip.PrefixFrom(a.Unmap(), pr.Bits()-96)
		}
		out = append(out, pr.Masked())
	}
	return out
}

// Permit reports whether relaying to addr is allowed, and the reason when
// not ("loopback", "private (RFC 1918)", "IPv4-mapped loopback", "6to4
// link-local (cloud metadata)", "own address", "denied by configuration"...).
func (p *Policy) Permit(addr netip.Addr) (ok bool, reason string) {
	if !addr.IsValid() {
		return false, "invalid address"
	}
	fs, n := forms(addr)
	for i := range n {
		if contains(p.deny, fs[i].addr) {
			return false, reasons[fs[i].enc][rDeny]
		}
	}
	for i := range n {
		if has(p.own, fs[i].addr) && !has(p.allowHosts, fs[i].addr) {
			return false, reasons[fs[i].enc][rOwn]
		}
	}
	if !p.allowPrivate {
		for i := range n {
			if r := classify(fs[i].addr); r != rNone && !contains(p.allow, fs[i].addr) {
				return false, reasons[fs[i].enc][r]
			}
		}
	}
	return true, ""
}

// Canonical returns the address relaying to addr would really reach: the
// IPv4 address embedded in an IPv4-mapped, IPv4-compatible,
// IPv4-translated, 6to4, NAT64 (64:ff9b::/96, 64:ff9b:1::/48) or Teredo
// (the client's) address, or else addr itself; the zone is dropped. An
// invalid addr is returned as is.
func Canonical(addr netip.Addr) netip.Addr {
	if !addr.IsValid() {
		return addr
	}
	fs, n := forms(addr)
	if n > 1 {
		return fs[1].addr
	}
	return fs[0].addr
}

func contains(l []netip.Prefix, a netip.Addr) bool {
	for _, pr := range l {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

func has(l []netip.Addr, a netip.Addr) bool {
	for _, b := range l {
		if a == b {
			return true
		}
	}
	return false
}
