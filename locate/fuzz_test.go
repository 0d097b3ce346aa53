package locate

import (
	"context"
	"testing"

	"github.com/sipedge/sipedge/sip"
)

// FuzzResolveLiteral feeds arbitrary URIs to Resolve with a resolver whose
// server knows no names: it must not panic, and a target it gives must be
// whole.
func FuzzResolveLiteral(f *testing.F) {
	for _, s := range []string{
		"sip:127.0.0.1", "sips:[::1]:5061", "sip:a@b;maddr=[::1]", "sip:[::ffff:1.2.3.4]",
		"sip:localhost;transport=TLS", "sip:x.test;maddr=1.2.3.999", "sip:[fe80::1%25eth0]",
		"sip:a.b.c.d.e:0", "sips:x;transport=udp", "tel:+1", "sip:-.test", "sip:_sip._udp.x",
	} {
		f.Add(s)
	}
	d := newTestDNS(f)
	r := newResolver(f, []string{d.addr}, nil)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := sip.ParseURI(s)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		got, err := r.Resolve(ctx, &u)
		if err == nil && len(got) == 0 {
			t.Fatalf("Resolve(%q): no targets and no error", s)
		}
		for _, tg := range got {
			if !tg.Addr.IsValid() || tg.Addr.Port() == 0 || tg.Kind == 0 || (tg.ServerName == "") == (tg.Kind.String() == "TLS") {
				t.Fatalf("Resolve(%q): bad target %v", s, tg)
			}
		}
	})
}

// FuzzParseHost checks that a host is either an address or a name DNS can
// be asked about.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"example.test", "[::1]", "127.0.0.1", "EXAMPLE.test.", "a..b", "[1.2.3.4]", "::1", "1.2.3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, ip, err := parseHost(s)
		if err != nil {
			return
		}
		if !ip.IsValid() && !validName(name) {
			t.Fatalf("parseHost(%q) = %q, not a valid name", s, name)
		}
	})
}
