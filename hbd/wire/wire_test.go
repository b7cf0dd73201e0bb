package wire

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustKeyring(t testing.TB, active int, keys ...Key) *Keyring {
	t.Helper()
	kr, err := NewKeyring(active, keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestCaptures decodes every Heartbeat packet of every capture, checks both
// signatures with the capture's key, and re-encodes each message with the
// same key: the bytes must be the captured payload exactly.
func TestCaptures(t *testing.T) {
	for _, c := range captures {
		t.Run(c.file, func(t *testing.T) {
			kr := mustKeyring(t, c.key.Index, c.key)
			payloads := loadCapture(t, c.file)
			if len(payloads) != c.packets {
				t.Fatalf("%d UDP payloads, want %d", len(payloads), c.packets)
			}
			shortCRC := 0
			for i, p := range payloads {
				m, err := kr.Decode(p)
				if err != nil {
					t.Fatalf("packet %d: %v\n%q", i, err, p)
				}
				if _, ok := m.Get(FAuth); ok {
					t.Fatalf("packet %d: decoded message still has the auth field", i)
				}
				if m.Value(FType) == "" || m.Value(FSrc) == "" {
					t.Fatalf("packet %d: no t or src: %+v", i, m.Fields)
				}
				if _, err := m.UUID(FSrcUUID); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if _, err := m.HexValue(FGeneration); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				again, err := kr.Encode(m)
				if err != nil {
					t.Fatalf("packet %d: re-encode: %v", i, err)
				}
				if !bytes.Equal(again, p) {
					t.Fatalf("packet %d: re-encoded bytes differ\n got %q\nwant %q", i, again, p)
				}
				if c.key.Method == MethodCRC {
					tr := p[bytes.LastIndex(p, []byte(" "))+1 : len(p)-1]
					if len(tr) < 8 {
						shortCRC++
					}
				}
			}
			if c.key.Method == MethodCRC && shortCRC == 0 {
				t.Errorf("no crc trailer shorter than 8 hex digits; the no-leading-zeros case is not covered")
			}
		})
	}
}

// TestFirstPacket checks the decoded fields of the first packet node1 sent
// in session-2node-sha1.pcap: a status message with st=init.
func TestFirstPacket(t *testing.T) {
	p := loadCapture(t, "session-2node-sha1.pcap")[0]
	m, err := mustKeyring(t, 1, captures[0].key).Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t=status", "st=init", "dt=1388", "protocol=1", "src=node1",
		"srcuuid=f30348c3d243407aa7ef0024fb4e360c", "seq=1", "hg=6b02633b", "ts=6b02633a",
		"ld=0.00 0.05 0.06 1/95 46", "ttl=3"}
	var got []string
	for _, f := range m.Fields {
		if f.Type == Binary {
			got = append(got, fmt.Sprintf("%s=%x", f.Name, f.Value))
		} else {
			got = append(got, f.Name+"="+string(f.Value))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields\n got %q\nwant %q", got, want)
	}
	dt, err := ParseMillis(m.Value(FDeadtime))
	if err != nil || dt != 5*time.Second {
		t.Errorf("dt = %v, %v; want 5s", dt, err)
	}
	ts, err := ParseUnixHex(m.Value(FTimestamp))
	if err != nil || ts.Unix() != 1795318586 {
		t.Errorf("ts = %v, %v; want 1795318586", ts, err)
	}
	// Decode must not keep the caller's buffer.
	p2 := append([]byte(nil), p...)
	m2, err := mustKeyring(t, 1, captures[0].key).Decode(p2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p2 {
		p2[i] = 'X'
	}
	if m2.Value(FSrc) != "node1" || m2.Value(FLoad) != "0.00 0.05 0.06 1/95 46" {
		t.Errorf("message changed with the input buffer: %q %q", m2.Value(FSrc), m2.Value(FLoad))
	}
}

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

// TestCRCBitwise compares the table CRC with a bit-at-a-time reference on
// inputs whose CRC has leading zero nibbles, and checks their rendering.
func TestCRCBitwise(t *testing.T) {
	ref := func(d []byte) uint32 {
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

// statusMessage is a status message with the fields a Heartbeat 3.0.6
// node sends in one (those of the captures' first packet).
func statusMessage() *Message {
	m := &Message{}
	m.Set(FType, TStatus)
	m.Set(FStatus, "active")
	m.Set(FDeadtime, Millis(3*time.Second))
	m.Set(FProtocol, "1")
	m.Set(FSrc, "node1")
	m.SetUUID(FSrcUUID, [16]byte{0xf3, 0x03, 0x48, 0xc3, 0xd2, 0x43, 0x40, 0x7a, 0xa7, 0xef, 0x00, 0x24, 0xfb, 0x4e, 0x36, 0x0c})
	m.SetHex(FSeq, 0x2a)
	m.SetHex(FGeneration, 0x6b02633b)
	m.Set(FTimestamp, UnixHex(time.Unix(1795318586, 0)))
	m.Set(FLoad, "0.00 0.05 0.06 1/95 46")
	m.Set(FTTL, Decimal(3))
	return m
}

func allMethodKeys() []Key {
	return []Key{
		{Index: 1, Method: MethodCRC},
		{Index: 2, Method: MethodMD5, Secret: "md5 secret"},
		{Index: 3, Method: MethodSHA1, Secret: "sha1 secret"},
		{Index: 4, Method: MethodSHA256, Secret: "sha256 secret"},
		{Index: 5, Method: MethodBLAKE2b, Secret: "blake2b secret"},
	}
}

func TestRoundTripEachMethod(t *testing.T) {
	keys := allMethodKeys()
	for _, k := range keys {
		t.Run(k.Method, func(t *testing.T) {
			m := statusMessage()
			m.SetBinary("blob", []byte{0, '\n', '=', ',', 0xff}) // odd bytes in a binary field
			m.Set("multi", "a=b,c\nd")
			before := reflect.ValueOf(m.Fields).Len()
			snapshot := append([]Field(nil), m.Fields...)
			kr := mustKeyring(t, k.Index, keys...)
			b, err := kr.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Fields) != before || !reflect.DeepEqual(m.Fields, snapshot) {
				t.Fatal("Encode changed the message")
			}
			if !bytes.Contains(b, []byte(",%%%\n")) || !bytes.HasPrefix(b, []byte("###\n")) {
				t.Fatalf("not framed: %q", b)
			}
			if want := fmt.Sprintf("(0)auth=%d ", k.Index); !bytes.Contains(b, []byte(want)) {
				t.Fatalf("no %q in %q", want, b)
			}
			// Any key of a ring decodes it; a ring with only another key does not.
			other := mustKeyring(t, keys[0].Index, keys...)
			got, err := other.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Fields, m.Fields) {
				t.Fatalf("fields differ\n got %+v\nwant %+v", got.Fields, m.Fields)
			}
			var rest []Key
			for _, o := range keys {
				if o.Index != k.Index {
					rest = append(rest, o)
				}
			}
			_, err = mustKeyring(t, rest[0].Index, rest...).Decode(b)
			if Reason(err) != DropUnknownKey {
				t.Fatalf("ring without key %d: %v", k.Index, err)
			}
			// Same index, different secret.
			if k.Method != MethodCRC {
				wrong := k
				wrong.Secret += "x"
				_, err = mustKeyring(t, k.Index, wrong).Decode(b)
				if Reason(err) != DropBadSignature {
					t.Fatalf("wrong secret: %v", err)
				}
			}
			// AppendEncode reuses a buffer and appends after existing bytes.
			buf := []byte("prefix")
			buf, err = kr.AppendEncode(buf, m)
			if err != nil || string(buf[:6]) != "prefix" || !bytes.Equal(buf[6:], b) {
				t.Fatalf("AppendEncode: %v %q", err, buf)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	kr := mustKeyring(t, 1, Key{1, MethodSHA1, "s"})
	tests := []struct {
		name   string
		fields []Field
	}{
		{"auth is reserved", []Field{{Name: "auth", Value: []byte("1 00")}}},
		{"empty name", []Field{{Name: "", Value: []byte("x")}}},
		{"name with =", []Field{{Name: "a=b", Value: []byte("x")}}},
		{"name with space", []Field{{Name: "a b", Value: []byte("x")}}},
		{"name with newline", []Field{{Name: "a\n", Value: []byte("x")}}},
		{"name starting with (", []Field{{Name: "(1)a", Value: []byte("x")}}},
		{"name too long", []Field{{Name: strings.Repeat("n", MaxNameLen+1)}}},
		{"struct type", []Field{{Name: "s", Type: Struct}}},
		{"list type", []Field{{Name: "l", Type: List}}},
		{"duplicate", []Field{{Name: "a"}, {Name: "a"}}},
		{"too large", []Field{{Name: "big", Value: make([]byte, MaxDatagram)}}},
		{"too many fields", manyFields(MaxFields)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := kr.AppendEncode([]byte("keep"), &Message{Fields: tc.fields})
			if err == nil {
				t.Fatalf("no error, encoded %q", b)
			}
			if string(b) != "keep" {
				t.Fatalf("dst changed on error: %q", b)
			}
		})
	}
	if _, err := kr.Encode(&Message{Fields: manyFields(MaxFields - 1)}); err != nil {
		t.Fatalf("MaxFields-1 fields: %v", err)
	}
}

func manyFields(n int) []Field {
	fs := make([]Field, n)
	for i := range fs {
		fs[i] = Field{Name: "f" + strconv.Itoa(i), Value: []byte("v")}
	}
	return fs
}

// netstrings frames raw field contents as "###\n", netstrings, "%%%\n",
// and, when trailer is not empty, a trailer netstring.
func netstrings(trailer string, contents ...string) []byte {
	var b []byte
	b = append(b, "###\n"...)
	for _, c := range contents {
		b = append(b, strconv.Itoa(len(c))+":"+c+","...)
	}
	b = append(b, "%%%\n"...)
	if trailer != "" {
		b = append(b, strconv.Itoa(len(trailer))+":"+trailer+","...)
	}
	return b
}

func TestDecodeReasons(t *testing.T) {
	sha1Key := captures[0].key
	kr := mustKeyring(t, 1, sha1Key)
	pkt := loadCapture(t, "session-2node-sha1.pcap")[0]
	bodyEnd := bytes.Index(pkt, []byte("%%%\n")) + 4
	authAt := bytes.Index(pkt, []byte("50:(0)auth="))
	replace := func(old, new string) []byte {
		if len(old) != len(new) || !bytes.Contains(pkt, []byte(old)) {
			panic("bad replacement " + old)
		}
		return bytes.Replace(pkt, []byte(old), []byte(new), 1)
	}
	const sig = "1 a3c2e865b0e179f11b0ab5f31051136e3734300a"
	tests := []struct {
		name string
		in   []byte
		want DropReason
	}{
		{"captured packet", pkt, DropNone},
		{"empty", nil, DropTruncated},
		{"oversized", make([]byte, MaxDatagram+1), DropOversized},
		{"oversized garbage that starts well", append([]byte("###\n"), make([]byte, MaxDatagram)...), DropOversized},
		{"garbage", []byte("hello, world"), DropMalformed},
		{"classic format", []byte(">>>\nt=status\n<<<\n"), DropMalformed},
		{"missing trailer", pkt[:bodyEnd], DropNoAuth},
		{"missing auth field", append(append(append([]byte(nil), pkt[:authAt]...), "%%%\n"...), "4:1 00,"...), DropNoAuth},
		{"no fields, no auth", netstrings("1 00"), DropNoAuth},
		{"value changed", replace("src=node1", "src=node2"), DropBadSignature},
		{"auth digest changed", replace("auth=1 c2", "auth=1 c3"), DropBadSignature},
		{"trailer digest changed", replace("42:1 a3", "42:1 a4"), DropBadSignature},
		{"auth key index unknown", replace("auth=1 ", "auth=2 "), DropUnknownKey},
		{"trailer key index unknown", replace("42:1 ", "42:7 "), DropUnknownKey},
		{"auth digest uppercase", replace("auth=1 c2", "auth=1 C2"), DropMalformed},
		{"auth without space", replace("auth=1 c2", "auth=1.c2"), DropMalformed},
		{"auth index leading zero", netstrings(sig, "(0)t=x", "(0)auth=01 ab"), DropMalformed},
		{"auth field binary", netstrings(sig, "(0)t=x", "(1)auth=1 ab"), DropMalformed},
		{"trailer not a digest", netstrings("hello", "(0)t=x", "(0)auth=1 ab"), DropMalformed},
		{"bytes after trailer", append(append([]byte(nil), pkt...), '\n'), DropMalformed},
		{"second trailer", append(append([]byte(nil), pkt...), pkt[bodyEnd:]...), DropMalformed},
		{"bad start", append([]byte("##!\n"), pkt[4:]...), DropMalformed},
		{"only the start marker", []byte("###\n"), DropTruncated},
		{"length with leading zero", []byte("###\n06:(0)t=x,%%%\n"), DropMalformed},
		{"length too many digits", []byte("###\n123456:(0)t=x,%%%\n"), DropMalformed},
		{"length huge", []byte("###\n99999:(0)t=x,%%%\n"), DropMalformed},
		{"length without colon", []byte("###\n6;(0)t=x,%%%\n"), DropMalformed},
		{"length too short", []byte("###\n5:(0)t=x,%%%\n"), DropMalformed},
		{"length runs past end", []byte("###\n60:(0)t=x,%%%\n"), DropTruncated},
		{"field without type", netstrings(sig, "t=x"), DropMalformed},
		{"type not closed", netstrings(sig, "(0t=x"), DropMalformed},
		{"type empty", netstrings(sig, "()t=x"), DropMalformed},
		{"type leading zero", netstrings(sig, "(00)t=x"), DropMalformed},
		{"type too long", netstrings(sig, "(1234)t=x"), DropMalformed},
		{"field without =", netstrings(sig, "(0)t"), DropMalformed},
		{"empty name", netstrings(sig, "(0)=x"), DropMalformed},
		{"name with space", netstrings(sig, "(0)a b=x"), DropMalformed},
		{"empty netstring", netstrings(sig, ""), DropMalformed},
		{"struct field", netstrings(sig, "(2)s=>>>\nt=x\n<<<\n"), DropUnsupported},
		{"list field", netstrings(sig, "(3)l=x"), DropUnsupported},
		{"compressed field", netstrings(sig, "(4)c=x"), DropUnsupported},
		{"duplicate field", netstrings(sig, "(0)t=x", "(0)t=y"), DropMalformed},
		{"duplicate auth", netstrings(sig, "(0)auth=1 ab", "(0)auth=1 ab"), DropMalformed},
		{"too many fields", netstrings(sig, func() []string {
			var s []string
			for i := range MaxFields + 1 {
				s = append(s, "(0)f"+strconv.Itoa(i)+"=")
			}
			return s
		}()...), DropMalformed},
		{"junk between fields", []byte("###\n6:(0)t=x,x6:(0)u=y,%%%\n"), DropMalformed},
		{"end marker wrong", []byte("###\n6:(0)t=x,%%%%\n"), DropMalformed},
		{"end marker cut", []byte("###\n6:(0)t=x,%%"), DropTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := kr.Decode(tc.in)
			if got := Reason(err); got != tc.want {
				t.Fatalf("reason %v (%v), want %v", got, err, tc.want)
			}
			if (m == nil) == (err == nil) {
				t.Fatalf("message %v with error %v", m, err)
			}
			if err != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("errors.Is(%v, %v) is false", err, tc.want)
				}
				var de *DecodeError
				if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(tc.in) {
					t.Fatalf("error %v: bad DecodeError", err)
				}
			}
		})
	}
}

// TestTruncatedEveryOffset cuts a real packet of each capture at every
// length: the cut right after "%%%\n" is a missing trailer, every other is
// truncation.
func TestTruncatedEveryOffset(t *testing.T) {
	for _, c := range captures {
		kr := mustKeyring(t, c.key.Index, c.key)
		pkt := loadCapture(t, c.file)[1]
		bodyEnd := bytes.Index(pkt, []byte("%%%\n")) + 4
		for n := range len(pkt) {
			_, err := kr.Decode(pkt[:n])
			want := DropTruncated
			if n == bodyEnd {
				want = DropNoAuth
			}
			if got := Reason(err); got != want {
				t.Fatalf("%s cut at %d/%d: %v (%v), want %v", c.file, n, len(pkt), got, err, want)
			}
		}
	}
}

// TestEveryByteFlipped flips each bit of each byte of a real packet: every
// variant is rejected.
func TestEveryByteFlipped(t *testing.T) {
	for _, c := range captures {
		kr := mustKeyring(t, c.key.Index, c.key)
		pkt := loadCapture(t, c.file)[2]
		counts := map[DropReason]int{}
		for i := range pkt {
			for bit := range 8 {
				b := append([]byte(nil), pkt...)
				b[i] ^= 1 << bit
				m, err := kr.Decode(b)
				if err == nil {
					t.Fatalf("%s: byte %d bit %d flipped still decodes: %+v", c.file, i, bit, m.Fields)
				}
				counts[Reason(err)]++
			}
		}
		if counts[DropBadSignature] == 0 || counts[DropMalformed] == 0 {
			t.Errorf("%s: reasons %v: expected bad signatures and malformed frames", c.file, counts)
		}
	}
}

func TestReason(t *testing.T) {
	if Reason(nil) != DropNone {
		t.Error("Reason(nil)")
	}
	if Reason(errors.New("other")) != DropNone {
		t.Error("Reason(other)")
	}
	wrapped := fmt.Errorf("link eth0: %w", &DecodeError{Reason: DropUnknownKey})
	if Reason(wrapped) != DropUnknownKey || !errors.Is(wrapped, DropUnknownKey) || errors.Is(wrapped, DropBadSignature) {
		t.Error("wrapped DecodeError")
	}
	seen := map[string]bool{}
	for r := range NumDropReasons {
		s := r.String()
		if s == "" || strings.ContainsAny(s, " \t") || seen[s] {
			t.Errorf("reason %d has name %q", int(r), s)
		}
		seen[s] = true
	}
	if DropBadSignature.String() != "bad-signature" || DropNoAuth.String() != "no-auth" {
		t.Error("names changed")
	}
	if s := DropReason(99).String(); !strings.Contains(s, "99") {
		t.Errorf("out of range: %q", s)
	}
}

func TestHexHelpers(t *testing.T) {
	for _, tc := range []struct {
		v uint64
		s string
	}{{0, "0"}, {1, "1"}, {0x1a, "1a"}, {0x6b02633b, "6b02633b"}, {1<<64 - 1, "ffffffffffffffff"}} {
		if got := Hex(tc.v); got != tc.s {
			t.Errorf("Hex(%d) = %q, want %q", tc.v, got, tc.s)
		}
		if got, err := ParseHex(tc.s); err != nil || got != tc.v {
			t.Errorf("ParseHex(%q) = %d, %v", tc.s, got, err)
		}
	}
	if v, err := ParseHex("0BB8"); err != nil || v != 3000 {
		t.Errorf("ParseHex(0BB8) = %d, %v", v, err)
	}
	for _, bad := range []string{"", "x", "0x1", "-1", "1 ", "12345678901234567", "g"} {
		if _, err := ParseHex(bad); err == nil {
			t.Errorf("ParseHex(%q) accepted", bad)
		}
	}
	if Millis(5*time.Second) != "1388" || Millis(3*time.Second) != "bb8" || Millis(-time.Second) != "0" {
		t.Error("Millis")
	}
	if d, err := ParseMillis("bb8"); err != nil || d != 3*time.Second {
		t.Errorf("ParseMillis(bb8) = %v, %v", d, err)
	}
	if _, err := ParseMillis("ffffffffffffffff"); err == nil {
		t.Error("ParseMillis overflow accepted")
	}
	if UnixHex(time.Unix(1795318587, 999)) != "6b02633b" || UnixHex(time.Unix(-5, 0)) != "0" {
		t.Error("UnixHex")
	}
	if _, err := ParseUnixHex("ffffffffffffffff"); err == nil {
		t.Error("ParseUnixHex out of range accepted")
	}
	var m Message
	if _, err := m.HexValue(FSeq); err == nil {
		t.Error("HexValue of absent field")
	}
	m.Set(FSeq, "zz")
	if _, err := m.HexValue(FSeq); err == nil {
		t.Error("HexValue of bad field")
	}
	m.SetHex(FSeq, 300)
	if v, err := m.HexValue(FSeq); err != nil || v != 300 || m.Value(FSeq) != "12c" {
		t.Errorf("SetHex/HexValue: %d %v %q", v, err, m.Value(FSeq))
	}
	u := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	m.SetUUID(FSrcUUID, u)
	if got, err := m.UUID(FSrcUUID); err != nil || got != u {
		t.Errorf("UUID: %x %v", got, err)
	}
	m.Set(FDestUUID, "0123456789abcdef") // 16 bytes but a string field
	if _, err := m.UUID(FDestUUID); err == nil {
		t.Error("string field accepted as UUID")
	}
	m.SetBinary(FDestUUID, []byte{1, 2})
	if _, err := m.UUID(FDestUUID); err == nil {
		t.Error("short UUID accepted")
	}
	if _, err := m.UUID("nope"); err == nil {
		t.Error("absent UUID accepted")
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

// TestConcurrent encodes and decodes from many goroutines with one ring
// (run with -race).
func TestConcurrent(t *testing.T) {
	kr := mustKeyring(t, 5, allMethodKeys()...)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := statusMessage()
			for i := range 200 {
				m.SetHex(FSeq, uint64(g*1000+i))
				b, err := kr.Encode(m)
				if err != nil {
					errs <- err
					return
				}
				got, err := kr.Decode(b)
				if err != nil {
					errs <- err
					return
				}
				if got.Value(FSeq) != m.Value(FSeq) {
					errs <- fmt.Errorf("seq %s, want %s", got.Value(FSeq), m.Value(FSeq))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
