package locate

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// orderSRV returns the records in the order to try (RFC 2782, "Usage
// rules"): by priority, lowest first, and within one priority by a weighted
// random draw, made anew on each call so that load spreads as the zone asks.
// The input is left as it is.
func orderSRV(recs []srvRec) []srvRec {
	if len(recs) < 2 {
		return recs
	}
	out := slices.Clone(recs)
	// Zero weights first within each priority, as RFC 2782 asks before the
	// draw, so that they are picked only when the draw lands on zero.
	slices.SortStableFunc(out, func(a, b srvRec) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(min(a.weight, 1), min(b.weight, 1)))
	})
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && out[end].priority == out[start].priority {
			end++
		}
		weighted(out[start:end])
		start = end
	}
	return out
}

// weighted orders one priority's records in place by RFC 2782's draw:
// a random number in [0, sum of remaining weights] picks the first record
// whose running sum reaches it.
func weighted(g []srvRec) {
	total := 0
	for _, r := range g {
		total += int(r.weight)
	}
	for i := range len(g) - 1 {
		n := rand.IntN(total + 1)
		run := 0
		pick := len(g) - 1
		for j := i; j < len(g); j++ {
			run += int(g[j].weight)
			if run >= n {
				pick = j
				break
			}
		}
		total -= int(g[pick].weight)
		// Keep the rest in their order, zero weights still first.
		r := g[pick]
		copy(g[i+1:pick+1], g[i:pick])
		g[i] = r
	}
}
