package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

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
