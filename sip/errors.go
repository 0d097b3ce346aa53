package sip

import "errors"

// ParseError reports why a message was refused. Reason is short and fit
// for a status line such as "400 Bad Request - <Reason>".
type ParseError struct {
	// Status is the response a server should send when the message is a
	// request: 400 for malformed input, 505 for an unsupported SIP
	// version, 513 for a message over the size limit.
	Status int
	// Reason says what is wrong, e.g. "conflicting Content-Length".
	Reason string
	// Msg is the message as far as it could be read, set when its start
	// line and the header fields a response needs (Via, From, To,
	// Call-ID, CSeq) were readable; nil otherwise. A server uses it to
	// answer; it must not be forwarded.
	Msg *Message

	// conflict marks a second field that disagrees with the first: the
	// message can still be answered from the first.
	conflict bool
}

func (e *ParseError) Error() string {
	return "sip: " + e.Reason
}

// StatusLine returns the reason phrase of the response to send, e.g.
// "Bad Request - missing Call-ID".
func (e *ParseError) StatusLine() string {
	return StatusText(e.Status) + " - " + e.Reason
}

// ErrIncomplete is returned by StreamParser.Next when the buffered bytes do
// not yet hold a whole message.
var ErrIncomplete = errors.New("sip: incomplete message")

func errBad(reason string) *ParseError { return &ParseError{Status: 400, Reason: reason} }

func errConflict(header string) *ParseError {
	return &ParseError{Status: 400, Reason: "conflicting " + header, conflict: true}
}

// StatusText returns the RFC 3261 reason phrase of a status code, or ""
// for an unknown code.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 181:
		return "Call Is Being Forwarded"
	case 182:
		return "Queued"
	case 183:
		return "Session Progress"
	case 199:
		return "Early Dialog Terminated"
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 204:
		return "No Notification"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Moved Temporarily"
	case 305:
		return "Use Proxy"
	case 380:
		return "Alternative Service"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 410:
		return "Gone"
	case 412:
		return "Conditional Request Failed"
	case 413:
		return "Request Entity Too Large"
	case 414:
		return "Request-URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Unsupported URI Scheme"
	case 420:
		return "Bad Extension"
	case 421:
		return "Extension Required"
	case 423:
		return "Interval Too Brief"
	case 429:
		return "Provide Referrer Identity"
	case 430:
		return "Flow Failed"
	case 433:
		return "Anonymity Disallowed"
	case 439:
		return "First Hop Lacks Outbound Support"
	case 440:
		return "Max-Breadth Exceeded"
	case 469:
		return "Bad Info Package"
	case 470:
		return "Consent Needed"
	case 477:
		return "Send Failed"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 482:
		return "Loop Detected"
	case 483:
		return "Too Many Hops"
	case 484:
		return "Address Incomplete"
	case 485:
		return "Ambiguous"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 489:
		return "Bad Event"
	case 491:
		return "Request Pending"
	case 493:
		return "Undecipherable"
	case 494:
		return "Security Agreement Required"
	case 500:
		return "Server Internal Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Server Time-out"
	case 505:
		return "Version Not Supported"
	case 513:
		return "Message Too Large"
	case 580:
		return "Precondition Failure"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	case 604:
		return "Does Not Exist Anywhere"
	case 606:
		return "Not Acceptable"
	case 607:
		return "Unwanted"
	}
	return ""
}
