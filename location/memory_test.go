package location

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func bind(t testing.TB, aor, contact string, q int, expires, updated time.Time) Binding {
	t.Helper()
	a, err := sip.ParseAddr(contact)
	if err != nil {
		t.Fatalf("ParseAddr(%q): %v", contact, err)
	}
	return Binding{AOR: aor, Contact: a, Q: q, Expires: expires, Updated: updated}
}

func set(bs ...Binding) func([]Binding) ([]Binding, error) {
	return func([]Binding) ([]Binding, error) { return bs, nil }
}

func uris(bs []Binding) []string {
	out := make([]string, len(bs))
	for i := range bs {
		out[i] = bs[i].Contact.URI.String()
	}
	return out
}

func TestLookupOrder(t *testing.T) {
	m := NewMemory()
	const aor = "sip:alice@example.com"
	exp := t0.Add(time.Hour)
	err := m.Update(aor, t0, set(
		bind(t, aor, "<sip:a@1.example>", 500, exp, t0),
		bind(t, aor, "<sip:b@2.example>", 1000, exp, t0),
		bind(t, aor, "<sip:c@3.example>", 500, exp, t0.Add(time.Second)),
		bind(t, aor, "<sip:d@4.example>", 1000, exp, t0.Add(-time.Second)),
		bind(t, aor, "<sip:old@5.example>", 1000, t0.Add(time.Minute), t0),
	))
	if err != nil {
		t.Fatal(err)
	}
	got := uris(m.Lookup(aor, t0))
	want := []string{"sip:b@2.example", "sip:old@5.example", "sip:d@4.example", "sip:c@3.example", "sip:a@1.example"}
	if !slices.Equal(got, want) {
		t.Fatalf("Lookup order = %v, want %v", got, want)
	}
	// At the expiry instant a binding is gone.
	got = uris(m.Lookup(aor, t0.Add(time.Minute)))
	if slices.Contains(got, "sip:old@5.example") || len(got) != 4 {
		t.Fatalf("Lookup at expiry = %v", got)
	}
	if m.Lookup("sip:nobody@example.com", t0) != nil {
		t.Fatal("Lookup of unknown AOR not nil")
	}
}

func TestLookupIsCallers(t *testing.T) {
	m := NewMemory()
	const aor = "sip:a@x"
	b := bind(t, aor, "<sip:a@1.example>", 1000, t0.Add(time.Hour), t0)
	b.Path = []string{"<sip:p1@edge;lr>", "<sip:p2@core;lr>"}
	b.TempGRUUs = make([]string, 2, 8)
	b.TempGRUUs[0], b.TempGRUUs[1] = "tgruu.one", "tgruu.two"
	if err := m.Update(aor, t0, set(b)); err != nil {
		t.Fatal(err)
	}
	b.Path[0] = "changed by the writer"
	b.TempGRUUs[0] = "changed by the writer"
	got := m.Lookup(aor, t0)
	got[0].Path[0] = "changed by the reader"
	got[0].TempGRUUs[1] = "changed by the reader"
	got[0].Q = 1
	// Appending to a binding handed to Update's fn must not reach the
	// store's array either.
	err := m.Update(aor, t0, func(cur []Binding) ([]Binding, error) {
		_ = append(cur[0].TempGRUUs, "appended in fn")
		_ = append(cur[0].Path, "appended in fn")
		return nil, errors.New("no change")
	})
	if err == nil {
		t.Fatal("refusing fn gave no error")
	}
	again := m.Lookup(aor, t0)
	if again[0].Path[0] != "<sip:p1@edge;lr>" || again[0].Q != 1000 ||
		!slices.Equal(again[0].TempGRUUs, []string{"tgruu.one", "tgruu.two"}) {
		t.Fatalf("store changed through a caller's slice: %+v", again[0])
	}
}

