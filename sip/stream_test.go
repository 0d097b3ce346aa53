package sip

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// utStreamMsg returns a request framed for a stream, with a body of n
// bytes and the given Call-ID.
func utStreamMsg(callID, body string) string {
	return "INVITE sip:bob@example.org SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK" + callID + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: <sip:bob@example.org>\r\n" +
		"f: \"Alice\" <sip:alice@example.org>;tag=1\r\n" +
		"i: " + callID + "\r\n" +
		"CSeq:   1   INVITE\r\n" +
		"Content-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"\r\n" + body
}

type utStreamItem struct {
	callID string // message, or
	ka     KeepAlive
}

// utDrain calls Next until ErrIncomplete and returns what it found.
func utDrain(t *testing.T, p *StreamParser) []utStreamItem {
	t.Helper()
	var out []utStreamItem
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("Next does not stop")
		}
		m, ka, err := p.Next()
		if errors.Is(err, ErrIncomplete) {
			if m != nil || ka != NoKeepAlive {
				t.Errorf("ErrIncomplete with %v, %v", m, ka)
			}
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		switch {
		case m != nil && ka != NoKeepAlive:
			t.Fatalf("Next returned a message and keep-alive %v", ka)
		case m != nil:
			out = append(out, utStreamItem{callID: m.CallID()})
		case ka != NoKeepAlive:
			out = append(out, utStreamItem{ka: ka})
		default:
			t.Fatal("Next returned nothing and no error")
		}
	}
}

func utWrite(t *testing.T, p *StreamParser, s string) {
	t.Helper()
	n, err := p.Write([]byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(s), n, err)
	}
}

func utNextErr(t *testing.T, p *StreamParser) *ParseError {
	t.Helper()
	m, ka, err := p.Next()
	if err == nil || errors.Is(err, ErrIncomplete) {
		t.Fatalf("Next = %v, %v, %v; want a ParseError", m, ka, err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Next error %v (%T) is not a *ParseError", err, err)
	}
	if m != nil {
		t.Errorf("Next returned a message with its error")
	}
	return pe
}

// TestStreamEverySplit writes one message in two parts at every split
// point, and byte by byte, and checks that the message is the one Parse
// gives.
func TestStreamEverySplit(t *testing.T) {
	for _, body := range []string{"", "v=0\r\ns=-\r\n", "a\r\n\r\nb\r\n\r\n"} {
		msg := utStreamMsg("split", body)
		want := utParse(t, msg)
		for k := 1; k < len(msg); k++ {
			p := NewStreamParser(Limits{})
			utWrite(t, p, msg[:k])
			if got := utDrain(t, p); len(got) != 0 {
				t.Fatalf("split %d: got %v before the message was whole", k, got)
			}
			utWrite(t, p, msg[k:])
			m, ka, err := p.Next()
			if err != nil || m == nil || ka != NoKeepAlive {
				t.Fatalf("split %d: Next = %v, %v, %v", k, m, ka, err)
			}
			utSameMessage(t, want, m)
			if p.Buffered() != 0 {
				t.Fatalf("split %d: %d bytes left", k, p.Buffered())
			}
			if _, _, err := p.Next(); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("split %d: Next after the message: %v", k, err)
			}
		}

		p := NewStreamParser(Limits{})
		var got *Message
		for i := 0; i < len(msg); i++ {
			utWrite(t, p, msg[i:i+1])
			m, ka, err := p.Next()
			if i < len(msg)-1 {
				if !errors.Is(err, ErrIncomplete) || m != nil || ka != NoKeepAlive {
					t.Fatalf("byte %d of %d: Next = %v, %v, %v", i, len(msg), m, ka, err)
				}
				continue
			}
			if err != nil || m == nil {
				t.Fatalf("last byte: Next = %v, %v, %v", m, ka, err)
			}
			got = m
		}
		utSameMessage(t, want, got)
		utEq(t, "Body", got.Body, body)
		utEq(t, "Call-ID", got.CallID(), "split")
		utEq(t, "serialized", got.String(), msg)
	}
}

