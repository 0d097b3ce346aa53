// Package config reads sipedge's configuration: repro's "Key = value" file
// format and vocabulary, with command-line overrides, into a validated Config.
//
// Unlike repro, it refuses what it does not understand: an unknown,
// misspelt, duplicate or unsupported key, a bad value, or a combination that
// repro would quietly ignore is an error naming the file, the line and the
// key, and every such error is reported at once. Certificate files are not
// read here; loading them is the server's job, which uses Pos to name the
// setting when one fails.
package config

import (
	_ "embed"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Default is the configuration `sipedge serve` runs when no file is given:
// UDP and TCP on 5060, WS on 8080 and TURN on 3478, on loopback only, so
// that a first run exposes nothing.
//
//go:embed default.config
var Default string

// Sample is the annotated sample configuration: every key with its default
// and meaning, for `sipedge check-config` users and the documentation.
//
//go:embed sipedge.config
var Sample string

// defaultSource is Config.Source for the embedded default.
const defaultSource = "embedded default"

// Load reads the file at path, following Include lines (relative to the
// including file, at most 8 deep, cycles refused), then applies overrides
// ("--Key=value" or "Key=value"), which win over the file. A path of ""
// means the embedded Default. Every problem found is returned at once, as
// errors.Join of *Error values.
func Load(path string, overrides []string) (*Config, error) {
	if path == "" {
		return Parse(defaultSource, []byte(Default), overrides)
	}
	text, err := readFile(path, false)
	if err != nil {
		return nil, &Error{File: path, Msg: ioMessage(err, false)}
	}
	return Parse(path, text, overrides)
}

// Parse is Load on text already read; name is used in error positions and
// Include paths are read from the file system relative to name's directory.
func Parse(name string, text []byte, overrides []string) (*Config, error) {
	r := newReader()
	chain := []string{name}
	if abs, err := filepath.Abs(name); err == nil {
		chain[0] = abs
	}
	r.file(name, text, chain)
	seen := make(map[string]bool)
	for _, o := range overrides {
		if r.full {
			break
		}
		r.override(o, seen)
	}
	b := &builder{reader: r}
	cfg := b.build(name)
	if len(r.errs) > 0 {
		return nil, errors.Join(r.sorted()...)
	}
	return cfg, nil
}

// Error is one problem in the configuration, with its place, e.g.
// "sipedge.config:12: UDPPrt: unknown key (did you mean UDPPort?)".
// Overrides have File "command line" and Line 0; a problem with a whole file
// has Line 0 and no Key.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

// Error renders "file:line: Key: msg", leaving out the parts that are unset.
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File)
	if e.Line > 0 {
		sb.WriteByte(':')
		sb.WriteString(strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Key)
	}
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	return sb.String()
}

// Pos says where a key's value came from, so that the server can name the
// setting when, e.g., a certificate fails to load. A Pos with no File is a
// default.
type Pos struct {
	File string
	Line int
	Key  string
}

// String renders "file:line: Key", "command line: Key" or "Key (default)".
func (p Pos) String() string {
	switch {
	case p.File == "":
		return p.Key + " (default)"
	case p.Line == 0:
		return p.File + ": " + p.Key
	default:
		return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Key
	}
}

// Verification is repro's TlsClientVerification: whether a TLS listener asks
// for, or insists on, a client certificate.
type Verification uint8

// Verification values, as repro spells them (case-insensitive): None,
// Optional, Mandatory.
const (
	VerifyNone Verification = iota
	VerifyOptional
	VerifyMandatory
)

// String returns repro's spelling.
func (v Verification) String() string {
	switch v {
	case VerifyNone:
		return "None"
	case VerifyOptional:
		return "Optional"
	case VerifyMandatory:
		return "Mandatory"
	}
	return "Verification(" + strconv.Itoa(int(v)) + ")"
}

// Listener is one transport to open, from the legacy keys (IPAddress,
// XxxPort and the TLS* keys; N is 0) or from a Transport<N> block.
type Listener struct {
	N                     int
	Type                  string         // "UDP", "TCP", "TLS", "WS" or "WSS"
	Addr                  netip.AddrPort // Transport<N>Interface, or IPAddress and the port; an empty IPAddress gives 0.0.0.0 and [::] as two listeners
	TLSDomain             string
	TLSCertificate        string // a path, not read here
	TLSPrivateKey         string // a path, not read here
	TLSClientVerification Verification
	RecordRouteURI        string // "" (use the global RecordRouteUri), "auto" (derived from the listener) or a validated sip:/sips: URI
	// TurnOnSamePort (WSS only) shares the port with TURN over TLS:
	// Transport<N>TurnOnSamePort, else the global TurnOnSamePort.
	TurnOnSamePort bool
	Pos            Pos // the block's Type key, or the legacy port key

	samePortSet bool // Transport<N>TurnOnSamePort was given
}