func TestUpdate(t *testing.T) {
	m := NewMemory()
	const aor = "sip:bob@example.com"
	b1 := bind(t, aor, "<sip:b1@h>", 1000, t0.Add(time.Hour), t0)
	b2 := bind(t, aor, "<sip:b2@h>", 1000, t0.Add(time.Minute), t0)
	if err := m.Update(aor, t0, set(b1, b2)); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d", m.Len())
	}

	// An error leaves everything as it was, even if fn scribbled on cur.
	boom := errors.New("boom")
	err := m.Update(aor, t0, func(cur []Binding) ([]Binding, error) {
		cur[0].Q = 1
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	if got := m.Lookup(aor, t0); len(got) != 2 || got[0].Q != 1000 || got[1].Q != 1000 {
		t.Fatalf("after failed update: %+v", got)
	}

	// fn sees only live bindings.
	var seen []string
	err = m.Update(aor, t0.Add(2*time.Minute), func(cur []Binding) ([]Binding, error) {
		seen = uris(cur)
		return cur, nil
	})
	if err != nil || !slices.Equal(seen, []string{"sip:b1@h"}) {
		t.Fatalf("cur = %v, err %v", seen, err)
	}
	if m.Len() != 1 {
		t.Fatalf("Len after dropping expired = %d", m.Len())
	}

	// A binding of another AOR is refused.
	other := bind(t, "sip:eve@example.com", "<sip:e@h>", 1000, t0.Add(time.Hour), t0)
	if err := m.Update(aor, t0, set(other)); err == nil {
		t.Fatal("binding of another AOR accepted")
	}

	// Returning nothing removes the AOR.
	if err := m.Update(aor, t0, set()); err != nil || m.Len() != 0 {
		t.Fatalf("remove all: err %v, Len %d", err, m.Len())
	}
}

func TestCap(t *testing.T) {
	m := NewMemoryCap(3)
	exp := t0.Add(time.Hour)
	if err := m.Update("sip:a@x", t0, set(bind(t, "sip:a@x", "<sip:1@h>", 1000, exp, t0), bind(t, "sip:a@x", "<sip:2@h>", 1000, exp, t0))); err != nil {
		t.Fatal(err)
	}
	err := m.Update("sip:b@x", t0, set(bind(t, "sip:b@x", "<sip:1@h>", 1000, exp, t0), bind(t, "sip:b@x", "<sip:2@h>", 1000, exp, t0)))
	if !errors.Is(err, ErrFull) {
		t.Fatalf("over cap: err %v", err)
	}
	if m.Len() != 2 || m.Lookup("sip:b@x", t0) != nil {
		t.Fatalf("failed update stored something: Len %d", m.Len())
	}
	// Replacing within the cap is fine.
	if err := m.Update("sip:a@x", t0, set(bind(t, "sip:a@x", "<sip:3@h>", 1000, exp, t0))); err != nil {
		t.Fatal(err)
	}
	if err := m.Update("sip:b@x", t0, set(bind(t, "sip:b@x", "<sip:1@h>", 1000, exp, t0), bind(t, "sip:b@x", "<sip:2@h>", 1000, exp, t0))); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d", m.Len())
	}
}

