package wire

import (
	"strings"
	"testing"
)

// TestSignedLen: SignedLen is never short of what Encode makes with any
// method and key index, and is exact for the longest signatures (a 64-digit
// digest, a two-digit index), across the lengths where a netstring's
// length gains a digit and with binary values.
func TestSignedLen(t *testing.T) {
	msgs := map[string]*Message{"empty": {}, "status": statusMessage()}
	for _, n := range []int{0, 1, 5, 6, 9, 10, 94, 95, 99, 100, 994, 995, 9994, 9995} {
		m := statusMessage()
		m.Set(FHbdHeld, strings.Repeat("k", n))
		m.SetBinary("bin", []byte(strings.Repeat("\x00\xff", n/4))) // (within MaxDatagram)
		msgs["value "+Decimal(n)] = m
	}
	for _, idx := range []int{0, 9, 10, MaxKeyIndex} {
		for _, k := range allMethodKeys() {
			k.Index = idx
			kr := mustKeyring(t, idx, k)
			longest := idx >= 10 && (k.Method == MethodSHA256 || k.Method == MethodBLAKE2b)
			for name, m := range msgs {
				b, err := kr.Encode(m)
				if err != nil {
					t.Fatalf("%s key %d, %s: %v", k.Method, idx, name, err)
				}
				got := SignedLen(m)
				if got < len(b) || longest && got != len(b) {
					t.Errorf("%s key %d, %s: SignedLen %d, Encode made %d bytes", k.Method, idx, name, got, len(b))
				}
			}
		}
	}
}

// TestSignedLenAtTheLimit: the longest message whose SignedLen is within
// MaxDatagram encodes with the longest signature; one byte more and
// Encode refuses it, as the bound says.
func TestSignedLenAtTheLimit(t *testing.T) {
	kr := mustKeyring(t, MaxKeyIndex, Key{Index: MaxKeyIndex, Method: MethodSHA256, Secret: "a secret"})
	m := statusMessage()
	m.Set(FHbdHeld, "")
	// The longest value that keeps SignedLen within the limit (the
	// value's length may add a digit to its netstring's).
	fit := MaxDatagram - SignedLen(m)
	for ; ; fit-- {
		m.Set(FHbdHeld, strings.Repeat("k", fit))
		if SignedLen(m) <= MaxDatagram {
			break
		}
	}
	for _, tt := range []struct {
		extra int
		fits  bool
	}{{fit, true}, {fit + 1, false}} {
		m.Set(FHbdHeld, strings.Repeat("k", tt.extra))
		if (SignedLen(m) <= MaxDatagram) != tt.fits {
			t.Fatalf("SignedLen %d with %d bytes of value", SignedLen(m), tt.extra)
		}
		if _, err := kr.Encode(m); (err == nil) != tt.fits {
			t.Errorf("SignedLen %d: Encode error %v, want fits %v", SignedLen(m), err, tt.fits)
		}
	}
}
