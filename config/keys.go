package config

import (
	"strconv"
	"strings"
)

// keyKind says how a key is found and which part of the Config it feeds.
type keyKind uint8

const (
	kindGlobal    keyKind = iota // a key of its own, e.g. UDPPort
	kindTransport                // Transport<N><suffix>
	kindRoute                    // Route<N><suffix>
)

// Block numbers run 1..maxBlock for Transport<N> and Route<N>.
const maxBlock = 99

// globalKeys are the keys sipedge reads, in canonical spelling and in the
// order the sample documents them. Include is handled while reading files.
var globalKeys = [...]string{
	"Include",
	"IPAddress", "UDPPort", "TCPPort", "TLSPort", "WSPort", "WSSPort",
	"TLSDomainName", "TLSCertificate", "TLSPrivateKey", "TLSClientVerification",
	"Domains", "RecordRouteUri", "ForceRecordRouting",
	"DisableOutbound", "FlowTimer", "AssumeFirstHopSupportsOutbound",
	"EnableFlowTokens", "FlowTokenSecret", "AssumePath", "HideTopology",
	"RelayForeignDomains",
	"DisableAuth", "StaticRealm", "DigestChallengeAlgorithms", "ChallengeThirdPartiesCallingLocalDomains", "TrustedPeers",
	"WSCookieAuthSharedSecret", "WSCookieNameInfo", "WSCookieNameExtra", "WSCookieNameMac", "WSCookieExtraHeaderName",
	"RegistrationMinimumExpires", "RegistrationMaximumExpires", "RegistrationDefaultExpires",
	"LogLevel", "LogFormat", "DataDirectory", "ShutdownGracePeriod",
	"MaxTransactions",
	"TurnPort", "TlsTurnPort", "TurnTlsCertificate", "TurnTlsPrivateKey", "TurnAddress", "AuthenticationRealm", "AllocationPortRangeMin", "AllocationPortRangeMax",
	"DefaultAllocationLifetime", "MaxAllocationLifetime", "MaxAllocationsPerUser", "TurnMaxAllocations", "TurnMaxKbps", "TurnOnSamePort",
	"TurnRelayAddress", "TurnSecret", "TurnAllowPeers", "TurnDenyPeers",
	"TurnCredentialLifetime", "TurnUris", "WebPhone", "WebSelfTest",
}

// transportSuffixes complete Transport<N>; routeSuffixes complete Route<N>.
var (
	transportSuffixes = [...]string{"Interface", "Type", "TlsDomain", "TlsCertificate", "TlsPrivateKey", "TlsClientVerification", "RecordRouteUri", "TurnOnSamePort"}
	routeSuffixes     = [...]string{"Pattern", "Destination", "Methods"}
)

// reproOnly are repro keys that sipedge does not implement, with a hint where
// sipedge has another way. They get their own message so that a repro user
// knows the key was understood and is not merely misspelt.
var reproOnly = map[string]string{
	"LoggingType": "sipedge logs to standard error; see LogFormat", "LogFilename": "sipedge logs to standard error",
	"LogFileMaxBytes": "", "KeepAllLogFiles": "", "SyslogFacility": "",
	"DTLSPort": "", "DNSServers": "", "EnableIPv6": "", "DisableIPv4": "",
	"HttpPort": "", "HttpBindAddress": "", "DisableHttpAuth": "", "HttpAdminPassword": "", "HttpAdminRealm": "",
	"CommandPort": "", "CommandBindAddress": "", "RegSyncPort": "", "RegSyncPeer": "", "RegSyncPeerPort": "",
	"CertificatePath": "give TLSCertificate and TLSPrivateKey", "CADirectory": "", "CAFile": "",
	"DatabasePath": "use DataDirectory", "DefaultDatabase": "", "RuntimeDatabase": "",
	"MySQLServer": "", "MySQLUser": "", "MySQLPassword": "", "MySQLDatabaseName": "", "MySQLPort": "",
	"MySQLCustomUserAuthQuery": "", "RuntimeMySQLServer": "", "NumAuthGrabberWorkerThreads": "",
	"NumAsyncProcessorWorkerThreads": "", "EnableCertServer": "", "ServerText": "",
	"CongestionManagement": "", "CongestionManagementMetric": "", "CongestionManagementTolerance": "",
	"ThreadedStack": "", "DisableRegistrar": "", "EnumSuffixes": "", "EnumDomains": "",
	"TimerC": "", "TimerT1": "", "TCPConnectTimeout": "", "DNSGreylistDuration": "", "StreamMessageSizeLimit": "",
	"OutboundVersion": "", "ClientNatDetectionMode": "", "AllowInboundFlowTokensForNonDirectClients": "",
	"AssumeFirstHopSupportsFlowTokens": "", "TCPMinimumGCHeadroom": "", "TCPConnectionGCAge": "", "AddViaRport": "",
	"HttpHostname": "", "DisableIdentity": "", "DisableAuthInt": "", "RejectBadNonces": "",
	"AllowBadReg": "", "Routes": "use Route<N>Pattern and Route<N>Destination", "ParallelForkStaticRoutes": "",
	"RecursiveRedirect": "", "QValue": "", "QValueBehavior": "", "QValueCancelBetweenForkGroups": "",
	"QValueWaitForTerminateBetweenForkGroups": "", "QValueMsBetweenForkGroups": "", "QValueMsBeforeCancel": "",
	"PidFile": "", "Daemonize": "", "RunAsUser": "", "RunAsGroup": "", "LoadPlugins": "", "PluginDirectory": "",
	"TLSPrivateKeyPassPhrase": "give an unencrypted TLSPrivateKey", "TLSConnectionMethod": "", "TLSUseEmailAsSIP": "",
	"OpenSSLCipherList": "", "OpenSSLCTXSetOptions": "", "OpenSSLCTXClearOptions": "", "TlsDHParamsFilename": "",
	"CaptureHost": "", "CapturePort": "", "CaptureAgentID": "", "EnableSipMessageLogging": "",
	"StatisticsLogInterval": "", "EnablePresenceServer": "", "PresenceUsesRegistrationState": "",
	"PresenceNotifyClosedStateForNonPublishedUsers": "", "EnablePublicationReplication": "",
}