func TestSweep(t *testing.T) {
	m := NewMemory()
	for i := range 10 {
		aor := fmt.Sprintf("sip:u%d@x", i)
		err := m.Update(aor, t0, set(
			bind(t, aor, "<sip:short@h>", 1000, t0.Add(time.Duration(i+1)*time.Second), t0),
			bind(t, aor, "<sip:long@h>", 1000, t0.Add(time.Hour), t0),
		))
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Sweep(t0); n != 0 {
		t.Fatalf("Sweep at t0 dropped %d", n)
	}
	if n := m.Sweep(t0.Add(5 * time.Second)); n != 5 {
		t.Fatalf("Sweep at +5s dropped %d, want 5", n)
	}
	if m.Len() != 15 {
		t.Fatalf("Len = %d, want 15", m.Len())
	}
	if n := m.Sweep(t0.Add(2 * time.Hour)); n != 15 {
		t.Fatalf("Sweep at +2h dropped %d, want 15", n)
	}
	if m.Len() != 0 {
		t.Fatalf("Len = %d after sweeping all", m.Len())
	}
}

func TestConcurrent(t *testing.T) {
	m := NewMemory()
	const workers, rounds, aors = 8, 200, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				aor := fmt.Sprintf("sip:u%d@x", (w+i)%aors)
				now := t0.Add(time.Duration(i) * time.Millisecond)
				contact := fmt.Sprintf("<sip:w%d@h>", w)
				a, _ := sip.ParseAddr(contact)
				_ = m.Update(aor, now, func(cur []Binding) ([]Binding, error) {
					next := slices.DeleteFunc(cur, func(b Binding) bool { return b.Contact.URI.Equal(&a.URI) })
					if i%3 != 2 {
						next = append(next, Binding{AOR: aor, Contact: a, Q: 1000, Expires: now.Add(time.Second), Updated: now})
					}
					return next, nil
				})
				for _, b := range m.Lookup(aor, now) {
					if b.AOR != aor {
						t.Errorf("Lookup(%s) gave %s", aor, b.AOR)
					}
				}
				if i%50 == 0 {
					m.Sweep(now)
				}
				_ = m.Len()
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := range aors {
		total += len(m.Lookup(fmt.Sprintf("sip:u%d@x", i), t0))
	}
	if m.Len() < total || m.Len() > workers*aors {
		t.Fatalf("Len %d with %d live at t0", m.Len(), total)
	}
	m.Sweep(t0.Add(time.Hour))
	if m.Len() != 0 {
		t.Fatalf("Len %d after sweeping everything", m.Len())
	}
}

// TestModel checks Memory against a plain map of AOR to bindings.
func TestModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := NewMemoryCap(rapid.IntRange(1, 12).Draw(rt, "cap"))
		model := map[string][]Binding{}
		now := t0
		aorGen := rapid.SampledFrom([]string{"sip:a@x", "sip:b@x", "sip:c@x"})
		contacts := []string{"<sip:1@h>", "<sip:2@h>", "<sip:3@h>", "<sip:4@h>"}
		modelLen := func() int {
			n := 0
			for _, bs := range model {
				n += len(bs)
			}
			return n
		}
		live := func(bs []Binding) []Binding {
			var out []Binding
			for _, b := range bs {
				if b.Expires.After(now) {
					out = append(out, b)
				}
			}
			return out
		}
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			switch rapid.IntRange(0, 4).Draw(rt, "op") {
			case 0: // time passes
				now = now.Add(time.Duration(rapid.IntRange(0, 5).Draw(rt, "dt")) * time.Second)
			case 1, 2: // update with a new set
				aor := aorGen.Draw(rt, "aor")
				var next []Binding
				for i, c := range contacts {
					if !rapid.Bool().Draw(rt, fmt.Sprintf("has%d", i)) {
						continue
					}
					a, _ := sip.ParseAddr(c)
					next = append(next, Binding{
						AOR:      aor,
						Contact:  a,
						Q:        rapid.SampledFrom([]int{0, 500, 1000}).Draw(rt, "q"),
						Expires:  now.Add(time.Duration(rapid.IntRange(0, 10).Draw(rt, "exp")) * time.Second),
						Updated:  now.Add(time.Duration(rapid.IntRange(-3, 0).Draw(rt, "upd")) * time.Second),
						Outbound: rapid.Bool().Draw(rt, "outbound"),
						TempGRUUs: rapid.SliceOfN(rapid.SampledFrom([]string{"tgruu.a", "tgruu.b", "tgruu.c"}), 0, 3).
							Draw(rt, "tgruus"),
					})
				}
				fail := rapid.IntRange(0, 4).Draw(rt, "fail") == 0
				var seen []Binding
				err := m.Update(aor, now, func(cur []Binding) ([]Binding, error) {
					seen = slices.Clone(cur)
					if fail {
						return nil, errors.New("refused")
					}
					return next, nil
				})
				wantCur := live(model[aor])
				slices.SortStableFunc(wantCur, compare)
				if !slices.Equal(uris(seen), uris(wantCur)) {
					rt.Fatalf("fn got %v, model %v", uris(seen), uris(wantCur))
				}
				newLive := live(next)
				grow := len(newLive) - len(model[aor])
				switch {
				case fail:
					if err == nil {
						rt.Fatal("failing fn gave no error")
					}
				case grow > 0 && int64(modelLen()+grow) > m.max:
					if !errors.Is(err, ErrFull) {
						rt.Fatalf("over cap: err %v", err)
					}
				default:
					if err != nil {
						rt.Fatalf("Update: %v", err)
					}
					if len(newLive) == 0 {
						delete(model, aor)
					} else {
						model[aor] = newLive
					}
				}
			case 3: // sweep
				want := 0
				for aor, bs := range model {
					l := live(bs)
					want += len(bs) - len(l)
					if len(l) == 0 {
						delete(model, aor)
					} else {
						model[aor] = l
					}
				}
				if got := m.Sweep(now); got != want {
					rt.Fatalf("Sweep = %d, model %d", got, want)
				}
			case 4: // lookup
				aor := aorGen.Draw(rt, "aor")
				want := live(model[aor])
				slices.SortStableFunc(want, compare)
				got := m.Lookup(aor, now)
				if !slices.Equal(uris(got), uris(want)) {
					rt.Fatalf("Lookup(%s) = %v, model %v", aor, uris(got), uris(want))
				}
				for i := range got {
					if got[i].Q != want[i].Q || !got[i].Expires.Equal(want[i].Expires) ||
						got[i].Outbound != want[i].Outbound || !slices.Equal(got[i].TempGRUUs, want[i].TempGRUUs) {
						rt.Fatalf("Lookup(%s)[%d] = %+v, model %+v", aor, i, got[i], want[i])
					}
				}
			}
			if m.Len() != modelLen() {
				rt.Fatalf("Len = %d, model %d", m.Len(), modelLen())
			}
		}
	})
}