func TestStreamPipelined(t *testing.T) {
	a := utStreamMsg("a", "")
	b := utStreamMsg("b", "v=0\r\n\r\n\r\n")
	c := utStreamMsg("c", strings.Repeat("x", 300))
	p := NewStreamParser(Limits{})
	utWrite(t, p, a+b+c)
	got := utDrain(t, p)
	want := []utStreamItem{{callID: "a"}, {callID: "b"}, {callID: "c"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	utEq(t, "Buffered", p.Buffered(), 0)

	// The same bytes in chunks of every size.
	all := a + b + c
	for size := 1; size <= 64; size++ {
		p := NewStreamParser(Limits{})
		var got []utStreamItem
		for i := 0; i < len(all); i += size {
			utWrite(t, p, all[i:min(i+size, len(all))])
			got = append(got, utDrain(t, p)...)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("chunks of %d: got %v, want %v", size, got, want)
		}
	}
}

func TestStreamKeepAlives(t *testing.T) {
	a, b, c := utStreamMsg("a", ""), utStreamMsg("b", "xy"), utStreamMsg("c", "")
	tests := []struct {
		name   string
		writes []string
		want   [][]utStreamItem // after each write
	}{
		{
			name:   "ping and pong between messages",
			writes: []string{a + "\r\n\r\n" + b + "\r\n" + c},
			want:   [][]utStreamItem{{{callID: "a"}, {ka: Ping}, {callID: "b"}, {ka: Pong}, {callID: "c"}}},
		},
		{
			name:   "pings only",
			writes: []string{"\r\n\r\n\r\n\r\n"},
			want:   [][]utStreamItem{{{ka: Ping}, {ka: Ping}}},
		},
		{
			name:   "lone CRLF waits, then a message makes it a pong",
			writes: []string{a + "\r\n", b},
			want:   [][]utStreamItem{{{callID: "a"}}, {{ka: Pong}, {callID: "b"}}},
		},
		{
			name:   "lone CRLF waits, then CRLF makes it a ping",
			writes: []string{a + "\r\n", "\r\n", b},
			want:   [][]utStreamItem{{{callID: "a"}}, {{ka: Ping}}, {{callID: "b"}}},
		},
		{
			name:   "ping byte by byte",
			writes: []string{"\r", "\n", "\r", "\n"},
			want:   [][]utStreamItem{nil, nil, nil, {{ka: Ping}}},
		},
		{
			name:   "CRLF CR then a message",
			writes: []string{"\r\n\r", "\n" + a},
			want:   [][]utStreamItem{nil, {{ka: Ping}, {callID: "a"}}},
		},
		{
			name:   "lone CRLF at the start",
			writes: []string{"\r\n", a},
			want:   [][]utStreamItem{nil, {{ka: Pong}, {callID: "a"}}},
		},
		{
			name:   "pong then ping",
			writes: []string{"\r\n", "\r\n\r\n", a},
			want:   [][]utStreamItem{nil, {{ka: Ping}}, {{ka: Pong}, {callID: "a"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewStreamParser(Limits{})
			for i, w := range tc.writes {
				utWrite(t, p, w)
				got := utDrain(t, p)
				if fmt.Sprint(got) != fmt.Sprint(tc.want[i]) {
					t.Fatalf("after write %d (%q): got %v, want %v", i, w, got, tc.want[i])
				}
			}
		})
	}
}

func TestStreamMissingContentLength(t *testing.T) {
	msg := strings.Replace(utStreamMsg("nocl", ""), "Content-Length: 0\r\n", "", 1)
	p := NewStreamParser(Limits{})
	utWrite(t, p, msg)
	pe := utNextErr(t, p)
	utEq(t, "Status", pe.Status, 400)
	if pe.Msg == nil {
		t.Fatalf("no Msg to answer with (%q)", pe.Reason)
	}
	utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "nocl")
	utEq(t, "Msg branch", utBranch(pe.Msg), "z9hG4bKnocl")
	r := NewResponse(pe.Msg, pe.Status, pe.StatusLine())
	if _, err := Parse([]byte(r.String())); err != nil {
		t.Errorf("answer does not parse: %v", err)
	}
}

func TestStreamBadContentLength(t *testing.T) {
	base := utStreamMsg("badcl", "")
	for _, tc := range []struct {
		name, msg string
	}{
		{"conflicting", strings.Replace(base, "Content-Length: 0\r\n", "Content-Length: 0\r\nl: 4\r\n", 1) + "abcd"},
		{"conflicting, other order", strings.Replace(base, "Content-Length: 0\r\n", "Content-Length: 4\r\nContent-Length: 0\r\n", 1) + "abcd"},
		{"negative", strings.Replace(base, "Content-Length: 0\r\n", "Content-Length: -1\r\n", 1)},
		{"not a number", strings.Replace(base, "Content-Length: 0\r\n", "Content-Length: zero\r\n", 1)},
		{"too big for an int32", strings.Replace(base, "Content-Length: 0\r\n", "Content-Length: 99999999999\r\n", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewStreamParser(Limits{})
			utWrite(t, p, tc.msg)
			pe := utNextErr(t, p)
			utEq(t, "Status", pe.Status, 400)
			// The start line and the fields a response needs were readable,
			// so the caller can answer 400 before closing (as Parse does for
			// RFC 4475 mcl01 and ncl).
			if pe.Msg == nil {
				t.Errorf("no Msg to answer with (%q)", pe.Reason)
			} else {
				utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "badcl")
			}
		})
	}
	// Identical duplicates are fine.
	p := NewStreamParser(Limits{})
	utWrite(t, p, strings.Replace(base, "Content-Length: 0\r\n", "Content-Length: 2\r\nl: 2\r\n", 1)+"ab")
	m, _, err := p.Next()
	if err != nil {
		t.Fatalf("identical Content-Length fields: %v", err)
	}
	utEq(t, "Body", m.Body, "ab")
}

func TestStreamContentLengthForms(t *testing.T) {
	base := utStreamMsg("forms", "")
	for _, cl := range []string{"l: 3", "L:3", "content-length:3", "Content-Length :   3  ", "CONTENT-LENGTH:\t3"} {
		p := NewStreamParser(Limits{})
		utWrite(t, p, strings.Replace(base, "Content-Length: 0", cl, 1)+"abc"+utStreamMsg("next", ""))
		got := utDrain(t, p)
		if fmt.Sprint(got) != fmt.Sprint([]utStreamItem{{callID: "forms"}, {callID: "next"}}) {
			t.Errorf("%q: got %v", cl, got)
		}
	}
	// Bare LF line ends frame too.
	lf := strings.ReplaceAll(utStreamMsg("lf", "ab"), "\r\n", "\n")
	p := NewStreamParser(Limits{})
	utWrite(t, p, lf+utStreamMsg("next", ""))
	if got := utDrain(t, p); fmt.Sprint(got) != fmt.Sprint([]utStreamItem{{callID: "lf"}, {callID: "next"}}) {
		t.Errorf("bare LF: got %v", got)
	}
}

func TestStreamBodyWithBlankLines(t *testing.T) {
	body := "\r\n\r\nINVITE sip:x@y SIP/2.0\r\n\r\n\r\n\r\n"
	p := NewStreamParser(Limits{})
	utWrite(t, p, utStreamMsg("a", body)+utStreamMsg("b", "\r\n"))
	var bodies []string
	for {
		m, ka, err := p.Next()
		if errors.Is(err, ErrIncomplete) {
			break
		}
		if err != nil || m == nil {
			t.Fatalf("Next = %v, %v, %v", m, ka, err)
		}
		bodies = append(bodies, m.CallID()+":"+m.Body)
	}
	want := []string{"a:" + body, "b:\r\n"}
	if fmt.Sprint(bodies) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", bodies, want)
	}
}

func TestStreamLimits(t *testing.T) {
	t.Run("Content-Length over the limit", func(t *testing.T) {
		p := NewStreamParser(Limits{MaxMessageSize: 1024})
		msg := utStreamMsg("big", strings.Repeat("x", 1024))
		head := msg[:strings.Index(msg, "\r\n\r\n")+4]
		utWrite(t, p, head)
		// The body has not arrived; the length alone is enough.
		pe := utNextErr(t, p)
		utEq(t, "Status", pe.Status, 513)
	})
	t.Run("message exactly at the limit", func(t *testing.T) {
		msg := utStreamMsg("fits", strings.Repeat("x", 500))
		p := NewStreamParser(Limits{MaxMessageSize: len(msg)})
		utWrite(t, p, msg)
		m, _, err := p.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		utEq(t, "len(Body)", len(m.Body), 500)
		p = NewStreamParser(Limits{MaxMessageSize: len(msg) - 1})
		utWrite(t, p, msg[:len(msg)-500])
		utEq(t, "Status one byte over", utNextErr(t, p).Status, 513)
	})
	t.Run("header fields never end", func(t *testing.T) {
		const max = 2048
		p := NewStreamParser(Limits{MaxMessageSize: max})
		utWrite(t, p, "OPTIONS sip:bob@example.org SIP/2.0\r\n")
		line := "X-Pad: 0123456789abcdef\r\n"
		for i := 0; ; i++ {
			if _, err := p.Write([]byte(line[i%len(line) : i%len(line)+1])); err != nil {
				t.Fatalf("Write after %d bytes: %v before the parser said 513", p.Buffered(), err)
			}
			m, _, err := p.Next()
			if errors.Is(err, ErrIncomplete) {
				if p.Buffered() > max+len(line) {
					t.Fatalf("still incomplete with %d bytes buffered", p.Buffered())
				}
				continue
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Status != 513 || m != nil {
				t.Fatalf("Next = %v, %v; want 513", m, err)
			}
			if p.Buffered() <= max {
				t.Errorf("513 with only %d bytes buffered (limit %d)", p.Buffered(), max)
			}
			break
		}
	})
	t.Run("Write beyond the limit", func(t *testing.T) {
		const max = 1024
		p := NewStreamParser(Limits{MaxMessageSize: max})
		n, err := p.Write(make([]byte, max+100))
		if !errors.Is(err, ErrBufferFull) || n != max+4 {
			t.Errorf("Write(%d) = %d, %v; want %d, ErrBufferFull", max+100, n, err, max+4)
		}
		utEq(t, "Buffered after the partial write", p.Buffered(), max+4)
		n, err = p.Write(make([]byte, 100))
		if !errors.Is(err, ErrBufferFull) || n != 0 {
			t.Errorf("second Write = %d, %v; want 0, ErrBufferFull", n, err)
		}
		utEq(t, "Buffered", p.Buffered(), max+4)
	})
	t.Run("Write after Next frees room", func(t *testing.T) {
		msg := utStreamMsg("room", strings.Repeat("x", 200))
		p := NewStreamParser(Limits{MaxMessageSize: len(msg)})
		utWrite(t, p, msg)
		n, err := p.Write([]byte(msg))
		if !errors.Is(err, ErrBufferFull) || n >= len(msg) {
			t.Fatalf("second message before Next: %d, %v; want part of it and ErrBufferFull", n, err)
		}
		for i := 0; i < 5; i++ {
			m, _, err := p.Next()
			if err != nil || m.CallID() != "room" {
				t.Fatalf("message %d: %v, %v", i, m, err)
			}
			// The rest of the message that did not fit, then a whole one
			// minus what fits again.
			rest := msg[n:]
			if n, err = p.Write([]byte(rest)); err != nil || n != len(rest) {
				t.Fatalf("Write of the rest = %d, %v", n, err)
			}
			n = 0
		}
	})
	t.Run("pipelined messages across the limit", func(t *testing.T) {
		// Two messages that each fit, arriving in reads that cut the
		// first one: the caller follows ErrBufferFull's advice (call Next,
		// then write again) and must not get stuck.
		a := utStreamMsg("a", strings.Repeat("x", 600))
		b := utStreamMsg("b", strings.Repeat("y", 600))
		p := NewStreamParser(Limits{MaxMessageSize: 1024})
		reads := []string{(a + b)[:400], (a + b)[400:]}
		var got []utStreamItem
		for _, r := range reads {
			for tries := 0; r != ""; tries++ {
				if tries > 10 {
					t.Fatalf("stuck: %d bytes buffered, %d to write, Next says incomplete", p.Buffered(), len(r))
				}
				n, err := p.Write([]byte(r))
				r = r[n:]
				if err != nil && !errors.Is(err, ErrBufferFull) {
					t.Fatal(err)
				}
				got = append(got, utDrain(t, p)...)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint([]utStreamItem{{callID: "a"}, {callID: "b"}}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("default limit", func(t *testing.T) {
		p := NewStreamParser(Limits{})
		msg := utStreamMsg("def", "")
		msg = strings.Replace(msg, "Content-Length: 0", fmt.Sprintf("Content-Length: %d", DefaultMaxMessageSize), 1)
		utWrite(t, p, msg)
		utEq(t, "Status", utNextErr(t, p).Status, 513)
	})
}

func TestStreamMalformed(t *testing.T) {
	// A framed message that fails to parse reports why.
	msg := strings.Replace(utStreamMsg("bad", ""), "i: bad\r\n", "", 1)
	p := NewStreamParser(Limits{})
	utWrite(t, p, msg)
	pe := utNextErr(t, p)
	utEq(t, "Status", pe.Status, 400)
	// A lone CR before a start line is no keep-alive.
	p = NewStreamParser(Limits{})
	utWrite(t, p, "\rINVITE")
	utEq(t, "lone CR", utNextErr(t, p).Status, 400)
	// Version 3.0 is refused with 505.
	p = NewStreamParser(Limits{})
	utWrite(t, p, strings.Replace(utStreamMsg("v3", ""), "SIP/2.0\r\n", "SIP/3.0\r\n", 1))
	pe = utNextErr(t, p)
	utEq(t, "version Status", pe.Status, 505)
	if pe.Msg == nil {
		t.Errorf("505 without Msg")
	}
}

func TestKeepAliveOf(t *testing.T) {
	for in, want := range map[string]KeepAlive{
		"\r\n\r\n":     Ping,
		"\r\n":         Pong,
		"":             NoKeepAlive,
		"\n":           NoKeepAlive,
		"\n\n":         NoKeepAlive,
		"\r\n\r\n\r\n": NoKeepAlive,
		"\r\n\r":       NoKeepAlive,
		" \r\n":        NoKeepAlive,
		"\r\n ":        NoKeepAlive,
		"OPTIONS":      NoKeepAlive,
	} {
		if got := KeepAliveOf([]byte(in)); got != want {
			t.Errorf("KeepAliveOf(%q) = %v, want %v", in, got, want)
		}
	}
	if KeepAliveOf(nil) != NoKeepAlive {
		t.Errorf("KeepAliveOf(nil) is a keep-alive")
	}
}
