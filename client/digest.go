package client

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/sipedge/sipedge/sip"
)

// digestAlgorithms ranks the algorithms the UA answers (RFC 7616 §3.7,
// RFC 8760): when a server offers several, the strongest wins.
func digestRank(alg string) int {
	switch strings.ToUpper(alg) {
	case "SHA-256", "SHA-256-SESS":
		return 2
	case "MD5", "MD5-SESS":
		return 1
	}
	return 0
}

// staleChallenge reports whether a 401/407 says only that the nonce was
// stale, which is worth one more attempt.
func staleChallenge(resp *sip.Message) bool {
	h := sip.HeaderWWWAuthenticate
	if resp.StatusCode == 407 {
		h = sip.HeaderProxyAuthenticate
	}
	for a, err := range resp.Auths(h) {
		if err != nil {
			return false
		}
		if s, ok := a.Param("stale"); ok && strings.EqualFold(s, "true") {
			return true
		}
	}
	return false
}

// authorize returns a copy of req that answers the challenges of resp
// (§22.2, RFC 7616): a new branch, CSeq seq, and one credentials field per
// realm, for the strongest algorithm offered in it.
func (ua *UA) authorize(req, resp *sip.Message, seq uint32) (*sip.Message, error) {
	chal, credName := sip.HeaderWWWAuthenticate, "Authorization"
	if resp.StatusCode == 407 {
		chal, credName = sip.HeaderProxyAuthenticate, "Proxy-Authorization"
	}
	type pick struct {
		a    sip.Auth
		rank int
	}
	best := make(map[string]pick)
	var realms []string
	for a, err := range resp.Auths(chal) {
		if err != nil {
			return nil, fmt.Errorf("challenge: %w", err)
		}
		if !a.IsDigest() {
			continue
		}
		alg, ok := a.Param("algorithm")
		if !ok {
			alg = "MD5"
		}
		rank := digestRank(alg)
		if qop, ok := a.Param("qop"); ok && !hasToken(qop, "auth") {
			rank = 0
		}
		if rank == 0 {
			continue
		}
		realm, _ := a.Param("realm")
		p, seen := best[realm]
		if !seen {
			realms = append(realms, realm)
		}
		if !seen || rank > p.rank {
			best[realm] = pick{a, rank}
		}
	}
	if len(realms) == 0 {
		return nil, errors.New("no digest challenge with a supported algorithm and qop")
	}
	next, err := sip.Parse(req.AppendTo(nil))
	if err != nil {
		return nil, fmt.Errorf("copy of the request: %w", err)
	}
	via, err := sip.ParseVia(ua.newVia())
	if err != nil {
		return nil, fmt.Errorf("new Via: %w", err)
	}
	next.SetTopVia(via)
	if err := next.Set("CSeq", cseqString(seq, req.Method)); err != nil {
		return nil, fmt.Errorf("new CSeq: %w", err)
	}
	next.Del(credName)
	uri := req.RequestURI.String()
	for _, realm := range realms {
		cred, err := digestCredentials(best[realm].a, ua.cfg.User, ua.cfg.Password, req.Method, uri, randToken(16))
		if err != nil {
			return nil, err
		}
		if err := next.Add(credName, cred); err != nil {
			return nil, fmt.Errorf("%s: %w", credName, err)
		}
	}
	return next, nil
}

// digestCredentials computes the credentials for one challenge (RFC 7616
// §3.4, qop=auth, or RFC 2069's form when the challenge has no qop).
func digestCredentials(a sip.Auth, user, password, method, uri, cnonce string) (string, error) {
	realm, _ := a.Param("realm")
	nonce, ok := a.Param("nonce")
	if !ok {
		return "", errors.New("digest challenge without a nonce")
	}
	alg, hasAlg := a.Param("algorithm")
	if !hasAlg {
		alg = "MD5"
	}
	base, sess := strings.CutSuffix(strings.ToUpper(alg), "-SESS")
	var newHash func() hash.Hash
	switch base {
	case "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", fmt.Errorf("digest algorithm %q not supported", alg)
	}
	h := func(s string) string {
		d := newHash()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil))
	}
	qops, hasQop := a.Param("qop")
	if hasQop && !hasToken(qops, "auth") {
		return "", fmt.Errorf("digest qop %q not supported", qops)
	}
	const nc = "00000001"
	ha1 := h(user + ":" + realm + ":" + password)
	if sess {
		ha1 = h(ha1 + ":" + nonce + ":" + cnonce)
	}
	ha2 := h(method + ":" + uri)
	var response string
	if hasQop {
		response = h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	} else {
		response = h(ha1 + ":" + nonce + ":" + ha2)
	}
	var b strings.Builder
	b.WriteString("Digest username=" + sip.Quote(user) + ", realm=" + sip.Quote(realm) +
		", nonce=" + sip.Quote(nonce) + ", uri=" + sip.Quote(uri) + ", response=" + sip.Quote(response))
	if hasAlg {
		b.WriteString(", algorithm=" + alg)
	}
	if hasQop || sess {
		b.WriteString(", cnonce=" + sip.Quote(cnonce))
	}
	if hasQop {
		b.WriteString(", qop=auth, nc=" + nc)
	}
	if opaque, ok := a.Param("opaque"); ok {
		b.WriteString(", opaque=" + sip.Quote(opaque))
	}
	return b.String(), nil
}

// hasToken reports whether the comma-separated list holds tok.
func hasToken(list, tok string) bool {
	for t := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}
