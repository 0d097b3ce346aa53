package turn

import (
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The bandwidth cap per allocation (Config.MaxBitrate, as coturn's
// max-bps): a token bucket per allocation and direction. Client to peer is
// what the relay writes, peer to client what it reads. Over the cap a UDP
// packet is dropped, as a congested link would drop it (so that the
// endpoints' congestion control sees the loss it reacts to), and an RFC
// 6062 TCP relay waits instead: TCP has backpressure, and a stream cannot
// lose bytes.
const (
	// udpOverhead is what a relayed UDP packet costs on top of its payload
	// (IPv4 and UDP headers; IPv6 costs 20 more, not counted): so that a
	// flood of tiny or empty packets is capped too, in packets per second.
	// TCP streams count their payload only: the kernel decides their
	// segments.
	udpOverhead = 28
	// maxRelayPacket is pion's read buffer on the relay sockets and the
	// listeners (its rtpMTU and inboundMTU): no relayed UDP payload is
	// longer.
	maxRelayPacket = 1600
	// burstTime is how much of the rate a full bucket holds: a video key
	// frame or a retransmission burst passes, a sustained excess does not.
	burstTime = 500 * time.Millisecond
	// minBurst is one packet of the largest size, so that any cap lets
	// every packet through once the bucket is full; maxBurst bounds what a
	// high cap lets through at once.
	minBurst, maxBurst = maxRelayPacket + udpOverhead, 64 << 10
	// minGrant is the least a stream waits for (or all it wants, if less):
	// a packet's worth, so that a slow cap does not wake a waiting
	// connection for every few bytes of refill.
	minGrant = maxRelayPacket
	// nanobitsPerByte: tokens are counted in 10⁻⁹ bit, so that a refill
	// (nanoseconds × bits per second) is exact integer arithmetic and the
	// tests with a fake clock are too.
	nanobitsPerByte = 8 * int64(time.Second)
	// minTokens bounds the debt of streams (see ready), far beyond any
	// real one, so that the arithmetic on tokens cannot overflow.
	minTokens = math.MinInt64 / 4
)

// bucket is a token bucket: it fills at rate up to burst, and a relayed
// packet or stream chunk takes its size out.
type bucket struct {
	rate  int64 // bits per second = nanobits per nanosecond
	burst int64 // nanobits
	now   func() time.Time

	mu     sync.Mutex
	tokens int64 // nanobits; below 0 after streams took more than there was (see charge)
	last   time.Time
}

// newBucket returns a full bucket for bitrate (> 0) bits per second: its
// burst is burstTime of the rate, within [minBurst, maxBurst] bytes.
func newBucket(bitrate int64, now func() time.Time) *bucket {
	burst := min(max(bitrate/8/int64(time.Second/burstTime), minBurst), maxBurst)
	return &bucket{
		rate:   bitrate,
		burst:  burst * nanobitsPerByte,
		now:    now,
		tokens: burst * nanobitsPerByte,
		last:   now(),
	}
}

// refill adds the tokens of the time since the last call. Under b.mu.
func (b *bucket) refill() {
	now := b.now()
	d := int64(now.Sub(b.last))
	b.last = now // a clock going back refills nothing, and no later refill waits for it
	if d <= 0 {
		return
	}
	// Compared before multiplying: d × rate can overflow; gap / rate
	// cannot.
	if gap := b.burst - b.tokens; d >= ceilDiv(gap, b.rate) {
		b.tokens = b.burst
	} else {
		b.tokens += d * b.rate
	}
}

// allow takes the cost of a UDP packet of n bytes of payload and says true,
// or says false (drop it) when the bucket does not hold that much. A packet
// larger than the burst costs the burst: it would otherwise never pass.
func (b *bucket) allow(n int) bool {
	cost := min(int64(n+udpOverhead)*nanobitsPerByte, b.burst)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens < cost {
		return false
	}
	b.tokens -= cost
	return true
}

// ready says how many bytes (of want > 0) a stream may read or write now:
// all of want when the bucket holds it, else as much as it holds if that
// is at least minGrant bytes (less than minBurst: a full bucket always
// is). Or it says 0 and how long until it would be.
// It takes nothing: the stream charges what it moved (a read does not
// know beforehand), so several connections of one allocation may take a
// bucket below empty together, and then wait longer.
func (b *bucket) ready(want int) (int, time.Duration) {
	need := int64(min(want, minGrant))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if have := b.tokens / nanobitsPerByte; b.tokens >= 0 && have >= need {
		return int(min(int64(want), have)), 0
	}
	return 0, time.Duration(ceilDiv(need*nanobitsPerByte-b.tokens, b.rate))
}

// ceilDiv is a / b rounded up, for a ≥ 0 and b > 0, without overflowing.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// charge takes the n bytes a stream moved out of the bucket.
func (b *bucket) charge(n int) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.refill()
	b.tokens = max(b.tokens-int64(n)*nanobitsPerByte, minTokens)
	b.mu.Unlock()
}

// limiter is one allocation's cap: its two buckets, shared by its UDP
// relay socket or by all its TCP data connections (so that opening more
// connections gets no more bandwidth).
type limiter struct {
	in  *bucket // peer to client: what the relay reads
	out *bucket // client to peer: what the relay writes
	s   *Server
	// user and relay name the allocation in the log.
	user  string
	relay net.Addr
	// logged: the cap is logged once per allocation, not per packet.
	logged atomic.Bool
	// peers are the peers a UDP relay charges for (see peerSet); TCP
	// relays do not use them.
	peers peerSet
}

// limiter returns the cap of a new allocation, nil when there is none.
func (r *relays) limiter(user string, relay net.Addr) *limiter {
	rate := r.s.cfg.MaxBitrate
	if rate <= 0 {
		return nil
	}
	return &limiter{in: newBucket(rate, r.s.now), out: newBucket(rate, r.s.now), s: r.s, user: user, relay: relay}
}

// bandwidthStats count the caps' work, for Stats.
type bandwidthStats struct {
	drops, waits atomic.Uint64
}

// hit counts a packet dropped (drop) or a stream delayed by the cap, and
// logs the allocation's first.
func (l *limiter) hit(drop bool, direction string) {
	if drop {
		l.s.bandwidth.drops.Add(1)
	} else {
		l.s.bandwidth.waits.Add(1)
	}
	if l.logged.CompareAndSwap(false, true) {
		l.s.log.Debug("TURN allocation over its bandwidth cap", "user", l.user, "relay", l.relay.String(),
			"direction", direction, "max_bitrate", l.s.cfg.MaxBitrate, "dropping", drop)
	}
}

const (
	clientToPeer = "client to peer"
	peerToClient = "peer to client"
)

// limitedPacketConn is a UDP relay socket under a cap; allocations without
// one keep the bare relayPacketConn.
type limitedPacketConn struct {
	*relayPacketConn
	lim *limiter
}

// WriteTo drops a packet over the cap, without an error: pion would log
// one per packet, and a dropped datagram is not a failure of the relay.
func (c *limitedPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.lim.out.allow(len(p)) {
		c.lim.hit(true, clientToPeer)
		return len(p), nil
	}
	return c.relayPacketConn.WriteTo(p, addr)
}

// ReadFrom skips the packets over the cap. It charges only the packets
// of the peers pion relays (see peerSet); the others pass uncharged, for
// pion to drop, so that a flood from anyone who knows the relayed address
// does not take the allocation's peer to client budget.
func (c *limitedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.relayPacketConn.ReadFrom(p)
		if err != nil || !c.lim.peers.charged(a) || c.lim.in.allow(n) {
			return n, a, err
		}
		c.lim.hit(true, peerToClient)
	}
}

