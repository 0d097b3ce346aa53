package registrar

import (
	"testing"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
)

// FuzzRegister feeds arbitrary messages through sip.Parse and Register
// twice (the second time against the bindings the first left), with
// outbound and GRUU on: Register never panics, every response parses
// again, its GRUUs parse as URIs and resolve, and LookupURI takes the
// request's URIs.
func FuzzRegister(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := sip.Parse(b)
		if err != nil {
			return
		}
		clk := &clock{t: t0}
		r, err := New(Config{Store: location.NewMemory(), Now: clk.Now, MaxBindingsPerAOR: 4,
			Outbound: true, GRUU: true, FlowTimer: 30e9, MaxTempGRUUs: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if req.IsRequest() {
				r.LookupURI(&req.RequestURI)
			}
			to := req.To()
			r.LookupURI(&to.URI)
		}()
		for range 2 {
			resp := r.Register(req, flow)
			if resp == nil {
				if req.IsRequest() {
					t.Fatal("nil response to a request")
				}
				return
			}
			again, err := sip.Parse([]byte(resp.String()))
			if err != nil {
				t.Fatalf("response does not parse: %v\n%s", err, resp)
			}
			if again.StatusCode != resp.StatusCode || again.ToTag() == "" {
				t.Fatalf("response read back as %d, To tag %q\n%s", again.StatusCode, again.ToTag(), resp)
			}
			for a, err := range again.Contacts() {
				if err != nil {
					t.Fatalf("response Contact: %v\n%s", err, resp)
				}
				for _, g := range []string{a.PubGRUU(), a.TempGRUU()} {
					if g == "" {
						continue
					}
					u, err := sip.ParseURI(g)
					if err != nil {
						t.Fatalf("GRUU %q does not parse: %v\n%s", g, err, resp)
					}
					if bs, gruu := r.LookupURI(&u); !gruu || len(bs) == 0 {
						t.Fatalf("GRUU %q finds nothing\n%s", g, resp)
					}
				}
			}
			clk.Add(30e9)
		}
		if r.store.Len() > 4 {
			t.Fatalf("%d bindings past the cap of 4", r.store.Len())
		}
		if n := r.temp.len(); n > 8+4 {
			t.Fatalf("%d temp-gruus indexed past the cap of 8", n)
		}
	})
}
