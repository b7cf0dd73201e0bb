package wire

import (
	"bytes"
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
		{"duplicate after many", append(manyFields(100), Field{Name: "f7"})},
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

// TestNameBitsOfStatus: the names of a status message and of an
// acknowledgement, and auth, each have a class of their own (nameBit), so
// checking them for duplicates compares no names.
func TestNameBitsOfStatus(t *testing.T) {
	names := []string{FType, FStatus, FDeadtime, FProtocol, FHbdDeadtime, FHbdPing, FHbdRoutine, FHbdQuiet, FDest, FDestUUID,
		FSrc, FSrcUUID, FSeq, FGeneration, FTimestamp, FLoad, FTTL, FAckSeq, FAuth}
	by := map[uint64]string{}
	for _, n := range names {
		b := nameBit(n)
		if o, ok := by[b]; ok {
			t.Errorf("%s and %s have the same class", o, n)
		}
		by[b] = n
	}
}

func manyFields(n int) []Field {
	fs := make([]Field, n)
	for i := range fs {
		fs[i] = Field{Name: "f" + strconv.Itoa(i), Value: []byte("v")}
	}
	return fs
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
