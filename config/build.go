package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the keys that have one.
const (
	defaultDataDirectory  = "./sipedge-data"
	defaultMinExpires     = 60   // seconds
	defaultMaxExpires     = 3600 // seconds
	defaultDefaultExpires = 3600 // seconds
	defaultShutdownGrace  = 5    // seconds
	// defaultMaxTransactions is about 1 GB of transaction state at worst
	// (3 to 7 KB each) and holds a steady 2000 calls/s over UDP, where a
	// finished call keeps four transactions for 32 s.
	defaultMaxTransactions = 300000
	maxMaxTransactions     = 10000000
	maxExpiresSeconds      = 365 * 24 * 3600
	maxGraceSeconds        = 3600
	maxFlowTimer           = 3600 // seconds
)

// legacyPorts are the single-listener keys, in the order their listeners are
// made, with the default each has when no Transport<N> block exists.
var legacyPorts = [...]struct {
	key, typ string
	def      uint16
}{
	{"UDPPort", "UDP", 5060},
	{"TCPPort", "TCP", 5060},
	{"TLSPort", "TLS", 0},
	{"WSPort", "WS", 0},
	{"WSSPort", "WSS", 0},
}

// legacyTLS are the keys that describe the legacy TLS and WSS listeners.
var legacyTLS = [...]string{"TLSDomainName", "TLSCertificate", "TLSPrivateKey", "TLSClientVerification"}

// logLevels maps repro's LogLevel values. slog has nothing above Error, so
// CRIT logs errors too, and NONE sits above Error so that nothing is logged.
var logLevels = map[string]slog.Level{
	"none":    slog.LevelError + 4,
	"crit":    slog.LevelError,
	"err":     slog.LevelError,
	"warning": slog.LevelWarn,
	"info":    slog.LevelInfo,
	"debug":   slog.LevelDebug,
	"stack":   slog.LevelDebug - 4,
}

// builder turns the entries a reader collected into a Config.
type builder struct {
	*reader
	source string
}

// get returns the entry of key (canonical spelling), if it was set.
func (b *builder) get(key string) *entry {
	return b.entries[strings.ToLower(key)]
}

// bad reports a problem with e's value, unless the value was refused already.
func (b *builder) bad(e *entry, format string, args ...any) {
	if e.bad {
		return
	}
	b.fail(e.pos.File, e.pos.Line, e.ref.name, format, args...)
}

// badAt reports a problem at p, which may be a default's position.
func (b *builder) badAt(p Pos, format string, args ...any) {
	file := p.File
	if file == "" {
		file = b.source
	}
	b.fail(file, p.Line, p.Key, format, args...)
}

