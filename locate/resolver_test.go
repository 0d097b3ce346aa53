package locate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/miekg/dns"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newResolver(t testing.TB, servers []string, mod func(*Config)) *Resolver {
	t.Helper()
	cfg := Config{Servers: servers}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func resolve(t testing.TB, r *Resolver, s string) ([]Target, error) {
	t.Helper()
	u, err := sip.ParseURI(s)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", s, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return r.Resolve(ctx, &u)
}

func mustResolve(t testing.TB, r *Resolver, s string) []Target {
	t.Helper()
	got, err := resolve(t, r, s)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", s, err)
	}
	return got
}

// tg builds a Target from "UDP 127.0.0.1:5060" and an optional server name.
func tg(kind transport.Kind, addr string, name ...string) Target {
	t := Target{Kind: kind, Addr: netip.MustParseAddrPort(addr)}
	if len(name) > 0 {
		t.ServerName = name[0]
	}
	return t
}

func check(t *testing.T, uri string, got, want []Target) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("Resolve(%s):\n got  %v\n want %v", uri, got, want)
	}
}

func TestNoDNS(t *testing.T) {
	d := newTestDNS(t)
	r := newResolver(t, []string{d.addr}, nil)
	const (
		udp = transport.UDP
		tcp = transport.TCP
		tls = transport.TLS
	)
	for _, c := range []struct {
		uri  string
		want []Target
	}{
		{"sip:127.0.0.1", []Target{tg(udp, "127.0.0.1:5060")}},
		{"sip:alice@127.0.0.1:5070", []Target{tg(udp, "127.0.0.1:5070")}},
		{"sip:[::1]", []Target{tg(udp, "[::1]:5060")}},
		{"sip:[::1]:5070;transport=tcp", []Target{tg(tcp, "[::1]:5070")}},
		{"sip:127.0.0.1;transport=TCP", []Target{tg(tcp, "127.0.0.1:5060")}},
		{"sip:127.0.0.1;transport=tls", []Target{tg(tls, "127.0.0.1:5061", "127.0.0.1")}},
		{"sips:127.0.0.1", []Target{tg(tls, "127.0.0.1:5061", "127.0.0.1")}},
		{"sips:[::1]:5071", []Target{tg(tls, "[::1]:5071", "::1")}},
		{"sips:[::1];transport=tcp", []Target{tg(tls, "[::1]:5061", "::1")}},
		{"sip:[::ffff:127.0.0.1]:5062", []Target{tg(udp, "127.0.0.1:5062")}},
		{"sip:example.test;maddr=127.0.0.2", []Target{tg(udp, "127.0.0.2:5060")}},
		{"sip:example.test:5070;maddr=127.0.0.2;transport=tcp", []Target{tg(tcp, "127.0.0.2:5070")}},
		{"sips:example.test;maddr=[::1]", []Target{tg(tls, "[::1]:5061", "example.test")}},
		{"sip:localhost", []Target{tg(udp, "127.0.0.1:5060"), tg(udp, "[::1]:5060")}},
		{"sip:bob@LocalHost.:5080;transport=tcp", []Target{tg(tcp, "127.0.0.1:5080"), tg(tcp, "[::1]:5080")}},
		{"sips:pbx.localhost", []Target{tg(tls, "127.0.0.1:5061", "pbx.localhost"), tg(tls, "[::1]:5061", "pbx.localhost")}},
	} {
		check(t, c.uri, mustResolve(t, r, c.uri), c.want)
	}
	if n := d.total(); n != 0 {
		t.Errorf("%d DNS queries for URIs that need none", n)
	}
}