// limitedConn is an RFC 6062 peer data connection under a cap: a Read
// (peer to client) or Write (client to peer) waits for the tokens, at most
// until the connection's deadline or Close, which pion uses to end a
// relayed connection.
type limitedConn struct {
	net.Conn
	lim       *limiter
	rd, wr    waiter
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *limiter) conn(c net.Conn) *limitedConn {
	return &limitedConn{Conn: c, lim: l, rd: newWaiter(), wr: newWaiter(), closed: make(chan struct{})}
}

// waiter is one direction's wait: its deadline, and a channel closed when
// the deadline changes, for the Reads (Writes) waiting to look at it again.
type waiter struct {
	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{}
}

func newWaiter() waiter { return waiter{changed: make(chan struct{})} }

func (w *waiter) set(t time.Time) {
	w.mu.Lock()
	w.deadline = t
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// await returns how many bytes (of want) may move, once the bucket allows
// any; or an error at the deadline or Close.
func (c *limitedConn) await(w *waiter, b *bucket, want int, op, direction string) (int, error) {
	for first := true; ; first = false {
		k, d := b.ready(want)
		if k > 0 {
			return k, nil
		}
		if first {
			c.lim.hit(false, direction)
		}
		w.mu.Lock()
		dl, changed := w.deadline, w.changed
		w.mu.Unlock()
		if !dl.IsZero() {
			// Deadlines are the callers', on the real clock.
			left := time.Until(dl)
			if left <= 0 {
				return 0, c.opError(op, os.ErrDeadlineExceeded)
			}
			d = min(d, left)
		}
		if err := c.sleep(d, changed); err != nil {
			return 0, c.opError(op, err)
		}
	}
}

// sleep waits for d, a deadline change or Close.
func (c *limitedConn) sleep(d time.Duration, changed <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-changed:
	case <-c.closed:
		return net.ErrClosed
	}
	return nil
}

func (c *limitedConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Conn.Read(p)
	}
	k, err := c.await(&c.rd, c.lim.in, len(p), "read", peerToClient)
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p[:k])
	c.lim.in.charge(n)
	return n, err
}

func (c *limitedConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		k, err := c.await(&c.wr, c.lim.out, len(p)-done, "write", clientToPeer)
		if err != nil {
			return done, err
		}
		n, err := c.Conn.Write(p[done : done+k])
		c.lim.out.charge(n)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	err := c.Conn.SetDeadline(t)
	c.rd.set(t)
	c.wr.set(t)
	return err
}

func (c *limitedConn) SetReadDeadline(t time.Time) error {
	err := c.Conn.SetReadDeadline(t)
	c.rd.set(t)
	return err
}

func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	err := c.Conn.SetWriteDeadline(t)
	c.wr.set(t)
	return err
}

// Close ends a Read or Write waiting for tokens, too.
func (c *limitedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
