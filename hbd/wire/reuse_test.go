package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestReuseKeepsValuesApart: a message built again in the same Message
// (Reset), a value replaced by Set, and a copy (Copy, Clone) never share
// a value's bytes with what came before or with their source.
func TestReuseKeepsValuesApart(t *testing.T) {
	m := statusMessage()
	clone := m.Clone()
	var copied Message
	copied.Copy(m)
	want := render(t, m)

	m.Set(FStatus, "dead-and-longer") // replaced: the old bytes stay the old value's
	m.Reset()
	m.Set(FType, "NS_ackmsg")
	m.Set(FSrc, "a-much-longer-node-name-than-node1")
	m.SetHex(FSeq, 0xffffffffffffffff)
	m.SetDecimal(FTTL, 12345)
	m.SetBytes(FLoad, []byte("9.99 9.99 9.99 9/999 9999"))

	for name, c := range map[string]*Message{"Clone": clone, "Copy": &copied} {
		if got := render(t, c); got != want {
			t.Errorf("%s after the source was built again:\n got %s\nwant %s", name, got, want)
		}
	}
	if got, want := render(t, m), "t=NS_ackmsg src=a-much-longer-node-name-than-node1 seq=ffffffffffffffff ttl=12345 ld=9.99 9.99 9.99 9/999 9999"; got != want {
		t.Errorf("rebuilt message:\n got %s\nwant %s", got, want)
	}
	// Appending to a value may not spill into the next one.
	v, _ := m.Bytes(FType)
	_ = append(v, "XXXX"...)
	if got, _ := m.Get(FSrc); got != "a-much-longer-node-name-than-node1" {
		t.Errorf("append to t's value overwrote src: %q", got)
	}
}

// TestInternNames: every field name Heartbeat or hbd sends is decoded
// as the package's constant, not as a string made anew (an allocation).
func TestInternNames(t *testing.T) {
	for _, name := range []string{
		FType, FStatus, FDeadtime, FProtocol, FSrc, FSrcUUID, FSeq, FGeneration, FTimestamp, FLoad, FTTL, FAuth,
		FDest, FDestUUID, FAckSeq, FNodeList, FDelNodeList, FRscHold, FRType, FIsStable, FInfo, FFirstSeq, FLastSeq,
		FHbdHeld, FHbdStarting, FHbdStandby, FHbdFailed, FHbdWant, FHbdStopFailed, FHbdStopping, FHbdAsk, FHbdEpoch, FHbdSeen,
		FHbdSync, FHbdPing, FHbdDeadtime, FHbdRoutine, FHbdSettings, FHbdSetsPart, FHbdQuiet, FHbdQuietMax,
	} {
		if got := internName([]byte(name)); unsafe.StringData(got) != unsafe.StringData(name) {
			t.Errorf("%q is made a string anew", name)
		}
	}
	if got := internName([]byte("x_other")); got != "x_other" {
		t.Errorf("an unknown name comes back as %q", got)
	}
}

func render(t *testing.T, m *Message) string {
	t.Helper()
	b, err := m.AppendClassic(nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.Trim(b, "\n"), []byte("\n"))
	return string(bytes.Join(lines[1:len(lines)-1], []byte(" ")))
}

// TestDecodeIntoReuses: decoding one datagram after another into the same
// message gives each its own fields, however long the one before.
func TestDecodeIntoReuses(t *testing.T) {
	kr := mustKeyring(t, 3, Key{Index: 3, Method: MethodSHA1, Secret: "sha1 secret"})
	long := statusMessage()
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		long.Set(name, "a value long enough to make this message the larger one")
	}
	short := &Message{}
	short.Set(FType, TAck)
	short.Set(FSrc, "n")
	var m Message
	for _, src := range []*Message{long, short, statusMessage(), long} {
		b, err := kr.Encode(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := kr.DecodeInto(&m, b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Fields, src.Fields) {
			t.Fatalf("DecodeInto gave\n%+v\nwant\n%+v", m.Fields, src.Fields)
		}
		// The datagram is not kept.
		for i := range b {
			b[i] = 'X'
		}
		if !reflect.DeepEqual(m.Fields, src.Fields) {
			t.Fatal("the decoded message changed with the datagram")
		}
	}
	if err := kr.DecodeInto(&m, []byte("###\n%%%\n")); err == nil || len(m.Fields) != 0 {
		t.Fatalf("a bad datagram: %v, fields %+v left", err, m.Fields)
	}
}

// TestReuseAllocatesNothing: once its storage has grown, building a
// status message again, encoding it into the same buffer, and decoding
// it into the same message allocate nothing. (Allocation counts are
// behaviour, not timing: asserting none is exact.)
func TestReuseAllocatesNothing(t *testing.T) {
	kr := mustKeyring(t, 3, Key{Index: 3, Method: MethodSHA1, Secret: "sha1 secret"})
	src := statusMessage()
	var built, decoded Message
	var buf []byte
	hbdStatus := statusMessage()
	hbdStatus.Set(FHbdPing, "1/1")
	hbdStatus.Set(FHbdDeadtime, "28")
	routine, err := kr.AppendEncodeRoutine(nil, hbdStatus)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func()
	}{
		{"build", func() {
			built.Reset()
			built.Set(FType, TStatus)
			built.SetHex(FSeq, 0x2a)
			built.SetUUID(FSrcUUID, [UUIDLen]byte{1})
			built.SetDecimal(FTTL, 3)
			built.SetBytes(FLoad, []byte("0.00 0.05 0.06 1/95 46"))
		}},
		{"copy", func() { built.Copy(src) }},
		{"encode", func() {
			var err error
			if buf, err = kr.AppendEncode(buf[:0], src); err != nil {
				t.Fatal(err)
			}
		}},
		{"decode", func() {
			if err := kr.DecodeInto(&decoded, buf); err != nil {
				t.Fatal(err)
			}
		}},
		// An hbd peer's routine status: its mark and hbd's own fields.
		{"decode routine", func() {
			if err := kr.DecodeInto(&decoded, routine); err != nil {
				t.Fatal(err)
			}
		}},
	}
	// A ring of sent messages copies into each entry messages a byte or
	// two longer than the last it held (seq and ld grow): an entry that
	// grew by exactly what each needs would allocate every time.
	var growing []*Message
	for i := range 100 {
		m := statusMessage()
		m.Set(FLoad, strings.Repeat("9", i))
		growing = append(growing, m)
	}
	if n := testing.AllocsPerRun(1, func() {
		var entry Message
		for _, m := range growing {
			entry.Copy(m)
		}
	}); !testenv.RaceDetector && n > 6 {
		t.Errorf("copying 100 messages, each a byte longer, into one: %v allocations, want a few", n)
	}
	for _, c := range cases {
		n := testing.AllocsPerRun(100, c.run)
		if testenv.RaceDetector {
			// It allocates on its own, and AllocsPerRun counts those.
			t.Logf("%s: %v allocations under the race detector, not checked", c.name, n)
			continue
		}
		if n != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, n)
		}
	}
}
