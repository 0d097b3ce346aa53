// Package store keeps sipedge's users and domains. Users are kept as digest
// HA1 values (RFC 7616 §3.4.2: H(user ":" realm ":" password)) for MD5 and
// SHA-256, never as passwords.
//
// Store is the interface the rest of sipedge uses; store/sqlite implements
// it on an embedded SQLite file, and a PostgreSQL implementation will satisfy
// the same interface. The interface is kept small on purpose: plain reads and
// writes of rows, plus Version, a counter that every change raises, so that a
// running server notices what another process (the sipedge user and domain
// commands) wrote to the same database without a restart. See Watch.
package store

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strings"
	"time"
)

// Errors returned by every Store implementation (compare with errors.Is).
var (
	// ErrNotFound: no such user or domain.
	ErrNotFound = errors.New("not found")
	// ErrExists: AddDomain of a domain the store already has.
	ErrExists = errors.New("already exists")
	// ErrNoDomain: PutUser for a domain the store does not have.
	ErrNoDomain = errors.New("domain not in the store")
	// ErrDomainInUse: RemoveDomain of a domain that still has users.
	ErrDomainInUse = errors.New("domain still has users")
	// ErrInvalid: a user part, domain, realm or HA1 that fails Validate.
	ErrInvalid = errors.New("invalid")
)

// Store holds users and domains. Its methods are safe for concurrent use;
// every one honours its context.
type Store interface {
	// User returns the user user@domain, or ErrNotFound.
	User(ctx context.Context, user, domain string) (User, error)
	// PutUser adds or replaces u (by User and Domain). Created is kept
	// for a user that exists (set to now for a new one when zero) and
	// Updated is set to now. The domain must be in the store
	// (ErrNoDomain).
	PutUser(ctx context.Context, u User) error
	// RemoveUser removes user@domain, or returns ErrNotFound.
	RemoveUser(ctx context.Context, user, domain string) error
	// Users returns the users of domain, or of every domain when domain
	// is "", ordered by domain and user.
	Users(ctx context.Context, domain string) ([]User, error)

	// AddDomain adds a domain (ErrExists when it is there already).
	AddDomain(ctx context.Context, domain string) error
	// RemoveDomain removes a domain without users (ErrDomainInUse), or
	// returns ErrNotFound.
	RemoveDomain(ctx context.Context, domain string) error
	// Domains returns the store's domains in order.
	Domains(ctx context.Context) ([]string, error)

	// Version returns a number that every change of users or domains, by
	// any process using the same database, makes larger. Comparing it with
	// the last value seen is how a cache learns it must reload.
	Version(ctx context.Context) (int64, error)

	// Close releases the store.
	Close() error
}

// User is one user's credentials: never a password, only the HA1 values of
// the digest algorithms sipedge offers.
type User struct {
	User   string // the user part, case-sensitive (RFC 3261 §19.1.4)
	Domain string // in the form of CanonicalDomain
	// Realm is the digest realm the HA1 values were computed with;
	// sipedge's commands use the domain.
	Realm     string
	HA1MD5    string // lower-case hex of MD5(user:realm:password)
	HA1SHA256 string // lower-case hex of SHA-256(user:realm:password)
	Created   time.Time
	Updated   time.Time
}

// HA1 returns the user's stored HA1 for the digest algorithm alg (AlgMD5 or
// AlgSHA256, case-insensitive), or "" when the store has none for it.
func (u User) HA1(alg string) string {
	switch strings.ToUpper(alg) {
	case AlgMD5:
		return u.HA1MD5
	case AlgSHA256:
		return u.HA1SHA256
	}
	return ""
}

// Digest algorithm names (RFC 7616 §6.1). HA1 also knows AlgSHA512256;
// the store keeps MD5 and SHA-256 only.
const (
	AlgMD5       = "MD5"
	AlgSHA256    = "SHA-256"
	AlgSHA512256 = "SHA-512-256"
)

// HA1 returns the lower-case hex digest H(user ":" realm ":" password) of
// RFC 7616 §3.4.2 for alg (MD5, SHA-256 or SHA-512-256, case-insensitive),
// or "" for any other algorithm. The -sess variants' HA1 depends on the
// nonce and is the digest code's business.
func HA1(alg, user, realm, password string) string {
	var h hash.Hash
	switch strings.ToUpper(alg) {
	case AlgMD5:
		h = md5.New()
	case AlgSHA256:
		h = sha256.New()
	case AlgSHA512256:
		h = sha512.New512_256()
	default:
		return ""
	}
	h.Write([]byte(user))
	h.Write([]byte{':'})
	h.Write([]byte(realm))
	h.Write([]byte{':'})
	h.Write([]byte(password))
	return hex.EncodeToString(h.Sum(nil))
}

// NewUser returns the user user@domain with the HA1 values of password in
// realm ("" means the domain). The password is not kept. The domain is
// put in canonical form (CanonicalDomain); the result is checked with
// Validate.
func NewUser(user, domain, realm, password string) (User, error) {
	domain, err := CanonicalDomain(domain)
	if err != nil {
		return User{}, err
	}
	if realm == "" {
		realm = domain
	}
	if password == "" {
		return User{}, fmt.Errorf("%w: empty password", ErrInvalid)
	}
	u := User{
		User:      user,
		Domain:    domain,
		Realm:     realm,
		HA1MD5:    HA1(AlgMD5, user, realm, password),
		HA1SHA256: HA1(AlgSHA256, user, realm, password),
	}
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	return u, nil
}

