package sip

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// RFC 4475 torture tests, driven by testdata/rfc4475/EXPECTED.tsv, and the
// RFC 3261 §24 example messages.

const utTortureDir = "testdata/rfc4475"

type utTortureRow struct {
	name, section, class string
	status               int
	note                 string
}

func utTortureRows(t *testing.T) []utTortureRow {
	t.Helper()
	f, err := os.Open(filepath.Join(utTortureDir, "EXPECTED.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []utTortureRow
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		line := sc.Text()
		if header {
			header = false
			if line != "name\tsection\tclass\tstatus\tnote" {
				t.Fatalf("unexpected EXPECTED.tsv header %q", line)
			}
			continue
		}
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("EXPECTED.tsv row %q has %d columns, want 5", line, len(cols))
		}
		st, err := strconv.Atoi(cols[3])
		if err != nil {
			t.Fatalf("EXPECTED.tsv row %q: bad status: %v", line, err)
		}
		rows = append(rows, utTortureRow{cols[0], cols[1], cols[2], st, cols[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func utReadTorture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(utTortureDir, name+".dat"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Policy for the rows whose class alone does not fix the outcome.
var (
	// Syntactically valid messages that the RFC says an element must
	// refuse for missing or duplicated mandatory header fields.
	utTortureRejectValid = map[string]int{"insuf": 400, "multi01": 400}
	// "either" rows that sipedge accepts; every other "either" row is
	// rejected with its status column (strict parser policy).
	utTortureAcceptEither = map[string]bool{"baddate": true, "escruri": true, "regbadct": true, "badbranch": true}
	// Codes other than the status column that the RFC text itself allows.
	// mismatch02 (§3.1.2.18): "should respond 501 ... A 400 response is also
	// acceptable"; the parser cannot know which methods an element
	// implements, so 400 is its answer.
	utTortureAlsoAcceptable = map[string][]int{"mismatch02": {400}}
	// Rejected messages whose ParseError must carry the message so that
	// a server can answer (start line, Via, From, To, Call-ID and CSeq are
	// readable).
	utTortureNeedMsg = map[string]bool{"badvers": true, "clerr": true, "ncl": true, "mcl01": true, "mismatch01": true, "mismatch02": true}
)

func TestRFC4475Torture(t *testing.T) {
	rows := utTortureRows(t)
	files, err := filepath.Glob(filepath.Join(utTortureDir, "*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.name] = true
	}
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".dat"); !seen[n] {
			t.Errorf("%s has no row in EXPECTED.tsv", f)
		}
	}
	if len(rows) != len(files) || len(rows) != 49 {
		t.Errorf("EXPECTED.tsv has %d rows, %d .dat files; want 49 each", len(rows), len(files))
	}

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			data := utReadTorture(t, r.name)
			m, err := Parse(data)
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("Parse error %v (%T) is not a *ParseError", err, err)
			}

			accept := false
			wantStatus := r.status
			switch r.class {
			case "valid":
				if st, ok := utTortureRejectValid[r.name]; ok {
					wantStatus = st
				} else {
					accept = true
				}
			case "invalid":
			case "either":
				accept = utTortureAcceptEither[r.name]
			default:
				t.Fatalf("unknown class %q", r.class)
			}

			switch {
			case accept:
				if err != nil {
					t.Fatalf("%s (%s %s: %s): Parse failed: %v", r.name, r.section, r.class, r.note, err)
				}
				if m == nil {
					t.Fatal("Parse returned nil message and nil error")
				}
			default:
				if err == nil {
					t.Fatalf("%s (%s %s: %s): Parse accepted the message, want rejection", r.name, r.section, r.class, r.note)
				}
				if m != nil {
					t.Errorf("Parse returned both a message and an error")
				}
				isResponse := bytes.HasPrefix(data, []byte("SIP/"))
				if wantStatus == 0 && isResponse {
					// A bad response is simply dropped; any refusal will do.
					break
				}
				if pe.Status != wantStatus && !slices.Contains(utTortureAlsoAcceptable[r.name], pe.Status) {
					t.Errorf("ParseError.Status = %d (%q), want %d", pe.Status, pe.Reason, wantStatus)
				}
				if pe.Reason == "" {
					t.Errorf("ParseError.Reason is empty")
				}
				if utTortureNeedMsg[r.name] {
					if pe.Msg == nil {
						t.Errorf("ParseError.Msg is nil (%q); a server needs it to answer %d", pe.Reason, pe.Status)
					} else if pe.Msg.CallID() == "" || utBranch(pe.Msg) == "" || pe.Msg.CSeq().Method == "" {
						t.Errorf("ParseError.Msg lacks Call-ID, Via branch or CSeq: %q %q %+v",
							pe.Msg.CallID(), utBranch(pe.Msg), pe.Msg.CSeq())
					}
				}
			}
			if check := utTortureChecks[r.name]; check != nil {
				check(t, m, pe)
			}
		})
	}
}

func utURI(t *testing.T, s string) URI {
	t.Helper()
	u, err := ParseURI(s)
	if err != nil {
		t.Fatalf("ParseURI(%q): %v", s, err)
	}
	return u
}

func utVias(t *testing.T, m *Message) []Via {
	t.Helper()
	var out []Via
	for v, err := range m.Vias() {
		if err != nil {
			t.Fatalf("Vias: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func utAddrs(t *testing.T, seq func(func(Addr, error) bool)) []Addr {
	t.Helper()
	var out []Addr
	for a, err := range seq {
		if err != nil {
			t.Fatalf("address iteration: %v", err)
		}
		out = append(out, a)
	}
	return out
}

func utEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// utTortureChecks holds the semantic checks of single messages. m is nil
// when the message was refused; pe is nil when it was accepted.
var utTortureChecks = map[string]func(t *testing.T, m *Message, pe *ParseError){
	"wsinv": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "Method", m.Method, "INVITE")
		utEq(t, "RequestURI.Params", m.RequestURI.Params, Params(";unknownparam"))
		to := m.To()
		utEq(t, "To URI", to.URI.String(), "sip:vivekg@chair-dnrc.example.com")
		utEq(t, "To tag", to.Tag(), "1918181833n")
		from := m.From()
		utEq(t, "From display", from.DisplayName(), `J Rosenberg \"`)
		utEq(t, "From tag", from.Tag(), "98asjd8")
		utEq(t, "From URI", from.URI.String(), "sip:jdrosen@example.com")
		mf, ok := m.MaxForwards()
		utEq(t, "Max-Forwards present", ok, true)
		utEq(t, "Max-Forwards", mf, 68)
		utEq(t, "CSeq", m.CSeq(), CSeq{Seq: 9, Method: "INVITE"})
		utEq(t, "Call-ID", m.CallID(), "wsinv.ndaksdj@192.0.2.1")
		cl, _ := m.ContentLength()
		utEq(t, "Content-Length", cl, 150)
		utEq(t, "len(Body)", len(m.Body), 150)
		v := m.TopVia()
		utEq(t, "top Via", [4]string{v.Protocol, v.Version, v.Transport, v.Host}, [4]string{"SIP", "2.0", "UDP", "192.0.2.2"})
		utEq(t, "top Via branch", v.Branch(), "390skdjuw")
		vias := utVias(t, m)
		type vt struct{ tr, host, branch string }
		var got []vt
		for _, v := range vias {
			got = append(got, vt{v.Transport, v.Host, v.Branch()})
		}
		want := []vt{{"UDP", "192.0.2.2", "390skdjuw"}, {"TCP", "spindle.example.com", "z9hG4bK9ikj8"}, {"UDP", "192.168.255.111", "z9hG4bK30239"}}
		if !slices.Equal(got, want) {
			t.Errorf("Vias = %v, want %v", got, want)
		}
		nf, _ := m.Get("NewFangledHeader")
		utEq(t, "folded NewFangledHeader", nf, "newfangled value continued newfangled value")
		s, ok := m.Get("Subject")
		utEq(t, "Subject (compact s, empty)", s+"|"+strconv.FormatBool(ok), "|true")
		u, _ := m.Get("unknownheaderwithunusualvalue")
		utEq(t, "UnknownHeaderWithUnusualValue", u, ";;,,;;,;")
		utEq(t, "Content-Type", m.ContentType(), "application/sdp")
		rt, ok, err := m.FirstAddr(HeaderRoute)
		if err != nil || !ok {
			t.Fatalf("FirstAddr(Route) = %v, %v", ok, err)
		}
		utEq(t, "Route host", rt.URI.Host, "services.example.com")
		utEq(t, "Route lr", rt.URI.Params.Has("lr"), true)
		utEq(t, "Route unknown-no-value", rt.URI.Params.Has("unknown-no-value"), true)
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 1 {
			t.Fatalf("got %d Contacts, want 1", len(cs))
		}
		utEq(t, "Contact display", cs[0].DisplayName(), `Quoted string ""`)
		nv, _ := cs[0].Params.Get("newparam")
		utEq(t, "Contact newparam", nv, "newvalue")
		utEq(t, "Contact secondparam", cs[0].Params.Has("secondparam"), true)
		q, _ := cs[0].Params.Get("q")
		utEq(t, "Contact q", q, "0.33")
	},
	"intmeth": func(t *testing.T, m *Message, _ *ParseError) {
		const meth = "!interesting-Method0123456789_*+`.%indeed'~"
		utEq(t, "Method", m.Method, meth)
		utEq(t, "CSeq method", m.CSeq().Method, meth)
		utEq(t, "R-URI user", m.RequestURI.User, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
		utEq(t, "R-URI password", m.RequestURI.Password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
		utEq(t, "R-URI host", m.RequestURI.Host, "example.com")
		utEq(t, "Call-ID", m.CallID(), `intmeth.word%ZK-!.*_+'@word`+"`"+`~)(><:\/"][?}{`)
		utEq(t, "Via branch", utBranch(m), "z9hG4bK-.!%66*_+`'~")
		to := m.To()
		utEq(t, "To display (quoted ctl chars)", to.DisplayName(), "BEL:\x07 NUL:\x00 DEL:\x7f")
		from := m.From()
		utEq(t, "From display", from.Display, "token1~` token2'+_ token3*%!.-")
		utEq(t, "From tag", from.Tag(), "_token~1'+`*%!-.")
		fp, ok := from.Params.Get("fromParam''~+*_!.-%")
		utEq(t, "From fromParam present", ok, true)
		utEq(t, "From fromParam", fp, "\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439")
		mf, _ := m.MaxForwards()
		utEq(t, "Max-Forwards", mf, 255)
	},
	"esc01": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "R-URI user", m.RequestURI.User, "sips%3Auser%40example.com")
		utEq(t, "R-URI host", m.RequestURI.Host, "example.net")
		ru := utURI(t, "sip:sips%3auser%40example.com@example.net")
		utEq(t, "R-URI equals lower-case escapes", m.RequestURI.Equal(&ru), true)
		to := m.To()
		u := utURI(t, "sip:user@example.com")
		utEq(t, "To %75se%72 == user", to.URI.Equal(&u), true)
		from := m.From()
		utEq(t, "From user", from.URI.User, "I%20have%20spaces")
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 1 {
			t.Fatalf("got %d Contacts, want 1", len(cs))
		}
		c := cs[0].URI
		utEq(t, "Contact user", c.User, "cal%6Cer")
		// %25%34%31 is "%41" once unescaped, and never "A".
		same := utURI(t, "sip:caller@host5.example.net;lr;name=value%2541")
		utEq(t, "Contact == unescaped form", c.Equal(&same), true)
		utEq(t, "unescaped form == Contact", same.Equal(&c), true)
		twice := utURI(t, "sip:caller@host5.example.net;lr;name=valueA")
		utEq(t, "Contact == twice-unescaped form", c.Equal(&twice), false)
		utEq(t, "twice-unescaped form == Contact", twice.Equal(&c), false)
	},
	"escnull": func(t *testing.T, m *Message, _ *ParseError) {
		to, from := m.To(), m.From()
		utEq(t, "To user", to.URI.User, "null-%00-null")
		utEq(t, "From user", from.URI.User, "null-%00-null")
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 2 {
			t.Fatalf("got %d Contacts, want 2", len(cs))
		}
		utEq(t, "Contact 1 user", cs[0].URI.User, "%00")
		utEq(t, "Contact 2 user", cs[1].URI.User, "%00%00")
		utEq(t, "Contacts distinct", cs[0].URI.Equal(&cs[1].URI), false)
		utEq(t, "Contacts distinct (reverse)", cs[1].URI.Equal(&cs[0].URI), false)
	},
	"esc02": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "Method", m.Method, "RE%47IST%45R")
		to := m.To()
		utEq(t, "To display", to.DisplayName(), "%Z%45")
		v, ok := m.Get("C%6Fntact")
		utEq(t, "C%6Fntact present", ok, true)
		utEq(t, "C%6Fntact value", v, "<sip:alias2@host2.example.com>")
		utEq(t, "HeaderOf(C%6Fntact)", HeaderOf("C%6Fntact"), HeaderOther)
		var hosts []string
		for _, a := range utAddrs(t, m.Contacts()) {
			hosts = append(hosts, a.URI.Host)
		}
		if !slices.Equal(hosts, []string{"host1.example.com", "host3.example.com"}) {
			t.Errorf("Contact hosts = %v, want host1 and host3 only", hosts)
		}
	},
	"lwsdisp": func(t *testing.T, m *Message, _ *ParseError) {
		from := m.From()
		utEq(t, "From display", from.DisplayName(), "caller")
		utEq(t, "From URI", from.URI.String(), "sip:caller@example.com")
		utEq(t, "From tag", from.Tag(), "323")
	},
	"longreq": func(t *testing.T, m *Message, _ *ParseError) {
		vias := utVias(t, m)
		utEq(t, "Via count", len(vias), 34)
		utEq(t, "top Via host", m.TopVia().Host, "sip33.example.com")
		utEq(t, "last Via received", vias[len(vias)-1].Received(), "192.0.2.5")
		to := m.To()
		utEq(t, "To port", to.URI.Port, 6000)
		utEq(t, "To longparam", to.URI.Params.Has("verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue"), true)
		from := m.From()
		if tag := from.Tag(); len(tag) != 155 || strings.Trim(tag, "0123456789") != "" {
			t.Errorf("From tag = %q, want the 155 digits", tag)
		}
		utEq(t, "len(Body)", len(m.Body), 150)
	},
	"dblreq": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "Method", m.Method, "REGISTER")
		utEq(t, "Body", m.Body, "")
		cl, ok := m.ContentLength()
		utEq(t, "Content-Length", cl, 0)
		utEq(t, "Content-Length present", ok, true)
		utEq(t, "Call-ID", m.CallID(), "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
		utEq(t, "CSeq", m.CSeq(), CSeq{8, "REGISTER"})
		out := m.String()
		if strings.Contains(out, "INVITE") || strings.Contains(out, "v=0") {
			t.Errorf("serialized REGISTER carries the trailing INVITE:\n%s", out)
		}
	},
	"semiuri": func(t *testing.T, m *Message, _ *ParseError) {
		u := m.RequestURI
		utEq(t, "R-URI user", u.User, "user;par=u%40example.net")
		utEq(t, "R-URI host", u.Host, "example.com")
		utEq(t, "R-URI params", u.Params, Params(""))
		v := utURI(t, "sip:user;par=u%40example.net@example.com")
		utEq(t, "R-URI equal", u.Equal(&v), true)
		acc, _ := m.Get("Accept")
		utEq(t, "folded Accept", acc, "application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag")
	},
	"transports": func(t *testing.T, m *Message, _ *ParseError) {
		var got []string
		for _, v := range utVias(t, m) {
			got = append(got, v.Transport+" "+v.Host)
		}
		want := []string{"UDP t1.example.com", "SCTP t2.example.com", "TLS t3.example.com", "UNKNOWN t4.example.com", "TCP t5.example.com"}
		if !slices.Equal(got, want) {
			t.Errorf("Vias = %v, want %v", got, want)
		}
	},
	"mpart01": func(t *testing.T, m *Message, _ *ParseError) {
		cl, ok := m.ContentLength()
		utEq(t, "Content-Length present", ok, true)
		utEq(t, "Content-Length", cl, 553)
		utEq(t, "len(Body)", len(m.Body), 553)
		if !strings.Contains(m.Body, "\x00") || !strings.HasSuffix(m.Body, "--7a9cbec02ceef655--\r\n") {
			t.Errorf("body does not hold the binary part and closing boundary")
		}
		utEq(t, "Content-Type", m.ContentType(), "multipart/mixed;boundary=7a9cbec02ceef655")
		tv := m.TopVia()
		rp, ok := tv.RPort()
		utEq(t, "rport without value", [2]any{rp, ok}, [2]any{0, true})
	},
	"unreason": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "StatusCode", m.StatusCode, 200)
		if !strings.HasPrefix(m.Reason, "= 2**3 * 5**2 ") || !strings.Contains(m.Reason, "\u0441\u0442\u043e") {
			t.Errorf("Reason = %q", m.Reason)
		}
	},
	"noreason": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "StatusCode", m.StatusCode, 100)
		utEq(t, "Reason", m.Reason, "")
		utEq(t, "start line kept", strings.HasPrefix(m.String(), "SIP/2.0 100 \r\n"), true)
	},
	"badinv01": func(t *testing.T, m *Message, pe *ParseError) {
		if pe == nil {
			t.Fatal("accepted")
		}
	},
	"clerr": func(t *testing.T, m *Message, pe *ParseError) {
		if pe != nil && pe.Msg != nil {
			utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "clerr.0ha0isndaksdjweiafasdk3")
		}
	},
	"ncl": func(t *testing.T, m *Message, pe *ParseError) {
		if pe != nil && pe.Msg != nil {
			utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "ncl.0ha0isndaksdj2193423r542w35")
		}
	},
	"mcl01": func(t *testing.T, m *Message, pe *ParseError) {
		if pe != nil && pe.Msg != nil {
			utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "mcl01.fhn2323orihawfdoa3o4r52o3irsdf")
		}
	},
	"badvers": func(t *testing.T, m *Message, pe *ParseError) {
		if pe == nil {
			t.Fatal("accepted")
		}
		utEq(t, "Status", pe.Status, 505)
		if pe.Msg == nil {
			t.Fatal("ParseError.Msg is nil")
		}
		utEq(t, "Msg.Version", pe.Msg.Version, "SIP/7.0")
		utEq(t, "Msg.Method", pe.Msg.Method, "OPTIONS")
		utEq(t, "Msg.Call-ID", pe.Msg.CallID(), "badvers.31417@c.example.com")
		utEq(t, "StatusLine prefix", strings.HasPrefix(pe.StatusLine(), "Version Not Supported - "), true)
	},
	"escruri": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "R-URI headers", m.RequestURI.Headers, "Route=%3Csip:example.com%3E")
		utEq(t, "R-URI host", m.RequestURI.Host, "example.com")
	},
	"baddate": func(t *testing.T, m *Message, _ *ParseError) {
		d, _ := m.Get("Date")
		utEq(t, "Date", d, "Fri, 01 Jan 2010 16:00:00 EST")
	},
	"regbadct": func(t *testing.T, m *Message, _ *ParseError) {
		n, errs := 0, 0
		for _, err := range m.Contacts() {
			n++
			if err != nil {
				errs++
			}
		}
		if errs == 0 {
			t.Errorf("Contacts() yielded %d addresses and no error for an addr-spec with '?'", n)
		}
		if _, _, err := m.FirstAddr(HeaderContact); err == nil {
			t.Errorf("FirstAddr(Contact) gave no error")
		}
	},
	"badbranch": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "branch", utBranch(m), "z9hG4bK")
	},
	"unkscm": func(t *testing.T, m *Message, _ *ParseError) {
		u := m.RequestURI
		utEq(t, "scheme", u.Scheme, "nobodyKnowsThisScheme")
		utEq(t, "opaque", u.Opaque, "totallyopaquecontent")
		utEq(t, "IsSIP", u.IsSIP(), false)
		utEq(t, "String", u.String(), "nobodyKnowsThisScheme:totallyopaquecontent")
		utEq(t, "start line", strings.SplitN(m.String(), "\r\n", 2)[0], "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0")
	},
	"novelsc": func(t *testing.T, m *Message, _ *ParseError) {
		u := m.RequestURI
		utEq(t, "scheme", u.Scheme, "soap.beep")
		utEq(t, "opaque", u.Opaque, "//192.0.2.103:3002")
		utEq(t, "IsSIP", u.IsSIP(), false)
		utEq(t, "String", u.String(), "soap.beep://192.0.2.103:3002")
	},
	"unksm2": func(t *testing.T, m *Message, _ *ParseError) {
		to, from := m.To(), m.From()
		utEq(t, "To", to.URI.Scheme+":"+to.URI.Opaque, "isbn:2983792873")
		utEq(t, "From", from.URI.Scheme+":"+from.URI.Opaque, "http://www.example.com")
		utEq(t, "From tag", from.Tag(), "3234233")
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 1 || cs[0].URI.Scheme != "name" || cs[0].URI.Opaque != "John_Smith" {
			t.Errorf("Contacts = %+v", cs)
		}
	},
	"bext01": func(t *testing.T, m *Message, _ *ParseError) {
		for _, c := range []struct {
			h    Header
			tok  string
			want bool
		}{
			{HeaderRequire, "nothingSupportsThis", true},
			{HeaderRequire, "nothingsupportsthiseither", true},
			{HeaderRequire, "noProxiesSupportThis", false},
			{HeaderProxyRequire, "noProxiesSupportThis", true},
			{HeaderProxyRequire, "norDoAnyProxiesSupportThis", true},
			{HeaderProxyRequire, "nothingSupportsThis", false},
			{HeaderSupported, "nothingSupportsThis", false},
		} {
			if got := m.HasToken(c.h, c.tok); got != c.want {
				t.Errorf("HasToken(%v, %q) = %v, want %v", c.h, c.tok, got, c.want)
			}
		}
		utEq(t, "Via transport", m.TopVia().Transport, "TLS")
	},
	"invut": func(t *testing.T, m *Message, _ *ParseError) {
		utEq(t, "Content-Type", m.ContentType(), "application/unknownformat")
		utEq(t, "len(Body)", len(m.Body), 40)
	},
	"regaut01": func(t *testing.T, m *Message, _ *ParseError) {
		var got []Auth
		for a, err := range m.Auths(HeaderAuthorization) {
			if err != nil {
				t.Fatalf("Auths: %v", err)
			}
			got = append(got, a)
		}
		if len(got) != 1 {
			t.Fatalf("got %d Authorization values", len(got))
		}
		utEq(t, "scheme", got[0].Scheme, "NoOneKnowsThisScheme")
		utEq(t, "IsDigest", got[0].IsDigest(), false)
		v, _ := got[0].Param("opaque-data")
		utEq(t, "opaque-data", v, "here")
		cl, ok := m.ContentLength()
		utEq(t, "Content-Length:0", [2]any{cl, ok}, [2]any{0, true})
	},
	"bcast": func(t *testing.T, m *Message, _ *ParseError) {
		vias := utVias(t, m)
		if len(vias) != 2 {
			t.Fatalf("got %d Vias", len(vias))
		}
		utEq(t, "2nd Via host", vias[1].Host, "255.255.255.255")
	},
	"zeromf": func(t *testing.T, m *Message, _ *ParseError) {
		mf, ok := m.MaxForwards()
		utEq(t, "Max-Forwards", [2]any{mf, ok}, [2]any{0, true})
	},
	"cparam01": func(t *testing.T, m *Message, _ *ParseError) {
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 1 {
			t.Fatalf("got %d Contacts", len(cs))
		}
		utEq(t, "contact-param unknownparam", cs[0].Params.Has("unknownparam"), true)
		utEq(t, "URI params", cs[0].URI.Params, Params(""))
		utEq(t, "URI user", cs[0].URI.User, "+19725552222")
	},
	"cparam02": func(t *testing.T, m *Message, _ *ParseError) {
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 1 {
			t.Fatalf("got %d Contacts", len(cs))
		}
		utEq(t, "contact params", cs[0].Params, Params(""))
		utEq(t, "URI param unknownparam", cs[0].URI.Params.Has("unknownparam"), true)
	},
	"regescrt": func(t *testing.T, m *Message, _ *ParseError) {
		cs := utAddrs(t, m.Contacts())
		if len(cs) != 1 {
			t.Fatalf("got %d Contacts", len(cs))
		}
		utEq(t, "URI headers", cs[0].URI.Headers, "Route=%3Csip:sip.example.com%3E")
		utEq(t, "Contact round trip", cs[0].String(), "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")
	},
	"inv2543": func(t *testing.T, m *Message, _ *ParseError) {
		_, ok := m.ContentLength()
		utEq(t, "Content-Length present", ok, false)
		_, ok = m.MaxForwards()
		utEq(t, "Max-Forwards present", ok, false)
		utEq(t, "len(Body)", len(m.Body), 105)
		utEq(t, "branch", utBranch(m), "")
		from := m.From()
		utEq(t, "From tag", from.Tag(), "")
		out := m.String()
		if !strings.Contains(out, "\r\nContent-Length: 105\r\n") {
			t.Errorf("serialized message lacks Content-Length: 105:\n%s", out)
		}
	},
	"sdp01": func(t *testing.T, m *Message, _ *ParseError) {
		a, ok := m.Get("Accept")
		utEq(t, "Accept present", ok, true)
		utEq(t, "Accept lacks sdp", strings.Contains(a, "application/sdp"), false)
	},
}