func (b *builder) build(source string) *Config {
	b.source = source
	c := &Config{Source: source, set: make(map[string]Pos, len(b.entries))}
	for low, e := range b.entries {
		c.set[low] = e.pos
	}
	c.Listeners = b.listeners()
	c.Domains = b.domains()
	if e := b.get("RecordRouteUri"); e != nil && e.value != "" {
		if msg := checkSIPURI(e.value); msg != "" {
			b.bad(e, "%s", msg)
		} else {
			c.RecordRouteURI = e.value
		}
	}
	c.ForceRecordRouting = b.boolean("ForceRecordRouting")
	c.DisableOutbound = b.boolean("DisableOutbound")
	c.FlowTimer = time.Duration(b.seconds("FlowTimer", 0, 0, maxFlowTimer)) * time.Second
	c.AssumeFirstHopSupportsOutbound = b.boolean("AssumeFirstHopSupportsOutbound")
	b.outboundOff(c)
	c.EnableFlowTokens = b.boolean("EnableFlowTokens")
	c.FlowTokenSecrets = b.secrets()
	c.HideTopology = b.boolean("HideTopology")
	if e := b.get("AssumePath"); e != nil {
		if _, ok := b.parseBool(e); ok {
			c.Warnings = append(c.Warnings, &Error{File: e.pos.File, Line: e.pos.Line, Key: e.ref.name,
				Msg: "obsolete in repro; ignored: sipedge's outbound edge always honours Path"})
		}
	}
	c.RelayForeignDomains = b.choice("RelayForeignDomains", "none", "none", "all")
	c.DisableAuth = b.boolean("DisableAuth")
	c.StaticRealm = b.str("StaticRealm")
	c.DigestChallengeAlgorithms = b.digestAlgorithms()
	c.ChallengeThirdParties = b.boolean("ChallengeThirdPartiesCallingLocalDomains")
	c.TrustedPeers = b.trustedPeers()
	b.wsCookie(c)
	c.StaticRoutes = b.routes()
	c.MinExpires, c.MaxExpires, c.DefaultExpires = b.expires()
	c.LogLevel = slog.LevelInfo
	if e := b.get("LogLevel"); e != nil {
		if lv, ok := logLevels[strings.ToLower(e.value)]; ok {
			c.LogLevel = lv
		} else {
			b.bad(e, "%s is not a log level (want NONE, CRIT, ERR, WARNING, INFO, DEBUG or STACK)", quoteShort(e.value))
		}
	}
	c.LogFormat = b.choice("LogFormat", "text", "text", "json")
	c.DataDirectory = defaultDataDirectory
	if e := b.get("DataDirectory"); e != nil {
		if e.value == "" {
			b.bad(e, "empty value: remove the line to take the default (%s)", defaultDataDirectory)
		} else {
			c.DataDirectory = e.value
		}
	}
	c.ShutdownGrace = time.Duration(b.seconds("ShutdownGracePeriod", defaultShutdownGrace, 0, maxGraceSeconds)) * time.Second
	c.MaxTransactions = b.count("MaxTransactions", defaultMaxTransactions, 100, maxMaxTransactions)
	b.turn(c)
	b.turnOnSamePort(c)
	b.web(c)
	return c
}

// outboundOff refuses the outbound settings that DisableOutbound would make
// pointless (repro ignores them silently).
func (b *builder) outboundOff(c *Config) {
	if !c.DisableOutbound {
		return
	}
	d := b.posOf("DisableOutbound")
	if e := b.get("FlowTimer"); e != nil && c.FlowTimer > 0 {
		b.bad(e, "has no effect with DisableOutbound = true (%s): remove one of them", d)
	}
	if e := b.get("AssumeFirstHopSupportsOutbound"); e != nil && c.AssumeFirstHopSupportsOutbound {
		b.bad(e, "has no effect with DisableOutbound = true (%s): remove one of them", d)
	}
}

// empty reports an empty value for a key that needs one; true means it was empty.
func (b *builder) empty(e *entry, def string) bool {
	if e.value != "" {
		return false
	}
	if def != "" {
		b.bad(e, "empty value: remove the line to take the default (%s)", def)
	} else {
		b.bad(e, "empty value")
	}
	return true
}

// parseBool accepts repro's and the spellings of a boolean.
func (b *builder) parseBool(e *entry) (bool, bool) {
	if b.empty(e, "false") {
		return false, false
	}
	switch strings.ToLower(e.value) {
	case "true", "on", "1":
		return true, true
	case "false", "off", "0":
		return false, true
	}
	b.bad(e, "%s is not a boolean (want true/false, on/off or 1/0)", quoteShort(e.value))
	return false, false
}

// boolean is the value of a boolean key whose default is false.
func (b *builder) boolean(key string) bool {
	e := b.get(key)
	if e == nil {
		return false
	}
	v, _ := b.parseBool(e)
	return v
}

// choice is the value of a key that takes one of a few words, lower-cased.
func (b *builder) choice(key, def string, words ...string) string {
	e := b.get(key)
	if e == nil || b.empty(e, def) {
		return def
	}
	v := strings.ToLower(e.value)
	if slices.Contains(words, v) {
		return v
	}
	b.bad(e, "%s is not one of %s", quoteShort(e.value), strings.Join(words, ", "))
	return def
}

