package locate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// ErrNotFound is wrapped by Resolve's error when DNS answered that the name,
// or every record the procedure looked for, does not exist; a proxy answers
// such a target differently (404/604) from a DNS failure (503).
var ErrNotFound = errors.New("locate: not found")

// ErrUnsupported is wrapped by Resolve's error when the URI asks for what
// sipedge cannot locate or send over: a scheme other than sip and sips, or a
// transport outside Config.Transports (ws and wss included, RFC 7118 §5).
var ErrUnsupported = errors.New("locate: unsupported")

// Target is one place to send a request to, in the order to try.
type Target struct {
	Kind transport.Kind // UDP, TCP or TLS
	Addr netip.AddrPort
	// ServerName is the name a TLS connection verifies: the host of the URI
	// (RFC 5922 §4), never the SRV or NAPTR target, so that a DNS answer
	// cannot choose whom we trust. "" for UDP and TCP.
	ServerName string
}

// Config configures a Resolver; the zero value of each field means its
// default.
type Config struct {
	// Servers are the DNS servers ("127.0.0.1:53", "[::1]:53"; a missing
	// port means 53), asked in order until one answers. Empty: those of
	// /etc/resolv.conf, and New fails when it cannot read them (its search
	// list is not applied: SIP domains are fully qualified).
	Servers []string
	// Timeout bounds each query to one server (default 2 s); Resolve is
	// also bounded by its context.
	Timeout time.Duration
	// Transports are what sipedge can send over (default UDP, TCP, TLS),
	// in the order it prefers when a domain publishes SRV records for
	// several but no NAPTR records; NAPTR and SRV choices outside it are
	// skipped. WS and WSS cannot be located and are refused.
	Transports []transport.Kind
	// MaxCacheEntries bounds the DNS answers kept (default 10000); answers
	// live for their TTL, at most an hour, negative ones at most 30 s, and
	// the least recently used go first past the bound.
	MaxCacheEntries int
	// Logger receives DNS server failures at debug level; nil discards.
	Logger *slog.Logger
}

const (
	defaultTimeout    = 2 * time.Second
	defaultMaxEntries = 10000
	maxTTL            = time.Hour
	negativeTTL       = 30 * time.Second
	// maxTargets caps the list Resolve returns: a client rarely gets
	// through more before its transaction times out.
	maxTargets = 16
	// maxLookups caps the DNS lookups (cached or not) of one Resolve, so a
	// zone with hundreds of NAPTR or SRV records cannot make one request
	// cost hundreds of queries.
	maxLookups = 48
	// ednsSize is the UDP payload size advertised (DNS Flag Day 2020),
	// large enough for typical SRV sets without fragmentation.
	ednsSize = 1232
)

// Resolver locates SIP servers. Its methods are safe for concurrent use.
type Resolver struct {
	servers []string
	timeout time.Duration
	kinds   []transport.Kind
	udp     dns.Client
	tcp     dns.Client
	cache   *cache
	log     *slog.Logger
	mu      sync.Mutex
	flights map[cacheKey]*flight // queries under way, one per key
	// now is the clock of the cache, replaced in tests.
	now func() time.Time
}

// New returns a Resolver for cfg.
func New(cfg Config) (*Resolver, error) {
	r := &Resolver{
		timeout: cfg.Timeout,
		log:     cfg.Logger,
		now:     time.Now,
		flights: make(map[cacheKey]*flight),
	}
	if r.timeout < 0 {
		return nil, fmt.Errorf("locate: negative timeout %v", r.timeout)
	}
	if r.timeout == 0 {
		r.timeout = defaultTimeout
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	servers := cfg.Servers
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("locate: no DNS servers configured: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
		if len(servers) == 0 {
			return nil, errors.New("locate: no DNS servers configured and none in /etc/resolv.conf")
		}
	}
	for _, s := range servers {
		ap, err := serverAddr(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, ap)
	}
	kinds := cfg.Transports
	if len(kinds) == 0 {
		kinds = []transport.Kind{transport.UDP, transport.TCP, transport.TLS}
	}
	for _, k := range kinds {
		switch k {
		case transport.UDP, transport.TCP, transport.TLS:
		default:
			return nil, fmt.Errorf("locate: transport %v cannot be located (only UDP, TCP and TLS)", k)
		}
		if !slices.Contains(r.kinds, k) {
			r.kinds = append(r.kinds, k)
		}
	}
	maxEntries := cfg.MaxCacheEntries
	if maxEntries < 0 {
		return nil, fmt.Errorf("locate: negative MaxCacheEntries %d", maxEntries)
	}
	if maxEntries == 0 {
		maxEntries = defaultMaxEntries
	}
	r.cache = newCache(maxEntries)
	r.udp = dns.Client{Net: "udp", Timeout: r.timeout}
	r.tcp = dns.Client{Net: "tcp", Timeout: r.timeout}
	return r, nil
}

// serverAddr checks a DNS server address and adds port 53 when it has none.
func serverAddr(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return "", fmt.Errorf("locate: DNS server %q: port 0", s)
		}
		return ap.String(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return "", fmt.Errorf("locate: DNS server %q is not an IP address with an optional port: %w", s, err)
	}
	return netip.AddrPortFrom(a, 53).String(), nil
}