// TestRFC4475LWSInVia covers the LWS that wsinv puts around the slashes
// of a Via, one value at a time.
func TestRFC4475LWSInVia(t *testing.T) {
	for _, s := range []string{
		"SIP / 2.0 / UDP 192.0.2.2;branch=390skdjuw",
		"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw",
		"SIP\t/\t2.0\t/\tUDP\t192.0.2.2 ; branch = 390skdjuw",
	} {
		v, err := ParseVia(s)
		if err != nil {
			t.Errorf("ParseVia(%q): %v", s, err)
			continue
		}
		if v.Protocol != "SIP" || v.Version != "2.0" || v.Transport != "UDP" || v.Host != "192.0.2.2" || v.Branch() != "390skdjuw" {
			t.Errorf("ParseVia(%q) = %+v branch %q", s, v, v.Branch())
		}
	}
}

// TestRFC3261Examples parses every §24 example and checks that
// serializing and parsing again gives the same message.
func TestRFC3261Examples(t *testing.T) {
	files, err := filepath.Glob("testdata/rfc3261/*.sip")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 16 {
		t.Errorf("found %d RFC 3261 examples, want 16", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out := m.AppendTo(nil)
			m2, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(AppendTo(m)): %v\n%s", err, out)
			}
			utSameMessage(t, m, m2)
			if !bytes.Equal(out, data) {
				// Only folded lines may be rewritten.
				if !bytes.Contains(data, []byte("\r\n ")) && !bytes.Contains(data, []byte("\r\n\t")) {
					t.Errorf("AppendTo changed an unchanged message:\n got %q\nwant %q", out, data)
				}
			}
			// The serialized form is a fixed point.
			if out2 := m2.AppendTo(nil); !bytes.Equal(out2, out) {
				t.Errorf("second serialization differs:\n%q\n%q", out, out2)
			}
		})
	}
}

