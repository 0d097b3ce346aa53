package turn

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
)

// fakeClock is a clock the test moves: the buckets refill only when it does.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// The numbers of these tests: 80 kbit/s is 10000 bytes a second, so 1000
// bytes take 100 ms to refill, and the burst is 5000 bytes.
const (
	testBitrate = 80_000
	testBurst   = 5000
)

// passes counts the UDP packets of n bytes of payload allow lets through,
// of at most 1000.
func passes(b *bucket, n int) int {
	k := 0
	for k < 1000 && b.allow(n) {
		k++
	}
	return k
}

func TestBucketUDP(t *testing.T) {
	clk := newFakeClock()
	b := newBucket(testBitrate, clk.now)
	if b.burst != testBurst*nanobitsPerByte {
		t.Fatalf("burst %d bytes, want %d", b.burst/nanobitsPerByte, testBurst)
	}
	const n = 1000 - udpOverhead // a packet costs 1000 bytes
	if k := passes(b, n); k != 5 {
		t.Errorf("a full bucket passed %d packets, want 5", k)
	}
	clk.advance(50 * time.Millisecond)
	if k := passes(b, n); k != 0 {
		t.Errorf("half a packet's refill passed %d packets", k)
	}
	clk.advance(50 * time.Millisecond)
	if k := passes(b, n); k != 1 {
		t.Errorf("a packet's refill passed %d packets, want 1", k)
	}
	clk.advance(time.Hour)
	if k := passes(b, n); k != 5 {
		t.Errorf("after an hour, %d packets passed, want the burst of 5", k)
	}
	// Empty packets cost their headers: a flood of them is capped too.
	clk.advance(time.Hour)
	if k := passes(b, 0); k != testBurst/udpOverhead {
		t.Errorf("%d empty packets passed, want %d", k, testBurst/udpOverhead)
	}
	// A clock going back refills nothing, and the next refill counts from
	// there.
	clk.advance(-time.Second)
	if k := passes(b, n); k != 0 {
		t.Errorf("a clock going back passed %d packets", k)
	}
	clk.advance(200 * time.Millisecond)
	if k := passes(b, n); k != 2 {
		t.Errorf("%d packets passed after 200 ms, want 2", k)
	}
}

func TestBucketBounds(t *testing.T) {
	clk := newFakeClock()
	for _, c := range []struct {
		bitrate int64
		burst   int64
	}{{1, minBurst}, {8000, minBurst}, {testBitrate, testBurst}, {10_000_000, maxBurst}, {1 << 62, maxBurst}} {
		b := newBucket(c.bitrate, clk.now)
		if b.burst != c.burst*nanobitsPerByte {
			t.Errorf("%d bit/s: burst %d bytes, want %d", c.bitrate, b.burst/nanobitsPerByte, c.burst)
		}
		// The largest relayed packet passes a full bucket, however low the
		// cap; and refills do not overflow, however high.
		if !b.allow(maxRelayPacket) {
			t.Errorf("%d bit/s: a full bucket dropped the largest packet", c.bitrate)
		}
		clk.advance(24 * time.Hour)
		if b.refill(); b.tokens != b.burst {
			t.Errorf("%d bit/s: a day refilled %d of %d", c.bitrate, b.tokens, b.burst)
		}
	}
	// Larger than pion relays: it costs the burst instead of never passing.
	b := newBucket(8000, clk.now)
	if !b.allow(9000) || b.allow(0) {
		t.Error("an oversized packet does not take exactly the burst")
	}
}

func TestBucketStream(t *testing.T) {
	clk := newFakeClock()
	b := newBucket(testBitrate, clk.now)
	for _, step := range []struct {
		advance time.Duration
		charge  int
		want    int
		k       int
		wait    time.Duration
	}{
		{want: 32 << 10, k: testBurst}, // what the bucket holds
		{want: 100, k: 100},            // all of a small want
		{charge: testBurst, want: 32 << 10, wait: 160 * time.Millisecond}, // a grant of 1600 bytes refills in 160 ms
		{advance: 100 * time.Millisecond, want: 32 << 10, wait: 60 * time.Millisecond},
		{advance: 60 * time.Millisecond, want: 32 << 10, k: 1600},
		{want: 10, k: 10},
		{charge: 3000, want: 10, wait: 141 * time.Millisecond},                          // 1400 bytes of debt, then 10
		{advance: 141 * time.Millisecond, want: 32 << 10, wait: 159 * time.Millisecond}, // 10 bytes, short of 1600
	} {
		clk.advance(step.advance)
		b.charge(step.charge)
		if k, wait := b.ready(step.want); k != step.k || wait != step.wait {
			t.Errorf("after %v, charged %d: ready(%d) = %d, %v; want %d, %v",
				step.advance, step.charge, step.want, k, wait, step.k, step.wait)
		}
	}
}