// supports reports whether sipedge may send over k.
func (r *Resolver) supports(k transport.Kind) bool {
	return slices.Contains(r.kinds, k)
}

// Resolve returns the targets for u, in the order to try (RFC 3263 §4):
// maddr overrides the host; a numeric IP needs no DNS; a transport parameter
// picks the transport; a port given skips NAPTR and SRV; otherwise NAPTR,
// then SRV, then A and AAAA (the A addresses of a name before its AAAA
// ones), at the default port of the transport. A sips URI allows only TLS.
// "localhost" and names under it resolve to 127.0.0.1 and ::1 without DNS
// (RFC 6761 §6.3). Errors wrap ErrNotFound when DNS says there is no such
// name or record, ErrUnsupported for other schemes and for transports
// sipedge cannot send over (ws and wss among them).
func (r *Resolver) Resolve(ctx context.Context, u *sip.URI) ([]Target, error) {
	if u == nil {
		return nil, errors.New("locate: nil URI")
	}
	if !u.IsSIP() {
		return nil, fmt.Errorf("locate: scheme %q: %w", u.Scheme, ErrUnsupported)
	}
	sips := u.IsSIPS()
	if sips && !r.supports(transport.TLS) {
		return nil, fmt.Errorf("locate: sips URI but TLS not enabled: %w", ErrUnsupported)
	}
	kind, explicit, err := r.transportOf(u, sips)
	if err != nil {
		return nil, err
	}
	if u.Port < 0 || u.Port > 65535 {
		return nil, fmt.Errorf("locate: %s: port %d out of range", u.Host, u.Port)
	}
	host, hostIP, err := parseHost(u.Host)
	if err != nil {
		return nil, err
	}
	target, targetIP := host, hostIP
	if m, ok := u.Params.Get("maddr"); ok && m != "" {
		if target, targetIP, err = parseHost(m); err != nil {
			return nil, fmt.Errorf("locate: maddr: %w", err)
		}
	}
	s := resolution{r: r, ctx: ctx, sips: sips, serverName: host, out: make([]Target, 0, 4)}

	if targetIP.IsValid() {
		// RFC 3263 §4.1, §4.2: a numeric target is used as it is.
		if !usableAddr(targetIP) {
			return nil, fmt.Errorf("locate: %s: no request can be sent to %v", u.Host, targetIP)
		}
		if !explicit {
			if kind, err = r.defaultKind(sips); err != nil {
				return nil, err
			}
		}
		s.add(kind, []netip.Addr{targetIP}, portOr(u.Port, kind))
		return s.out, nil
	}

	name := target
	s.name = name
	switch {
	case u.Port != 0 || isLocalhost(name):
		// §4.2: a port given means A/AAAA only; localhost never goes to DNS.
		if !explicit {
			if kind, err = r.defaultKind(sips); err != nil {
				return nil, err
			}
		}
		s.addresses(name, kind, portOr(u.Port, kind))
	case explicit:
		// §4.2: the transport was given, so SRV for it, then A/AAAA.
		if !s.srv(kind, name) {
			s.addresses(name, kind, defaultPort(kind))
		}
	default:
		s.full(name)
	}
	if len(s.out) > 0 {
		return s.out, nil
	}
	if err := ctxDone(ctx); err != nil {
		return nil, fmt.Errorf("locate: %s: %w", u.Host, err)
	}
	if s.err != nil {
		return nil, fmt.Errorf("locate: %s: %w", u.Host, s.err)
	}
	if s.noName {
		return nil, fmt.Errorf("locate: %s: %w", target, errNoName)
	}
	return nil, fmt.Errorf("locate: %s: no usable NAPTR, SRV, A or AAAA records: %w", u.Host, ErrNotFound)
}