// number parses an unsigned decimal within [lo, hi].
func number(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// seconds is the value of a key counted in whole seconds.
func (b *builder) seconds(key string, def, lo, hi int) int {
	e := b.get(key)
	if e == nil || b.empty(e, strconv.Itoa(def)) {
		return def
	}
	n, ok := number(e.value, lo, hi)
	if !ok {
		b.bad(e, "%s is not a number of seconds from %d to %d", quoteShort(e.value), lo, hi)
		return def
	}
	return n
}

// count reads a whole number from lo to hi.
func (b *builder) count(key string, def, lo, hi int) int {
	e := b.get(key)
	if e == nil || b.empty(e, strconv.Itoa(def)) {
		return def
	}
	n, ok := number(e.value, lo, hi)
	if !ok {
		b.bad(e, "%s is not a number from %d to %d", quoteShort(e.value), lo, hi)
		return def
	}
	return n
}

// verification parses repro's TlsClientVerification values.
func (b *builder) verification(e *entry) Verification {
	if e == nil || b.empty(e, "None") {
		return VerifyNone
	}
	switch strings.ToLower(e.value) {
	case "none":
		return VerifyNone
	case "optional":
		return VerifyOptional
	case "mandatory":
		return VerifyMandatory
	}
	b.bad(e, "%s is not a client verification mode (want None, Optional or Mandatory)", quoteShort(e.value))
	return VerifyNone
}

// expires reads the registrar's three bounds and checks that they nest.
func (b *builder) expires() (lo, hi, def time.Duration) {
	minS := b.seconds("RegistrationMinimumExpires", defaultMinExpires, 1, maxExpiresSeconds)
	maxS := b.seconds("RegistrationMaximumExpires", defaultMaxExpires, 1, maxExpiresSeconds)
	defS := b.seconds("RegistrationDefaultExpires", defaultDefaultExpires, 1, maxExpiresSeconds)
	if minS > maxS {
		p := b.posOf("RegistrationMinimumExpires")
		if _, ok := b.entries["registrationminimumexpires"]; !ok {
			p = b.posOf("RegistrationMaximumExpires")
		}
		b.badAt(p, "RegistrationMinimumExpires (%d) is above RegistrationMaximumExpires (%d)", minS, maxS)
	} else if defS < minS || defS > maxS {
		what := strconv.Itoa(defS)
		if b.get("RegistrationDefaultExpires") == nil {
			what = "the default, " + what + ","
		}
		b.badAt(b.posOf("RegistrationDefaultExpires"), "%s is outside RegistrationMinimumExpires..RegistrationMaximumExpires (%d..%d)", what, minS, maxS)
	}
	return time.Duration(minS) * time.Second, time.Duration(maxS) * time.Second, time.Duration(defS) * time.Second
}

// posOf is where key was set, or a default position naming it.
func (b *builder) posOf(key string) Pos {
	if e := b.get(key); e != nil {
		return e.pos
	}
	return Pos{Key: key}
}

// domains splits Domains on commas and white space.
func (b *builder) domains() []string {
	e := b.get("Domains")
	if e == nil {
		return nil
	}
	var out []string
	for _, d := range strings.FieldsFunc(e.value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		d = strings.ToLower(d)
		if !validHost(d) {
			b.bad(e, "%s is not a domain name or IP address", quoteShort(d))
			continue
		}
		if slices.Contains(out, d) {
			b.bad(e, "%s is listed twice", quoteShort(d))
			continue
		}
		out = append(out, d)
	}
	return out
}

// listeners builds the transports, from Transport<N> blocks when there are
// any and from the legacy keys otherwise, then checks that no two of them
// want the same socket.
func (b *builder) listeners() []Listener {
	blocks := b.blocks(kindTransport)
	var ls []Listener
	if len(blocks) > 0 {
		b.refuseLegacy()
		for _, n := range sortedKeys(blocks) {
			if l, ok := b.transport(n, blocks[n]); ok {
				ls = append(ls, l)
			}
		}
	} else {
		ls = b.legacy()
	}
	b.clashes(ls)
	return ls
}

// refuseLegacy reports legacy listener keys given alongside Transport<N>
// blocks: repro ignores them silently, which hides a mistake.
func (b *builder) refuseLegacy() {
	for _, lp := range legacyPorts {
		if e := b.get(lp.key); e != nil {
			b.bad(e, "cannot be combined with Transport<N> blocks (repro ignores it; sipedge refuses): describe the listener as a Transport<N> block")
		}
	}
	for _, k := range append([]string{"IPAddress"}, legacyTLS[:]...) {
		if e := b.get(k); e != nil && e.value != "" {
			b.bad(e, "cannot be combined with Transport<N> blocks (repro ignores it; sipedge refuses): give it in each Transport<N> block")
		}
	}
}

// legacy builds the listeners of IPAddress and the XxxPort keys.
func (b *builder) legacy() []Listener {
	var addrs []netip.Addr
	if e := b.get("IPAddress"); e != nil && e.value != "" {
		v := e.value
		bracketed := strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]")
		if bracketed {
			v = v[1 : len(v)-1]
		}
		a, err := netip.ParseAddr(v)
		if err != nil || bracketed && !a.Is6() {
			b.bad(e, "%s is not an IP address (leave it empty for all interfaces)", quoteShort(e.value))
		} else {
			addrs = []netip.Addr{a}
		}
	} else {
		addrs = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	}
	domain, cert, key := b.str("TLSDomainName"), b.str("TLSCertificate"), b.str("TLSPrivateKey")
	verify := b.verification(b.get("TLSClientVerification"))
	secure := false
	var ls []Listener
	for _, lp := range legacyPorts {
		port := lp.def
		pos := Pos{Key: lp.key}
		if e := b.get(lp.key); e != nil {
			if b.empty(e, strconv.Itoa(int(lp.def))) {
				continue
			}
			n, ok := number(e.value, 0, 65535)
			if !ok {
				b.bad(e, "%s is not a port (0-65535, 0 = off)", quoteShort(e.value))
				continue
			}
			port, pos = uint16(n), e.pos
		}
		if port == 0 {
			continue
		}
		l := Listener{Type: lp.typ, Pos: pos}
		if lp.typ == "TLS" || lp.typ == "WSS" {
			secure = true
			if missing := missingOf("TLSCertificate", cert, "TLSPrivateKey", key); missing != "" {
				b.badAt(pos, "a %s listener needs %s", lp.typ, missing)
			}
			l.TLSDomain, l.TLSCertificate, l.TLSPrivateKey, l.TLSClientVerification = domain, cert, key, verify
		}
		for _, a := range addrs {
			l.Addr = netip.AddrPortFrom(a, port)
			ls = append(ls, l)
		}
	}
	if !secure {
		for _, k := range legacyTLS {
			if (k == "TLSCertificate" || k == "TLSPrivateKey") && b.turnTLSUsesSIPKeys() {
				continue
			}
			if e := b.get(k); e != nil && e.value != "" {
				b.bad(e, "set, but no listener uses it: TLSPort and WSSPort are 0")
			}
		}
	}
	return ls
}

