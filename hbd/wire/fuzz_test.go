package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. Seeds: every packet of the
// captures plus truncated and corrupted variants (crashers found earlier
// live in testdata/fuzz/FuzzDecode). Properties checked:
//   - Decode returns a message or a *DecodeError with a reason, never both;
//   - DecodeInto a message that held another one gives the same message
//     and error as Decode;
//   - a frame the parser accepts renders back to exactly the input bytes;
//   - a message that verifies re-encodes with the same key to the input
//     (when the auth field was last and both digests name one key).
func FuzzDecode(f *testing.F) {
	rings := make([]*Keyring, 0, len(captures))
	for _, c := range captures {
		rings = append(rings, mustKeyring(f, c.key.Index, c.key))
		for i, p := range loadCapture(f, c.file) {
			f.Add(p)
			if i < 3 {
				f.Add(p[:len(p)/2])
				f.Add(p[:bytes.Index(p, []byte("%%%\n"))+4])
				f.Add(append(append([]byte(nil), p...), p...))
				flipped := append([]byte(nil), p...)
				flipped[len(p)/3] ^= 0x20
				f.Add(flipped)
				f.Add(bytes.Replace(p, []byte("(1)"), []byte("(2)"), 1))
				f.Add(bytes.Replace(p, []byte(",%%%\n"), []byte(",%%%\n%%%\n"), 1))
			}
		}
	}
	f.Add([]byte("###\n%%%\n4:1 00,"))
	f.Add([]byte(">>>\nt=status\n<<<\n"))

	reused := &Message{}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kr := range rings {
			m, err := kr.Decode(b)
			if (m == nil) == (err == nil) {
				t.Fatalf("message %v and error %v", m, err)
			}
			reused.Copy(statusMessage())
			errInto := kr.DecodeInto(reused, b)
			switch {
			case (err == nil) != (errInto == nil) || err != nil && err.Error() != errInto.Error():
				t.Fatalf("Decode: %v; DecodeInto: %v", err, errInto)
			case err != nil && len(reused.Fields) != 0:
				t.Fatalf("DecodeInto failed (%v) and left fields %+v", err, reused.Fields)
			case err == nil && !reflect.DeepEqual(reused.Fields, m.Fields):
				t.Fatalf("DecodeInto gave\n%+v\nDecode\n%+v", reused.Fields, m.Fields)
			}
			if err != nil {
				if r := Reason(err); r <= DropNone || r >= NumDropReasons {
					t.Fatalf("error %v has reason %v", err, r)
				}
				continue
			}
			fr, derr := parseFrame(b, nil)
			if derr != nil {
				t.Fatalf("decoded but frame does not parse: %v", derr)
			}
			aIdx, _, _ := splitDigest(fr.fields[fr.auth].Value)
			tIdx, _, _ := splitDigest(fr.trailer)
			if fr.auth != len(fr.fields)-1 || aIdx != tIdx || aIdx != kr.Active().Index {
				continue
			}
			again, err := kr.Encode(m)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("re-encoded\n%q\nwant\n%q", again, b)
			}
		}
		fr, derr := parseFrame(b, nil)
		if derr != nil {
			return
		}
		// The parser accepts canonical frames only: rendering it again
		// gives the same bytes.
		var out []byte
		out = append(out, frameStart...)
		for _, fl := range fr.fields {
			out = appendFieldNetstring(out, fl.Type, fl.Name, fl.Value)
		}
		out = append(out, frameEnd...)
		if fr.trailer != nil {
			out = appendNetstring(out, fr.trailer)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("frame renders as\n%q\nnot\n%q", out, b)
		}
	})
}

// FuzzParseClassic: ParseClassic never panics, and a message it accepts
// renders back to the bytes it consumed, up to base64 padding details.
func FuzzParseClassic(f *testing.F) {
	f.Add([]byte(">>>\nt=status\n(1)srcuuid=8wNIw9JDQHqn7wAk+042DA==\nseq=1\n<<<\n"))
	f.Add([]byte(">>>\n<<<\n>>>\n"))
	f.Add([]byte(">>>\n(2)x=y\n<<<\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, rest, err := ParseClassic(b)
		if err != nil {
			if m != nil || rest != nil || Reason(err) == DropNone {
				t.Fatalf("error %v with message %v rest %q", err, m, rest)
			}
			return
		}
		text, err := m.AppendClassic(nil)
		if err != nil {
			t.Fatalf("accepted message does not render: %v", err)
		}
		again, _, err := ParseClassic(text)
		if err != nil || !reflect.DeepEqual(again.Fields, m.Fields) {
			t.Fatalf("render/parse round trip: %v\n%+v\n%+v", err, again, m)
		}
	})
}