// memConn is a net.Conn over memory: it reads in, writes out.
type memConn struct {
	in     *bytes.Reader
	out    bytes.Buffer
	mu     sync.Mutex
	closed bool
}

func (c *memConn) Read(p []byte) (int, error) { return c.in.Read(p) }

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}

func (c *memConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// limitedMem is a memConn holding n bytes to read, under a cap at
// testBitrate on clk, of a server of its own (for the counters).
func limitedMem(t *testing.T, clk *fakeClock, n int) (*limitedConn, *memConn, *Server) {
	t.Helper()
	s := &Server{log: slog.New(slog.DiscardHandler), cfg: Config{MaxBitrate: testBitrate, now: clk.now}}
	r := &relays{s: s}
	lim := r.limiter("bob", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000})
	if lim == nil {
		t.Fatal("no limiter")
	}
	m := &memConn{in: bytes.NewReader(make([]byte, n))}
	return lim.conn(m), m, s
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestLimitedConnDeadline(t *testing.T) {
	clk := newFakeClock()
	c, m, s := limitedMem(t, clk, 8000)
	buf := make([]byte, 32<<10)
	// A read takes at most what the bucket holds, however much is there.
	if n, err := c.Read(buf); n != testBurst || err != nil {
		t.Fatalf("read %d, %v; want %d", n, err, testBurst)
	}
	// Then it waits for tokens, not reading the 3000 bytes there, until
	// its deadline.
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); n != 0 || !isTimeout(err) {
		t.Errorf("read %d, %v; want a timeout", n, err)
	}
	if m.in.Len() != 3000 {
		t.Errorf("%d bytes left to read, want 3000", m.in.Len())
	}
	// The other direction has its own bucket: a write moves what it holds,
	// then times out.
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write(make([]byte, 8000)); n != testBurst || !isTimeout(err) {
		t.Errorf("wrote %d, %v; want %d and a timeout", n, err, testBurst)
	}
	if m.out.Len() != testBurst {
		t.Errorf("%d bytes written, want %d", m.out.Len(), testBurst)
	}
	if st := s.bandwidth.waits.Load(); st != 2 {
		t.Errorf("%d waits counted, want 2", st)
	}
}

// finish runs f in a goroutine and returns its error, failing the test if
// it does not end within 10 s.
func finish(t *testing.T, f func() error, act func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	act()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after 10 s")
		return nil
	}
}

func TestLimitedConnWaits(t *testing.T) {
	clk := newFakeClock()
	c, m, _ := limitedMem(t, clk, 0)
	if n, err := c.Write(make([]byte, testBurst)); n != testBurst || err != nil {
		t.Fatalf("wrote %d, %v", n, err)
	}
	// The bucket is empty: the write waits until the clock has moved
	// enough, and a deadline change makes it look (the clock the test
	// moves wakes no timer).
	err := finish(t, func() error {
		_, err := c.Write(make([]byte, 1000))
		return err
	}, func() {
		clk.advance(100 * time.Millisecond)
		c.SetWriteDeadline(time.Time{})
	})
	if err != nil || m.out.Len() != testBurst+1000 {
		t.Errorf("%v, %d bytes written", err, m.out.Len())
	}
}