// str is the value of a string key, "" when unset.
func (b *builder) str(key string) string {
	if e := b.get(key); e != nil {
		return e.value
	}
	return ""
}

// missingOf names the empty ones among two (key, value) pairs, or "".
func missingOf(k1, v1, k2, v2 string) string {
	switch {
	case v1 == "" && v2 == "":
		return k1 + " and " + k2
	case v1 == "":
		return k1
	case v2 == "":
		return k2
	}
	return ""
}

// blocks groups the entries of kind by block number and suffix.
func (b *builder) blocks(kind keyKind) map[int]map[string]*entry {
	out := make(map[int]map[string]*entry)
	for _, e := range b.entries {
		if e.ref.kind != kind {
			continue
		}
		if out[e.ref.n] == nil {
			out[e.ref.n] = make(map[string]*entry)
		}
		out[e.ref.n][e.ref.suffix] = e
	}
	return out
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// firstOf is the entry of a block that was read first, to report a missing key at.
func firstOf(block map[string]*entry) *entry {
	var first *entry
	for _, e := range block {
		if first == nil || e.seq < first.seq {
			first = e
		}
	}
	return first
}

// require reports the keys of a block that are missing; ok is false if any is.
func (b *builder) require(prefix string, n int, block map[string]*entry, suffixes ...string) bool {
	ok := true
	first := firstOf(block)
	for _, s := range suffixes {
		if block[s] == nil {
			name := prefix + strconv.Itoa(n) + s
			b.fail(first.pos.File, first.pos.Line, name, "missing: %s%d needs %s", prefix, n, strings.Join(suffixes, " and "))
			ok = false
		}
	}
	return ok
}

var transportTypes = [...]string{"UDP", "TCP", "TLS", "WS", "WSS"}

// transport builds the listener of block Transport<n>.
func (b *builder) transport(n int, block map[string]*entry) (Listener, bool) {
	if !b.require("Transport", n, block, "Interface", "Type") {
		return Listener{}, false
	}
	te, ie := block["Type"], block["Interface"]
	l := Listener{N: n, Pos: te.pos}
	ok := true
	typ := strings.ToUpper(te.value)
	switch {
	case slices.Contains(transportTypes[:], typ):
		l.Type = typ
	case typ == "DTLS":
		b.bad(te, "DTLS is not supported by sipedge")
		ok = false
	default:
		b.bad(te, "%s is not a transport type (want UDP, TCP, TLS, WS or WSS)", quoteShort(te.value))
		ok = false
	}
	if ap, msg := parseInterface(ie.value); msg != "" {
		b.bad(ie, "%s", msg)
		ok = false
	} else {
		l.Addr = ap
	}
	if !ok {
		return Listener{}, false
	}
	secure := l.Type == "TLS" || l.Type == "WSS"
	prefix := "Transport" + strconv.Itoa(n)
	if secure {
		l.TLSDomain = valueOf(block["TlsDomain"])
		l.TLSCertificate = valueOf(block["TlsCertificate"])
		l.TLSPrivateKey = valueOf(block["TlsPrivateKey"])
		l.TLSClientVerification = b.verification(block["TlsClientVerification"])
		if missing := missingOf(prefix+"TlsCertificate", l.TLSCertificate, prefix+"TlsPrivateKey", l.TLSPrivateKey); missing != "" {
			b.bad(te, "a %s transport needs %s", l.Type, missing)
			ok = false
		}
	} else {
		for _, s := range [...]string{"TlsDomain", "TlsCertificate", "TlsPrivateKey", "TlsClientVerification"} {
			if e := block[s]; e != nil {
				b.bad(e, "a TLS setting on a %s transport (only TLS and WSS use it)", l.Type)
				ok = false
			}
		}
	}
	if e := block["TurnOnSamePort"]; e != nil {
		if l.Type != "WSS" {
			b.bad(e, "TURN shares the port of a WSS transport only, not %s", l.Type)
			ok = false
		} else if v, good := b.parseBool(e); good {
			l.TurnOnSamePort, l.samePortSet = v, true
		}
	}
	if e := block["RecordRouteUri"]; e != nil && e.value != "" {
		switch {
		case !strings.EqualFold(e.value, "auto"):
			if msg := checkSIPURI(e.value); msg != "" {
				b.bad(e, "%s", msg)
				ok = false
			} else {
				l.RecordRouteURI = e.value
			}
		case secure && l.TLSDomain == "":
			b.bad(e, "auto on a %s transport takes its host from %sTlsDomain, which is not set", l.Type, prefix)
			ok = false
		case !secure && l.Addr.Addr().IsUnspecified():
			b.bad(e, "auto would name the wildcard address %s: give a URI instead", l.Addr.Addr())
			ok = false
		default:
			l.RecordRouteURI = "auto"
		}
	}
	return l, ok
}

func valueOf(e *entry) string {
	if e == nil {
		return ""
	}
	return e.value
}

// parseInterface parses "address:port", with the IPv6 address in brackets
// or, as repro allows, bare (the last colon starts the port).
func parseInterface(s string) (netip.AddrPort, string) {
	bad := fmt.Sprintf("%s is not an IP address and port (e.g. 192.0.2.1:5060 or [2001:db8::1]:5060)", quoteShort(s))
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		i := strings.LastIndexByte(s, ':')
		if i < 0 || strings.HasPrefix(s, "[") {
			return netip.AddrPort{}, bad
		}
		a, err := netip.ParseAddr(s[:i])
		if err != nil || !a.Is6() {
			return netip.AddrPort{}, bad
		}
		n, ok := number(s[i+1:], 0, 65535)
		if !ok {
			return netip.AddrPort{}, bad
		}
		ap = netip.AddrPortFrom(a, uint16(n))
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, "port 0: a Transport<N> listener needs a port from 1 to 65535"
	}
	return ap, ""
}

