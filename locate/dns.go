package locate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/sipedge/sipedge/transport"
)

// maxCNAMEs bounds a CNAME chain, within one answer and across the queries
// that follow it.
const maxCNAMEs = 8

// rrset is the part of one DNS answer that locating needs.
type rrset struct {
	addrs  []netip.Addr // A or AAAA
	srvs   []srvRec     // as the answer listed them
	naptrs []naptrRec   // the SIP ones, sorted by order and preference
}

type srvRec struct {
	priority, weight, port uint16
	target                 string // lower case, no trailing dot; "" for "."
}

type naptrRec struct {
	order, pref uint16
	kind        transport.Kind
	replacement string
}

// lookup returns the records of type qtype at name (lower case, no trailing
// dot), from the cache when it holds them. Concurrent lookups of one key
// share one query, so an answer expiring under load costs one query, not
// one per request.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) (*rrset, error) {
	key := cacheKey{name: name, qtype: qtype}
	for {
		if ans, ok := r.cache.get(key, r.now()); ok {
			if ans.set == nil {
				return nil, notFound(ans.nx)
			}
			return ans.set, nil
		}
		r.mu.Lock()
		f, ok := r.flights[key]
		if !ok {
			f = &flight{done: make(chan struct{})}
			r.flights[key] = f
			r.mu.Unlock()
			return r.lead(ctx, key, f)
		}
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s: %w", dns.TypeToString[qtype], name, ctx.Err())
		}
		if !f.abandoned {
			return f.set, f.err
		}
		// The caller that asked gave up before the answer came; ask again.
	}
}

// flight is one query that concurrent lookups of its key wait for.
type flight struct {
	done chan struct{}
	set  *rrset
	err  error
	// abandoned: the query ended because its caller's context did, which
	// says nothing about the answer.
	abandoned bool
}

// lead runs the query of flight f, caches its answer and hands it to the
// lookups waiting for it.
func (r *Resolver) lead(ctx context.Context, key cacheKey, f *flight) (*rrset, error) {
	set, ttl, err := r.query(ctx, key.name, key.qtype)
	if err == nil || errors.Is(err, ErrNotFound) {
		if ttl > 0 {
			r.cache.put(key, answer{set: set, nx: errors.Is(err, errNoName)}, r.now().Add(ttl))
		}
	} else {
		set = nil
	}
	f.set, f.err, f.abandoned = set, err, ctxDone(ctx) != nil
	r.mu.Lock()
	delete(r.flights, key)
	r.mu.Unlock()
	close(f.done)
	return set, err
}

// The not-found errors of one lookup carry no name, so that a cached
// negative answer costs no allocation; Resolve names the URI's host.
var (
	// errNoName comes from NXDOMAIN: the name has no records of any type,
	// nor has any name under it (RFC 8020).
	errNoName = fmt.Errorf("no such domain: %w", ErrNotFound)
	// errNoData: the name exists without records of the type asked.
	errNoData = fmt.Errorf("no such records: %w", ErrNotFound)
)

func notFound(nx bool) error {
	if nx {
		return errNoName
	}
	return errNoData
}

// query asks the servers for name's records of qtype, following CNAMEs,
// and returns them with how long they may be cached; a nil set with an
// error wrapping ErrNotFound when there are none.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*rrset, time.Duration, error) {
	ttl := maxTTL
	qname := name
	for range maxCNAMEs {
		resp, err := r.exchange(ctx, dns.Fqdn(qname), qtype)
		if err != nil {
			return nil, 0, err
		}
		rrs, final, chainTTL := answers(resp, qname, qtype)
		ttl = min(ttl, chainTTL)
		if resp.Rcode == dns.RcodeNameError {
			// NXDOMAIN at the end of a chain says nothing about name.
			return nil, min(ttl, negTTL(resp)), notFound(qname == name && final == name)
		}
		if len(rrs) > 0 {
			set, setTTL := parse(rrs)
			ttl = min(ttl, setTTL)
			if set == nil {
				// Records exist but none is usable: cache that as the
				// answer it amounts to.
				return nil, min(ttl, negativeTTL), notFound(false)
			}
			return set, ttl, nil
		}
		if final == qname {
			return nil, min(ttl, negTTL(resp)), notFound(false)
		}
		// The chain leads to a name the server did not answer for.
		qname = final
	}
	return nil, 0, fmt.Errorf("%s %s: CNAME chain longer than %d", dns.TypeToString[qtype], name, maxCNAMEs)
}

// answers follows the CNAME chain from name in resp's answer section and
// returns the records of qtype at its end, the name it ends at and the
// smallest TTL of the chain.
func answers(resp *dns.Msg, name string, qtype uint16) ([]dns.RR, string, time.Duration) {
	ttl := maxTTL
	for range maxCNAMEs {
		next := ""
		for _, rr := range resp.Answer {
			if c, ok := rr.(*dns.CNAME); ok && sameName(c.Hdr.Name, name) {
				next = canonical(c.Target)
				ttl = min(ttl, seconds(c.Hdr.Ttl))
				break
			}
		}
		if next == "" || !validName(next) {
			break
		}
		name = next
	}
	var rrs []dns.RR
	for _, rr := range resp.Answer {
		if h := rr.Header(); h.Rrtype == qtype && h.Class == dns.ClassINET && sameName(h.Name, name) {
			rrs = append(rrs, rr)
		}
	}
	return rrs, name, ttl
}