// StaticRoute is one Route<N> block: requests whose Request-URI matches
// Pattern (and whose method is in Methods, when given) go to Destination.
type StaticRoute struct {
	N           int
	Pattern     *regexp.Regexp // RE2, over the Request-URI text
	Destination string         // validated sip:/sips: URI of the next hop
	Methods     []string       // upper case; empty means every method
	Pos         Pos            // the block's Pattern key
}

// Config is a loaded, validated configuration. The server maps it onto its
// packages; nothing in it needs checking again except what lives outside the
// file (certificates, addresses the host has, free ports).
type Config struct {
	Source              string // the path, or "embedded default"
	Listeners           []Listener
	Domains             []string // lower case, in the order given
	RecordRouteURI      string   // validated sip:/sips: URI, or ""
	ForceRecordRouting  bool
	DisableOutbound     bool
	EnableFlowTokens    bool
	HideTopology        bool          // keep clients' received/rport out of the Vias sent to other hops
	RelayForeignDomains string        // "none" (403 to foreign domains: no open relay) or "all"
	StaticRoutes        []StaticRoute // ordered by N
	MinExpires          time.Duration // RegistrationMinimumExpires
	MaxExpires          time.Duration // RegistrationMaximumExpires
	DefaultExpires      time.Duration // RegistrationDefaultExpires
	LogLevel            slog.Level
	LogFormat           string // "text" or "json"
	DataDirectory       string
	ShutdownGrace       time.Duration // how long SIGTERM waits for transactions to finish
	MaxTransactions     int           // bound of the transaction table (new requests past it get 503)
	Warnings            []*Error      // settings accepted with a warning, e.g. AssumePath

	// FlowTimer is the Flow-Timer put in the 200 to an outbound
	// registration (RFC 5626 §5.4); 0 leaves it out.
	FlowTimer time.Duration
	// AssumeFirstHopSupportsOutbound treats the first hop of a REGISTER as
	// supporting outbound even when nothing says so (RFC 5626 §6: a Path
	// without ;ob); repro's key.
	AssumeFirstHopSupportsOutbound bool
	// FlowTokenSecrets are the FlowTokenSecret keys, decoded: the first
	// signs flow tokens, all verify. Empty means the key kept in
	// DataDirectory (flowtoken.key). Never log them.
	FlowTokenSecrets [][]byte

	// DisableAuth turns digest authentication off (repro's key; default
	// false: REGISTER and requests from our users are challenged).
	DisableAuth bool
	// StaticRealm, when set, is the digest realm of every domain; else the
	// realm is the domain.
	StaticRealm string
	// DigestChallengeAlgorithms are the algorithms challenges offer, in
	// order ("SHA-256", "MD5"; default both, SHA-256 first, RFC 8760).
	DigestChallengeAlgorithms []string
	// ChallengeThirdParties is ChallengeThirdPartiesCallingLocalDomains:
	// challenge requests from other domains to our users too.
	ChallengeThirdParties bool
	// TrustedPeers pass without a challenge: trunks and gateways.
	TrustedPeers []TrustedPeer

	// WSCookieAuthSecret is WSCookieAuthSharedSecret, the HMAC key of
	// repro's WebSocket cookie authentication, used as written; nil when
	// that is off. Never log it.
	WSCookieAuthSecret []byte
	// WSCookieNameInfo, WSCookieNameExtra and WSCookieNameMac name the
	// three cookies (repro's defaults: WSSessionInfo, WSSessionExtra,
	// WSSessionMAC).
	WSCookieNameInfo, WSCookieNameExtra, WSCookieNameMac string
	// WSCookieExtraHeaderName is the header whose value, when a request
	// over a cookie-authenticated WebSocket carries it, must equal the
	// extra cookie (repro's default X-WS-Session-Extra); "" for no check.
	WSCookieExtraHeaderName string

	// Turn is the TURN server (TurnPort and the keys that go with it);
	// Turn.Port 0 is off.
	Turn Turn
	// Web is the TURN credentials endpoint's (config/web.go).
	Web Web

	set map[string]Pos // lower-case canonical key -> where it was set
}

// Where returns where key (any case) was set; ok is false when it took its
// default.
func (c *Config) Where(key string) (Pos, bool) {
	p, ok := c.set[strings.ToLower(key)]
	return p, ok
}

// TrustedPeer is one TrustedPeers entry: an address range and, when not
// "", the one transport (UDP, TCP, TLS, WS, WSS) it is trusted over.
type TrustedPeer struct {
	Prefix    netip.Prefix
	Transport string
}