func TestUnsupported(t *testing.T) {
	d := newTestDNS(t)
	r := newResolver(t, []string{d.addr}, nil)
	udpOnly := newResolver(t, []string{d.addr}, func(c *Config) { c.Transports = []transport.Kind{transport.UDP} })
	for _, c := range []struct {
		r   *Resolver
		uri string
	}{
		{r, "tel:+15551234567"},
		{r, "mailto:alice@example.test"},
		{r, "sip:127.0.0.1;transport=ws"},
		{r, "sip:example.test;transport=wss"},
		{r, "sip:example.test;transport=sctp"},
		{r, "sips:127.0.0.1;transport=udp"},
		{udpOnly, "sip:127.0.0.1;transport=tls"},
		{udpOnly, "sips:example.test"},
	} {
		_, err := resolve(t, c.r, c.uri)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("Resolve(%s) = %v, want ErrUnsupported", c.uri, err)
		}
	}
	for _, u := range []sip.URI{
		{Scheme: "sip", Host: ""},
		{Scheme: "sip", Host: "[::1"},
		{Scheme: "sip", Host: "[127.0.0.1]"},
		{Scheme: "sip", Host: "exa mple.test"},
		{Scheme: "sip", Host: "a..b"},
		{Scheme: "sip", Host: "127.0.0.1", Port: 70000},
		{Scheme: "sip", Host: "0.0.0.0"},
		{Scheme: "sip", Host: "[ff02::1]"},
		{Scheme: "sip", Host: "example.test", Params: ";maddr=224.0.1.75"},
		{Scheme: "sip", Host: "example.test", Params: ";maddr=bad/host"},
	} {
		if got, err := r.Resolve(context.Background(), &u); err == nil {
			t.Errorf("Resolve(%+v) = %v, want an error", u, got)
		}
	}
	if _, err := r.Resolve(context.Background(), nil); err == nil {
		t.Error("Resolve(nil) gave no error")
	}
	if n := d.total(); n != 0 {
		t.Errorf("%d DNS queries for URIs that cannot be located", n)
	}
}

