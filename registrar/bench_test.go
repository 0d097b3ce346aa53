package registrar

import (
	"fmt"
	"testing"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
)

// benchRequest is a REGISTER as a WebRTC client sends it (JsSIP-like).
func benchRequest(b *testing.B, callID string) *sip.Message {
	b.Helper()
	text := "REGISTER sip:biloxi.com SIP/2.0\r\n" +
		"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n" +
		"Max-Forwards: 69\r\n" +
		"To: <sip:bob@biloxi.com>\r\n" +
		"From: <sip:bob@biloxi.com>;tag=7a7iqjb6e0\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 2 REGISTER\r\n" +
		"Contact: <sip:lhj3b2ck@df7jal23ls0d.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:4b2a6c2a-2f47-4a2e-9d4b-2c1cbf6c1b1e>\";expires=600\r\n" +
		"Expires: 600\r\n" +
		"Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n" +
		"Supported: path,gruu,outbound\r\n" +
		"User-Agent: JsSIP 3.10.0\r\n" +
		"Content-Length: 0\r\n\r\n"
	m, err := sip.Parse([]byte(text))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkRegisterRefresh measures the refresh of an existing binding:
// two Call-IDs take turns, so that each REGISTER replaces the binding the
// other wrote (the path of an ordinary re-REGISTER).
func BenchmarkRegisterRefresh(b *testing.B) {
	b.Run("rfc3261", func(b *testing.B) { benchRefresh(b, nil) })
	// The same REGISTER with outbound and GRUU on: the binding is keyed by
	// instance and reg-id, and each 200 carries a new temp-gruu.
	b.Run("outbound+gruu", func(b *testing.B) {
		benchRefresh(b, func(c *Config) { c.Outbound, c.GRUU, c.FlowTimer = true, true, 120e9 })
	})
}

func benchRefresh(b *testing.B, mod func(*Config)) {
	r, _ := newRegistrar(b, mod)
	reqs := [2]*sip.Message{benchRequest(b, "bench-a"), benchRequest(b, "bench-b")}
	if resp := r.Register(reqs[1], flow); resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if resp := r.Register(reqs[i&1], flow); resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		i++
	}
}

// BenchmarkLookup measures the proxy's read of an AOR with n bindings.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 5} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, _ := newRegistrar(b, nil)
			for i := range n {
				req := benchRequest(b, fmt.Sprintf("lookup-%d", i))
				req.Set("Contact", fmt.Sprintf("<sip:dev%d@df7jal23ls0d.invalid;transport=ws>;expires=600", i))
				if resp := r.Register(req, flow); resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := r.Lookup(bobAOR); len(got) != n {
					b.Fatalf("%d bindings", len(got))
				}
			}
		})
	}
}

// BenchmarkMemoryUpdateParallel measures Store.Update on many AORs from
// all CPUs, the sharding's contention.
func BenchmarkMemoryUpdateParallel(b *testing.B) {
	m := location.NewMemory()
	a, err := sip.ParseAddr("<sip:dev@h.invalid;transport=ws>")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			aor := aors[i%len(aors)]
			i++
			_ = m.Update(aor, t0, func(cur []location.Binding) ([]location.Binding, error) {
				return append(cur[:0:0], location.Binding{AOR: aor, Contact: a, Q: 1000, Expires: t0.Add(600e9), Updated: t0}), nil
			})
		}
	})
}

var aors = func() []string {
	out := make([]string, 1024)
	for i := range out {
		out[i] = fmt.Sprintf("sip:user%d@biloxi.com", i)
	}
	return out
}()