// transportOf returns the transport the URI's transport parameter asks for,
// and whether it has one.
func (r *Resolver) transportOf(u *sip.URI, sips bool) (transport.Kind, bool, error) {
	t := u.Transport()
	if t == "" {
		return 0, false, nil
	}
	var k transport.Kind
	switch strings.ToLower(t) {
	case "udp":
		if sips {
			return 0, false, fmt.Errorf("locate: sips URI with transport=udp: %w", ErrUnsupported)
		}
		k = transport.UDP
	case "tcp":
		// RFC 3261 §26.2.2: sips with transport=tcp means TLS over TCP.
		k = transport.TCP
		if sips {
			k = transport.TLS
		}
	case "tls":
		k = transport.TLS
	case "ws", "wss":
		return 0, false, fmt.Errorf("locate: transport=%s: a WebSocket peer is reached over its own connection, not located (RFC 7118 §5): %w", t, ErrUnsupported)
	default:
		return 0, false, fmt.Errorf("locate: transport=%s: %w", t, ErrUnsupported)
	}
	if !r.supports(k) {
		return 0, false, fmt.Errorf("locate: transport=%s: %v not enabled: %w", t, k, ErrUnsupported)
	}
	return k, true, nil
}

// defaultKind is the transport used when neither the URI nor DNS names one:
// UDP for sip and TLS for sips (RFC 3263 §4.1), or for sip the next of TCP
// and TLS that is enabled when UDP is not.
func (r *Resolver) defaultKind(sips bool) (transport.Kind, error) {
	if sips {
		if r.supports(transport.TLS) {
			return transport.TLS, nil
		}
		return 0, fmt.Errorf("locate: sips URI but TLS not enabled: %w", ErrUnsupported)
	}
	for _, k := range []transport.Kind{transport.UDP, transport.TCP, transport.TLS} {
		if r.supports(k) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("locate: no transport enabled: %w", ErrUnsupported)
}

// defaultPort is the port of a transport when the URI and DNS name none.
func defaultPort(k transport.Kind) uint16 {
	if k == transport.TLS {
		return 5061
	}
	return 5060
}

func portOr(p int, k transport.Kind) uint16 {
	if p != 0 {
		return uint16(p)
	}
	return defaultPort(k)
}

// parseHost returns a URI host (or maddr) as a lower-case name without a
// trailing dot, or as an address; IPv6 references come in brackets.
func parseHost(h string) (string, netip.Addr, error) {
	if h == "" {
		return "", netip.Addr{}, errors.New("locate: empty host")
	}
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return "", netip.Addr{}, fmt.Errorf("locate: host %q: unclosed IPv6 reference", h)
		}
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", netip.Addr{}, fmt.Errorf("locate: host %q is not an IPv6 address", h)
		}
		return a.String(), a.Unmap(), nil
	}
	// A name's last label is never all digits (RFC 1123 §2.1), so only
	// what ends in a digit or holds a colon can be an address.
	if c := h[len(h)-1]; ('0' <= c && c <= '9') || strings.Contains(h, ":") {
		if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
			return a.String(), a.Unmap(), nil
		}
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if !validName(name) {
		return "", netip.Addr{}, fmt.Errorf("locate: host %q is not a domain name", h)
	}
	return name, netip.Addr{}, nil
}

// validName reports whether s (no trailing dot) is a host name DNS can be
// asked about: labels of letters, digits, '-' and '_' (SRV owner names),
// 1 to 63 bytes each, 253 in all.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0
}

