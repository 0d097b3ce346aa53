package sip

// Limits bound what a parser accepts. The zero value of a field means the
// default; a parser never accepts unbounded input.
type Limits struct {
	// MaxMessageSize bounds a whole message: start line, header fields and
	// body (default 64 KiB).
	MaxMessageSize int
	// MaxHeaders bounds the header fields of one message (default 256).
	MaxHeaders int
	// MaxLineLength bounds the start line and each header field, folded
	// continuation lines included (default 8 KiB).
	MaxLineLength int
	// MaxURILength bounds a URI: the Request-URI and those in header
	// fields (default 4 KiB).
	MaxURILength int
	// MaxParams bounds the parameters of one URI or header value
	// (default 64).
	MaxParams int
}

// Default limits; see Limits.
const (
	DefaultMaxMessageSize = 64 << 10
	DefaultMaxHeaders     = 256
	DefaultMaxLineLength  = 8 << 10
	DefaultMaxURILength   = 4 << 10
	DefaultMaxParams      = 64
)

// defaultLimits serves messages that no parser made and the package's
// Parse* helpers; it is never written.
var defaultLimits = Limits{}.withDefaults()

// DefaultLimits returns the limits that a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{}.withDefaults()
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = DefaultMaxMessageSize
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = DefaultMaxLineLength
	}
	if l.MaxURILength <= 0 {
		l.MaxURILength = DefaultMaxURILength
	}
	if l.MaxParams <= 0 {
		l.MaxParams = DefaultMaxParams
	}
	return l
}