// clashes reports two listeners wanting the same socket: the same address
// and port for UDP, or for any two of TCP, TLS, WS and WSS.
func (b *builder) clashes(ls []Listener) {
	type sock struct {
		udp  bool
		addr netip.AddrPort
	}
	seen := make(map[sock]int)
	for i, l := range ls {
		k := sock{udp: l.Type == "UDP", addr: l.Addr}
		j, dup := seen[k]
		if !dup {
			seen[k] = i
			continue
		}
		b.badAt(l.Pos, "%s listener on %s clashes with the %s listener of %s", l.Type, l.Addr, ls[j].Type, ls[j].Pos)
	}
}

// routes builds the Route<N> blocks.
func (b *builder) routes() []StaticRoute {
	blocks := b.blocks(kindRoute)
	var rs []StaticRoute
	for _, n := range sortedKeys(blocks) {
		block := blocks[n]
		if !b.require("Route", n, block, "Pattern", "Destination") {
			continue
		}
		pe, de := block["Pattern"], block["Destination"]
		r := StaticRoute{N: n, Pos: pe.pos, Destination: de.value}
		ok := true
		if pe.value == "" {
			b.bad(pe, "empty pattern")
			ok = false
		} else if re, err := regexp.Compile(pe.value); err != nil {
			b.bad(pe, "bad regular expression: %v", err)
			ok = false
		} else {
			r.Pattern = re
		}
		if msg := checkSIPURI(de.value); msg != "" {
			b.bad(de, "%s", msg)
			ok = false
		}
		if me := block["Methods"]; me != nil {
			for _, m := range strings.FieldsFunc(me.value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
				m = strings.ToUpper(m)
				switch {
				case !isToken(m):
					b.bad(me, "%s is not a SIP method", quoteShort(m))
					ok = false
				case slices.Contains(r.Methods, m):
					b.bad(me, "%s is listed twice", m)
					ok = false
				default:
					r.Methods = append(r.Methods, m)
				}
			}
			if len(r.Methods) == 0 && ok {
				b.bad(me, "empty value: remove the line to route every method")
				ok = false
			}
		}
		if ok {
			rs = append(rs, r)
		}
	}
	return rs
}

