package wire

import (
	"strconv"
	"strings"
	"testing"
)

func TestMethodVectors(t *testing.T) {
	jefe := []byte("what do ya want for nothing?")
	tests := []struct {
		key  Key
		data []byte
		want string
	}{
		// CRC-32/POSIX check value (without cksum's length suffix).
		{Key{Index: 1, Method: MethodCRC}, []byte("123456789"), "765e7680"},
		{Key{Index: 1, Method: MethodCRC, Secret: "ignored"}, []byte("123456789"), "765e7680"},
		// RFC 2202 test case 2.
		{Key{Index: 2, Method: MethodMD5, Secret: "Jefe"}, jefe, "750c783e6ab0b503eaa86e310a5db738"},
		{Key{Index: 3, Method: MethodSHA1, Secret: "Jefe"}, jefe, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		// RFC 4231 test case 2.
		{Key{Index: 4, Method: MethodSHA256, Secret: "Jefe"}, jefe, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		// Python hashlib.blake2b(data, key=b"Jefe", digest_size=32).
		{Key{Index: 15, Method: MethodBLAKE2b, Secret: "Jefe"}, jefe, "44a4b7e70bb4dcf7416a764ddbc4485238283605dd7781dc1ea7e1ce22707834"},
	}
	for _, tc := range tests {
		t.Run(tc.key.Method, func(t *testing.T) {
			s, err := newSigner(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 { // the second round uses a pooled state
				st := s.get()
				st.h.Write(tc.data)
				got := string(s.appendDigest(nil, st))
				s.put(st)
				if want := strconv.Itoa(tc.key.Index) + " " + tc.want; got != want {
					t.Fatalf("round %d: got %q, want %q", round, got, want)
				}
			}
		})
	}
}

// crcBitwise is Heartbeat's CRC computed a bit at a time, the reference
// the table CRC is checked against.
func crcBitwise(d []byte) uint32 {
	var c uint32
	for _, b := range d {
		c ^= uint32(b) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
	}
	return c ^ 0xffffffff
}

// TestCRCBitwise compares the table CRC with a bit-at-a-time reference on
// inputs whose CRC has leading zero nibbles, and checks their rendering.
func TestCRCBitwise(t *testing.T) {
	ref := crcBitwise
	s, err := newSigner(Key{Index: 1, Method: MethodCRC})
	if err != nil {
		t.Fatal(err)
	}
	short := 0
	for i := range 5000 {
		d := []byte("hbd crc input " + strconv.Itoa(i))
		want := ref(d)
		st := s.get()
		st.h.Write(d)
		got := string(s.appendDigest(nil, st))
		s.put(st)
		if w := "1 " + strconv.FormatUint(uint64(want), 16); got != w {
			t.Fatalf("%q: got %q want %q", d, got, w)
		}
		if want < 1<<28 {
			short++
		}
	}
	if short == 0 {
		t.Fatal("no CRC with a leading zero nibble among the inputs")
	}
}

// TestCRCSlices: the table CRC folds eight bytes at a time and the rest
// one at a time; every length up to a few blocks, written whole or cut in
// two anywhere, gives the bit-at-a-time CRC.
func TestCRCSlices(t *testing.T) {
	d := make([]byte, 70)
	for i := range d {
		d[i] = byte(i*151 + 7) // every bit position varies
	}
	for n := 0; n <= len(d); n++ {
		want := crcBitwise(d[:n])
		for cut := 0; cut <= n; cut++ {
			var c crc32MSB
			c.Write(d[:cut])
			c.Write(d[cut:n])
			if got := c.Sum32(); got != want {
				t.Fatalf("%d bytes written as %d + %d: %08x, want %08x", n, cut, n-cut, got, want)
			}
		}
	}
}

func TestNewKeyring(t *testing.T) {
	tests := []struct {
		name   string
		active int
		keys   []Key
		ok     bool
	}{
		{"sha1", 1, []Key{{1, "sha1", "s"}}, true},
		{"all methods", 5, []Key{{1, "crc", ""}, {2, "md5", "a"}, {3, "sha1", "b"}, {4, "sha256", "c"}, {5, "blake2b", "d"}}, true},
		{"unknown method", 1, []Key{{1, "sha3", "s"}}, false},
		{"method is case sensitive", 1, []Key{{1, "SHA1", "s"}}, false},
		{"active missing", 2, []Key{{1, "sha1", "s"}}, false},
		{"duplicate index", 1, []Key{{1, "sha1", "s"}, {1, "md5", "t"}}, false},
		{"index too big", 16, []Key{{16, "sha1", "s"}}, false},
		{"negative index", -1, []Key{{-1, "sha1", "s"}}, false},
		{"empty secret", 1, []Key{{1, "md5", ""}}, false},
		{"blake2b key too long", 1, []Key{{1, "blake2b", strings.Repeat("k", 65)}}, false},
		{"blake2b 64-byte key", 1, []Key{{1, "blake2b", strings.Repeat("k", 64)}}, true},
		{"no keys", 1, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := NewKeyring(tc.active, tc.keys)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && kr.Active().Index != tc.active {
				t.Fatalf("active = %d", kr.Active().Index)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	for _, m := range Methods() {
		if !KnownMethod(m) {
			t.Errorf("%s not known", m)
		}
		if _, err := NewKeyring(1, []Key{{1, m, "secret"}}); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	if KnownMethod("sha512") {
		t.Error("sha512 known")
	}
}