// parse keeps what locating uses of one RRset and returns it with the
// smallest TTL; nil when nothing in it is usable.
func parse(rrs []dns.RR) (*rrset, time.Duration) {
	set := &rrset{}
	ttl := maxTTL
	for _, rr := range rrs {
		ttl = min(ttl, seconds(rr.Header().Ttl))
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok && usableAddr(a) {
				set.addrs = append(set.addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok && usableAddr(a.Unmap()) {
				set.addrs = append(set.addrs, a.Unmap())
			}
		case *dns.SRV:
			t := canonical(rr.Target)
			if t != "" && (!validName(t) || rr.Port == 0) {
				continue
			}
			set.srvs = append(set.srvs, srvRec{priority: rr.Priority, weight: rr.Weight, port: rr.Port, target: t})
		case *dns.NAPTR:
			if n, ok := sipNAPTR(rr); ok {
				set.naptrs = append(set.naptrs, n)
			}
		}
	}
	if len(set.addrs)+len(set.srvs)+len(set.naptrs) == 0 {
		return nil, ttl
	}
	if len(set.srvs) > 1 {
		// RFC 2782: "." is only meaningful alone.
		set.srvs = slices.DeleteFunc(set.srvs, func(s srvRec) bool { return s.target == "" })
	}
	slices.SortStableFunc(set.naptrs, func(a, b naptrRec) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.pref, b.pref))
	})
	return set, ttl
}

// sipNAPTR returns the transport and SRV name of a NAPTR record for SIP
// (RFC 3263 §4.1: flag "s", no regexp, services SIP+D2U, SIP+D2T and
// SIPS+D2T; SCTP and unknown services are dropped).
func sipNAPTR(rr *dns.NAPTR) (naptrRec, bool) {
	if !strings.EqualFold(rr.Flags, "s") || rr.Regexp != "" {
		return naptrRec{}, false
	}
	var k transport.Kind
	switch strings.ToUpper(rr.Service) {
	case "SIP+D2U":
		k = transport.UDP
	case "SIP+D2T":
		k = transport.TCP
	case "SIPS+D2T":
		k = transport.TLS
	default:
		return naptrRec{}, false
	}
	repl := canonical(rr.Replacement)
	if !validName(repl) {
		return naptrRec{}, false
	}
	return naptrRec{order: rr.Order, pref: rr.Preference, kind: k, replacement: repl}, true
}

// usableAddr drops addresses no request can be sent to.
func usableAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// negTTL is how long a negative answer may be cached (RFC 2308 §5: the
// smaller of the SOA's TTL and MINIMUM), at most negativeTTL.
func negTTL(resp *dns.Msg) time.Duration {
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(negativeTTL, seconds(soa.Hdr.Ttl), seconds(soa.Minttl))
		}
	}
	return negativeTTL
}

func seconds(ttl uint32) time.Duration {
	return min(time.Duration(ttl)*time.Second, maxTTL)
}

// canonical returns a DNS name in lower case without its trailing dot.
func canonical(n string) string {
	return strings.ToLower(strings.TrimSuffix(n, "."))
}

// sameName compares an owner name from an answer with a canonical name.
func sameName(owner, name string) bool {
	return strings.EqualFold(strings.TrimSuffix(owner, "."), name)
}

// exchange asks each server in turn until one gives an answer (NOERROR or
// NXDOMAIN) to the question; a truncated UDP answer is asked again over TCP.
func (r *Resolver) exchange(ctx context.Context, fqdn string, qtype uint16) (*dns.Msg, error) {
	var errs []error
	for _, server := range r.servers {
		if err := ctxDone(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: %w", dns.TypeToString[qtype], fqdn, err)
		}
		resp, err := r.exchangeOne(ctx, &r.udp, fqdn, qtype, server)
		if resp != nil && resp.Truncated {
			resp, err = r.exchangeOne(ctx, &r.tcp, fqdn, qtype, server)
		}
		if err == nil && resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
			err = fmt.Errorf("rcode %s", dns.RcodeToString[resp.Rcode])
		}
		if err == nil {
			return resp, nil
		}
		if ctxErr := ctxDone(ctx); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", dns.TypeToString[qtype], fqdn, ctxErr)
		}
		r.log.Debug("locate: DNS server failed", "server", server, "name", fqdn, "type", dns.TypeToString[qtype], "err", err)
		errs = append(errs, fmt.Errorf("server %s: %w", server, err))
	}
	return nil, fmt.Errorf("%s %s: %w", dns.TypeToString[qtype], fqdn, errors.Join(errs...))
}

// exchangeOne asks one server once, within Timeout and ctx: the connection
// is closed when ctx ends, so a cancelled Resolve does not wait for it.
func (r *Resolver) exchangeOne(ctx context.Context, c *dns.Client, fqdn string, qtype uint16, server string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.SetEdns0(ednsSize, false)
	co, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { co.Close() })
	resp, _, err := c.ExchangeWithConnContext(ctx, m, co)
	if stop() {
		co.Close()
	}
	if resp != nil && resp.Truncated && c.Net == "udp" {
		return resp, nil
	}
	if err != nil {
		if ctxErr := ctxDone(ctx); ctxErr != nil {
			return nil, fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, err
	}
	if len(resp.Question) != 1 || resp.Question[0].Qtype != qtype || !strings.EqualFold(resp.Question[0].Name, fqdn) {
		return nil, errors.New("answer to another question")
	}
	return resp, nil
}

// ctxDone is ctx.Err(), also when the deadline has passed but ctx's own timer
// has not fired yet: a read that timed out on the deadline is the context's
// doing, not the server's.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}