// digestAlgorithms reads DigestChallengeAlgorithms: SHA-256 and/or MD5,
// comma separated, in the order the challenges offer them.
func (b *builder) digestAlgorithms() []string {
	e := b.get("DigestChallengeAlgorithms")
	if e == nil || b.empty(e, "SHA-256, MD5") {
		return []string{"SHA-256", "MD5"}
	}
	var out []string
	for _, a := range strings.Split(e.value, ",") {
		a = strings.ToUpper(strings.TrimSpace(a))
		switch a {
		case "SHA-256", "MD5":
		default:
			b.bad(e, "%s is not a digest algorithm (want SHA-256 and/or MD5)", quoteShort(a))
			continue
		}
		if slices.Contains(out, a) {
			b.bad(e, "%s is listed twice", quoteShort(a))
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return []string{"SHA-256", "MD5"}
	}
	return out
}

// trustedPeers reads TrustedPeers: comma-separated entries, each an
// address or CIDR range, optionally followed by a transport
// ("192.0.2.0/24 udp, 2001:db8::/32, 198.51.100.7 tls").
func (b *builder) trustedPeers() []TrustedPeer {
	e := b.get("TrustedPeers")
	if e == nil {
		return nil
	}
	var out []TrustedPeer
	for _, item := range strings.Split(e.value, ",") {
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		if len(f) > 2 {
			b.bad(e, "%s is not an address range and a transport", quoteShort(item))
			continue
		}
		var pfx netip.Prefix
		var err error
		if strings.Contains(f[0], "/") {
			pfx, err = netip.ParsePrefix(f[0])
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f[0]); err == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			b.bad(e, "%s is not an IP address or CIDR range", quoteShort(f[0]))
			continue
		}
		tp := TrustedPeer{Prefix: pfx.Masked()}
		if len(f) == 2 {
			tp.Transport = strings.ToUpper(f[1])
			switch tp.Transport {
			case "UDP", "TCP", "TLS", "WS", "WSS":
			default:
				b.bad(e, "%s is not a transport (want UDP, TCP, TLS, WS or WSS)", quoteShort(f[1]))
				continue
			}
		}
		out = append(out, tp)
	}
	return out
}
