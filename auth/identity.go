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
	return sip.Unescape(u.User) == user
}