// reproOnlyTransport are repro's Transport<N> suffixes that sipedge does not implement.
var reproOnlyTransport = map[string]string{
	"RcvBufLen": "", "TlsPrivateKeyPassPhrase": "give an unencrypted Transport<N>TlsPrivateKey", "TlsConnectionMethod": "",
}

// keyRef is a resolved key: its canonical spelling and, for a block key, the
// block number and the suffix.
type keyRef struct {
	name   string
	kind   keyKind
	n      int
	suffix string
}

// resolve maps a key of any case to its canonical spelling. On failure msg is
// the reason, and name is the spelling to report it under.
func resolve(key string) (ref keyRef, msg string) {
	low := strings.ToLower(key)
	for _, g := range globalKeys {
		if strings.ToLower(g) == low {
			return keyRef{name: g, kind: kindGlobal}, ""
		}
	}
	for r, hint := range reproOnly {
		if strings.ToLower(r) == low {
			return keyRef{name: r}, unsupported(r, hint)
		}
	}
	if ref, msg, ok := resolveBlock(key, "Transport", kindTransport, transportSuffixes[:], reproOnlyTransport); ok {
		return ref, msg
	}
	if ref, msg, ok := resolveBlock(key, "Route", kindRoute, routeSuffixes[:], nil); ok {
		return ref, msg
	}
	msg = "unknown key"
	if s := suggest(key); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return keyRef{name: key}, msg
}

// resolveBlock recognises prefix<N><suffix>; ok is false when key is not of
// that shape at all.
func resolveBlock(key, prefix string, kind keyKind, suffixes []string, repro map[string]string) (ref keyRef, msg string, ok bool) {
	if len(key) <= len(prefix) || !strings.EqualFold(key[:len(prefix)], prefix) {
		return keyRef{}, "", false
	}
	rest := key[len(prefix):]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 {
		return keyRef{}, "", false
	}
	digits, tail := rest[:i], rest[i:]
	canonTail := ""
	for _, s := range suffixes {
		if strings.EqualFold(s, tail) {
			canonTail = s
		}
	}
	var hint string
	isRepro := false
	for s, h := range repro {
		if strings.EqualFold(s, tail) {
			canonTail, hint, isRepro = s, h, true
		}
	}
	if canonTail == "" {
		return keyRef{}, "", false
	}
	n, err := strconv.Atoi(digits)
	if len(digits) > 2 || err != nil || n < 1 || n > maxBlock || digits[0] == '0' {
		return keyRef{name: key}, prefix + " number " + quoteShort(digits) + " out of range (1 to 99, no leading zero)", true
	}
	name := prefix + digits + canonTail
	if isRepro {
		return keyRef{name: name}, unsupported(prefix+"<N>"+canonTail, hint), true
	}
	return keyRef{name: name, kind: kind, n: n, suffix: canonTail}, "", true
}

func unsupported(name, hint string) string {
	msg := "repro key " + name + " is not supported by sipedge"
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// Keys longer than this get no suggestion: no canonical key comes near, and
// the edit distance costs the product of the lengths.
const maxSuggestLen = 64

// suggest returns the known key nearest to key by edit distance, or "" when
// none is near enough to be a plausible typo. A number in key is carried into
// the block keys, so "Transprot3TlsDomain" suggests "Transport3TlsDomain".
func suggest(key string) string {
	if len(key) > maxSuggestLen {
		return ""
	}
	low := strings.ToLower(key)
	cands := make([]string, 0, len(globalKeys)+len(transportSuffixes)+len(routeSuffixes))
	cands = append(cands, globalKeys[:]...)
	if d := firstNumber(key); d != "" {
		for _, s := range transportSuffixes {
			cands = append(cands, "Transport"+d+s)
		}
		for _, s := range routeSuffixes {
			cands = append(cands, "Route"+d+s)
		}
	}
	best, bestDist := "", 1+len(key)/6
	if bestDist > 3 {
		bestDist = 3
	}
	bestDist++ // accept distances strictly below this
	for _, c := range cands {
		if d := editDistance(low, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// firstNumber returns the first run of digits in s if it is a valid block number.
func firstNumber(s string) string {
	i := strings.IndexAny(s, "0123456789")
	if i < 0 {
		return ""
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if n, err := strconv.Atoi(s[i:j]); err != nil || n < 1 || n > maxBlock || s[i] == '0' {
		return ""
	}
	return s[i:j]
}

// editDistance is the optimal string alignment distance (insertions,
// deletions, substitutions and adjacent transpositions each cost 1), so that
// the common typo "Tpye" is one edit from "Type".
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
