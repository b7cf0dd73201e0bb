package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestClassicIsWhatAuthSigns renders the first captured packet in classic
// format and checks, with crypto/hmac directly, that the lines between the
// framing are what its auth field signs (docs/wire.md, "The two
// signatures").
func TestClassicIsWhatAuthSigns(t *testing.T) {
	p := loadCapture(t, "session-2node-sha1.pcap")[0]
	m, err := mustKeyring(t, 1, captures[0].key).Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	text, err := m.AppendClassic(nil)
	if err != nil {
		t.Fatal(err)
	}
	const want = "t=status\nst=init\ndt=1388\nprotocol=1\nsrc=node1\n(1)srcuuid=8wNIw9JDQHqn7wAk+042DA==\n" +
		"seq=1\nhg=6b02633b\nts=6b02633a\nld=0.00 0.05 0.06 1/95 46\nttl=3\n"
	if string(text) != ">>>\n"+want+"<<<\n" {
		t.Fatalf("classic text\n%q", text)
	}
	mac := hmac.New(sha1.New, []byte("harnessSecret42"))
	mac.Write([]byte(want))
	if got := hex.EncodeToString(mac.Sum(nil)); !bytes.Contains(p, []byte("auth=1 "+got+",")) {
		t.Fatalf("HMAC-SHA1 of the classic lines is %s, not the packet's auth digest", got)
	}
	back, rest, err := ParseClassic(append(text, "next"...))
	if err != nil || string(rest) != "next" {
		t.Fatalf("ParseClassic: %v, rest %q", err, rest)
	}
	if !reflect.DeepEqual(back.Fields, m.Fields) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back.Fields, m.Fields)
	}
}

func TestParseClassic(t *testing.T) {
	tests := []struct {
		in   string
		want DropReason
		n    int // fields when accepted
	}{
		{">>>\n<<<\n", DropNone, 0},
		{">>>\nt=status\nsrc=node1\n<<<\n", DropNone, 2},
		{">>>\n(0)t=status\n(1)u=AAE=\n<<<\n", DropNone, 2},
		{">>>\nt=a=b\n<<<\n", DropNone, 1},
		{"", DropTruncated, 0},
		{">>", DropTruncated, 0},
		{">>>\nt=status\n", DropTruncated, 0},
		{">>>\nt=status", DropTruncated, 0},
		{"<<<\n", DropMalformed, 0},
		{">>>\nnoequals\n<<<\n", DropMalformed, 0},
		{">>>\n=x\n<<<\n", DropMalformed, 0},
		{">>>\nt=1\nt=2\n<<<\n", DropMalformed, 0},
		{">>>\n(1)u=!!\n<<<\n", DropMalformed, 0},
		{">>>\n(1u=AA==\n<<<\n", DropMalformed, 0},
		{">>>\n(01)u=AA==\n<<<\n", DropMalformed, 0},
		{">>>\n()u=AA==\n<<<\n", DropMalformed, 0},
		{">>>\n(2)s=x\n<<<\n", DropUnsupported, 0},
	}
	for _, tc := range tests {
		m, _, err := ParseClassic([]byte(tc.in))
		if got := Reason(err); got != tc.want {
			t.Errorf("%q: reason %v (%v), want %v", tc.in, got, err, tc.want)
			continue
		}
		if err == nil && len(m.Fields) != tc.n {
			t.Errorf("%q: %d fields, want %d", tc.in, len(m.Fields), tc.n)
		}
	}
	big := []byte(">>>\n")
	for i := range 100 {
		big = append(big, "f"+strconv.Itoa(i)+"="+strings.Repeat("v", 1000)+"\n"...)
	}
	if _, _, err := ParseClassic(big); Reason(err) != DropOversized {
		t.Errorf("oversized classic: %v", err)
	}
	var m Message
	m.Set("a", "line\nbreak")
	if _, err := m.AppendClassic(nil); err == nil {
		t.Error("newline in a string value accepted")
	}
	m = Message{Fields: []Field{{Name: "s", Type: Struct}}}
	if _, err := m.AppendClassic(nil); err == nil {
		t.Error("struct field accepted")
	}
}
