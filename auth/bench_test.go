package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// benchRequests returns n requests, each answering its own challenge with
// the right password.
func benchRequests(b *testing.B, fx *fixture, alg Algorithm, n int) []*sip.Message {
	req := invite(b, "alice@example.com")
	out := make([]*sip.Message, n)
	for i := range out {
		c := challengeFor(b, fx.a.Challenge(req, testRealm, true, false), alg)
		an := answer{user: testUser, pass: testPass, method: "INVITE", uri: "sip:bob@example.com", cnonce: fmt.Sprintf("%08x", i)}
		out[i] = authorize(b, req, "Proxy-Authorization", an.value(c))
	}
	return out
}

// storedUsers returns stored HA1s, as a real store does.
type storedUsers map[string]string

func (s storedUsers) HA1(_ context.Context, user, realm string, alg Algorithm) (string, error) {
	h, ok := s[alg.String()+":"+user+"@"+realm]
	if !ok {
		return "", ErrUnknownUser
	}
	return h, nil
}

func newStoredUsers() storedUsers {
	s := storedUsers{}
	for _, alg := range []Algorithm{MD5, SHA256} {
		s[alg.String()+":"+testUser+"@"+testRealm] = HA1(alg, testUser, testRealm, testPass)
	}
	return s
}

// BenchmarkCheck measures a successful Check: parameters, uri, HA1 from an
// in-memory Users, the response, the nonce's HMAC and the nonce-count
// table. Every request is used once per Authenticator (a replay would be
// refused), so the Authenticator is renewed, off the clock, every pool.
func BenchmarkCheck(b *testing.B) {
	for _, alg := range []Algorithm{SHA256, MD5} {
		b.Run(alg.String(), func(b *testing.B) {
			const pool = 4096
			fx := newFixture(b, nil)
			reqs := benchRequests(b, fx, alg, pool)
			cfg := Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: fx.clk.Now}
			users := newStoredUsers()
			fx.a, _ = New(cfg, users)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%pool == 0 && i > 0 {
					b.StopTimer()
					fx.a, _ = New(cfg, users)
					b.StartTimer()
				}
				if res := fx.a.Check(ctx, reqs[i%pool], testRealm, true, fx.src); res.Outcome != OK {
					b.Fatalf("%+v", res)
				}
			}
		})
	}
}

// BenchmarkCheckParallel is BenchmarkCheck from every P, each with a
// stream of its own nonces (several nonce-count shards at once).
func BenchmarkCheckParallel(b *testing.B) {
	fx := newFixture(b, func(c *Config) { c.MaxNonces = 1 << 20 })
	reqs := benchRequests(b, fx, SHA256, 1<<14)
	// No lockout: after the first pass the requests are replays, refused
	// after the full verification, which is what is measured.
	fx.a, _ = New(Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: fx.clk.Now, MaxNonces: 1 << 20,
		Limits: Limits{DelayAfter: -1, SourceLockAfter: -1, UserLockAfter: -1}}, newStoredUsers())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = fx.a.Check(ctx, reqs[time.Now().UnixNano()%int64(len(reqs))], testRealm, true, fx.src)
		}
	})
}

// BenchmarkChallenge measures building a 407 with two challenges.
func BenchmarkChallenge(b *testing.B) {
	fx := newFixture(b, nil)
	req := invite(b, "alice@example.com")
	b.ReportAllocs()
	for b.Loop() {
		_ = fx.a.Challenge(req, testRealm, true, false)
	}
}
