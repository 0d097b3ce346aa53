package locate

import (
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testDNS is an authoritative-looking DNS server on 127.0.0.1, UDP and TCP on
// one port, serving a zone built by the test.
type testDNS struct {
	addr string

	mu       sync.Mutex
	rrs      []dns.RR
	nxdomain map[string]bool // canonical names that do not exist
	truncate map[string]bool // names answered truncated over UDP
	servfail bool
	noChase  bool           // answer CNAMEs without the records they lead to
	delay    time.Duration  // before each answer
	counts   map[string]int // "udp name TYPE" -> queries
}

// newTestDNS starts a server with the zone given as RR text lines.
func newTestDNS(t testing.TB, zone ...string) *testDNS {
	t.Helper()
	return newTestDNSOn(t, "127.0.0.1", zone...)
}

// newTestDNSOn starts the server on a loopback address, 127.0.0.1 or ::1.
func newTestDNSOn(t testing.TB, ip string, zone ...string) *testDNS {
	t.Helper()
	d := &testDNS{nxdomain: map[string]bool{}, truncate: map[string]bool{}, counts: map[string]int{}}
	d.add(t, zone...)
	pc, ln := listenBoth(t, ip)
	d.addr = pc.LocalAddr().String()
	var started sync.WaitGroup
	servers := []*dns.Server{
		{PacketConn: pc, Handler: dns.HandlerFunc(d.serve)},
		{Listener: ln, Handler: dns.HandlerFunc(d.serve)},
	}
	var done sync.WaitGroup
	for _, s := range servers {
		started.Add(1)
		done.Add(1)
		s.NotifyStartedFunc = started.Done
		go func() {
			defer done.Done()
			if err := s.ActivateAndServe(); err != nil {
				t.Errorf("dns server: %v", err)
			}
		}()
	}
	started.Wait()
	t.Cleanup(func() {
		for _, s := range servers {
			if err := s.Shutdown(); err != nil {
				t.Errorf("dns shutdown: %v", err)
			}
		}
		done.Wait()
	})
	return d
}

// listenBoth binds UDP and TCP on the same free loopback port.
func listenBoth(t testing.TB, ip string) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatal(err)
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return nil, nil
}

func (d *testDNS) add(t testing.TB, zone ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range zone {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("zone line %q: %v", line, err)
		}
		d.rrs = append(d.rrs, rr)
	}
}

func (d *testDNS) count(network, name string, qtype uint16) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[network+" "+strings.ToLower(dns.Fqdn(name))+" "+dns.TypeToString[qtype]]
}

func (d *testDNS) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.counts {
		n += c
	}
	return n
}

func (d *testDNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	network := w.LocalAddr().Network()
	d.mu.Lock()
	d.counts[network+" "+name+" "+dns.TypeToString[q.Qtype]]++
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	switch {
	case d.servfail:
		resp.Rcode = dns.RcodeServerFailure
	case network == "udp" && d.truncate[name]:
		resp.Truncated = true
	case d.nxdomain[name]:
		resp.Rcode = dns.RcodeNameError
		resp.Ns = append(resp.Ns, d.soa())
	default:
		// Follow CNAMEs the way a recursive server does.
		cur := name
		for range 10 {
			next := ""
			for _, rr := range d.rrs {
				h := rr.Header()
				if !strings.EqualFold(h.Name, cur) {
					continue
				}
				if c, ok := rr.(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
					resp.Answer = append(resp.Answer, dns.Copy(rr))
					next = c.Target
				} else if h.Rrtype == q.Qtype {
					resp.Answer = append(resp.Answer, dns.Copy(rr))
				}
			}
			if next == "" || d.noChase {
				break
			}
			cur = next
		}
		if len(resp.Answer) == 0 {
			resp.Ns = append(resp.Ns, d.soa())
		}
	}
	delay := d.delay
	d.mu.Unlock()
	time.Sleep(delay)
	if network == "udp" {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

// set changes the server's behaviour under its lock.
func (d *testDNS) set(f func(d *testDNS)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func (d *testDNS) soa() dns.RR {
	rr, _ := dns.NewRR("test. 60 IN SOA ns.test. admin.test. 1 60 60 60 60")
	return rr
}

// silentServer is a UDP socket on 127.0.0.1 that nobody reads: queries to
// it never get an answer.
func silentServer(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// waitTimeout bounds every test wait.
const waitTimeout = 10 * time.Second
