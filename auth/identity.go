package auth

import (
	"strings"

	"github.com/sipedge/sipedge/sip"
)

// MatchesFrom reports whether user, authenticated in realm, is the From of
// req: the From URI is sip or sips, its user part (with %-escapes decoded)
// is user exactly, and its host is the realm's domain.
//
// Without StaticRealm the realm is the domain (in lower case), so the host
// must equal realm, case-insensitively. With StaticRealm every domain shares
// the one realm and one set of user names, so only the user part is
// compared: the caller must already know that the From host is one of our
// domains (it is, for requests Required made it challenge).
func (a *Authenticator) MatchesFrom(req *sip.Message, user, realm string) bool {
	from := req.From()
	return a.matches(&from.URI, user, realm)
}

// MatchesTo reports, by the rules of MatchesFrom, whether user is the To of
// req: for REGISTER, only a user may add, refresh or remove bindings of its
// own AOR. The From of a REGISTER is not checked (RFC 3261 §10.2 allows
// third-party registration, which is this rule's business to refuse).
func (a *Authenticator) MatchesTo(req *sip.Message, user, realm string) bool {
	to := req.To()
	return a.matches(&to.URI, user, realm)
}

func (a *Authenticator) matches(u *sip.URI, user, realm string) bool {
	if !u.IsSIP() || u.User == "" || user == "" {
		return false
	}
	if a.staticRealm != "" {
		if realm != a.staticRealm {
			return false
		}
	} else if !strings.EqualFold(u.Host, realm) {
		return false
	}
	return unescapedEqual(u.User, user)
}

// unescapedEqual reports whether the URI user part s, with its %-escapes
// decoded, is user.
func unescapedEqual(s, user string) bool {
	if strings.IndexByte(s, '%') < 0 {
		return s == user
	}
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := fromHex(s[i+1])
			lo, ok2 := fromHex(s[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		if j >= len(user) || user[j] != c {
			return false
		}
		j++
	}
	return j == len(user)
}