// isLocalhost reports whether name (lower case, no trailing dot) is
// "localhost" or under it.
func isLocalhost(name string) bool {
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

// resolution is the state of one Resolve call.
type resolution struct {
	r          *Resolver
	ctx        context.Context
	sips       bool
	serverName string
	name       string // the target name, when it is one
	noName     bool   // DNS said name does not exist
	lookups    int
	out        []Target
	// err is the first failure other than "not found", reported when
	// nothing else gave a target.
	err error
}

// full is RFC 3263 §4.1 without a transport or port in the URI: NAPTR,
// else SRV for every enabled transport, else A/AAAA.
func (s *resolution) full(name string) {
	switch ok, err := s.naptr(name); {
	case ok:
		return
	case errors.Is(err, errNoName):
		// RFC 8020: no name, so no SRV names under it and no addresses.
		return
	}
	found := false
	for _, k := range s.r.kinds {
		if s.sips && k != transport.TLS {
			continue
		}
		if s.srv(k, name) {
			found = true
		}
	}
	if found || s.done() {
		return
	}
	kind, err := s.r.defaultKind(s.sips)
	if err != nil {
		s.fail(err)
		return
	}
	s.addresses(name, kind, defaultPort(kind))
}

// naptr follows the usable NAPTR records of name to their SRV records, in
// order and preference, and reports whether that gave targets; when it did
// not (no records, none usable, their SRV names empty) SRV is asked
// directly, as if there were no NAPTR records.
func (s *resolution) naptr(name string) (bool, error) {
	set, err := s.lookup(name, dns.TypeNAPTR)
	if err != nil {
		return false, err
	}
	for _, n := range set.naptrs {
		// §4.1: a sips URI uses only SIPS services; a sip URI keeps them
		// when TLS is enabled.
		if (s.sips && n.kind != transport.TLS) || !s.r.supports(n.kind) {
			continue
		}
		if s.done() {
			break
		}
		s.srvRecords(n.kind, n.replacement)
	}
	return len(s.out) > 0, nil
}

// srv adds the targets of the SRV records for transport k at name, and
// reports whether SRV records were found (a "." target, RFC 2782's "decidedly
// not available", counts as found: no A/AAAA fallback then).
func (s *resolution) srv(k transport.Kind, name string) bool {
	return s.srvRecords(k, srvName(k)+name)
}

// srvName is the SRV owner prefix of a transport: _sips._tcp for TLS
// whatever the scheme (RFC 3263 §4.2), _sip._tcp and _sip._udp otherwise.
func srvName(k transport.Kind) string {
	switch k {
	case transport.TLS:
		return "_sips._tcp."
	case transport.TCP:
		return "_sip._tcp."
	default:
		return "_sip._udp."
	}
}

func (s *resolution) srvRecords(k transport.Kind, owner string) bool {
	set, err := s.lookup(owner, dns.TypeSRV)
	if err != nil {
		return false
	}
	if len(set.srvs) == 1 && set.srvs[0].target == "" {
		return true
	}
	for _, rec := range orderSRV(set.srvs) {
		if s.done() {
			break
		}
		s.addresses(rec.target, k, rec.port)
	}
	return true
}

// addresses adds the A, then the AAAA, addresses of name with port.
func (s *resolution) addresses(name string, k transport.Kind, port uint16) {
	if isLocalhost(name) {
		s.add(k, []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}, port)
		return
	}
	for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
		if s.done() {
			return
		}
		set, err := s.lookup(name, t)
		if errors.Is(err, errNoName) {
			return
		}
		if err == nil {
			s.add(k, set.addrs, port)
		}
	}
}

// lookup returns the records of one type at name, counting it against the
// lookup budget; a failure other than "not found" is also recorded.
func (s *resolution) lookup(name string, qtype uint16) (*rrset, error) {
	if s.lookups >= maxLookups {
		err := fmt.Errorf("more than %d DNS lookups for one URI", maxLookups)
		s.fail(err)
		return nil, err
	}
	s.lookups++
	set, err := s.r.lookup(s.ctx, name, qtype)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.fail(err)
	}
	if errors.Is(err, errNoName) && name == s.name {
		s.noName = true
	}
	return set, err
}

func (s *resolution) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// done reports whether the list is full or the caller gave up.
func (s *resolution) done() bool {
	return len(s.out) >= maxTargets || ctxDone(s.ctx) != nil
}

// add appends the targets not already in the list.
func (s *resolution) add(k transport.Kind, addrs []netip.Addr, port uint16) {
	name := ""
	if k == transport.TLS {
		name = s.serverName
	}
	for _, a := range addrs {
		if len(s.out) >= maxTargets {
			return
		}
		t := Target{Kind: k, Addr: netip.AddrPortFrom(a, port), ServerName: name}
		if !slices.Contains(s.out, t) {
			s.out = append(s.out, t)
		}
	}
}

// String gives a target as "TLS [::1]:5061 (example.com)" for logs.
func (t Target) String() string {
	if t.ServerName == "" {
		return t.Kind.String() + " " + t.Addr.String()
	}
	return t.Kind.String() + " " + t.Addr.String() + " (" + t.ServerName + ")"
}
