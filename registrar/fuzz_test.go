package registrar

import (
	"testing"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
)

// FuzzRegister feeds arbitrary messages through sip.Parse and Register
// twice (the second time against the bindings the first left): Register
// never panics, and every response parses again.
func FuzzRegister(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := sip.Parse(b)
		if err != nil {
			return
		}
		clk := &clock{t: t0}
		r, err := New(Config{Store: location.NewMemory(), Now: clk.Now, MaxBindingsPerAOR: 4})
		if err != nil {
			t.Fatal(err)
		}
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
			clk.Add(30e9)
		}
		if r.store.Len() > 4 {
			t.Fatalf("%d bindings past the cap of 4", r.store.Len())
		}
	})
}