func TestLimitedConnCloseWhileWaiting(t *testing.T) {
	clk := newFakeClock()
	c, m, _ := limitedMem(t, clk, 2*testBurst)
	buf := make([]byte, 32<<10)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	err := finish(t, func() error {
		_, err := c.Read(buf)
		return err
	}, func() { c.Close() })
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	if !m.closed {
		t.Error("the connection is not closed")
	}
	if _, err := c.Write(make([]byte, 2*testBurst)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
}

// relayUDP sends 200 packets of 1000 bytes from the client through its
// relay to a peer on 127.0.0.1, or from the peer to the client, in bursts
// of window packets (each as fast as it can), and returns how many
// arrived.
func relayUDP(t *testing.T, s *Server, toPeer bool, window int) int {
	t.Helper()
	u, p := rest(secret1, "bob", time.Hour)
	c := dial(t, s, "udp", u, p)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if err := c.CreatePermission(peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	from, to, dst := relay, peer, peer.LocalAddr()
	if !toPeer {
		from, to, dst = peer, relay, relay.LocalAddr()
	}
	if u, ok := to.(*net.UDPConn); ok {
		_ = u.SetReadBuffer(1 << 20) // fewer losses of loopback under the burst
	}
	msg, buf := make([]byte, 1000), make([]byte, 2000)
	got := 0
	for range 200 / window {
		for range window {
			if _, err := from.WriteTo(msg, dst); err != nil {
				t.Fatal(err)
			}
		}
		// The burst's first packet within 5 s, the others each within 1 s
		// of the one before: a late packet only lowers the count.
		for i, wait := 0, 5*time.Second; i < window; i, wait = i+1, time.Second {
			to.SetReadDeadline(time.Now().Add(wait))
			if _, _, err := to.ReadFrom(buf); err != nil {
				break
			}
			got++
		}
	}
	return got
}

func TestBandwidthUDP(t *testing.T) {
	for _, dir := range []struct {
		name   string
		toPeer bool
	}{{"client to peer", true}, {"peer to client", false}} {
		t.Run(dir.name, func(t *testing.T) {
			// The clock stands still: only the burst passes, 4 packets of
			// 1028 bytes (with the headers) of its 5000.
			clk := newFakeClock()
			s := start(t, func(c *Config) { c.MaxBitrate, c.now = testBitrate, clk.now })
			if got := relayUDP(t, s, dir.toPeer, 200); got < 1 || got > 4 {
				t.Errorf("capped: %d packets arrived, want 1 to 4", got)
			}
			deadline := time.Now().Add(5 * time.Second)
			for s.Stats().BandwidthDrops == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if st := s.Stats(); st.BandwidthDrops == 0 {
				t.Errorf("no drop counted: %+v", st)
			}

			// Loopback drops what overflows a socket's buffer (some 90
			// packets of these), which bursts of 20 do not.
			s = start(t, nil)
			if got := relayUDP(t, s, dir.toPeer, 20); got < 190 {
				t.Errorf("uncapped: %d packets of 200 arrived", got)
			}
			if st := s.Stats(); st.BandwidthDrops != 0 {
				t.Errorf("uncapped: %d drops counted", st.BandwidthDrops)
			}
		})
	}
}

// TestBandwidthTCP relays over RFC 6062 twice the burst in each
// direction, on the real clock: moving it cannot take less than the rate
// allows after the burst (a slower machine only takes longer). The peer
// data connection is the relay's (Connect) or the peer's (the relay
// listener's Accept).
func TestBandwidthTCP(t *testing.T) {
	const (
		bitrate = 800_000 // 100000 bytes a second
		burst   = 50_000
		size    = 2 * burst
		least   = time.Duration(size-burst) * time.Second / (bitrate / 8)
	)
	for _, accept := range []bool{false, true} {
		name := map[bool]string{false: "connect", true: "accept"}[accept]
		t.Run(name, func(t *testing.T) {
			s := start(t, func(c *Config) { c.MaxBitrate = bitrate })
			data, peer := relayTCP(t, s, accept)
			for _, dir := range []struct {
				name     string
				from, to net.Conn
			}{{"client to peer", data, peer}, {"peer to client", peer, data}} {
				start := time.Now()
				dir.to.SetReadDeadline(start.Add(20 * time.Second))
				dir.from.SetWriteDeadline(start.Add(20 * time.Second))
				go dir.from.Write(make([]byte, size)) //nolint:errcheck // the read below fails if it does
				if _, err := io.ReadFull(dir.to, make([]byte, size)); err != nil {
					t.Fatalf("%s: %v", dir.name, err)
				}
				if took := time.Since(start); took < least {
					t.Errorf("%s: %d bytes in %v, faster than the cap allows (%v)", dir.name, size, took, least)
				}
			}
			if st := s.Stats(); st.BandwidthWaits == 0 || st.BandwidthDrops != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// relayTCP makes a TCP allocation and a data connection through it to a
// peer on 127.0.0.1: the client's end and the peer's.
func relayTCP(t *testing.T, s *Server, accept bool) (data, peer net.Conn) {
	t.Helper()
	u, p := rest(secret1, "bob", time.Hour)
	c := dial(t, s, "tcp", u, p)
	alloc, err := c.AllocateTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alloc.Close() })
	// The peer's end: it dials the relayed address, or accepts the
	// relay's connection, while the client waits for it.
	var (
		peerConn func() (net.Conn, error)
		peerAddr string // for Connect
	)
	if accept {
		if err := c.CreatePermission(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		peerConn = func() (net.Conn, error) { return net.DialTimeout("tcp4", alloc.Addr().String(), 10*time.Second) }
	} else {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		peerConn, peerAddr = ln.Accept, ln.Addr().String()
	}
	peers := make(chan net.Conn, 1)
	go func() {
		pc, err := peerConn()
		if err != nil {
			close(peers)
			return
		}
		peers <- pc
	}()
	if accept {
		if err := alloc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		data, err = alloc.Accept()
	} else {
		data, err = alloc.Dial("tcp4", peerAddr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	peer, ok := <-peers
	if !ok {
		t.Fatal("no peer connection")
	}
	t.Cleanup(func() { peer.Close() })
	return data, peer
}

// BenchmarkRelayWriteTo is a capped UDP relay's cost per packet, dropped
// or passed; it allocates nothing.
func BenchmarkRelayWriteTo(b *testing.B) {
	for _, bench := range []struct {
		name    string
		bitrate int64
	}{{"uncapped", 0}, {"capped", 1 << 40}, {"dropping", 8000}} {
		b.Run(bench.name, func(b *testing.B) {
			s := &Server{log: slog.New(slog.DiscardHandler), cfg: Config{MaxBitrate: bench.bitrate, now: time.Now}}
			r := &relays{s: s, bind: netip.MustParseAddr("127.0.0.1"), advertise: net.IPv4(127, 0, 0, 1), min: 40000, max: 60000}
			pc, _, err := r.AllocatePacketConn(pturn.AllocateListenerConfig{Network: "udp4"})
			if err != nil {
				b.Fatal(err)
			}
			defer pc.Close()
			sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			msg, dst := make([]byte, 1000), sink.LocalAddr()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pc.WriteTo(msg, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBucketAllow is the cap's own cost per UDP packet.
func BenchmarkBucketAllow(b *testing.B) {
	bk := newBucket(1<<40, time.Now)
	b.ReportAllocs()
	for b.Loop() {
		bk.allow(1000)
	}
}

// fixedPacketConn is a PacketConn whose every ReadFrom returns a packet
// of n bytes from from, at once.
type fixedPacketConn struct {
	net.PacketConn
	n    int
	from *net.UDPAddr
}

func (c *fixedPacketConn) ReadFrom([]byte) (int, net.Addr, error) { return c.n, c.from, nil }
func (c *fixedPacketConn) Close() error                           { return nil }

// BenchmarkRelayReadFrom is a capped UDP relay's cost per packet read,
// from a permitted peer (charged) or a stranger (not); it allocates
// nothing.
func BenchmarkRelayReadFrom(b *testing.B) {
	for _, bench := range []struct {
		name      string
		permitted bool
	}{{"permitted", true}, {"stranger", false}} {
		b.Run(bench.name, func(b *testing.B) {
			s := &Server{log: slog.New(slog.DiscardHandler), cfg: Config{MaxBitrate: 1 << 40, now: time.Now}}
			r := &relays{s: s}
			lim := r.limiter("bob", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000})
			for i := range 8 {
				lim.peers.grant(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).As16(), false)
			}
			if bench.permitted {
				lim.peers.grant(netip.MustParseAddr("127.0.0.1").As16(), false)
			}
			fc := &fixedPacketConn{n: 1000, from: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}}
			c := &limitedPacketConn{relayPacketConn: &relayPacketConn{PacketConn: fc, done: func() {}}, lim: lim}
			buf := make([]byte, maxRelayPacket)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPeerCharged is the cost of the peer lookup per UDP packet.
func BenchmarkPeerCharged(b *testing.B) {
	var p peerSet
	p.grant(netip.MustParseAddr("127.0.0.1").As16(), false)
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	b.ReportAllocs()
	for b.Loop() {
		p.charged(src)
	}
}
