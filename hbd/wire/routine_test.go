package wire

import (
	"bytes"
	"strings"
	"testing"
)

// TestRoutineEncoding: a routine message begins with RoutinePrefix, its
// marker is signed like any field (a datagram whose marker is taken off
// fails to verify), and it decodes to the message with the marker first.
func TestRoutineEncoding(t *testing.T) {
	kr := mustKeyring(t, 1, Key{1, MethodSHA1, "s"})
	m := &Message{}
	m.Set(FType, TStatus)
	m.Set(FStatus, "active")
	m.Set(FSrc, "node1")
	m.SetHex(FSeq, 0x2a)
	b, err := kr.AppendEncodeRoutine(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if RoutinePrefix != "###\n16:(0)hbd_routine=1," {
		t.Errorf("RoutinePrefix %q", RoutinePrefix)
	}
	if !bytes.HasPrefix(b, []byte(RoutinePrefix)) {
		t.Fatalf("routine datagram %q does not begin with %q", b, RoutinePrefix)
	}
	got, err := kr.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Fields) != len(m.Fields)+1 || got.Fields[0].Name != FHbdRoutine || got.Value(FHbdRoutine) != "1" {
		t.Errorf("decoded %v", got.Fields)
	}
	for _, f := range m.Fields {
		if got.Value(f.Name) != m.Value(f.Name) {
			t.Errorf("field %s: %q, want %q", f.Name, got.Value(f.Name), m.Value(f.Name))
		}
	}
	plain, err := kr.AppendEncode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(plain, []byte(RoutinePrefix)) {
		t.Errorf("plain datagram %q begins with the routine prefix", plain)
	}
	// The marker cut out, the rest kept: both signatures fail.
	forged := []byte("###\n" + strings.TrimPrefix(string(b), RoutinePrefix))
	if _, err := kr.Decode(forged); err == nil {
		t.Errorf("a routine datagram without its marker verified")
	}
	// A message that has the field already is refused.
	m.Set(FHbdRoutine, "1")
	if _, err := kr.AppendEncodeRoutine(nil, m); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("marker given twice: %v", err)
	}
}

func BenchmarkEncodeRoutine(b *testing.B) {
	kr := mustKeyring(b, 1, Key{1, MethodSHA1, "s"})
	m := &Message{}
	m.Set(FType, TStatus)
	m.Set(FStatus, "active")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = kr.AppendEncodeRoutine(buf[:0], m)
	}
}

// BenchmarkDecodeForgedRoutine is what a receiver's loop spends on one
// forged routine datagram that it drains: a whole status whose signature
// fails.
func BenchmarkDecodeForgedRoutine(b *testing.B) {
	kr := mustKeyring(b, 1, Key{1, MethodSHA1, "s"})
	m := &Message{}
	for _, f := range [][2]string{{FType, TStatus}, {FStatus, "active"}, {FSrc, "node2"}, {"srcuuid", "0123456789abcdef0123456789abcdef"}, {"seq", "2a"}, {"hg", "1"}, {"ts", "6570f0a1"}, {"ld", "0.00 0.01 0.05 1/100 1234"}, {"ttl", "3"}} {
		m.Set(f[0], f[1])
	}
	buf, err := kr.AppendEncodeRoutine(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	forged := append([]byte(nil), buf...)
	forged[len(forged)-10] ^= 1 // the signature
	var out Message
	b.ReportAllocs()
	for b.Loop() {
		if kr.DecodeInto(&out, forged) == nil {
			b.Fatal("verified")
		}
	}
}
