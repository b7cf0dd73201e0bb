package wire

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"

	"golang.org/x/crypto/blake2b"
)

// maxSignHex is the longest hex digest a method of Methods() makes: a
// CRC has at most 8 digits, the others are their hash sizes in hex.
const maxSignHex = 2 * max(md5.Size, sha1.Size, sha256.Size, blake2b.Size256)

// maxSignature is "<index> <digest>" at its longest: a two-digit key
// index, a space and the longest digest.
const maxSignature = 2 + 1 + maxSignHex

// SignedLen is the length of m encoded and signed (Encode) by a key of
// the longest signature any method makes (a two-digit index, a 64-digit
// digest): an upper bound of what Encode makes of m with any Keyring,
// whatever authkeys says. It computes the length without encoding or
// signing: what builds a message can tell whether it fits MaxDatagram
// without the keys. m's field names and types are not checked (Encode
// does).
func SignedLen(m *Message) int {
	n := len(frameStart) + len(frameEnd)
	for _, f := range m.Fields {
		n += fieldNetstringLen(f.Name, len(f.Value))
	}
	n += fieldNetstringLen(FAuth, maxSignature)
	return n + netstringLen(maxSignature)
}

// fieldNetstringLen is the length appendFieldNetstring makes.
func fieldNetstringLen(name string, valueLen int) int {
	return netstringLen(3 + len(name) + 1 + valueLen)
}

// netstringLen is the length of "<n>:<n bytes>,".
func netstringLen(n int) int {
	digits := 1
	for x := n; x >= 10; x /= 10 {
		digits++
	}
	return digits + 1 + n + 1
}
