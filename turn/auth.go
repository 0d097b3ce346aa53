package turn

import (
	"context"
	"crypto/hmac"
	"crypto/md5"  //nolint:gosec // RFC 8489 §9.2.2: the long-term key is MD5
	"crypto/sha1" //nolint:gosec // the TURN REST password is HMAC-SHA1
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	pturn "github.com/pion/turn/v5"
	"github.com/sipedge/sipedge/auth"
)

// maxUsername bounds the USERNAME we look at (RFC 8489 allows 513 bytes).
const maxUsername = 513

// RESTPassword is the TURN REST password of username under secret:
// base64(HMAC-SHA1(secret, username)), as coturn's use-auth-secret and
// reTurn compute it. username is "expiry:user", expiry in Unix seconds.
func RESTPassword(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// RESTCredentials returns a REST username and password for user, valid
// until expiry.
func RESTCredentials(secret []byte, user string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + user
	return username, RESTPassword(secret, username)
}

// longTermKey is RFC 8489 §9.2.2's key: MD5(username ":" realm ":" password).
func longTermKey(username, realm, password string) []byte {
	h := md5.Sum([]byte(username + ":" + realm + ":" + password)) //nolint:gosec
	return h[:]
}

// parseREST splits a REST username "expiry:user"; ok is false when it is
// not one. The user part may be empty (coturn's "expiry:" form is not
// accepted: the user names the quota).
func parseREST(username string) (expiry int64, user string, ok bool) {
	i := strings.IndexByte(username, ':')
	if i <= 0 || i > 12 || i == len(username)-1 {
		return 0, "", false
	}
	for _, c := range username[:i] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	e, err := strconv.ParseInt(username[:i], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return e, username[i+1:], true
}

// userIDs: the allocation's owner as pion keeps it (Refresh,
// CreatePermission and ConnectionBind must come from the same one) and as
// quotas count it. REST users and SIP users live in separate namespaces.
func restUserID(user string) string { return "rest:" + user }
func sipUserID(user string) string  { return "sip:" + user }

// authenticate is pion's AuthHandler: it returns the long-term key of the
// USERNAME, which pion checks the MESSAGE-INTEGRITY against.
func (s *Server) authenticate(ra *pturn.RequestAttributes) (userID string, key []byte, ok bool) {
	if ra.Realm != s.cfg.Realm || ra.Username == "" || len(ra.Username) > maxUsername {
		return "", nil, false
	}
	if expiry, user, rest := parseREST(ra.Username); rest {
		if len(s.cfg.RESTSecrets) == 0 || time.Unix(expiry, 0).Before(s.now()) {
			return "", nil, false
		}
		secret := s.cfg.RESTSecrets[s.hints.lookup(ra.Username)]
		return restUserID(user), longTermKey(ra.Username, s.cfg.Realm, RESTPassword(secret, ra.Username)), true
	}
	if s.cfg.Users == nil || strings.ContainsAny(ra.Username, ":@") {
		// user@domain cannot work: the key covers the USERNAME as sent,
		// and the stored HA1 is H(user:realm:password).
		return "", nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ha1, err := s.cfg.Users.HA1(ctx, ra.Username, s.cfg.Realm, auth.MD5)
	if err != nil {
		return "", nil, false
	}
	k, err := hex.DecodeString(ha1)
	if err != nil || len(k) != md5.Size {
		return "", nil, false
	}
	return sipUserID(ra.Username), k, true
}

// restKeys are the long-term keys of username under each REST secret.
func (s *Server) restKeys(username string) [][]byte {
	keys := make([][]byte, len(s.cfg.RESTSecrets))
	for i, sec := range s.cfg.RESTSecrets {
		keys[i] = longTermKey(username, s.cfg.Realm, RESTPassword(sec, username))
	}
	return keys
}

// secretHints remembers, for a REST username, which of several secrets
// signed it: pion's AuthHandler returns one key and never sees the
// message, so with several secrets (rotation) the listeners look at each
// request on its way to pion and record the secret whose key verifies its
// MESSAGE-INTEGRITY. Only a verified message makes an entry, so nobody
// without a secret can change what another user's request is checked
// against. Bounded: entries die with their username's expiry and the map
// is emptied when full.
type secretHints struct {
	mu sync.Mutex
	m  map[string]hint
}

type hint struct {
	secret int
	expiry int64
}

const maxHints = 8192

// lookup returns the secret index to check username against (0 unless a
// hint says otherwise).
func (h *secretHints) lookup(username string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[username].secret
}

func (h *secretHints) store(username string, secret int, expiry, now int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = make(map[string]hint)
	}
	if _, ok := h.m[username]; !ok && len(h.m) >= maxHints {
		for k, v := range h.m {
			if v.expiry < now {
				delete(h.m, k)
			}
		}
		if len(h.m) >= maxHints {
			clear(h.m)
		}
	}
	h.m[username] = hint{secret: secret, expiry: expiry}
}