func utStartLine(m *Message) string {
	s := m.String()
	return s[:strings.Index(s, "\r\n")]
}

// utSameMessage compares start lines, header names and values in
// order, and bodies.
func utSameMessage(t *testing.T, a, b *Message) {
	t.Helper()
	if sa, sb := utStartLine(a), utStartLine(b); sa != sb {
		t.Errorf("start line %q != %q", sa, sb)
	}
	if a.Method != b.Method || a.StatusCode != b.StatusCode || a.Reason != b.Reason || a.Version != b.Version {
		t.Errorf("start line fields differ: %q %d %q %q vs %q %d %q %q",
			a.Method, a.StatusCode, a.Reason, a.Version, b.Method, b.StatusCode, b.Reason, b.Version)
	}
	if !a.RequestURI.Equal(&b.RequestURI) || a.RequestURI.String() != b.RequestURI.String() {
		t.Errorf("Request-URI %q != %q", a.RequestURI.String(), b.RequestURI.String())
	}
	// Content-Length is left out: the serializer always writes len(Body),
	// whatever the field said (see utCheckCL).
	noCL := func(f Field) bool { return f.Key == HeaderContentLength }
	fa := slices.DeleteFunc(slices.Clone(a.Fields()), noCL)
	fb := slices.DeleteFunc(slices.Clone(b.Fields()), noCL)
	if len(fa) != len(fb) {
		t.Errorf("%d header fields != %d", len(fa), len(fb))
	}
	for i := 0; i < len(fa) && i < len(fb); i++ {
		if fa[i].Name != fb[i].Name || fa[i].Value != fb[i].Value || fa[i].Key != fb[i].Key {
			t.Errorf("field %d: %q: %q != %q: %q", i, fa[i].Name, fa[i].Value, fb[i].Name, fb[i].Value)
		}
	}
	if a.Body != b.Body {
		t.Errorf("body %q != %q", a.Body, b.Body)
	}
	va, vb := a.TopVia(), b.TopVia()
	if a.CallID() != b.CallID() || a.CSeq() != b.CSeq() || va.String() != vb.String() {
		t.Errorf("typed view differs: %q %+v %q vs %q %+v %q", a.CallID(), a.CSeq(), va.String(), b.CallID(), b.CSeq(), vb.String())
	}
	fa2, fb2 := a.From(), b.From()
	ta, tb := a.To(), b.To()
	if fa2.String() != fb2.String() || ta.String() != tb.String() {
		t.Errorf("From/To differ: %q %q vs %q %q", fa2.String(), ta.String(), fb2.String(), tb.String())
	}
	ma, oka := a.MaxForwards()
	mb, okb := b.MaxForwards()
	if ma != mb || oka != okb {
		t.Errorf("Max-Forwards %d %v vs %d %v", ma, oka, mb, okb)
	}
}

func utBranch(m *Message) string {
	v := m.TopVia()
	return v.Branch()
}
