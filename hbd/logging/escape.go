package logging

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character that could act on a terminal or
// split a log line written as an escape sequence: ASCII control characters
// and DEL (\n, \r, \t, \x1b, ...), C1 controls and other invisible
// formatting characters (\u0085, \u202e, ...), and bytes that are not
// UTF-8 (\xff). Printable text, including non-ASCII letters, is kept.
//
// hbd logs text it does not control (fields of peers' packets, script
// output, file names) through the Formatter, which escapes every message
// with it, so such text stays inert in the log and in a terminal that
// shows it. Use Escape for untrusted text shown anywhere else.
func Escape(s string) string {
	if isPlain(s) {
		return s
	}
	return string(appendEscaped(nil, s))
}

// isPlain reports whether s is printable ASCII only (the common case,
// kept without a copy).
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// appendEscaped appends s to b, escaped as Escape says.
func appendEscaped(b []byte, s string) []byte {
	if isPlain(s) {
		return append(b, s...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= ' ' && c <= '~' {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\x`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		case r < utf8.RuneSelf || !unicode.IsGraphic(r):
			b = appendQuotedRune(b, r)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendQuotedRune appends r as Go writes it inside a quoted string
// (\n, \x1b, \u202e), without the quotes.
func appendQuotedRune(b []byte, r rune) []byte {
	q := strconv.AppendQuoteRuneToASCII(nil, r)
	return append(b, q[1:len(q)-1]...)
}