// Bounds of what a store accepts.
const (
	MaxUserLen   = 256 // bytes of a user part
	MaxDomainLen = 253 // bytes of a domain (a DNS name's limit)
	MaxRealmLen  = 256 // bytes of a realm
)

// Validate checks u's fields: the user part, domain and realm (see
// ValidUser, ValidDomain, ValidRealm) and that both HA1 values are lower-case
// hex of the right length. Errors wrap ErrInvalid.
func (u User) Validate() error {
	if err := ValidUser(u.User); err != nil {
		return err
	}
	if err := ValidDomain(u.Domain); err != nil {
		return err
	}
	if err := ValidRealm(u.Realm); err != nil {
		return err
	}
	if !isHex(u.HA1MD5, md5.Size*2) {
		return fmt.Errorf("%w: HA1 (MD5) of %s@%s is not %d lower-case hex digits", ErrInvalid, u.User, u.Domain, md5.Size*2)
	}
	if !isHex(u.HA1SHA256, sha256.Size*2) {
		return fmt.Errorf("%w: HA1 (SHA-256) of %s@%s is not %d lower-case hex digits", ErrInvalid, u.User, u.Domain, sha256.Size*2)
	}
	return nil
}

// ValidUser checks a user part: 1 to MaxUserLen bytes of printable ASCII
// without blanks and without the characters @ : " \ < > (which would make
// the digest's user:realm:password or a SIP URI ambiguous).
func ValidUser(user string) error {
	if user == "" {
		return fmt.Errorf("%w: empty user part", ErrInvalid)
	}
	if len(user) > MaxUserLen {
		return fmt.Errorf("%w: user part longer than %d bytes", ErrInvalid, MaxUserLen)
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`@:"\<>`, c) >= 0 {
			return fmt.Errorf("%w: user part %q: character %q not allowed", ErrInvalid, user, c)
		}
	}
	return nil
}

// ValidDomain checks that domain is in the form CanonicalDomain gives.
func ValidDomain(domain string) error {
	c, err := CanonicalDomain(domain)
	if err != nil {
		return err
	}
	if c != domain {
		return fmt.Errorf("%w: domain %q is not in canonical form (%q)", ErrInvalid, domain, c)
	}
	return nil
}

// CanonicalDomain returns the form a store keeps a domain in: a host name
// (labels of letters, digits and hyphens, none starting or ending with a
// hyphen, at most MaxDomainLen bytes) in lower case without a trailing dot,
// an IPv4 address, or an IPv6 address in brackets in RFC 5952 form (given
// with or without the brackets).
func CanonicalDomain(domain string) (string, error) {
	if domain == "" {
		return "", fmt.Errorf("%w: empty domain", ErrInvalid)
	}
	if len(domain) > MaxDomainLen+2 {
		return "", fmt.Errorf("%w: domain longer than %d bytes", ErrInvalid, MaxDomainLen)
	}
	if strings.HasPrefix(domain, "[") || strings.Contains(domain, ":") {
		s := domain
		if domain[0] == '[' && domain[len(domain)-1] == ']' {
			s = domain[1 : len(domain)-1]
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() && a.Zone() == "" {
			return "[" + a.String() + "]", nil
		}
		return "", fmt.Errorf("%w: domain %q is not an IPv6 address", ErrInvalid, domain)
	}
	if a, err := netip.ParseAddr(domain); err == nil {
		return a.String(), nil
	}
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if d == "" || len(d) > MaxDomainLen {
		return "", fmt.Errorf("%w: domain %q: empty or longer than %d bytes", ErrInvalid, domain, MaxDomainLen)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return "", fmt.Errorf("%w: domain %q: empty label", ErrInvalid, domain)
		}
		if len(label) > 63 {
			return "", fmt.Errorf("%w: domain %q: label longer than 63 bytes", ErrInvalid, domain)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%w: domain %q: a label starts or ends with '-'", ErrInvalid, domain)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%w: domain %q: character %q not allowed", ErrInvalid, domain, c)
			}
		}
	}
	return d, nil
}

// ValidRealm checks a realm: 1 to MaxRealmLen bytes of printable ASCII
// (blanks allowed) without '"' and '\' (it goes into a quoted string).
func ValidRealm(realm string) error {
	if realm == "" {
		return fmt.Errorf("%w: empty realm", ErrInvalid)
	}
	if len(realm) > MaxRealmLen {
		return fmt.Errorf("%w: realm longer than %d bytes", ErrInvalid, MaxRealmLen)
	}
	for i := 0; i < len(realm); i++ {
		c := realm[i]
		if c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("%w: realm %q: character %q not allowed", ErrInvalid, realm, c)
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Watch calls changed each time s's Version differs from the one seen
// before, checking every interval until ctx is done; it returns ctx's error
// then. The first Version is read at once and does not call changed (the
// caller loads what it needs before or after starting Watch: a change in
// between calls changed). A failed read is passed to onErr (when not nil)
// and tried again at the next tick, so a database that is briefly busy or
// locked does not stop the watch.
//
// Version is one small read, so an interval of a second costs nothing
// worth measuring; it bounds how long a change made by the sipedge command
// takes to reach a running server.
func Watch(ctx context.Context, s Store, interval time.Duration, changed func(), onErr func(error)) error {
	seen, err := s.Version(ctx)
	known := err == nil
	if err != nil && onErr != nil && ctx.Err() == nil {
		onErr(err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		v, err := s.Version(ctx)
		if err != nil {
			if onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
			continue
		}
		if !known || v != seen {
			// Without a first reading a change may have been
			// missed: tell the caller to reload.
			seen, known = v, true
			changed()
		}
	}
}
