package wire

import (
	"errors"
	"fmt"
)

// DropReason says why a received datagram was rejected. Callers keep one
// counter per reason (an array of NumDropReasons works) and print it with
// String.
type DropReason int

// The reasons Decode rejects a datagram for. DropNone means "not dropped".
const (
	DropNone         DropReason = iota
	DropTruncated               // the datagram ends inside the frame
	DropOversized               // longer than MaxDatagram; not parsed at all
	DropMalformed               // bad framing, netstring, length, name or auth syntax
	DropUnsupported             // a field type other than string (0) or binary (1)
	DropNoAuth                  // no auth field or no trailer
	DropUnknownKey              // the key index is not in the keyring
	DropBadSignature            // a digest does not match
	NumDropReasons              // number of reasons including DropNone
)

var dropNames = [NumDropReasons]string{
	DropNone:         "ok",
	DropTruncated:    "truncated",
	DropOversized:    "oversized",
	DropMalformed:    "malformed",
	DropUnsupported:  "unsupported-type",
	DropNoAuth:       "no-auth",
	DropUnknownKey:   "unknown-key",
	DropBadSignature: "bad-signature",
}

// String returns the short name used in logs and status output
// ("bad-signature", "unknown-key", ...).
func (r DropReason) String() string {
	if r < 0 || r >= NumDropReasons {
		return fmt.Sprintf("DropReason(%d)", int(r))
	}
	return dropNames[r]
}

// Error makes a DropReason usable as a sentinel:
// errors.Is(err, wire.DropBadSignature) holds for a *DecodeError with that
// reason.
func (r DropReason) Error() string { return "wire: " + r.String() }

// DecodeError is the error Decode returns: the reason, the byte offset in
// the datagram where decoding stopped, and a human-readable detail.
type DecodeError struct {
	Reason DropReason
	Offset int
	Detail string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: %s at byte %d: %s", e.Reason.String(), e.Offset, e.Detail)
}

// Is reports whether target is e's DropReason.
func (e *DecodeError) Is(target error) bool {
	r, ok := target.(DropReason)
	return ok && r == e.Reason
}

// Reason returns the DropReason carried by err (wrapped or not), DropNone
// if err is nil or carries none.
func Reason(err error) DropReason {
	if err == nil {
		return DropNone
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	var r DropReason
	if errors.As(err, &r) {
		return r
	}
	return DropNone
}

func dropErr(r DropReason, off int, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: r, Offset: off, Detail: fmt.Sprintf(format, args...)}
}