func TestNew(t *testing.T) {
	for _, cfg := range []Config{
		{Servers: []string{"not an address"}},
		{Servers: []string{"127.0.0.1:0"}},
		{Servers: []string{"127.0.0.1"}, Timeout: -1},
		{Servers: []string{"127.0.0.1"}, MaxCacheEntries: -1},
		{Servers: []string{"127.0.0.1"}, Transports: []transport.Kind{transport.WS}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) gave no error", cfg)
		}
	}
	r, err := New(Config{Servers: []string{"127.0.0.1", "::1", "[::1]:5353"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.1:53", "[::1]:53", "[::1]:5353"}; !slices.Equal(r.servers, want) {
		t.Errorf("servers %v, want %v", r.servers, want)
	}
}

// fullZone has NAPTR records for every SIP service (and one for SCTP, which
// sipedge does not speak), each leading to SRV and then to addresses.
var fullZone = []string{
	`example.test. 300 IN NAPTR 5 50 "s" "SIP+D2S" "" _sip._sctp.example.test.`,
	`example.test. 300 IN NAPTR 30 50 "s" "SIP+D2U" "" _sip._udp.example.test.`,
	`example.test. 300 IN NAPTR 10 50 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
	`example.test. 300 IN NAPTR 20 50 "S" "SIP+D2T" "" _sip._tcp.example.test.`,
	`example.test. 300 IN NAPTR 1 50 "u" "E2U+sip" "!^.*$!sip:x@127.0.0.9!" .`,
	`_sip._sctp.example.test. 300 IN SRV 0 0 5060 sctp.example.test.`,
	`_sips._tcp.example.test. 300 IN SRV 0 0 5061 tls.example.test.`,
	`_sip._tcp.example.test. 300 IN SRV 0 0 5060 tcp.example.test.`,
	`_sip._udp.example.test. 300 IN SRV 0 0 5062 udp.example.test.`,
	`sctp.example.test. 300 IN A 127.0.0.9`,
	`tls.example.test. 300 IN AAAA ::1`,
	`tls.example.test. 300 IN A 127.0.0.3`,
	`tcp.example.test. 300 IN A 127.0.0.4`,
	`udp.example.test. 300 IN A 127.0.0.5`,
	`example.test. 300 IN A 127.0.0.8`,
}

func TestNAPTR(t *testing.T) {
	d := newTestDNS(t, fullZone...)
	r := newResolver(t, []string{d.addr}, nil)
	all := []Target{
		tg(transport.TLS, "127.0.0.3:5061", "example.test"),
		tg(transport.TLS, "[::1]:5061", "example.test"),
		tg(transport.TCP, "127.0.0.4:5060"),
		tg(transport.UDP, "127.0.0.5:5062"),
	}
	check(t, "sip:example.test", mustResolve(t, r, "sip:alice@Example.Test."), all)
	check(t, "sips:example.test", mustResolve(t, r, "sips:alice@example.test"), all[:2])

	noTLS := newResolver(t, []string{d.addr}, func(c *Config) { c.Transports = []transport.Kind{transport.UDP, transport.TCP} })
	check(t, "sip:example.test (no TLS)", mustResolve(t, noTLS, "sip:example.test"), all[2:])

	// A transport parameter skips NAPTR and asks SRV for that transport.
	before := d.count("udp", "example.test", dns.TypeNAPTR)
	check(t, "sip:example.test;transport=tcp", mustResolve(t, r, "sip:example.test;transport=tcp"), all[2:3])
	check(t, "sip:example.test;transport=tls", mustResolve(t, r, "sip:example.test;transport=tls"), all[:2])
	// A port skips NAPTR and SRV.
	check(t, "sip:example.test:5099", mustResolve(t, r, "sip:example.test:5099"), []Target{tg(transport.UDP, "127.0.0.8:5099")})
	check(t, "sips:example.test:5099", mustResolve(t, r, "sips:example.test:5099"), []Target{tg(transport.TLS, "127.0.0.8:5099", "example.test")})
	if n := d.count("udp", "example.test", dns.TypeNAPTR); n != before {
		t.Errorf("NAPTR asked %d more times with a transport or port in the URI", n-before)
	}
	if n := d.count("udp", "sctp.example.test", dns.TypeA); n != 0 {
		t.Errorf("the SCTP target was looked up %d times", n)
	}
}

func TestNAPTRUnusable(t *testing.T) {
	// NAPTR records for SCTP only: resolved as if there were none.
	d := newTestDNS(t,
		`example.test. 300 IN NAPTR 10 50 "s" "SIP+D2S" "" _sip._sctp.example.test.`,
		`_sip._tcp.example.test. 300 IN SRV 0 0 5070 tcp.example.test.`,
		`tcp.example.test. 300 IN A 127.0.0.4`,
	)
	r := newResolver(t, []string{d.addr}, nil)
	check(t, "sip:example.test", mustResolve(t, r, "sip:example.test"), []Target{tg(transport.TCP, "127.0.0.4:5070")})
}

func TestSRVWithoutNAPTR(t *testing.T) {
	d := newTestDNS(t,
		`_sip._tcp.example.test. 300 IN SRV 0 0 5070 tcp.example.test.`,
		`_sip._udp.example.test. 300 IN SRV 0 0 5072 udp.example.test.`,
		`tcp.example.test. 300 IN A 127.0.0.4`,
		`udp.example.test. 300 IN A 127.0.0.5`,
		`udp.example.test. 300 IN AAAA ::1`,
		`example.test. 300 IN A 127.0.0.8`,
	)
	r := newResolver(t, []string{d.addr}, nil)
	check(t, "sip:example.test", mustResolve(t, r, "sip:example.test"), []Target{
		tg(transport.UDP, "127.0.0.5:5072"),
		tg(transport.UDP, "[::1]:5072"),
		tg(transport.TCP, "127.0.0.4:5070"),
	})
	// Config.Transports orders the services found.
	tcpFirst := newResolver(t, []string{d.addr}, func(c *Config) {
		c.Transports = []transport.Kind{transport.TLS, transport.TCP, transport.UDP}
	})
	check(t, "sip:example.test (TCP first)", mustResolve(t, tcpFirst, "sip:example.test"), []Target{
		tg(transport.TCP, "127.0.0.4:5070"),
		tg(transport.UDP, "127.0.0.5:5072"),
		tg(transport.UDP, "[::1]:5072"),
	})
	// No _sips._tcp: a sips URI goes to the A records on 5061.
	check(t, "sips:example.test", mustResolve(t, r, "sips:example.test"), []Target{tg(transport.TLS, "127.0.0.8:5061", "example.test")})
	if n := d.count("udp", "_sip._udp.example.test", dns.TypeSRV); n != 2 {
		t.Errorf("_sip._udp asked %d times, want 2 (once per resolver, and never for sips)", n)
	}
}

func TestAddressesWithoutSRV(t *testing.T) {
	d := newTestDNS(t,
		`example.test. 300 IN AAAA ::1`,
		`example.test. 300 IN A 127.0.0.6`,
		`example.test. 300 IN A 127.0.0.7`,
		`v6.example.test. 300 IN AAAA ::1`,
	)
	r := newResolver(t, []string{d.addr}, nil)
	for _, c := range []struct {
		uri  string
		want []Target
	}{
		{"sip:example.test", []Target{tg(transport.UDP, "127.0.0.6:5060"), tg(transport.UDP, "127.0.0.7:5060"), tg(transport.UDP, "[::1]:5060")}},
		{"sip:example.test;transport=tcp", []Target{tg(transport.TCP, "127.0.0.6:5060"), tg(transport.TCP, "127.0.0.7:5060"), tg(transport.TCP, "[::1]:5060")}},
		{"sips:example.test", []Target{tg(transport.TLS, "127.0.0.6:5061", "example.test"), tg(transport.TLS, "127.0.0.7:5061", "example.test"), tg(transport.TLS, "[::1]:5061", "example.test")}},
		{"sip:v6.example.test;transport=tls", []Target{tg(transport.TLS, "[::1]:5061", "v6.example.test")}},
	} {
		check(t, c.uri, mustResolve(t, r, c.uri), c.want)
	}
	tcpOnly := newResolver(t, []string{d.addr}, func(c *Config) { c.Transports = []transport.Kind{transport.TCP} })
	check(t, "sip:v6.example.test (TCP only)", mustResolve(t, tcpOnly, "sip:v6.example.test"), []Target{tg(transport.TCP, "[::1]:5060")})
}

func TestServerOverIPv6(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no ::1: %v", err)
	} else {
		ln.Close()
	}
	d := newTestDNSOn(t, "::1",
		`_sip._tcp.example.test. 300 IN SRV 0 0 5070 v6.example.test.`,
		`_sip._udp.example.test. 300 IN SRV 0 0 0 port0.example.test.`,
		`v6.example.test. 300 IN AAAA ::1`,
	)
	d.set(func(d *testDNS) { d.truncate["v6.example.test."] = true })
	r := newResolver(t, []string{d.addr}, nil)
	check(t, "sip:example.test", mustResolve(t, r, "sip:example.test"), []Target{tg(transport.TCP, "[::1]:5070")})
	if c := d.count("tcp", "v6.example.test", dns.TypeAAAA); c != 1 {
		t.Errorf("AAAA asked %d times over TCP, want 1", c)
	}
}

func TestSRVDecidedlyNotAvailable(t *testing.T) {
	d := newTestDNS(t,
		`_sip._udp.example.test. 300 IN SRV 0 0 0 .`,
		`example.test. 300 IN A 127.0.0.6`,
	)
	r := newResolver(t, []string{d.addr}, nil)
	if got, err := resolve(t, r, "sip:example.test;transport=udp"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve = %v, %v; want ErrNotFound (SRV target \".\")", got, err)
	}
}

func TestCNAME(t *testing.T) {
	zone := []string{
		`_sip._udp.example.test. 300 IN SRV 0 0 5060 alias.example.test.`,
		`alias.example.test. 300 IN CNAME alias2.example.test.`,
		`alias2.example.test. 300 IN CNAME real.example.test.`,
		`real.example.test. 300 IN A 127.0.0.7`,
		`loop.example.test. 300 IN CNAME loop2.example.test.`,
		`loop2.example.test. 300 IN CNAME loop.example.test.`,
	}
	for _, chase := range []bool{true, false} {
		d := newTestDNS(t, zone...)
		d.set(func(d *testDNS) { d.noChase = !chase })
		r := newResolver(t, []string{d.addr}, nil)
		check(t, "sip:example.test", mustResolve(t, r, "sip:example.test"), []Target{tg(transport.UDP, "127.0.0.7:5060")})
		if _, err := resolve(t, r, "sip:loop.example.test:5060"); err == nil {
			t.Error("a CNAME loop resolved")
		}
	}
}

func TestNXDOMAIN(t *testing.T) {
	d := newTestDNS(t)
	d.set(func(d *testDNS) { d.nxdomain["nowhere.test."] = true })
	r := newResolver(t, []string{d.addr}, nil)
	for _, uri := range []string{"sip:nowhere.test", "sips:nowhere.test", "sip:nowhere.test:5060", "sip:nowhere.test;transport=tcp"} {
		if got, err := resolve(t, r, uri); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%s) = %v, %v; want ErrNotFound", uri, got, err)
		}
	}
	// NXDOMAIN for the NAPTR question ends the search (RFC 8020), and the
	// answers are cached.
	if n := d.count("udp", "nowhere.test", dns.TypeNAPTR); n != 1 {
		t.Errorf("NAPTR asked %d times, want 1", n)
	}
	if n := d.count("udp", "_sip._udp.nowhere.test", dns.TypeSRV); n != 0 {
		t.Errorf("SRV asked %d times under a name that does not exist", n)
	}
	// A name with no records at all (NODATA everywhere).
	if _, err := resolve(t, r, "sip:empty.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(sip:empty.test) = %v, want ErrNotFound", err)
	}
}

func TestServerFailure(t *testing.T) {
	bad := newTestDNS(t, `example.test. 300 IN A 127.0.0.6`)
	bad.set(func(d *testDNS) { d.servfail = true })
	good := newTestDNS(t, `example.test. 300 IN A 127.0.0.6`)

	r := newResolver(t, []string{bad.addr}, nil)
	_, err := resolve(t, r, "sip:example.test:5060")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("SERVFAIL gave %v, want an error that is not ErrNotFound", err)
	}

	// The next server is asked when one fails or does not answer.
	silent := silentServer(t)
	r = newResolver(t, []string{bad.addr, silent, good.addr}, func(c *Config) { c.Timeout = 100 * time.Millisecond })
	check(t, "sip:example.test:5060", mustResolve(t, r, "sip:example.test:5060"), []Target{tg(transport.UDP, "127.0.0.6:5060")})
}

func TestContext(t *testing.T) {
	silent := silentServer(t)
	r := newResolver(t, []string{silent}, func(c *Config) { c.Timeout = time.Minute })
	u, _ := sip.ParseURI("sip:example.test")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Resolve(ctx, &u); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Resolve past its deadline = %v, want DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.Resolve(ctx, &u)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Resolve = %v, want Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Resolve did not return after its context was cancelled")
	}

	// The per-query timeout bounds a query when the context has no deadline.
	r = newResolver(t, []string{silent}, func(c *Config) { c.Timeout = 20 * time.Millisecond })
	if _, err := r.Resolve(context.Background(), &u); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve against a silent server = %v, want a timeout", err)
	}
}

func TestTruncation(t *testing.T) {
	d := newTestDNS(t, `big.example.test. 300 IN A 127.0.0.6`)
	d.set(func(d *testDNS) { d.truncate["big.example.test."] = true })
	r := newResolver(t, []string{d.addr}, nil)
	check(t, "sip:big.example.test:5060", mustResolve(t, r, "sip:big.example.test:5060"), []Target{tg(transport.UDP, "127.0.0.6:5060")})
	if u, c := d.count("udp", "big.example.test", dns.TypeA), d.count("tcp", "big.example.test", dns.TypeA); u != 1 || c != 1 {
		t.Errorf("A asked %d times over UDP and %d over TCP, want 1 and 1", u, c)
	}
}

func TestCache(t *testing.T) {
	d := newTestDNS(t, fullZone...)
	d.add(t, `short.test. 5 IN A 127.0.0.6`)
	d.set(func(d *testDNS) { d.nxdomain["nowhere.test."] = true })
	r := newResolver(t, []string{d.addr}, nil)
	clock := time.Now()
	r.now = func() time.Time { return clock }

	first := mustResolve(t, r, "sip:example.test")
	n := d.total()
	for range 5 {
		check(t, "sip:example.test (cached)", mustResolve(t, r, "sip:example.test"), first)
	}
	resolve(t, r, "sip:nowhere.test")
	n2 := d.total()
	resolve(t, r, "sip:nowhere.test")
	if d.total() != n2 {
		t.Errorf("a cached NXDOMAIN was asked again")
	}
	if n2 != n+1 {
		t.Errorf("%d queries after the first resolution, want only nowhere.test's NAPTR", n2-n)
	}

	mustResolve(t, r, "sip:short.test:5060")
	clock = clock.Add(4 * time.Second)
	mustResolve(t, r, "sip:short.test:5060")
	if c := d.count("udp", "short.test", dns.TypeA); c != 1 {
		t.Errorf("A asked %d times within its TTL, want 1", c)
	}
	clock = clock.Add(2 * time.Second)
	mustResolve(t, r, "sip:short.test:5060")
	if c := d.count("udp", "short.test", dns.TypeA); c != 2 {
		t.Errorf("A asked %d times after its TTL, want 2", c)
	}
	// Negative answers live 30 s at most, although the SOA says 60.
	clock = clock.Add(31 * time.Second)
	resolve(t, r, "sip:nowhere.test")
	if c := d.count("udp", "nowhere.test", dns.TypeNAPTR); c != 2 {
		t.Errorf("NAPTR for nowhere.test asked %d times, want 2", c)
	}

	// The bound holds: the least recently used answers go.
	small := newResolver(t, []string{d.addr}, func(c *Config) { c.MaxCacheEntries = 3 })
	mustResolve(t, small, "sip:example.test")
	if l := small.cache.len(); l != 3 {
		t.Errorf("cache holds %d answers, want 3", l)
	}
}

func TestConcurrentLookupsShareQueries(t *testing.T) {
	d := newTestDNS(t, fullZone...)
	d.set(func(d *testDNS) { d.delay = 20 * time.Millisecond })
	r := newResolver(t, []string{d.addr}, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			u, _ := sip.ParseURI("sip:example.test")
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			got, err := r.Resolve(ctx, &u)
			if err == nil && len(got) != 4 {
				err = fmt.Errorf("%d targets, want 4", len(got))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"example.test", dns.TypeNAPTR}, {"_sips._tcp.example.test", dns.TypeSRV}, {"tls.example.test", dns.TypeAAAA}} {
		if c := d.count("udp", q.name, q.qtype); c != 1 {
			t.Errorf("%s %s asked %d times by %d concurrent resolutions, want 1", q.name, dns.TypeToString[q.qtype], c, n)
		}
	}

	// A waiter whose leader gives up asks again itself.
	d2 := newTestDNS(t, `slow.test. 300 IN A 127.0.0.6`)
	d2.set(func(d *testDNS) { d.delay = 100 * time.Millisecond })
	r2 := newResolver(t, []string{d2.addr}, nil)
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	u, _ := sip.ParseURI("sip:slow.test:5060")
	leaderDone := make(chan error, 1)
	go func() {
		_, err := r2.Resolve(leaderCtx, &u)
		leaderDone <- err
	}()
	for i := 0; d2.total() == 0 && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := resolve(t, r2, "sip:slow.test:5060")
		waiter <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v, want Canceled", err)
	}
	if err := <-waiter; err != nil {
		t.Errorf("waiter after its leader gave up: %v", err)
	}
}

func TestMaxTargets(t *testing.T) {
	var zone []string
	for i := range 40 {
		zone = append(zone,
			fmt.Sprintf(`_sip._udp.example.test. 300 IN SRV 0 1 5060 h%d.example.test.`, i),
			fmt.Sprintf(`h%d.example.test. 300 IN A 127.0.0.%d`, i, i+1),
		)
	}
	// Duplicates are dropped.
	zone = append(zone, `_sip._tcp.example.test. 300 IN SRV 0 1 5060 h0.example.test.`)
	d := newTestDNS(t, zone...)
	r := newResolver(t, []string{d.addr}, func(c *Config) { c.Transports = []transport.Kind{transport.UDP} })
	got := mustResolve(t, r, "sip:example.test")
	if len(got) != maxTargets {
		t.Errorf("%d targets, want %d", len(got), maxTargets)
	}
	if n := d.total(); n > 1+1+2*maxTargets {
		t.Errorf("%d queries for %d targets", n, maxTargets)
	}

	d2 := newTestDNS(t,
		`_sip._udp.example.test. 300 IN SRV 0 1 5060 a.example.test.`,
		`_sip._udp.example.test. 300 IN SRV 1 1 5060 b.example.test.`,
		`a.example.test. 300 IN A 127.0.0.1`,
		`b.example.test. 300 IN A 127.0.0.1`,
	)
	r2 := newResolver(t, []string{d2.addr}, nil)
	check(t, "sip:example.test", mustResolve(t, r2, "sip:example.test"), []Target{tg(transport.UDP, "127.0.0.1:5060")})
}

func TestWeights(t *testing.T) {
	d := newTestDNS(t,
		`_sip._udp.example.test. 300 IN SRV 10 10 5060 light.example.test.`,
		`_sip._udp.example.test. 300 IN SRV 10 30 5060 heavy.example.test.`,
		`_sip._udp.example.test. 300 IN SRV 20 50 5060 backup.example.test.`,
		`light.example.test. 300 IN A 127.0.0.1`,
		`heavy.example.test. 300 IN A 127.0.0.2`,
		`backup.example.test. 300 IN A 127.0.0.3`,
	)
	r := newResolver(t, []string{d.addr}, nil)
	const n = 2000
	heavyFirst := 0
	for range n {
		got := mustResolve(t, r, "sip:example.test;transport=udp")
		if len(got) != 3 || got[2].Addr.Addr() != netip.MustParseAddr("127.0.0.3") {
			t.Fatalf("got %v, want the priority 20 record last", got)
		}
		if got[0].Addr.Addr() == netip.MustParseAddr("127.0.0.2") {
			heavyFirst++
		}
	}
	// Expected 3/4 of the time (weights 30 and 10).
	if heavyFirst < n*6/10 || heavyFirst > n*9/10 {
		t.Errorf("weight 30 first in %d of %d, want about 3/4", heavyFirst, n)
	}
}

func TestOrderSRVZeroWeight(t *testing.T) {
	recs := []srvRec{{priority: 1, weight: 0, target: "zero"}, {priority: 1, weight: 4, target: "four"}}
	const n = 2000
	zeroFirst := 0
	for range n {
		got := orderSRV(recs)
		if len(got) != 2 {
			t.Fatalf("got %v", got)
		}
		if got[0].target == "zero" {
			zeroFirst++
		}
	}
	// RFC 2782: the draw is in [0, 4], so weight 0 comes first 1/5 of the time.
	if zeroFirst < n/10 || zeroFirst > n*3/10 {
		t.Errorf("weight 0 first in %d of %d, want about 1/5", zeroFirst, n)
	}
	if recs[0].target != "zero" {
		t.Error("orderSRV changed its input")
	}
}

func BenchmarkResolveCached(b *testing.B) {
	d := newTestDNS(b, fullZone...)
	r := newResolver(b, []string{d.addr}, nil)
	u, _ := sip.ParseURI("sip:alice@example.test")
	ctx := context.Background()
	if _, err := r.Resolve(ctx, &u); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, &u); err != nil {
			b.Fatal(err)
		}
	}
}
