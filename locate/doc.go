// Package locate turns a SIP or SIPS URI into the ordered list of transports,
// addresses and ports to send a request to, by the rules of RFC 3263 §4: an
// maddr or numeric host needs no DNS, an explicit port skips NAPTR and SRV,
// an explicit transport skips NAPTR, and otherwise NAPTR leads to SRV
// (RFC 2782 priority and weighted order), SRV to A and AAAA.
//
// DNS answers are cached for their TTL in a bounded LRU shared by every
// Resolve call; the SRV weighted choice is made again on each call, so load
// spreads the way the zone asks even for cached names.
package locate
